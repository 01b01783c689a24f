#!/usr/bin/env python3
"""Differential test of bpftables against the kernel's netfilter (iptables-legacy, and iptables-nft as a second
oracle): seeded random rulesets and packets aimed at the rules' boundaries; verdict and deciding rule must agree.

  compat.py --bpftables build/cli/bpftables [--seed S] [--rulesets 20] [--packets 200] [--minutes N]
            [--families auto|LIST] [--subject run|attached|both] [--forward N] [--results out.json]

Subjects: `run` is `bpftables run` (BPF_PROG_TEST_RUN); `attached` is bpftables attached at XDP to the veth of
a DUT namespace of its own (bpftables-restore, the same frames injected, the deciding rule from
`bpftables-save -c`), in a private mount namespace with its own bpffs.

Exit status: 0 all compared packets agree, 1 a mismatch (or an oracle problem), 2 usage, 77 skipped (not root,
or iptables-legacy missing).
"""
import argparse
import atexit
import collections
import contextlib
import json
import os
import random
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from compat_lib import attached, commands, compare, conntrack, corpus, ipv6mode, netns, nftmode  # noqa: E402
from compat_lib import rulegen, subject, textrules  # noqa: E402
from compat_lib import packets as pk  # noqa: E402

SKIP = 77


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bpftables", required=True, help="path to the bpftables binary")
    ap.add_argument("--seed", type=int, default=None, help="master seed (printed; random if absent)")
    ap.add_argument("--rulesets", type=int, default=20)
    ap.add_argument("--packets", type=int, default=200, help="packets per ruleset")
    ap.add_argument("--minutes", type=float, default=0, help="soak: keep generating rulesets for N minutes")
    ap.add_argument("--families", default="auto",
                    help="comma list of match families, or 'auto' (every family that `bpftables compile` accepts)")
    ap.add_argument("--classes", default=",".join(rulegen.PACKET_CLASSES), help="packet classes to generate")
    ap.add_argument("--oracles", default="legacy,nft")
    ap.add_argument("--nft-rulesets", type=int, default=10,
                    help="use the iptables-nft second oracle on the first N random rulesets only (it reads its "
                         "counters with iptables-nft-save, ~30 ms a packet); -1: all")
    ap.add_argument("--hook", default="xdp")
    ap.add_argument("--subject", choices=("run", "attached", "both"), default="run",
                    help="run: `bpftables run` (BPF_PROG_TEST_RUN); attached: bpftables attached at XDP to a DUT "
                         "veth of its own, answers from its per-rule counters; both")
    ap.add_argument("--codegen", choices=("c", "direct"),
                    help="the `run` subject's back end (bpftables run --codegen; its own default when not given)")
    ap.add_argument("--forward", type=int, default=0,
                    help="the first N random rulesets also run in the forward mode: their rules in FORWARD, the DUT "
                         "routing the packets out of a second veth")
    ap.add_argument("--output", type=int, default=0,
                    help="the first N random rulesets also run in the output mode: their rules in OUTPUT, the "
                         "packets sent by the DUT itself (raw socket) out of its veth; run at tc-egress")
    ap.add_argument("--commands", type=int, default=0,
                    help="with the attached subject, the first N random rulesets are built rule by rule with "
                         "iptables' single-rule commands (bpftables -I/-A/-D/-R/-C/-N/-P), the same commands "
                         "given to iptables-legacy: exit codes and saved tables compared, then the packets")
    ap.add_argument("--shrink", type=int, default=3, help="shrink at most this many mismatches (0: none)")
    ap.add_argument("--print", type=int, default=5, dest="print_max", help="print at most this many mismatches")
    ap.add_argument("--results", help="write the run's results as JSON here (input of compat-tests/report)")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--no-regressions", action="store_true", help="skip the regression cases (regressions.json)")
    ap.add_argument("--no-conntrack", action="store_true", help="skip the conntrack cases (real handshakes)")
    ap.add_argument("--corpus", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                     "shared", "corpus"),
                    help="corpus directory (../shared/corpus); corpus parts skip with a message when absent")
    ap.add_argument("--corpus-sample", default="all",
                    help="'all', 'none', or a comma list of substrings of corpus names (group/file) to run")
    ap.add_argument("--corpus-max-rules", type=int, default=1000)
    ap.add_argument("--corpus-packets", type=int, default=400, help="packets per corpus ruleset")
    ap.add_argument("--iptables-t", type=int, default=-1, dest="iptables_t",
                    help="upstream .t OK cases to run as one-rule rulesets (-1: all, 0: none)")
    ap.add_argument("--t-packets", type=int, default=60, help="packets per .t one-rule ruleset")
    ap.add_argument("--nft-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "nft"),
                    help="the nft mode's rulesets (*.nft), loaded with `nft -f` as the oracle")
    ap.add_argument("--nft-packets", type=int, default=40, help="packets per nft ruleset (0: no nft mode)")
    ap.add_argument("--ipv6-rulesets", type=int, default=0,
                    help="random ip6tables rulesets against ip6tables-legacy, and the corpus' Docker ip6tables "
                         "rulesets (0: no IPv6 mode)")
    ap.add_argument("--ipv6-packets", type=int, default=60,
                    help="packets per random IPv6 ruleset (half as many per Docker one)")
    ap.add_argument("--ipv6-docker", type=int, default=-1, help="Docker ip6tables rulesets in the IPv6 mode (-1: all)")
    ap.add_argument("--classifier-min", type=int, default=None,
                    help="runs of this many classifiable rules or more go to bpftables' classifier (its "
                         "BPFTABLES_CLASSIFIER_MIN; default: bpftables' own, 32; 0: no classifier)")
    return ap.parse_args(argv)


def preflight(args):
    if os.geteuid() != 0:
        return "not root (network namespaces and iptables need CAP_NET_ADMIN)"
    for tool in ("ip", "iptables-legacy-restore", "iptables-legacy-save"):
        if not shutil.which(tool):
            return f"{tool} not installed"
    if not os.access(args.bpftables, os.X_OK):
        return f"{args.bpftables} not built"
    if args.subject != "run":
        for name in ("bpftables-restore", "bpftables-save", "bpftables6-restore", "bpftables6-save"):
            if not os.access(os.path.join(os.path.dirname(args.bpftables), name), os.X_OK):
                return f"{name} not next to {args.bpftables}"
        err = attached.private_bpffs()  # before any namespace or thread exists
        if err:
            return f"the attached subject needs a private bpffs: {err}"
    return None


def install_cleanup():
    atexit.register(netns.cleanup_all)

    def on_signal(signum, _frame):
        netns.cleanup_all()
        sys.exit(128 + signum)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)


def choose_families(args, log):
    if args.families != "auto":
        fams = [f for f in args.families.split(",") if f]
        unknown = [f for f in fams if f not in rulegen.FAMILY_PROBES]
        if unknown:
            raise SystemExit(f"unknown families: {unknown}; known: {sorted(rulegen.FAMILY_PROBES)}")
        return fams, []
    on, off = [], []
    for fam, rule in rulegen.FAMILY_PROBES.items():
        (on if subject.probe(args.bpftables, rule) else off).append(fam)
    log(f"families compiled by bpftables: {','.join(on)}")
    log(f"families not compiled yet (off): {','.join(off) or '-'}")
    return on, off


class Stats:
    def __init__(self):
        self.total = collections.Counter()
        self.family = collections.defaultdict(collections.Counter)  # family -> outcome -> packets
        self.family_rulesets = collections.Counter()
        self.unverifiable = collections.Counter()  # bpftables verdict on packets the kernel never decided alone
        self.deferred_reasons = collections.Counter()
        self.groups = collections.defaultdict(collections.Counter)  # "random", "corpus:docker", "t:tcp" -> outcomes
        self.group_info = collections.defaultdict(lambda: collections.Counter())  # rulesets, rules, not_compiled

    def to_json(self):
        return {"total": dict(self.total), "family": {f: dict(c) for f, c in self.family.items()},
                "family_rulesets": dict(self.family_rulesets), "unverifiable": dict(self.unverifiable),
                "deferred_reasons": dict(self.deferred_reasons),
                "groups": {g: dict(c) for g, c in self.groups.items()},
                "group_info": {g: dict(c) for g, c in self.group_info.items()}}


def main(argv):
    args = parse_args(argv)
    subject.CODEGEN = args.codegen
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    why = preflight(args)
    if why:
        print(f"SKIP: compat suite: {why}")
        return SKIP
    install_cleanup()
    if args.classifier_min is not None:
        os.environ["BPFTABLES_CLASSIFIER_MIN"] = str(args.classifier_min)
        log(f"bpftables' classifier takes runs of {args.classifier_min} rules or more")
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    log(f"compat: seed {seed} (rerun with --seed {seed})")
    families, families_off = choose_families(args, log)
    classes = [c for c in args.classes.split(",") if c]
    flavours = [netns.LEGACY] + ([netns.NFT] if "nft" in args.oracles and shutil.which("iptables-nft-restore")
                                 else [])
    stats = Stats()
    results = {"seed": seed, "families": families, "families_off": families_off, "classes": classes,
               "oracles": [f.name for f in flavours], "hook": args.hook, "mismatches": [], "fail_open": [],
               "oracle_disagreements": [], "compile_failures": [], "load_failures": [], "rulesets": 0,
               "commands": []}
    results.update({"regressions": [], "conntrack": [], "corpus": [], "corpus_skipped": None,
                    "command": "compat.py " + " ".join(argv)})
    start = time.monotonic()
    deadline = start + args.minutes * 60 if args.minutes else None
    results["subjects"] = ctx_subjects = ["run", "attached"] if args.subject == "both" else [args.subject]
    ctx = Ctx(args, stats, results, log)
    ctx.subjects = ctx_subjects
    with netns.Oracle(netns.LEGACY, "legacy") as legacy, \
            (netns.Oracle(netns.NFT, "nft") if len(flavours) > 1 else _Null()) as nft, \
            contextlib.ExitStack() as pairs:
        ctx.legacy, ctx.nft, ctx.pairs = legacy, nft if isinstance(nft, netns.Oracle) else None, pairs
        ctx.oracles["INPUT"] = legacy
        if args.forward:
            ctx.oracle_for("FORWARD")
        if not args.no_regressions:
            run_regressions(ctx, phase="packets")
        k = 0
        while (k < args.rulesets) if deadline is None else (time.monotonic() < deadline):
            rs_seed = f"{seed}-{k}"
            rng = random.Random(rs_seed)
            k += 1
            ruleset = rulegen.RulesetGenerator(rng, families).generate()
            pkts = rulegen.PacketGenerator(rng, classes).generate(ruleset, args.packets)
            results["rulesets"] += 1
            for fam in ruleset.families():
                stats.family_rulesets[fam] += 1
            compare_one(ctx, "random", rs_seed, ruleset, ruleset.filter_text(), pkts, families=True,
                        commands_rng=random.Random(f"{rs_seed}-commands") if k <= args.commands else None)
            if k <= args.forward:
                fwd = ruleset.as_forward()
                compare_one(ctx, "forward", rs_seed, fwd, fwd.filter_text(), pkts, families=True)
            if k <= args.output:
                out = ruleset.as_output()
                compare_one(ctx, "output", rs_seed, out, out.filter_text(), pkts, families=True, shrink=False)
        run_corpus(ctx, seed, classes)
    if not args.no_conntrack:
        run_conntrack(ctx)
        if not args.no_regressions:
            run_regressions(ctx, phase="conntrack")
    if args.nft_packets > 0:
        run_nft_mode(ctx, seed)
    if args.ipv6_rulesets > 0:
        run_ipv6_mode(ctx, seed)
    results["stats"] = stats.to_json()
    results["seconds"] = round(time.monotonic() - start, 1)
    results["packets"] = sum(stats.total[c] for c in ("agree", "mismatch", "deferred", "unverifiable", "confused",
                                                      "fragment_kernel", "known_mismatch", "fail_open"))
    t = stats.total
    compared = t["agree"] + t["mismatch"]
    for g, c in sorted(stats.groups.items()):
        log(f"  {g}: " + ", ".join(f"{n} {o}" for o, n in sorted(c.items())))
    reg = collections.Counter(r["status"] for r in results["regressions"])
    ct_text = "; ".join(f"{g} {dict(c)}" for g, c in sorted(stats.groups.items()) if g.startswith("conntrack")) \
        or "conntrack {}"
    log(f"compat: seed {seed}: {results['rulesets']} random rulesets + {len(results['corpus'])} corpus/.t rulesets, "
        f"{results['packets']} packets; compared {compared}: {t['agree']} agree, {t['mismatch']} mismatch; "
        f"{t['deferred']} handed to the kernel; {t['fragment_kernel']} fragments handed to the kernel as expected; "
        f"{t['known_mismatch']} known mismatches (xfail families); "
        f"{t['fail_open']} fail-open (attached: dropped or rejected by the kernel, taken in or sent by the host); "
        f"{t['confused']} oracle confused; "
        f"{t['oracle_disagreement']} legacy/nft disagreements; "
        f"{len(results['compile_failures'])} random rulesets not compiled; {len(results['load_failures'])} not "
        f"loaded; {ct_text}; regressions {dict(reg)}; "
        f"{results['seconds']} s")
    if t["counted_rulesets"]:
        log(f"compat: attached subject's counters (bpftables-save -c) against the kernel's, rule by rule: "
            f"{t['counted_rulesets']} rulesets, {t['counted_rules']} rules and policies, {t['counted_packets']} "
            f"packets counted by the kernel; {len(results.get('counter_differences', []))} rulesets unlike")
    if results["commands"]:
        log(f"compat: {len(results['commands'])} rulesets built by single-rule commands "
            f"({sum(r['commands'] for r in results['commands'])} commands), "
            f"{sum(1 for r in results['commands'] if r['difference'])} unlike iptables-legacy")
    if len(ctx.subjects) > 1:
        for sname in ctx.subjects:
            log(f"compat: subject {sname}: " + ", ".join(
                f"{t[k]} {k.split(':', 1)[1]}" for k in sorted(t) if k.startswith(sname + ":")))
    if args.results:
        with open(args.results, "w") as f:
            json.dump(results, f, indent=1)
    # The legacy oracle is the reference; nft load failures and legacy/nft disagreements are reported only.
    # Known mismatches (regression cases marked xfail) do not fail the run; new ones do.
    # A conntrack packet fails the run when it is a mismatch not marked xfail (for its subject) in regressions.json,
    # or when a ruleset did not compile, a flow could not be set up on the attached side, or a side's tools failed.
    known = {(r["case"], s) for r in load_regressions() if r.get("kind") == "conntrack" and r.get("xfail")
             for s in r.get("subjects", ("run", "attached"))}
    new_ct = [r for r in results["conntrack"] if r["outcome"] in ("mismatch", "compile_failure", "flow_failed", "error")
              and (r["case"], r.get("subject", "run")) not in known]
    # nft mode: the kernel's copy that the attached subject hands packets to is the oracle's own ruleset, so a
    # fail-open there fails the run too.
    nft_bad = any(r["error"] or r["outcomes"].get("mismatch") or r["outcomes"].get("confused") or
                  r["outcomes"].get("fail_open") or r.get("counter_differences") for r in results.get("nft", []))
    ipv6_bad = any(r["error"] or r["outcomes"].get("mismatch") or r["outcomes"].get("confused") or
                   r["outcomes"].get("fail_open") or r.get("counter_differences")
                   for r in results.get("ipv6", []))
    commands_bad = any(r["difference"] for r in results["commands"]) or results.get("counter_differences")
    bad = t["mismatch"] or t["confused"] or results["compile_failures"] or new_ct or reg["FAIL"] or nft_bad or \
        ipv6_bad or commands_bad or \
        any(f["oracle"] == "legacy" and f.get("group", "random") in ("random", "forward", "output")
            for f in results["load_failures"])
    return 1 if bad else 0


class Ctx:
    def __init__(self, args, stats, results, log):
        self.args, self.stats, self.results, self.log = args, stats, results, log
        self.printed = self.shrunk = 0
        self.legacy = self.nft = None
        self.subjects = ["run"]
        self.oracles = {}  # base chain -> netns.Oracle (iptables-legacy): INPUT; FORWARD once needed
        self.attached = {}  # base chain -> attached.Attached, with the attached subject
        self.pairs = None  # contextlib.ExitStack closing the pairs made on demand
        self.nft_case_oracle = None  # iptables-nft, for regression cases of the attached subject's nft backend

    def oracle_for(self, base):
        """The oracle's namespace pair for packets taking base (INPUT, FORWARD), and the attached subject's,
        made on first use."""
        if base not in self.oracles:
            self.oracles[base] = self.pairs.enter_context(
                netns.Oracle(netns.LEGACY, base[:3].lower(), forward=base == "FORWARD", output=base == "OUTPUT"))
        # OUTPUT: no program runs there (the kernel's copy of the ruleset decides it alone; bpftables attach makes
        # no tc-egress link), so the attached subject has nothing to answer; `run` still compares the program
        if "attached" in self.subjects and base not in self.attached and base != "OUTPUT":
            self.attached[base] = self.pairs.enter_context(attached.Attached(
                self.args.bpftables, "att" + base[:3].lower(), self.args.hook, forward=base == "FORWARD",
                output=base == "OUTPUT"))
        return self.oracles[base]


def compare_one(ctx, group, rs_seed, ruleset, text, pkts, families=False, ipsets=None, shrink=True,
                commands_rng=None):
    """One ruleset and its packets through the kernel and each subject (`run`, `attached`); counts outcomes under
    group (group@attached for the attached subject). ruleset.base says which built-in chain the packets take.
    Returns the outcome counter of the first subject, or None when a side could not take the ruleset."""
    args, stats, results, log, nft = ctx.args, ctx.stats, ctx.results, ctx.log, ctx.nft
    base = getattr(ruleset, "base", "INPUT")
    legacy = ctx.oracle_for(base)
    units = [compare.unit_of(p) for p in pkts]
    if base == "OUTPUT":
        units = [[compare.as_output(f) for f in u] for u in units]
    stats.group_info[group]["rulesets"] += 1
    stats.group_info[group]["rules"] += sum(len(r) for r in ruleset.rules.values())
    answers = {}
    for sname in ctx.subjects:
        if sname == "attached" and base == "OUTPUT":  # the kernel's copy alone (Ctx.oracle_for)
            continue
        try:
            if sname == "run":
                answers[sname] = compare.subject_units(args.bpftables, text, units, args.hook, ipsets=ipsets,
                                                       chain=base)
            else:
                att = ctx.attached[base]
                if commands_rng is not None:  # built by single-rule commands, beside iptables-legacy's
                    n, diff = commands.build(att, legacy, text, commands_rng)
                    results["commands"].append({"seed": rs_seed, "commands": n, "difference": diff})
                    log(f"{group} ruleset {rs_seed}: built by {n} single-rule commands: " +
                        ("exit codes and saved tables as iptables-legacy's" if diff is None else diff))
                    if diff is not None:
                        return None
                else:
                    err = att.load(text, ipsets=ipsets)
                    if err:
                        raise subject.CompileError(f"bpftables-restore: {err}")
                att_before = netns.Counters(att.saved())  # counted once: the programs' and the copy's
                answers[sname] = att.verdicts(ruleset, units)
                att_counts = netns.counter_delta(att_before, netns.Counters(att.saved()))
        except subject.CompileError as e:
            if group in ("random", "forward", "output"):
                results["compile_failures"].append({"seed": rs_seed, "ruleset": text, "error": str(e),
                                                    "subject": sname})
            else:
                stats.group_info[group]["not_compiled"] += 1
                results.setdefault("not_compiled", []).append({"group": group, "name": rs_seed,
                                                               "error": str(e)[:2000], "subject": sname})
            log(f"{group} ruleset {rs_seed}: bpftables ({sname}) failed: " +
                (str(e)[:1000] if group in ("random", "forward", "output") else str(e).splitlines()[0][:200]))
            return None
    if not answers:
        return None
    if ipsets:
        legacy.ipsets(ipsets)
    err = legacy.load(text)
    if err:
        stats.group_info[group]["not_loaded"] += 1
        results["load_failures"].append({"seed": rs_seed, "ruleset": text[:4000], "error": err, "oracle": "legacy",
                                         "group": group})
        log(f"ruleset {rs_seed}: iptables-legacy-restore rejected it: {err}")
        return None
    model = ruleset
    kernel_before = legacy.counters()
    kernel = legacy.verdicts(model, units)
    if "attached" in answers:  # every rule's and policy's count, not only the deciding rule's
        compare_counts(ctx, group, rs_seed, text, netns.counter_delta(kernel_before, legacy.counters()),
                       att_counts)
    second = None
    if nft is not None and group == "random" and args.nft_rulesets != 0:
        args.nft_rulesets -= 1
        err = nft.load(text)
        if err:
            results["load_failures"].append({"seed": rs_seed, "ruleset": text, "error": err, "oracle": "nft"})
            log(f"ruleset {rs_seed}: iptables-nft-restore rejected it: {err}")
        else:
            second = nft.verdicts(model, units)
    first = None
    for sname, subj in answers.items():
        counts = tally(ctx, group if sname == "run" else f"{group}@{sname}", sname, rs_seed, model, text, pkts,
                       units, kernel, subj, families, ipsets, shrink)
        first = counts if first is None else first
    if second is not None:
        for i, (p, o) in enumerate(zip(pkts, kernel)):
            if o["verdict"] not in ("UNREACHED", "CONFUSED") and not compare.oracles_agree(o, second[i]):
                stats.total["oracle_disagreement"] += 1
                if len(results["oracle_disagreements"]) < 20:
                    results["oracle_disagreements"].append({
                        "seed": rs_seed, "packet_index": i + 1, "ruleset": text, "packet": pk.describe(p),
                        "legacy": o, "nft": second[i]})
    return first


def compare_counts(ctx, group, rs_seed, text, kernel, attached_counts):
    """The attached subject's counts (bpftables-save -c: counted once) against the oracle's, rule by rule, for the
    same packets; a difference is recorded and fails the run."""
    diff = {f"{c}:{r}": {"kernel": kernel.get((c, r), 0), "bpftables": attached_counts.get((c, r), 0)}
            for (c, r) in sorted(set(kernel) | set(attached_counts))
            if kernel.get((c, r), 0) != attached_counts.get((c, r), 0)}
    ctx.stats.total["counted_rulesets"] += 1
    ctx.stats.total["counted_rules"] += len(set(kernel) | set(attached_counts))
    ctx.stats.total["counted_packets"] += sum(kernel.values())
    if diff:
        ctx.results.setdefault("counter_differences", []).append({"seed": rs_seed, "group": group,
                                                                  "ruleset": text[:20000], "rules": diff})
        ctx.log(f"{group}@attached ruleset {rs_seed}: counters unlike the kernel's: " +
                ", ".join(f"{k} kernel {v['kernel']} bpftables {v['bpftables']}" for k, v in list(diff.items())[:6]))


def tally(ctx, group, sname, rs_seed, model, text, pkts, units, kernel, subj, families, ipsets, shrink):
    """Classifies and counts one subject's answers against the kernel's; prints, shrinks and records mismatches."""
    args, stats, results, log = ctx.args, ctx.stats, ctx.results, ctx.log
    legacy = ctx.oracles.get(model.base, ctx.legacy)
    counts = collections.Counter()
    known_fams = {c["covers_family"]: c["name"] for c in load_regressions() if c.get("covers_family")}
    for i, (p, u, o, s) in enumerate(zip(pkts, units, kernel, subj)):
        outcome = compare.classify_subject(sname, o, s, u)
        if outcome == "mismatch" and (compare.decider_families(model, o) | compare.decider_families(model, s)) & \
                set(known_fams):
            outcome = "known_mismatch"  # the family's regression case (xfail) documents it; reported, not failed
        counts[outcome] += 1
        stats.total[outcome] += 1
        if len(ctx.subjects) > 1:
            stats.total[f"{sname}:{outcome}"] += 1
        stats.groups[group][outcome] += 1
        fams = compare.decider_families(model, o) | (compare.decider_families(model, s)
                                                     if outcome == "mismatch" else set())
        if families and sname == ctx.subjects[0]:
            for fam in fams:
                stats.family[fam][outcome] += 1
        if outcome == "unverifiable":
            stats.unverifiable[f"{s['verdict']} {s.get('reason', '')}".strip()] += 1
        if outcome == "deferred":
            stats.deferred_reasons[s.get("reason") or "rule"] += 1
            if not group.startswith(("random", "forward", "output")):
                stats.group_info[group + " deferred by"][_rule_text(model, s)] += 1
        if outcome == "fail_open":  # reported, not failed: kept with the packet, so it can be looked at
            results["fail_open"].append({"seed": rs_seed, "group": group, "chain": model.base,
                                         "packet_index": i + 1, "ruleset": text[:20000], "packet": pk.describe(p),
                                         "packet_model": p.to_json(), "kernel_text": compare.describe_answer(model, o),
                                         "bpftables_text": compare.describe_answer(model, s)})
            if ctx.printed < args.print_max:
                ctx.printed += 1
                print(compare.format_case(f"FAIL-OPEN {group} ({sname}) ruleset {rs_seed} packet {i + 1}", model, p,
                                          o, s), flush=True)
        if outcome != "mismatch":
            continue
        case = {"seed": rs_seed, "group": group, "subject": sname, "chain": model.base, "packet_index": i + 1,
                "ruleset": text if len(text) < 20000 else text[:20000] + "...", "packet": pk.describe(p),
                "packet_model": p.to_json(), "hex": frame_of_hex(p), "kernel": o, "bpftables": s,
                "kernel_text": compare.describe_answer(model, o), "bpftables_text": compare.describe_answer(model, s),
                "families": sorted(fams)}
        if ctx.printed < args.print_max:
            ctx.printed += 1
            print(compare.format_case(f"MISMATCH {group} ({sname}) ruleset {rs_seed} packet {i + 1}", model, p, o,
                                      s), flush=True)
        if shrink and ctx.shrunk < args.shrink and not ipsets and sname == "run":
            ctx.shrunk += 1
            sh = compare.Shrinker(legacy, args.bpftables, args.hook)
            mrs, mp, (mo, ms), done = sh.shrink(model, p, (o, s))
            case["minimal"] = {"ruleset": mrs.filter_text(), "packet": pk.describe(mp),
                               "packet_model": mp.to_json(), "hex": frame_of_hex(mp),
                               "kernel_text": compare.describe_answer(mrs, mo),
                               "bpftables_text": compare.describe_answer(mrs, ms), "complete": done,
                               "checks": sh.checks}
            print(compare.format_case(f"MINIMAL ({sh.checks} checks{'' if done else ', bounded'}) of "
                                      f"ruleset {rs_seed} packet {i + 1}", mrs, mp, mo, ms), flush=True)
            legacy.load(text)  # the shrinker left another ruleset loaded
        results["mismatches"].append(case)
    log(f"{group} ruleset {rs_seed}: {len(pkts)} packets: " + ", ".join(f"{n} {c}" for c, n in sorted(counts.items())))
    return counts


def run_conntrack(ctx):
    """The conntrack cases (compat_lib/conntrack.py): the oracle's pair with a route back, and with the attached
    subject a pair of the same shape whose DUT carries bpftables at XDP, the flows set up in both. Counts each
    subject's packets under "conntrack" (run) and "conntrack@attached"."""
    args, stats, results = ctx.args, ctx.stats, ctx.results
    with netns.Oracle(netns.LEGACY, "ct", route_back=True) as ct, \
            (attached.Attached(args.bpftables, "attct", args.hook, route_back=True) if "attached" in ctx.subjects
             else _Null()) as att:
        recs = conntrack.run_all(ct, args.bpftables, args.hook, textrules.parse_filter, ctx.log,
                                 attached=att if isinstance(att, attached.Attached) else None,
                                 subjects=ctx.subjects)
    per = collections.defaultdict(collections.Counter)
    host = collections.Counter()  # attached: did the DUT take the packet in exactly when the kernel accepted it?
    for r in recs:
        sname = r.get("subject", "run")
        per[sname][r["outcome"]] += 1
        if "host" in r and r["kernel"]["verdict"] in ("ACCEPT", "DROP", "REJECT"):
            host["as the kernel" if (r["host"] == "taken in") == (r["kernel"]["verdict"] == "ACCEPT")
                 else "not as the kernel"] += 1
        stats.groups["conntrack" if sname == "run" else f"conntrack@{sname}"][r["outcome"]] += 1
        if r["outcome"] == "mismatch":
            stats.total["ct_mismatch"] += 1
        if r["outcome"] == "fail_open":  # reported, not failed, as elsewhere outside the nft mode
            results["fail_open"].append({"seed": "conntrack", "group": f"conntrack@{sname}", "chain": "INPUT",
                                         "ruleset": conntrack.RULESETS[r["ruleset"]], "case": r["case"],
                                         "packet": r["packet"], "kernel_text": r["kernel_text"],
                                         "bpftables_text": r["bpftables_text"]})
        if r["outcome"] in ("mismatch", "fail_open") and ctx.printed < args.print_max:
            ctx.printed += 1
            print(f"=== {r['outcome'].upper().replace('_', '-')} conntrack {r['ruleset']} ({sname}): {r['case']}\n"
                  f"packet:  {r['packet']}\nkernel (iptables-legacy): {r['kernel_text']}\n"
                  f"bpftables:                {r['bpftables_text']}" +
                  (f"\nhost with bpftables attached: {r['host']}" if "host" in r else ""), flush=True)
    for sname, c in per.items():
        ctx.log(f"compat: conntrack ({sname}): {sum(c.values())} packets; {c['agree']} agree, {c['deferred']} "
                f"handed to the kernel, {c['mismatch']} mismatch, {c['fail_open']} fail-open" +
                "".join(f", {c[o]} {o}" for o in sorted(c) if o not in ("agree", "deferred", "mismatch",
                                                                         "fail_open")) +
                (f"; the attached DUT took in exactly what the kernel accepted for {host['as the kernel']} of "
                 f"{sum(host.values())}" if sname == "attached" else ""))
    results["conntrack"] = recs


def run_nft_mode(ctx, seed):
    """The nft rulesets (--nft-dir) against `nft -f` in a namespace pair of their own (compat_lib/nftmode.py)."""
    if not shutil.which("nft"):
        ctx.results["nft_skipped"] = "nft not installed"
        ctx.log("SKIP nft mode: nft not installed")
        return
    with netns.Oracle(netns.LEGACY, "nftm") as oracle, \
            (attached.Attached(ctx.args.bpftables, "attnft", ctx.args.hook) if "attached" in ctx.subjects
             else _Null()) as att:
        recs = nftmode.run_all(oracle, ctx.args.bpftables, ctx.args.hook, ctx.args.nft_dir, seed,
                               ctx.args.nft_packets, ctx.log, attached=att, subjects=ctx.subjects)
    for r in recs:
        group = "nft" if r["subject"] == "run" else f"nft@{r['subject']}"
        for outcome, n in r["outcomes"].items():
            ctx.stats.groups[group][outcome] += n
        if r["error"]:
            ctx.stats.groups[group]["ruleset_error"] += 1
        if r["not_compiled"]:
            ctx.stats.group_info[group]["not_compiled"] += 1
    for sname in ctx.subjects:
        c = collections.Counter()
        for r in recs:
            if r["subject"] == sname:
                c.update(r["outcomes"])
        ctx.log(f"compat: nft mode ({sname}): {sum(c.values())} packets; compared {c['agree'] + c['mismatch']}: "
                f"{c['agree']} agree, {c['mismatch']} mismatch; {c['deferred']} handed to the kernel; "
                f"{c['fail_open']} fail-open; {c['confused']} confused; {c['unverifiable']} unverifiable; "
                f"rulesets: {sum(r['subject'] == sname for r in recs)}, "
                f"{sum(bool(r['not_compiled']) for r in recs if r['subject'] == sname)} not compiled (as marked)")
    counted = [r for r in recs if "counted_rules" in r]
    if counted:
        ctx.log(f"compat: nft mode (attached): counters rule by rule (bpftables-save -c against the kernel's): "
                f"{len(counted)} rulesets, {sum(r['counted_rules'] for r in counted)} rules, "
                f"{sum(bool(r['counter_differences']) for r in counted)} rulesets unlike")
    ctx.results["nft"] = recs


def run_ipv6_mode(ctx, seed):
    """ip6tables rulesets against ip6tables-legacy in a namespace pair of their own (compat_lib/ipv6mode.py)."""
    if not shutil.which("ip6tables-legacy-restore"):
        ctx.results["ipv6_skipped"] = "ip6tables-legacy-restore not installed"
        ctx.log("SKIP IPv6 mode: ip6tables-legacy-restore not installed")
        return
    recs = ipv6mode.run_all(ctx.args.bpftables, ctx.args.hook, seed, ctx.args.ipv6_rulesets, ctx.args.ipv6_packets,
                            ctx.args.corpus, ctx.log, ctx.args.print_max, ctx.args.ipv6_docker, ctx.subjects)
    for sname in ctx.subjects:
        group = "ipv6" if sname == "run" else f"ipv6@{sname}"
        mine = [r for r in recs if r["subject"] == sname]
        c = collections.Counter()
        for r in mine:
            c.update(r["outcomes"])
            for outcome, n in r["outcomes"].items():
                ctx.stats.groups[group][outcome] += n
            if r["error"]:
                ctx.stats.groups[group]["ruleset_error"] += 1
                ctx.log(f"IPv6 ({sname}) {r['ruleset']}: {r['error']}" + (f"\n{r['text']}" if "text" in r else ""))
            for m in r["mismatches"]:
                ctx.log(f"IPv6 ({sname}) MISMATCH {r['ruleset']}: kernel {m['kernel']}, bpftables {m['bpftables']}, "
                        f"frame {m['frame']}" + (f"\n{r['text']}" if "text" in r else ""))
            if r.get("counter_differences"):
                ctx.log(f"IPv6 ({sname}) {r['ruleset']}: counters unlike the kernel's: " + ", ".join(
                    f"{k} kernel {v['kernel']} bpftables {v['bpftables']}" for k, v in r["counter_differences"].items()))
        docker = sum(r["ruleset"].startswith("docker ") for r in mine)
        counted = [r["counted"] for r in mine if "counted" in r]
        ctx.log(f"compat: IPv6 mode ({sname}): {len(mine) - docker} random rulesets + {docker} Docker ip6tables "
                f"rulesets, {sum(c.values())} packets; compared {c['agree'] + c['mismatch']}: {c['agree']} agree, "
                f"{c['mismatch']} mismatch; {c['deferred']} handed to the kernel; {c['fragment_kernel']} fragments "
                f"handed to the kernel as expected; {c['fail_open']} fail-open; {c['unverifiable']} unverifiable; "
                f"{c['confused']} confused; {sum(bool(r['error']) for r in mine)} ruleset errors" +
                (f"; counters rule by rule: {len(counted)} rulesets, {sum(x['rules'] for x in counted)} rules and "
                 f"policies, {sum(x['packets'] for x in counted)} packets counted by the kernel, "
                 f"{sum(bool(r['counter_differences']) for r in mine)} rulesets unlike" if counted else ""))
    ctx.results["ipv6"] = recs


def _rule_text(model, s):
    rules = model.rules.get(s.get("chain"), [])
    r = s.get("rule", 0)
    if 0 < r <= len(rules):
        return rules[r - 1].text(s["chain"])[:160]
    return s.get("reason") or "policy"


def load_regressions():
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "regressions.json")) as f:
        return json.load(f)


def run_regressions(ctx, phase):
    """The fixed list of minimal cases (regressions.json), replayed every run, through every subject. expect
    "kernel": bpftables must hand the packet to the kernel; "agree": verdict and rule must equal the kernel's (a
    packet the kernel never takes to the chain must be handed to it). A case with "model" (the generator's
    Ruleset, e.g. its rules in FORWARD or OUTPUT) instead of "ruleset" runs in that model's base chain (and mode);
    "ipsets" (an `ipset save` text) go to the oracle's namespace, to `bpftables run --ipsets` and to the attached
    DUT; expect "decided": every packet must agree, none handed over.
    For the attached subject, "agree" also excludes fail_open. A "conntrack" case names a packet of the conntrack
    cases (ruleset and case): it must agree or be handed over; with expect "kernel" it must be handed over, with
    expect "decided" bpftables must decide it itself, as the kernel does. xfail: a known mismatch, kept visible
    (XFAIL) without failing the run; XPASS is printed so the mark gets removed."""
    for case in load_regressions():
        kind = case.get("kind", "packets")
        if kind != phase or not set(case.get("subjects", ctx.subjects)) & set(ctx.subjects):
            continue  # "subjects": the case concerns only these (e.g. the attached runtime)
        if kind == "conntrack":  # judged for every subject the conntrack cases ran through
            want = {"kernel": ("deferred",), "decided": ("agree",)}.get(case.get("expect"), ("agree", "deferred"))
            ok, details = True, []
            for sname in [s for s in ctx.subjects if s in case.get("subjects", ctx.subjects)]:
                recs = [r for r in ctx.results["conntrack"] if r["ruleset"] == case["ruleset"] and
                        r["case"] == case["case"] and r.get("subject", "run") == sname]
                ok = ok and bool(recs) and all(r["outcome"] in want for r in recs)
                details.append(("" if len(ctx.subjects) == 1 else f"[{sname}] ") + ("; ".join(
                    f"kernel {r.get('kernel_text')}, bpftables {r.get('bpftables_text')}" +
                    (f", host: {r['host']}" if "host" in r else "") + f" ({r['outcome']})" for r in recs)
                    or "case not run"))
            detail = " ".join(details)
        else:
            if "model" in case:  # the generator's model (a FORWARD case: its rules in FORWARD)
                model = rulegen.Ruleset.from_json(case["model"])
                text = model.filter_text()
            else:
                text = case["ruleset"]
                model = textrules.parse_filter(text)
            pkts = [pk.Packet.from_json(p) for p in case["packets"]]
            units = [compare.unit_of(p) for p in pkts]
            if model.base == "OUTPUT":  # sent by the DUT: the frames as it sends them
                units = [[compare.as_output(f) for f in u] for u in units]
            oracle = ctx.oracle_for(model.base)
            ipsets = case.get("ipsets")  # an `ipset save` text: the sets of the case's --match-set rules
            backend = case.get("backend")  # both subjects' --backend, compared with the same iptables: an
            if backend == "nft":  # iptables-nft oracle for the case (INPUT only)
                if ctx.nft_case_oracle is None:
                    ctx.nft_case_oracle = ctx.pairs.enter_context(netns.Oracle(netns.NFT, "rnft"))
                oracle = ctx.nft_case_oracle
            ok, details = True, []
            try:
                if ipsets:
                    err = oracle.ipsets(ipsets)
                    if err:
                        raise RuntimeError(f"ipset restore: {err}")
                err = oracle.load(text)
                if err:
                    raise RuntimeError(f"{' '.join(oracle.flavour.restore[:1])}: {err}")
                kern = oracle.verdicts(model, units)
                for sname in [s for s in ctx.subjects if s in case.get("subjects", ctx.subjects) and
                              (s != "attached" or model.base != "OUTPUT")]:
                    if sname == "run":
                        subj = compare.subject_units(ctx.args.bpftables, text, units, ctx.args.hook,
                                                     chain=model.base, ipsets=ipsets, backend=backend)
                    else:
                        err = ctx.attached[model.base].load(text, ipsets=ipsets, backend=backend)
                        if err:
                            raise subject.CompileError(f"bpftables-restore: {err}")
                        subj = ctx.attached[model.base].verdicts(model, units)
                    # unreached: the kernel never took the packet to the chain, and bpftables left it to the kernel
                    outs = ["unreached" if o["verdict"] == "UNREACHED" and s["verdict"] == "KERNEL" and
                            not compare.fragmented(u) else compare.classify_subject(sname, o, s, u)
                            for o, s, u in zip(kern, subj, units)]
                    want = {"kernel": ("fragment_kernel",), "decided": ("agree",)}.get(
                        case.get("expect"), ("agree", "deferred", "unreached"))
                    ok = ok and all(o in want for o in outs)
                    details.append(("" if len(ctx.subjects) == 1 else f"[{sname}] ") + "; ".join(
                        f"{pk.describe(p)}: kernel {compare.describe_answer(model, o)}, bpftables "
                        f"{compare.describe_answer(model, s)} ({oc})" for p, o, s, oc in zip(pkts, kern, subj, outs)))
                detail = " ".join(details)
            except (subject.CompileError, RuntimeError) as e:
                ok, detail = False, str(e)
        status = ("XPASS" if ok else "XFAIL") if case.get("xfail") else ("PASS" if ok else "FAIL")
        ctx.results["regressions"].append({"name": case["name"], "status": status, "detail": detail,
                                           "xfail": case.get("xfail"), "found": case.get("found")})
        ctx.log(f"regression {case['name']}: {status}" + ("" if status == "PASS" else f": {detail}") +
                (f" (expected to fail: {case['xfail']})" if status == "XFAIL" else ""))


def run_corpus(ctx, seed, classes):
    args, log = ctx.args, ctx.log
    if args.corpus_sample == "none" and args.iptables_t == 0:
        return
    if not os.path.isdir(args.corpus):
        ctx.results["corpus_skipped"] = f"corpus not found at {os.path.normpath(args.corpus)}"
        log(f"SKIP corpus runs: {ctx.results['corpus_skipped']}")
        return
    only = None if args.corpus_sample in ("all", "none") else args.corpus_sample.split(",")
    sets = [] if args.corpus_sample == "none" else corpus.rulesets(args.corpus, args.corpus_max_rules, only)
    for group, name, text, ipsets in sets:
        rng = random.Random(f"{seed}-{name}")
        try:
            model = textrules.parse_filter(text)
        except (ValueError, IndexError) as e:
            log(f"corpus {name}: not parsed by the suite: {e}")
            continue
        pkts = rulegen.PacketGenerator(rng, classes).generate(model, args.corpus_packets)
        counts = compare_one(ctx, "corpus:" + group, name, model, text, pkts, ipsets=ipsets, shrink=False)
        ctx.results["corpus"].append({"group": group, "name": name, "rules": corpus.rule_count(text),
                                      "outcomes": dict(counts) if counts is not None else None})
    cases = corpus.iptables_t_cases(args.corpus)
    if args.iptables_t >= 0:
        cases = random.Random(seed).sample(cases, min(args.iptables_t, len(cases)))
    for module, rule in cases:
        text = corpus.one_rule_ruleset(rule)
        try:
            model = textrules.parse_filter(text)
        except (ValueError, IndexError):
            continue
        rng = random.Random(f"{seed}-{rule}")
        pkts = rulegen.PacketGenerator(rng, classes).generate(model, args.t_packets)
        counts = compare_one(ctx, "t:" + module, rule, model, text, pkts, shrink=True)
        ctx.results["corpus"].append({"group": "iptables-t:" + module, "name": rule, "rules": 1,
                                      "outcomes": dict(counts) if counts is not None else None})


def frame_of_hex(p):
    return " ".join(f.hex() for f in compare.unit_of(p))


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
