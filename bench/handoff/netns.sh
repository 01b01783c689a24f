# Sourced by run.sh and bench.sh: two throwaway namespaces named with the caller's PID, a veth pair va
# (198.18.0.1, in A) <-> vb (198.18.0.2, in B), both removed when the caller exits.
A=once-a-$$ B=once-b-$$
cleanup() { ip netns del $A 2>/dev/null; ip netns del $B 2>/dev/null; }
trap cleanup EXIT
ip netns add $A && ip netns add $B || exit 1
ip link add va netns $A type veth peer name vb netns $B || exit 1
ip -n $A addr add 198.18.0.1/24 dev va; ip -n $B addr add 198.18.0.2/24 dev vb
ip -n $A link set va up; ip -n $B link set vb up; ip -n $A link set lo up; ip -n $B link set lo up
