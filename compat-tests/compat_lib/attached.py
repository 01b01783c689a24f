"""The attached subject: bpftables attached for real (`bpftables attach vdut0 --hook xdp`, then
`bpftables-restore` of the ruleset) to the DUT end of a GEN/DUT namespace pair of its own, the same frames
injected from GEN, and the deciding rule read from bpftables' own per-rule counters (`bpftables-save -c`).

The oracle's netfilter and bpftables never see the same packet: this pair is not the oracle's. Its iptables-legacy
filter table is empty (the runtime may put its own copy of the ruleset in the kernel, as a backstop); an empty
mangle table is the witness that a packet went past the XDP program into the stack (mangle PREROUTING; mangle
OUTPUT in the output mode), and an empty security table (after every filter table) that the host took it in.
A packet is answered when a terminal rule's counter or the base chain's policy counter moved (the program
decided it), or, with no counter moved, when the witness moved (the program handed it to the kernel: KERNEL).
A fragment (every fragment is passed on) may be held for reassembly before the mangle witness when a rule loaded
conntrack; an nft counter at prerouting -450 (EARLY_WITNESS) tells that from a drop by the program.
In the output mode the program at tc-egress comes after both witnesses (and after the kernel's copy of the
ruleset), so what left is read off the wire instead: the frames that arrive at GEN's veth.

bpffs: the process must run in a private mount namespace with bpffs mounted on /sys/fs/bpf (compat.py does this
with `private_bpffs()` before anything else), so the pins are gone with the process. Commands run in the DUT
namespace through setns() around the spawn (not `ip netns exec`, which remounts /sys and hides that bpffs).
A sysfs mounted from the DUT namespace (in that private mount namespace) gives the DUT veth's rx_packets, which
moves once the XDP program ran on a frame (veth counts after its XDP loop): the counters are read after that
(poll). nft rulesets (load(text, fmt="nft")) are read by nftmode.NftAttached over the same pair.
"""
import ctypes
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

from . import compare, netns

CLONE_NEWNS = 0x00020000
EMPTY_FILTER = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
# After filter (priority 50): a packet counted here got past every filter table, the kernel's own copy of the
# ruleset included where the runtime installs one, so the host took it in (or sent it on).
SECURITY = "*security\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
# In nf_tables, before every iptables table and before conntrack's defrag (-400), out of the way of the backstop
# (iptables-nft's table ip filter): counts every packet the program passed on, fragments held for reassembly too.
EARLY_WITNESS = "table {family} bpftc_witness {{\n chain early {{\n  type filter hook prerouting priority -450; " \
                "policy accept;\n  counter\n }}\n}}\n"  # .format(family=Attached.NFT_FAMILY)
SEEN_WAIT = 0.2  # seconds: the bounded wait for the DUT's veth to count a unit's frames
DELAYS = (0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05)  # the bounded wait for a packet's counters, in seconds
_COUNTER = re.compile(r"counter packets (\d+)")
_libc = ctypes.CDLL(None, use_errno=True)
_bpffs_ready = False


def private_bpffs():
    """Moves this (single-threaded) process into a mount namespace of its own, receiving nothing back into the
    host's, and mounts a fresh bpffs on /sys/fs/bpf there. Returns None or why it failed."""
    global _bpffs_ready
    if _bpffs_ready:
        return None
    if _libc.unshare(CLONE_NEWNS) != 0:
        return f"unshare(CLONE_NEWNS): {os.strerror(ctypes.get_errno())}"
    for cmd in (["mount", "--make-rslave", "/"], ["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"]):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            return f"{' '.join(cmd)}: {r.stderr.strip()}"
    _bpffs_ready = True
    return None


class AttachError(Exception):
    pass


class Attached(netns.Oracle):
    """A GEN/DUT pair (netns.Oracle's, with its injection socket and witness reader) whose DUT carries
    bpftables at XDP. chain: the base chain the frames take in the DUT (INPUT; FORWARD with forward=True).
    IPv6 (ipv6mode.Attached6) changes the family's names below and the DUT's routing (_dut_routing)."""
    XTABLES = "iptables"  # the kernel copy's tools: XTABLES-BACKEND-save
    NFT_FAMILY = "ip"  # the early witness's table

    def __init__(self, bpftables, tag, hook="xdp", forward=False, output=False, route_back=False, backend="legacy"):
        super().__init__(netns.LEGACY, tag, route_back=route_back, forward=forward, output=output)
        # `bpftables-restore --backend`: the iptables whose copy of the ruleset decides what the program hands
        # over, and whose semantics the program follows (a short L4 header: hotdrop under legacy, handed over
        # under nft). legacy by default: the reference oracle's.
        self.backend = backend
        self.copy_backend = None  # the iptables of the kernel's copy of the loaded ruleset (None: an nft ruleset)
        self.bpftables = bpftables
        self.hook = "tc" if hook.startswith("tc") else "xdp"  # `bpftables run --hook` names vs attach's
        self.restore = os.path.join(os.path.dirname(bpftables), "bpftables-restore")
        self.save = os.path.join(os.path.dirname(bpftables), "bpftables-save")
        self.loaded = None
        self.tables = ("filter", "mangle", "security")
        self.early = False  # the nft early witness is installed
        self.sysfs = None  # a sysfs mounted from the DUT namespace (not in the output mode)

    def _create(self):
        if not _bpffs_ready:
            raise AttachError("the attached subject needs private_bpffs() first")
        super()._create()
        if not self.output:  # the DUT's sysfs, for its veth's counters (rx_packets)
            self.sysfs = tempfile.mkdtemp(prefix="bpftc-sysfs-")
            r = self._dut_cmd(["mount", "-t", "sysfs", "sysfs", self.sysfs])
            if r.returncode != 0:
                os.rmdir(self.sysfs)
                self.sysfs = None
                raise AttachError(f"sysfs of {self.dut}: {r.stderr.strip()}")
        self._dut_routing()
        err = netns.Oracle.load(self, EMPTY_FILTER + SECURITY)  # the witness tables, in iptables-legacy
        if err:
            raise AttachError(f"witness tables: {err}")
        r = self._dut_cmd([self.bpftables, "attach", netns.DUT_IF, "--hook", self.hook])
        if r.returncode != 0:
            raise AttachError(f"bpftables attach {netns.DUT_IF} --hook {self.hook}: {r.stderr.strip()}")
        if not self.output and shutil.which("nft"):
            # Before conntrack's defrag (-400): a fragment the program passes on is held there when a rule loaded
            # conntrack, so it never reaches the mangle witness; this counter still sees it.
            r = self._dut_cmd(["nft", "-f", "-"], input=EARLY_WITNESS.format(family=self.NFT_FAMILY))
            if r.returncode != 0:
                raise AttachError(f"nft early witness: {r.stderr.strip()}")
            self.early = True
        if self.output:  # tc-egress runs after every witness: what left vdut0 is read where it arrives, in GEN
            self.rsock = self.gen_socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
            self.rsock.bind((netns.GEN_IF, 0x0800))

    def _dut_routing(self):
        if not self.forward and not self.output:
            # 198.18.0.0/16 is local by a `local` route, not by addresses: with forwarding off, bpf_fib_lookup
            # refuses before routing and the program knows only the namespace's addresses as INPUT (it hands the
            # rest to the kernel). With forwarding on, the lookup routes and answers "local" for the whole range;
            # nothing else has a route here, so the kernel's own path is unchanged.
            netns.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"], ns=self.dut)

    def close(self):
        if self.sysfs:  # it holds the DUT namespace alive
            subprocess.run(["umount", self.sysfs], capture_output=True, timeout=30)
            try:
                os.rmdir(self.sysfs)
            except OSError:
                pass  # still mounted: it goes with the private mount namespace, at exit
            self.sysfs = None
        if self._dut_fd is not None:  # links and pins go with the namespace; detach first all the same
            self._dut_cmd([self.bpftables, "detach", "--all"])
            try:
                ino = os.stat(f"/run/netns/{self.dut}").st_ino
                os.unlink(f"/run/bpftables/{ino}.lock")
            except OSError:
                pass
        super().close()

    def load(self, filter_text, fmt=None, ipsets=None, backend=None):
        """bpftables-restore of the ruleset (--format fmt when given, else --backend: backend, or the pair's);
        None or the error text (a compile failure). ipsets: an `ipset save` text, created in the DUT's kernel first as the oracle creates them
        (netns.Oracle.ipsets), then given to the program with --ipsets."""
        cmd = [self.restore] + (["--format", fmt] if fmt else ["--backend", backend or self.backend])
        self.copy_backend = None if fmt else backend or self.backend
        with tempfile.TemporaryDirectory(prefix="bpftc-ipsets-") as d:
            if ipsets is not None:
                err = self._kernel_sets(ipsets)
                if err:
                    return f"the DUT's sets: {err}"
                path = os.path.join(d, "ipsets")
                with open(path, "w") as f:
                    f.write(ipsets)
                cmd += ["--ipsets", path]
            r = self._dut_cmd(cmd, input=filter_text)
        if r.returncode == 0:  # a restore that fails changes nothing: the previous ruleset stays loaded
            self.loaded = filter_text
        return None if r.returncode == 0 else (r.stderr.strip() or f"exit {r.returncode}")

    def _kernel_sets(self, text):
        """The DUT's kernel sets become exactly those of text, as in the oracle's namespace. A set that a rule
        of the kernel's copy of the ruleset names cannot be destroyed, so a ruleset naming sets is replaced by
        an empty filter table first (through bpftables-restore, so the runtime's state and the kernel agree)."""
        if self.loaded is not None and "--match-set" in self.loaded:
            r = self._dut_cmd([self.restore], input=EMPTY_FILTER)
            if r.returncode != 0:
                return f"bpftables-restore of an empty filter table: {r.stderr.strip()}"
            self.loaded = None
        return netns.Oracle.ipsets(self, text)

    def saved(self):
        """`bpftables-save -c`: the committed ruleset with the program's counters."""
        r = self._dut_cmd([self.save, "-c"])
        if r.returncode != 0:
            raise RuntimeError(f"bpftables-save -c failed: {r.stderr.strip()}")
        return r.stdout

    def bpf_counters(self):
        """The programs' own counters: bpftables-save -c counts each packet once, where it was decided (the
        programs', or the kernel's copy of the ruleset for what they handed over), so the copy's counters
        (iptables-save -c of its backend, the handoff's bookkeeping rules left out) are taken off."""
        counters = netns.Counters(self.saved())
        if self.copy_backend:
            r = self._dut_cmd([f"{self.XTABLES}-{self.copy_backend}-save", "-c", "-t", "filter"])
            lines = [ln for ln in r.stdout.splitlines() if "BPFTABLES-DECIDED" not in ln]
            copy = netns.Counters("\n".join(lines))
            for key, counts in copy.rules.items():
                mine = counters.rules.get(key)
                if mine is not None and len(mine) == len(counts):
                    counters.rules[key] = [a - b for a, b in zip(mine, counts)]
            for key, n in copy.policies.items():
                if key in counters.policies:
                    counters.policies[key] -= n
        return counters

    def verdicts(self, ruleset, units):
        """One answer per unit, in the shape of subject.verdicts: {"verdict": ACCEPT|DROP|REJECT|KERNEL|
        CONFUSED, "chain", "rule", "reason", "passed"}. KERNEL: no counter moved and the packet went on into the
        stack; DROP with rule -1: nothing moved at all within the wait. passed: the packet got past the kernel's
        filter tables (empty, or the runtime's own copy of the ruleset) to the security table, so the host took
        it in; in the output mode, it arrived at GEN (see _output_answer)."""
        base = self.base_chain
        answers = []
        wit = self.counters()
        bpf = self.bpf_counters()
        for unit in units:
            if self.output:
                self.drain()  # a late frame of an earlier packet must not count as this one's
            early = self._early() if self.early and compare.fragmented(unit) else None

            def look():
                # The witness first: once it moved, the program's counters for this packet are complete.
                w = self.counters()
                b = self.bpf_counters()
                first = "OUTPUT" if self.output else "PREROUTING"  # the kernel's first hook before or after us
                moved = w.policies.get(("mangle", first), 0) - wit.policies.get(("mangle", first), 0)
                answer = decide(ruleset, base, bpf, b)
                if answer is None and moved:
                    answer = {"verdict": "KERNEL", "chain": "", "rule": -1, "reason": "no counter moved"}
                # what the program passes on (ACCEPT, REJECT) is waited for in the stack too
                return answer is not None and (answer["verdict"] in ("DROP", "CONFUSED") or moved), (w, b, answer)

            w, b, answer = self.poll(unit, look)
            if answer is None and early is not None and self._early() > early:
                # passed on (every fragment is), and held by conntrack's defrag before the mangle witness
                answer = {"verdict": "KERNEL", "chain": "", "rule": -1,
                          "reason": "no counter moved, held by the kernel before PREROUTING"}
            if answer is None:  # the program dropped it without a counter (a hotdrop, as the kernel's), or the
                # kernel discarded what it was handed before PREROUTING (the oracle then says UNREACHED)
                answer = {"verdict": "DROP", "chain": "", "rule": -1, "reason": "no counter moved, not passed on"}
            answer.setdefault("reason", "")
            first = "OUTPUT" if self.output else "PREROUTING"
            moved = w.policies.get(("mangle", first), 0) - wit.policies.get(("mangle", first), 0)
            if moved > 100:  # stop rather than run on with packets circling in the namespace
                raise RuntimeError(f"{moved} packets at {first} for one frame: a traffic loop in {self.dut}")
            # passed: the packet got past the kernel's filter tables at the base chain (security witness), so the
            # host took it in (ACCEPT in effect, whatever the program's verdict was)
            answer["passed"] = w.policies.get(("security", base), 0) > wit.policies.get(("security", base), 0)
            if self.output:
                self._output_answer(unit, answer)
            answers.append(answer)
            wit, bpf = w, b
        return answers

    def poll(self, unit, look, final_when_seen=False):
        """Injects unit's frames, waits (up to SEEN_WAIT) until the DUT's veth counted them (rx_packets: the XDP
        program ran on them, and what it passed on went through the stack in the same softirq), then calls look()
        after each of DELAYS until it returns (True, result); returns the last result. final_when_seen: once the
        veth counted them, look()'s first result is the answer."""
        rx = self.rx_packets() if self.sysfs else None
        for frame in unit:
            self.inject(frame)
        seen = False
        if rx is not None:
            deadline = time.monotonic() + SEEN_WAIT
            while not seen and time.monotonic() < deadline:
                seen = self.rx_packets() >= rx + len(unit)
                if not seen:
                    time.sleep(0.0005)
        result = None
        for delay in DELAYS:
            time.sleep(delay)
            done, result = look()
            if done or seen and final_when_seen:
                break
        return result

    def rx_packets(self):
        with open(os.path.join(self.sysfs, "class", "net", netns.DUT_IF, "statistics", "rx_packets")) as f:
            return int(f.read())

    def _early(self):
        r = self._dut_cmd(["nft", "list", "chain", self.NFT_FAMILY, "bpftc_witness", "early"])
        m = _COUNTER.search(r.stdout)
        if r.returncode != 0 or not m:
            raise RuntimeError(f"nft list chain {self.NFT_FAMILY} bpftc_witness early: {r.stderr.strip() or r.stdout}")
        return int(m.group(1))

    def _output_answer(self, unit, answer):
        """At OUTPUT both witnesses count before the program: mangle OUTPUT moves for every packet sent, security
        OUTPUT for every packet the kernel's copy of the ruleset let on to tc-egress. So "no counter moved" is
        either the program passing the packet on unjudged (KERNEL) or dropping it without a counter (a hotdrop,
        e.g. a truncated UDP header, which the kernel's copy lets through when it is iptables-nft), and "passed"
        is only known from the wire: the frames that arrived at GEN."""
        reached = answer["passed"]  # got past the kernel's filter tables to tc-egress
        left = self._frames_left(unit, 0.1 if reached else 0.001)
        if answer["verdict"] == "KERNEL" and answer["rule"] == -1:
            if not reached:
                answer["reason"] = "the kernel's copy of the ruleset dropped it before tc-egress"
            elif not left:
                answer.update(verdict="DROP", reason="dropped at tc-egress without a counter (hotdrop)")
        answer["passed"] = left > 0

    def _frames_left(self, unit, timeout):
        """How many of unit's frames arrived at GEN (same addresses and IP id) within timeout (for the first
        one; the rest of a unit follow it at once)."""
        keys = {(f[18:20], f[26:34]) for f in unit if len(f) >= 34}
        n = 0
        for _ in unit:
            frame = self.received(lambda f: (f[18:20], f[26:34]) in keys, timeout if n == 0 else 0.01)
            if frame is None:
                break
            n += 1
        return n


def decide(ruleset, base, before, after):
    """The program's decision for one packet from bpftables' counter deltas, or None (no counter moved)."""
    terminal = []
    for chain, rules in ruleset.rules.items():
        a, b = after.rules.get(("filter", chain), []), before.rules.get(("filter", chain), [])
        if len(a) != len(rules) or len(b) != len(rules):
            return {"verdict": "CONFUSED", "chain": chain, "rule": -1,
                    "reason": f"bpftables-save lists {len(a)} rules in {chain}, the model {len(rules)}"}
        for pos, (rule, x, y) in enumerate(zip(rules, a, b), 1):
            if x != y and rule.terminal():
                terminal.append((chain, pos, rule.verdict()))
    policy = after.policies.get(("filter", base), 0) - before.policies.get(("filter", base), 0)
    if len(terminal) + (policy > 0) > 1:
        return {"verdict": "CONFUSED", "chain": "", "rule": -1,
                "reason": f"several deciders: {terminal} policy {policy}"}
    if terminal:
        chain, pos, verdict = terminal[0]
        return {"verdict": verdict, "chain": chain, "rule": pos}
    if policy:
        return {"verdict": ruleset.policy, "chain": base, "rule": 0}
    return None
