#!/usr/bin/env python3
"""Synthetic iptables-save rulesets like the bpf-iptables paper's generator: N rules in filter INPUT, each with
source and destination prefixes, a protocol and port ranges, ACCEPT or DROP, policy DROP. Deterministic per
seed. Addresses come from 198.18.0.0/15 (the benchmarking range)."""
import argparse
import random


def rule(rnd):
    src = 0xC6120000 | rnd.getrandbits(17)
    dst = 0xC6120000 | rnd.getrandbits(17)
    slen, dlen = rnd.choice([16, 24, 28, 32]), rnd.choice([24, 32])
    def net(a, l):
        a &= (0xFFFFFFFF << (32 - l)) & 0xFFFFFFFF
        return f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}/{l}"
    proto = rnd.choice(["tcp", "udp"])
    lo = rnd.randrange(1024, 60000)
    hi = lo + rnd.choice([0, 0, 10, 100])
    ports = f"{lo}" if lo == hi else f"{lo}:{hi}"
    target = rnd.choice(["ACCEPT", "DROP"])
    return (f"-A INPUT -s {net(src, slen)} -d {net(dst, dlen)} -p {proto} -m {proto} "
            f"--sport 1024:65535 --dport {ports} -j {target}")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("rules", type=int)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    print("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]")
    for _ in range(a.rules):
        print(rule(rnd))
    print("COMMIT")


if __name__ == "__main__":
    main()
