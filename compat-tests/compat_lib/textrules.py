"""Rulesets given as iptables-save text (regression cases, the corpus, the upstream .t cases): the filter table
parsed into the generator's model (rulegen.Ruleset) so the oracle can tell the deciding rule, with hints (packet
field values at the edges of what each rule matches) read from the rule text for the packet generator.

Corpus rulesets use real-world addresses; remap_addresses() moves every IPv4 address of the text into
198.18.0.0/15 (the top 15 bits replaced, the prefix length kept), so only benchmarking addresses are used.
"""
import ipaddress
import re
import shlex

from . import packets as pk
from .rulegen import Match, Rule, Ruleset, _edges

BENCH = pk.ip_int("198.18.0.0")
LOW17 = (1 << 17) - 1
LOCAL_BASE, REMOTE_BASE = pk.ip_int("198.18.0.0"), pk.ip_int("198.19.0.0")
BUILTIN = {"-s": "addr", "--source": "addr", "-d": "addr", "--destination": "addr", "-i": "iface",
           "--in-interface": "iface", "-o": "iface", "--out-interface": "iface", "-p": "proto", "--protocol": "proto",
           "-f": "frag", "--fragment": "frag"}
MODULE_FAMILY = {"state": "conntrack", "conntrack": "conntrack", "tcp": "tcp", "udp": "udp", "icmp": "icmp"}
PROTO_NUM = {"tcp": pk.TCP, "udp": pk.UDP, "icmp": pk.ICMP, "all": None, "0": None}


def remap_ip(text, src):
    """Sources into 198.19.0.0/16, every other address into 198.18.0.0/16 (the low 16 bits kept)."""
    return pk.ip_str((REMOTE_BASE if src else LOCAL_BASE) | (pk.ip_int(text) & 0xFFFF))


_ADDR = re.compile(r"(?<![\d./:])(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?![\d.])")
# Into 198.19.0.0/16: sources, and TEE's --gateway, to which the DUT has no route (a clone for a local address
# would come back through lo into INPUT and be cloned again, without end).
_SRC_OPTS = ("-s", "--source", "--src-range", "--gateway")


def remap_addresses(text):
    """Every IPv4 address (not a dotted netmask after '/') of the text moved into the test ranges: the argument
    of -s/--source/--src-range/--gateway into 198.19.0.0/16 (the generator's sources), all others into
    198.18.0.0/16 (local in the DUT), prefix lengths kept; a range whose ends swapped is put back in order."""
    out = []
    for line in text.splitlines():
        words, prev = line.split(" "), ""
        for k, w in enumerate(words):
            src = prev in _SRC_OPTS or (prev == "!" and k >= 2 and words[k - 2] in _SRC_OPTS) or \
                w.split("=")[0] in _SRC_OPTS  # --source=ADDR
            w = _ADDR.sub(lambda m: remap_ip(m.group(1), src), w)
            if re.fullmatch(r"\d+\.\d+\.\d+\.\d+-\d+\.\d+\.\d+\.\d+", w):
                a, b = w.split("-")
                w = w if pk.ip_int(a) <= pk.ip_int(b) else f"{b}-{a}"
            words[k], prev = w, words[k]
        out.append(" ".join(words))
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def filter_section(text):
    """The *filter ... COMMIT section of an iptables-save text (empty string if none)."""
    m = re.search(r"^\*filter\s*$(.*?)^COMMIT\s*$", text, re.M | re.S)
    return f"*filter{m.group(1)}COMMIT\n" if m else ""


def parse_filter(text):
    """rulegen.Ruleset of the filter table in text (chains INPUT, then user chains as declared; FORWARD/OUTPUT
    rules are kept too so the counters line up). Raises ValueError on what it cannot read."""
    policy, order, rules, policies = "ACCEPT", ["INPUT"], {"INPUT": []}, {}
    for line in filter_section(text).splitlines():
        line = line.strip()
        if line.startswith(":"):
            name, pol = line[1:].split()[:2]
            if name == "INPUT":
                policy = pol
            elif name in BUILTIN_CHAINS:
                policies[name] = pol
            elif name not in rules:
                order.append(name)
                rules[name] = []
        elif line.startswith("-A "):
            toks = shlex.split(line)
            chain = toks[1]
            rules.setdefault(chain, [])
            if chain not in order:
                order.append(chain)
            rules[chain].append(parse_rule(toks[2:]))
    return TextRuleset(policy, {c: rules[c] for c in order}, policies)


class TextRuleset(Ruleset):
    """A Ruleset whose FORWARD/OUTPUT chains (kept for the counters) are builtin, not user chains."""

    def __init__(self, policy, rules, policies=None):
        super().__init__(policy, rules)
        self.policies = policies or {}

    def user_chains(self):
        return [c for c in self.rules if c not in BUILTIN_CHAINS]

    def filter_text(self):
        lines = ["*filter", f":INPUT {self.policy} [0:0]"] + \
            [f":{c} {self.policies.get(c, 'ACCEPT')} [0:0]" for c in ("FORWARD", "OUTPUT")]
        lines += [f":{c} - [0:0]" for c in self.user_chains()]
        for chain, rules in self.rules.items():
            lines += [r.text(chain) for r in rules]
        return "\n".join(lines + ["COMMIT", ""])

    def to_json(self):
        d = super().to_json()
        d["policies"] = self.policies
        return d

    def copy(self):
        d = self.to_json()
        c = Ruleset.from_json(d)
        return TextRuleset(c.policy, c.rules, dict(d["policies"]))


BUILTIN_CHAINS = ("INPUT", "FORWARD", "OUTPUT")


def parse_rule(toks):
    matches, target, goto = [], "", False
    i, cur = 0, None
    while i < len(toks):
        t = toks[i]
        neg = t == "!"
        if neg:
            i += 1
            t = toks[i]
        if t in ("-j", "--jump", "-g", "--goto"):
            goto = t in ("-g", "--goto")
            target = " ".join(toks[i + 1:])
            break
        if t in BUILTIN:
            has_arg = BUILTIN[t] != "frag"
            words = (["!"] if neg else []) + [t] + ([toks[i + 1]] if has_arg else [])
            cur = None
            matches.append(Match(BUILTIN[t], " ".join(words), _hints(words)))
            i += 2 if has_arg else 1
            continue
        if t in ("-m", "--match"):
            mod = toks[i + 1]
            cur = Match(MODULE_FAMILY.get(mod, mod), f"-m {mod}", [])
            matches.append(cur)
            i += 2
            continue
        # an option of the current module (or of the implicit -p tcp/udp/icmp module)
        j = i + 1
        while j < len(toks) and not toks[j].startswith("-") and toks[j] != "!":
            j += 1
        words = (["!"] if neg else []) + toks[i:j]
        if cur is None:
            proto = next((m.text.split()[-1] for m in matches if m.family == "proto"), "")
            cur = Match(MODULE_FAMILY.get(proto, proto or "?"), "", [])
            matches.append(cur)
        if words[-1 if len(words) > 1 else 0] in ("--tcp-flags", "--syn") or "--tcp-flags" in words or \
                "--syn" in words:
            cur.family = "tcpflags"
        cur.text = (cur.text + " " + " ".join(words)).strip()
        cur.hints += _hints(words)
        i = j
    for m in matches:
        if m.family == "proto":
            num = PROTO_NUM.get(m.text.split()[-1], None)
            if num is None and m.text.split()[-1].isdigit():
                num = int(m.text.split()[-1])
            m.proto_of = num
    return Rule(matches, target or "NONE", goto)


def _port_edges(spec):
    vals = []
    for part in spec.split(","):
        if ":" in part:
            lo, hi = part.split(":")
            lo, hi = int(lo or 0), int(hi or 65535)
        else:
            lo = hi = int(part) if part.isdigit() else 0
        vals += _edges(lo, hi, 0, 65535)
    return vals


def _hints(words):
    w = [x for x in words if x != "!"]
    if not w:
        return []
    opt, args = w[0], w[1:]
    try:
        if opt in ("-s", "--source", "-d", "--destination") and args:
            net = ipaddress.IPv4Network(args[0], strict=False)
            lo, hi = int(net.network_address), int(net.broadcast_address)
            lo, hi = max(lo, BENCH), min(hi, BENCH | LOW17)
            if lo > hi:
                return []
            return [("src" if opt in ("-s", "--source") else "dst", _edges(lo, hi, BENCH, BENCH | LOW17))]
        if opt in ("-p", "--protocol") and args:
            name = args[0].lower()
            num = PROTO_NUM.get(name, int(name) if name.isdigit() else None)
            return [("proto", [num, pk.TCP, pk.UDP, pk.ICMP] if "!" in words else [num])] if num else []
        if opt in ("--dport", "--destination-port", "--sport", "--source-port") and args:
            return [("dport" if "d" in opt[2:4] else "sport", _port_edges(args[0]))]
        if opt in ("--dports", "--destination-ports", "--sports", "--source-ports", "--ports") and args:
            f = {"--dports": ["dport"], "--destination-ports": ["dport"], "--sports": ["sport"],
                 "--source-ports": ["sport"], "--ports": ["sport", "dport"]}[opt]
            return [(x, _port_edges(args[0])) for x in f]
        if opt == "--icmp-type" and args:
            t = args[0].split("/")[0]
            if t.isdigit():
                return [("icmp_type", [int(t) - 1, int(t), int(t) + 1])]
            return [("icmp_type", [0, 3, 8, 11])]
        if opt in ("--tcp-flags", "--syn"):
            return [("tcp_flags", [0x02, 0x12, 0x10, 0x11, 0x04, 0x3F, 0x00, 0x29])]
        if opt == "--length" and args:
            lo, _, hi = args[0].partition(":")
            return [("length", _edges(int(lo or 0), int(hi or lo or 65535), 20, 1500))]
        if opt.startswith("--ttl-") and args:
            return [("ttl", _edges(int(args[0]), int(args[0]), 0, 255))]
        if opt == "--tos" and args:
            v = int(args[0].split("/")[0], 0) if args[0][0].isdigit() else 0x10
            return [("tos", [v, v | 1, v ^ 0x10])]
        if opt == "--dscp" and args:
            v = int(args[0], 0)
            return [("tos", [v << 2, (v ^ 1) << 2])]
        if opt == "--mac-source" and args:
            return [("eth_src", [args[0].replace(":", ""), "020000000099", ""])]
        if opt in ("--src-range", "--dst-range") and args:
            a, b = args[0].split("-")
            return [("src" if opt == "--src-range" else "dst",
                     _edges(pk.ip_int(a), pk.ip_int(b), BENCH, BENCH | LOW17))]
        if opt == "--pkt-type":
            return [("eth_dst", ["", "ffffffffffff", "01005e000001"])]
    except (ValueError, IndexError):
        return []
    return []


FWD = "FORWARD-AS-INPUT"


def forward_as_input(text):
    """The filter table with its FORWARD rules judged on the INPUT path (the bpf-iptables benchmarks and Docker put
    their rules in FORWARD; the oracle delivers locally): FORWARD's rules move to a user chain FORWARD-AS-INPUT,
    jumped to at the end of INPUT, and FORWARD's policy becomes INPUT's. A user chain may hold -o (iptables
    refuses it only in INPUT itself); on the INPUT path the output interface is empty, so `-o X` never matches
    and `! -o X` always does, on both sides. Returns text unchanged when FORWARD has no rules."""
    if not re.search(r"^-A FORWARD ", text, re.M):
        return text
    pol = {m.group(1): m.group(2) for m in re.finditer(r"^:(INPUT|FORWARD) (\S+)", text, re.M)}
    out = []
    for line in text.splitlines():
        if line.startswith(":INPUT "):
            out.append(f":INPUT {pol.get('FORWARD', 'ACCEPT')} [0:0]")
        elif line.startswith(":FORWARD "):
            out += [":FORWARD ACCEPT [0:0]", f":{FWD} - [0:0]"]
        elif line.startswith("-A FORWARD "):
            out.append(f"-A {FWD} " + line[len("-A FORWARD "):])
        elif line.strip() == "COMMIT":
            out += [f"-A INPUT -j {FWD}", line]
        else:
            out.append(line)
    return "\n".join(out) + "\n"
