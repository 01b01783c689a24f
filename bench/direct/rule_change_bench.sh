#!/usr/bin/env bash
# One rule changed in a committed ruleset: `bpftables -R INPUT N RULE` against `iptables-legacy -R INPUT N RULE`
# (N: the middle rule, replaced by itself), alternating (farm-bench --vs), in one scratch namespace with an XDP
# attachment (a private bpffs in a private mount namespace), the kernel's copy on iptables-legacy. Needs root.
# Usage: bench/direct/rule_change_bench.sh BUILD_CLI_DIR RUNS FILE   (FILE: bench/gen_ruleset.py output)
set -u
if [ -z "${BPFT_BENCH_MNTNS:-}" ]; then
    exec env BPFT_BENCH_MNTNS=1 unshare -m --propagation slave bash "$0" "$@"
fi
bin=$(cd "$1" && pwd) runs=$2 f=$(realpath "$3")
ns=rc-$$
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
inns "$bin/bpftables-restore" --backend legacy "$f" || exit 1
rules=$(grep -c '^-A INPUT' "$f")
n=$(((rules + 1) / 2))
rule=$(grep '^-A INPUT' "$f" | sed -n "${n}p" | sed 's/^-A INPUT //')
echo "== $f: rule $n of $rules: $rule"
inns "$bin/bpftables" -R INPUT $n $rule || exit 1
farm-bench -n "$runs" --timeout 3000 --vs "nsenter --net=/run/netns/$ns iptables-legacy -R INPUT $n $rule" -- \
    nsenter --net=/run/netns/$ns "$bin/bpftables" -R INPUT $n $rule
inns "$bin/bpftables" detach --all >/dev/null
