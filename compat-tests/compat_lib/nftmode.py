"""The nft mode: hand-written nft rulesets (compat-tests/nft/*.nft) loaded with `nft -f` in the DUT namespace of
an Oracle, against `bpftables run --format nft`.

The kernel's answer comes from counters. Every rule of a ruleset carries a `counter` just before its verdict, so
its counter moves exactly when its matches matched; a witness table adds a counter at prerouting priority -1000
(the packet arrived) and one at input priority 1000 (every input base chain accepted it). The deciding rule is
then found by walking the base chains in netfilter's order over the rules whose counters moved (accept ends the
base chain, drop ends everything, a policy applies at the end, jump/goto/return as usual; equal priorities: the
chain written last runs first); every moved rule must
have been visited and the walk's verdict must equal the witnesses', else the answer is CONFUSED. Answers compare
as (verdict, table, chain, line of the rule or "policy").

The rulesets are written one statement per line (`table F NAME {`, `chain NAME {`, `type ... policy P;`, one
rule per line, `}`), which is all the small reader below understands.
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


class Chain:
    def __init__(self, table, name, line):
        self.table, self.name, self.line = table, name, line
        self.hook = None
        self.priority = 0
        self.policy = "accept"
        self.rules = []  # (line, verdict, target chain or None)


def read_ruleset(text):
    """The chains of a ruleset in file order: {(table, chain): Chain}."""
    chains, table, chain, in_set = {}, None, None, False
    for n, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        if in_set:
            in_set = s != "}"
        elif m := re.match(r"table (\w+) (\w+) \{$", s):
            table = m.group(2)
        elif re.match(r"(set|map) \w+ \{$", s):
            in_set = True
        elif m := re.match(r"chain (\w+) \{$", s):
            chain = chains[(table, m.group(1))] = Chain(table, m.group(1), n)
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
            words = s.split()
            if words[-1] in ("accept", "drop", "return"):
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


def read_counters(nft_json):
    """{(table, chain): [packets of each rule, in order]} from `nft -j list ruleset`."""
    out = {}
    for obj in json.loads(nft_json)["nftables"]:
        rule = obj.get("rule")
        if rule is None:
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
            if (ch.table, ch.name, i) not in moved:
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
    base = [c for c in reversed(list(chains.values())) if c.hook in HOOKS]
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
            a, b = after.get(key, []), before.get(key, [])
            return (a[i] if i < len(a) else 0) - (b[i] if i < len(b) else 0)

        arrived, reached_end = delta(("bpftc_witness", "pre"), 0), delta(("bpftc_witness", "in"), 0)
        if arrived == 0:
            return {"verdict": "UNREACHED", "why": "never reached prerouting"}
        if arrived != 1 or reached_end > 1:
            return {"verdict": "CONFUSED", "why": f"{arrived} packets arrived, {reached_end} reached the end"}
        moved = set()
        for (table, chain), ch in chains.items():
            for i in range(len(ch.rules)):
                if delta((table, chain), i):
                    moved.add((table, chain, i))
        answer = walk(chains, moved)
        witness = "ACCEPT" if reached_end else "DROP"
        if answer["verdict"] not in ("CONFUSED", witness):
            return {"verdict": "CONFUSED", "why": f"the walk says {answer['verdict']}, the witnesses {witness}"}
        return answer


def packets_for(text, rng, count):
    """Packets aimed at the ruleset's values: its ports and their neighbours, addresses in and around its
    198.19.0.0/16 networks, to local addresses of the DUT (198.18.0.0/16)."""
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
        out.append(p)
    return out


def ruleset_files(directory):
    return sorted(os.path.join(directory, f) for f in os.listdir(directory) if f.endswith(".nft"))


def run_all(oracle, bpftables, hook, directory, seed, packets, log):
    """Every ruleset of `directory` with `packets` packets each. Returns one record per ruleset:
    {"name", "outcomes": {agree|mismatch|deferred|unverifiable|confused: n}, "mismatches": [...], "error"}."""
    nft = NftOracle(oracle)
    records = []
    for path in ruleset_files(directory):
        name = os.path.basename(path)
        with open(path) as f:
            text = f.read()
        rec = {"name": name, "outcomes": {}, "mismatches": [], "error": None}
        records.append(rec)
        rng = random.Random(f"{seed}-{name}")
        pkts = packets_for(text, rng, packets)
        frames = [compare.frame_of(p) for p in pkts]
        try:
            chains = read_ruleset(text)
            subj = subject.verdicts(bpftables, text, frames, hook, fmt="nft")
        except (subject.CompileError, ValueError) as e:
            rec["error"] = f"bpftables: {e}"
            log(f"nft {name}: {rec['error']}")
            continue
        err = nft.load(text)
        if err:
            rec["error"] = f"nft -f: {err}"
            log(f"nft {name}: {rec['error']}")
            continue
        kernel = nft.verdicts(chains, frames)
        for p, o, s in zip(pkts, kernel, subj):
            outcome = classify(o, s)
            rec["outcomes"][outcome] = rec["outcomes"].get(outcome, 0) + 1
            if outcome in ("mismatch", "confused"):
                rec["mismatches"].append({"packet": pk.describe(p), "kernel": o, "bpftables": s})
                if len(rec["mismatches"]) <= 5:
                    log(f"MISMATCH nft {name}: {pk.describe(p)}: kernel {o}, bpftables {s}")
        log(f"nft {name}: {len(pkts)} packets: " +
            ", ".join(f"{n} {c}" for c, n in sorted(rec["outcomes"].items())))
    oracle._dut_cmd(["nft", "flush", "ruleset"])  # leave the DUT empty
    return records


def classify(kernel, subj):
    if kernel["verdict"] == "CONFUSED":
        return "confused"
    if kernel["verdict"] == "UNREACHED":
        return "unverifiable"
    if subj["verdict"] == "KERNEL":
        return "deferred"
    s_line = "policy" if subj["rule"] == 0 else subj["line"]
    k_line = "policy" if kernel["line"] == 0 else kernel["line"]
    same = (subj["verdict"], subj["table"], subj["chain"], s_line) == \
        (kernel["verdict"], kernel["table"], kernel["chain"], k_line)
    return "agree" if same else "mismatch"
