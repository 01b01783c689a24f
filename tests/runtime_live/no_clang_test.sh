#!/usr/bin/env bash
# The live commands without a compiler (issue 14): with clang replaced by a trap that records each call and
# fails, attach, bpftables-restore, bpftables-save -c, -A / -I / -D / -R, stats and detach work on a ruleset
# that the direct back end makes (and on one with a classifier run), and the trap stays unused. The trap is shown to work: --codegen c calls it
# and fails, leaving the running generation as it was.
# Usage: no_clang_test.sh BUILD_CLI_DIR   (needs root; runs itself in a private mount namespace)
if [ -z "${BPFT_LIVE_MNTNS:-}" ]; then
    exec env BPFT_LIVE_MNTNS=1 unshare -m --propagation slave bash "$0" "$@"
fi
source "$(dirname "$0")/common.bash"
live_setup 13 nc "$1"

printf '#!/bin/sh\necho "$@" >>%s/clang-called\nexit 1\n' "$work" >"$work/clang-trap"
chmod +x "$work/clang-trap"
export BPFTABLES_CLANG=$work/clang-trap
unset BPFTABLES_CODEGEN
clang_calls() { [ -e "$work/clang-called" ] && wc -l <"$work/clang-called" || echo 0; }

cat >"$work/r.rules" <<'R'
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:SVC - [0:0]
-A INPUT -p udp -m udp --dport 9 -j DROP
-A INPUT -p udp -m conntrack --ctstate NEW -j SVC
-A SVC -p udp -m udp --dport 7 -j ACCEPT
COMMIT
R

echo "== attach and restore build with the direct back end"
bt attach va >/dev/null || bad "attach"
restore -v "$work/r.rules" >"$work/restore.out" || { bad "restore"; cat "$work/restore.out"; }
bt status | grep -q "^generation .*programs: xdp (direct) tc-ingress (direct)$" &&
    ok "status: both programs direct" || { bad "status: both programs direct"; bt status; }
udp 5 9
udp 3 7
expect "save -c: the DROP rule counted" "[5:150]" "$(counter '-A INPUT -p udp -m udp --dport 9 -j DROP')"
expect "save -c: the user chain's rule counted" "[3:90]" "$(counter '-A SVC -p udp -m udp --dport 7 -j ACCEPT')"

echo "== a restore whose entry programs are the same keeps them and swaps only the rules programs"
restore -v "$work/r.rules" >"$work/restore.out" || bad "restore again"
expect "both entry programs kept" 2 "$(grep -c ': kept the running entry program, swapped the rules program' "$work/restore.out")"
expect "counters carried over" "[5:150]" "$(counter '-A INPUT -p udp -m udp --dport 9 -j DROP')"
udp 1 9
expect "and keep counting" "[6:180]" "$(counter '-A INPUT -p udp -m udp --dport 9 -j DROP')"
expect "the rules numbered as before: both exit programs and counters kept" 2 \
    "$(grep -c '; kept its exit program and counters$' "$work/restore.out")"

echo "== a restore that keeps the counters and fails after its swap leaves them as they were"
BPFTABLES_TEST_FAIL=state restore "$work/r.rules" 2>/dev/null && bad "the injected failure failed the restore"
expect "the counts after the failed restore" "[6:180]" "$(counter '-A INPUT -p udp -m udp --dport 9 -j DROP')"
udp 1 9
expect "still counting" "[7:210]" "$(counter '-A INPUT -p udp -m udp --dport 9 -j DROP')"
bt status | grep -q "not the committed" && bad "status: the committed rules program runs" || ok "status: the committed rules program runs"
sed -e 's/^-A INPUT -p udp -m udp --dport 9/[5:150] &/' -e 's/^-A SVC/[3:90] &/' "$work/r.rules" >"$work/rc.rules"
restore -c -v "$work/rc.rules" >"$work/restore.out" || bad "restore -c"
expect "a -c restore loads counters of its own" 0 "$(grep -c '; kept its exit program and counters$' "$work/restore.out")"
expect "and takes the input's" "[5:150]" "$(counter '-A INPUT -p udp -m udp --dport 9 -j DROP')"
udp 1 9
expect "then counts on" "[6:180]" "$(counter '-A INPUT -p udp -m udp --dport 9 -j DROP')"

echo "== single-rule commands; counters carry over"
bt -A INPUT -p udp -m udp --dport 11 -j DROP || bad "-A"
bt -I SVC 1 -p udp -m udp --dport 8 -j ACCEPT || bad "-I"
udp 2 11
expect "the appended rule counts" "[2:60]" "$(counter '-A INPUT -p udp -m udp --dport 11 -j DROP')"
expect "the DROP rule kept its count" "[6:180]" "$(counter '-A INPUT -p udp -m udp --dport 9 -j DROP')"
bt -R INPUT 1 -p udp -m udp --dport 10 -j DROP || bad "-R"
bt -D SVC -p udp -m udp --dport 8 -j ACCEPT || bad "-D"
expect "the user chain's rule kept its count" "[3:90]" "$(counter '-A SVC -p udp -m udp --dport 7 -j ACCEPT')"
save | grep -q -- "-A INPUT -p udp -m udp --dport 10 -j DROP" && ok "-R replaced the rule" || bad "-R replaced the rule"
udp 2 10
bt stats | grep -Eq "^va \(ifindex [0-9]*\) xdp: [0-9]* packets" && ok "stats" || { bad "stats"; bt stats; }
# What the program at xdp dropped on va, from `bpftables stats`: it counts from the attachment on.
xdp_dropped() { bt stats | sed -n 's/^va (ifindex [0-9]*) xdp: .*decided in BPF .*: accepted [0-9]*, dropped \([0-9]*\);.*/\1/p'; }
dropped_before=$(xdp_dropped)
expect "clang was never called" 0 "$(clang_calls)"

echo "== a run of classifiable rules: the direct back end's classifier, without clang"
{
    printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n'
    for i in $(seq 1 40); do printf -- '-A INPUT -s 198.19.1.%d/32 -p udp -m udp --dport %d -j DROP\n' $i $((100 + i)); done
    printf -- '-A INPUT -s %s.2/32 -p udp -m udp --dport 9 -j DROP\nCOMMIT\n' "$NET"
} >"$work/run.rules"
calls=$(clang_calls)
restore "$work/run.rules" || bad "restore of a classifiable run without clang"
expect "clang was not called" "$calls" "$(clang_calls)"
expect "stats go on across the commit" "$dropped_before" "$(xdp_dropped)"
bt status | grep -q "^generation .*programs: xdp (direct) tc-ingress (direct)$" &&
    ok "the direct back end" || { bad "the direct back end"; bt status; }
bt compile --codegen direct --stats "$work/run.rules" | grep -q "classifier_runs 1 " &&
    ok "its program has a classifier run" || bad "its program has a classifier run"
udp 2 9
expect "the run's last rule counts" "[2:60]" "$(counter "-A INPUT -s $NET.2/32 -p udp -m udp --dport 9 -j DROP")"
# (an ARP exchange may add packets that are not IP: only the drops are checked)
expect "dropped in BPF at xdp" $((dropped_before + 2)) "$(xdp_dropped)"
restore "$work/r.rules" || bad "restore r.rules again"

echo "== the trap works: --codegen c calls it, fails, and changes nothing"
before=$(save; gen)
restore --codegen c "$work/r.rules" 2>/dev/null && bad "restore --codegen c without clang fails" ||
    ok "restore --codegen c without clang fails"
[ "$(clang_calls)" -gt 0 ] && ok "and called clang" || bad "and called clang"
expect "nothing changed" "$before" "$(save; gen)"
bt attach vx --codegen cc 2>/dev/null
expect "--codegen takes c or direct" 2 "$?"

echo "== detach removes everything"
bt detach va || bad "detach"
expect "state directory gone" "" "$(ls -d "$sd" 2>/dev/null)"
finish
