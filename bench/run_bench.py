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
    sudo /usr/bin/python3 bench/run_bench.py --build-dir build --family 4,6 --rules 1,1000,10000 --out docs
        # IPv6 beside IPv4: the same rulesets mapped into 2001:db8::/32 (bench/rulesets.py), ip6tables-legacy,
        # ip6tables-nft and nft's ip6 table; only the section "IPv6" of the report is rewritten
    /usr/bin/python3 bench/run_bench.py --smoke --build-dir build-bench --out /tmp/smoke     # ctest; exit 77 when not root
"""
import argparse
import contextlib
import ctypes
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GEN_MAC, DUT_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------- rulesets

sys.path.insert(0, HERE)
from rulesets import (CORPUS, classbench_rulesets, corpus_rulesets, first_match, load_file_ruleset,  # noqa: E402,F401
                      make_flows, make_ruleset, nft_set, nft_translate, own_rule_share, parse_rules, spread_rules,
                      write_flows, write_ipv6)

from report import (CLASSBENCH, CLASSBENCH_CONTENDERS, CONTENDERS, SYNTHETIC, SYNTHETIC6, TRAFFIC,  # noqa: E402
                    accepted_section, ipv6_section,
                    read_previous, write_report)
import accepted  # noqa: E402


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
    """Generator and DUT namespaces joined by a veth pair; 198.18.0.0/15 and 2001:db8::/32 are local at the
    DUT."""
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
            run(["ip", "-n", self.dut, "-6", "route", "add", "local", "2001:db8::/32", "dev", "lo", "table",
                 "local"])
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
    """A contender set up in a Topology's DUT: verdicts() counts the packets that reached a verdict there. With
    family 6 the ruleset is ip6tables-save text: iptables-legacy and iptables-nft are ip6tables-legacy and
    ip6tables-nft, nft's tables are ip6 tables, bpftables compiles it as IPv6."""

    def __init__(self, name, topo, build_dir, ruleset, nft_file, nft_set_file, family=4):
        self.name, self.topo, self.family = name, topo, family
        self.iptables = name.replace("iptables", "ip6tables") if family == 6 else name
        self.load_s = None
        self.info = {}
        mode = {"bpftables-xdp": "bpftables-xdp", "bpftables-tc": "bpftables-tc", "xdp-drop": "drop"}.get(name,
                                                                                                         "pass")
        if mode == "pass":
            self.load_netfilter(ruleset, nft_file, nft_set_file)
        cmd = [os.path.join(build_dir, "bench", "bpftables_bench"), "dut", "--ns", topo.dut, "--dev",
               topo.dut_dev, "--mode", mode]
        if mode.startswith("bpftables"):
            cmd += ["--ruleset", ruleset, "--family", str(family)]
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
                run([f"{self.iptables}-restore"], ns=ns, stdin=f)
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
            out = run([self.iptables, "-L", "INPUT", "-v", "-x", "-n"], ns=ns).stdout.splitlines()
            # per rule, then the policy: which rule decided is checked against the flows (decided_by)
            self.per_rule = [int(line.split()[0]) for line in out[2:] if line.strip()] + \
                [int(re.search(r"policy \w+ (\d+) packets", out[0]).group(1))]
            verdicts = sum(self.per_rule)
        elif self.name in ("nft", "nft-set"):
            table = "filter" if self.name == "nft" else "bench"
            out = run(["nft", "list", "chain", "ip" if self.family == 4 else "ip6", table, "INPUT"], ns=ns).stdout
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


def measure_in_tmp(args, make_points, traffics, contenders, data, info, failures, checkpoint):
    """measure() of make_points(tmp) in a temporary directory, every namespace removed however it ends; True when
    interrupted (Ctrl-C)."""
    try:
        with tempfile.TemporaryDirectory(prefix="bpftables-bench-") as tmp:
            measure(args, make_points(tmp), traffics, contenders, data, info, failures, tmp, checkpoint)
    except KeyboardInterrupt as e:
        log(f"run_bench: interrupted ({e}); cleaned up")
        return True
    finally:
        for ns in list(LIVE_NAMESPACES):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    return False


def measure(args, pts, traffics, contenders, data, info, failures, tmp, checkpoint):
    """Measures each point of `pts` (label, ruleset file, rules, seed text, family 4 or 6) with every contender
    and traffic kind, into `data` (results, loads, programs, nspps, skipped, rulesets); checkpoint() after each
    point (the report so far)."""
    results, loads, programs, nspps, skipped, rulesets = data
    for k, (label, ruleset, rules, seed, family) in enumerate(pts):
        n = len(rules)
        name = {SYNTHETIC: f"N={n}", SYNTHETIC6: f"IPv6 N={n}"}.get(label, f"{label} ({n} rules)")
        point_contenders = contenders
        if label.startswith(CLASSBENCH + "/") and not args.contenders_given:
            point_contenders = [c for c in contenders if c in CLASSBENCH_CONTENDERS]
        nft_file, nft_set_file = os.path.join(tmp, f"rules-{k}.nft"), os.path.join(tmp, f"set-{k}.nft")
        if "nft" in point_contenders:
            nft_translate(ruleset, nft_file, family)
        if "nft-set" in point_contenders:
            nft_set(rules, nft_set_file, family)
        flow_files, expect = {}, {}
        for t in traffics:
            flows = make_flows(rules, t, random.Random(f"{seed}-{t}"))
            if not flows:
                log(f"{name}: no flow for traffic {t}: not measured")
                rulesets.setdefault(label, {})["no_flows"] = \
                    " ".join(filter(None, [rulesets[label].get("no_flows"), t]))
                continue
            if label not in (SYNTHETIC, SYNTHETIC6) and t == "spread":
                own, checked = own_rule_share(rules, flows)
                rulesets[label].update(spread_flows=len(flows), spread_own_rule=own, spread_checked=checked)
            # the rule (None: the policy) that should decide every packet; for spread, the rules
            expect[t] = set(spread_rules(rules)) if t == "spread" else first_match(rules, flows[0])
            flow_files[t] = os.path.join(tmp, f"flows-{k}-{t}.txt")
            write_flows(flows, flow_files[t], family)
        with contextlib.ExitStack() as stack:
            # Every contender set up at once, each in its own pair of namespaces; the repetitions then
            # go round the contenders, so a change in the machine's load hits all of them alike.
            duts = {}
            for c in point_contenders:
                if c.startswith("bpftables") and n > args.bpftables_max_rules:
                    skipped[(label, n, c)] = (f"not run: compiling {n} rules takes too long for this run "
                                              f"(--bpftables-max-rules {args.bpftables_max_rules})")
                    continue
                log(f"{name} {c}: loading")
                topo = stack.enter_context(Topology())
                try:
                    dut = Contender(c, topo, args.build_dir, ruleset, nft_file, nft_set_file, family)
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
        checkpoint()


# ---------------------------------------------------------------------------------------------------- main

SMOKE_CORPUS = "^enterprise-public-servers/rules_50$"  # 51 rules, conntrack ones among them


def points(args, tmp, rulesets, skipped):
    """(label, ruleset file, rules, seed text, family) of each ruleset to measure: the synthetic N first, then the
    corpus rulesets and --ruleset files, converted (rulesets.convert); one that cannot be taken is reported
    skipped."""
    for n in args.ns_list:
        path = os.path.join(tmp, f"rules-{n}.txt")
        yield SYNTHETIC, path, make_ruleset(n, args.seed, path), f"{args.seed}-{n}", 4
    sources = [(label, path) for name in args.corpus for label, path in corpus_rulesets(args.corpus_dir, name)
               if re.search(args.corpus_match, label)]
    sources += [(os.path.basename(f), f) for f in args.ruleset]
    if args.classbench:
        os.makedirs(args.classbench_dir, exist_ok=True)
        for label, path, left_out in classbench_rulesets(args.corpus_dir, args.classbench.split(","),
                                                         [int(x) for x in args.classbench_sizes.split(",")],
                                                         args.classbench_dir, log):
            with open(path) as f:
                rules = parse_rules(f.read())
            name = label.split("/")[1]
            rulesets[label] = {"source": f"db_generator -bc {name.split('_')[0]}_seed {name.split('_')[1]} 2 0.5 "
                                         f"-0.1 ({left_out} filters on other protocols left out)",
                               "rules": len(rules)}
            yield label, path, rules, f"{args.seed}-{label}", 4
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
        yield label, path, rules, f"{args.seed}-{label}", 4


def ipv6_points(args, tmp):
    """The points of the IPv6 mode: each synthetic N in each family of --family, IPv4 first, the IPv6 ruleset the
    IPv4 one mapped into 2001:db8::/32 (rulesets.write_ipv6), with the same seed, so the same flows mapped."""
    for n in args.ns_list:
        path = os.path.join(tmp, f"rules-{n}.txt")
        rules = make_ruleset(n, args.seed, path)
        if 4 in args.families:
            yield SYNTHETIC, path, rules, f"{args.seed}-{n}", 4
        if 6 in args.families:
            path6 = os.path.join(tmp, f"rules6-{n}.txt")
            write_ipv6(path, path6)
            yield SYNTHETIC6, path6, rules, f"{args.seed}-{n}", 6


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    # The source tree's docs/; installed (bpftables bench), ./bpftables-bench in the current directory.
    out_default = os.path.join(ROOT, "docs")
    if not os.path.isfile(os.path.join(out_default, "benchmarks.md")):
        out_default = "bpftables-bench"
    ap.add_argument("--out", default=out_default)
    ap.add_argument("--rules", default=None,
                    help="synthetic rulesets' sizes, comma-separated, or 'none' (default 1,10,100,1000, or none "
                         "when --corpus or --ruleset is given)")
    ap.add_argument("--corpus", action="append", default=[], choices=sorted(CORPUS),
                    help="measure a corpus' rulesets too (bpf-iptables: the bpf-iptables paper's)")
    ap.add_argument("--corpus-dir", default=os.path.join(os.path.dirname(ROOT), "shared", "corpus"))
    ap.add_argument("--corpus-match", default="", help="only the corpus rulesets whose name matches this regex")
    ap.add_argument("--ruleset", action="append", default=[], metavar="FILE",
                    help="measure this iptables-save file too (converted like the corpus); repeatable")
    ap.add_argument("--classbench", default="",
                    help="ClassBench sets too, e.g. acl1,fw1,ipc1 (made by the corpus' db_generator at "
                         "--classbench-sizes; measured with the contenders CLASSBENCH_CONTENDERS unless "
                         "--contenders is given)")
    ap.add_argument("--classbench-sizes", default="1000,10000,100000")
    ap.add_argument("--classbench-dir", default=os.path.join(tempfile.gettempdir(), "bpftables-classbench"),
                    help="where db_generator is built and its sets kept (an existing set is reused)")
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
    ap.add_argument("--verdict", choices=["drop", "accept"], default="drop",
                    help="accept: accepted traffic (bench/accepted.py): the synthetic rulesets keep their ACCEPT "
                         "rules, the flow hits the last rule, which accepts; delivered packets counted at the DUT")
    ap.add_argument("--host-firewall", action="store_true",
                    help="the host-firewall scenario (bench/accepted.py): conntrack first, TCP connections and UDP "
                         "flows from sockets; with --verdict accept in the same run")
    ap.add_argument("--hostfw-services", type=int, default=100, help="service rules for other clients")
    ap.add_argument("--hostfw-seconds", type=float, default=2.0, help="seconds of TCP, then of UDP, per repetition")
    # 3 repetitions of 4,000 stay within the client's 28,232 ephemeral ports: with 100,000 (about 18,000 a
    # repetition) later repetitions fell to ~800 connections/s for some contenders (ports reused while the
    # earlier connections were still in TIME_WAIT, not investigated further)
    ap.add_argument("--hostfw-max-conns", type=int, default=4000)
    ap.add_argument("--hostfw-max-datagrams", type=int, default=2_000_000)
    ap.add_argument("--family", default="4",
                    help="4, 6 or 4,6: with 6, the IPv6 mode: the synthetic rulesets mapped into 2001:db8::/32 "
                         "(and the IPv4 ones in the same run with 4,6) against ip6tables-legacy, ip6tables-nft "
                         "and nft ip6 tables; writes only the section \"IPv6\" of the report")
    ap.add_argument("--smoke", action="store_true",
                    help="N = 1 and 10 and one small corpus ruleset, one second, one repetition; checks")
    args = ap.parse_args()
    args.contenders_given = "--contenders" in sys.argv
    if args.smoke:
        args.rules, args.traffic, args.seconds, args.reps, args.nspp_repeat = "1,10", "last,miss", 1.0, 1, 1000
        if os.path.isdir(os.path.join(args.corpus_dir, CORPUS["bpf-iptables"])):
            args.corpus, args.corpus_match = ["bpf-iptables"], SMOKE_CORPUS
        else:
            log(f"run_bench: no corpus in {args.corpus_dir}: the corpus part of the smoke test is skipped")
    if args.rules is None:
        args.rules = "none" if args.corpus or args.ruleset or args.classbench else "1,10,100,1000"
    args.ns_list = [] if args.rules == "none" else [int(x) for x in args.rules.split(",")]
    try:
        args.families = sorted({int(x) for x in args.family.split(",")})
    except ValueError:
        args.families = []
    if not args.families or set(args.families) - {4, 6}:
        ap.error(f"--family {args.family}: 4, 6 or 4,6")
    if 6 in args.families and (args.corpus or args.ruleset or args.verdict == "accept" or args.host_firewall):
        ap.error("--family 6 measures the synthetic rulesets (--rules) with dropped traffic only")
    if os.geteuid() != 0:
        log("run_bench: needs root (network namespaces, XDP): skipped")
        return 77
    if os.cpu_count() < 2:
        args.dut_cpu = args.gen_cpu
    if (args.verdict == "accept" or args.host_firewall or args.smoke) and not os.environ.get("BPFT_BENCH_MNTNS"):
        # bpftables attach pins its state in bpffs: a private mount namespace with its own bpffs keeps it off the
        # host's /sys/fs/bpf (as tests/runtime_live do).
        os.environ["BPFT_BENCH_MNTNS"] = "1"
        os.execvp("unshare", ["unshare", "-m", "--propagation", "slave", sys.executable] + sys.argv)
    if os.environ.get("BPFT_BENCH_MNTNS"):
        subprocess.run(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"], check=True)
    command = "sudo " + shlex.join([sys.executable, os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)] + sys.argv[1:])

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    if args.verdict == "accept" or args.host_firewall:
        return run_accepted(args, command)
    if 6 in args.families:
        return run_ipv6(args, command)
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
                  if re.search(args.corpus_match, label)] + [os.path.basename(f) for f in args.ruleset] + \
            [f"{CLASSBENCH}/{name}_{n}" for name in filter(None, args.classbench.split(","))
             for n in args.classbench_sizes.split(",")]
        results, loads, programs, nspps, skipped, rulesets, previous = read_previous(
            args.out, {(SYNTHETIC, n, c) for n in args.ns_list for c in contenders + ["all"]} |
            {(label, None, c) for label in labels for c in contenders + ["all"]})
        command = previous + "\n" + command if previous else command
        info["threaded"] = "yes"  # as the earlier run found (it is recorded in its report)
    failures = []
    data = (results, loads, programs, nspps, skipped, rulesets)
    if measure_in_tmp(args, lambda tmp: points(args, tmp, rulesets, skipped), traffics, contenders, data, info,
                      failures, lambda: write_report(args.out, args, results, loads, programs, nspps, info, skipped,
                                                     command, rulesets)):  # so far
        return 130
    write_report(args.out, args, results, loads, programs, nspps, info, skipped, command, rulesets)
    log(f"run_bench: wrote {os.path.join(args.out, 'benchmarks.md')}")
    if args.smoke:  # the accepted-traffic mode and the host firewall, briefly, with the two contenders compared
        args.verdict, args.host_firewall, args.seconds, args.hostfw_seconds = "accept", True, 0.3, 0.2
        args.contenders, args.contenders_given = "iptables-legacy,bpftables-xdp", True
        if run_accepted(args, command + " (accepted traffic: --verdict accept --host-firewall)") != 0:
            return 1
        # one tiny IPv6 case: N = 1, traffic last, ip6tables-legacy against bpftables at XDP
        args.families, args.ns_list, args.traffic, args.seconds = [6], [1], "last", 0.3
        if run_ipv6(args, command + " (IPv6: --family 6 --rules 1 --traffic last)") != 0:
            return 1
    for f in failures:
        log(f"FAILED {f}")
    return 1 if failures else 0


def run_ipv6(args, command):
    """--family with 6: the synthetic rulesets in each family, same contenders (their IPv6 versions) and traffic;
    the section "IPv6" of the report (report.ipv6_section), rewritten after each point."""
    data, info, failures = ([], {}, {}, {}, {}, {}), {}, []
    traffics, contenders = args.traffic.split(","), args.contenders.split(",")
    write = lambda: ipv6_section(args, data, command)  # noqa: E731
    if measure_in_tmp(args, lambda tmp: ipv6_points(args, tmp), traffics, contenders, data, info, failures, write):
        return 130
    write()
    log(f"run_bench: wrote the IPv6 section of {os.path.join(args.out, 'benchmarks.md')}")
    for f in failures:
        log(f"FAILED {f}")
    return 1 if failures else 0


def run_accepted(args, command):
    """--verdict accept (at each synthetic N) and --host-firewall: bench/accepted.py; the section "Accepted traffic
    and a host firewall" of the report."""
    acc, hostfw, failures = [], [], []
    try:
        with tempfile.TemporaryDirectory(prefix="bpftables-bench-") as tmp:
            if args.verdict == "accept":
                acc, f = accepted.measure_accepted(args, sys.modules[__name__], tmp)
                failures += f
            if args.host_firewall:
                hostfw, f = accepted.measure_hostfw(args, sys.modules[__name__], tmp)
                failures += f
    except KeyboardInterrupt as e:
        log(f"run_bench: interrupted ({e}); cleaned up")
        return 130
    finally:
        for ns in list(LIVE_NAMESPACES):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    accepted_section(args.out, acc, hostfw, command, args.note, args.hostfw_services)
    log(f"run_bench: wrote the accepted-traffic section of {os.path.join(args.out, 'benchmarks.md')}")
    for f in failures:
        log(f"FAILED {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
