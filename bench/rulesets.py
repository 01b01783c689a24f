"""What the benchmark measures: rulesets (bench/gen_ruleset.py's synthetic ones, the bpf-iptables paper's corpus,
any iptables-save file), read into one small rule model, and the flows sent against them.

The model covers the shapes of both sources: -s/-d (with or without a prefix), -p tcp/udp, --sport/--dport (one
port or a range), -m conntrack --ctstate / -m state --state; every rule of a benchmark ruleset drops (the
accepted-traffic mode, bench/accepted.py, keeps ACCEPT rules: parse_rules(accept=True)). A packet of
the generator is a flow (proto, saddr, daddr, sport, dport; addresses as integers) and is always in conntrack
state NEW: the generator sends single UDP datagrams and TCP SYNs, nothing ever answers them.

IPv6 (`family` 6): the same rulesets and flows mapped into 2001:db8::/32 (`ipv6_text`, `ipv6_int`): an IPv4
address A/L becomes 2001:db8:A_hi:A_lo::/(32 + L), a flow's address A the host ::1 of that /64. A flow is in an
IPv6 rule exactly when the IPv4 flow is in the IPv4 rule, so the rule model, the flows and the rule each flow is
made for are the IPv4 ones.
"""
import bisect
import ipaddress
import os
import re
import shlex
import subprocess
import sys
from typing import NamedTuple, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "compat-tests"))
from compat_lib.textrules import filter_section, remap_addresses  # noqa: E402

ANY = ipaddress.ip_network("0.0.0.0/0")
BENCH_NET = ipaddress.ip_network("198.18.0.0/15")
BENCH_NET6 = ipaddress.ip_network("2001:db8::/32")
PROTO_NUM = {"tcp": 6, "udp": 17}
FLOW_STATE = "NEW"  # the conntrack state of every generated packet (see the module's comment)


class Rule(NamedTuple):
    src: ipaddress.IPv4Network = ANY
    dst: ipaddress.IPv4Network = ANY
    proto: Optional[str] = None          # None: any protocol
    sport: tuple = (0, 65535)
    dport: tuple = (0, 65535)
    states: Optional[frozenset] = None   # conntrack states (upper case); None: no conntrack match

    def srange(self):
        return int(self.src.network_address), int(self.src.broadcast_address)

    def drange(self):
        return int(self.dst.network_address), int(self.dst.broadcast_address)

    def hittable(self):
        """Whether a generated packet (state NEW) can match this rule."""
        return self.states is None or FLOW_STATE in self.states

    def only_states(self):
        return self._replace(states=None) == Rule()


def _ports(text):
    lo, _, hi = text.partition(":")
    return (int(lo or 0), int(hi or 65535)) if ":" in text else (int(text), int(text))


def parse_rule(line, accept=False):
    """The Rule of one `-A INPUT ...` line; ValueError on an option outside the model. `accept`: ACCEPT rules are
    taken too (accepted traffic, bench/accepted.py; the flows are made the same way whatever the target)."""
    toks = shlex.split(line)
    r, i = {}, 2
    while i < len(toks):
        t = toks[i]
        arg = toks[i + 1] if i + 1 < len(toks) else ""
        if t == "!":
            raise ValueError(f"negation ('! {arg}') is outside the benchmark's rule model")
        if t in ("-s", "--source"):
            r["src"] = ipaddress.ip_network(arg, strict=False)
        elif t in ("-d", "--destination"):
            r["dst"] = ipaddress.ip_network(arg, strict=False)
        elif t in ("-p", "--protocol"):
            if arg not in PROTO_NUM:
                raise ValueError(f"-p {arg}: the generator sends tcp and udp only")
            r["proto"] = arg
        elif t in ("-m", "--match"):
            if arg not in ("tcp", "udp", "conntrack", "state", "comment"):
                raise ValueError(f"-m {arg} is outside the benchmark's rule model")
        elif t == "--comment":
            pass
        elif t in ("--sport", "--source-port"):
            r["sport"] = _ports(arg)
        elif t in ("--dport", "--destination-port"):
            r["dport"] = _ports(arg)
        elif t in ("--ctstate", "--state"):
            r["states"] = frozenset(arg.upper().split(","))
        elif t in ("-j", "--jump"):
            if arg == "ACCEPT" and accept:
                break
            if arg != "DROP":
                raise ValueError(f"-j {arg}: every rule of a benchmark ruleset drops (ACCEPT is turned into DROP)")
            break
        else:
            raise ValueError(f"{t} is outside the benchmark's rule model")
        i += 2
    if ("sport" in r or "dport" in r) and "proto" not in r:
        raise ValueError("a port match without -p")
    return Rule(**r)


def parse_rules(text, accept=False):
    """The Rules of the filter INPUT chain of an iptables-save text, in order."""
    rules = []
    for k, line in enumerate(text.splitlines(), 1):
        if line.startswith("-A INPUT "):
            try:
                rules.append(parse_rule(line, accept))
            except ValueError as e:
                raise ValueError(f"line {k}: {e}: {line}") from None
    return rules


# ---------------------------------------------------------------------------------------------------- sources

def make_ruleset(n, seed, path, accept=False):
    """gen_ruleset.py N with every target DROP: the benchmark measures filtering, not the stack behind ACCEPT.
    With `accept` (accepted traffic) the targets stay as generated and the last rule becomes a UDP rule that
    accepts (its addresses and ports kept), so the `last` flow is delivered to the DUT's stack: UDP, because a TCP
    SYN to a closed port would make the DUT answer every packet with a RST."""
    text = subprocess.run([sys.executable, os.path.join(HERE, "gen_ruleset.py"), str(n), "--seed", str(seed)],
                          check=True, capture_output=True, text=True).stdout
    if accept:
        lines = text.splitlines()
        k = max(i for i, line in enumerate(lines) if line.startswith("-A INPUT "))
        lines[k] = re.sub(r" -j DROP$", " -j ACCEPT", lines[k].replace("-p tcp -m tcp", "-p udp -m udp"))
        text = "\n".join(lines) + "\n"
    else:
        text = text.replace("-j ACCEPT", "-j DROP")
    with open(path, "w") as f:
        f.write(text)
    rules = parse_rules(text, accept)
    assert len(rules) == n, f"parsed {len(rules)} of {n} rules"
    return rules


CORPUS = {"bpf-iptables": "bpf-iptables-bench"}
_GROUP_ORDER = ["ruleset-size", "rule-complexity", "enterprise-public-servers", "ddos-mitigator"]


def corpus_rulesets(corpus_dir, name):
    """(label, path) of each iptables-save file (`*.rules`) of a corpus, in the paper's order."""
    folder = os.path.join(corpus_dir, CORPUS[name])
    found = []
    for f in os.listdir(folder):
        if not f.endswith(".rules"):
            continue
        parts = f[:-len(".rules")].split("__")
        group, leaf = parts[1], parts[-1]
        label = f"{group}/{leaf}"
        num = re.search(r"_(\d+)$", leaf)
        key = (_GROUP_ORDER.index(group) if group in _GROUP_ORDER else 99, len(parts),
               int(num.group(1)) if num else 0, leaf)
        found.append((key, label, os.path.join(folder, f)))
    return [(label, path) for _, label, path in sorted(found)]


def convert(text, origin):
    """An iptables-save ruleset made measurable on the bench's DUT, as the Method section of the report says:
    the filter table only; every IPv4 address moved into 198.18.0.0/15 (compat_lib's remap: -s arguments into
    198.19.0.0/16, all others into 198.18.0.0/16, the low 16 bits and the prefix length kept, so 192.168.a.b
    becomes 198.19.a.b as a source and 198.18.a.b otherwise); FORWARD rules become INPUT rules (every packet is
    local at the DUT); every ACCEPT becomes DROP and the INPUT policy DROP. ValueError when that is not faithful
    (rules in both INPUT and FORWARD, user chains)."""
    section = filter_section(text)
    if not section:
        raise ValueError("no *filter table")
    chains = {line.split()[1] for line in section.splitlines() if line.startswith("-A ")}
    if chains - {"INPUT", "FORWARD"}:
        raise ValueError(f"chains other than INPUT/FORWARD ({', '.join(sorted(chains - {'INPUT', 'FORWARD'}))})")
    if chains == {"INPUT", "FORWARD"}:
        raise ValueError("rules in both INPUT and FORWARD cannot share the DUT's INPUT faithfully")
    out = [f"# {origin}, converted by bench/rulesets.py: addresses into 198.18.0.0/15, FORWARD -> INPUT, "
           "ACCEPT -> DROP, policy DROP"]
    for line in remap_addresses(section).splitlines():
        if line.startswith(":INPUT "):
            line = ":INPUT DROP [0:0]"
        elif line.startswith("-A "):
            line = re.sub(r"^-A FORWARD ", "-A INPUT ", line)
            line = re.sub(r" -j ACCEPT$", " -j DROP", line)
        out.append(line)
    return "\n".join(out) + "\n"


def load_file_ruleset(src, path):
    """convert() of the file `src`, written to `path`; returns its Rules (ValueError if outside the model)."""
    with open(src) as f:
        text = convert(f.read(), os.path.relpath(src, os.path.dirname(ROOT)))
    rules = parse_rules(text)
    if not rules:
        raise ValueError("no rules")
    with open(path, "w") as f:
        f.write(text)
    return rules


# ---------------------------------------------------------------------------------------------------- IPv6

def ipv6_int(a):
    """The IPv6 address (an integer) of the IPv4 address `a` (an integer): 2001:db8:A_hi:A_lo::1."""
    return int(BENCH_NET6.network_address) | (a << 64) | 1


def ipv6_net(net):
    """The IPv6 network of an IPv4 network: 2001:db8:A_hi:A_lo::/(32 + L); 0.0.0.0/0 stays everything (::/0)."""
    if net.prefixlen == 0:
        return ipaddress.ip_network("::/0")
    return ipaddress.IPv6Network((int(BENCH_NET6.network_address) | (int(net.network_address) << 64),
                                  32 + net.prefixlen))


_ADDRESS = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?:/(\d{1,3}(?:\.\d{1,3}){3}|\d{1,2}))?(?![\d.])")


def ipv6_text(text):
    """An iptables-save ruleset (IPv4) as the ip6tables-save ruleset of the same rules: every address of a rule
    mapped with ipv6_net; anything else unchanged (a rule outside the rule model is not converted here either)."""
    def one(m):
        return str(ipv6_net(ipaddress.ip_network(m.group(0), strict=False)))
    return "".join(_ADDRESS.sub(one, line) if line.startswith("-A ") else line
                   for line in text.splitlines(keepends=True))


def write_ipv6(src, path):
    """ipv6_text() of the file `src`, written to `path`."""
    with open(src) as f:
        text = ipv6_text(f.read())
    with open(path, "w") as f:
        f.write(text)


def classbench_rulesets(corpus_dir, sets, sizes, work_dir, log=print):
    """(label, iptables-save path, filters left out) of each ClassBench set SEED_N (`sets` like ["acl1", "fw1"],
    `sizes` like [1000, 10000]): the filter set `work_dir/SEED_N` is made by the corpus' db_generator
    (`-bc SEED N 2 0.5 -0.1`, as docs/design-notes.md's figures) unless it is there already (db_generator seeds
    itself from the clock: keeping the file keeps the set of an earlier run), built into `work_dir` from
    `corpus_dir/classbench/db_generator` on first use; then bench/classbench.py's rules (every one DROP,
    the policy too) without the filters on protocols the generator cannot send (not tcp or udp). The addresses
    are ClassBench's own (all of IPv4): bpftables at the DUT is forced to INPUT (no route is looked up), the
    netfilter contenders would only see the packets addressed to the DUT, so ClassBench rows measure the
    programs (run_bench.py: CLASSBENCH_CONTENDERS)."""
    from classbench import convert as classbench_convert
    source = os.path.join(corpus_dir, "classbench")
    gen = os.path.join(work_dir, "db_generator", "db_generator")
    out = []
    for name in sets:
        for n in sizes:
            raw = os.path.join(work_dir, f"{name}_{n}")
            if not os.path.exists(raw):
                if not os.path.exists(gen):
                    build = os.path.dirname(gen)
                    os.makedirs(build, exist_ok=True)
                    for f in os.listdir(os.path.join(source, "db_generator")):
                        with open(os.path.join(source, "db_generator", f), "rb") as a, \
                                open(os.path.join(build, f), "wb") as b:
                            b.write(a.read())
                    log(f"classbench: building db_generator in {build}")
                    subprocess.run(["make", "-C", build, "db_generator"], check=True, capture_output=True)
                log(f"classbench: generating {raw}")
                subprocess.run([gen, "-bc", os.path.join(source, "seeds", f"{name}_seed"), str(n), "2", "0.5",
                                "-0.1", raw], check=True, capture_output=True, cwd=work_dir)
            with open(raw) as f:
                text, _ = classbench_convert(f.readlines())
            # policy DROP, as for the other rulesets: `miss` then measures the walk, not the stack behind ACCEPT
            lines = text.replace(":INPUT ACCEPT", ":INPUT DROP").splitlines()
            kept = [line for line in lines if not line.startswith("-A ") or " -p tcp" in line or
                    " -p udp" in line or " -p " not in line]
            path = os.path.join(work_dir, f"{name}_{n}.rules")
            with open(path, "w") as f:
                f.write("\n".join(kept) + "\n")
            out.append((f"classbench/{name}_{n}", path, len(lines) - len(kept)))
    return out


# ---------------------------------------------------------------------------------------------------- flows

def _span(rule):
    """The rule as integer bounds, for the loops below."""
    s0, s1 = rule.srange()
    d0, d1 = rule.drange()
    return (rule.proto, s0, s1, d0, d1, rule.sport[0], rule.sport[1], rule.dport[0], rule.dport[1],
            rule.hittable())


def _hits(c, flow):
    p, s0, s1, d0, d1, sp0, sp1, dp0, dp1, ok = c
    fp, fs, fd, fsp, fdp = flow
    return ok and (p is None or p == fp) and s0 <= fs <= s1 and d0 <= fd <= d1 and sp0 <= fsp <= sp1 and \
        dp0 <= fdp <= dp1


def first_match(rules, flow, spans=None):
    spans = spans or [_span(r) for r in rules]
    return next((k for k, c in enumerate(spans) if _hits(c, flow)), None)


class _Used:
    """The values each field takes in some rule that constrains it (merged intervals), so that a flow for a rule
    that leaves a field open can pick a value no other rule constrains: it then hits its own rule, not an
    earlier one that names that value (e.g. enterprise's `--ctstate NEW -s X` rules before `-d Y --dport P`)."""

    def __init__(self, rules):
        self.fields = {}
        for name, get, full in (("src", Rule.srange, (0, (1 << 32) - 1)), ("dst", Rule.drange, (0, (1 << 32) - 1)),
                                ("sport", lambda r: r.sport, (0, 65535)), ("dport", lambda r: r.dport, (0, 65535))):
            spans = sorted({get(r) for r in rules if get(r) != full})
            merged = []
            for lo, hi in spans:
                if merged and lo <= merged[-1][1] + 1:
                    merged[-1][1] = max(merged[-1][1], hi)
                else:
                    merged.append([lo, hi])
            self.fields[name] = ([m[0] for m in merged], [m[1] for m in merged])

    def used(self, name, v):
        los, his = self.fields[name]
        k = bisect.bisect_right(los, v) - 1
        return k >= 0 and v <= his[k]

    def pick(self, name, lo, hi, rnd, tries=32):
        v = rnd.randint(lo, hi)
        for _ in range(tries):
            if not self.used(name, v):
                return v
            v = rnd.randint(lo, hi)
        return v


def flow_for(rule, rnd, used):
    """A flow inside the rule; an open field gets a value no other rule constrains (when one is found)."""
    def addr(net, name):
        if net.prefixlen == 0:
            return used.pick(name, int(BENCH_NET.network_address), int(BENCH_NET.broadcast_address), rnd)
        return int(net.network_address) + rnd.randrange(net.num_addresses)

    def port(span, name):
        return used.pick(name, 1024, 65535, rnd) if span == (0, 65535) else rnd.randint(*span)
    return (rule.proto or "udp", addr(rule.src, "src"), addr(rule.dst, "dst"), port(rule.sport, "sport"),
            port(rule.dport, "dport"))


def make_flows(rules, traffic, rnd, limit=1 << 16):
    """Flows for a traffic kind: `last` — one flow whose first matching rule is the last rule a NEW packet can
    match (when no packet reaches it, the latest rule that one of a few flows aimed at the last rules reaches);
    `spread` — one flow per such rule (evenly sampled above `limit`); `miss` — up to 64 flows no rule
    matches (the policy decides). Returns [] when the ruleset allows no such flow."""
    used = _Used(rules)
    spans = [_span(r) for r in rules]
    hit = [k for k, r in enumerate(rules) if r.hittable()]
    if traffic == "last":
        if not hit:
            return []
        k = hit[-1]
        for _ in range(100):
            f = flow_for(rules[k], rnd, used)
            if not any(_hits(c, f) for c in spans[:k]):
                return [f]
        # No packet reaches the last rule (ClassBench sets end with rules that earlier ones cover): the flow
        # whose first matching rule is the latest found, from a few flows inside each of the last rules.
        best, best_k = None, -1
        for k in hit[-2:-33:-1]:
            if k <= best_k:
                break
            for _ in range(4):
                f = flow_for(rules[k], rnd, used)
                j = first_match(rules, f, spans)
                if j is not None and j > best_k:
                    best, best_k = f, j
        return [best] if best else []
    if traffic == "spread":
        return [flow_for(rules[k], rnd, used) for k in spread_rules(rules, limit)]
    flows = []  # miss: destination port 9, below every synthetic rule's ports; anything that matches is left out
    base = int(BENCH_NET.network_address)
    for _ in range(64 * 16):
        f = (rnd.choice(["tcp", "udp"]), base + rnd.randrange(1 << 17), base + rnd.randrange(1 << 17),
             rnd.randint(1024, 65535), 9)
        if not any(_hits(c, f) for c in spans):
            flows.append(f)
            if len(flows) == 64:
                break
    return flows


def spread_rules(rules, limit=1 << 16):
    """The indices of the rules that `spread` makes one flow for, in the order of its flows."""
    hit = [k for k, r in enumerate(rules) if r.hittable()]
    return hit[::max(1, len(hit) // limit)]


def own_rule_share(rules, flows, sample=512):
    """(decided, checked): of up to `sample` `spread` flows (evenly spaced), how many are decided by the rule
    they were made for (their first matching rule is that rule)."""
    spans = [_span(r) for r in rules]
    pairs = list(zip(flows, spread_rules(rules)))
    pairs = pairs[::max(1, len(pairs) // sample)]
    return sum(first_match(rules, f, spans) == k for f, k in pairs), len(pairs)


def write_flows(flows, path, family=4):
    """The flows file of bpftables_bench; family 6 writes each flow's addresses mapped by ipv6_int."""
    addr = ipaddress.IPv4Address if family == 4 else lambda a: ipaddress.IPv6Address(ipv6_int(a))
    with open(path, "w") as f:
        for proto, s, d, sp, dp in flows:
            f.write(f"{proto} {addr(s)} {addr(d)} {sp} {dp}\n")


# ---------------------------------------------------------------------------------------------------- nft

def nft_translate(ruleset, path, family=4):
    """iptables-restore-translate's output (ip6tables-restore-translate's for family 6: an `ip6` table), plus a
    trailing counter rule: nft has no policy counters."""
    tool, table = ("iptables-restore-translate", "ip") if family == 4 else ("ip6tables-restore-translate", "ip6")
    text = subprocess.run([tool, "-f", ruleset], check=True, capture_output=True, text=True).stdout
    with open(path, "w") as f:
        f.write(text + f"add rule {table} filter INPUT counter\n")


def _box(r):
    p = (PROTO_NUM[r.proto],) * 2 if r.proto else (0, 255)
    return (p, r.srange(), r.drange(), r.sport, r.dport)


def _in_box(box, point):
    return all(lo <= v <= hi for (lo, hi), v in zip(box, point))


# The concatenated fields of a set: (type, selector, is this rule's field open, its text in an element).
_FIELDS = [("ipv4_addr", "ip saddr", lambda r: r.src.prefixlen == 0, lambda r: str(r.src)),
           ("ipv4_addr", "ip daddr", lambda r: r.dst.prefixlen == 0, lambda r: str(r.dst)),
           ("inet_proto", "meta l4proto", lambda r: r.proto is None, lambda r: r.proto or "0-255"),
           ("inet_service", "th sport", lambda r: r.sport == (0, 65535), lambda r: f"{r.sport[0]}-{r.sport[1]}"),
           ("inet_service", "th dport", lambda r: r.dport == (0, 65535), lambda r: f"{r.dport[0]}-{r.dport[1]}")]


def _kept(rules):
    """The rules whose set elements the kernel takes. Its pipapo set refuses an element that overlaps one already
    in it (EEXIST), so an element whose first or last point an earlier element already matches is left out: the
    packets it would drop are dropped by that earlier element, or (for a partial overlap) this makes the set
    version drop slightly less."""
    kept, by_dst = [], {}
    for r in dict.fromkeys(rules):
        b = _box(r)
        key = (b[0], r.dst.supernet(new_prefix=24) if r.dst.prefixlen > 24 else r.dst)
        first, last = tuple(x[0] for x in b), tuple(x[1] for x in b)
        if any(_in_box(k, first) or _in_box(k, last) or _in_box(b, tuple(x[0] for x in k))
               for k in by_dst.get(key, [])):
            continue
        kept.append(r)
        by_dst.setdefault(key, []).append(b)
    return kept


def _set(name, rules, family=4):
    """(set definition, the selector expression) for rules. The fields that fewer rules leave open come first:
    pipapo narrows the candidates field by field, and a first field every element leaves open (enterprise's
    sources) makes a lookup about 10 times slower (enterprise rules_5000, miss, 0.5 s runs on a loaded machine:
    0.012 Mpps with saddr first, 0.13 with daddr first, 0.18 in this order). With no open field (the synthetic
    rulesets) the order stays saddr . daddr . l4proto . sport . dport."""
    fields = sorted(_FIELDS, key=lambda f: sum(map(f[2], rules)))  # stable: ties keep the order above
    if family == 6:  # the same fields in the same order, the addresses mapped (ipv6_net)
        fields = [_FIELDS6.get(f[1], f) for f in fields]
    elems = [" . ".join(f[3](r) for f in fields) for r in _kept(rules)]
    return (f"  set {name} {{\n    type {' . '.join(f[0] for f in fields)}; flags interval;\n"
            "    elements = {\n      " + ",\n      ".join(elems) + "\n    }\n  }\n",
            " . ".join(f[1] for f in fields) + f" @{name}")


_FIELDS6 = {"ip saddr": ("ipv6_addr", "ip6 saddr", _FIELDS[0][2], lambda r: str(ipv6_net(r.src))),
            "ip daddr": ("ipv6_addr", "ip6 daddr", _FIELDS[1][2], lambda r: str(ipv6_net(r.dst)))}


def nft_set(rules, path, family=4):
    """The same rules with nftables sets, possible because every rule has the same verdict (so their order does
    not change any packet's verdict): the rules of each conntrack state list (none, or e.g. NEW) become one
    concatenated interval set behind one `ct state` rule, in the order each list first appears; a rule that
    matches on the conntrack state alone stays a rule."""
    groups = {}
    for r in rules:
        groups.setdefault(r.states, []).append(r)
    sets, chain = [], []
    for states, rs in groups.items():
        ct = f"ct state {','.join(sorted(s.lower() for s in states))} " if states else ""
        if any(r.only_states() for r in rs):
            chain.append(f"{ct}counter drop")
        rest = [r for r in rs if not r.only_states()]
        if rest:
            definition, lookup = _set("rules" if not sets else f"rules{len(sets)}", rest, family)
            sets.append(definition)
            chain.append(f"{ct}{lookup} counter drop")
    with open(path, "w") as f:
        f.write(f"table {'ip' if family == 4 else 'ip6'} bench {{\n" + "".join(sets) +
                "  chain INPUT {\n    type filter hook input priority filter; policy drop;\n" +
                "".join(f"    {c}\n" for c in chain) + "    counter\n  }\n}\n")
