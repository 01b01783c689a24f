"""The subject: `bpftables run FILE --pcap IN.pcap --chain INPUT --in vdut0 --json` on the same frames
(`--chain FORWARD --out vdut1` in the forward mode). The attached subject is attached.py."""
import json
import os
import subprocess
import tempfile

from . import packets as pk
from .netns import DUT_IF, OUT_IF


# The `run` subject's back end (`bpftables run --codegen`, compat.py --codegen); None: bpftables' default.
CODEGEN = None


class CompileError(Exception):
    pass


def probe(bpftables, rule):
    """True if a ruleset holding just this INPUT rule compiles."""
    text = f"*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{rule}\nCOMMIT\n"
    with tempfile.TemporaryDirectory(prefix="bpftc-") as d:
        path = os.path.join(d, "probe.rules")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run([bpftables, "compile", path, "-o", os.path.join(d, "probe.o")], capture_output=True,
                           text=True, timeout=120)
        return r.returncode == 0


def verdicts(bpftables, filter_text, frames, hook="xdp", ns_exec=None, ipsets=None, fmt=None, chain="INPUT",
             backend=None, ipv6=False):
    """One answer per frame: {"verdict", "chain", "rule", "reason"}; raises CompileError with the diagnostics.
    ns_exec: run inside that network namespace (`ip netns exec`), so BPF_PROG_TEST_RUN's conntrack lookups see
    its conntrack table. ipsets: an `ipset save` text for --ipsets. fmt: --format (nft, iptables; guessed when
    None). chain: INPUT, or FORWARD (in vdut0, out vdut1, as the oracle's forward mode routes). backend: --backend
    (legacy when None: the reference oracle's semantics). ipv6: the text is ip6tables-save's (`run -6`)."""
    with tempfile.TemporaryDirectory(prefix="bpftc-") as d:
        rules, pcap = os.path.join(d, "rules"), os.path.join(d, "in.pcap")
        with open(rules, "w") as f:
            f.write(filter_text)
        pk.write_pcap(pcap, frames)
        cmd = [bpftables, "run", rules, "--pcap", pcap, "--chain", chain, "--in", DUT_IF, "--hook", hook, "--json"]
        if chain == "FORWARD":
            cmd += ["--out", OUT_IF]
        if chain == "OUTPUT":  # sent by the DUT out of vdut0: TC egress
            cmd = cmd[:cmd.index("--in")] + ["--out", DUT_IF, "--hook", "tc-egress", "--json"]
        if fmt:
            cmd += ["--format", fmt]
        if backend:
            cmd += ["--backend", backend]
        if CODEGEN:
            cmd += ["--codegen", CODEGEN]
        if ipv6:
            cmd += ["-6"]
        if ipsets is not None:
            with open(os.path.join(d, "ipsets"), "w") as f:
                f.write(ipsets)
            cmd += ["--ipsets", os.path.join(d, "ipsets")]
        if ns_exec:
            cmd = ["ip", "netns", "exec", ns_exec] + cmd
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise CompileError(r.stderr.strip().replace(rules, "rules") or f"exit {r.returncode}")
        out = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        if len(out) != len(frames):
            raise CompileError(f"bpftables run printed {len(out)} answers for {len(frames)} packets")
        return [{"verdict": o["verdict"], "chain": o.get("chain", ""), "rule": o.get("rule", 0),
                 "reason": o.get("reason", ""), "table": o.get("table", ""), "line": o.get("line", 0)}
                for o in out]
