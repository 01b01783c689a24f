"""Conntrack cases: flows set up by a real handshake through the DUT namespace, so NEW / ESTABLISHED / RELATED /
INVALID are the kernel's own states.

A TCP listener (198.18.0.10:8080) and a UDP socket (198.18.0.10:5353) live in the DUT namespace; the DUT routes
198.19.0.0/16 back through the veth (Oracle(route_back=True)). Each case is a sequence of steps; before a step's
packets are injected, `ip netns exec DUT bpftables run` judges the same frames, so BPF_PROG_TEST_RUN's
bpf_xdp_ct_lookup sees the DUT's conntrack table as the kernel will when the packets arrive. Packets inside one
step do not change each other's state as far as their verdicts go (distinct flows, packets that leave the entry as it
is, or, on the established flow, data that moves the window's edges by less than any case depends on).
"""
import socket
import dataclasses
import struct

from . import compare
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


class Runner:
    """Runs the cases of one ruleset against one Oracle(route_back=True) and bpftables; records every packet."""

    def __init__(self, oracle, bpftables, hook, name, text, model, log):
        self.o, self.bpftables, self.hook = oracle, bpftables, hook
        self.name, self.text, self.model, self.log = name, text, model, log
        self.records = []

    def step(self, label, pkts):
        """bpftables first (state before the packets), then the kernel; one record per packet."""
        units = [compare.unit_of(p) for p in pkts]
        subj = compare.subject_units(self.bpftables, self.text, units, self.hook, ns_exec=self.o.dut)
        kern = self.o.verdicts(self.model, units)
        for p, u, k, s, what in zip(pkts, units, kern, subj, label):
            outcome = compare.classify(k, s, u)
            self.records.append({"ruleset": self.name, "case": what, "packet": pk.describe(p),
                                 "hex": " ".join(f.hex() for f in u), "kernel": k, "bpftables": s,
                                 "outcome": outcome, "kernel_text": compare.describe_answer(self.model, k),
                                 "bpftables_text": compare.describe_answer(self.model, s)})
        return kern

    def handshake(self, src, sport, isn):
        """SYN, the DUT's SYN-ACK read from the wire, ACK. Returns the server's ISN or None (no SYN-ACK)."""
        self.o.drain()
        self.step(["tcp SYN (NEW)"], [_tcp(src, sport, SYN, isn, 0)])
        want = lambda f: f[23] == pk.TCP and f[30:34] == struct.pack("!I", src) and \
            f[34:38] == struct.pack("!HH", TCP_PORT, sport) and f[47] & 0x12 == 0x12  # noqa: E731
        synack = self.o.received(want)
        if synack is None:
            return None
        s_isn = struct.unpack("!I", synack[38:42])[0]
        self.step(["tcp ACK completing the handshake (ESTABLISHED)"], [_tcp(src, sport, ACK, isn + 1, s_isn + 1)])
        return s_isn

    def run(self, base):
        src, sport, isn = pk.ip_int("198.19.7.1") + base, 40000 + base, 1000 + base * 7
        s_isn = self.handshake(src, sport, isn)
        if s_isn is not None:
            c, s = isn + 1, s_isn + 1
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
            ], [
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
            self.step(["tcp FIN,ACK closing (ESTABLISHED)"], [_tcp(src, sport, FIN | ACK, c + 10, s)])
        else:
            self.log(f"conntrack {self.name}: no SYN-ACK from the DUT listener (the ruleset dropped the SYN?)")
        # UDP: a datagram (NEW), the DUT's reply, a second datagram (ESTABLISHED).
        usrc, uport = pk.ip_int("198.19.8.1") + base, 50000 + base
        self.udp_drain()
        first = pk.Packet(src=usrc, dst=SERVER, proto=pk.UDP, sport=uport, dport=UDP_PORT, payload=4)
        kern = self.step(["udp first datagram (NEW)"], [first])
        if kern[0]["verdict"] == "ACCEPT" and self.udp_reply():
            again = pk.Packet(src=usrc, dst=SERVER, proto=pk.UDP, sport=uport, dport=UDP_PORT, payload=4)
            self.step(["udp after the DUT's reply (ESTABLISHED)",
                       "udp without a checksum after the DUT's reply (ESTABLISHED)",
                       "udp with a wrong checksum after the DUT's reply (INVALID: nf_conntrack_checksum)",
                       "udp whose length field exceeds the datagram (INVALID: udp_error)"],
                      [again, dataclasses.replace(again, udp_no_csum=True),
                       dataclasses.replace(again, l4_bad_csum=True), dataclasses.replace(again, udp_len=20)])

    def udp_drain(self):
        self.udp.setblocking(False)
        try:
            while True:
                self.udp.recv(2048)
        except BlockingIOError:
            pass

    def udp_reply(self):
        self.udp.settimeout(0.5)
        try:
            data, addr = self.udp.recvfrom(2048)
        except socket.timeout:
            return False
        self.udp.sendto(b"pong", addr)
        return True


def run_all(oracle, bpftables, hook, parse, log):
    """Every ruleset of RULESETS through its cases; returns the records (one per packet)."""
    records = []
    tcp = oracle.dut_socket(socket.AF_INET, socket.SOCK_STREAM)
    udp = oracle.dut_socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((pk.ip_str(SERVER), TCP_PORT))
        tcp.listen(64)
        udp.bind((pk.ip_str(SERVER), UDP_PORT))
        for k, (name, text) in enumerate(RULESETS.items()):
            err = oracle.load(text)
            if err:
                log(f"conntrack {name}: iptables-legacy-restore rejected it: {err}")
                continue
            r = Runner(oracle, bpftables, hook, name, text, parse(text), log)
            r.udp = udp
            try:
                r.run(k * 16)
            except Exception as e:  # a compile failure is a finding, recorded as such
                log(f"conntrack {name}: {type(e).__name__}: {e}")
                records.append({"ruleset": name, "case": "compile", "outcome": "compile_failure", "error": str(e)})
            records += r.records
    finally:
        tcp.close()
        udp.close()
    return records
