"""The oracle: the kernel's own netfilter in a pair of network namespaces this process creates.

    GEN namespace                      DUT namespace
    vgen0 (AF_PACKET injection) <----> vdut0 (rules loaded here; 198.18.0.0/16 is local)

Packets are addressed to 198.18.0.0/16 (a `local` route in the DUT, so every address there is delivered through
PREROUTING -> INPUT) from 198.19.0.0/16 (no route back, rp_filter off), so nothing the DUT answers comes back into
INPUT. An empty mangle INPUT chain is the witness: its policy counter says the packet reached INPUT at all, so
"filter dropped it without any counter moving" (a hotdrop) is told apart from "never reached INPUT" (e.g. a
fragment held for reassembly). Nothing in the host namespace is touched; both namespaces are deleted on exit.

Forward mode (forward=True): no local route; the DUT forwards 198.18.0.0/15 out of vdut1 to a third namespace
(SINK), and mangle FORWARD is the witness. Output mode (output=True): the DUT sends each packet itself through a
raw socket out of vdut0, and mangle OUTPUT is the witness. base_chain names the chain the packets take.
"""
import ctypes
import os

from . import iptcounters
import re
import socket
import struct
import subprocess
import time

CLONE_NEWNET = 0x40000000
DUT_IF, GEN_IF = "vdut0", "vgen0"
DUT_MAC, GEN_MAC = bytes.fromhex("020000c61201"), bytes.fromhex("020000c61302")
LOCAL_NET, REMOTE_NET = "198.18.0.0/16", "198.19.0.0/16"
# FORWARD mode: the DUT routes 198.18.0.0/15 out of a second veth to a third namespace (SINK) that drops it.
OUT_IF, SINK_IF, SINK_MAC = "vdut1", "vsink0", bytes.fromhex("020000c63302")
OUT_ADDR, SINK_ADDR = "198.51.100.1/24", "198.51.100.2"

_libc = ctypes.CDLL(None, use_errno=True)
_live = set()  # namespaces created by this process and not yet deleted


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def run(cmd, ns=None, check=True, input=None, timeout=30):
    """Runs cmd (a list) in namespace ns; returns CompletedProcess with text output."""
    full = (["ip", "netns", "exec", ns] if ns else []) + cmd
    r = subprocess.run(full, input=input, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(full)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def cleanup_all():
    """Deletes every namespace this process created (idempotent; used by atexit and signal handlers)."""
    for ns in sorted(_live):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        _live.discard(ns)


def _socket_in(ns_fd, family, kind, proto):
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        _setns(ns_fd)
        try:
            return socket.socket(family, kind, proto)
        finally:
            _setns(own)
    finally:
        os.close(own)


class Flavour:
    """How to talk to one of the two iptables implementations."""

    def __init__(self, name, restore, save):
        self.name, self.restore, self.save = name, restore, save


LEGACY = Flavour("legacy", ["iptables-legacy-restore", "-w", "10"], ["iptables-legacy-save", "-c"])
NFT = Flavour("nft", ["iptables-nft-restore"], ["iptables-nft-save", "-c"])

WITNESS = "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n" \
          ":OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n"

_COUNTER_RULE = re.compile(r"^\[(\d+):(\d+)\] -A (\S+)(?: |$)")
_COUNTER_POLICY = re.compile(r"^:(\S+) (\S+) \[(\d+):(\d+)\]")


class Counters:
    """Packet counters of one `*-save -c` output: policies[(table, chain)], rules[(table, chain)] = [pkts...]."""

    def __init__(self, text):
        self.policies, self.rules = {}, {}
        table = None
        for line in text.splitlines():
            if line.startswith("*"):
                table = line[1:].strip()
            elif m := _COUNTER_POLICY.match(line):
                if m.group(2) != "-":
                    self.policies[(table, m.group(1))] = int(m.group(3))
            elif m := _COUNTER_RULE.match(line):
                self.rules.setdefault((table, m.group(3)), []).append(int(m.group(1)))


def counter_delta(before, after):
    """The filter table's packet counts between two Counters: {(chain, rule or 0 for the policy): n}."""
    out = {}
    for (table, chain), counts in after.rules.items():
        old = before.rules.get((table, chain), [])
        for i, n in enumerate(counts):
            if table == "filter":
                out[(chain, i + 1)] = n - (old[i] if i < len(old) and len(old) == len(counts) else 0)
    for (table, chain), n in after.policies.items():
        if table == "filter":
            out[(chain, 0)] = n - before.policies.get((table, chain), 0)
    return out


class Oracle:
    """One GEN/DUT namespace pair running one iptables flavour. Use as a context manager."""

    def __init__(self, flavour, tag, route_back=False, forward=False, output=False):
        self.flavour, self.route_back, self.forward, self.output = flavour, route_back, forward, output
        self.base_chain = "FORWARD" if forward else "OUTPUT" if output else "INPUT"
        self.raw = None  # output mode: the DUT's raw socket (IP_HDRINCL) the packets are sent from
        self.tables = ("filter", "mangle")  # the iptables-legacy tables whose counters are read
        base = f"bpftc-{os.getpid()}-{tag}"
        self.gen, self.dut = base + "-g", base + "-d"
        self.sink = base + "-s" if forward else None
        self.sock = self.rsock = None
        self._dut_fd = None
        self.fast = None  # iptcounters.Reader for iptables-legacy, once it agreed with iptables-legacy-save
        self.loaded_rules = None

    def __enter__(self):
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def _namespaces(self):
        return [self.gen, self.dut] + ([self.sink] if self.sink else [])

    def _create(self):
        for ns in self._namespaces():
            _live.add(ns)  # first: a signal during `ip netns add` must still find it to delete
            run(["ip", "netns", "add", ns])
        # The pair is created inside GEN and its peer moved straight into DUT: it never exists in the host.
        run(["ip", "-n", self.gen, "link", "add", GEN_IF, "address", GEN_MAC.hex(":"), "type", "veth", "peer",
             "name", DUT_IF, "address", DUT_MAC.hex(":"), "netns", self.dut])
        for ns in (self.gen, self.dut):
            run(["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"],
                ns=ns)
        run(["sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
             f"net.ipv4.conf.{DUT_IF}.rp_filter=0", "net.ipv4.conf.all.log_martians=0",
             f"net.ipv4.conf.{DUT_IF}.accept_local=1"], ns=self.dut)
        run(["ip", "-n", self.gen, "link", "set", GEN_IF, "up"])
        run(["ip", "-n", self.dut, "link", "set", "lo", "up"])
        run(["ip", "-n", self.dut, "link", "set", DUT_IF, "up"])
        if self.forward:  # forwarded, never local: the route leads to SINK (ip_forward in DUT only)
            run(["ip", "-n", self.dut, "link", "add", OUT_IF, "type", "veth", "peer", "name", SINK_IF, "address",
                 SINK_MAC.hex(":"), "netns", self.sink])
            run(["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                 "net.ipv6.conf.default.disable_ipv6=1"], ns=self.sink)
            run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1", f"net.ipv4.conf.{OUT_IF}.rp_filter=0",
                 "net.ipv4.conf.all.send_redirects=0", f"net.ipv4.conf.{DUT_IF}.send_redirects=0"], ns=self.dut)
            run(["ip", "-n", self.dut, "link", "set", OUT_IF, "up"])
            run(["ip", "-n", self.sink, "link", "set", SINK_IF, "up"])
            run(["ip", "-n", self.dut, "addr", "add", OUT_ADDR, "dev", OUT_IF])
            run(["ip", "-n", self.dut, "neigh", "add", SINK_ADDR, "lladdr", SINK_MAC.hex(":"), "dev", OUT_IF,
                 "nud", "permanent"])
            run(["ip", "-n", self.dut, "route", "add", "198.18.0.0/15", "via", SINK_ADDR, "dev", OUT_IF])
        elif self.output:  # sent by the DUT itself (raw socket) through OUTPUT, out of vdut0 towards GEN
            run(["ip", "-n", self.dut, "addr", "add", OUT_ADDR, "dev", DUT_IF])
            run(["ip", "-n", self.dut, "neigh", "add", SINK_ADDR, "lladdr", GEN_MAC.hex(":"), "dev", DUT_IF,
                 "nud", "permanent"])
            # Only the destinations: what REJECT answers (to 198.19.0.0/16) has no route, so it never enters
            # OUTPUT as a second packet.
            run(["ip", "-n", self.dut, "route", "add", LOCAL_NET, "via", SINK_ADDR, "dev", DUT_IF])
        else:
            run(["ip", "-n", self.dut, "addr", "add", "198.18.255.254/32", "dev", DUT_IF])
            run(["ip", "-n", self.dut, "route", "add", "local", LOCAL_NET, "dev", "lo"])
        if self.route_back:  # conntrack cases: the DUT answers (SYN-ACK, UDP replies) back through the veth
            run(["ip", "-n", self.dut, "neigh", "add", "198.19.255.254", "lladdr", GEN_MAC.hex(":"), "dev", DUT_IF,
                 "nud", "permanent"])
            run(["ip", "-n", self.dut, "route", "add", REMOTE_NET, "via", "198.19.255.254", "dev", DUT_IF, "onlink"])
        self._dut_fd = os.open(f"/run/netns/{self.dut}", os.O_RDONLY)
        own = os.open("/proc/self/ns/net", os.O_RDONLY)
        gen_fd = os.open(f"/run/netns/{self.gen}", os.O_RDONLY)
        try:
            _setns(gen_fd)
            try:
                self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
                self.sock.bind((GEN_IF, 0))
                if self.route_back:  # protocol 0 sends only; this one receives what the DUT answers
                    self.rsock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
                    self.rsock.bind((GEN_IF, 0x0800))
            finally:
                _setns(own)
        finally:
            os.close(own)
            os.close(gen_fd)
        if self.output:
            self.raw = self.dut_socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        deadline = time.monotonic() + 5
        while "LOWER_UP" not in run(["ip", "-n", self.dut, "link", "show", DUT_IF]).stdout:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{DUT_IF} in {self.dut} did not come up")
            time.sleep(0.02)

    def close(self):
        if self.fast:
            self.fast.sock.close()
            self.fast = None
        for sk in (self.sock, self.rsock, self.raw):
            if sk:
                sk.close()
        self.sock = self.rsock = self.raw = None
        if self._dut_fd is not None:
            os.close(self._dut_fd)
            self._dut_fd = None
        for ns in self._namespaces():
            if ns in _live:
                subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
                _live.discard(ns)

    def dut_socket(self, family, kind, proto=0):
        """A socket created in the DUT namespace (it stays there)."""
        return _socket_in(self._dut_fd, family, kind, proto)

    def gen_socket(self, family, kind, proto=0):
        """A socket created in the GEN namespace (it stays there)."""
        fd = os.open(f"/run/netns/{self.gen}", os.O_RDONLY)
        try:
            return _socket_in(fd, family, kind, proto)
        finally:
            os.close(fd)

    def inject(self, frame):
        """Sends one frame: from GEN into the DUT's veth, or in the output mode from the DUT itself (its IP
        packet through a raw socket; a packet the DUT cannot send stays silent). From CPU 0: the veth peer
        takes the frame in on the sender's CPU, so every pair (the oracle's, the attached DUT's) sees each packet
        on the same CPU, and `-m cpu` answers alike on both sides."""
        cpus = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {0})
        try:
            if not self.output:
                self.sock.send(frame)
                return
            self.raw.sendto(frame[14:], (socket.inet_ntoa(frame[30:34]), 0))
        except OSError:
            if not self.output:
                raise
        finally:
            os.sched_setaffinity(0, cpus)

    def received(self, want, timeout=1.0):
        """The first frame the DUT sent out of its veth for which want(frame) is true, or None (bounded wait)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.rsock.settimeout(max(0.001, deadline - time.monotonic()))
            try:
                frame, addr = self.rsock.recvfrom(65535)
            except socket.timeout:
                break
            if addr[2] != socket.PACKET_OUTGOING and frame[6:12] == DUT_MAC and want(frame):
                self.rsock.settimeout(None)
                return frame
        self.rsock.settimeout(None)
        return None

    def drain(self):
        self.rsock.setblocking(False)
        try:
            while True:
                self.rsock.recv(65535)
        except (BlockingIOError, socket.timeout):
            pass
        finally:
            self.rsock.setblocking(True)

    def _dut_cmd(self, cmd, input=None):
        # Switch this thread into DUT around the spawn (no preexec_fn, so the fast vfork path is used).
        own = os.open("/proc/self/ns/net", os.O_RDONLY)
        try:
            _setns(self._dut_fd)
            try:
                return subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=30)
            finally:
                _setns(own)
        finally:
            os.close(own)

    def load(self, filter_text):
        """Loads the filter table (plus the witness mangle table). Returns None or the loader's error text."""
        r = self._dut_cmd(self.flavour.restore, input=filter_text + WITNESS)
        self.loaded_rules = filter_text if r.returncode == 0 else None
        if r.returncode == 0 and self.flavour is LEGACY:
            self._check_fast()
        return None if r.returncode == 0 else (r.stderr.strip() or f"exit {r.returncode}")

    def ipsets(self, text):
        """Creates the sets of an `ipset save` text in the DUT namespace (ipsets are per namespace)."""
        self._dut_cmd(["ipset", "flush"])
        self._dut_cmd(["iptables-legacy", "-F"])  # a set in use by a loaded rule cannot be destroyed
        self._dut_cmd(["ipset", "destroy"])
        r = self._dut_cmd(["ipset", "restore", "-exist"], input=text)
        return None if r.returncode == 0 else r.stderr.strip()

    def _check_fast(self):
        """Use the getsockopt reader only while it reads what iptables-legacy-save prints."""
        try:
            if self.fast is None:
                own = os.open("/proc/self/ns/net", os.O_RDONLY)
                try:
                    _setns(self._dut_fd)
                    try:
                        self.fast = iptcounters.Reader(iptcounters.new_socket())
                    finally:
                        _setns(own)
                finally:
                    os.close(own)
            self.use_fast = False
            for _ in range(3):  # a packet still in flight may move a counter between the two reads: read again
                slow = self.counters()
                quick = self._fast_counters()
                self.use_fast = (slow.policies, slow.rules) == (quick.policies, quick.rules)
                if self.use_fast:
                    break
                self.fast_difference = f"iptables-legacy-save {slow.policies} {slow.rules}, getsockopt " \
                                       f"{quick.policies} {quick.rules}"
                time.sleep(0.05)
        except (OSError, struct.error, UnicodeDecodeError, IndexError, KeyError):
            self.use_fast = False

    def _fast_counters(self):
        c = Counters("")
        for t in self.tables:
            self.fast.table(t, c)
        c.rules = {k: v for k, v in c.rules.items() if v}
        return c

    def counters(self):
        if getattr(self, "use_fast", False):
            self.fast_reads = getattr(self, "fast_reads", 0) + 1
            if self.fast_reads % 500 == 0:  # a periodic cross-check against iptables-legacy-save
                self._check_fast()
                if not self.use_fast:
                    raise RuntimeError("counters read by getsockopt differ from iptables-legacy-save: " +
                                       getattr(self, "fast_difference", ""))
            return self._fast_counters()
        r = self._dut_cmd(self.flavour.save)
        if r.returncode != 0:
            raise RuntimeError(f"{self.flavour.save[0]} failed: {r.stderr.strip()}")
        return Counters(r.stdout)

    def verdicts(self, ruleset, units):
        """Injects each unit (a list of frames: one packet, or the fragments of one datagram) and returns one
        answer per unit (see decide()). ruleset is the generator's model of what was loaded. A unit ending in a
        lone fragment is expected to stay silent and is waited on for less time."""
        answers = []
        before = self.counters()
        for unit in units:
            for frame in unit:
                self.inject(frame)
            # Bounded wait for the witness counter: the veth delivers in softirq, normally before send() returns.
            lone_fragment = len(unit) == 1 and len(unit[0]) > 21 and (unit[0][20] & 0x3F or unit[0][21])
            delays = [0, 0.001, 0.002, 0.005, 0.01, 0.02] + ([] if lone_fragment else [0.05, 0.1])
            after = None
            for delay in delays:
                time.sleep(delay)
                after = self.counters()
                if after.policies.get(("mangle", self.base_chain), 0) != \
                        before.policies.get(("mangle", self.base_chain), 0):
                    break
            moved = after.policies.get(("mangle", self.base_chain), 0) - \
                before.policies.get(("mangle", self.base_chain), 0)
            if moved > 100:  # stop rather than run on with packets circling in the namespace
                raise RuntimeError(f"{moved} packets reached {self.base_chain} for one frame: a traffic loop in "
                                   f"{self.dut} (ruleset: {ruleset.filter_text()!r})")
            answers.append(decide(ruleset, before, after, self.base_chain))
            before = after
        return answers


def decide(ruleset, before, after, base="INPUT"):
    """The kernel's answer for one packet from the counter deltas:
    {"verdict": ACCEPT|DROP|REJECT|UNREACHED|CONFUSED, "chain": str, "rule": int (0 = policy, -1 = no rule)}.
    base: the built-in chain the packets take (INPUT, or FORWARD in the forward mode)."""
    witness = after.policies.get(("mangle", base), 0) - before.policies.get(("mangle", base), 0)
    if witness == 0:
        return {"verdict": "UNREACHED", "chain": "", "rule": -1, "why": f"never reached {base}"}
    if witness != 1:
        return {"verdict": "CONFUSED", "chain": "", "rule": -1, "why": f"{witness} packets reached {base}"}
    terminal = []
    for chain, rules in ruleset.rules.items():
        a, b = after.rules.get(("filter", chain), []), before.rules.get(("filter", chain), [])
        if len(a) != len(rules) or len(b) != len(rules):
            return {"verdict": "CONFUSED", "chain": chain, "rule": -1, "why": "rule count differs from the model"}
        for pos, (rule, x, y) in enumerate(zip(rules, a, b), 1):
            if x != y and rule.terminal():
                terminal.append((chain, pos, rule.verdict()))
    policy = after.policies.get(("filter", base), 0) - before.policies.get(("filter", base), 0)
    if len(terminal) + (policy > 0) > 1:
        return {"verdict": "CONFUSED", "chain": "", "rule": -1, "why": f"several deciders: {terminal} policy {policy}"}
    if terminal:
        chain, pos, verdict = terminal[0]
        return {"verdict": verdict, "chain": chain, "rule": pos}
    if policy:
        return {"verdict": ruleset.policy, "chain": base, "rule": 0}
    return {"verdict": "DROP", "chain": "", "rule": -1, "why": "dropped in filter without a counter (hotdrop)"}
