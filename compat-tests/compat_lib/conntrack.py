"""Conntrack cases: flows set up by a real handshake through the DUT namespace, so NEW / ESTABLISHED / RELATED /
INVALID are the kernel's own states.

A TCP listener (198.18.0.10:8080) and a UDP socket (198.18.0.10:5353) live in the DUT namespace; the DUT routes
198.19.0.0/16 back through the veth (Oracle(route_back=True)). Each case is a sequence of steps; before a step's
packets are injected, `ip netns exec DUT bpftables run` judges the same frames, so BPF_PROG_TEST_RUN's
bpf_xdp_ct_lookup sees the DUT's conntrack table as the kernel will when the packets arrive. Packets inside one
step do not change each other's state as far as their verdicts go (distinct flows, packets that leave the entry as it
is, or, on the established flow, data that moves the window's edges by less than any case depends on).

The attached subject (attached=, an attached.Attached(route_back=True) pair of the same shape) runs the same flows
in its own DUT, step by step beside the oracle's: the ruleset restored there with bpftables-restore (the program at
XDP, the kernel's copy of the ruleset beside it, which loads conntrack in that namespace), its own listener and UDP
socket, the same packets built with its own DUT's sequence numbers (read off its SYN-ACK), so the program's
bpf_xdp_ct_lookup sees that kernel's real entries. Its answers (bpftables-save -c, as attached.py reads them)
compare with the oracle's answer for the same step packet.
"""
import dataclasses
import socket
import struct
import subprocess

from . import compare, subject
from . import packets as pk

SERVER = pk.ip_int("198.18.0.10")
TCP_PORT, UDP_PORT = 8080, 5353
SYN, ACK, PSH, FIN, RST = 0x02, 0x10, 0x08, 0x01, 0x04
NOP, SACK, TIMESTAMP = 1, 5, 8

RULESETS = {
    "ctstate": """*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 8080 -m conntrack --ctstate NEW -j ACCEPT
-A INPUT -p udp -m udp --dport 5353 -m conntrack --ctstate NEW -j ACCEPT
COMMIT
""",
    "state": """*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m state --state ESTABLISHED -j ACCEPT
-A INPUT -m state --state RELATED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 8080 --tcp-flags FIN,SYN,RST,ACK SYN -m state --state NEW -j ACCEPT
-A INPUT -m conntrack ! --ctstate NEW -j DROP
-A INPUT -p udp -j ACCEPT
COMMIT
""",
    "policy-accept": """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp ! --dport 8080 -m conntrack --ctstate NEW -j DROP
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p udp -m conntrack --ctstate NEW -j ACCEPT
COMMIT
""",
}


def _tcp(src, sport, flags, seq, ack, payload=0, dport=TCP_PORT, tcpopts=b""):
    return pk.Packet(src=src, dst=SERVER, proto=pk.TCP, sport=sport, dport=dport, tcp_flags=flags, seq=seq, ack=ack,
                     payload=payload, tcpopts=tcpopts)


def _timestamps(value, echo):
    """NOP, NOP, timestamps: the options of most segments of a Linux flow."""
    return struct.pack("!BBBBII", NOP, NOP, TIMESTAMP, 10, value, echo)


def _sack(left, right):
    """NOP, NOP, one SACK block."""
    return struct.pack("!BBBBII", NOP, NOP, SACK, 10, left & 0xFFFFFFFF, right & 0xFFFFFFFF)


def _quoted_reply(src, sport):
    """The IP header + 8 bytes of a packet the DUT sent to (src, sport): what an ICMP error quotes."""
    inner = pk.Packet(src=SERVER, dst=src, proto=pk.TCP, sport=TCP_PORT, dport=sport, tcp_flags=SYN | ACK)
    frame = pk.build(inner, b"\0" * 6, b"\0" * 6)
    return frame[14:14 + 28]


class Side:
    """One place the flows run: a GEN/DUT pair with route_back (the oracle's netns.Oracle, or the attached
    subject's attached.Attached), the TCP listener and UDP socket in its DUT, and its current TCP flow: srv, the
    server's next sequence number (its SYN-ACK's + 1), and live, false once the flow could not be set up here as it
    was on the oracle's side (the side's later steps of that flow are skipped)."""

    def __init__(self, pair, subject):
        self.pair, self.subject = pair, subject
        self.tcp = self.udp = None
        self.srv, self.live = None, True

    def open(self):
        self.tcp = self.pair.dut_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.udp = self.pair.dut_socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((pk.ip_str(SERVER), TCP_PORT))
        self.tcp.listen(64)
        self.udp.bind((pk.ip_str(SERVER), UDP_PORT))

    def close(self):
        for sk in (self.tcp, self.udp):
            if sk:
                sk.close()
        self.tcp = self.udp = None

    def synack(self, src, sport):
        """The server's next sequence number from the DUT's SYN-ACK to (src, sport), read off the wire, or None."""
        want = lambda f: f[23] == pk.TCP and f[30:34] == struct.pack("!I", src) and \
            f[34:38] == struct.pack("!HH", TCP_PORT, sport) and f[47] & 0x12 == 0x12  # noqa: E731
        frame = self.pair.received(want)
        return None if frame is None else struct.unpack("!I", frame[38:42])[0] + 1

    def udp_drain(self):
        self.udp.setblocking(False)
        try:
            while True:
                self.udp.recv(2048)
        except BlockingIOError:
            pass

    def udp_reply(self):
        """Answers the datagram the DUT's UDP socket received; False when none came (bounded wait)."""
        self.udp.settimeout(0.5)
        try:
            data, addr = self.udp.recvfrom(2048)
        except socket.timeout:
            return False
        self.udp.sendto(b"pong", addr)
        return True


class Runner:
    """Runs the cases of one ruleset on the oracle's side (iptables-legacy, and `bpftables run` in its DUT) and,
    with the attached subject, on the attached side; records every packet, per subject."""

    def __init__(self, oracle, att, bpftables, hook, subjects, name, text, model, log):
        self.o, self.a, self.bpftables, self.hook, self.subjects = oracle, att, bpftables, hook, subjects
        self.name, self.text, self.model, self.log = name, text, model, log
        self.records = []

    def step(self, labels, build):
        """build(srv) gives the step's packets for a side whose server sequence number is srv. On the oracle's
        side `bpftables run` first (the state before the packets), then the kernel; then the attached side, whose
        answers compare with the kernel's. Returns (the kernel's answers, the attached side's or None)."""
        pkts = build(self.o.srv)
        units = [compare.unit_of(p) for p in pkts]
        run = None
        if "run" in self.subjects:
            run = compare.subject_units(self.bpftables, self.text, units, self.hook, ns_exec=self.o.pair.dut)
        kern = self.o.pair.verdicts(self.model, units)
        if run is not None:
            self.record("run", labels, pkts, units, kern, run)
        att = None
        if self.a is not None and self.a.live:
            apkts = build(self.a.srv)
            aunits = [compare.unit_of(p) for p in apkts]
            att = self.a.pair.verdicts(self.model, aunits)
            self.record("attached", labels, apkts, aunits, kern, att)
        return kern, att

    def record(self, sname, labels, pkts, units, kern, subj):
        for p, u, k, s, what in zip(pkts, units, kern, subj, labels):
            rec = {"ruleset": self.name, "case": what, "subject": sname, "packet": pk.describe(p),
                   "hex": " ".join(f.hex() for f in u), "kernel": k, "bpftables": s,
                   "outcome": compare.classify_subject(sname, k, s, u),
                   "kernel_text": compare.describe_answer(self.model, k),
                   "bpftables_text": compare.describe_answer(self.model, s)}
            if sname == "attached":  # what the host did after the program and the kernel's copy of the ruleset
                rec["host"] = "taken in" if s.get("passed") else "not taken in"
            self.records.append(rec)

    def broken(self, what, why):
        """The attached side's flow could not be set up as the oracle's was: its later steps are skipped."""
        self.a.live = False
        self.log(f"conntrack {self.name} (attached): {what}: {why}")
        self.records.append({"ruleset": self.name, "case": what, "subject": "attached", "outcome": "flow_failed",
                             "error": why})

    def sides(self):
        return [self.o] + ([self.a] if self.a is not None and self.a.live else [])

    def handshake(self, src, sport, isn):
        """SYN, each DUT's SYN-ACK read from the wire, ACK. Returns False when the oracle's DUT sent no SYN-ACK."""
        for side in self.sides():
            side.pair.drain()
        self.step(["tcp SYN (NEW)"], lambda srv: [_tcp(src, sport, SYN, isn, 0)])
        self.o.srv = self.o.synack(src, sport)
        if self.o.srv is None:
            return False
        if self.a is not None and self.a.live:
            self.a.srv = self.a.synack(src, sport)
            if self.a.srv is None:
                self.broken("tcp handshake", "no SYN-ACK from the attached DUT's listener (the oracle's DUT sent one)")
        self.step(["tcp ACK completing the handshake (ESTABLISHED)"], lambda srv: [_tcp(src, sport, ACK, isn + 1, srv)])
        return True

    def run(self, base):
        src, sport, isn = pk.ip_int("198.19.7.1") + base, 40000 + base, 1000 + base * 7
        for side in self.sides():
            side.srv = None
        if self.handshake(src, sport, isn):
            c = isn + 1
            self.step([
                "tcp data on the established flow (ESTABLISHED)",
                "ICMP port unreachable quoting the DUT's SYN-ACK (RELATED)",
                "tcp ACK far outside the window of the established flow (INVALID)",
                "tcp ACK of data the DUT never sent (INVALID)",
                "tcp ACK with timestamps inside the window of the established flow (ESTABLISHED)",
                "tcp ACK with a SACK block on the established flow (ESTABLISHED; the SACK is left to the kernel)",
                "tcp SYN+FIN on the established flow (INVALID)",
                "tcp data with a wrong TCP checksum on the established flow (INVALID: nf_conntrack_checksum)",
                "tcp SYN to a closed port (NEW)",
                "tcp SYN with a data offset under 5 (INVALID: tcp_error)",
                "tcp ACK without a connection (NEW for the kernel: mid-stream pickup)",
                "ICMP port unreachable quoting nothing known (INVALID)",
            ], lambda s: [
                _tcp(src, sport, ACK | PSH, c, s, payload=10),
                pk.Packet(src=src, dst=SERVER, proto=pk.ICMP, icmp_type=3, icmp_code=3,
                          icmp_inner=_quoted_reply(src, sport)),
                _tcp(src, sport, ACK, c + (1 << 30), s),
                _tcp(src, sport, ACK, c + 10, s + (1 << 20)),
                _tcp(src, sport, ACK, c + 10, s, tcpopts=_timestamps(1, 0)),
                _tcp(src, sport, ACK, c + 10, s, tcpopts=_sack(s - 20, s - 10)),
                _tcp(src, sport, SYN | FIN, c, 0),
                dataclasses.replace(_tcp(src, sport, ACK | PSH, c + 10, s, payload=10), l4_bad_csum=True),
                _tcp(src + 1, sport, SYN, 5000, 0, dport=TCP_PORT + 1),
                dataclasses.replace(_tcp(src + 4, sport, SYN, 6000, 0), tcp_doff=4),
                _tcp(src + 2, sport + 1, ACK, 7000, 9000),
                pk.Packet(src=src + 3, dst=SERVER, proto=pk.ICMP, icmp_type=3, icmp_code=3,
                          icmp_inner=_quoted_reply(src + 3, 999)),
            ])
            self.step(["tcp FIN,ACK closing (ESTABLISHED)"], lambda s: [_tcp(src, sport, FIN | ACK, c + 10, s)])
        else:
            self.log(f"conntrack {self.name}: no SYN-ACK from the DUT listener (the ruleset dropped the SYN?)")
        # UDP: a datagram (NEW), the DUT's reply, a second datagram (ESTABLISHED); a flow of its own on each side.
        if self.a is not None:
            self.a.live = True
        usrc, uport = pk.ip_int("198.19.8.1") + base, 50000 + base
        for side in self.sides():
            side.udp_drain()
        datagram = lambda _srv: [pk.Packet(src=usrc, dst=SERVER, proto=pk.UDP, sport=uport,  # noqa: E731
                                           dport=UDP_PORT, payload=4)]
        kern, _ = self.step(["udp first datagram (NEW)"], datagram)
        if kern[0]["verdict"] == "ACCEPT" and self.o.udp_reply():
            if self.a is not None and not self.a.udp_reply():
                self.broken("udp reply", "the attached DUT's socket received no datagram (the oracle's did)")
            self.step(["udp after the DUT's reply (ESTABLISHED)",
                       "udp without a checksum after the DUT's reply (ESTABLISHED)",
                       "udp with a wrong checksum after the DUT's reply (INVALID: nf_conntrack_checksum)",
                       "udp whose length field exceeds the datagram (INVALID: udp_error)"],
                      lambda srv: [d for one in datagram(srv) for d in (
                          one, dataclasses.replace(one, udp_no_csum=True), dataclasses.replace(one, l4_bad_csum=True),
                          dataclasses.replace(one, udp_len=20))])


def run_all(oracle, bpftables, hook, parse, log, attached=None, subjects=("run",)):
    """Every ruleset of RULESETS through its cases; returns the records (one per packet and subject; "subject" is
    "run" or "attached"). attached: an attached.Attached(route_back=True) pair, for the attached subject."""
    records = []
    o = Side(oracle, "oracle")
    a = Side(attached, "attached") if attached is not None and "attached" in subjects else None
    try:
        for side in [o] + ([a] if a else []):
            side.open()
        for k, (name, text) in enumerate(RULESETS.items()):
            err = oracle.load(text)
            if err:
                log(f"conntrack {name}: iptables-legacy-restore rejected it: {err}")
                continue
            att = a
            if a is not None:
                err = attached.load(text)
                if err:
                    log(f"conntrack {name}: bpftables-restore (attached) failed: {err}")
                    records.append({"ruleset": name, "case": "compile", "subject": "attached",
                                    "outcome": "compile_failure", "error": err})
                    att = None
            r = Runner(o, att, bpftables, hook, subjects, name, text, parse(text), log)
            try:
                r.run(k * 16)
            except subject.CompileError as e:  # a compile failure is a finding, recorded as such
                log(f"conntrack {name}: bpftables run: {e}")
                records.append({"ruleset": name, "case": "compile", "subject": "run", "outcome": "compile_failure",
                                "error": str(e)})
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:  # a side's tools failed: the rest of
                # the ruleset's cases are not run, and the run fails
                log(f"conntrack {name}: {type(e).__name__}: {e}")
                records.append({"ruleset": name, "case": "harness", "subject": "harness", "outcome": "error",
                                "error": f"{type(e).__name__}: {e}"})
            records += r.records
    finally:
        o.close()
        if a:
            a.close()
    return records
