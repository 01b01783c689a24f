#!/usr/bin/python3
"""Time to change one rule in N (the rule in the middle of the chain), for the netfilter front ends, each in a
scratch network namespace: `iptables-legacy -R`, `iptables-nft -R`, `nft replace rule`. bpftables has no
incremental update: its live runtime (`bpftables-restore`) builds and loads the whole generation and swaps it
in, so its update time is its load time (docs/benchmarks.md).

    sudo /usr/bin/python3 bench/update_time.py --rules 1,10,100,1000,10000,100000 --csv docs/bench/update.csv
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench  # noqa: E402


def timed(cmd, ns, stdin=None):
    start = time.monotonic()
    run_bench.run(cmd, ns=ns, stdin=stdin)
    return time.monotonic() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", default="1,10,100,1000")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--csv", default="update.csv")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("update_time: needs root: skipped", file=sys.stderr)
        return 77
    ns = f"bpftb-upd-{os.getpid()}"
    rows = []
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True)
        with tempfile.TemporaryDirectory(prefix="bpftables-update-") as tmp:
            for n in [int(x) for x in args.rules.split(",")]:
                ruleset = os.path.join(tmp, f"rules-{n}.txt")
                run_bench.make_ruleset(n, 1, ruleset)
                lines = [l for l in open(ruleset) if l.startswith("-A INPUT")]
                k = n // 2 + 1  # 1-based position of the rule to change
                spec = lines[k - 1].split()[2:]
                spec[spec.index("--dport") + 1] = "1"  # a different rule in the same place
                nft_file = os.path.join(tmp, f"rules-{n}.nft")
                run_bench.nft_translate(ruleset, nft_file)
                for tool in ("iptables-legacy", "iptables-nft", "nft"):
                    times = []
                    for _ in range(args.reps):
                        if tool == "nft":
                            run_bench.run(["nft", "-f", nft_file], ns=ns)
                            listing = run_bench.run(["nft", "-a", "list", "chain", "ip", "filter", "INPUT"],
                                                    ns=ns).stdout
                            handles = [re.search(r"# handle (\d+)", l).group(1) for l in listing.splitlines()
                                       if "# handle" in l and not l.strip().startswith(("table", "chain"))]
                            expr = run_bench.run(["iptables-translate", "-A", "INPUT"] + spec).stdout
                            expr = expr.strip().split("INPUT", 1)[1].strip().strip("'")
                            times.append(timed(["nft", "replace", "rule", "ip", "filter", "INPUT", "handle",
                                                handles[k - 1], expr], ns))
                            run_bench.run(["nft", "flush", "ruleset"], ns=ns)
                        else:
                            with open(ruleset) as f:
                                run_bench.run([f"{tool}-restore"], ns=ns, stdin=f)
                            times.append(timed([tool, "-R", "INPUT", str(k)] + spec, ns))
                            run_bench.run([tool, "-F"], ns=ns)
                    rows.append((n, tool, statistics.median(times)))
                    print(f"N={n} {tool}: {statistics.median(times):.4f} s", file=sys.stderr, flush=True)
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.csv)), exist_ok=True)
    with open(args.csv, "w") as f:
        f.write("rules,tool,seconds\n")
        for n, tool, s in rows:
            f.write(f"{n},{tool},{s:.6f}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
