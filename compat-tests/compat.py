#!/usr/bin/env python3
"""Differential test of bpftables against the kernel's netfilter (iptables-legacy, and iptables-nft as a second
oracle): seeded random rulesets and packets aimed at the rules' boundaries; verdict and deciding rule must agree.

  compat.py --bpftables build/cli/bpftables [--seed S] [--rulesets 20] [--packets 200] [--minutes N]
            [--families auto|LIST] [--results out.json]

Exit status: 0 all compared packets agree, 1 a mismatch (or an oracle problem), 2 usage, 77 skipped (not root,
or iptables-legacy missing).
"""
import argparse
import atexit
import collections
import json
import os
import random
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from compat_lib import compare, netns, rulegen, subject  # noqa: E402
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
    ap.add_argument("--hook", default="xdp")
    ap.add_argument("--shrink", type=int, default=3, help="shrink at most this many mismatches (0: none)")
    ap.add_argument("--print", type=int, default=5, dest="print_max", help="print at most this many mismatches")
    ap.add_argument("--results", help="write the run's results as JSON here (input of compat-tests/report)")
    ap.add_argument("--quiet", action="store_true")
    return ap.parse_args(argv)


def preflight(args):
    if os.geteuid() != 0:
        return "not root (network namespaces and iptables need CAP_NET_ADMIN)"
    for tool in ("ip", "iptables-legacy-restore", "iptables-legacy-save"):
        if not shutil.which(tool):
            return f"{tool} not installed"
    if not os.access(args.bpftables, os.X_OK):
        return f"{args.bpftables} not built"
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

    def to_json(self):
        return {"total": dict(self.total), "family": {f: dict(c) for f, c in self.family.items()},
                "family_rulesets": dict(self.family_rulesets), "unverifiable": dict(self.unverifiable),
                "deferred_reasons": dict(self.deferred_reasons)}


def main(argv):
    args = parse_args(argv)
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    why = preflight(args)
    if why:
        print(f"SKIP: compat suite: {why}")
        return SKIP
    install_cleanup()
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    log(f"compat: seed {seed} (rerun with --seed {seed})")
    families, families_off = choose_families(args, log)
    classes = [c for c in args.classes.split(",") if c]
    flavours = [netns.LEGACY] + ([netns.NFT] if "nft" in args.oracles and shutil.which("iptables-nft-restore")
                                 else [])
    stats = Stats()
    results = {"seed": seed, "families": families, "families_off": families_off, "classes": classes,
               "oracles": [f.name for f in flavours], "hook": args.hook, "mismatches": [],
               "oracle_disagreements": [], "compile_failures": [], "load_failures": [], "rulesets": 0}
    start = time.monotonic()
    deadline = start + args.minutes * 60 if args.minutes else None
    printed = shrunk = 0
    with netns.Oracle(netns.LEGACY, "legacy") as legacy, \
            (netns.Oracle(netns.NFT, "nft") if len(flavours) > 1 else _Null()) as nft:
        k = 0
        while (k < args.rulesets) if deadline is None else (time.monotonic() < deadline):
            rs_seed = f"{seed}-{k}"
            rng = random.Random(rs_seed)
            k += 1
            ruleset = rulegen.RulesetGenerator(rng, families).generate()
            pkts = rulegen.PacketGenerator(rng, classes).generate(ruleset, args.packets)
            units = [compare.unit_of(p) for p in pkts]
            text = ruleset.filter_text()
            results["rulesets"] += 1
            for fam in ruleset.families():
                stats.family_rulesets[fam] += 1
            try:
                subj = compare.subject_units(args.bpftables, text, units, args.hook)
            except subject.CompileError as e:
                results["compile_failures"].append({"seed": rs_seed, "ruleset": text, "error": str(e)})
                log(f"ruleset {rs_seed}: bpftables failed:\n{e}")
                continue
            err = legacy.load(text)
            if err:
                results["load_failures"].append({"seed": rs_seed, "ruleset": text, "error": err, "oracle": "legacy"})
                log(f"ruleset {rs_seed}: iptables-legacy-restore rejected it: {err}")
                continue
            kernel = legacy.verdicts(ruleset, units)
            second = None
            if isinstance(nft, netns.Oracle):
                err = nft.load(text)
                if err:
                    results["load_failures"].append({"seed": rs_seed, "ruleset": text, "error": err, "oracle": "nft"})
                    log(f"ruleset {rs_seed}: iptables-nft-restore rejected it: {err}")
                else:
                    second = nft.verdicts(ruleset, units)
            counts = collections.Counter()
            for i, (p, o, s) in enumerate(zip(pkts, kernel, subj)):
                outcome = compare.classify(o, s)
                counts[outcome] += 1
                stats.total[outcome] += 1
                fams = compare.decider_families(ruleset, o) | (compare.decider_families(ruleset, s)
                                                                if outcome == "mismatch" else set())
                for fam in fams:
                    stats.family[fam][outcome] += 1
                if outcome == "unverifiable":
                    stats.unverifiable[f"{s['verdict']} {s.get('reason', '')}".strip()] += 1
                if outcome == "deferred":
                    stats.deferred_reasons[s.get("reason") or "rule"] += 1
                if second is not None and o["verdict"] not in ("UNREACHED", "CONFUSED") \
                        and not compare.oracles_agree(o, second[i]):
                    stats.total["oracle_disagreement"] += 1
                    if len(results["oracle_disagreements"]) < 20:
                        results["oracle_disagreements"].append({
                            "seed": rs_seed, "packet_index": i + 1, "ruleset": text, "packet": pk.describe(p),
                            "legacy": o, "nft": second[i]})
                if outcome != "mismatch":
                    continue
                case = {"seed": rs_seed, "packet_index": i + 1, "ruleset": text, "packet": pk.describe(p),
                        "hex": frame_of_hex(p), "kernel": o, "bpftables": s,
                        "kernel_text": compare.describe_answer(ruleset, o),
                        "bpftables_text": compare.describe_answer(ruleset, s), "families": sorted(fams)}
                if printed < args.print_max:
                    printed += 1
                    print(compare.format_case(f"MISMATCH ruleset {rs_seed} packet {i + 1}", ruleset, p, o, s),
                          flush=True)
                if shrunk < args.shrink:
                    shrunk += 1
                    sh = compare.Shrinker(legacy, args.bpftables, args.hook)
                    mrs, mp, (mo, ms), done = sh.shrink(ruleset, p, (o, s))
                    case["minimal"] = {"ruleset": mrs.filter_text(), "packet": pk.describe(mp),
                                       "packet_model": mp.to_json(), "hex": frame_of_hex(mp),
                                       "kernel_text": compare.describe_answer(mrs, mo),
                                       "bpftables_text": compare.describe_answer(mrs, ms), "complete": done,
                                       "checks": sh.checks}
                    print(compare.format_case(f"MINIMAL ({sh.checks} checks{'' if done else ', bounded'}) of "
                                              f"ruleset {rs_seed} packet {i + 1}", mrs, mp, mo, ms), flush=True)
                    legacy.load(text)  # the shrinker left another ruleset loaded
                results["mismatches"].append(case)
            log(f"ruleset {rs_seed}: {len(pkts)} packets: " +
                ", ".join(f"{n} {c}" for c, n in sorted(counts.items())))
    results["stats"] = stats.to_json()
    results["seconds"] = round(time.monotonic() - start, 1)
    results["packets"] = sum(stats.total[c] for c in ("agree", "mismatch", "deferred", "unverifiable", "confused"))
    t = stats.total
    compared = t["agree"] + t["mismatch"]
    log(f"compat: seed {seed}: {results['rulesets']} rulesets, {results['packets']} packets; "
        f"compared {compared}: {t['agree']} agree, {t['mismatch']} mismatch; {t['deferred']} handed to the kernel; "
        f"{t['unverifiable']} unverifiable (kernel never decided them alone); {t['confused']} oracle confused; "
        f"{t['oracle_disagreement']} legacy/nft disagreements; {len(results['compile_failures'])} rulesets not "
        f"compiled; {len(results['load_failures'])} not loaded; {results['seconds']} s")
    if args.results:
        with open(args.results, "w") as f:
            json.dump(results, f, indent=1)
    # The legacy oracle is the reference; nft load failures and legacy/nft disagreements are reported only.
    bad = t["mismatch"] or t["confused"] or results["compile_failures"] or \
        any(f["oracle"] == "legacy" for f in results["load_failures"])
    return 1 if bad else 0


def frame_of_hex(p):
    return " ".join(f.hex() for f in compare.unit_of(p))


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
