# Shared by restore_bench.sh, rule_change_bench.sh and rule_change_steps.sh (sourced, after `set -u`): re-executes the script in a
# private mount namespace with its own bpffs, makes the scratch namespace $ns (veth v0 198.18.0.1/24 and v1) with
# bpftables attached to v0 at XDP, removes it on exit, and gives inns() (a command in $ns).
# Usage: bench_setup PREFIX BUILD_CLI_DIR "$0" "$@"
bench_setup() {
    if [ -z "${BPFT_BENCH_MNTNS:-}" ]; then
        exec env BPFT_BENCH_MNTNS=1 unshare -m --propagation slave bash "$3" "${@:4}"
    fi
    ns=$1-$$
    bin=$(cd "$2" && pwd)
    trap bench_cleanup EXIT
    mount -t bpf bpf /sys/fs/bpf || exit 1
    ip netns add $ns || exit 1
    ip -n $ns link add v0 type veth peer name v1
    ip -n $ns addr add 198.18.0.1/24 dev v0
    ip -n $ns link set v0 up && ip -n $ns link set v1 up && ip -n $ns link set lo up
    inns "$bin/bpftables" attach v0 --hook xdp >/dev/null || exit 1
}
bench_cleanup() {
    ino=$(stat -L -c %i /run/netns/$ns 2>/dev/null) && rm -f /run/bpftables/$ino.lock
    ip netns del $ns 2>/dev/null
}
inns() { nsenter --net=/run/netns/$ns "$@"; }
# The middle INPUT rule of a bench/gen_ruleset.py file: rules (their number), n (its position), rule (its text).
middle_rule() {
    rules=$(grep -c '^-A INPUT' "$1")
    n=$(((rules + 1) / 2))
    rule=$(grep '^-A INPUT' "$1" | sed -n "${n}p" | sed 's/^-A INPUT //')
}
