#!/bin/bash
# Per-packet cost and load time of nft sets and verdict maps as BPF maps (issue 16; docs/design-notes.md, "Named
# sets and verdict maps as BPF maps"), with 10 and with N elements (default 100,000), on both back ends:
#   set    ip saddr @block drop                 (a hash of exact addresses; the packet's source is a member)
#   lpm    ip saddr @nets drop                  (an interval set of /24s: an LPM trie)
#   vmap   ip daddr . meta l4proto . th dport vmap @services   (a hash; verdicts drop and goto 4 chains)
# ns/packet: `bpftables run RULES --pcap P --codegen c|direct --repeat 100000 --chain INPUT` (BPF_PROG_TEST_RUN at
# XDP of one TCP SYN 198.18.0.1 -> 198.18.0.2:80, which each ruleset drops), ROUNDS times in turn, the median.
# load: the wall time of the same command with --repeat 1 (parse, compile, load with the maps filled, one run).
# Usage: sudo bench/nft_sets_bench.sh [BUILD_DIR] [ROUNDS] [N]
set -euo pipefail
B=$(realpath "${1:-build}")/cli/bpftables
ROUNDS=${2:-5}
N=${3:-100000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
python3 - "$N" <<'PY'
import struct, sys
n = int(sys.argv[1])
def ip4sum(h):
    s = sum(struct.unpack('!10H', h))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
eth = bytes([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]) + struct.pack('!H', 0x800)
tcp = struct.pack('!HHIIBBHHH', 40000, 80, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 40, 1, 0, 64, 6, 0, bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2]))
frame = eth + h[:10] + struct.pack('!H', ip4sum(h)) + h[12:] + tcp
with open('p.pcap', 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    f.write(struct.pack('<IIII', 0, 0, len(frame), len(frame)) + frame)
def addr(i):  # 10.0.0.0/8 upwards, the packet's own source last
    return '10.%d.%d.%d' % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
def write(name, count):
    last = count - 1
    block = ', '.join([addr(i) for i in range(last)] + ['198.18.0.1'])
    nets = ', '.join(['%s/24' % addr(i << 8) for i in range(last)] + ['198.18.0.0/24'])
    services = ', '.join(['%s . tcp . %d : %s' % (addr(i), 1000 + i % 60000,
                                                  'drop' if i % 5 == 0 else 'goto svc%d' % (i % 5))
                          for i in range(last)] + ['198.18.0.2 . tcp . 80 : drop'])
    chains = ''.join('    chain svc%d { ip saddr 203.0.113.%d drop; }\n' % (k, k) for k in range(1, 5))
    for kind, body in (('set', 'set block { type ipv4_addr; elements = { %s } }' % block),
                       ('lpm', 'set nets { type ipv4_addr; flags interval; elements = { %s } }' % nets),
                       ('vmap', 'map services { type ipv4_addr . inet_proto . inet_service : verdict; '
                                'elements = { %s } }' % services)):
        rule = {'set': 'ip saddr @block drop', 'lpm': 'ip saddr @nets drop',
                'vmap': 'ip daddr . meta l4proto . th dport vmap @services'}[kind]
        with open('%s%s.nft' % (kind, name), 'w') as f:
            f.write('table ip t {\n    %s\n%s    chain input {\n        type filter hook input priority 0; '
                    'policy accept;\n        %s\n    }\n}\n' % (body, chains, rule))
write('10', 10)
write('N', n)
PY
declare -A res load
for _ in $(seq 1 "$ROUNDS"); do
    for kind in set lpm vmap; do
        for size in 10 N; do
            for g in c direct; do
                ns=$("$B" run "$kind$size.nft" --pcap p.pcap --codegen $g --repeat 100000 --chain INPUT |
                    grep -o '[0-9]* ns' | head -1 | cut -d' ' -f1)
                res[$kind$size.$g]+="$ns "
                t0=$(date +%s%N)
                "$B" run "$kind$size.nft" --pcap p.pcap --codegen $g --chain INPUT >/dev/null
                load[$kind$size.$g]+="$(((($(date +%s%N) - t0) / 1000000))) "
            done
        done
    done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
echo "elements: 10 and $N; $ROUNDS rounds; median ns/packet (all runs) and median load ms"
printf '%-6s %-7s %10s %10s %8s %12s %12s\n' case codegen ns@10 "ns@$N" ratio load@10 "load@$N"
for kind in set lpm vmap; do
    for g in c direct; do
        a=$(median <<<"${res[${kind}10.$g]}")
        b=$(median <<<"${res[${kind}N.$g]}")
        printf '%-6s %-7s %10s %10s %8s %12s %12s   (%s| %s)\n' "$kind" "$g" "$a" "$b" \
            "$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", b / a}')" \
            "$(median <<<"${load[${kind}10.$g]}")" "$(median <<<"${load[${kind}N.$g]}")" \
            "${res[${kind}10.$g]}" "${res[${kind}N.$g]}"
    done
done
