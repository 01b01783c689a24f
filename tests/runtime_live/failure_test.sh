#!/usr/bin/env bash
# Failure injection without test hooks (issue 3): a ruleset the kernel's verifier rejects, a missing bpffs, an
# interface that vanished, a held lock; and, with the test hook, a restore killed halfway. Each failing command must exit non-zero with a clear message, leave
# the previous generation running (same links and programs, its verdicts still counted on traffic through
# the veth, bpftables-save still printing its ruleset) and the state consistent. Then: nothing is left after
# detach (no pins, links, programs, lock file, state directory). Throwaway namespaces and a private bpffs.
# Usage: failure_test.sh BUILD_CLI_DIR   (needs root)
if [ -z "${BPFT_LIVE_MNTNS:-}" ]; then
    exec env BPFT_LIVE_MNTNS=1 unshare -m --propagation slave bash "$0" "$@"
fi
source "$(dirname "$0")/common.bash"
live_setup 3 f "$1"

cat >"$work/r1.rules" <<'R'
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p udp -m udp --dport 9 -j DROP
-A INPUT -p udp -m udp --dport 7 -j ACCEPT
COMMIT
R
cat >"$work/r2.rules" <<'R'
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p udp -m udp --dport 11 -j DROP
COMMIT
R
DROP9='-A INPUT -p udp -m udp --dport 9 -j DROP'
bt attach va --hook xdp --mode native || bad "attach va"
restore "$work/r1.rules" || bad "restore r1"

# What must not change when a command fails.
snapshot() { g=$(gen); saved=$(save); pins=$(ls "$sd"); links=$(bt status | grep ' link '); }
old_runs() {  # old_runs WHAT
    expect "$1: generation kept" "$g" "$(gen)"
    expect "$1: bpftables-save prints the previous ruleset" "$saved" "$(save)"
    expect "$1: pins unchanged (nothing half-made left)" "$pins" "$(ls "$sd")"
    expect "$1: same links and programs attached" "$links" "$(bt status | grep ' link ')"
    bt -Z
    udp 2 9
    expect "$1: the previous program still gives its verdicts" "[2:60]" "$(counter "$DROP9")"
    [ -e "$lockfile" ] && bad "$1: lock file left" || ok "$1: no lock file left"
}
fails_with() {  # fails_with WHAT EXPECTED-CODE PATTERN: checks $rc and $work/err
    expect "$1: exit code" "$2" "$rc"
    grep -q -- "$3" "$work/err" && ok "$1: says '$3'" || { bad "$1: message"; cat "$work/err"; }
}

echo "== (a) a ruleset the kernel's verifier rejects: user chains nested deeper than BPF's 8 call frames"
# Each chain has 21 rules, so it is a BPF function of its own (not inlined); 10 nested jumps need more frames
# than the verifier allows. iptables takes this ruleset; if bpftables ever does (deeper inlining), this test
# needs another ruleset the verifier rejects.
{
    printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n'
    for i in $(seq 10); do echo ":C$i - [0:0]"; done
    echo "-A INPUT -p udp -m udp --dport 7 -j C1"
    for i in $(seq 10); do
        for k in $(seq 0 19); do echo "-A C$i -s 198.19.$i.$k/32 -p udp -m udp --dport $((100 + k)) -j DROP"; done
        [ "$i" -lt 10 ] && echo "-A C$i -p udp -j C$((i + 1))"
    done
    echo COMMIT
} >"$work/deep.rules"
ip netns exec $P iptables-legacy-restore --test "$work/deep.rules" && ok "iptables takes the deep ruleset" ||
    bad "iptables refuses the deep ruleset"
snapshot
restore "$work/deep.rules" 2>"$work/err"
rc=$?
fails_with "verifier" 1 "the kernel refused the program"
grep -q "too deep" "$work/err" && ok "verifier: the verifier's own words are shown" || bad "verifier: no verifier log"
grep -q "nothing was changed; the previous generation keeps running" "$work/err" && ok "verifier: says nothing changed" ||
    bad "verifier: does not say nothing changed"
old_runs "verifier"
restore --test "$work/deep.rules" 2>"$work/err"
rc=$?
fails_with "verifier, --test" 1 "the kernel refused the program"

echo "== (b) a missing bpffs: the command fails cleanly and changes nothing"
# Runs a command in a mount namespace of its own where /sys/fs/bpf is an empty tmpfs, or not mounted at all.
nobpffs() {  # nobpffs tmpfs|unmounted CMD ARGS...
    local how=$1
    shift
    inA unshare -m --propagation private bash -c '
        if [ "$0" == tmpfs ]; then
            mount -t tmpfs none /sys/fs/bpf || exit 97
        else
            while [ "$(stat -f -c %T /sys/fs/bpf)" == bpf_fs ]; do umount /sys/fs/bpf || exit 97; done
        fi
        exec "$@"' "$how" "$@"
}
snapshot
for how in tmpfs unmounted; do
    for cmd in "bpftables-restore $work/r2.rules" "bpftables-restore --test $work/r2.rules" "bpftables-save" \
        "bpftables status" "bpftables -Z" "bpftables detach va" "bpftables refresh"; do
        set -- $cmd
        nobpffs $how "$B/$1" "${@:2}" >/dev/null 2>"$work/err"
        rc=$?
        fails_with "bpffs $how: $cmd" 1 "bpffs is not mounted at /sys/fs/bpf"
    done
    # attach mounts bpffs where it is missing, but not in a private mount namespace (as `ip netns exec` makes,
    # and nobpffs does), where it and its pins would vanish with the command.
    nobpffs $how "$B/bpftables" attach va >/dev/null 2>"$work/err"
    rc=$?
    fails_with "bpffs $how: attach in a private mount namespace" 1 "nsenter --net=/run/netns/NAME"
    old_runs "bpffs $how"
    snapshot
done

echo "== (c) an interface that vanished: restore drops its attachment with a warning and updates the others"
# As iptables-restore does not care which interfaces exist, a restore is not refused because one of them
# went away: the kernel already detached its links; the attachment goes (a warning says so) and the new
# ruleset runs on the other interfaces. One created again under the same name is attached again, since
# iptables' rules follow the name; one renamed keeps its attachment.
ifindex() { ip -n $A -o link show "$1" | cut -d: -f1; }
ip -n $A link add vgone type veth peer name vgone-p && ip -n $A link set vgone up
bt attach vgone --hook tc || bad "attach vgone"
gone=$(ifindex vgone)
ip -n $A link del vgone
restore "$work/r2.rules" 2>"$work/err"
rc=$?
fails_with "vanished" 0 "warning: vgone (ifindex $gone) vanished: its attachment is dropped"
bt status | grep -q vgone && bad "vanished: still in status" || ok "vanished: attachment dropped from the state"
ls "$sd" | grep -q "^link_${gone}_" && bad "vanished: its link pins stay: $(ls "$sd")" || ok "vanished: its link pins are gone"
bt status | grep -q MISSING && bad "vanished: a link is missing" || ok "vanished: every attachment has its links"
bt -Z
udp 3 11
expect "vanished: the new ruleset runs on va" "[3:90]" "$(counter '-A INPUT -p udp -m udp --dport 11 -j DROP')"

ip -n $A link add vback type veth peer name vback-p && ip -n $A link set vback up
bt attach vback --hook tc || bad "attach vback"
first=$(ifindex vback)
ip -n $A link del vback
ip -n $A link add vback type veth peer name vback-p && ip -n $A link set vback up
second=$(ifindex vback)
restore "$work/r1.rules" 2>"$work/err"
rc=$?
fails_with "re-created" 0 "vback vanished (ifindex $first) and exists again (ifindex $second): attached again"
bt status | grep "^vback (ifindex $second) tc: tc-ingress link [0-9]* prog [0-9]*;$" >/dev/null &&
    ok "re-created: attached at the new ifindex" || bad "re-created: $(bt status | grep vback)"
ls "$sd" | grep -q "^link_${first}_" && bad "re-created: old link pins stay" || ok "re-created: old link pins are gone"
ip -n $A link set vback down && ip -n $A link set vback name vren && ip -n $A link set vren up
restore "$work/r1.rules" 2>"$work/err"
rc=$?
fails_with "renamed" 0 "vback (ifindex $second) was renamed vren; it stays attached"
bt status | grep -q "^vren (ifindex $second) tc: tc-ingress link" && ok "renamed: attached under its new name" ||
    bad "renamed: $(bt status)"
bt detach vren || bad "detach vren"

echo "== (d) a held lock: exit 4 at once without -w, after SECS with -w SECS; -w waits for the holder"
snapshot
mkdir -p /run/bpftables  # bpftables removes it with the last lock file; another holder makes it
flock "$lockfile" sleep 4 &
holder=$!
bg_pids=$holder
sleep 0.5
restore "$work/r2.rules" 2>"$work/err"
rc=$?
fails_with "lock, no -w" 4 "Another app is currently holding the bpftables lock ($lockfile). Perhaps you want to use the -w option?"
start=$(date +%s.%N)
restore -w 1 "$work/r2.rules" 2>"$work/err"
rc=$?
waited=$(echo "$(date +%s.%N) - $start" | bc)
fails_with "lock, -w 1" 4 "stopped waiting after 1 seconds"
[ "$(echo "$waited >= 1 && $waited < 2.5" | bc)" == 1 ] && ok "lock, -w 1: waited ${waited}s" || bad "lock, -w 1: waited ${waited}s"
expect "lock: gen kept" "$g" "$(gen)"
expect "lock: bpftables-save prints the previous ruleset" "$saved" "$(save)"
start=$(date +%s.%N)
restore -w "$work/r2.rules" || bad "lock, -w: succeeds once the holder lets go"
waited=$(echo "$(date +%s.%N) - $start" | bc)
[ "$(echo "$waited > 1" | bc)" == 1 ] && ok "lock, -w: waited ${waited}s for the holder" || bad "lock, -w did not wait ($waited)"
wait $holder
bg_pids=
expect "lock, -w: committed" "$((g + 1))" "$(gen)"
mkdir -p /run/bpftables
flock "$lockfile" sleep 2 &
holder=$!
bg_pids=$holder
sleep 0.5
restore -w 10 "$work/r1.rules" && ok "lock, -w 10: succeeds once the holder lets go" || bad "lock, -w 10"
wait $holder
bg_pids=
# Two restores at once: the lock serialises them (each one's generation follows the other's).
g=$(gen)
restore -w "$work/r1.rules" &
p1=$!
restore -w "$work/r2.rules" &
p2=$!
wait $p1 && wait $p2 && ok "concurrent restores both succeed" || bad "concurrent restores"
expect "concurrent restores: two generations" "$((g + 2))" "$(gen)"
[ -e "$lockfile" ] && bad "lock file left: $lockfile" || ok "no lock file left after the commands"

echo "== (e) a restore killed between its swaps and its commit (test hook: exits as a killed process would)"
# The links then run the killed command's programs while the state names the committed ones. Before, every
# later restore failed (BPF_F_REPLACE with the committed program: EPERM) and bpftables-save printed a ruleset
# that did not run; now a restore replaces what the links run.
restore "$work/r1.rules" || bad "restore r1"
g=$(gen)
BPFTABLES_TEST_FAIL=crash:state restore "$work/r2.rules" 2>/dev/null
expect "killed: exit code" 137 "$?"
bt status | grep -q "not the committed program: a command was interrupted" && ok "killed: status says so" ||
    bad "killed: status $(bt status)"
links=$(bt status | grep ' link ')
BPFTABLES_TEST_FAIL=swap:1 restore "$work/r1.rules" 2>/dev/null && bad "killed, then a failure after one swap"
expect "killed, then rolled back: the links run what they ran" "$links" "$(bt status | grep ' link ')"
restore -v "$work/r1.rules" >"$work/out" 2>&1
rc=$?
expect "killed: the next restore succeeds" 0 "$rc"
grep -q "va at xdp ran a program of an interrupted command; replaced" "$work/out" && ok "killed: -v says what it replaced" ||
    bad "killed: -v: $(cat "$work/out")"
expect "killed: generation" "$((g + 1))" "$(gen)"
bt status | grep -q "not the committed program" && bad "killed: still not the committed program" ||
    ok "killed: the links run the committed programs"
expect "killed: only the committed generation's pins" "" "$(ls "$sd" | grep '^g' | grep -v "^g$((g + 1))_")"
bt -Z
udp 2 9
expect "killed: the committed ruleset gives the verdicts" "[2:60]" "$(counter "$DROP9")"
[ -e "$lockfile" ] && bad "killed: lock file left" || ok "killed: the next command removed the stale lock file"
# The same for the first attach of a namespace: its links are pinned, no state is written yet.
inP() { nsenter --net=/run/netns/$P "$@"; }
BPFTABLES_TEST_FAIL=crash:state inP "$B/bpftables" attach vp 2>/dev/null
expect "killed first attach: exit code" 137 "$?"
inP "$B/bpftables" attach -v vp >"$work/out" 2>&1 && ok "killed first attach: attach again succeeds" ||
    bad "killed first attach: $(cat "$work/out")"
grep -q "vp at xdp ran a program of an interrupted command; replaced" "$work/out" && ok "killed first attach: says so" ||
    bad "killed first attach: -v: $(cat "$work/out")"
inP "$B/bpftables" status | grep -q "^vp (ifindex [0-9]*) xdp native: xdp link [0-9]* prog [0-9]*; tc-ingress link [0-9]* prog [0-9]*;$" &&
    ok "killed first attach: attached, running the committed programs" || bad "killed first attach: $(inP "$B/bpftables" status)"
inP "$B/bpftables" detach vp || bad "detach vp"

echo "== bpftables-save -c and -L while a restore commits (test hook: they pause 3 s after reading the state)"
# The restore removes the maps of the generation they read; before, they then printed [0:0] counters.
bt -Z
udp 3 9
BPFTABLES_TEST_FAIL=pause:read inA "$B/bpftables-save" -c >"$work/save-out" &
saver=$!
BPFTABLES_TEST_FAIL=pause:read inA "$B/bpftables" -L INPUT -v -n >"$work/list-out" &
lister=$!
bg_pids="$saver $lister"
sleep 0.5
restore "$work/r1.rules" || bad "restore while reading"
wait $saver && wait $lister || bad "save and -L while a restore commits"
bg_pids=
expect "save -c across a commit" "[3:90]" "$(grep -F -- "$DROP9" "$work/save-out" | cut -d' ' -f1)"
expect "-L -v across a commit" "3 90" "$(grep -E 'DROP .* udp dpt:9( |$)' "$work/list-out" | awk '{print $1, $2}')"

echo "== nothing is left behind: commands that change nothing, then detach"
sdP=$(inP "$B/bpftables" status | sed -n 's/^state //p')
inP "$B/bpftables" -Z || bad "-Z with no state"
inP "$B/bpftables" detach vp 2>/dev/null && bad "detach of an unattached interface fails"
inP "$B/bpftables-restore" --test "$work/r1.rules" || bad "--test with no state"
echo '*filter
-A INPUT -m nosuchmatch -j ACCEPT
COMMIT' | inP "$B/bpftables-restore" 2>/dev/null && bad "a bad ruleset is refused"
[ -e "$sdP" ] && bad "commands that changed nothing left $sdP" || ok "commands that changed nothing left no state directory"
[ -e "/run/bpftables/$(stat -L -c %i /run/netns/$P).lock" ] && bad "lock file left" || ok "and no lock file"
ids=$(bt status | grep -o ' \(link\|prog\) [0-9]*' | sort -u)
[ -n "$ids" ] && ok "status names the links and programs ($(echo $ids | wc -w) ids)" || bad "no ids in status"
bt detach --all || bad "detach --all"
[ -e "$sd" ] && bad "state directory left: $(ls "$sd")" || ok "no state directory left"
# (maps.debug and progs.debug are the kernel's own, in every bpffs)
[ -z "$(ls -A /sys/fs/bpf | grep -v '\.debug$')" ] && ok "bpffs is empty" || bad "bpffs holds $(ls -RA /sys/fs/bpf)"
[ -e "$lockfile" ] && bad "lock file left" || ok "no lock file left"
# A process of an earlier section that is still exiting may hold the link's last reference for a moment:
# bounded wait (3 s), then the program must be gone.
for _ in $(seq 30); do ip -n $A link show va | grep -q xdp || break; sleep 0.1; done
ip -n $A link show va | grep -q xdp && bad "an XDP program is still on va" || ok "no XDP program on va"
sleep 0.3  # programs and links go once their last reference does (RCU)
left=
while read -r kind id; do
    bpftool "$kind" show id "$id" >/dev/null 2>&1 && left="$left $kind $id"
done <<<"$ids"
[ -z "$left" ] && ok "every link and program is gone" || bad "still in the kernel:$left"

finish
