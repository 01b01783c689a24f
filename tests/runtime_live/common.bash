# Shared by the runtime_live scripts (sourced; not a test itself): a private mount namespace with its own
# bpffs, namespaces A (device under test, veth va 198.18.N.1) and P (peer, vp 198.18.N.2) named with the pid,
# and helpers. Every script calls `live_setup SUBNET TAG` first; the EXIT trap removes what it made.
# Usage in a script:  source "$(dirname "$0")/common.bash"; live_setup 3 ft "$@"
set -uo pipefail

live_setup() {  # live_setup SUBNET TAG BUILD_CLI_DIR (the script re-executes itself in a mount namespace)
    NET=198.18.$1
    A=bpftl-$2a-$$ P=bpftl-$2p-$$
    B=$(cd "$3" && pwd)
    mount -t bpf bpf /sys/fs/bpf || { echo "cannot mount bpffs"; exit 1; }
    work=$(mktemp -d)
    trap live_cleanup EXIT
    ip netns add $A && ip netns add $P || exit 1
    ip -n $A link add va type veth peer name vp netns $P
    ip -n $A addr add $NET.1/24 dev va
    ip -n $P addr add $NET.2/24 dev vp
    ip -n $A link set lo up && ip -n $A link set va up && ip -n $P link set vp up
    sd=$(bt status | sed -n 's/^state //p')  # keyed by the namespace's cookie
    lockfile=/run/bpftables/$(stat -L -c %i /run/netns/$A).lock
}
live_cleanup() {
    local pid
    for pid in ${bg_pids:-}; do kill "$pid" 2>/dev/null; done
    for ns in $A $P ${extra_ns:-}; do
        ino=$(stat -L -c %i /run/netns/$ns 2>/dev/null) && rm -f /run/bpftables/$ino.lock
        ip netns del $ns 2>/dev/null
    done
    rmdir /run/bpftables 2>/dev/null
    rm -rf "$work"
    local left
    left=$(ip netns list | grep -E "^($A|$P${extra_ns:+|$extra_ns})( |$)")
    [ -z "$left" ] || { echo "FAIL namespaces left: $left"; exit 1; }
}

inA() { nsenter --net=/run/netns/$A "$@"; }
bt() { inA "$B/bpftables" "$@"; }
restore() { inA "$B/bpftables-restore" "$@"; }
save() { inA "$B/bpftables-save" "$@" | grep -v '^#'; }
# N UDP datagrams from the peer to $NET.1:PORT (bounded: N <= 100).
udp() { nsenter --net=/run/netns/$P bash -c "for i in \$(seq $1); do echo x > /dev/udp/$NET.1/$2; done"; }
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
expect() {  # expect NAME EXPECTED ACTUAL
    if [ "$2" == "$3" ]; then ok "$1"; else bad "$1"; echo "  expected: $2"; echo "  actual:   $3"; fi
}
counter() {  # counter RULE-TEXT: "[p:b]" of that rule in bpftables-save -c
    save -c | grep -F -- "$1" | head -1 | cut -d' ' -f1
}
gen() { bt status | sed -n 's/^generation \([0-9]*\):.*/\1/p'; }
finish() { echo "$fails failure(s)"; [ $fails -eq 0 ]; }
