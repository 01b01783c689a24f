"""Accepted traffic and the host-firewall scenario (issue 13, item 6), run by run_bench.py (`--verdict accept`,
`--host-firewall`): what a packet costs when the ruleset lets it in, counted where it arrives (the DUT's stack),
with bpftables set up as a user does it (`bpftables-restore`, `bpftables attach DEV --hook xdp`: its kernel copy
and its decided mark included).

- Accepted traffic: the synthetic rulesets of run_bench.py with their ACCEPT rules kept, the last rule a UDP rule
  that accepts (rulesets.make_ruleset(accept=True)); the generator's `last` flow hits it. Counted: the DUT
  namespace's `Ip InDelivers` (/proc/net/snmp), for every contender alike.
- Host firewall: conntrack first (`ESTABLISHED,RELATED -j ACCEPT`), then service rules, policy DROP; real TCP
  connections and UDP datagrams from sockets in the peer namespace to listeners in the DUT namespace
  (bench/hostfw_traffic.py), bounded in count and time. Counted: connections completed and datagrams received.

The share decided in BPF is read from bpftables' kernel copy (iptables-legacy): its first INPUT rule
(`-m mark --mark BIT/BIT -j BPFTABLES-DECIDED`) counts the packets the program accepted; every other packet that
reached the copy's INPUT was handed over and is counted by another INPUT rule or the policy.
"""
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ACCEPT_CONTENDERS = ["iptables-legacy", "iptables-nft", "nft", "bpftables-xdp"]
DUT_ADDR, GEN_ADDR = "198.18.0.2", "198.18.0.1"  # the host-firewall topology's veth addresses
TCP_PORT, UDP_PORT = 8080, 5353


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def snmp(run, ns):
    """The DUT namespace's /proc/net/snmp as {"Ip": {...}, "Udp": {...}, ...}."""
    lines = run(["cat", "/proc/net/snmp"], ns=ns).stdout.splitlines()
    out = {}
    for names, values in zip(lines[::2], lines[1::2]):
        proto = names.split(":")[0]
        out[proto] = dict(zip(names.split()[1:], map(int, values.split()[1:])))
    return out


def delivered(run, ns):
    return snmp(run, ns)["Ip"]["InDelivers"]


def copy_input_counters(run, ns, per_rule=None):
    """(packets through the copy's decided-mark rule, packets through the copy's INPUT in all) of bpftables'
    iptables-legacy copy in `ns` (iptables-legacy-save -c); `per_rule`, a dict, receives each INPUT rule's (and
    the policy's) packets by its text: which rules judged the packets handed to the kernel."""
    text = run(["iptables-legacy-save", "-c", "-t", "filter"], ns=ns).stdout
    marked, total = 0, 0
    for line in text.splitlines():
        m = re.match(r"^:INPUT (\S+) \[(\d+):\d+\]", line)
        if m:
            total += int(m.group(2))
            if per_rule is not None:
                per_rule[f"policy {m.group(1)}"] = int(m.group(2))
        m = re.match(r"^\[(\d+):\d+\] -A INPUT (.*)$", line)
        if m:
            total += int(m.group(1))
            if per_rule is not None:
                per_rule[m.group(2)] = int(m.group(1))
            if re.search(r"-m mark --mark 0x[0-9a-f]+/0x[0-9a-f]+ -j BPFTABLES-DECIDED", m.group(2)):
                marked += int(m.group(1))
    return marked, total


class LiveBpftables:
    """bpftables as a user runs it in the DUT namespace: bpftables-restore (its copy in iptables-legacy), then
    `bpftables attach DEV --hook xdp` (bpffs is mounted: run_bench.py's private mount namespace); close() detaches
    everything (the namespace's pins go with it)."""

    def __init__(self, run, build_dir, ns, dev, ruleset):
        self.run, self.ns = run, ns
        # the build tree's; installed (build_dir libexec/bpftables), the bpftables on PATH
        self.exe = os.path.join(build_dir, "cli", "bpftables")
        if not os.path.exists(self.exe):
            self.exe = shutil.which("bpftables") or "/usr/sbin/bpftables"
        start = time.monotonic()
        try:
            run([self.exe, "restore", "--backend", "legacy", ruleset], ns=ns)
            run([self.exe, "attach", dev, "--hook", "xdp"], ns=ns)
        except BaseException:
            self.close()
            raise
        self.load_s = time.monotonic() - start

    def close(self):
        self.run([self.exe, "detach", "--all"], ns=self.ns, check=False)


def hostfw_ruleset(path, services):
    """The host firewall: conntrack first, loopback, INVALID dropped, `services` service rules for other clients
    (198.19.0.0/16 sources, TCP ports 10000+), then this benchmark's services (TCP_PORT new connections, UDP_PORT),
    ICMP; policy DROP."""
    lines = ["*filter", ":INPUT DROP [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]",
             "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
             "-A INPUT -i lo -j ACCEPT",
             "-A INPUT -m conntrack --ctstate INVALID -j DROP"]
    for k in range(services):
        lines.append(f"-A INPUT -s 198.19.{k // 250}.{k % 250 + 1}/32 -p tcp -m tcp --dport {10000 + k % 50000} "
                     "-m conntrack --ctstate NEW -j ACCEPT")
    lines += [f"-A INPUT -p tcp -m tcp --dport {TCP_PORT} -m conntrack --ctstate NEW -j ACCEPT",
              f"-A INPUT -p udp -m udp --dport {UDP_PORT} -j ACCEPT",
              "-A INPUT -p icmp -j ACCEPT", "COMMIT"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def setup_hostfw_topology(run, topo):
    """The host-firewall topology: addresses on the veth pair (GEN_ADDR ↔ DUT_ADDR, /30), no local /15."""
    for ns in (topo.gen, topo.dut):
        run(["ip", "netns", "add", ns])
    run(["ip", "-n", topo.gen, "link", "add", topo.gen_dev, "type", "veth", "peer", "name", topo.dut_dev,
         "netns", topo.dut])
    for ns, dev, addr in ((topo.gen, topo.gen_dev, GEN_ADDR), (topo.dut, topo.dut_dev, DUT_ADDR)):
        run(["ip", "-n", ns, "addr", "add", f"{addr}/30", "dev", dev])
        for d in ("lo", dev):
            run(["ip", "-n", ns, "link", "set", d, "up"])


def hostfw_run(run, topo, seconds, max_conns, max_datagrams):
    """One round of the host-firewall traffic: the server in the DUT namespace, the client in the peer's; returns
    the client's figures plus the datagrams the server received."""
    script = os.path.join(HERE, "hostfw_traffic.py")
    server = subprocess.Popen(["ip", "netns", "exec", topo.dut, sys.executable, script, "server", DUT_ADDR,
                               str(TCP_PORT), str(UDP_PORT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError("hostfw server did not start")
        client = subprocess.run(["ip", "netns", "exec", topo.gen, sys.executable, script, "client", DUT_ADDR,
                                 str(TCP_PORT), str(UDP_PORT), str(seconds), str(max_conns), str(max_datagrams)],
                                capture_output=True, text=True, timeout=4 * seconds + 30)
        if client.returncode != 0:
            raise RuntimeError(f"hostfw client: {client.stderr.strip()[-300:]}")
        out = json.loads(client.stdout)
        server.stdin.close()
        out.update(json.loads(server.stdout.readline()))
        return out
    finally:
        if server.poll() is None:
            server.kill()
        server.wait()


def accept_contenders(args):
    """ACCEPT_CONTENDERS, or those of them that --contenders names."""
    if not args.contenders_given:
        return ACCEPT_CONTENDERS
    return [c for c in args.contenders.split(",") if c in ACCEPT_CONTENDERS]


def measure_accepted(args, rb, tmp):
    """Accepted traffic at each N of args.ns_list: rows of {n, contender, rep, delivered, seconds, sent, mpps,
    bpf_share, decided_by}. `rb` is run_bench (its run, Topology, Contender, send)."""
    import contextlib
    import random
    from rulesets import first_match, make_flows, make_ruleset, nft_translate, write_flows
    rows, failures = [], []
    contenders = accept_contenders(args)
    for n in args.ns_list:
        path, nft_file = os.path.join(tmp, f"accept-{n}.txt"), os.path.join(tmp, f"accept-{n}.nft")
        rules = make_ruleset(n, args.seed, path, accept=True)
        nft_translate(path, nft_file)
        flows = make_flows(rules, "last", random.Random(f"{args.seed}-{n}-accept"))
        flows_file = os.path.join(tmp, f"accept-{n}.flows")
        write_flows(flows, flows_file)
        expect = first_match(rules, flows[0])
        with contextlib.ExitStack() as stack:
            duts = {}
            for c in contenders:
                log(f"accept N={n} {c}: loading")
                topo = stack.enter_context(rb.Topology())
                try:
                    # The flow's destination as an address of the DUT, as a host's own address is: bpftables
                    # tells INPUT by the namespace's addresses, and the topology's `local 198.18.0.0/15` route
                    # alone makes it hand every packet to the kernel (0% decided in BPF).
                    rb.run(["ip", "-n", topo.dut, "addr", "add", f"{ipaddress.IPv4Address(flows[0][2])}/32",
                            "dev", "lo"])
                    # No port unreachable for the delivered datagrams (no socket listens): its destination, the
                    # flow's source, is local too (198.18.0.0/15), so it would come back through lo into INPUT
                    # and be dropped by the policy, up to 1,000 a second (icmp_msgs_per_sec, per namespace).
                    rb.run(["sysctl", "-qw", "net.ipv4.icmp_msgs_per_sec=0", "net.ipv4.icmp_msgs_burst=0"],
                           ns=topo.dut)
                    if c == "bpftables-xdp":
                        dut = LiveBpftables(rb.run, args.build_dir, topo.dut, topo.dut_dev, path)
                        dut.name, dut.topo = c, topo
                    else:
                        dut = rb.Contender(c, topo, args.build_dir, path, nft_file, None)
                except RuntimeError as e:
                    failures.append(f"accept N={n} {c}: {e}")
                    log(f"  {e}")
                    continue
                stack.callback(dut.close)
                duts[c] = dut
                topo.threaded_napi(args.dut_cpu)
            for rep in range(args.reps):
                order = list(duts.items())
                order = order[rep % len(order):] + order[:rep % len(order)] if order else order
                for c, dut in order:
                    ns = dut.topo.dut
                    d0 = delivered(rb.run, ns)
                    m0 = copy_input_counters(rb.run, ns) if c == "bpftables-xdp" else None
                    before = None
                    if c.startswith("iptables"):
                        dut.counts()
                        before = dut.per_rule
                    sent, secs = rb.send(args.build_dir, dut.topo, flows_file, args.seconds, args.max_packets,
                                         args.gen_cpu)
                    time.sleep(0.05)
                    d1 = delivered(rb.run, ns)
                    r = {"n": n, "contender": c, "rep": rep, "delivered": d1 - d0, "seconds": secs, "sent": sent,
                         "mpps": (d1 - d0) / secs / 1e6, "bpf_share": "", "decided_by": ""}
                    if m0 is not None:
                        m1 = copy_input_counters(rb.run, ns)
                        marked, total = m1[0] - m0[0], m1[1] - m0[1]
                        r["bpf_share"] = marked / total if total else 0.0
                    if before is not None:
                        dut.counts()
                        k, share = dut.decided_by(before)
                        r["decided_by"] = "policy" if k is None else k + 1
                        if k != expect or share < 0.99:
                            failures.append(f"accept N={n} {c}: {share:.0%} decided by {r['decided_by']}, "
                                            f"expected rule {expect + 1}")
                    rows.append(r)
                    log(f"  {c} rep {rep}: {r['mpps']:.4f} Mpps delivered ({d1 - d0} of {sent} sent in "
                        f"{secs:.2f}s)" + (f", {r['bpf_share']:.1%} decided in BPF" if m0 else ""))
                    if d1 - d0 <= 0:
                        failures.append(f"accept N={n} {c}: nothing delivered at the DUT")
    return rows, failures


def measure_hostfw(args, rb, tmp):
    """The host-firewall scenario: rows of {contender, rep, tcp_conns, tcp_failed, conns_per_s, udp_sent,
    udp_received, udp_per_s, bpf_share}."""
    import contextlib
    from rulesets import nft_translate
    rows, failures = [], []
    path, nft_file = os.path.join(tmp, "hostfw.txt"), os.path.join(tmp, "hostfw.nft")
    hostfw_ruleset(path, args.hostfw_services)
    nft_translate(path, nft_file)
    with contextlib.ExitStack() as stack:
        topos = {}
        for c in accept_contenders(args):
            log(f"host firewall {c}: loading")
            topo = rb.Topology()
            rb.LIVE_NAMESPACES.update((topo.gen, topo.dut))
            stack.callback(topo.__exit__)
            try:
                setup_hostfw_topology(rb.run, topo)
                if c == "bpftables-xdp":
                    stack.callback(LiveBpftables(rb.run, args.build_dir, topo.dut, topo.dut_dev, path).close)
                elif c == "nft":
                    rb.run(["nft", "-f", nft_file], ns=topo.dut)
                else:
                    with open(path) as f:
                        rb.run([f"{c}-restore"], ns=topo.dut, stdin=f)
            except RuntimeError as e:
                failures.append(f"host firewall {c}: {e}")
                log(f"  {e}")
                continue
            topos[c] = topo
        for rep in range(args.reps):
            order = list(topos.items())
            order = order[rep % len(order):] + order[:rep % len(order)] if order else order
            for c, topo in order:
                rules0, rules1 = {}, {}
                m0 = copy_input_counters(rb.run, topo.dut, rules0) if c == "bpftables-xdp" else None
                try:
                    out = hostfw_run(rb.run, topo, args.hostfw_seconds, args.hostfw_max_conns,
                                     args.hostfw_max_datagrams)
                except (RuntimeError, subprocess.TimeoutExpired, ValueError) as e:
                    failures.append(f"host firewall {c}: {e}")
                    continue
                r = {"contender": c, "rep": rep, "tcp_conns": out["tcp_conns"], "tcp_failed": out["tcp_failed"],
                     "conns_per_s": out["tcp_conns"] / out["tcp_seconds"], "udp_sent": out["udp_sent"],
                     "udp_received": out["udp_received"], "udp_per_s": out["udp_received"] / out["udp_seconds"],
                     "bpf_share": "", "copy_packets": ""}
                if m0 is not None:
                    m1 = copy_input_counters(rb.run, topo.dut, rules1)
                    marked, total = m1[0] - m0[0], m1[1] - m0[1]
                    r["bpf_share"], r["copy_packets"] = (marked / total if total else 0.0), total
                    handed = {k: v - rules0.get(k, 0) for k, v in rules1.items()
                              if v - rules0.get(k, 0) and "BPFTABLES-DECIDED" not in k}
                    log(f"    the copy's rules that judged the packets handed over: {handed}")
                rows.append(r)
                log(f"  {c} rep {rep}: {r['conns_per_s']:.0f} TCP connections/s ({out['tcp_failed']} failed), "
                    f"{r['udp_per_s']:.0f} UDP datagrams/s received ({out['udp_received']} of {out['udp_sent']})"
                    + (f", {r['bpf_share']:.1%} of {r['copy_packets']} packets decided in BPF" if m0 else ""))
                if out["tcp_conns"] <= 0 or out["udp_received"] <= 0:
                    failures.append(f"host firewall {c}: no connection or no datagram got through")
    return rows, failures
