"""The benchmark's report: CSV files, plots and the markdown `benchmarks.md` from the driver's results
(bench/run_bench.py), and reading them back for --append / --report-only. Results are keyed by (ruleset, rules,
...): `synthetic` (gen_ruleset.py, by N) or a corpus ruleset's name, each with sections of its own."""
import csv
import os
import platform
import re
import statistics
import sys

CONTENDERS = ["iptables-legacy", "iptables-nft", "nft", "nft-set", "bpftables-xdp", "bpftables-tc", "xdp-drop"]
TRAFFIC = ["last", "spread", "miss"]
SYNTHETIC = "synthetic"  # the ruleset label of gen_ruleset.py's rulesets; a corpus ruleset's label is its name
SYNTHETIC6 = "synthetic-ipv6"  # the same rulesets mapped into 2001:db8::/32 (the IPv6 mode, ipv6_section)
CLASSBENCH = "classbench"  # ClassBench sets are labelled classbench/SEED_N (run_bench.py --classbench)
# ClassBench addresses span all of IPv4: only the programs (forced to INPUT) see every packet (rulesets.py)
CLASSBENCH_CONTENDERS = ["bpftables-xdp", "bpftables-tc", "xdp-drop"]


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "load": open("/proc/loadavg").read().split()[:3]}


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


PROGRAM_KEYS = ["compile_s", "clang_s", "load_s", "insns", "verified_insns", "jited_bytes", "object_bytes", "c_bytes",
                "classifier_bytes"]
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
                rate_axes(ax, contenders, [(n, n) for n in ns], t, median, "rules", f"traffic: {t}")
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
    lines += classbench_section(args, all_results, all_loads, all_programs, all_nspps, rulesets)
    if all_skipped:
        lines += ["", "## Not measured", ""]
        for (label, n, c), why in sorted(all_skipped.items()):
            lines.append(f"- N={n}, {c}: {why}" if label == SYNTHETIC else f"- {label} ({n} rules), {c}: {why}")
    if plots:
        lines += ["", "## Plots", "", "![throughput](bench/throughput.png)", "", "![load time](bench/load.png)"]
    lines += ["", "Files: `bench/throughput.csv` (every repetition), `bench/load.csv`, `bench/program.csv`" +
              (", `bench/rulesets.csv` (the corpus rulesets and their flows)." if rulesets else "."), ""]
    lines += kept_section(out, IPV6_BEGIN, IPV6_END)
    lines += kept_section(out, ACCEPTED_BEGIN, ACCEPTED_END)
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
    "stays a rule. As every rule drops, the order changes no verdict. The fields that fewer of a set's rules "
    "leave open come first in its concatenation (enterprise: `daddr . l4proto . dport . saddr . sport`): the "
    "kernel's pipapo set narrows field by field, and an open first field made it about 10 times slower.",
    "  - a ruleset outside the model (e.g. `-m set` with the ipset `hash:ip,port` of ddos-mitigator's ipset "
    "variant) is not taken; it is listed under Not measured.",
]


def rate_axes(ax, contenders, points, traffic, median, xlabel, title):
    """One plot of Mpps against rules on log axes, a line per contender; points: (rules, key for median)."""
    for c in contenders:
        xy = [(n, median(key, traffic, c)) for n, key in points]
        xy = [(n, m[0]) for n, m in xy if m]
        if xy:
            ax.plot([p[0] for p in xy], [p[1] for p in xy], marker="o", label=c)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Mpps at the DUT (median)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)


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
            rate_axes(ax, contenders, sorted(pts), t, median, "rules (the paper's size)", f"{group}, traffic: {t}")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def corpus_sections(args, results, loads, programs, nspps, skipped, rulesets):
    """One section per corpus ruleset: Mpps per contender and traffic kind, ratios, load times, programs."""
    labels = [label for label in rulesets if label != SYNTHETIC and not label.startswith(CLASSBENCH + "/") and
              any(r["ruleset"] == label for r in results)]
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


def classbench_section(args, results, loads, programs, nspps, rulesets):
    """ClassBench sets (run_bench.py --classbench): per set and size, Mpps of each program per traffic kind and
    its ratio to the same program with one rule (synthetic N=1 of the same run or report), load time, map
    memory of the classifier per rule, ns/packet of the program alone."""
    labels = sorted((label for label in rulesets if label.startswith(CLASSBENCH + "/") and
                     any(r["ruleset"] == label for r in results)),
                    key=lambda lb: (lb.split("/")[1].split("_")[0], int(lb.rsplit("_", 1)[1])))
    if not labels:
        return []

    def median(label, t, c):
        v = [r["mpps"] for r in results if (r["ruleset"], r["traffic"], r["contender"]) == (label, t, c)]
        return statistics.median(v) if v else None

    lines = ["", "## ClassBench filter sets", "",
             "ClassBench (`shared/corpus/classbench`: the seeds of real ACLs, firewalls and IP chains) sets made by "
             "its `db_generator -bc SEED N 2 0.5 -0.1` and turned into INPUT rules (every one DROP) by "
             "`bench/classbench.py`, less the filters on protocols other than TCP and UDP (the generator sends "
             "those two). Their addresses span all of IPv4, so only the programs are measured (bpftables is "
             "forced to INPUT; the netfilter contenders would see only the packets addressed to the DUT). "
             "`last`: the flow whose first matching rule is the latest found (these sets end with rules that "
             "earlier ones cover); `miss`: none exists when a set ends with catch-all rules. "
             "Mpps: median of the repetitions; `÷1`: that median ÷ the same program's with one rule (synthetic "
             "N=1, same traffic kind); `load`: parse, compile (C and clang) and load of the XDP program; bytes "
             "per rule: map memory of the classifier's nodes, leaf references and rules over the rules.", ""]
    for c in [c for c in ("bpftables-xdp", "bpftables-tc") if any(r["contender"] == c and r["ruleset"] in labels
                                                                   for r in results)]:
        one = {t: median(SYNTHETIC, t, c) for t in TRAFFIC}
        lines += [f"`{c}` (Mpps; ÷1):", "",
                  "| set | rules | last | spread | miss | load s | verified insns | classifier bytes / rule | "
                  "ns/pkt last / spread / miss |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        for label in labels:
            n = rulesets[label].get("rules")
            cells = []
            for t in TRAFFIC:
                m = median(label, t, c)
                ratio = f" ({m / one[t]:.2f})" if m and one[t] else ""
                cells.append(f"{m:.3g}{ratio}" if m else "—")
            rn = next((r["n"] for r in results if r["ruleset"] == label), None)
            p = programs.get((label, rn, c), {})
            load = loads.get((label, rn, c))
            per_rule = (f"{int(p['classifier_bytes']) / int(n):.0f}" if p.get("classifier_bytes") and n else "—")
            ns = " / ".join(f"{nspps[(label, rn, c, t)]:.0f}" if (label, rn, c, t) in nspps else "—"
                            for t in TRAFFIC)
            lines.append(f"| {label.split('/')[1]} | {n} | " + " | ".join(cells) +
                         f" | {f'{load:.2f}' if load is not None else '—'} | {p.get('verified_insns', '—')} | "
                         f"{per_rule} | {ns} |")
        lines.append("")
    ceil = [f"{label.split('/')[1]} " + "/".join(f"{median(label, t, 'xdp-drop'):.3g}" if median(label, t, "xdp-drop")
                                                 else "—" for t in TRAFFIC) for label in labels]
    lines += ["xdp-drop (the ceiling; last/spread/miss Mpps): " + ", ".join(ceil) + ".", ""]
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


# ---------------------------------------------------------------------------------------------------- accepted

ACCEPTED_BEGIN, ACCEPTED_END = "<!-- accepted traffic: begin -->", "<!-- accepted traffic: end -->"
ACCEPTED_KEYS = ["n", "contender", "rep", "delivered", "seconds", "sent", "mpps", "bpf_share", "decided_by"]
HOSTFW_KEYS = ["contender", "rep", "tcp_conns", "tcp_failed", "conns_per_s", "udp_sent", "udp_received",
               "udp_per_s", "bpf_share", "copy_packets"]


def _median(rows, key):
    vals = [float(r[key]) for r in rows if r[key] != ""]
    return statistics.median(vals) if vals else None


def accepted_section(out, acc, hostfw, command, note, services):
    """Writes bench/accepted.csv, bench/hostfw.csv and bench/accepted.png under `out` and puts the section
    "Accepted traffic and a host firewall" into out/benchmarks.md (between its markers, replacing an earlier
    one; at the end when there is none). Returns the section's lines."""
    bench_dir = os.path.join(out, "bench")
    os.makedirs(bench_dir, exist_ok=True)
    for name, rows, keys in (("accepted.csv", acc, ACCEPTED_KEYS), ("hostfw.csv", hostfw, HOSTFW_KEYS)):
        with open(os.path.join(bench_dir, name), "w", newline="") as f:
            w = csv.DictWriter(f, keys)
            w.writeheader()
            w.writerows(rows)
    m = machine()
    ns = sorted({r["n"] for r in acc})
    contenders = [c for c in ["iptables-legacy", "iptables-nft", "nft", "bpftables-xdp"]
                  if any(r["contender"] == c for r in acc + hostfw)]
    lines = [ACCEPTED_BEGIN, "## Accepted traffic and a host firewall", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, kernel {m['kernel']}; load average at the end "
             f"{' '.join(m['load'])}" + (f" ({note})" if note else "") + ". Produced by:", "", "```", command, "```",
             ""]
    if acc:
        med = {(n, c): _median([r for r in acc if r["n"] == n and r["contender"] == c], "mpps")
               for n in ns for c in contenders}
        share = {n: _median([r for r in acc if r["n"] == n and r["contender"] == "bpftables-xdp"], "bpf_share")
                 for n in ns}
        lines += ["Accepted traffic: the synthetic ruleset of N rules with its ACCEPT rules kept, the last rule a UDP "
                  "rule that accepts, one flow that hits it (the `last` flow of the figures above); Mpps "
                  "**delivered to the DUT's stack** (`Ip InDelivers` of the DUT namespace, /proc/net/snmp), median "
                  "of the repetitions; bpftables set up as a user does (`bpftables restore --backend legacy`, "
                  "`bpftables attach DEV --hook xdp`), its kernel copy and decided mark included; the netfilter "
                  "contenders with an XDP_PASS program on the veth as above. ×legacy: the ratio to iptables-legacy "
                  "in the same run; in BPF: the share of the copy's INPUT packets that its decided-mark rule took.",
                  "", "| N | " + " | ".join(contenders) + " | bpftables-xdp ×legacy | decided in BPF |",
                  "|---:|" + "---:|" * (len(contenders) + 2)]
        for n in ns:
            legacy, ours = med.get((n, "iptables-legacy")), med.get((n, "bpftables-xdp"))
            ratio = f"{ours / legacy:.1f}×" if legacy and ours is not None else "—"
            lines.append(f"| {n} | " + " | ".join("—" if med[(n, c)] is None else f"{med[(n, c)]:.4f}"
                                                  for c in contenders) +
                         f" | {ratio} | " + ("—" if share[n] is None else f"{share[n]:.1%}") + " |")
        lines.append("")
        if _accepted_plot(os.path.join(bench_dir, "accepted.png"), ns, contenders, med):
            lines += ["![accepted traffic](bench/accepted.png)", ""]
    if hostfw:
        lines += [f"Host firewall: `-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT` first, `-i lo`, INVALID "
                  f"dropped, {services} service rules for other clients, then TCP port 8080 (NEW) and UDP port "
                  "5353, ICMP; policy DROP (bench/accepted.py). Traffic from sockets in the peer namespace over the "
                  "veth with default offloads (bench/hostfw_traffic.py): TCP connections one after another "
                  "(connect, 64-byte request and answer, close), then UDP datagrams over 8 flows; medians of the "
                  "repetitions. Python on both ends is the limit of the absolute rates; the netfilter contenders "
                  "have no XDP program here. Decided in BPF: the share of the copy's INPUT packets that its "
                  "decided-mark rule took.", "",
                  "| contender | TCP connections/s | ×legacy | UDP datagrams/s received | ×legacy | decided in BPF |",
                  "|---|---:|---:|---:|---:|---:|"]
        base = {k: _median([r for r in hostfw if r["contender"] == "iptables-legacy"], k)
                for k in ("conns_per_s", "udp_per_s")}
        for c in contenders:
            rows = [r for r in hostfw if r["contender"] == c]
            if not rows:
                continue
            v = {k: _median(rows, k) for k in ("conns_per_s", "udp_per_s")}
            sh = _median(rows, "bpf_share")
            lines.append(f"| {c} | {v['conns_per_s']:.0f} | " +
                         (f"{v['conns_per_s'] / base['conns_per_s']:.2f}" if base["conns_per_s"] else "—") +
                         f" | {v['udp_per_s']:.0f} | " +
                         (f"{v['udp_per_s'] / base['udp_per_s']:.2f}" if base["udp_per_s"] else "—") +
                         " | " + ("—" if sh is None else f"{sh:.1%}") + " |")
        lines.append("")
    lines += ["Files: `bench/accepted.csv`, `bench/hostfw.csv` (every repetition).", ACCEPTED_END]
    replace_section(out, ACCEPTED_BEGIN, ACCEPTED_END, "\n".join(lines))
    return lines


def kept_section(out, begin, end):
    """The section of out/benchmarks.md between the markers `begin` and `end` (accepted traffic, IPv6), kept when
    write_report rewrites the file."""
    path = os.path.join(out, "benchmarks.md")
    text = open(path).read() if os.path.exists(path) else ""
    if begin not in text or end not in text:
        return []
    return ["", begin + text.split(begin, 1)[1].split(end, 1)[0] + end, ""]


def replace_section(out, begin, end, section, before=None):
    """Writes `section` (text from `begin` to `end`) into out/benchmarks.md in place of the one between those
    markers, else before the marker `before` when there is one, else at the end."""
    path = os.path.join(out, "benchmarks.md")
    text = open(path).read() if os.path.exists(path) else ""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    elif before and before in text:
        head, rest = text.split(before, 1)
        text = head + section + "\n\n" + before + rest
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    os.makedirs(out, exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


# ---------------------------------------------------------------------------------------------------- IPv6

IPV6_BEGIN, IPV6_END = "<!-- ipv6: begin -->", "<!-- ipv6: end -->"
IPV6_NAMES = {"iptables-legacy": "ip6tables-legacy", "iptables-nft": "ip6tables-nft", "nft": "nft (ip6)",
              "nft-set": "nft-set (ip6)"}


def ipv6_section(args, data, command):
    """The section "IPv6 beside IPv4" of out/benchmarks.md (between its markers; the rest of the file is kept)
    and its CSV files bench/ipv6.csv (every repetition, both families) and bench/ipv6_programs.csv, from the IPv6
    mode's results (run_bench.run_ipv6): per traffic kind the IPv6 rates and their ratio to ip6tables-legacy, then
    each contender's IPv6 rate beside its IPv4 rate in the same run, bpftables' ns/packet in both families."""
    results, loads, programs, nspps, skipped, _ = data
    bench_dir = os.path.join(args.out, "bench")
    os.makedirs(bench_dir, exist_ok=True)
    family = {SYNTHETIC: 4, SYNTHETIC6: 6}
    with open(os.path.join(bench_dir, "ipv6.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["family", "rules", "traffic", "contender", "rep", "verdicts", "arrived", "seconds", "mpps"])
        for r in results:
            w.writerow([family[r["ruleset"]], r["n"], r["traffic"], r["contender"], r["rep"], r["verdicts"],
                        r["arrived"], f"{r['seconds']:.6f}", f"{r['mpps']:.6f}"])
    with open(os.path.join(bench_dir, "ipv6_programs.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["family", "rules", "contender", "load_s"] + PROGRAM_KEYS +
                   ["ns_per_packet_last", "ns_per_packet_spread", "ns_per_packet_miss"])
        for label, n, c in sorted(set(loads) | set(programs)):
            p = programs.get((label, n, c), {})
            w.writerow([family[label], n, c, f"{loads[(label, n, c)]:.6f}" if (label, n, c) in loads else ""] +
                       [p.get(k, "") for k in PROGRAM_KEYS] + [nspps.get((label, n, c, t), "") for t in TRAFFIC])

    def median(label, n, t, c):
        v = [r["mpps"] for r in results if (r["ruleset"], r["n"], r["traffic"], r["contender"]) == (label, n, t, c)]
        return (statistics.median(v), min(v), max(v)) if v else None

    rows6 = [r for r in results if r["ruleset"] == SYNTHETIC6]
    ns = sorted({r["n"] for r in rows6})
    contenders = [c for c in CONTENDERS if any(r["contender"] == c for r in rows6)]
    traffics = [t for t in TRAFFIC if any(r["traffic"] == t for r in rows6)]
    both = any(r["ruleset"] == SYNTHETIC for r in results)
    m = machine()
    lines = [IPV6_BEGIN, "## IPv6 beside IPv4", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, kernel {m['kernel']}; load average at the end "
             f"{' '.join(m['load'])}{' (' + args.note + ')' if args.note else ''}.", "",
             "Produced by (this section only; the tables above come from their own run):", "", "```", command,
             "```", "",
             "- Rulesets: `bench/gen_ruleset.py N` (seed 1, every target DROP), then mapped into 2001:db8::/32 "
             "(`bench/rulesets.py`, `ipv6_text`): an IPv4 address A/L of a rule becomes 2001:db8:A_hi:A_lo::/(32 + "
             "L), so a /32 becomes a /64; a flow's address A becomes 2001:db8:A_hi:A_lo::1. A packet is in an IPv6 "
             "rule exactly when its IPv4 twin is in the IPv4 rule: the same rules decide the same flows.",
             "- Contenders, same names as above in their IPv6 versions: `ip6tables-legacy-restore`, "
             "`ip6tables-nft-restore`, `ip6tables-restore-translate` through `nft -f` (an `ip6` table), the "
             "concatenated set with `ipv6_addr` fields, bpftables compiling the ip6tables-save text (`-6`) at XDP "
             "and TC, and the same drop program. The DUT has 2001:db8::/32 as a local route.",
             "- Traffic: `bench_gen6` (bench/bench.bpf.c), 84-byte frames: the same 30 bytes of TCP SYN or UDP as "
             "the IPv4 64-byte frames behind a 40-byte IPv6 header, with valid TCP and UDP checksums; counted at "
             "the DUT as for IPv4, and checked the same way (which rule decided)." +
             (" The IPv4 figures in this section are from the same run, same flows, contenders set up at the same "
              "time as the IPv6 ones." if both else ""),
             f"- {args.reps} repetition(s) of {args.seconds} s per point; medians [min–max]; `bench/ipv6.csv` has "
             "every repetition of both families, `bench/ipv6_programs.csv` load times, program sizes and "
             "ns/packet.", ""]
    display = lambda c: IPV6_NAMES.get(c, c)  # noqa: E731
    for t in traffics:
        lines += [f"### IPv6, traffic `{t}` (Mpps, median [min–max])", "",
                  "| rules | " + " | ".join(map(display, contenders)) + " |", "|---:|" + "---:|" * len(contenders)]
        for n in ns:
            cells = []
            for c in contenders:
                mm = median(SYNTHETIC6, n, t, c)
                cells.append(f"{mm[0]:.3g} [{mm[1]:.3g}–{mm[2]:.3g}]" if mm else
                             "not run" if (SYNTHETIC6, n, c) in skipped else "—")
            lines.append(f"| {n} | " + " | ".join(cells) + " |")
        rest = [c for c in contenders if c not in ("iptables-legacy", "xdp-drop")]
        if "iptables-legacy" in contenders and rest:
            lines += ["", f"Ratio to ip6tables-legacy, traffic `{t}` (median ÷ median at the same N):", "",
                      "| rules | " + " | ".join(map(display, rest)) + " |", "|---:|" + "---:|" * len(rest)]
            for n in ns:
                base = median(SYNTHETIC6, n, t, "iptables-legacy")
                cells = []
                for c in rest:
                    mm = median(SYNTHETIC6, n, t, c)
                    cells.append(f"{mm[0] / base[0]:.2f}×" if mm and base and base[0] > 0 else "—")
                lines.append(f"| {n} | " + " | ".join(cells) + " |")
        if both:
            lines += ["", f"IPv6 beside IPv4, traffic `{t}` (Mpps medians, IPv4 → IPv6, and IPv6 ÷ IPv4):", "",
                      "| rules | " + " | ".join(contenders) + " |", "|---:|" + "---:|" * len(contenders)]
            for n in ns:
                cells = []
                for c in contenders:
                    a, b = median(SYNTHETIC, n, t, c), median(SYNTHETIC6, n, t, c)
                    cells.append(f"{a[0]:.3g} → {b[0]:.3g} ({b[0] / a[0]:.2f})" if a and b and a[0] > 0 else "—")
                lines.append(f"| {n} | " + " | ".join(cells) + " |")
        lines.append("")
    hooks = [c for c in contenders if c.startswith("bpftables")]
    if hooks:
        lines += ["### bpftables programs and load times, IPv4 and IPv6", "",
                  "ns/packet of the program alone (`BPF_PROG_TEST_RUN`, not live, `repeat` " + str(args.nspp_repeat) +
                  ", mean over up to 32 flows of the traffic kind); load: parse, compile and verify in-process; "
                  "netfilter's load: its restore tool or `nft -f`.", "",
                  "| rules | hook | family | compile s | load s | xlated insns | ns/pkt last | ns/pkt spread | "
                  "ns/pkt miss | IPv6 ÷ IPv4 ns/pkt (last) |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for n in ns:
            for c in hooks:
                for label in (SYNTHETIC, SYNTHETIC6):
                    p = programs.get((label, n, c))
                    if not p:
                        continue
                    v4, v6 = nspps.get((SYNTHETIC, n, c, "last")), nspps.get((SYNTHETIC6, n, c, "last"))
                    ratio = f"{v6 / v4:.2f}" if label == SYNTHETIC6 and v4 and v6 else ""
                    lines.append(f"| {n} | {c} | {family[label]} | {float(p.get('compile_s', 0)):.2f} | "
                                 f"{float(p.get('load_s', 0)):.3f} | {p.get('insns', '')} | " +
                                 " | ".join(f"{nspps[(label, n, c, tt)]:.1f}" if (label, n, c, tt) in nspps else "—"
                                            for tt in TRAFFIC) + f" | {ratio} |")
        nf = [c for c in contenders if not c.startswith("bpftables") and c != "xdp-drop"]
        if nf:
            lines += ["", "| rules | family | " + " | ".join(f"{c} load s" for c in nf) + " |",
                      "|---:|---:|" + "---:|" * len(nf)]
            for n in ns:
                for label in (SYNTHETIC, SYNTHETIC6):
                    if any((label, n, c) in loads for c in nf):
                        lines.append(f"| {n} | {family[label]} | " + " | ".join(
                            f"{loads[(label, n, c)]:.3f}" if (label, n, c) in loads else "—" for c in nf) + " |")
        lines.append("")
    for (label, n, c), why in sorted(skipped.items()):
        lines.append(f"- not measured: IPv{family[label]} N={n}, {c}: {why}")
    lines.append(IPV6_END)
    replace_section(args.out, IPV6_BEGIN, IPV6_END, "\n".join(lines), before=ACCEPTED_BEGIN)


def _accepted_plot(path, ns, contenders, med):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib missing (scripts/install-deps installs python3-matplotlib): no plot")
        return False
    fig, ax = plt.subplots(figsize=(7, 4))
    for c in contenders:
        pts = [(n, med[(n, c)]) for n in ns if med[(n, c)]]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=c)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("rules (N)")
    ax.set_ylabel("Mpps delivered to the stack")
    ax.set_title("Accepted traffic (last rule accepts)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
