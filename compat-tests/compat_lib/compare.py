"""Comparing the kernel's answer with bpftables's, printing a mismatch, and shrinking it."""
import struct
import time

from . import packets as pk
from . import subject
from .netns import DUT_MAC, GEN_MAC


def frame_of(p):
    return pk.build(p, DUT_MAC, GEN_MAC)


def unit_of(p):
    return pk.build_unit(p, DUT_MAC, GEN_MAC)


def as_output(frame):
    """The frame a packet sent by the DUT through a raw socket (IP_HDRINCL) leaves with: Ethernet from DUT to
    GEN, the IP header as raw_send_hdrinc() completes it (total length of what was sent, an id when 0, the
    header checksum)."""
    ip = bytearray(frame[14:])
    ip[2:4] = struct.pack("!H", len(ip))
    if ip[4:6] == b"\0\0":
        ip[4:6] = b"\0\1"
    ihl = (ip[0] & 0xF) * 4
    ip[10:12] = b"\0\0"
    ip[10:12] = struct.pack("!H", pk.checksum(bytes(ip[:ihl])))
    return GEN_MAC + DUT_MAC + frame[12:14] + bytes(ip)


def is_fragment(frame):
    """True for an IPv4 fragment (MF set or a non-zero offset) of a frame built here (Ethernet + IPv4), or an IPv6
    frame with a fragment header among its extension headers (hop-by-hop, routing, destination options, AH)."""
    if len(frame) >= 22 and frame[12:14] == b"\x08\x00":
        return bool((frame[20] & 0x3F) or frame[21])
    if len(frame) < 54 or frame[12:14] != b"\x86\xdd":
        return False
    nh, off = frame[20], 54
    for _ in range(8):  # bounded, as the kernel's walk is
        if nh == 44:
            return True
        if nh not in (0, 43, 60, 51) or off + 2 > len(frame):
            return False
        nh, off = frame[off], off + ((frame[off + 1] + 2) * 4 if nh == 51 else (frame[off + 1] + 1) * 8)
    return False


def fragmented(unit):
    return any(is_fragment(f) for f in unit)


def subject_units(bpftables, text, units, hook, ns_exec=None, ipsets=None, chain="INPUT", backend=None):
    """bpftables's answer per unit. A fragmented unit (lone fragment or split datagram) must be handed to the
    kernel whole (every fragment KERNEL, since 1d6e76c): its answer is KERNEL then, else the first fragment
    bpftables decided itself. Other units: the answer for their one frame."""
    flat = subject.verdicts(bpftables, text, [f for u in units for f in u], hook, ns_exec=ns_exec, ipsets=ipsets,
                            chain=chain, backend=backend)
    out, i = [], 0
    for u in units:
        answers, i = flat[i:i + len(u)], i + len(u)
        decided = [a for a in answers if a["verdict"] != "KERNEL"]
        out.append(decided[0] if decided else answers[0])
    return out


def classify(oracle, subj, unit=None):
    """agree | mismatch | deferred (bpftables hands the packet to the kernel) | fragment_kernel (a fragment,
    handed to the kernel as it must be) | unverifiable | confused."""
    if unit is not None and fragmented(unit):
        return "fragment_kernel" if subj["verdict"] == "KERNEL" else "mismatch"
    if oracle["verdict"] == "CONFUSED":  # nothing to compare a hand-over to
        return "deferred" if subj["verdict"] == "KERNEL" else "confused"
    if oracle["verdict"] == "UNREACHED":
        return "unverifiable"
    if subj["verdict"] == "KERNEL":
        return "deferred"
    if oracle["rule"] == -1:  # hotdrop: the kernel dropped it in filter with no rule counted
        return "agree" if subj["verdict"] == "DROP" else "mismatch"
    same = (subj["verdict"], subj["chain"], subj["rule"]) == (oracle["verdict"], oracle["chain"], oracle["rule"])
    return "agree" if same else "mismatch"


def classify_subject(sname, oracle, subj, unit=None):
    """classify(), plus for the attached subject fail_open: the kernel drops or rejects the packet, yet with
    bpftables attached the host took it in (it got past every filter table, the runtime's copy of the ruleset
    included) or, in the output mode, it left the DUT (it arrived at GEN). Same verdict and rule or not: what the
    host does differs."""
    outcome = classify(oracle, subj, unit)
    if sname == "attached" and subj.get("passed") and oracle["verdict"] in ("DROP", "REJECT") and \
            outcome != "mismatch":
        return "fail_open"
    return outcome


def oracles_agree(a, b):
    return (a["verdict"], a["chain"], a["rule"]) == (b["verdict"], b["chain"], b["rule"])


def decider_families(ruleset, answer):
    if answer.get("rule", -1) == 0:
        return {"policy"}
    if answer.get("rule", -1) < 0:
        return {"hotdrop"} if answer.get("verdict") == "DROP" else set()
    rules = ruleset.rules.get(answer.get("chain"), [])
    if answer["rule"] > len(rules):
        return set()
    fams = rules[answer["rule"] - 1].families()
    if answer["chain"] not in ("INPUT", "FORWARD"):
        fams.add("chains")
    return fams


def describe_answer(ruleset, a):
    if a["verdict"] in ("UNREACHED", "CONFUSED") or a.get("rule", -1) < 0:
        return f"{a['verdict']} ({a.get('why') or a.get('reason') or 'no rule'})"
    if a["rule"] == 0:
        return f"{a['verdict']} by the policy of {a['chain'] or ruleset.base}" + \
            (f" [{a['reason']}]" if a.get("reason") else "")
    rules = ruleset.rules.get(a["chain"], [])
    text = rules[a["rule"] - 1].text(a["chain"]) if a["rule"] <= len(rules) else "?"
    return f"{a['verdict']} by {a['chain']} rule {a['rule']}: {text}" + \
        (f" [{a['reason']}]" if a.get("reason") else "")


def format_case(title, ruleset, p, oracle, subj):
    frames = unit_of(p)
    if getattr(ruleset, "base", "INPUT") == "OUTPUT":
        frames = [as_output(f) for f in frames]
    return "\n".join([
        f"=== {title}",
        "ruleset:",
        ruleset.filter_text().rstrip(),
        f"packet:  {pk.describe(p)}",
        *[f"decoded: {pk.decode(f)}\nhex:\n{pk.hexdump(f)}" for f in frames],
        f"kernel (iptables-legacy): {describe_answer(ruleset, oracle)}",
        f"bpftables:                {describe_answer(ruleset, subj)}",
    ])


class Shrinker:
    """Greedy reduction of (ruleset, packet) while the mismatch persists: drop user chains, drop rules, drop
    matches, simplify the packet. Bounded in checks and time."""

    def __init__(self, oracle, bpftables, hook, max_checks=150, max_seconds=120):
        self.oracle, self.bpftables, self.hook = oracle, bpftables, hook
        self.max_checks, self.deadline = max_checks, time.monotonic() + max_seconds
        self.checks = 0

    def mismatch(self, ruleset, p):
        if self.checks >= self.max_checks or time.monotonic() > self.deadline:
            return None
        self.checks += 1
        if self.oracle.load(ruleset.filter_text()) is not None:
            return False
        unit = unit_of(p)
        try:
            o = self.oracle.verdicts(ruleset, [unit])[0]
            s = subject_units(self.bpftables, ruleset.filter_text(), [unit], self.hook,
                              chain=getattr(ruleset, "base", "INPUT"))[0]
        except subject.CompileError:
            return False
        return (o, s) if classify(o, s, unit) == "mismatch" else False

    def candidates(self, rs, p):
        for chain in reversed(rs.user_chains()):
            c = rs.copy()
            del c.rules[chain]
            for ch in c.rules:
                c.rules[ch] = [r for r in c.rules[ch] if r.target != chain]
            yield c, p
        for chain in rs.rules:
            for i in reversed(range(len(rs.rules[chain]))):
                c = rs.copy()
                del c.rules[chain][i]
                yield c, p
        for chain in rs.rules:
            for i, rule in enumerate(rs.rules[chain]):
                for j in range(len(rule.matches)):
                    c = rs.copy()
                    del c.rules[chain][i].matches[j]
                    yield c, p
                if rule.goto:
                    c = rs.copy()
                    c.rules[chain][i].goto = False
                    yield c, p
        simpler = [("ipopts", b""), ("payload", 0), ("l4_keep", -1), ("eth_dst", b""), ("eth_src", b""),
                   ("tos", 0), ("ttl", 64), ("split", False), ("frag", 0)]
        for field, value in simpler:
            if getattr(p, field) != value:
                q = pk.Packet.from_json(p.to_json())
                setattr(q, field, value)
                yield rs, q

    def shrink(self, rs, p, answers):
        changed = True
        while changed:
            changed = False
            for c, q in self.candidates(rs, p):
                r = self.mismatch(c, q)
                if r is None:
                    return rs, p, answers, False
                if r:
                    rs, p, answers, changed = c, q, r, True
                    break
        return rs, p, answers, True
