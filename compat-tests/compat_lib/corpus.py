"""The corpus under ../shared/corpus as differential cases: Docker's filter tables (ipsets they reference created
empty), the bpf-iptables benchmark rulesets (up to a rule bound), ufw's templates combined as ufw loads them, and
the upstream iptables .t OK cases of the modules bpftables compiles, as one-rule rulesets.

Every address is moved into the test ranges (textrules.remap_addresses) and FORWARD rules are judged on the INPUT
path (textrules.forward_as_input): the oracle delivers locally. Docker's `-i docker0` becomes `-i vdut0` (the
packets' interface). Both sides get exactly the same text.
"""
import glob
import json
import os
import re

from . import textrules

UFW_INPUT_JUMPS = ["ufw-before-logging-input", "ufw-before-input", "ufw-after-input", "ufw-after-logging-input",
                   "ufw-reject-input", "ufw-track-input"]


def _prepare(text):
    return textrules.forward_as_input(textrules.remap_addresses(textrules.filter_section(text)))


def _ipsets_for(text, ipset_file=None):
    """An `ipset restore` text: the sets of ipset_file (addresses remapped as sources), plus an empty hash:net set
    for every other --match-set name the ruleset uses."""
    out, have = [], set()
    if ipset_file and os.path.exists(ipset_file):
        for line in open(ipset_file):
            line = line.strip().removeprefix("ipset ")  # some files are ipset commands, not ipset save
            if line.startswith(("create ", "add ")):
                have.add(line.split()[1])
                out.append(textrules._ADDR.sub(lambda m: textrules.remap_ip(m.group(1), True), line))
    for name in sorted(set(re.findall(r"--match-set (\S+)", text)) - have):
        out.append(f"create {name} hash:net family inet")
    return "\n".join(out) + "\n" if out else None


def rule_count(text):
    return len(re.findall(r"^-A ", text, re.M))


def rulesets(root, max_rules=1000, only=None):
    """(group, name, filter text, ipsets text or None) for every corpus ruleset within max_rules rules."""
    out = []
    for f in sorted(glob.glob(os.path.join(root, "docker", "iptablesdoc", "*.rules"))):
        # docker0 is the interface the packets arrive on here (vdut0), so the bridge's own rules match too
        text = re.sub(r"(-i) docker0\b", r"\1 vdut0", _prepare(open(f).read()))
        if text:
            out.append(("docker", os.path.basename(f), text, _ipsets_for(text)))
    for f in sorted(glob.glob(os.path.join(root, "bpf-iptables-bench", "*.rules"))):
        raw = open(f).read()
        if rule_count(raw) > max_rules:
            continue
        text = _prepare(raw)
        out.append(("bpf-iptables-bench", os.path.basename(f), text, _ipsets_for(text, f[:-6] + ".ipset")))
    ufw = os.path.join(root, "ufw", "templates")
    if os.path.isdir(ufw):
        out.append(("ufw", "user+before+after", ufw_combined(ufw), None))
    if only:
        out = [r for r in out if any(o in f"{r[0]}/{r[1]}" for o in only)]
    return out


def ufw_combined(d):
    """user.rules, before.rules, after.rules as one filter table, as ufw loads them (iptables-restore --noflush
    in that order), with the chains ufw creates itself declared first and INPUT's jumps as ufw's backend adds
    them; INPUT policy DROP (ufw's default deny incoming)."""
    decl, rules = [], []
    for name in ("user.rules", "before.rules", "after.rules"):
        section = textrules.filter_section(open(os.path.join(d, name)).read())
        for line in section.splitlines():
            if line.startswith(":") and not line.startswith((":INPUT", ":FORWARD", ":OUTPUT")):
                if line.split()[0] not in [x.split()[0] for x in decl]:
                    decl.append(line.split()[0] + " - [0:0]")
            elif line.startswith("-A "):
                rules.append(line)
    used = set(re.findall(r"-[jg] (ufw\S*)", "\n".join(rules))) | set(UFW_INPUT_JUMPS)
    declared = {x.split()[0][1:] for x in decl}
    decl += [f":{c} - [0:0]" for c in sorted(used - declared)]
    jumps = [f"-A INPUT -j {c}" for c in UFW_INPUT_JUMPS]
    text = "\n".join(["*filter", ":INPUT DROP [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]"] + decl +
                     jumps + rules + ["COMMIT", ""])
    return textrules.remap_addresses(text)


def iptables_t_cases(root):
    """(module, rule text) for the OK ipv4 filter-table cases of ALL_RULES.jsonl usable in INPUT."""
    path = os.path.join(root, "iptables-t", "ALL_RULES.jsonl")
    out = []
    if not os.path.exists(path):
        return out
    for line in open(path):
        d = json.loads(line)
        if d.get("result") != "OK" or d.get("table") != "filter" or d.get("kind") != "rule":
            continue
        if "ipv4" not in (d.get("family") or ["ipv4"]) or d["file"].startswith(("libip6t", "libebt", "libarpt")):
            continue
        if not set(d.get("chains") or ["INPUT"]) & {"INPUT", "PREROUTING", "FORWARD", "OUTPUT", "POSTROUTING"}:
            continue
        rule = d["rule"]
        if re.search(r"(^|\s)(-o|--out-interface)\s", rule):
            continue  # not usable in INPUT
        module = re.sub(r"^lib(xt|ipt)_|\.t$", "", d["file"])
        out.append((module, rule))
    return out


def one_rule_ruleset(rule):
    text = textrules.remap_addresses(rule)
    if not re.search(r"(^|\s)(-[jg]|--jump[\s=]|--goto[\s=])", text):  # -jACCEPT and --jump=ACCEPT too
        text += " -j ACCEPT"
    return f"*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT {text}\nCOMMIT\n"
