#!/usr/bin/env bash
# Single-rule commands on a running namespace (issue 14 item 3): the kernel's copy changes by one line of
# `iptables-legacy-restore --noflush` (bpftables -v says so), the copy's other rules keep their counters, the
# running entry program stays, traffic meets the new rule at once, counters carry over exactly, a command that
# fails after changing the copy puts the old rule back with its counters, `bpftables-restore -n` with a one-rule
# diff takes the same path, and changes the one-line path cannot count the same way take the whole-table path.
# Usage: rule_change_test.sh BUILD_CLI_DIR   (needs root; runs itself in a private mount namespace)
if [ -z "${BPFT_LIVE_MNTNS:-}" ]; then
    exec env BPFT_LIVE_MNTNS=1 unshare -m --propagation slave bash "$0" "$@"
fi
source "$(dirname "$0")/common.bash"
live_setup 14 rc "$1"

printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]
-A INPUT -p udp -m udp --dport 9 -j ACCEPT
-A INPUT -p udp -m udp --dport 10 -j DROP
-A INPUT -p udp -m udp --dport 11 -j REJECT --reject-with icmp-port-unreachable
COMMIT\n' >"$work/r.rules"
bt attach va >/dev/null || exit 1
restore --backend legacy "$work/r.rules" || exit 1
copy() { inA iptables-legacy-save -c -t filter | grep '^\[.*-A INPUT'; }
copy_counter() { copy | grep -F -- "$1" | cut -d' ' -f1; }
link_prog() { inA bpftool -j link show 2>/dev/null | python3 -c 'import json,sys; print(sorted(l["prog_id"] for l in json.load(sys.stdin) if l.get("type") == "xdp")[0])'; }

udp 5 9
udp 4 11  # REJECT: handed over, the copy judges it
expect "BPF counted the 5" "[5:" "$(counter '--dport 9 -j ACCEPT' | cut -d: -f1):"
expect "the copy counted the 4 REJECTs" "[4:" "$(copy_counter '--dport 11 -j REJECT' | cut -d: -f1):"
entry=$(link_prog)

echo "== -I: one line for the copy"
out=$(bt -v -I INPUT 1 -p udp --dport 12 -j DROP) || bad "-I"
grep -q "applied one rule to the kernel's netfilter (legacy): -I INPUT 2$" <<<"$out" &&
    ok "-I is one line (after the handoff's first rule)" || { bad "-I is one line"; echo "$out"; }
expect "the copy's rules in order" "DECIDED 12 9 10 11" \
    "$(copy | grep -o -- '--dport [0-9]*\|-j BPFTABLES-DECIDED' | sed 's/.* //; s/BPFTABLES-//' | xargs)"
expect "the copy kept the REJECT rule's counters" "[4:" "$(copy_counter '--dport 11 -j REJECT' | cut -d: -f1):"
expect "the entry program stayed" "$entry" "$(link_prog)"
udp 3 12
udp 2 9
expect "the new rule decides at once" "[3:" "$(counter '--dport 12 -j DROP' | cut -d: -f1):"
expect "counters carried over (BPF)" "[7:" "$(counter '--dport 9 -j ACCEPT' | cut -d: -f1):"
expect "counters carried over (copy, in bpftables-save -c)" "[4:" "$(counter '--dport 11 -j REJECT' | cut -d: -f1):"

echo "== -R and -D: one line each"
out=$(bt -v -R INPUT 3 -p udp --dport 10 -j ACCEPT) || bad "-R"
grep -q "applied one rule to the kernel's netfilter (legacy): -R INPUT 4$" <<<"$out" && ok "-R is one line" ||
    { bad "-R is one line"; echo "$out"; }
udp 2 10
expect "the replaced rule decides at once" "[2:" "$(counter '--dport 10 -j ACCEPT' | cut -d: -f1):"
out=$(bt -v -D INPUT 1) || bad "-D"
grep -q "applied one rule to the kernel's netfilter (legacy): -D INPUT 2$" <<<"$out" && ok "-D is one line" ||
    { bad "-D is one line"; echo "$out"; }
out=$(bt -v -R INPUT 1 -p udp -m udp --dport 9 -j ACCEPT) || bad "-R by itself"
grep -q "the kernel's netfilter copy is unchanged" <<<"$out" && ok "a rule replaced by itself leaves the copy" ||
    { bad "a rule replaced by itself leaves the copy"; echo "$out"; }
expect "counters kept by -R of the same rule" "[7:" "$(counter '--dport 9 -j ACCEPT' | cut -d: -f1):"

echo "== bpftables-restore -n with a one-rule diff: one line too"
out=$(printf '*filter\n-A INPUT -p udp -m udp --dport 13 -j DROP\nCOMMIT\n' | restore -n -v --backend legacy) || bad "restore -n"
grep -q "applied one rule to the kernel's netfilter (legacy): -I INPUT 5$" <<<"$out" &&
    ok "restore -n of one rule is one line" || { bad "restore -n of one rule is one line"; echo "$out"; }
udp 2 13
expect "the restored rule decides" "[2:" "$(counter '--dport 13 -j DROP' | cut -d: -f1):"

echo "== a failure after the copy changed puts the rule back with its counters"
before=$(copy)
BPFTABLES_TEST_FAIL=state bt -R INPUT 3 -p udp --dport 11 -j DROP 2>/dev/null && bad "the injected failure fails"
expect "the copy is as it was, counters included" "$before" "$(copy)"

echo "== what one line cannot count the same way: the whole table"
out=$(bt -v -A INPUT -p udp -m udp --dport 9 -j ACCEPT) || bad "-A of a rule the chain has"
grep -q "applied to the kernel's netfilter (legacy)$" <<<"$out" && ok "a second copy of a rule: whole table" ||
    { bad "a second copy of a rule: whole table"; echo "$out"; }
expect "the copy matches the committed ruleset" \
    "$(save | grep '^-A INPUT' | sed 's/^-A INPUT //')" \
    "$(copy | sed 's/^\[[0-9:]*\] -A INPUT //' | grep -v BPFTABLES-DECIDED)"
expect "the copy still has the REJECT rule's counters" "[4:" "$(copy_counter '--dport 11 -j REJECT' | cut -d: -f1):"
echo "== a copy changed behind bpftables' back: the whole table"
inA iptables-legacy -R INPUT 3 -p udp -m udp --dport 99 -j DROP  # committed rule 2 (--dport 10)
out=$(bt -v -D INPUT 2) || bad "-D after a change behind bpftables' back"
grep -q "applied to the kernel's netfilter (legacy)$" <<<"$out" && ok "a copy that does not line up: whole table" ||
    { bad "a copy that does not line up: whole table"; echo "$out"; }
expect "the copy matches the committed ruleset again" \
    "$(save | grep '^-A INPUT' | sed 's/^-A INPUT //')" \
    "$(copy | sed 's/^\[[0-9:]*\] -A INPUT //' | grep -v BPFTABLES-DECIDED)"
bt detach va >/dev/null
finish
