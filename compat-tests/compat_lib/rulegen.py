"""Seeded generators: rulesets (one filter table, INPUT plus user chains) and packets aimed at their boundaries.

Each match family can be switched on or off; a family the compiler does not parse yet is found by probing
`bpftables compile` with FAMILY_PROBES and left off. Every match carries hints: packet field values at the edges of
what it matches (first/last address of a prefix, lo-1/lo/hi/hi+1 of a port range, ...) that the packet
generator uses.
"""
import ipaddress
import json
import re

from . import packets as pk
from .netns import DUT_IF

LOCAL = (pk.ip_int("198.18.0.0"), pk.ip_int("198.18.255.255"))  # destinations: delivered locally in the DUT
REMOTE = (pk.ip_int("198.19.0.0"), pk.ip_int("198.19.255.255"))  # sources: never local, no route back

# Family -> one rule that must compile for the family to be enabled automatically.
FAMILY_PROBES = {
    "addr": "-A INPUT -s 198.19.0.0/16 ! -d 198.18.1.0/24 -j ACCEPT",
    "iface": "-A INPUT ! -i vdut+ -j ACCEPT",
    "proto": "-A INPUT ! -p udp -j ACCEPT",
    "frag": "-A INPUT -f -j ACCEPT",
    "tcp": "-A INPUT -p tcp -m tcp --sport 1:2 ! --dport 80 -j ACCEPT",
    "tcpflags": "-A INPUT -p tcp -m tcp --tcp-flags SYN,ACK SYN -j ACCEPT",
    "udp": "-A INPUT -p udp -m udp ! --sport 53 --dport 1:2 -j ACCEPT",
    "chains": "-A INPUT -j RETURN",
    "icmp": "-A INPUT -p icmp -m icmp --icmp-type 8/0 -j ACCEPT",
    "multiport": "-A INPUT -p tcp -m multiport --dports 80,443:445 -j ACCEPT",
    "iprange": "-A INPUT -m iprange --src-range 198.19.0.1-198.19.0.9 -j ACCEPT",
    "length": "-A INPUT -m length --length 40:60 -j ACCEPT",
    "ttl": "-A INPUT -m ttl --ttl-gt 3 -j ACCEPT",
    "tos": "-A INPUT -m tos --tos 0x10/0x3f -j ACCEPT",
    "dscp": "-A INPUT -m dscp --dscp 10 -j ACCEPT",
    "mac": "-A INPUT -m mac --mac-source 02:00:00:c6:13:02 -j ACCEPT",
    "pkttype": "-A INPUT -m pkttype --pkt-type unicast -j ACCEPT",
    "mark": "-A INPUT -m mark --mark 0x1/0xff -j ACCEPT",
    "reject": "-A INPUT -p tcp -j REJECT --reject-with tcp-reset",
    "log": "-A INPUT -j LOG --log-prefix compat",
}
# Packet classes (not matches): fragments are reassembled before INPUT, so the kernel never decides them alone.
PACKET_CLASSES = ("ipopts", "short", "fragments", "split")


class Match:
    def __init__(self, family, text, hints=(), proto_of=None):
        self.family, self.text, self.hints = family, text, list(hints)
        self.proto_of = proto_of  # for the protocol match: the protocol number it needs (None if negated)

    def to_json(self):
        return {"family": self.family, "text": self.text, "hints": self.hints}

    @staticmethod
    def from_json(d):
        return Match(d["family"], d["text"], [tuple(h) for h in d["hints"]])


class Rule:
    def __init__(self, matches, target, goto=False):
        self.matches, self.target, self.goto = matches, target, goto

    def terminal(self):
        return self.target.split()[0] in ("ACCEPT", "DROP", "REJECT", "NFQUEUE")

    def verdict(self):
        words = self.target.split()
        if words[0] == "NFQUEUE":  # no program listens on a queue in the suite's namespaces
            return "ACCEPT" if "--queue-bypass" in words else "DROP"
        return words[0]

    def families(self):
        fams = {m.family for m in self.matches}
        word = self.target.split()[0]
        if word == "REJECT":
            fams.add("reject")
        elif word == "LOG":
            fams.add("log")
        elif not self.terminal():
            fams.add("chains")
        return fams

    def text(self, chain):
        parts = [f"-A {chain}"] + [m.text for m in self.matches] + [f"{'-g' if self.goto else '-j'} {self.target}"]
        return " ".join(parts)

    def to_json(self):
        return {"matches": [m.to_json() for m in self.matches], "target": self.target, "goto": self.goto}

    @staticmethod
    def from_json(d):
        return Rule([Match.from_json(m) for m in d["matches"]], d["target"], d["goto"])


class Ruleset:
    def __init__(self, policy, rules, base="INPUT"):
        self.policy = policy
        self.base = base  # the built-in chain the packets take: INPUT, or FORWARD (as_forward())
        self.rules = rules  # chain name -> [Rule]; the base chain first, then user chains in creation order

    def user_chains(self):
        return [c for c in self.rules if c != self.base]

    def filter_text(self):
        lines = ["*filter"] + [f":{c} {self.policy if c == self.base else 'ACCEPT'} [0:0]"
                               for c in ("INPUT", "FORWARD", "OUTPUT")]
        lines += [f":{c} - [0:0]" for c in self.user_chains()]
        for chain, rules in self.rules.items():
            lines += [r.text(chain) for r in rules]
        return "\n".join(lines + ["COMMIT", ""])

    def all_rules(self):
        return [(c, i, r) for c, rules in self.rules.items() for i, r in enumerate(rules, 1)]

    def families(self):
        fams = {"policy"}
        for _, _, r in self.all_rules():
            fams |= r.families()
        return fams

    def to_json(self):
        d = {"policy": self.policy, "rules": {c: [r.to_json() for r in rs] for c, rs in self.rules.items()}}
        if self.base != "INPUT":
            d["base"] = self.base
        return d

    @staticmethod
    def from_json(d):
        return Ruleset(d["policy"], {c: [Rule.from_json(r) for r in rs] for c, rs in d["rules"].items()},
                       d.get("base", "INPUT"))

    def as_forward(self):
        """The same rules and policy in FORWARD instead of INPUT (the forward mode)."""
        return self._as_base("FORWARD")

    def as_output(self):
        """The rules and policy in OUTPUT (the output mode), as far as OUTPUT takes them: -i of the base chain's
        rules becomes -o (iptables refuses -i in OUTPUT), and -m mac is dropped (not valid in OUTPUT's path)."""
        return self._as_base("OUTPUT")

    def _as_base(self, base):
        d = self.to_json()
        rules = {}
        for c, rs in d["rules"].items():
            for r in rs:
                r["matches"] = [m for m in r["matches"] if base != "OUTPUT" or m["family"] != "mac"]
                if base == "OUTPUT" and c == self.base:
                    for m in r["matches"]:
                        if m["family"] == "iface":
                            m["text"] = re.sub(r"(^|! )-i ", r"\1-o ", m["text"])
            rules[base if c == self.base else c] = rs
        d["rules"], d["base"] = rules, base
        return Ruleset.from_json(d)

    def copy(self):
        return Ruleset.from_json(json.loads(json.dumps(self.to_json())))


def _edges(lo, hi, lo_bound, hi_bound):
    """Values at the edges of [lo, hi], inside and just outside, kept within [lo_bound, hi_bound]."""
    vals = {lo, hi, lo - 1, hi + 1, (lo + hi) // 2}
    return sorted(v for v in vals if lo_bound <= v <= hi_bound)


class RulesetGenerator:
    def __init__(self, rng, families):
        self.rng, self.families = rng, set(families)

    def generate(self):
        rng = self.rng
        self.src_anchors = [rng.randint(*REMOTE) for _ in range(3)]
        self.dst_anchors = [rng.randint(*LOCAL) for _ in range(3)]
        self.port_anchors = [rng.choice([0, 1, 22, 53, 80, 443, 1023, 1024, 65535]) for _ in range(2)] + \
            [rng.randint(0, 65535) for _ in range(2)]
        n_user = rng.choice([0, 1, 1, 2, 3]) if "chains" in self.families else 0
        names = [f"chain{i}" for i in range(n_user)]
        rules = {"INPUT": []}
        for name in names:
            rules[name] = []
        for chain in rules:
            later = names[names.index(chain) + 1:] if chain != "INPUT" else names
            count = rng.randint(1, 10 if chain == "INPUT" else 6)
            rules[chain] = [self.rule(chain, later) for _ in range(count)]
        return Ruleset(rng.choice(["ACCEPT", "DROP"]), rules)

    def rule(self, chain, jumpable):
        rng = self.rng
        matches = []
        proto = None
        if "proto" in self.families and rng.random() < 0.7:
            proto = rng.choice(["tcp", "tcp", "udp", "udp", "icmp", "47", "all", "!tcp", "!udp"])
            if proto.startswith("!"):
                num = {"tcp": pk.TCP, "udp": pk.UDP}[proto[1:]]
                matches.append(Match("proto", f"! -p {proto[1:]}", [("proto", [num, pk.ICMP, 47])]))
                proto = None
            else:
                num = {"tcp": pk.TCP, "udp": pk.UDP, "icmp": pk.ICMP, "47": 47, "all": None}[proto]
                matches.append(Match("proto", f"-p {proto}", [("proto", [num])] if num else [], num))
        choices = [f for f in ("addr", "addr", "iface", "frag", "iprange", "length", "ttl", "tos", "dscp", "mac",
                               "pkttype", "mark") if f in self.families]
        # Protocol-specific matches weigh as much as all the others together, or the wide family list drowns them.
        weight = max(3, len(choices))
        if proto in ("tcp", "udp"):
            choices += [proto] * weight + ["multiport"] * (weight // 2) * ("multiport" in self.families)
            if proto == "tcp" and "tcpflags" in self.families:
                choices += ["tcpflags"] * (weight // 2)
        if proto == "icmp" and "icmp" in self.families:
            choices += ["icmp"] * weight
        used = self.used = set()
        if proto in ("tcp", "udp") and proto in self.families and rng.random() < 0.6:
            used.add(proto)
            matches.append(getattr(self, "m_" + proto)(chain, proto))
        if "frag" in choices and rng.random() < 0.5:
            choices.remove("frag")
        for _ in range(rng.choice([0, 1, 1, 1, 2, 2, 3])):
            fam = rng.choice(choices) if choices else None
            if fam is None or (fam in used and fam not in ("addr",)):
                continue
            used.add(fam)
            m = getattr(self, "m_" + fam)(chain, proto)
            if m:
                matches.append(m)
        # Builtin options (-s -d -i -o -p -f) first, then the -m modules, in the order iptables-save prints them.
        matches.sort(key=lambda m: (not m.text.lstrip("! ").startswith(("-s", "-d", "-i", "-o", "-p", "-f")),
                                    _BUILTIN_ORDER.get(m.text.lstrip("! ")[:2], 9)))
        return Rule(matches, *self.target(chain, jumpable))

    def target(self, chain, jumpable):
        rng = self.rng
        x = rng.random()
        if jumpable and x < 0.25:
            return rng.choice(jumpable), rng.random() < 0.3
        if x < 0.35:
            return "RETURN", False
        if "log" in self.families and x < 0.40:
            return "LOG --log-prefix compat", False
        if "reject" in self.families and x < 0.48:
            return rng.choice(["REJECT", "REJECT --reject-with icmp-port-unreachable",
                               "REJECT --reject-with icmp-admin-prohibited"]), False
        return rng.choice(["ACCEPT", "DROP"]), False

    # --- one method per family: returns a Match ---

    def _neg(self, p=0.2):
        return "! " if self.rng.random() < p else ""

    def m_addr(self, chain, proto):
        rng = self.rng
        is_src = rng.random() < 0.5
        if ("src" if is_src else "dst") in self.used:
            is_src = not is_src
        if ("src" if is_src else "dst") in self.used:
            return None
        self.used.add("src" if is_src else "dst")
        anchors, bounds = (self.src_anchors, REMOTE) if is_src else (self.dst_anchors, LOCAL)
        plen = rng.choice([0, 8, 15, 16, 16, 20, 22, 24, 24, 26, 28, 30, 31, 32, 32])
        base = rng.choice(anchors) if rng.random() < 0.8 else rng.randint(*bounds)
        net = ipaddress.IPv4Network((base, plen), strict=False)
        shown = pk.ip_str(base) if rng.random() < 0.15 else str(net.network_address)  # host bits set sometimes
        lo, hi = int(net.network_address), int(net.broadcast_address)
        vals = _edges(lo, hi, *bounds) + [rng.randint(max(lo, bounds[0]), min(hi, bounds[1]))
                                          if lo <= bounds[1] and hi >= bounds[0] else bounds[0]]
        field = "src" if is_src else "dst"
        return Match("addr", f"{self._neg()}-{'s' if is_src else 'd'} {shown}/{plen}", [(field, vals)])

    def m_iface(self, chain, proto):
        rng = self.rng
        name = rng.choice([DUT_IF, DUT_IF, "vdut+", "vd+", "vdut1", "eth0", "lo", "+", "vdut0x"])
        opt = "-o" if chain != "INPUT" and rng.random() < 0.25 else "-i"
        return Match("iface", f"{self._neg(0.3)}{opt} {name}")

    def m_frag(self, chain, proto):
        return Match("frag", f"{self._neg(0.5)}-f")

    def _port_range(self):
        rng = self.rng
        a = rng.choice(self.port_anchors) if rng.random() < 0.7 else rng.randint(0, 65535)
        if rng.random() < 0.5:
            return str(a), a, a
        b = min(65535, a + rng.choice([1, 2, 10, 1000, 65535]))
        form = rng.random()
        if form < 0.1:
            return f":{b}", 0, b
        if form < 0.2:
            return f"{a}:", a, 65535
        return f"{a}:{b}", a, b

    def m_tcp(self, chain, proto):
        rng = self.rng
        parts, hints = [], []
        for opt, field in (("--sport", "sport"), ("--dport", "dport")):
            if rng.random() < 0.6 or (field == "dport" and not parts):
                text, lo, hi = self._port_range()
                parts.append(f"{self._neg()}{opt} {text}")
                hints.append((field, _edges(lo, hi, 0, 65535)))
        return Match(proto, f"-m {proto} " + " ".join(parts), hints)

    m_udp = m_tcp

    def m_tcpflags(self, chain, proto):
        rng = self.rng
        if rng.random() < 0.4:
            return Match("tcpflags", f"-m tcp {self._neg(0.3)}--syn", [("tcp_flags", [0x02, 0x12, 0x03, 0x10, 0x06])])
        names = pk.TCP_FLAG_NAMES[:6]
        mask = [n for n in names if rng.random() < 0.4] or ["SYN"]
        comp = [n for n in mask if rng.random() < 0.5]
        bits = lambda ns: sum(1 << pk.TCP_FLAG_NAMES.index(n) for n in ns)
        m = "ALL" if len(mask) == 6 else ",".join(mask)
        c = ",".join(comp) or "NONE"
        vals = [bits(comp), bits(comp) ^ (1 << rng.randrange(6)), bits(comp) | (~bits(mask) & 0x3F), rng.randrange(256)]
        return Match("tcpflags", f"-m tcp {self._neg(0.3)}--tcp-flags {m} {c}", [("tcp_flags", vals)])

    def m_icmp(self, chain, proto):
        rng = self.rng
        t = rng.choice([0, 3, 8, 11, 5])
        code = rng.choice([None, 0, 1])
        spec = rng.choice(["any", f"{t}" if code is None else f"{t}/{code}"])
        vals = [t - 1, t, t + 1]
        hints = [("icmp_type", [v for v in vals if 0 <= v <= 255])]
        if code is not None:
            hints.append(("icmp_code", [0, 1, 2]))
        return Match("icmp", f"-m icmp {self._neg()}--icmp-type {spec}", hints)

    def m_multiport(self, chain, proto):
        rng = self.rng
        items, vals = [], []
        for _ in range(rng.randint(1, 4)):
            text, lo, hi = self._port_range()
            text = text.replace(":", "") if text.startswith(":") or text.endswith(":") else text
            lo, hi = (int(text), int(text)) if ":" not in text else map(int, text.split(":"))
            text = str(lo) if lo == hi else text  # multiport refuses a range with equal ends
            items.append(text)
            vals += _edges(lo, hi, 0, 65535)
        opt = rng.choice(["--dports", "--sports", "--ports"])
        field = {"--dports": ["dport"], "--sports": ["sport"], "--ports": ["sport", "dport"]}[opt]
        return Match("multiport", f"-m multiport {self._neg()}{opt} {','.join(items)}", [(f, vals) for f in field])

    def m_iprange(self, chain, proto):
        rng = self.rng
        is_src = rng.random() < 0.5
        anchors, bounds = (self.src_anchors, REMOTE) if is_src else (self.dst_anchors, LOCAL)
        a = rng.choice(anchors)
        b = min(bounds[1], a + rng.choice([0, 1, 255, 4096]))
        opt = "--src-range" if is_src else "--dst-range"
        return Match("iprange", f"-m iprange {self._neg()}{opt} {pk.ip_str(a)}-{pk.ip_str(b)}",
                     [("src" if is_src else "dst", _edges(a, b, *bounds))])

    def m_length(self, chain, proto):
        rng = self.rng
        a = rng.choice([20, 28, 40, 41, 60, 100])
        b = a + rng.choice([0, 1, 20, 500])
        text = str(a) if a == b else f"{a}:{b}"
        return Match("length", f"-m length {self._neg()}--length {text}", [("length", _edges(a, b, 20, 1500))])

    def m_ttl(self, chain, proto):
        rng = self.rng
        op = rng.choice(["eq", "lt", "gt"])
        v = rng.choice([0, 1, 2, 63, 64, 65, 254, 255])
        neg = "! " if op == "eq" and rng.random() < 0.3 else ""
        return Match("ttl", f"-m ttl {neg}--ttl-{op} {v}", [("ttl", _edges(v, v, 0, 255))])

    def m_tos(self, chain, proto):
        rng = self.rng
        v = rng.choice([0x00, 0x08, 0x10, 0x04, 0x02])
        mask = rng.choice([None, 0x3F, 0xFF, 0x1C])
        text = f"0x{v:02x}" if mask is None else f"0x{v:02x}/0x{mask:02x}"
        return Match("tos", f"-m tos {self._neg()}--tos {text}", [("tos", [v, v | 0x01, v | 0xE0, v ^ 0x10])])

    def m_dscp(self, chain, proto):
        v = self.rng.choice([0, 10, 46, 63])
        return Match("dscp", f"-m dscp {self._neg()}--dscp {v}", [("tos", [v << 2, (v << 2) | 3, (v ^ 1) << 2])])

    def m_mac(self, chain, proto):
        from .netns import GEN_MAC
        mac = self.rng.choice([GEN_MAC, bytes.fromhex("020000000099")])
        return Match("mac", f"-m mac {self._neg()}--mac-source {pk.mac_str(mac)}",
                     [("eth_src", [mac.hex(), "020000000099", ""])])

    def m_pkttype(self, chain, proto):
        t = self.rng.choice(["unicast", "broadcast", "multicast"])
        return Match("pkttype", f"-m pkttype {self._neg()}--pkt-type {t}",
                     [("eth_dst", ["", "ffffffffffff", "01005e000001"])])

    def m_mark(self, chain, proto):
        v = self.rng.choice(["0", "0x1", "0x0/0xff", "0x1/0x1"])
        return Match("mark", f"-m mark {self._neg()}--mark {v}")


_BUILTIN_ORDER = {"-s": 0, "-d": 1, "-i": 2, "-o": 3, "-p": 4, "-f": 5}


class PacketGenerator:
    def __init__(self, rng, classes):
        self.rng, self.classes = rng, set(classes)

    def generate(self, ruleset, count):
        rules = [r for _, _, r in ruleset.all_rules()]
        hints = [h for r in rules for m in r.matches for h in m.hints]
        return [self.packet(i, rules, hints) for i in range(count)]

    def packet(self, index, rules, all_hints):
        rng = self.rng
        p = pk.Packet(src=rng.randint(*REMOTE), dst=rng.randint(*LOCAL), ip_id=(index * 7919 + 1) & 0xFFFF)
        p.proto = rng.choice([pk.TCP, pk.TCP, pk.UDP, pk.UDP, pk.ICMP, 47])
        p.sport, p.dport = rng.randint(0, 65535), rng.randint(0, 65535)
        p.tcp_flags = rng.choice([0x02, 0x02, 0x10, 0x12, 0x11, 0x04, rng.randrange(256)])
        p.ttl = rng.choice([64, 64, 64, 1, 0, 255, rng.randrange(256)])
        p.icmp_type, p.icmp_code = rng.choice([(8, 0), (0, 0), (3, 1), (11, 0), (rng.randrange(256), 0)])
        chosen = []
        if rules and rng.random() < 0.9:
            rule = rng.choice(rules)
            chosen += [h for m in rule.matches for h in m.hints if rng.random() < 0.85]
        if all_hints and rng.random() < 0.4:
            chosen.append(rng.choice(all_hints))
        for field, vals in chosen:
            if vals:
                self.apply(p, field, rng.choice(vals))
        if "ipopts" in self.classes and rng.random() < 0.05:
            p.ipopts = rng.choice([b"\x01\x01\x01\x00", b"\x01\x01\x01\x01\x01\x01\x01\x00"])
        if "short" in self.classes and p.proto in (pk.TCP, pk.UDP, pk.ICMP) and rng.random() < 0.03:
            p.l4_keep = rng.randrange(4 if p.proto == pk.ICMP else 8 if p.proto == pk.UDP else 20)
        if "fragments" in self.classes and rng.random() < 0.02:
            p.frag = rng.choice([0x2000, 0x2000 | 1, 1])
        if "split" in self.classes and not p.frag and p.l4_keep < 0 and rng.random() < 0.03:
            p.split = True
            p.payload = max(p.payload, 16)
        return p

    def apply(self, p, field, value):
        if field == "src" and REMOTE[0] <= value <= REMOTE[1]:
            p.src = value
        elif field == "dst" and LOCAL[0] <= value <= LOCAL[1]:
            p.dst = value
        elif field == "proto":
            p.proto = value
        elif field in ("sport", "dport", "tcp_flags", "ttl", "tos", "icmp_type", "icmp_code"):
            setattr(p, field, value & (0xFFFF if field in ("sport", "dport") else 0xFF))
        elif field == "length":
            hdr = 20 + {pk.TCP: 20, pk.UDP: 8, pk.ICMP: 8}.get(p.proto, 8)
            p.payload = max(0, value - hdr)
        elif field in ("eth_src", "eth_dst"):
            setattr(p, field, bytes.fromhex(value))
