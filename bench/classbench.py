#!/usr/bin/env python3
"""A ClassBench filter set (../shared/corpus/classbench, db_generator's output) as an iptables-save ruleset: one
`-A INPUT` rule per filter, in file order (first match wins in both). A protocol mask of 0xFF becomes `-p`
(`tcp` and `udp` with their port ranges; any other protocol by number, its ports dropped: ClassBench gives them
0 : 65535); a mask of 0 matches every protocol and then the port ranges cannot be expressed and must be full.
Every rule DROPs (--target ACCEPT for accepted traffic); the INPUT policy is ACCEPT.

    bench/classbench.py fw1_10k > fw1_10k.rules
    bench/classbench.py fw1_10k --pcap fw1_10k.pcap --packets 64 > fw1_10k.rules

--pcap also writes packets for `bpftables run --pcap FILE --repeat N` (ns per packet of the program alone): one
inside each of --packets filters drawn at random (seeded), whichever rule decides it, then one that no filter
matches if such a packet is found, as "miss".
"""
import argparse
import ipaddress
import random
import struct
import sys

PROTO_NAME = {6: "tcp", 17: "udp"}


def _prefix(text):
    return "" if text.endswith("/0") else text


def convert_line(line, target):
    """The `-A INPUT ...` of one ClassBench line, or None for a filter iptables cannot express."""
    fields = line.lstrip("@").split("\t")
    src, dst, sport, dport, proto = fields[:5]
    sport = [int(x) for x in sport.split(":")]
    dport = [int(x) for x in dport.split(":")]
    value, mask = (int(x, 16) for x in proto.split("/"))
    args = ["-A", "INPUT"]
    if _prefix(src):
        args += ["-s", src]
    if _prefix(dst):
        args += ["-d", dst]
    full = sport == [0, 65535] and dport == [0, 65535]
    if mask == 0:
        if not full:
            return None
    elif value in PROTO_NAME:
        args += ["-p", PROTO_NAME[value]]
        for opt, (lo, hi) in (("--sport", sport), ("--dport", dport)):
            if (lo, hi) != (0, 65535):
                args += [opt, str(lo) if lo == hi else f"{lo}:{hi}"]
    else:
        args += ["-p", str(value)]
    return " ".join(args + ["-j", target])


def convert(lines, target="DROP"):
    """The iptables-save text of a ClassBench set, and how many filters it had to leave out."""
    rules, skipped = [], 0
    for line in lines:
        if not line.strip():
            continue
        rule = convert_line(line.rstrip("\n"), target)
        if rule is None:
            skipped += 1
        else:
            rules.append(rule)
    text = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
    return text + "\n".join(rules) + "\nCOMMIT\n", skipped


def _filter_box(line):
    """(src, dst, sport, dport, proto) of a ClassBench line: inclusive integer ranges."""
    fields = line.lstrip("@").split("\t")
    nets = [ipaddress.ip_network(fields[i], strict=False) for i in (0, 1)]
    ports = [tuple(int(x) for x in fields[i].split(":")) for i in (2, 3)]
    value, mask = (int(x, 16) for x in fields[4].split("/"))
    proto = (value, value) if mask else (0, 255)
    return [(int(n.network_address), int(n.broadcast_address)) for n in nets] + ports + [proto]


def _frame(saddr, daddr, sport, dport, proto):
    """An Ethernet frame with an IPv4 header (checksummed) and a TCP or UDP header (or 8 bytes of payload)."""
    l4 = (struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 2, 65535, 0, 0) if proto == 6 else
          struct.pack("!HHHH", sport, dport, 8, 0) if proto == 17 else bytes(8))
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(l4), 1, 0, 64, proto, 0, saddr, daddr)
    words = sum(struct.unpack("!10H", ip))
    while words >> 16:
        words = (words & 0xffff) + (words >> 16)
    ip = ip[:10] + struct.pack("!H", ~words & 0xffff) + ip[12:]
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\0" + ip + l4


def write_pcap(lines, path, packets, seed=1):
    rnd = random.Random(seed)
    boxes = [_filter_box(line) for line in lines if line.strip()]
    points = []
    for box in rnd.sample(boxes, min(packets, len(boxes))):
        point = [rnd.randint(lo, hi) for lo, hi in box]
        if point[4] not in (6, 17) and box[4] == (0, 255):
            point[4] = rnd.choice((6, 17))
        points.append(point)
    for _ in range(1000):  # a miss: outside every filter
        point = [rnd.getrandbits(32), rnd.getrandbits(32), rnd.randint(0, 65535), rnd.randint(0, 65535), 17]
        if not any(all(lo <= v <= hi for v, (lo, hi) in zip(point, box)) for box in boxes):
            points.append(point)
            break
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for saddr, daddr, sport, dport, proto in points:
            frame = _frame(saddr, daddr, sport, dport, proto)
            f.write(struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("classbench", help="a filter set written by db_generator")
    ap.add_argument("--target", default="DROP", choices=["DROP", "ACCEPT"])
    ap.add_argument("--pcap", help="also write packets aimed at the filters here")
    ap.add_argument("--packets", type=int, default=64)
    args = ap.parse_args()
    with open(args.classbench) as f:
        lines = f.readlines()
    text, skipped = convert(lines, args.target)
    if args.pcap:
        write_pcap(lines, args.pcap, args.packets)
    sys.stdout.write(text)
    if skipped:
        print(f"classbench: {skipped} filters left out (ports without a protocol)", file=sys.stderr)


if __name__ == "__main__":
    main()
