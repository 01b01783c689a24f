#!/usr/bin/env bash
# bpftables-restore against iptables-legacy-restore on the same files, alternating (farm-bench --vs), in one
# scratch namespace with an XDP attachment on a veth (a private bpffs in a private mount namespace), the
# kernel's copy on iptables-legacy (--backend legacy). Extra bpftables-restore options go in
# BPFT_RESTORE_OPTS (e.g. "--codegen c"). Needs root.
# Usage: bench/direct/restore_bench.sh BUILD_CLI_DIR RUNS FILE...
set -u
if [ -z "${BPFT_BENCH_MNTNS:-}" ]; then
    exec env BPFT_BENCH_MNTNS=1 unshare -m --propagation slave bash "$0" "$@"
fi
bin=$(cd "$1" && pwd) runs=$2
shift 2
ns=rb-$$
cleanup() {
    ino=$(stat -L -c %i /run/netns/$ns 2>/dev/null) && rm -f /run/bpftables/$ino.lock
    ip netns del $ns 2>/dev/null
}
trap cleanup EXIT
mount -t bpf bpf /sys/fs/bpf || exit 1
ip netns add $ns || exit 1
ip -n $ns link add v0 type veth peer name v1
ip -n $ns addr add 198.18.0.1/24 dev v0
ip -n $ns link set v0 up && ip -n $ns link set v1 up && ip -n $ns link set lo up
inns() { nsenter --net=/run/netns/$ns "$@"; }
inns "$bin/bpftables" attach v0 --hook xdp >/dev/null || exit 1
for f in "$@"; do
    f=$(realpath "$f")
    echo "== $f"
    inns "$bin/bpftables-restore" --backend legacy ${BPFT_RESTORE_OPTS:-} -v "$f" | grep -E "C back end|rules and policies;"
    farm-bench -n "$runs" --timeout 3000 --vs "nsenter --net=/run/netns/$ns iptables-legacy-restore $f" -- \
        nsenter --net=/run/netns/$ns "$bin/bpftables-restore" --backend legacy ${BPFT_RESTORE_OPTS:-} "$f"
done
inns "$bin/bpftables" detach --all >/dev/null
