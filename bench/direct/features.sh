#!/bin/bash
# Per-packet cost of -m limit, -m set and IPv6 on both back ends (docs/design-notes.md, "Limit, sets and IPv6 in
# the direct back end"): `bpftables run --repeat 100000` (BPF_PROG_TEST_RUN at XDP, INPUT) of one TCP SYN, each
# case and back end in turn, ROUNDS times; prints the median ns/packet and every run's figure.
# Usage: sudo bench/direct/features.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
B=$(realpath "${1:-build}")/cli/bpftables
ROUNDS=${2:-11}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
python3 - <<'PY'
import struct
def ip4sum(h):
    s = sum(struct.unpack('!10H', h))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
eth = lambda t: bytes([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]) + struct.pack('!H', t)
tcp = struct.pack('!HHIIBBHHH', 40000, 80, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 40, 1, 0, 64, 6, 0, bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2]))
v4 = eth(0x800) + h[:10] + struct.pack('!H', ip4sum(h)) + h[12:] + tcp
a6 = lambda last: bytes([0x20, 1, 0xd, 0xb8] + [0] * 11 + [last])
v6 = eth(0x86dd) + struct.pack('!IHBB', 6 << 28, len(tcp), 6, 64) + a6(1) + a6(2) + tcp
for name, frame in (('v4.pcap', v4), ('v6.pcap', v6)):
    with open(name, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        f.write(struct.pack('<IIII', 0, 0, len(frame), len(frame)) + frame)
PY
H=$'*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]'
printf '%s\n-A INPUT -p tcp -m limit --limit 1/hour --limit-burst 1 -j LOG\n-A INPUT -p tcp --dport 80 -j DROP\nCOMMIT\n' "$H" >limit.rules
printf '%s\n-A INPUT -p tcp --dport 80 -j DROP\nCOMMIT\n' "$H" >nolimit.rules
printf '%s\n-A INPUT -m set --match-set nets src -j DROP\nCOMMIT\n' "$H" >set.rules
printf '%s\n-A INPUT -s 198.18.0.0/24 -j DROP\nCOMMIT\n' "$H" >noset.rules
{
    echo "create nets hash:net family inet hashsize 1024 maxelem 65536"
    for i in $(seq 0 999); do echo "add nets 10.$((i / 256)).$((i % 256)).0/24"; done
    echo "add nets 198.18.0.0/24"
} >nets.ipset
{
    echo "$H"
    for i in $(seq 1 20); do echo "-A INPUT -s 198.$((18 + i % 2)).$i.0/24 -p tcp --dport $((1000 + i)) -j DROP"; done
    echo "-A INPUT -s 198.18.0.0/24 -p tcp --dport 80 -j DROP"
    echo COMMIT
} >r4.rules
{
    echo "$H"
    for i in $(seq 1 20); do echo "-A INPUT -s 2001:db8:$i::/48 -p tcp --dport $((1000 + i)) -j DROP"; done
    echo "-A INPUT -s 2001:db8::/48 -p tcp --dport 80 -j DROP"
    echo COMMIT
} >r6.rules
cases="limit:limit.rules:v4.pcap: nolimit:nolimit.rules:v4.pcap: set:set.rules:v4.pcap:--ipsets=nets.ipset
       noset:noset.rules:v4.pcap: r4:r4.rules:v4.pcap: r6:r6.rules:v6.pcap:-6"
declare -A res
for _ in $(seq 1 "$ROUNDS"); do
    for c in $cases; do
        IFS=: read -r name rules pcap extra <<<"$c"
        for g in c direct; do
            # shellcheck disable=SC2086
            ns=$("$B" run "$rules" --pcap "$pcap" --codegen $g --repeat 100000 --chain INPUT $extra |
                grep -o '[0-9]* ns' | head -1 | cut -d' ' -f1)
            res[$name,$g]+="$ns "
        done
    done
done
for c in $cases; do
    IFS=: read -r name _ _ _ <<<"$c"
    for g in c direct; do
        med=$(tr ' ' '\n' <<<"${res[$name,$g]}" | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
        echo "$name $g median=$med all=[${res[$name,$g]}]"
    done
done
