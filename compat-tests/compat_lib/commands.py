"""The commands mode (`--commands N`): a ruleset built rule by rule with iptables' single-rule commands instead of
one restore, the same commands given to bpftables (`bpftables -I ...` in the attached DUT) and to iptables-legacy
(in the oracle's DUT), each command's exit code compared; then the two saved filter tables, which must both be the
ruleset's; then the packets as for any ruleset (the attached subject answers with what the commands built)."""
import re
import shlex

from . import attached

_POLICY = re.compile(r"^:(\S+) (\S+) ")
_RULE = re.compile(r"^-A (\S+) (.*)$")
# Commands that must leave no trace: a rule put in and taken out again (by number, or by its specification), a
# rule replaced and replaced back.
_DECOY = ["-p", "udp", "-m", "udp", "--dport", "7", "-j", "DROP"]


def sequence(text, rng):
    """The commands (lists of words, without the program's name) that build the filter table of `text` (iptables-
    save form) from an empty one: -N for each user chain, -P for each built-in chain whose policy is not ACCEPT,
    every rule inserted in a shuffled order at its final position (-I CHAIN N, or -A when it goes last), with
    decoys between them (-I and -D by number, -A and -D by specification, -R and -R back, -C of a rule there)."""
    policies, rules, user = [], [], []
    for line in text.splitlines():
        m = _POLICY.match(line)
        if m and m.group(2) == "-":
            user.append(m.group(1))
        elif m and m.group(2) != "ACCEPT":
            policies.append(["-P", m.group(1), m.group(2)])
        m = _RULE.match(line)
        if m:
            rules.append((m.group(1), shlex.split(m.group(2))))
    cmds = [["-N", c] for c in user]
    order = list(range(len(rules)))
    rng.shuffle(order)
    placed = {}  # chain -> the indices (into rules) inserted so far, in chain order
    late = rng.randrange(len(order) + 1)  # the policies go in at a random point
    for step, i in enumerate(order):
        if step == late:
            cmds += policies
        chain, words = rules[i]
        have = placed.setdefault(chain, [])
        pos = 1 + sum(1 for j in have if j < i)
        cmds.append(["-A", chain] + words if pos == len(have) + 1 else ["-I", chain, str(pos)] + words)
        have.insert(pos - 1, i)
        kind = rng.randrange(4)
        if kind == 0:
            at = str(rng.randint(1, len(have) + 1))
            cmds += [["-I", chain, at] + _DECOY, ["-D", chain, at]]
        elif kind == 1:
            cmds += [["-A", chain] + _DECOY, ["-D", chain] + _DECOY]
        elif kind == 2:
            cmds += [["-R", chain, str(pos)] + _DECOY, ["-R", chain, str(pos)] + words]
        else:
            cmds.append(["-C", chain] + words)
    if late == len(order):
        cmds += policies
    return cmds


def _rules_of(save_text):
    """The rules and chain lines of a `*-save` output: comments and counters left out."""
    return [re.sub(r"\[\d+:\d+\]", "", ln).strip() for ln in save_text.splitlines()
            if ln and not ln.startswith("#")]


def build(att, oracle, text, rng):
    """Builds `text` by commands in both DUTs (the attached subject `att`, the oracle's `oracle`), from an empty
    filter table. Returns (number of commands, None) or (n, the first difference: an exit code, or the saved
    tables)."""
    err = att.load(attached.EMPTY_FILTER)
    if err:
        return 0, f"bpftables-restore of an empty filter table: {err}"
    err = oracle.load(attached.EMPTY_FILTER)
    if err:
        return 0, f"iptables-legacy-restore of an empty filter table: {err}"
    cmds = sequence(text, rng)
    for n, words in enumerate(cmds, 1):
        mine = att._dut_cmd([att.bpftables, "-w", "5"] + words)
        theirs = oracle._dut_cmd(["iptables-legacy", "-w", "5"] + words)
        if mine.returncode != theirs.returncode:
            return n, (f"command {n} `{shlex.join(words)}`: bpftables exit {mine.returncode} "
                       f"({mine.stderr.strip()[:300]}), iptables-legacy exit {theirs.returncode} "
                       f"({theirs.stderr.strip()[:300]})")
    mine = att._dut_cmd([att.save, "-t", "filter"])
    theirs = oracle._dut_cmd(["iptables-legacy-save", "-t", "filter"])
    if _rules_of(mine.stdout) != _rules_of(theirs.stdout):
        return len(cmds), f"saved tables differ:\nbpftables:\n{mine.stdout}\niptables-legacy:\n{theirs.stdout}"
    att.loaded = text
    return len(cmds), None



