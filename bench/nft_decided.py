#!/usr/bin/env python3
"""How much of an nft generator ruleset bpftables decides in BPF (issue 16).

  nft_decided.py BPFTABLES [RULESET...]   (default: ../shared/corpus/nft-generators/*/*; needs root)

Per ruleset, from `bpftables compile --format nft --explain` (XDP): the rules and policies compiled, and the
--explain lines that hand something to the kernel (a rule, a base chain, a nat statement); then a small traffic
mix through `bpftables run --format nft --json` (BPF_PROG_TEST_RUN) and the share of its packets the program
decides (any verdict but KERNEL). The mix, the same for every ruleset: TCP SYNs, UDP datagrams and ICMP echo
requests to the IPv4 addresses the ruleset names (and 198.18.0.1), to the ports it names (and 22, 53, 80, 443),
from 198.19.0.7, each to INPUT (in: the first interface name the ruleset names, else eth0) and FORWARD (out: the
second, else eth1). Run in a namespace of its own (`unshare -n`): conntrack has no entry for any of them, so
every packet is the first of its connection, the one a nat chain sees. Rulesets without an ip or inet table
(Docker's ip6 ones) are listed and left out. Prints one line per ruleset and the
totals; the figures are in docs/design-notes.md (issue 16).
"""
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "compat-tests"))
from compat_lib import packets  # noqa: E402

MAX_ADDRS, MAX_PORTS = 6, 6


def names_of(text):
    addrs = []
    for a in re.findall(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.]*/\d)", text):
        if a not in addrs and not a.startswith(("0.", "127.", "255.")):
            addrs.append(a)
    ports = []
    for p in re.findall(r"dport (\d+)|\. (?:tcp|udp) \. (\d+)", text):
        n = int(p[0] or p[1])
        if n not in ports:
            ports.append(n)
    ifs = []
    for i in re.findall(r'(?:iifname|oifname)\s+(?:!= )?"([^"*]+)"', text) + re.findall(r'"([^"*]+)"\s*:', text):
        if i not in ifs and i != "lo":
            ifs.append(i)
    return addrs[:MAX_ADDRS] + ["198.18.0.1"], ports[:MAX_PORTS] + [22, 53, 80, 443], ifs


def mix(addrs, ports):
    out = []
    for a in addrs:
        for port in ports:
            out.append(packets.Packet(src=packets.ip_int("198.19.0.7"), dst=packets.ip_int(a), dport=port))
            out.append(packets.Packet(src=packets.ip_int("198.19.0.7"), dst=packets.ip_int(a),
                                      proto=packets.UDP, dport=port))
        out.append(packets.Packet(src=packets.ip_int("198.19.0.7"), dst=packets.ip_int(a), proto=packets.ICMP))
    return out


def explain(bpftables, path):
    r = subprocess.run([bpftables, "compile", "--format", "nft", "--explain", path, "-o", os.devnull],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        return None, None
    m = re.search(r"(\d+) rules and policies compiled", r.stdout)
    kernel = sum(1 for line in r.stdout.splitlines() if "kernel" in line and not line.startswith("hook "))
    return int(m.group(1)) if m else 0, kernel


def run(bpftables, path, pcap, chain, in_if, out_if, codegen):
    cmd = [bpftables, "run", "--format", "nft", path, "--pcap", pcap, "--json", "--chain", chain, "--in", in_if,
           "--codegen", codegen]
    if chain == "FORWARD":
        cmd += ["--out", out_if]
    r = subprocess.run(["unshare", "-n"] + cmd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        return None
    verdicts = [json.loads(line)["verdict"] for line in r.stdout.splitlines() if line.startswith("{")]
    return len(verdicts), sum(v != "KERNEL" for v in verdicts)


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    bpftables = sys.argv[1]
    codegen = os.environ.get("CODEGEN", "c")
    files = sys.argv[2:]
    if not files:
        corpus = os.path.join(HERE, "..", "..", "shared", "corpus", "nft-generators")
        files = sorted(os.path.join(d, f) for d, _, fs in os.walk(corpus) for f in fs)
    totals = [0, 0, 0, 0]
    print("ruleset | rules compiled | explain lines handing over | packets | decided in BPF")
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            text = open(path).read()
            name = os.path.basename(os.path.dirname(path)) + "/" + os.path.basename(path)
            if not re.search(r"^table (ip|inet) ", text, re.M):
                print(f"{name} | no ip or inet table: not in the IPv4 program | | |")
                continue
            addrs, ports, ifs = names_of(text)
            pcap = os.path.join(tmp, "mix.pcap")
            frames = [packets.build(p, b"\x02\0\0\0\0\x02", b"\x02\0\0\0\0\x01") for p in mix(addrs, ports)]
            packets.write_pcap(pcap, frames)
            compiled, kernel = explain(bpftables, path)
            sent = decided = 0
            for chain in ("INPUT", "FORWARD"):
                got = run(bpftables, path, pcap, chain, ifs[0] if ifs else "eth0",
                          ifs[1] if len(ifs) > 1 else "eth1", codegen)
                if got:
                    sent, decided = sent + got[0], decided + got[1]
            if compiled is None:
                print(f"{name} | compile fails | | |")
                continue
            totals = [totals[0] + compiled, totals[1] + kernel, totals[2] + sent, totals[3] + decided]
            share = f"{100 * decided / sent:.0f}%" if sent else "-"
            print(f"{name} | {compiled} | {kernel} | {sent} | {decided} ({share})")
    share = f"{100 * totals[3] / totals[2]:.0f}%" if totals[2] else "-"
    print(f"total | {totals[0]} | {totals[1]} | {totals[2]} | {totals[3]} ({share})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
