#!/usr/bin/python3
"""Time to change one rule in N (the rule in the middle of the chain), for the netfilter front ends, each in a
scratch network namespace: `iptables-legacy -R`, `iptables-nft -R`, `nft replace rule`, and `bpftables-restore`
of the ruleset with that rule changed, into a live XDP attachment (a veth in the namespace, a private bpffs in a
private mount namespace): bpftables has no incremental update, a restore builds, verifies and swaps the whole
generation (keeping the counters of the rules that did not change).

    sudo /usr/bin/python3 bench/update_time.py --bpftables build/cli --rules 1,10,100,1000,10000,100000 \
        --csv docs/bench/update.csv
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


def bpftables_update(bindir, ns, ruleset, changed):
    """Seconds of `bpftables-restore CHANGED` after `bpftables-restore RULESET`, attached at XDP on v0."""
    script = f"""
        set -e
        mount -t bpf bpf /sys/fs/bpf
        inns() {{ nsenter --net=/run/netns/{ns} "$@"; }}
        trap 'inns {bindir}/bpftables detach --all >/dev/null 2>&1 || true' EXIT
        inns {bindir}/bpftables attach v0 --hook xdp >/dev/null
        inns {bindir}/bpftables-restore {ruleset}
        s=$(date +%s.%N); inns {bindir}/bpftables-restore {changed}; e=$(date +%s.%N)
        echo "$s $e"
    """
    out = subprocess.run(["unshare", "-m", "bash", "-c", script], check=True, capture_output=True, text=True)
    start, end = out.stdout.split()[-2:]
    return float(end) - float(start)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", default="1,10,100,1000")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--csv", default="update.csv")
    ap.add_argument("--bpftables", help="directory of bpftables and bpftables-restore (absent: not measured)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("update_time: needs root: skipped", file=sys.stderr)
        return 77
    ns = f"bpftb-upd-{os.getpid()}"
    rows = []
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True)
        run_bench.run(["ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"], ns=ns)
        for link in ("v0", "v1", "lo"):
            run_bench.run(["ip", "link", "set", link, "up"], ns=ns)
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
                changed = os.path.join(tmp, f"rules-{n}-changed.txt")
                with open(ruleset) as f, open(changed, "w") as out:
                    at = 0
                    for line in f:
                        if line.startswith("-A INPUT"):
                            at += 1
                            if at == k:
                                line = " ".join(["-A", "INPUT"] + spec) + "\n"
                        out.write(line)
                tools = ("iptables-legacy", "iptables-nft", "nft") + (("bpftables",) if args.bpftables else ())
                for tool in tools:
                    times = []
                    for _ in range(args.reps):
                        if tool == "bpftables":
                            times.append(bpftables_update(args.bpftables, ns, ruleset, changed))
                        elif tool == "nft":
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
