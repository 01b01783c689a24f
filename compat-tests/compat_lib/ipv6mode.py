"""The IPv6 mode: ip6tables rulesets against ip6tables-legacy (issue 15).

A GEN/DUT pair of its own (netns.Oracle's shape, IPv6 on in the DUT only): 2001:db8:1::/64 is local in the DUT (a
`local` route), packets come from 2001:db8:2::/48 and 2001:db8:3::/48, which have no route back, so nothing the DUT
answers (REJECT's ICMPv6 or reset, neighbour advertisements) re-enters INPUT. The witness is an empty ip6tables-legacy
mangle table, counters come from `ip6tables-legacy-save -c` and the deciding rule from netns.decide(). The subject is
`bpftables run -6` in the DUT namespace (its conntrack lookups see the DUT's table).

Random rulesets: -s/-d (prefixes and masks that are not, negated), -p (tcp, udp, ipv6-icmp, esp, ipv6-nonxt), ports,
multiport, TCP flags, icmp6 types by name and number, hl, ipv6header, the header matches (dst, rt, ah, frag, hbh),
-i, length, dscp, conntrack --ctstate (NEW, UNTRACKED: neighbour discovery), a user chain. Packets: TCP, UDP and
ICMPv6 (echo, errors, neighbour solicitation and advertisement) with and without extension headers (destination
options, routing, AH, hop-by-hop, a first fragment, ESP, no next header), cut short, hop limits, traffic classes.
Docker's ip6tables rulesets (the corpus) are loaded whole (their filter table) and run the same way.

With the attached subject (`Attached6`, compat.py --subject attached|both) every ruleset also goes through bpftables
attached for real: a pair of the same shape whose DUT veth carries `bpftables attach vdut0 --hook xdp`, the ruleset
restored with `bpftables6-restore --backend legacy` (its kernel copy in ip6tables-legacy), the same frames injected,
the deciding rule from `bpftables6-save -c` (attached.Attached's reading, its witness tables in ip6tables-legacy and
its early witness in an ip6 table), and every rule's and policy's count over the ruleset's packets compared with
ip6tables-legacy's (counted once). Its records have "subject": "attached".
"""
import contextlib
import ipaddress
import os
import random
import re
import struct

from . import attached
from . import compare
from . import netns
from . import packets as pk
from . import subject

LEGACY6 = netns.Flavour("legacy6", ["ip6tables-legacy-restore", "-w", "10"], ["ip6tables-legacy-save", "-c"])
LOCAL6 = "2001:db8:1::/64"
DSTS = ["2001:db8:1::1", "2001:db8:1::2", "2001:db8:1::101"]
SRCS = ["2001:db8:2::5", "2001:db8:2:1::7", "2001:db8:2::100", "2001:db8:3::1", "2001:db8:3:ff::9"]
TERMINAL = ("ACCEPT", "DROP", "REJECT")


class Rule:
    def __init__(self, text, target):
        self.text, self.target = text, target

    def terminal(self):
        return self.target in TERMINAL

    def verdict(self):
        return self.target


class Model:
    """The ruleset as netns.decide() reads it: rules[chain] = [Rule], policy, filter_text()."""

    def __init__(self, text, policy):
        self.text, self.policy, self.rules = text, policy, {}
        table = None
        for line in text.splitlines():
            if line.startswith("*"):
                table = line[1:].strip()
            elif table == "filter" and line.startswith(":"):
                self.rules.setdefault(line[1:].split()[0], [])
            elif table == "filter" and line.startswith("-A "):
                chain = line.split()[1]
                m = re.search(r" -j (\S+)", line)
                self.rules.setdefault(chain, []).append(Rule(line, m.group(1) if m else ""))

    def filter_text(self):
        return self.text


# ---- packets -------------------------------------------------------------------------------------------------

def addr(text):
    return ipaddress.IPv6Address(text).packed


def ext_bytes(kind, next_header):
    if kind == "frag":  # a first fragment: offset 0, more fragments
        return bytes([next_header, 0, 0, 1, 0, 0, 0, 7])
    if kind == "ah":
        return bytes([next_header, 1]) + bytes(10)
    if kind == "hbh" or kind == "dst":  # PadN over six bytes
        return bytes([next_header, 0, 1, 4, 0, 0, 0, 0])
    return bytes([next_header, 0, 0, 0, 0, 0, 0, 0])  # routing: type 0, no segments left


EXT_TYPE = {"hbh": 0, "rt": 43, "frag": 44, "ah": 51, "dst": 60}


def frame(src, dst, l4, proto, ext=(), hop_limit=64, tclass=0, payload_len=None):
    """Ethernet + IPv6 + extension headers + l4 (its checksum filled in at offset l4csum when given)."""
    chain_types = [EXT_TYPE[e] for e in ext] + [proto]
    exts = b"".join(ext_bytes(e, chain_types[i + 1]) for i, e in enumerate(ext))
    body, csum_at = l4
    if csum_at is not None:
        pseudo = addr(src) + addr(dst) + struct.pack("!I", len(body)) + bytes(3) + bytes([proto])
        body = bytearray(body)
        body[csum_at:csum_at + 2] = b"\0\0"
        c = pk.checksum(pseudo + bytes(body))
        if proto == 17 and c == 0:
            c = 0xFFFF
        body[csum_at:csum_at + 2] = struct.pack("!H", c)
        body = bytes(body)
    plen = len(exts) + len(body) if payload_len is None else payload_len
    ip = struct.pack("!IHBB", (6 << 28) | (tclass << 20), plen, chain_types[0], hop_limit) + addr(src) + addr(dst)
    return netns.DUT_MAC + netns.GEN_MAC + b"\x86\xdd" + ip + exts + body


def tcp(sport, dport, flags):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 65535, 0, 0), 16


def udp(sport, dport, payload=8):
    return struct.pack("!HHHH", sport, dport, 8 + payload, 0) + bytes(payload), 6


def icmp6(typ, code=0, body=b"\0\0\0\1"):
    return struct.pack("!BBH", typ, code, 0) + body, 2


def random_packet(rng):
    src, dst = rng.choice(SRCS), rng.choice(DSTS)
    ext = rng.choice([(), (), (), ("dst",), ("rt",), ("ah",), ("dst", "rt"), ("rt", "dst", "ah"), ("hbh",),
                      ("frag",)])
    hl = rng.choice([64, 64, 1, 2, 255])
    tclass = rng.choice([0, 0, 0x20, 0xb8])
    kind = rng.choice(["tcp", "tcp", "udp", "udp", "icmp", "icmp", "nd", "esp", "none", "short"])
    if kind == "tcp":
        l4, proto = tcp(rng.choice([1024, 40000, 53]), rng.choice([22, 80, 443, 1500, 8080]),
                        rng.choice([0x02, 0x02, 0x10, 0x12, 0x11])), 6
    elif kind == "udp":
        l4, proto = udp(rng.choice([53, 40001]), rng.choice([53, 123, 5000, 5005])), 17
    elif kind == "icmp":
        t, c = rng.choice([(128, 0), (129, 0), (1, 4), (1, 3), (2, 0), (3, 0), (4, 1)])
        l4, proto = icmp6(t, c), 58
    elif kind == "nd":  # a neighbour solicitation or advertisement for the DUT's address: hop limit 255
        t = rng.choice([135, 136])
        l4, proto, hl = icmp6(t, 0, bytes(4) + addr(dst)), 58, 255
    elif kind == "esp":
        l4, proto = (bytes([0, 0, 0, 1, 0, 0, 0, 1]) + bytes(8), None), 50
    elif kind == "none":
        l4, proto = (b"", None), 59
    else:  # a TCP header cut short
        l4, proto = (bytes([0, 80, 1, 187]), None), 6
    return frame(src, dst, l4, proto, ext, hl, tclass)


# ---- rulesets ------------------------------------------------------------------------------------------------

SRC_NETS = ["2001:db8:2::/48", "2001:db8:2:1::/64", "2001:db8:2::5/128", "2001:db8::/32",
            "2001:db8:2::/ffff:ffff:ffff::ff", "2001:db8:3::/47"]
DST_NETS = ["2001:db8:1::/64", "2001:db8:1::1/128", "2001:db8:1::100/ffff:ffff:ffff::ff00"]


def neg(rng):
    return "! " if rng.random() < 0.25 else ""


def random_rule(rng, chain_names):
    parts = []
    if rng.random() < 0.35:
        parts.append(f"{neg(rng)}-s {rng.choice(SRC_NETS)}")
    if rng.random() < 0.25:
        parts.append(f"{neg(rng)}-d {rng.choice(DST_NETS)}")
    if rng.random() < 0.15:
        parts.append(f"{neg(rng)}-i {rng.choice(['vdut0', 'vdut+', 'eth0'])}")
    proto = rng.choice([None, None, "tcp", "tcp", "udp", "ipv6-icmp", "ipv6-icmp", "esp", "ipv6-nonxt"])
    if proto:
        parts.append(f"{'! ' if rng.random() < 0.1 else ''}-p {proto}" if proto in ("esp", "ipv6-nonxt")
                     else f"-p {proto}")
    if proto in ("tcp", "udp"):
        r = rng.random()
        if r < 0.3:
            parts.append(f"-m {proto} {neg(rng)}--dport {rng.choice(['80', '22', '1000:2000', '53', '5000:5010'])}")
        elif r < 0.5:
            parts.append(f"-m multiport {neg(rng)}--dports {rng.choice(['22,80,443', '53,123', '8080,1500:1600'])}")
        elif r < 0.6:
            parts.append(f"-m {proto} --sport {rng.choice(['53', '1024:65535'])}")
        if proto == "tcp" and rng.random() < 0.3:
            parts.append(rng.choice(["--syn", "! --syn", "--tcp-flags SYN,ACK ACK"]) if r < 0.3 else
                         f"-m tcp {rng.choice(['--syn', '! --syn', '--tcp-flags SYN,ACK ACK'])}")
    if proto == "ipv6-icmp" and rng.random() < 0.7:
        parts.append(f"-m icmp6 {neg(rng)}--icmpv6-type " + rng.choice(
            ["echo-request", "echo-reply", "1/4", "destination-unreachable", "neighbour-solicitation",
             "neighbour-advertisement", "136", "packet-too-big", "parameter-problem"]))
    if rng.random() < 0.12:
        parts.append(rng.choice(["-m hl --hl-eq 64", "-m hl --hl-lt 2", "-m hl --hl-gt 100", "-m hl ! --hl-eq 1"]))
    if rng.random() < 0.12:
        parts.append("-m ipv6header " + rng.choice(["", "--soft "]) + neg(rng) + "--header " + rng.choice(
            ["dst", "route", "auth", "dst,route", "dst,route,auth,prot", "prot", "esp", "none", "hop", "frag"]))
    if rng.random() < 0.08:
        parts.append(rng.choice(["-m dst --dst-len 0", "-m rt --rt-segsleft 0", "-m ah --ahspi 0:5",
                                 "-m frag --fragid 7", "-m hbh ! --hbh-len 0", "-m rt ! --rt-type 0"]))
    if rng.random() < 0.06:
        parts.append(f"-m length {neg(rng)}--length " + rng.choice(["40:72", "73:1500", "60"]))
    if rng.random() < 0.05:
        parts.append(f"-m dscp {neg(rng)}--dscp " + rng.choice(["0x08", "0x2e", "0"]))
    if rng.random() < 0.08:
        parts.append("-m conntrack --ctstate " + rng.choice(["NEW", "UNTRACKED", "INVALID", "NEW,UNTRACKED"]))
    r = rng.random()
    if r < 0.3:
        target = "ACCEPT"
    elif r < 0.6:
        target = "DROP"
    elif r < 0.75:
        target = "REJECT --reject-with " + ("tcp-reset" if proto == "tcp" and rng.random() < 0.5 else
                                            rng.choice(["icmp6-adm-prohibited", "icmp6-port-unreachable"]))
    elif r < 0.88 and chain_names:
        target = rng.choice(chain_names)
    else:
        target = None
    return " ".join(parts), target


def random_ruleset(rng, n_rules):
    policy = rng.choice(["ACCEPT", "DROP"])
    lines = ["*filter", f":INPUT {policy} [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    user = rng.random() < 0.5
    if user:
        lines.append(":U1 - [0:0]")
        for _ in range(rng.randint(1, 3)):
            spec, target = random_rule(rng, [])
            lines.append(f"-A U1 {spec}" + (f" -j {target}" if target else ""))
        if rng.random() < 0.5:
            lines.append("-A U1 -p udp -j RETURN")
    for _ in range(n_rules):
        spec, target = random_rule(rng, ["U1"] if user else [])
        lines.append(f"-A INPUT {spec}".rstrip() + (f" -j {target}" if target else ""))
    lines.append("COMMIT")
    return "\n".join(lines) + "\n", policy


# ---- the oracle ----------------------------------------------------------------------------------------------

def ipv6_dut(d):
    """IPv6 on in the DUT namespace d (IPv6 forwarding off, a host's default), 2001:db8:1::/64 local."""
    netns.run(["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.default.disable_ipv6=0",
               f"net.ipv6.conf.{netns.DUT_IF}.disable_ipv6=0", "net.ipv6.conf.lo.disable_ipv6=0",
               f"net.ipv6.conf.{netns.DUT_IF}.accept_dad=0", f"net.ipv6.conf.{netns.DUT_IF}.accept_ra=0"], ns=d)
    netns.run(["ip", "-n", d, "-6", "addr", "add", "2001:db8:1::fffe/128", "dev", netns.DUT_IF, "nodad"])
    netns.run(["ip", "-n", d, "-6", "route", "add", "local", LOCAL6, "dev", "lo"])


class Oracle6(netns.Oracle):
    """netns.Oracle's INPUT pair with IPv6 on in the DUT, ip6tables-legacy and no getsockopt counter reader."""

    def __init__(self, tag):
        super().__init__(LEGACY6, tag)

    def _create(self):
        super()._create()
        ipv6_dut(self.dut)

    def _check_fast(self):
        self.use_fast = False  # iptcounters reads IPv4 tables only


class Attached6(attached.Attached):
    """The attached subject for ip6tables rulesets: attached.Attached's pair (XDP) with Oracle6's DUT, its witness
    tables in ip6tables-legacy, the ruleset through bpftables6-restore and its answers from bpftables6-save -c.
    With IPv6 forwarding off the program tells INPUT by the local routes (bpft_local), 2001:db8:1::/64 among them."""
    XTABLES, NFT_FAMILY = "ip6tables", "ip6"

    def __init__(self, bpftables, tag):
        super().__init__(bpftables, tag)
        self.flavour = LEGACY6
        self.restore = os.path.join(os.path.dirname(bpftables), "bpftables6-restore")
        self.save = os.path.join(os.path.dirname(bpftables), "bpftables6-save")

    def _dut_routing(self):
        ipv6_dut(self.dut)


def run_one(o, bpftables, hook, name, text, policy, frames, log, print_max, att=None):
    """The `run` subject's record, then with `att` (Attached6) the attached subject's."""
    rec = {"ruleset": name, "subject": "run", "outcomes": {}, "error": None, "mismatches": []}
    recs = [rec]
    if att is not None:
        recs.append({"ruleset": name, "subject": "attached", "outcomes": {}, "error": None, "mismatches": [],
                     "counter_differences": {}})
    err = o.load(text)
    if err:
        for r in recs:
            r["error"] = f"ip6tables-legacy-restore refused it: {err}"
        return recs
    model = Model(text, policy)
    units = [[f] for f in frames]
    kernel_before = o.counters()
    kernel = o.verdicts(model, units)
    kernel_counts = netns.counter_delta(kernel_before, o.counters())
    try:
        subj = subject.verdicts(bpftables, text, frames, hook, ns_exec=o.dut, ipv6=True)
    except subject.CompileError as e:
        rec["error"] = f"bpftables run -6 failed: {e}"
    else:
        for f, k, s in zip(frames, kernel, subj):
            count(rec, f, k, s, compare.classify(k, s), print_max)
    if att is None:
        return recs
    rec = recs[1]
    err = att.load(text)
    if err:
        rec["error"] = f"bpftables6-restore failed: {err}"
        return recs
    before = netns.Counters(att.saved())
    answers = att.verdicts(model, units)
    counts = netns.counter_delta(before, netns.Counters(att.saved()))
    for u, k, s in zip(units, kernel, answers):
        count(rec, u[0], k, s, compare.classify_subject("attached", k, s, u), print_max)
    # INPUT's rules and policies (and FORWARD's): the frames decide those. OUTPUT counts only what the DUT's own
    # stack sends on its own schedule (MLD reports, neighbour solicitations and their retries, answers to
    # link-local sources), which lands in one pair's window and not in the other's: the rulesets here have no
    # OUTPUT rules, and its counts are not compared.
    kernel_counts = {k: v for k, v in kernel_counts.items() if k[0] != "OUTPUT"}
    counts = {k: v for k, v in counts.items() if k[0] != "OUTPUT"}
    keys = sorted(set(kernel_counts) | set(counts))
    rec["counter_differences"] = {f"{c}:{r}": {"kernel": kernel_counts.get((c, r), 0),
                                               "bpftables": counts.get((c, r), 0)}
                                  for (c, r) in keys if kernel_counts.get((c, r), 0) != counts.get((c, r), 0)}
    rec["counted"] = {"rules": len(keys), "packets": sum(kernel_counts.values())}
    return recs


def count(rec, frame, kernel, subj, outcome, print_max):
    rec["outcomes"][outcome] = rec["outcomes"].get(outcome, 0) + 1
    if outcome in ("mismatch", "confused", "fail_open") and len(rec["mismatches"]) < print_max:
        rec["mismatches"].append({"frame": frame.hex(), "kernel": kernel, "bpftables": subj})


# Neighbour discovery and conntrack: nf_conntrack_icmpv6_error leaves router and neighbour discovery and MLD
# UNTRACKED (a wrong checksum INVALID); echo gets an entry; the program must see the same states.
ND_RULESET = """*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate UNTRACKED -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -j ACCEPT
-A INPUT -m conntrack --ctstate UNTRACKED -j REJECT
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -m state --state NEW -p udp -j ACCEPT
-A INPUT -m state --state NEW,ESTABLISHED -j ACCEPT
COMMIT
"""


def nd_frames():
    dst = DSTS[0]
    out = []
    for t in (135, 136, 133, 134, 130, 143):
        body = bytes(4) + addr(dst) if t in (135, 136) else bytes(4)
        out.append(frame(SRCS[0], dst, icmp6(t, 0, body), 58, (), 255))
    bad = bytearray(frame(SRCS[1], dst, icmp6(135, 0, bytes(4) + addr(dst)), 58, (), 255))
    bad[-20] ^= 0x55  # a wrong checksum: INVALID
    out.append(bytes(bad))
    out.append(frame(SRCS[0], dst, icmp6(128, 0), 58))
    out.append(frame(SRCS[0], dst, icmp6(1, 4, bytes(4)), 58))
    out.append(frame(SRCS[3], dst, udp(40002, 5000), 17))
    out.append(frame(SRCS[3], dst, tcp(40003, 80, 0x02), 6))
    out.append(frame(SRCS[3], dst, tcp(40004, 80, 0x10), 6))
    return out


def docker_rulesets(corpus):
    """The filter tables of Docker's ip6tables rulesets in the corpus: [(name, text, policy of INPUT)]."""
    d = os.path.join(corpus, "docker", "iptabler-sample")
    if not os.path.isdir(d):
        return []
    out = []
    for name in sorted(os.listdir(d)):
        if "ip6tables" not in name:
            continue
        with open(os.path.join(d, name)) as f:
            text = f.read()
        m = re.search(r"^\*filter\n.*?^COMMIT\n", text, re.S | re.M)
        if not m:
            continue
        filt = m.group(0)
        p = re.search(r"^:INPUT (\S+)", filt, re.M)
        out.append((name, filt, p.group(1) if p else "ACCEPT"))
    return out


def run_all(bpftables, hook, seed, n_rulesets, n_packets, corpus, log, print_max=5, n_docker=-1,
            subjects=("run",)):
    """Returns records per ruleset and subject: {"ruleset", "subject", "outcomes": {outcome: n}, "error",
    "mismatches"}, the attached subject's with "counter_differences" and "counted". n_docker: how many of the
    corpus' Docker ip6tables rulesets (-1: all), with n_packets // 2 packets each. subjects: "run" is always
    there; with "attached" every ruleset goes through Attached6 too."""
    recs = []
    with Oracle6("v6") as o, (Attached6(bpftables, "att6") if "attached" in subjects
                                  else contextlib.nullcontext()) as att:
        def one(name, text, policy, frames):
            recs.extend(run_one(o, bpftables, hook, name, text, policy, frames, log, print_max, att))
        one("neighbour discovery and conntrack", ND_RULESET, "DROP", nd_frames())
        for k in range(n_rulesets):
            rng = random.Random(f"{seed}-ipv6-{k}")
            text, policy = random_ruleset(rng, rng.randint(3, 12))
            frames = [random_packet(rng) for _ in range(n_packets)]
            n = len(recs)
            one(f"random {seed}-ipv6-{k}", text, policy, frames)
            for r in recs[n:]:
                r["text"] = text
        rng = random.Random(f"{seed}-ipv6-docker")
        docker = docker_rulesets(corpus)
        for name, text, policy in docker if n_docker < 0 else docker[:n_docker]:
            frames = [random_packet(rng) for _ in range(max(n_packets // 2, 1))]
            one("docker " + name, text, policy, frames)
    return recs

