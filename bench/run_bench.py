#!/usr/bin/python3
"""bpftables against netfilter, side by side (DESIGN.md, Benchmarks).

For each rule count N a synthetic ruleset (bench/gen_ruleset.py, every target DROP), and each corpus ruleset
(--corpus, --ruleset; converted by bench/rulesets.py); for each contender a fresh pair of network namespaces
(generator, DUT) joined by a veth pair. The generator is bench_gen run with BPF_PROG_TEST_RUN in live-frames mode
(bpftables_bench send); the DUT counts the packets that reached a verdict (netfilter's rule and policy counters,
bpftables' per-rule counters, the drop program's counter) over the measured window. Writes CSV, PNG plots and a
markdown report.

    sudo /usr/bin/python3 bench/run_bench.py --build-dir build-bench --rules 1,10,100,1000 --out docs
    sudo /usr/bin/python3 bench/run_bench.py --build-dir build --corpus bpf-iptables --bpftables-max-rules 10000 \
        --out docs/bpf-iptables     # the bpf-iptables paper's rulesets (bench/rulesets.py), one table each
    /usr/bin/python3 bench/run_bench.py --smoke --build-dir build-bench --out /tmp/smoke     # ctest; exit 77 when not root
"""
import argparse
import contextlib
import csv
import ctypes
import os
import platform
import random
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CONTENDERS = ["iptables-legacy", "iptables-nft", "nft", "nft-set", "bpftables-xdp", "bpftables-tc", "xdp-drop"]
TRAFFIC = ["last", "spread", "miss"]
GEN_MAC, DUT_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------- rulesets

sys.path.insert(0, HERE)
from rulesets import (CORPUS, corpus_rulesets, first_match, load_file_ruleset, make_flows,  # noqa: E402,F401
                      make_ruleset, nft_set, nft_translate, own_rule_share, spread_rules, write_flows)

SYNTHETIC = "synthetic"  # the ruleset label of gen_ruleset.py's rulesets; a corpus ruleset's label is its name


# ---------------------------------------------------------------------------------------------------- topology

def run(cmd, ns=None, stdin=None, check=True):
    """Runs cmd, inside netns `ns` (entered with setns in the child, no `ip netns exec` overhead)."""
    pre = None
    if ns:
        def pre():
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
            os.close(fd)
    p = subprocess.run(cmd, preexec_fn=pre, stdin=stdin, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {p.stderr.strip()}")
    return p


LIVE_NAMESPACES = set()


class Topology:
    """Generator and DUT namespaces joined by a veth pair; 198.18.0.0/15 is local at the DUT."""
    serial = 0

    def __init__(self):
        Topology.serial += 1
        tag = f"{os.getpid()}-{Topology.serial}"
        self.gen, self.dut = f"bpftb-gen-{tag}", f"bpftb-dut-{tag}"
        self.gen_dev, self.dut_dev = f"bg{tag}"[:15], f"bd{tag}"[:15]

    def __enter__(self):
        for ns in (self.gen, self.dut):
            run(["ip", "netns", "add", ns])
            LIVE_NAMESPACES.add(ns)
        try:
            run(["ip", "-n", self.gen, "link", "add", self.gen_dev, "address", GEN_MAC, "type", "veth", "peer",
                 "name", self.dut_dev, "address", DUT_MAC, "netns", self.dut])
            run(["ip", "-n", self.gen, "link", "set", self.gen_dev, "up"])
            for dev in ("lo", self.dut_dev):
                run(["ip", "-n", self.dut, "link", "set", dev, "up"])
            run(["ip", "-n", self.dut, "route", "add", "local", "198.18.0.0/15", "dev", "lo", "table", "local"])
            run(["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", f"net.ipv4.conf.{self.dut_dev}.rp_filter=0",
                 "net.ipv4.conf.all.accept_local=1", f"net.ipv4.conf.{self.dut_dev}.accept_local=1"],
                ns=self.dut)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for ns in (self.gen, self.dut):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            LIVE_NAMESPACES.discard(ns)

    def threaded_napi(self, cpu):
        """Moves the DUT veth's NAPI (created once an XDP program is attached) into a kthread pinned to `cpu`,
        so the DUT does not share the generator's CPU. Returns whether it worked."""
        p = subprocess.run(["ip", "netns", "exec", self.dut, "sh", "-c",
                            f"echo 1 > /sys/class/net/{self.dut_dev}/threaded"], capture_output=True)
        if p.returncode != 0:
            return False
        time.sleep(0.05)
        prefix = f"napi/{self.dut_dev}-"[:15]  # kernel thread names are cut at 15 characters
        pids = []
        for pid in os.listdir("/proc"):
            try:
                if pid.isdigit() and open(f"/proc/{pid}/comm").read().startswith(prefix):
                    pids.append(pid)
            except OSError:
                pass
        for pid in pids:
            subprocess.run(["taskset", "-pc", str(cpu), pid], capture_output=True)
        return bool(pids)


# ---------------------------------------------------------------------------------------------------- contenders

class Contender:
    """A contender set up in a Topology's DUT: verdicts() counts the packets that reached a verdict there."""

    def __init__(self, name, topo, build_dir, ruleset, nft_file, nft_set_file):
        self.name, self.topo = name, topo
        self.load_s = None
        self.info = {}
        mode = {"bpftables-xdp": "bpftables-xdp", "bpftables-tc": "bpftables-tc", "xdp-drop": "drop"}.get(name,
                                                                                                         "pass")
        if mode == "pass":
            self.load_netfilter(ruleset, nft_file, nft_set_file)
        cmd = [os.path.join(build_dir, "bench", "bpftables_bench"), "dut", "--ns", topo.dut, "--dev",
               topo.dut_dev, "--mode", mode]
        if mode.startswith("bpftables"):
            cmd += ["--ruleset", ruleset]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            self.close()
            raise RuntimeError(f"{name}: the DUT program did not start")
        self.info = dict(kv.split("=", 1) for kv in line.split()[1:])
        if "compile_s" in self.info:
            self.load_s = float(self.info["compile_s"]) + float(self.info["load_s"])

    def load_netfilter(self, ruleset, nft_file, nft_set_file):
        ns = self.topo.dut
        start = time.monotonic()
        if self.name in ("iptables-legacy", "iptables-nft"):
            with open(ruleset) as f:
                run([f"{self.name}-restore"], ns=ns, stdin=f)
        else:
            run(["nft", "-f", nft_file if self.name == "nft" else nft_set_file], ns=ns)
        self.load_s = time.monotonic() - start

    def command(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().split()

    def counts(self):
        """(verdicts, arrived): arrived is what the DUT's XDP program saw."""
        _, verdicts, arrived = self.command("count")
        verdicts, arrived = int(verdicts), int(arrived)
        if self.name.startswith("bpftables"):  # per rule of INPUT, then the policy (decided_by)
            self.per_rule = [int(x) for x in self.command("rules")[1:]]
        ns = self.topo.dut
        if self.name in ("iptables-legacy", "iptables-nft"):
            out = run([self.name, "-L", "INPUT", "-v", "-x", "-n"], ns=ns).stdout.splitlines()
            # per rule, then the policy: which rule decided is checked against the flows (decided_by)
            self.per_rule = [int(line.split()[0]) for line in out[2:] if line.strip()] + \
                [int(re.search(r"policy \w+ (\d+) packets", out[0]).group(1))]
            verdicts = sum(self.per_rule)
        elif self.name in ("nft", "nft-set"):
            table = "filter" if self.name == "nft" else "bench"
            out = run(["nft", "list", "chain", "ip", table, "INPUT"], ns=ns).stdout
            verdicts = sum(int(x) for x in re.findall(r"counter packets (\d+)", out))
        return verdicts, arrived

    def decided_by(self, before):
        """(rule index or None for the policy, share of the packets) that took most of the packets since the
        per-rule counts `before` (iptables and bpftables contenders)."""
        delta = [b - a for a, b in zip(before, self.per_rule)]
        k = max(range(len(delta)), key=delta.__getitem__)
        return (k if k < len(delta) - 1 else None), delta[k] / max(1, sum(delta))

    def share_of(self, before, rules):
        """The share of the packets since `before` that rules (indices) decided."""
        delta = [b - a for a, b in zip(before, self.per_rule)]
        return sum(delta[k] for k in rules if k < len(delta) - 1) / max(1, sum(delta))

    def nspp(self, repeat, flows_file):
        if not self.name.startswith("bpftables") and self.name != "xdp-drop":
            return None
        v = float(self.command(f"nspp {repeat} {flows_file}")[1])
        return v if v >= 0 else None

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def send(build_dir, topo, flows_file, seconds, max_packets, cpu):
    out = subprocess.run([os.path.join(build_dir, "bench", "bpftables_bench"), "send", "--ns", topo.gen, "--dev",
                          topo.gen_dev, "--src-mac", GEN_MAC, "--dst-mac", DUT_MAC, "--flows", flows_file,
                          "--seconds", str(seconds), "--max-packets", str(max_packets), "--cpu", str(cpu)],
                         check=True, capture_output=True, text=True, timeout=seconds * 3 + 30).stdout.split()
    return int(out[1]), float(out[3])


# ---------------------------------------------------------------------------------------------------- report

def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "load": open("/proc/loadavg").read().split()[:3]}


def fmt_rate(v):
    return f"{v:.3f}" if v is not None else "—"


def write_csvs(bench_dir, results, loads, programs, nspps, skipped, rulesets, command):
    """Every figure of the run, keyed by (ruleset, rules, ...); `ruleset` is `synthetic` or a corpus name."""
    os.makedirs(bench_dir, exist_ok=True)
    with open(os.path.join(bench_dir, "throughput.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ruleset", "rules", "traffic", "contender", "rep", "verdicts", "arrived", "seconds", "mpps"])
        for r in results:
            w.writerow([r["ruleset"], r["n"], r["traffic"], r["contender"], r["rep"], r["verdicts"], r["arrived"],
                        f"{r['seconds']:.6f}", f"{r['mpps']:.6f}"])
    with open(os.path.join(bench_dir, "skipped.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ruleset", "rules", "contender", "why"])
        for (label, n, c), why in sorted(skipped.items()):
            w.writerow([label, n, c, why])
    with open(os.path.join(bench_dir, "commands.txt"), "w") as f:
        f.write(command + "\n")
    with open(os.path.join(bench_dir, "load.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ruleset", "rules", "contender", "seconds"])
        for (label, n, c), s in sorted(loads.items()):
            w.writerow([label, n, c, f"{s:.6f}"])
    with open(os.path.join(bench_dir, "program.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ruleset", "rules", "hook"] + PROGRAM_KEYS +
                   ["ns_per_packet_last", "ns_per_packet_spread", "ns_per_packet_miss"])
        for label, n, c in sorted(set(programs) | {(label, n, c) for label, n, c, _ in nspps}):
            p = programs.get((label, n, c), {})
            w.writerow([label, n, c] + [p.get(k, "") for k in PROGRAM_KEYS] +
                       [nspps.get((label, n, c, t), "") for t in TRAFFIC])
    if rulesets:
        with open(os.path.join(bench_dir, "rulesets.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(RULESET_KEYS)
            for label, d in rulesets.items():
                w.writerow([label] + [d.get(k, "") for k in RULESET_KEYS[1:]])


PROGRAM_KEYS = ["compile_s", "clang_s", "load_s", "insns", "verified_insns", "jited_bytes", "object_bytes", "c_bytes"]
RULESET_KEYS = ["ruleset", "source", "rules", "spread_flows", "spread_own_rule", "spread_checked", "no_flows"]


def write_report(out, args, results, loads, programs, nspps, info, skipped, command, rulesets):
    bench_dir = os.path.join(out, "bench")
    write_csvs(bench_dir, results, loads, programs, nspps, skipped, rulesets, command)
    all_results, all_loads, all_programs, all_nspps, all_skipped = results, loads, programs, nspps, skipped
    # The synthetic rulesets' sections, by N; the corpus rulesets' sections come after them.
    results = [r for r in all_results if r["ruleset"] == SYNTHETIC]
    loads = {(n, c): v for (label, n, c), v in all_loads.items() if label == SYNTHETIC}
    programs = {(n, c): v for (label, n, c), v in all_programs.items() if label == SYNTHETIC}
    nspps = {(n, c, t): v for (label, n, c, t), v in all_nspps.items() if label == SYNTHETIC}
    skipped = {(n, c): v for (label, n, c), v in all_skipped.items() if label == SYNTHETIC}

    def median(n, t, c):
        v = [r["mpps"] for r in results if (r["n"], r["traffic"], r["contender"]) == (n, t, c)]
        return (statistics.median(v), min(v), max(v)) if v else None

    ns = sorted({r["n"] for r in results})
    contenders = [c for c in CONTENDERS if any(r["contender"] == c for r in results)]
    traffics = [t for t in TRAFFIC if any(r["traffic"] == t for r in results)]
    plots = []
    if results:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            fig, axes = plt.subplots(1, len(traffics), figsize=(5 * len(traffics), 4), squeeze=False)
            for ax, t in zip(axes[0], traffics):
                for c in contenders:
                    pts = [(n, median(n, t, c)) for n in ns]
                    pts = [(n, m[0]) for n, m in pts if m]
                    if pts:
                        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=c)
                ax.set_xscale("log")
                ax.set_yscale("log")
                ax.set_xlabel("rules")
                ax.set_ylabel("Mpps at the DUT (median)")
                ax.set_title(f"traffic: {t}")
                ax.grid(True, which="both", alpha=0.3)
            axes[0][0].legend(fontsize=8)
            fig.tight_layout()
            fig.savefig(os.path.join(bench_dir, "throughput.png"), dpi=100)
            fig, ax = plt.subplots(figsize=(6, 4))
            for c in sorted({c for _, c in loads}):
                pts = sorted((n, s) for (n, cc), s in loads.items() if cc == c)
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=c)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("rules")
            ax.set_ylabel("seconds to load")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
            fig.tight_layout()
            fig.savefig(os.path.join(bench_dir, "load.png"), dpi=100)
            plots = ["throughput.png", "load.png"]
        except ImportError:
            log("matplotlib missing (scripts/install-deps installs python3-matplotlib): no plots")

    m = machine()
    lines = ["# Benchmarks: bpftables against netfilter", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, kernel {m['kernel']}; load average at the end "
             f"{' '.join(m['load'])}{' (' + args.note + ')' if args.note else ''}.", "",
             "Produced by:", "", "```", command, "```", "",
             "## Method", "",
             "- Two network namespaces per contender (generator, DUT) joined by a veth pair, one pair for each "
             "contender so no netfilter hook or program of one contender is in another's path. All contenders "
             "are set up at once and each repetition goes round all of them (rotating the order), so a change "
             "in the machine's load touches every contender alike. The "
             "DUT has `198.18.0.0/15` as a local route, so every packet is addressed to it and goes through "
             "INPUT; bpftables is loaded with `chain_mode = BPFT_CHAIN_INPUT` (forced INPUT, no FIB lookup), "
             "which is what the kernel decides for these packets too.",
             "- Traffic: `bench_gen` (bench/bench.bpf.c) run with `BPF_PROG_TEST_RUN` in live-frames mode "
             "(`BPF_F_TEST_XDP_LIVE_FRAMES`, `XDP_TX` out of the generator's veth), 64-byte UDP/TCP frames, "
             f"round robin over the flows, {args.seconds} s per repetition, generator pinned to CPU "
             f"{args.gen_cpu}. The DUT veth's NAPI runs as a kthread pinned to CPU {args.dut_cpu} "
             f"(threaded NAPI: {info.get('threaded', 'unknown')}), so the DUT has a core of its own.",
             "- Traffic kinds: **last** — one flow whose first matching rule is the last rule a generated packet "
             "can match; **spread** — one flow per such rule (at most 65536, evenly sampled), round robin; "
             "**miss** — 64 flows with destination port 9 that no rule matches (the policy decides).",
             ] + (["- Rulesets: `bench/gen_ruleset.py N` (seed 1) with every `-j ACCEPT` turned into `-j DROP`: "
                   "every packet is dropped at the DUT, so the figures measure classification and not the socket "
                   "layer behind ACCEPT (which would cost every contender the same)."] if results else []) + \
            (CORPUS_METHOD if any(r["ruleset"] != SYNTHETIC for r in all_results) else []) + [
             "- Counted at the DUT, never at the generator: packets that reached a verdict over the measured "
             "window. iptables-legacy/-nft: the INPUT rule counters plus the policy counter "
             "(`iptables -L INPUT -v -x`); nft: the rules' `counter`s (a trailing `counter` rule counts the "
             "policy, nft has no policy counter); bpftables: its per-rule per-CPU counters `bpft_counters` "
             "(policy included); xdp-drop: its own counter. The window is the generator's run; the veth ring "
             "drops what the DUT cannot take.",
             "- Checked, not assumed: for iptables-legacy, iptables-nft, bpftables-xdp and bpftables-tc the "
             "per-rule counters say which rule decided; under `last` and `miss` at least 99% of the packets must "
             "be decided by the rule the flow was made for (the policy for `miss`), or the run fails.",
             "- Contenders: `iptables-legacy` (`iptables-legacy-restore`), `iptables-nft` "
             "(`iptables-nft-restore`), `nft` (`iptables-restore-translate` output through `nft -f`), `nft-set` "
             "(one concatenated interval set `saddr . daddr . l4proto . sport . dport`, possible because every "
             "rule has the same verdict), `bpftables-xdp`, `bpftables-tc` (TC ingress; an XDP_PASS program on "
             "the veth lets frames in, as for the netfilter contenders), `xdp-drop` (an XDP program that drops "
             "everything: the ceiling of this machine and this generator).",
             f"- {args.reps} repetitions per point; the tables give the median, the plots too; the CSV has every "
             "repetition.", ""]
    if results:
        for t in traffics:
            lines += [f"## Throughput, traffic `{t}` (Mpps, median [min–max])", "",
                      "| rules | " + " | ".join(contenders) + " |", "|---:|" + "---:|" * len(contenders)]
            for n in ns:
                cells = []
                for c in contenders:
                    mm = median(n, t, c)
                    cells.append(f"{mm[0]:.3g} [{mm[1]:.3g}–{mm[2]:.3g}]" if mm else "not run" if (n, c) in skipped else "—")
                lines.append(f"| {n} | " + " | ".join(cells) + " |")
            lines += ["", f"Ratios, traffic `{t}` (median ÷ the median of iptables-legacy / of xdp-drop at the same N):", "",
                      "| rules | " + " | ".join(c for c in contenders if c != "xdp-drop") + " |",
                      "|---:|" + "---:|" * len([c for c in contenders if c != "xdp-drop"])]
            for n in ns:
                base, ceil = median(n, t, "iptables-legacy"), median(n, t, "xdp-drop")
                cells = []
                for c in contenders:
                    if c == "xdp-drop":
                        continue
                    mm = median(n, t, c)
                    if not mm:
                        cells.append("—")
                        continue
                    a = f"{mm[0] / base[0]:.2f}×" if base and base[0] > 0 else "—"
                    b = f"{mm[0] / ceil[0]:.2f}" if ceil and ceil[0] > 0 else "—"
                    cells.append(f"{a} / {b}")
                lines.append(f"| {n} | " + " | ".join(cells) + " |")
            lines.append("")
        lines += ["## Time to load N rules (seconds)", "",
                  "Netfilter: the restore tool or `nft -f` in a fresh namespace (the DUT's, before any traffic). "
                  "bpftables: parse, compile (C generation and clang) and load (verifier) of the XDP program, "
                  "in-process, the same steps as `bpftables compile` + load; the live runtime "
                  "(`bpftables-restore`) was not part of this run.", ""]
        load_cs = [c for c in CONTENDERS if any(cc == c for _, cc in loads)]
        lines += ["| rules | " + " | ".join(load_cs) + " |", "|---:|" + "---:|" * len(load_cs)]
        for n in ns:
            lines.append(f"| {n} | " + " | ".join(f"{loads[(n, c)]:.3f}" if (n, c) in loads else "—"
                                                for c in load_cs) + " |")
        lines += ["", "## bpftables programs per N", "",
                  "Verifier-processed instructions, program size, and ns/packet of the program alone "
                  "(`BPF_PROG_TEST_RUN`, not live, `repeat` " + str(args.nspp_repeat) + ", mean over up to 32 flows "
                  "of the traffic kind; includes the test-run overhead, which `xdp-drop` shows).", "",
                  "| rules | hook | compile s | clang s | load s | xlated insns | verified insns | JIT bytes | "
                  "ns/pkt last | ns/pkt spread | ns/pkt miss |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for (n, c), p in sorted(programs.items()):
            if c == "xdp-drop":
                continue
            lines.append(f"| {n} | {c} | {float(p.get('compile_s', 0)):.2f} | {float(p.get('clang_s', 0)):.2f} | "
                         f"{float(p.get('load_s', 0)):.3f} | {p.get('insns', '')} | {p.get('verified_insns', '')} | "
                         f"{p.get('jited_bytes', '')} | " +
                         " | ".join(f"{nspps[(n, c, t)]:.1f}" if (n, c, t) in nspps else "—" for t in TRAFFIC) + " |")
        for n in ns:
            for t in TRAFFIC:
                if (n, "xdp-drop", t) in nspps:
                    lines.append(f"| {n} | xdp-drop | | | | | | | " + " | ".join(
                        f"{nspps[(n, 'xdp-drop', tt)]:.1f}" if (n, "xdp-drop", tt) in nspps else "—"
                        for tt in TRAFFIC) + " |")
                    break
    lines += corpus_sections(args, all_results, all_loads, all_programs, all_nspps, all_skipped, rulesets)
    if all_skipped:
        lines += ["", "## Not measured", ""]
        for (label, n, c), why in sorted(all_skipped.items()):
            lines.append(f"- N={n}, {c}: {why}" if label == SYNTHETIC else f"- {label} ({n} rules), {c}: {why}")
    if plots:
        lines += ["", "## Plots", "", "![throughput](bench/throughput.png)", "", "![load time](bench/load.png)"]
    lines += ["", "Files: `bench/throughput.csv` (every repetition), `bench/load.csv`, `bench/program.csv`" +
              (", `bench/rulesets.csv` (the corpus rulesets and their flows)." if rulesets else "."), ""]
    with open(os.path.join(out, "benchmarks.md"), "w") as f:
        f.write("\n".join(lines))


CORPUS_METHOD = [
    "- Corpus rulesets (`--corpus bpf-iptables`): the `*.rules` files of `shared/corpus/bpf-iptables-bench/`, "
    "iptables-save text converted from the bpf-iptables paper's scripts (ruleset-size, rule-complexity, "
    "enterprise-public-servers, ddos-mitigator). `bench/rulesets.py` (`convert()`) changes only what this DUT "
    "requires, and the rules' structure (which rules share a source, a destination, a port) is unchanged:",
    "  - addresses: every IPv4 address is moved into 198.18.0.0/15 with compat-tests' remap (`compat_lib/"
    "textrules.py`): a `-s` argument into 198.19.0.0/16, every other address into 198.18.0.0/16, the low 16 bits "
    "and the prefix length kept (`-s 192.168.0.2` → `-s 198.19.0.2`, `-d 192.168.10.2` → `-d 198.18.10.2`). "
    "Only benchmarking addresses are used, also inside the namespaces.",
    "  - chain: the paper's DUT was a router and its rules are in FORWARD; here every packet is addressed to the "
    "DUT, so they go into INPUT, the chain netfilter walks for these packets (the same linear walk of the "
    "filter table; bpftables compiles either chain at the same ingress hook). ddos-mitigator is in INPUT "
    "already.",
    "  - verdicts: every ACCEPT becomes DROP and the INPUT policy DROP, as for the synthetic rulesets: every "
    "packet is dropped at the DUT, so the figures measure classification, not what lies behind ACCEPT "
    "(forwarding in the paper, the socket layer here), which costs every contender the same.",
    "  - conntrack: the `-m conntrack --ctstate` rules (enterprise-public-servers, ddos-mitigator) are kept. "
    "Netfilter answers them from its own conntrack (enabled in the DUT's namespace by the rules that use it), "
    "bpftables from the same kernel table through the conntrack kfuncs (`bpf_xdp_ct_lookup` / "
    "`bpf_skb_ct_lookup`), once per packet. Every generated packet is **NEW**: single UDP datagrams and TCP "
    "SYNs (with a valid TCP checksum, which conntrack checks) that nothing answers and that the DUT drops, so "
    "no entry is ever confirmed. The `ESTABLISHED` rules are evaluated for every packet and match none; no "
    "flow is made for them.",
    "  - flows: each rule is read into one model (`-s`/`-d` with or without a prefix, `-p tcp/udp`, "
    "`--sport`/`--dport` port or range, conntrack state); a field a rule leaves open gets a value that no other "
    "rule constrains, so a flow is decided by the rule it was made for (each table says how many of a sample of "
    "`spread` flows were); a rule without `-p` gets UDP, the paper's traffic.",
    "  - nft-set: the rules of each conntrack state list (none, or NEW) become one concatenated interval set "
    "(`saddr . daddr . l4proto . sport . dport`, an open field spanning its whole range) behind one "
    "`ct state` rule, in the order the lists first appear; a rule on the state alone (`--ctstate ESTABLISHED`) "
    "stays a rule. As every rule drops, the order changes no verdict.",
    "  - a ruleset outside the model (e.g. `-m set` with the ipset `hash:ip,port` of ddos-mitigator's ipset "
    "variant) is not taken; it is listed under Not measured.",
]


def corpus_plot(path, labels, contenders, median):
    """Mpps against rules for the corpus series that grow in size (labels `group/rules_N`), one panel per
    series and traffic kind; False when there is none or no matplotlib."""
    series = {}
    for label in labels:
        m = re.fullmatch(r"([^/]+)/rules_(\d+)", label)
        if m:
            series.setdefault(m.group(1), []).append((int(m.group(2)), label))
    series = {g: v for g, v in series.items() if len(v) > 1}
    traffics = [t for t in TRAFFIC if any(median(label, t, c) for label in labels for c in contenders)]
    if not series or not traffics:
        return False
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(len(series), len(traffics), figsize=(5 * len(traffics), 4 * len(series)),
                             squeeze=False)
    for row, (group, pts) in zip(axes, sorted(series.items())):
        for ax, t in zip(row, traffics):
            for c in contenders:
                xy = [(n, median(label, t, c)) for n, label in sorted(pts)]
                xy = [(n, mm[0]) for n, mm in xy if mm]
                if xy:
                    ax.plot([p[0] for p in xy], [p[1] for p in xy], marker="o", label=c)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("rules (the paper's size)")
            ax.set_ylabel("Mpps at the DUT (median)")
            ax.set_title(f"{group}, traffic: {t}")
            ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def corpus_sections(args, results, loads, programs, nspps, skipped, rulesets):
    """One section per corpus ruleset: Mpps per contender and traffic kind, ratios, load times, programs."""
    labels = [label for label in rulesets if label != SYNTHETIC and any(r["ruleset"] == label for r in results)]
    if not labels:
        return []

    def median(label, t, c):
        v = [r["mpps"] for r in results if (r["ruleset"], r["traffic"], r["contender"]) == (label, t, c)]
        return (statistics.median(v), min(v), max(v)) if v else None

    lines = ["", "## The bpf-iptables paper's rulesets", "",
             "Converted and measured as the Method says (same contenders, traffic kinds, repetitions and counting "
             "as the synthetic rulesets). Mpps: median [min–max]; ratios: median ÷ the median of iptables-legacy "
             "/ of xdp-drop on the same ruleset and traffic.", ""]
    all_cs = [c for c in CONTENDERS if any(r["contender"] == c and r["ruleset"] in labels for r in results)]
    for t in [t for t in TRAFFIC if any(r["traffic"] == t and r["ruleset"] in labels for r in results)]:
        lines += [f"Overview, traffic `{t}`: Mpps (median) and, in brackets, ÷ iptables-legacy.", "",
                  "| ruleset | rules | " + " | ".join(all_cs) + " |", "|---|---:|" + "---:|" * len(all_cs)]
        for label in labels:
            base = median(label, t, "iptables-legacy")
            cells = []
            for c in all_cs:
                mm = median(label, t, c)
                ratio = f" ({mm[0] / base[0]:.2g}×)" if mm and base and base[0] > 0 else ""
                cells.append(f"{mm[0]:.3g}{ratio}" if mm else "—")
            lines.append(f"| {label} | {rulesets[label].get('rules', '')} | " + " | ".join(cells) + " |")
        lines.append("")
    if corpus_plot(os.path.join(args.out, "bench", "corpus.png"), labels, all_cs, median):
        lines += ["![the paper's ruleset-size and enterprise series](bench/corpus.png)", ""]
    for label in labels:
        d = rulesets[label]
        rs = [r for r in results if r["ruleset"] == label]
        n = rs[0]["n"]
        contenders = [c for c in CONTENDERS if any(r["contender"] == c for r in rs)]
        traffics = [t for t in TRAFFIC if any(r["traffic"] == t for r in rs)]
        note = f"Source: `{d.get('source', '?')}`, {n} rules."
        if d.get("spread_checked"):
            note += (f" `spread`: {d.get('spread_flows')} flows; {d.get('spread_own_rule')} of "
                     f"{d.get('spread_checked')} checked are decided by the rule they were made for.")
        if d.get("no_flows"):
            note += f" No flow exists for traffic {d['no_flows']}: not measured."
        lines += [f"### {label} ({n} rules)", "", note, "",
                  "| traffic | " + " | ".join(contenders) + " |", "|---|" + "---:|" * len(contenders)]
        for t in traffics:
            cells = []
            for c in contenders:
                mm = median(label, t, c)
                cells.append(f"{mm[0]:.3g} [{mm[1]:.3g}–{mm[2]:.3g}]" if mm else "—")
            lines.append(f"| {t} | " + " | ".join(cells) + " |")
        ratio_cs = [c for c in contenders if c != "xdp-drop"]
        lines += ["", "| ratios | " + " | ".join(ratio_cs) + " |", "|---|" + "---:|" * len(ratio_cs)]
        for t in traffics:
            base, ceil = median(label, t, "iptables-legacy"), median(label, t, "xdp-drop")
            cells = []
            for c in ratio_cs:
                mm = median(label, t, c)
                a = f"{mm[0] / base[0]:.2f}×" if mm and base and base[0] > 0 else "—"
                b = f"{mm[0] / ceil[0]:.2f}" if mm and ceil and ceil[0] > 0 else "—"
                cells.append(f"{a} / {b}" if mm else "—")
            lines.append(f"| {t} | " + " | ".join(cells) + " |")
        load = [f"{c} {loads[(label, n, c)]:.3f}" for c in CONTENDERS if (label, n, c) in loads]
        lines += ["", "Load (s): " + ", ".join(load) + "." if load else "Load: —."]
        for c in ("bpftables-xdp", "bpftables-tc"):
            p = programs.get((label, n, c))
            if p:
                ns = ", ".join(f"{t} {nspps[(label, n, c, t)]:.1f}" for t in TRAFFIC if (label, n, c, t) in nspps)
                lines.append(f"{c}: compile {float(p.get('compile_s', 0)):.2f} s, verified insns "
                             f"{p.get('verified_insns', '')}, JIT bytes {p.get('jited_bytes', '')}; ns/packet of "
                             f"the program alone (`BPF_PROG_TEST_RUN`, repeat {args.nspp_repeat}): {ns or '—'}.")
        lines.append("")
    return lines


def read_previous(out, measuring):
    """--append: the rows of an earlier report in `out`, minus the points this run measures: `measuring` holds
    (ruleset, rules, contender), with rules None for a corpus ruleset (any size). CSVs written before corpus
    rulesets existed have no `ruleset` column: their rows are synthetic."""
    bench_dir = os.path.join(out, "bench")
    results, loads, programs, nspps, skipped, rulesets, command = [], {}, {}, {}, {}, {}, ""
    label = lambda r: r.get("ruleset") or SYNTHETIC
    keep = lambda r, c: (label(r), int(r["rules"]), c) not in measuring and (label(r), None, c) not in measuring
    with open(os.path.join(bench_dir, "throughput.csv")) as f:
        for r in csv.DictReader(f):
            if keep(r, r["contender"]):
                results.append({"ruleset": label(r), "n": int(r["rules"]), "traffic": r["traffic"],
                                "contender": r["contender"], "rep": int(r["rep"]), "verdicts": int(r["verdicts"]),
                                "arrived": int(r["arrived"]), "seconds": float(r["seconds"]),
                                "mpps": float(r["mpps"])})
    with open(os.path.join(bench_dir, "load.csv")) as f:
        for r in csv.DictReader(f):
            if keep(r, r["contender"]):
                loads[(label(r), int(r["rules"]), r["contender"])] = float(r["seconds"])
    with open(os.path.join(bench_dir, "program.csv")) as f:
        for r in csv.DictReader(f):
            key = (label(r), int(r["rules"]), r["hook"])
            if keep(r, r["hook"]):
                programs[key] = {k: v for k, v in r.items() if k not in ("ruleset", "rules", "hook") and
                                 not k.startswith("ns_per_packet") and v != ""}
                for t in TRAFFIC:
                    if r.get(f"ns_per_packet_{t}"):
                        nspps[key + (t,)] = float(r[f"ns_per_packet_{t}"])
    if os.path.exists(os.path.join(bench_dir, "skipped.csv")):
        with open(os.path.join(bench_dir, "skipped.csv")) as f:
            for r in csv.DictReader(f):
                if keep(r, r["contender"]):
                    skipped[(label(r), int(r["rules"]), r["contender"])] = r["why"]
    if os.path.exists(os.path.join(bench_dir, "rulesets.csv")):
        with open(os.path.join(bench_dir, "rulesets.csv")) as f:
            for r in csv.DictReader(f):
                rulesets[r["ruleset"]] = {k: v for k, v in r.items() if k != "ruleset"}
    if os.path.exists(os.path.join(bench_dir, "commands.txt")):
        command = open(os.path.join(bench_dir, "commands.txt")).read().strip()
    return results, loads, programs, nspps, skipped, rulesets, command


# ---------------------------------------------------------------------------------------------------- main

SMOKE_CORPUS = "^enterprise-public-servers/rules_50$"  # 51 rules, conntrack ones among them


def points(args, tmp, rulesets, skipped):
    """(label, ruleset file, rules, seed text) of each ruleset to measure: the synthetic N first, then the corpus
    rulesets and --ruleset files, converted (rulesets.convert); one that cannot be taken is reported skipped."""
    for n in args.ns_list:
        path = os.path.join(tmp, f"rules-{n}.txt")
        yield SYNTHETIC, path, make_ruleset(n, args.seed, path), f"{args.seed}-{n}"
    sources = [(label, path) for name in args.corpus for label, path in corpus_rulesets(args.corpus_dir, name)
               if re.search(args.corpus_match, label)]
    sources += [(os.path.basename(f), f) for f in args.ruleset]
    for k, (label, src) in enumerate(sources):
        path = os.path.join(tmp, f"ruleset-{k}.txt")
        try:
            rules = load_file_ruleset(src, path)
        except ValueError as e:
            with open(src) as f:
                n = sum(line.startswith("-A ") for line in f)
            skipped[(label, n, "all")] = f"not taken: {e}".replace("|", "/")
            log(f"{label}: not taken: {e}")
            continue
        rulesets[label] = {"source": os.path.relpath(src, os.path.dirname(ROOT)), "rules": len(rules)}
        yield label, path, rules, f"{args.seed}-{label}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs"))
    ap.add_argument("--rules", default=None,
                    help="synthetic rulesets' sizes, comma-separated, or 'none' (default 1,10,100,1000, or none "
                         "when --corpus or --ruleset is given)")
    ap.add_argument("--corpus", action="append", default=[], choices=sorted(CORPUS),
                    help="measure a corpus' rulesets too (bpf-iptables: the bpf-iptables paper's)")
    ap.add_argument("--corpus-dir", default=os.path.join(os.path.dirname(ROOT), "shared", "corpus"))
    ap.add_argument("--corpus-match", default="", help="only the corpus rulesets whose name matches this regex")
    ap.add_argument("--ruleset", action="append", default=[], metavar="FILE",
                    help="measure this iptables-save file too (converted like the corpus); repeatable")
    ap.add_argument("--traffic", default=",".join(TRAFFIC))
    ap.add_argument("--contenders", default=",".join(CONTENDERS))
    ap.add_argument("--bpftables-max-rules", type=int, default=1000,
                    help="skip bpftables above this N (compile time), saying so in the report")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--max-packets", type=int, default=200_000_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--nspp-repeat", type=int, default=100_000)
    ap.add_argument("--gen-cpu", type=int, default=0)
    ap.add_argument("--dut-cpu", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--note", default="", help="a remark on the machine's state, copied into the report")
    ap.add_argument("--append", action="store_true",
                    help="keep the results of the report already in --out for the points this run does not measure")
    ap.add_argument("--report-only", action="store_true", help="rewrite the report in --out from its CSV files")
    ap.add_argument("--smoke", action="store_true",
                    help="N = 1 and 10 and one small corpus ruleset, one second, one repetition; checks")
    args = ap.parse_args()
    if args.smoke:
        args.rules, args.traffic, args.seconds, args.reps, args.nspp_repeat = "1,10", "last,miss", 1.0, 1, 1000
        if os.path.isdir(os.path.join(args.corpus_dir, CORPUS["bpf-iptables"])):
            args.corpus, args.corpus_match = ["bpf-iptables"], SMOKE_CORPUS
        else:
            log(f"run_bench: no corpus in {args.corpus_dir}: the corpus part of the smoke test is skipped")
    if args.rules is None:
        args.rules = "none" if args.corpus or args.ruleset else "1,10,100,1000"
    args.ns_list = [] if args.rules == "none" else [int(x) for x in args.rules.split(",")]
    if os.geteuid() != 0:
        log("run_bench: needs root (network namespaces, XDP): skipped")
        return 77
    if os.cpu_count() < 2:
        args.dut_cpu = args.gen_cpu
    command = "sudo " + shlex.join([sys.executable, os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)] + sys.argv[1:])

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    traffics = args.traffic.split(",")
    contenders = args.contenders.split(",")
    results, loads, programs, nspps, skipped, rulesets, info = [], {}, {}, {}, {}, {}, {}
    if args.report_only:
        results, loads, programs, nspps, skipped, rulesets, command = read_previous(args.out, set())
        info["threaded"] = "yes"
        write_report(args.out, args, results, loads, programs, nspps, info, skipped, command, rulesets)
        return 0
    if args.append:
        labels = [label for name in args.corpus for label, _ in corpus_rulesets(args.corpus_dir, name)
                  if re.search(args.corpus_match, label)] + [os.path.basename(f) for f in args.ruleset]
        results, loads, programs, nspps, skipped, rulesets, previous = read_previous(
            args.out, {(SYNTHETIC, n, c) for n in args.ns_list for c in contenders + ["all"]} |
            {(label, None, c) for label in labels for c in contenders + ["all"]})
        command = previous + "\n" + command if previous else command
        info["threaded"] = "yes"  # as the earlier run found (it is recorded in its report)
    failures = []
    try:
        with tempfile.TemporaryDirectory(prefix="bpftables-bench-") as tmp:
            for k, (label, ruleset, rules, seed) in enumerate(points(args, tmp, rulesets, skipped)):
                n = len(rules)
                name = f"N={n}" if label == SYNTHETIC else f"{label} ({n} rules)"
                nft_file, nft_set_file = os.path.join(tmp, f"rules-{k}.nft"), os.path.join(tmp, f"set-{k}.nft")
                nft_translate(ruleset, nft_file)
                nft_set(rules, nft_set_file)
                flow_files, expect = {}, {}
                for t in traffics:
                    flows = make_flows(rules, t, random.Random(f"{seed}-{t}"))
                    if not flows:
                        log(f"{name}: no flow for traffic {t}: not measured")
                        rulesets.setdefault(label, {})["no_flows"] = \
                            " ".join(filter(None, [rulesets[label].get("no_flows"), t]))
                        continue
                    if label != SYNTHETIC and t == "spread":
                        own, checked = own_rule_share(rules, flows)
                        rulesets[label].update(spread_flows=len(flows), spread_own_rule=own, spread_checked=checked)
                    # the rule (None: the policy) that should decide every packet; for spread, the rules
                    expect[t] = set(spread_rules(rules)) if t == "spread" else first_match(rules, flows[0])
                    flow_files[t] = os.path.join(tmp, f"flows-{k}-{t}.txt")
                    write_flows(flows, flow_files[t])
                with contextlib.ExitStack() as stack:
                    # Every contender set up at once, each in its own pair of namespaces; the repetitions then
                    # go round the contenders, so a change in the machine's load hits all of them alike.
                    duts = {}
                    for c in contenders:
                        if c.startswith("bpftables") and n > args.bpftables_max_rules:
                            skipped[(label, n, c)] = (f"not run: compiling {n} rules takes too long for this run "
                                                      f"(--bpftables-max-rules {args.bpftables_max_rules})")
                            continue
                        log(f"{name} {c}: loading")
                        topo = stack.enter_context(Topology())
                        try:
                            dut = Contender(c, topo, args.build_dir, ruleset, nft_file, nft_set_file)
                        except RuntimeError as e:
                            skipped[(label, n, c)] = \
                                "failed to load: " + str(e).splitlines()[0].replace("|", "/")[:200]
                            failures.append(f"{name} {c}: {e}")
                            log(f"  {e}")
                            continue
                        stack.callback(dut.close)
                        duts[c] = dut
                        if dut.load_s is not None:
                            loads[(label, n, c)] = dut.load_s
                        if c.startswith("bpftables"):
                            programs[(label, n, c)] = dut.info
                        info["threaded"] = "yes" if topo.threaded_napi(args.dut_cpu) else "no"
                    for t in (t for t in traffics if t in flow_files):
                        for c, dut in duts.items():
                            if c.startswith("bpftables") or c == "xdp-drop":
                                v = dut.nspp(args.nspp_repeat, flow_files[t])
                                if v is not None:
                                    nspps[(label, n, c, t)] = v
                        for rep in range(args.reps):
                            order = list(duts.items())
                            order = order[rep % len(order):] + order[:rep % len(order)] if order else order
                            for c, dut in order:
                                v0, a0 = dut.counts()
                                before = getattr(dut, "per_rule", None)
                                sent, secs = send(args.build_dir, dut.topo, flow_files[t], args.seconds,
                                                  args.max_packets, args.gen_cpu)
                                time.sleep(0.05)  # the ring's last packets
                                v1, a1 = dut.counts()
                                r = {"ruleset": label, "n": n, "traffic": t, "contender": c, "rep": rep,
                                     "verdicts": v1 - v0, "arrived": a1 - a0, "seconds": secs, "sent": sent,
                                     "mpps": (v1 - v0) / secs / 1e6}
                                results.append(r)
                                log(f"  {c} {t} rep {rep}: {r['mpps']:.3f} Mpps (verdicts {v1 - v0}, arrived "
                                    f"{a1 - a0}, sent {sent} in {secs:.2f}s)")
                                if v1 - v0 <= 0:
                                    failures.append(f"{name} {c} {t}: no verdicts counted at the DUT")
                                elif before and t == "spread":
                                    share = dut.share_of(before, expect[t])
                                    log(f"    {share:.1%} decided by the rules the flows were made for")
                                elif before and t in expect:
                                    # the rule counters say which rule decided: the one the flow was made for
                                    k_got, share = dut.decided_by(before)
                                    what = lambda k: "the policy" if k is None else f"rule {k + 1}"
                                    log(f"    {share:.0%} decided by {what(k_got)}, expected {what(expect[t])}")
                                    if k_got != expect[t] or share < 0.99:
                                        failures.append(f"{name} {c} {t}: {share:.0%} of the packets decided by "
                                                        f"{what(k_got)}, expected {what(expect[t])}")
                write_report(args.out, args, results, loads, programs, nspps, info, skipped, command,
                             rulesets)  # so far
    except KeyboardInterrupt as e:
        log(f"run_bench: interrupted ({e}); cleaned up")
        return 130
    finally:
        for ns in list(LIVE_NAMESPACES):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    write_report(args.out, args, results, loads, programs, nspps, info, skipped, command, rulesets)
    log(f"run_bench: wrote {os.path.join(args.out, 'benchmarks.md')}")
    for f in failures:
        log(f"FAILED {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
