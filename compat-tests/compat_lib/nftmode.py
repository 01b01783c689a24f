"""The nft mode: hand-written nft rulesets (compat-tests/nft/*.nft) loaded with `nft -f` in the DUT namespace of
an Oracle, against `bpftables run --format nft` (subject `run`) and against bpftables attached for real
(subject `attached`: NftAttached, `bpftables-restore --format nft` into an attached.Attached pair).

The kernel's answer comes from counters. Every rule of a ruleset carries a `counter` just before its verdict, so
its counter moves exactly when its matches matched; a witness table adds a counter at prerouting priority -1000
(the packet arrived) and one at input priority 1000 (every input base chain accepted it). The deciding rule is
then found by walking the base chains in netfilter's order over the rules whose counters moved (accept ends the
base chain, drop ends everything, a policy applies at the end, jump/goto/return as usual; equal priorities: the
chain written last runs first); every moved rule must
have been visited and the walk's verdict must equal the witnesses', else the answer is CONFUSED. Answers compare
as (verdict, table, chain, line of the rule or "policy").

The rulesets are written one statement per line (`table F NAME {`, `chain NAME {`, `type ... policy P;`, one
rule per line, `}`), which is all the small reader below understands; it reads bpftables-save's nft text too.

The attached subject: bpftables-restore of nft text puts the whole ruleset into the namespace's nf_tables as
well (the kernel's copy), and statements bpftables does not compile become points where the program hands the
packet over to that copy. Its answer for a packet (attached_answer) combines the program's counters
(bpftables-save) with the copy's and the witnesses' (the same WITNESS table, installed beside the copy): a
packet the program kept is its own decision; a packet it passed on is its own (an accept) unless the copy moved
more rules than the program did, then it was handed over (KERNEL) and the copy's decision must equal the
oracle's (deferred), else it is a mismatch, or fail_open when the oracle drops it and the host took it in.
`bpftables run` hands such statements over too (KERNEL: deferred); a ruleset whose first lines carry NOT_RUN's
mark must be refused by it ("not compiled"), and only the attached subject compares it.
"""
import ipaddress
import json
import os
import random
import re
import time

from . import compare, subject
from . import packets as pk

WITNESS = """table ip bpftc_witness {
    chain pre {
        type filter hook prerouting priority -1000; policy accept;
        counter
    }
    chain in {
        type filter hook input priority 1000; policy accept;
        counter
    }
}
"""
PRIORITY_NAMES = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}
HOOKS = ("prerouting", "input")  # what a packet from GEN to a local address of DUT goes through
# The first lines of a ruleset `bpftables run` must refuse (none of nft/ holds one now: run and compile hand
# statements they do not compile to the kernel, as bpftables-restore does).
NOT_RUN = re.compile(r"^# compat: not compiled by bpftables run", re.M)


class Chain:
    def __init__(self, table, name, line):
        self.table, self.name, self.line = table, name, line
        self.family = "ip"  # only ip and inet chains see the IPv4 packets sent (table names must not repeat)
        self.hook = None
        self.priority = 0
        self.policy = "accept"
        self.rules = []  # (line, verdict, target chain or None)
        self.counts = []  # the packets of each rule's `counter packets N` (0 without one): bpftables-save's text


def read_ruleset(text):
    """The chains of a ruleset in file order: {(table, chain): Chain}. A verdict map's rule (`vmap { k : jump c }`
    or `vmap @m`, jumps only) has the verdict "vmap" and the chains it may jump to as its target."""
    chains, table, chain, in_set, family = {}, None, None, False, None
    maps, in_map = {}, None  # the chains each named verdict map jumps to
    for n, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        if in_set:
            in_set = s != "}"
            if in_map:
                maps[in_map] += re.findall(r"(?:jump|goto) (\w+)", s)
        elif m := re.match(r"table (\w+) (\w+) \{$", s):
            family, table = m.group(1), m.group(2)
        elif table and not chain and s.startswith("define "):  # a table's variables, as fw4 writes them
            continue
        elif m := re.match(r"(set|map|quota|counter|limit|ct \w+) (\w+) \{$", s):  # sets and stateful objects
            in_set, in_map = True, m.group(2) if m.group(1) == "map" else None
            if in_map:
                maps[in_map] = []
        elif m := re.match(r"chain (\w+) \{$", s):
            chain = chains[(table, m.group(1))] = Chain(table, m.group(1), n)
            chain.family = family
        elif s == "}":
            if chain:
                chain = None
            else:
                table = None
        elif chain and s.startswith("type "):
            m = re.match(r"type \w+ hook (\w+) priority ([\w-]+);(?: policy (\w+);)?$", s)
            if not m:
                raise ValueError(f"line {n}: cannot read the base chain's declaration")
            chain.hook = m.group(1)
            p = m.group(2)
            chain.priority = PRIORITY_NAMES[p] if p in PRIORITY_NAMES else int(p)
            chain.policy = m.group(3) or "accept"
        elif chain:
            m = re.search(r"counter packets (\d+)", s)
            chain.counts.append(int(m.group(1)) if m else 0)
            words = re.sub(r'\s+comment "[^"]*"$', "", s).split()  # a rule's comment follows its verdict
            if m := re.search(r" vmap (?:@(\w+)|\{(.*)\})", s):
                chain.rules.append((n, "vmap", maps.get(m.group(1), []) if m.group(1) else
                                    re.findall(r"(?:jump|goto) (\w+)", m.group(2))))
            elif words[-1] in ("accept", "drop", "return"):
                chain.rules.append((n, words[-1], None))
            elif len(words) >= 2 and words[-2] in ("jump", "goto"):
                chain.rules.append((n, words[-2], words[-1]))
            elif "dnat" in words or "snat" in words or "masquerade" in words or "redirect" in words:
                chain.rules.append((n, "accept", None))  # nat statements end the chain, as accept
            else:
                chain.rules.append((n, "", None))
        else:
            raise ValueError(f"line {n}: not understood: {s}")
    return chains


def _decided_rule(rule):
    """Whether a kernel rule is the bookkeeping bpftables puts first in a compiled base chain of its copy
    (README, "Decided once"): `[meta nfproto ipv4] meta mark & BIT == BIT [meta mark set ...] accept`, no counter
    (an inet table's starts with `meta nfproto ipv4`: its IPv6 half is not the IPv4 program's)."""
    expr = rule.get("expr", [])
    if expr and isinstance(expr[0], dict) and expr[0].get("match", {}).get("left") == {"meta": {"key": "nfproto"}} \
            and expr[0]["match"].get("right") == "ipv4":
        expr = expr[1:]
    if not expr or not isinstance(expr[0], dict) or "match" not in expr[0]:
        return False
    m = expr[0]["match"]
    left = m.get("left")
    if not (isinstance(left, dict) and "&" in left and left["&"][0] == {"meta": {"key": "mark"}}):
        return False
    bit = left["&"][1]
    return isinstance(bit, int) and bit & (bit - 1) == 0 and m.get("right") == bit and {"accept": None} in expr


def read_counters(nft_json):
    """{(table, chain): [packets of each rule, in order]} from `nft -j list ruleset`, without the rules of
    bpftables' own (its copy's first rules and its table)."""
    out = {}
    for obj in json.loads(nft_json)["nftables"]:
        rule = obj.get("rule")
        if rule is None or rule.get("table") == "bpftables-decided" or _decided_rule(rule):
            continue
        packets = 0
        for e in rule.get("expr", []):
            if isinstance(e, dict) and "counter" in e:
                packets = e["counter"]["packets"]
        out.setdefault((rule["table"], rule["chain"]), []).append(packets)
    return out


def walk(chains, moved):
    """The kernel's answer from the moved rules: {"verdict", "table", "chain", "line" (0 for a policy)}."""
    visited = set()

    def run_chain(ch, depth=0):
        if depth > 16:
            raise ValueError("jumps nest too deeply")
        for i, (line, verdict, target) in enumerate(ch.rules):
            visited.add((ch.table, ch.name, i))
            if verdict == "vmap":  # no counter of its own: it jumped where rules of a chain it names moved
                target = next((t for t in target if any((ch.table, t, j) in moved
                                                        for j in range(len(chains[(ch.table, t)].rules)))), None)
                verdict = "jump" if target else ""
            elif (ch.table, ch.name, i) not in moved:
                continue
            if verdict in ("accept", "drop"):
                return verdict, (ch, line)
            if verdict == "return":
                return "return", None
            if verdict in ("jump", "goto"):
                result = run_chain(chains[(ch.table, target)], depth + 1)
                if result[0] in ("accept", "drop"):
                    return result
                if verdict == "goto":
                    return "return", None
        return "return", None

    # Equal priorities: the kernel runs the base chain registered last first (nf_hook_entries_grow inserts a hook
    # before those of equal priority), and `nft -f` registers them in file order. A wrong order here shows up as
    # CONFUSED: counters move on rules the walk does not reach.
    base = [c for c in reversed(list(chains.values())) if c.hook in HOOKS and c.family in ("ip", "inet")]
    base.sort(key=lambda c: (HOOKS.index(c.hook), c.priority))
    decider = None
    for ch in base:
        verdict, decider = run_chain(ch)
        if verdict == "return":
            verdict, decider = ch.policy, (ch, 0)
        if verdict == "drop":
            break
    answer = {"verdict": verdict.upper() if base else "ACCEPT", "table": "", "chain": "", "line": 0}
    if decider:
        answer.update(table=decider[0].table, chain=decider[0].name, line=decider[1])
    unvisited = moved - visited
    if unvisited:
        return {"verdict": "CONFUSED", "why": f"counters moved on rules the walk did not reach: {sorted(unvisited)}"}
    return answer


class NftOracle:
    """`nft -f` in the DUT namespace of an Oracle (netns.py), which it uses for injection."""

    def __init__(self, oracle):
        self.o = oracle

    def load(self, text):
        self.o._dut_cmd(["nft", "flush", "ruleset"])
        r = self.o._dut_cmd(["nft", "-f", "-"], input=text + WITNESS)
        return None if r.returncode == 0 else (r.stderr.strip() or f"exit {r.returncode}")

    def counters(self):
        r = self.o._dut_cmd(["nft", "-j", "list", "ruleset"])
        if r.returncode != 0:
            raise RuntimeError(f"nft -j list ruleset failed: {r.stderr.strip()}")
        return read_counters(r.stdout)

    def verdicts(self, chains, frames):
        answers = []
        before = self.counters()
        for frame in frames:
            self.o.sock.send(frame)
            after = before
            for delay in (0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1):
                time.sleep(delay)
                after = self.counters()
                if after.get(("bpftc_witness", "pre")) != before.get(("bpftc_witness", "pre")):
                    break
            answers.append(self.decide(chains, before, after))
            before = after
        return answers

    @staticmethod
    def decide(chains, before, after):
        def delta(key, i):
            return _delta(after, before, key, i)

        arrived, reached_end = delta(("bpftc_witness", "pre"), 0), delta(("bpftc_witness", "in"), 0)
        if arrived == 0:
            return {"verdict": "UNREACHED", "why": "never reached prerouting"}
        if arrived != 1 or reached_end > 1:
            return {"verdict": "CONFUSED", "why": f"{arrived} packets arrived, {reached_end} reached the end"}
        answer = walk(chains, moved_rules(chains, before, after))
        witness = "ACCEPT" if reached_end else "DROP"
        if answer["verdict"] not in ("CONFUSED", witness):
            return {"verdict": "CONFUSED", "why": f"the walk says {answer['verdict']}, the witnesses {witness}"}
        return answer


class NftAttached(NftOracle):
    """The attached subject for nft rulesets: the ruleset restored with `bpftables-restore --format nft` into the
    DUT of an attached.Attached pair (its program at XDP; the whole ruleset also goes to that namespace's
    nf_tables, the kernel's copy, which decides what the program hands over and sees again what the program
    passes on). The witness chains (WITNESS) go there beside the copy; the program's counters come from
    `bpftables-save -c` (the ruleset's text with `counter packets N`), the copy's and the witnesses' from
    `nft -j list ruleset`. See attached_answer()."""

    def __init__(self, att):
        super().__init__(att)
        r = att._dut_cmd(["nft", "-f", "-"], input=WITNESS)
        if r.returncode != 0:
            raise RuntimeError(f"nft witness in {att.dut}: {r.stderr.strip()}")

    def load(self, text):
        return self.o.load(text, fmt="nft")

    def counters(self):
        """(the kernel's: copy and witnesses, the program's), each {(table, chain): [packets of each rule]}."""
        kernel = super().counters()
        program = {}
        for key, ch in read_ruleset(self.o.saved()).items():
            # bpftables-save -c counts each packet once: the program's counts plus its copy's; the program's
            # own are the difference.
            copy = kernel.get(key, [])
            program[key] = [p - k for p, k in zip(ch.counts, copy)] if len(copy) == len(ch.counts) else ch.counts
        return kernel, program

    def verdicts(self, chains, frames):
        """One attached_answer() per frame; each is read once the DUT's veth counted the frame (Attached.poll)."""
        answers = []
        before = self.counters()
        for frame in frames:
            def look():
                after = self.counters()
                answer = attached_answer(chains, before, after)
                kernel = answer.get("kernel", {})
                # a drop at a rule (the program's or the copy's), or taken in: nothing more to wait for
                done = (answer["verdict"] == "DROP" and answer["line"] > 0) or answer.get("passed") or \
                    (kernel.get("verdict") == "DROP" and kernel.get("line", 0) > 0)
                return done, (after, answer)

            before, answer = self.o.poll([frame], look, final_when_seen=True)
            answers.append(answer)
        return answers


def attached_answer(chains, before, after):
    """The attached subject's answer for one packet from (kernel, program) counters before and after it.
    Not arrived at the kernel's first witness: the program kept it, its answer is the walk over the program's
    moved rules (a DROP; else DROP with line -1, no counter moved). Arrived, accepted by the program and taken
    in with no rule of the copy moved: decided once, the program's walk is the answer. Arrived otherwise: the
    program passed it on, and the kernel's copy decided it; it was handed over (verdict KERNEL, with the copy's answer as "kernel")
    when the copy moved more rules than the program or the program's walk does not accept it; else the answer
    is the program's walk, with the copy's answer as "kernel". passed: it got past every input chain (the
    witness at input priority 1000), so the host took it in. A handed-over packet whose statement then did not
    match in the kernel (so both moved the same rules) counts as the program's own."""
    (kb, pb), (ka, pa) = before, after
    prog_moved = moved_rules(chains, pb, pa)
    prog = walk(chains, prog_moved)
    kernel = NftOracle.decide(chains, kb, ka)
    if kernel["verdict"] == "UNREACHED":  # the program kept it
        if prog["verdict"] in ("DROP", "CONFUSED"):
            return dict(prog, passed=False)
        return {"verdict": "DROP", "table": "", "chain": "", "line": -1, "passed": False,
                "why": "no counter moved, not passed on"}
    passed = _delta(ka, kb, ("bpftc_witness", "in"), 0) > 0
    kern_moved = moved_rules(chains, kb, ka)
    if passed and not kern_moved and prog["verdict"] == "ACCEPT":
        # Decided once: the program accepted it and the copy's first rules let it through unjudged (no rule of
        # the copy moved), as the README says; the program's answer is the only one.
        return dict(prog, passed=True)
    if prog_moved <= kern_moved and (prog_moved != kern_moved or prog["verdict"] != "ACCEPT"):
        return {"verdict": "KERNEL", "table": "", "chain": "", "line": 0, "kernel": kernel, "passed": passed}
    return dict(prog, kernel=kernel, passed=passed)


def _delta(after, before, key, i):
    a, b = after.get(key, []), before.get(key, [])
    return (a[i] if i < len(a) else 0) - (b[i] if i < len(b) else 0)


def moved_rules(chains, before, after):
    """{(table, chain, rule index)} of the rules whose counters moved."""
    return {(t, c, i) for (t, c), ch in chains.items() for i in range(len(ch.rules))
            if _delta(after, before, (t, c), i)}


def packets_for(text, rng, count):
    """Packets aimed at the ruleset's values: its ports and their neighbours, addresses in and around its
    198.19.0.0/16 networks, to local addresses of the DUT (198.18.0.0/16); a few with the L4 header cut short."""
    ports, addrs = {1, 22, 53, 80, 443, 1023, 1024, 65535}, [pk.ip_int("198.19.0.1")]
    for m in re.finditer(r"198\.19\.\d+\.\d+(?:/\d+)?", text):
        net = ipaddress.IPv4Network(m.group(0), strict=False)
        lo, hi = int(net.network_address), int(net.broadcast_address)
        addrs += [lo, hi, lo - 1, hi + 1, rng.randint(lo, hi)]
    for m in re.finditer(r"(?<![\d.])(\d{1,5})(?![\d./])", text):
        v = int(m.group(1))
        if 0 < v < 65536:
            ports.update(p for p in (v - 1, v, v + 1) if 0 < p < 65536)
    ports = sorted(ports)
    out = []
    for _ in range(count):
        proto = rng.choice((pk.TCP, pk.TCP, pk.UDP, pk.ICMP))
        p = pk.Packet(src=rng.choice(addrs), dst=pk.ip_int("198.18.0.1") + rng.randrange(200), proto=proto,
                      sport=rng.choice((40000, 1024, 53)), dport=rng.choice(ports), icmp_type=rng.choice((0, 8)))
        if proto != pk.ICMP and rng.random() < 0.06:  # a header cut short: nft's payload expressions do not match
            p.l4_keep = rng.randrange(8 if proto == pk.UDP else 20)
        out.append(p)
    return out


def ruleset_files(directory):
    return sorted(os.path.join(directory, f) for f in os.listdir(directory) if f.endswith(".nft"))


def run_all(oracle, bpftables, hook, directory, seed, packets, log, attached=None, subjects=("run",)):
    """Every ruleset of `directory` with `packets` packets each, through each of subjects ("run": `bpftables run
    --format nft`; "attached": NftAttached over the attached.Attached pair `attached`). Returns one record per
    ruleset and subject: {"name", "subject", "outcomes": {agree|mismatch|deferred|fail_open|unverifiable|
    confused: n}, "mismatches": [...], "error", "not_compiled"}. A ruleset marked NOT_RUN (statements only the
    kernel's copy runs) is expected to be refused by `bpftables run`: that is "not_compiled", not an error."""
    nft = NftOracle(oracle)
    att = NftAttached(attached) if "attached" in subjects else None
    records = []
    for path in ruleset_files(directory):
        name = os.path.basename(path)
        with open(path) as f:
            text = f.read()
        recs = {sname: {"name": name, "subject": sname, "outcomes": {}, "mismatches": [], "error": None,
                        "not_compiled": None} for sname in subjects}
        records += recs.values()
        rng = random.Random(f"{seed}-{name}")
        pkts = packets_for(text, rng, packets)
        frames = [compare.frame_of(p) for p in pkts]
        try:
            chains = read_ruleset(text)
        except ValueError as e:
            for rec in recs.values():
                rec["error"] = f"the suite's reader: {e}"
            log(f"nft {name}: the suite's reader: {e}")
            continue
        answers = {}
        for sname, rec in recs.items():
            try:
                if sname == "run":
                    answers[sname] = subject.verdicts(bpftables, text, frames, hook, fmt="nft")
                    if NOT_RUN.search(text):
                        log(f"nft {name}: marked as not compiled by bpftables run, yet it compiled: drop the mark")
                else:
                    err = att.load(text)
                    if err:
                        raise subject.CompileError(f"bpftables-restore --format nft: {err}")
            except subject.CompileError as e:
                if sname == "run" and NOT_RUN.search(text):
                    rec["not_compiled"] = str(e).splitlines()[0]
                    log(f"nft {name} (run): not compiled, as marked: {rec['not_compiled']}")
                else:
                    rec["error"] = f"bpftables ({sname}): {e}"
                    log(f"nft {name}: {rec['error']}")
        if not any(rec["error"] is None and rec["not_compiled"] is None for rec in recs.values()):
            continue
        err = nft.load(text)
        if err:
            for rec in recs.values():
                rec["error"] = f"nft -f: {err}"
            log(f"nft {name}: nft -f: {err}")
            continue
        k0 = nft.counters()
        kernel = nft.verdicts(chains, frames)
        k1 = nft.counters()
        if "attached" in recs and recs["attached"]["error"] is None:
            a0 = read_ruleset(att.o.saved())
            answers["attached"] = att.verdicts(chains, frames)
            a1 = read_ruleset(att.o.saved())
            diff = counter_differences(chains, (k0, k1), (a0, a1))
            recs["attached"]["counter_differences"] = diff
            recs["attached"]["counted_rules"] = sum(len(ch.rules) for ch in chains.values())
            if diff:
                log(f"nft {name} (attached): counters unlike the kernel's: " + ", ".join(
                    f"{k} kernel {v['kernel']} bpftables {v['bpftables']}" for k, v in list(diff.items())[:8]))
        for sname, subj in answers.items():
            rec = recs[sname]
            for p, o, s in zip(pkts, kernel, subj):
                outcome = classify(o, s)
                rec["outcomes"][outcome] = rec["outcomes"].get(outcome, 0) + 1
                if outcome in ("mismatch", "confused", "fail_open"):
                    rec["mismatches"].append({"packet": pk.describe(p), "packet_model": p.to_json(),
                                              "outcome": outcome, "kernel": o, "bpftables": s})
                    if len(rec["mismatches"]) <= 5:
                        log(f"{outcome.upper()} nft {name} ({sname}): {pk.describe(p)}: kernel {o}, bpftables {s}")
            log(f"nft {name} ({sname}): {len(pkts)} packets: " +
                ", ".join(f"{n} {c}" for c, n in sorted(rec["outcomes"].items())))
    oracle._dut_cmd(["nft", "flush", "ruleset"])  # leave the DUT empty
    return records


def counter_differences(chains, kernel, attached):
    """Counted once, rule by rule: what every rule's counter gained in the oracle over the run (`nft -j list
    ruleset` before and after) against what `bpftables-save -c` of the attached subject (the program's counts
    plus its copy's) gained over the same frames. {"TABLE CHAIN rule N": {"kernel": k, "bpftables": b}} for each
    rule where they differ."""
    (k0, k1), (a0, a1) = kernel, attached
    out = {}
    for key, ch in chains.items():
        for i in range(len(ch.rules)):
            k = _delta(k1, k0, key, i)
            before, after = a0.get(key), a1.get(key)
            b = (after.counts[i] if after and i < len(after.counts) else 0) - \
                (before.counts[i] if before and i < len(before.counts) else 0)
            if k != b:
                out[f"{key[0]} {key[1]} rule {i + 1}"] = {"kernel": k, "bpftables": b}
    return out


def _key(answer):
    """(verdict, table, chain, line or "policy"): how answers compare. `bpftables run` says rule 0 for a
    policy, the walk line 0."""
    policy = answer.get("rule", answer.get("line")) == 0
    return answer["verdict"], answer.get("table", ""), answer.get("chain", ""), \
        "policy" if policy else answer.get("line")


def classify(kernel, subj):
    """agree | mismatch | deferred | fail_open | unverifiable | confused. The attached subject's answers carry
    the kernel's copy's ("kernel", for a packet it passed on): a handed-over packet (KERNEL) is deferred when
    the copy decided it as the oracle did, fail_open when the oracle drops it and the host took it in, else a
    mismatch; a packet the program passed on must also be decided by the copy as by the oracle."""
    if kernel["verdict"] == "CONFUSED":
        return "confused"
    if kernel["verdict"] == "UNREACHED":
        return "unverifiable"
    copy = subj.get("kernel")
    if copy is not None and copy["verdict"] == "CONFUSED" or subj["verdict"] == "CONFUSED":
        return "confused"
    if subj["verdict"] == "KERNEL":
        if copy is None:  # `bpftables run`: handed over, nothing to compare
            return "deferred"
        if _key(copy) == _key(kernel):
            return "deferred"
        return "fail_open" if subj.get("passed") and kernel["verdict"] == "DROP" else "mismatch"
    same = _key(subj) == _key(kernel) and (copy is None or _key(copy) == _key(kernel))
    return "agree" if same else "mismatch"
