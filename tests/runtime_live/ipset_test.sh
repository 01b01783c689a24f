#!/usr/bin/env bash
# bpftables-restore --ipsets FILE (ipset save form): the sets are kept in the pinned state with the ruleset,
# so bpftables-save, later restores (also without --ipsets, with -n or -T) and attach keep working;
# --ipsets replaces sets of the same name and adds new ones. Throwaway namespaces and a private bpffs.
# Usage: ipset_test.sh BUILD_CLI_DIR   (needs root)
if [ -z "${BPFT_LIVE_MNTNS:-}" ]; then
    exec env BPFT_LIVE_MNTNS=1 unshare -m --propagation slave bash "$0" "$@"
fi
source "$(dirname "$0")/common.bash"
live_setup 4 s "$1"

cat >"$work/sets" <<S
create blocked hash:ip family inet hashsize 1024 maxelem 65536
add blocked 198.19.0.7
add blocked $NET.2
create nets hash:net family inet hashsize 1024 maxelem 65536
add nets 198.19.8.0/24
S
cat >"$work/r.rules" <<'R'
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p udp -m set --match-set blocked src -m udp --dport 9 -j DROP
-A INPUT -p udp -m set --match-set nets src -j DROP
-A INPUT -p udp -m udp --dport 9 -j ACCEPT
COMMIT
R
SETRULE='-A INPUT -p udp -m set --match-set blocked src -m udp --dport 9 -j DROP'
PASSRULE='-A INPUT -p udp -m udp --dport 9 -j ACCEPT'

bt attach va --hook xdp --mode native || bad "attach"
echo "== a ruleset naming sets needs them"
restore "$work/r.rules" 2>"$work/err" && bad "restore without the sets is refused" || ok "restore without the sets is refused"
grep -q "set 'blocked' is not loaded: give its 'ipset save' file with --ipsets" "$work/err" && ok "and says so" ||
    bad "message: $(cat "$work/err")"
printf 'create blocked hash:ip family inet\n' >"$work/other-sets"
restore --ipsets "$work/other-sets" "$work/r.rules" 2>"$work/err" && bad "an unknown set is refused"
grep -q "r.rules:6:.*set 'nets' does not exist" "$work/err" && ok "an unknown set is refused at its line" ||
    bad "unknown set: $(cat "$work/err")"
echo 'create blocked hash:ip family inet
add blocked 300.1.1.1' >"$work/bad-sets"
restore --ipsets "$work/bad-sets" "$work/r.rules" 2>"$work/err" && bad "a bad set file is refused"
grep -q "bad-sets:2:.*bad set entry '300.1.1.1'" "$work/err" && ok "a bad set file is refused at its line" ||
    bad "bad set file: $(cat "$work/err")"
expect "nothing committed by the refused restores" 1 "$(gen)"

echo "== restore --ipsets: the sets decide"
restore --ipsets "$work/sets" "$work/r.rules" || bad "restore --ipsets"
expect "save prints the ruleset" "$(grep -v '^#' "$work/r.rules")" "$(save)"
bt status | grep -q "ipsets (bpftables-restore --ipsets): blocked (hash:ip, 2 entries) nets (hash:net, 1 entries)" &&
    ok "status lists the sets" || bad "status: $(bt status)"
udp 4 9
expect "the peer is in 'blocked': 4 drops" "[4:120]" "$(counter "$SETRULE")"
expect "and none reach the ACCEPT" "[0:0]" "$(counter "$PASSRULE")"

echo "== later restores keep the sets (as the kernel keeps ipsets across iptables-restore)"
sed 's/^COMMIT/-A INPUT -p udp -m udp --dport 10 -j DROP\nCOMMIT/' "$work/r.rules" >"$work/r2.rules"
restore "$work/r2.rules" || bad "restore without --ipsets"
udp 2 9
expect "still matched, counters carried" "[6:180]" "$(counter "$SETRULE")"
printf '*filter\n-A INPUT -p udp -m set --match-set blocked src -m udp --dport 12 -j DROP\nCOMMIT\n' |
    restore -n || bad "restore -n naming a kept set"
udp 1 12
expect "-n: a new rule on a kept set" "[1:30]" "$(counter '--match-set blocked src -m udp --dport 12 -j DROP')"
ip -n $A link add vb type veth peer name vb-p && ip -n $A link set vb up
bt attach vb --hook tc && ok "attach builds the committed ruleset with its sets" || bad "attach vb"
bt detach vb || bad "detach vb"
echo "== --ipsets replaces the sets it names; the others stay"
printf 'create blocked hash:ip family inet\nadd blocked 198.19.0.7\n' >"$work/sets2"
restore --ipsets "$work/sets2" "$work/r2.rules" || bad "restore --ipsets with the peer out of 'blocked'"
bt status | grep -q "blocked (hash:ip, 1 entries) nets (hash:net, 1 entries)" && ok "status: replaced and kept" ||
    bad "status: $(bt status | grep ipsets)"
bt -Z
udp 3 9
expect "the peer is no longer in 'blocked'" "[0:0]" "$(counter "$SETRULE")"
expect "so its packets reach the ACCEPT" "[3:90]" "$(counter "$PASSRULE")"
bt detach va || bad "detach"
[ -e "$sd" ] && bad "state left: $(ls "$sd")" || ok "detach leaves no state"

finish
