#!/bin/bash
# Time of one `add element` (then its `delete element`) into an nft set of N elements (default 100,000) with
# `bpftables-restore --format nft -n`: in place (runtime/elements.hpp) against a rebuild of the generation
# (the same restore with --codegen direct, which asks for a build), ROUNDS times in turn, medians. The ruleset
# is nft_sets_bench.sh's `set` one (ip saddr @block drop), attached at XDP to a veth in a namespace of its own.
# Usage: sudo bench/nft_element_time.sh [BUILD_DIR] [ROUNDS] [N]
set -euo pipefail
if [ -z "${BPFT_BENCH_MNTNS:-}" ]; then
    exec env BPFT_BENCH_MNTNS=1 unshare -m --propagation slave bash "$0" "$@"
fi
C=$(realpath "${1:-build}")/cli
ROUNDS=${2:-5}
N=${3:-100000}
ns=bpft-elt-$$
dir=$(mktemp -d)
mount -t bpf bpf /sys/fs/bpf
trap 'ip netns del $ns 2>/dev/null; rm -rf "$dir"' EXIT
ip netns add $ns
ip -n $ns link add va type veth peer name vb
ip -n $ns link set va up && ip -n $ns link set vb up
inns() { nsenter --net=/run/netns/$ns "$@"; }
python3 - "$N" >"$dir/set.nft" <<'PY'
import sys
n = int(sys.argv[1])
block = ', '.join('10.%d.%d.%d' % ((i >> 16) & 255, (i >> 8) & 255, i & 255) for i in range(n))
print('flush ruleset\ntable ip t {\n    set block { type ipv4_addr; elements = { %s } }\n'
      '    chain input {\n        type filter hook input priority 0; policy accept;\n'
      '        ip saddr @block drop\n    }\n}' % block)
PY
inns "$C/bpftables" attach va --hook xdp --mode generic >/dev/null
inns "$C/bpftables-restore" --format nft "$dir/set.nft"
echo 'add element ip t block { 198.18.0.1 }' >"$dir/add.nft"
echo 'delete element ip t block { 198.18.0.1 }' >"$dir/del.nft"
ms() {
    local t0
    t0=$(date +%s%N)
    inns "$C/bpftables-restore" --format nft -n "$@" >/dev/null
    echo $((($(date +%s%N) - t0) / 1000000))
}
declare -A t
for _ in $(seq 1 "$ROUNDS"); do
    t[inplace.add]+="$(ms "$dir/add.nft") "
    t[inplace.del]+="$(ms "$dir/del.nft") "
    t[rebuild.add]+="$(ms --codegen direct "$dir/add.nft") "
    t[rebuild.del]+="$(ms --codegen direct "$dir/del.nft") "
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
echo "set of $N elements; $ROUNDS rounds; median ms (all runs); load: $(cut -d' ' -f1-3 /proc/loadavg)"
for k in inplace.add inplace.del rebuild.add rebuild.del; do
    printf '%-12s %6s   (%s)\n' "$k" "$(median <<<"${t[$k]}")" "${t[$k]}"
done
inns "$C/bpftables" detach --all >/dev/null
