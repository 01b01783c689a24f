#!/usr/bin/env bash
# End-to-end test of the live runtime (attach, bpftables-restore, bpftables-save, counters, transactions)
# on a veth pair between two network namespaces that this test creates and always removes. It runs in a
# private mount namespace with its own bpffs, so nothing of it is visible on the host's /sys/fs/bpf.
# Usage: live_test.sh BUILD_CLI_DIR   (needs root)
if [ -z "${BPFT_LIVE_MNTNS:-}" ]; then
    exec env BPFT_LIVE_MNTNS=1 unshare -m --propagation slave bash "$0" "$@"
fi
source "$(dirname "$0")/common.bash"
live_setup 0 l "$1"
O=bpftl-lo-$$ extra_ns=$O  # the oracle's namespace (iptables-legacy-restore of the same input)
ip netns add $O || exit 1
# Forwarding stays off, as on most hosts: bpf_fib_lookup then answers "forwarding disabled" before routing,
# and the program tells INPUT by the namespace's own addresses (bpft_local).

state_dir() { bt status | sed -n 's/^state //p'; }

echo "== a directory is not a ruleset"
out=$(bt compile "$work" -o "$work/dir.o" 2>&1)
expect "compile of a directory exits 1" 1 "$?"
grep -q ": Is a directory" <<<"$out" && ok "and says why" || { bad "and says why"; echo "$out"; }
out=$(restore "$work" 2>&1)
expect "restore of a directory exits 1" 1 "$?"

cat >"$work/r1.rules" <<'R'
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:SVC - [0:0]
-A INPUT -s 198.18.0.2/32 -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A INPUT -p udp -m udp --dport 9 -j DROP
-A INPUT -p udp -j SVC
-A SVC -p udp -m udp --dport 7 -j ACCEPT
COMMIT
R
cat >"$work/r2.rules" <<'R'
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p udp -m udp --dport 9 -j DROP
-A INPUT -p udp -m udp --dport 11 -j ACCEPT
COMMIT
R

echo "== attach with no ruleset loads an accept-all generation"
bt attach va --hook xdp --mode native || bad "attach"
expect "generation after attach" 1 "$(gen)"
sd=$(state_dir)
[ -e "$sd/link_$(ip -n $A -o link show va | cut -d: -f1)_xdp" ] && ok "xdp link pinned" || bad "xdp link pinned"
bt attach va 2>/dev/null && bad "attaching twice is refused" || ok "attaching twice is refused"

echo "== restore -> save round trip (iptables-legacy-save of the same input is the oracle)"
restore "$work/r1.rules" || bad "restore r1"
ip netns exec $O iptables-legacy-restore "$work/r1.rules"
oracle=$(ip netns exec $O iptables-legacy-save -t filter | grep -v '^#')
expect "round trip" "$oracle" "$(save)"

echo "== N packets show as exactly N on the rule that matched them"
udp 7 9
expect "7 packets on the DROP rule" "[7:210]" "$(counter '-A INPUT -p udp -m udp --dport 9 -j DROP')"
udp 3 7
expect "3 packets through the user chain" "[3:90]" "$(counter '-A SVC -p udp -m udp --dport 7 -j ACCEPT')"
expect "and on the jump" "[3:90]" "$(counter '-A INPUT -p udp -j SVC')"

echo "== counters of surviving rules carry over; -c sets them from the input"
restore "$work/r1.rules" || bad "restore r1 again"
expect "carried over" "[7:210]" "$(counter '-A INPUT -p udp -m udp --dport 9 -j DROP')"
udp 2 9
expect "and keep counting" "[9:270]" "$(counter '-A INPUT -p udp -m udp --dport 9 -j DROP')"
sed 's/^-A INPUT -p udp -m udp --dport 9 -j DROP/[100:3000] &/' "$work/r1.rules" >"$work/r1c.rules"
restore -c "$work/r1c.rules" || bad "restore -c"
expect "-c" "[100:3000]" "$(counter '-A INPUT -p udp -m udp --dport 9 -j DROP')"
bt -Z && expect "-Z" "[0:0]" "$(counter '-A INPUT -p udp -m udp --dport 9 -j DROP')"

echo "== --test builds, loads and verifies, and changes nothing"
before=$(save; gen; ls "$sd")
restore --test "$work/r2.rules" || bad "restore --test of a good ruleset"
expect "--test changed nothing" "$before" "$(save; gen; ls "$sd")"

echo "== a failed restore leaves the previous generation running and the state consistent"
for point in swap:0 swap:1 state; do
    g=$(gen)
    BPFTABLES_TEST_FAIL=$point restore "$work/r2.rules" 2>"$work/err" && bad "injected $point fails"
    grep -q "nothing was changed" "$work/err" && ok "$point: message" || bad "$point: message"
    expect "$point: generation kept" "$g" "$(gen)"
    expect "$point: ruleset kept" "$before" "$(save; gen; ls "$sd")"
    udp 1 9  # the old DROP rule still counts: the old program runs on every link
    expect "$point: old program runs" "[1:30]" "$(counter '-A INPUT -p udp -m udp --dport 9 -j DROP')"
    bt -Z
done
echo '*filter
-A INPUT -m nosuchmatch -j ACCEPT
COMMIT' | restore 2>/dev/null && bad "a bad ruleset is refused" || ok "a bad ruleset is refused (exit $?)"
expect "bad ruleset: state kept" "$before" "$(save; gen; ls "$sd")"

echo "== tables bpftables does not compile go to the kernel's netfilter in the same transaction"
nat() { printf '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -m tcp --dport %s -j REDIRECT --to-ports 2\nCOMMIT\n' "$1"; }
kernel_nat() { inA iptables-save -t nat | grep -c -- "--dport $1 -j REDIRECT"; }
nat 1 | restore || bad "restore of a nat table"
expect "nat in the kernel" 1 "$(kernel_nat 1)"
expect "nat in bpftables-save" 1 "$(save -t nat | grep -c -- '--dport 1 -j REDIRECT')"
expect "filter untouched by a nat-only input" 4 "$(save -t filter | grep -c '^-A')"
nat 3 | BPFTABLES_TEST_FAIL=swap:0 restore 2>/dev/null && bad "injected failure with nat"
expect "failed swap: kernel nat rolled back" "1 0" "$(kernel_nat 1) $(kernel_nat 3)"
nat 3 | restore --test || bad "--test of nat"
expect "--test: kernel nat unchanged" "1 0" "$(kernel_nat 1) $(kernel_nat 3)"
before=$(save; gen; ls "$sd")

echo "== --noflush and -T"
printf '*filter\n-A INPUT -p udp -m udp --dport 12 -j DROP\nCOMMIT\n' | restore -n || bad "restore -n"
expect "-n appends" 5 "$(save -t filter | grep -c '^-A')"
printf '*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p udp -m udp --dport 13 -j DROP\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n' |
    restore -T raw || bad "restore -T raw"
expect "-T raw: raw loaded" 1 "$(save -t raw | grep -c '^-A')"
expect "-T raw: filter untouched" 5 "$(save -t filter | grep -c '^-A')"
udp 2 13
expect "raw PREROUTING counts" "[2:60]" "$(counter '-A PREROUTING -p udp -m udp --dport 13 -j DROP')"

# The held lock (-w) and an interface that vanished: failure_test.sh.

echo "== ip netns exec (a private mount namespace with a /sys of its own) is refused with what to run instead"
before=$(save; gen; ls "$sd")
ip netns exec $A "$B/bpftables" attach lo 2>"$work/err" && bad "attach under ip netns exec is refused"
grep -q "nsenter --net=/run/netns/NAME" "$work/err" && ok "and says to use nsenter" || bad "message: $(cat "$work/err")"
ip netns exec $A "$B/bpftables-save" >/dev/null 2>&1 && bad "save under ip netns exec is refused (no state there)"
expect "ip netns exec: state kept" "$before" "$(save; gen; ls "$sd")"

echo "== tc hook; detaching the last interface leaves nothing, also in the kernel's netfilter"
expect "the copy is in the kernel before" 1 "$(kernel_nat 1)"
bt detach va || bad "detach"
[ -e "$sd" ] && bad "detach leaves no pins: $(ls "$sd")" || ok "detach leaves no pins"
expect "no rule left in the kernel's netfilter" "" "$(inA iptables-save | grep -- '^-A')"
bt attach va --hook tc || bad "attach --hook tc"
restore "$work/r2.rules" || bad "restore at tc"
udp 4 11
expect "tc: 4 packets" "[4:120]" "$(counter '-A INPUT -p udp -m udp --dport 11 -j ACCEPT')"
bt detach --all || bad "detach --all at tc"
[ -z "$(ls /sys/fs/bpf/bpftables 2>/dev/null)" ] && ok "no pins left" || bad "pins left: $(ls -R /sys/fs/bpf)"
expect "detach --all: no rule left in the kernel's netfilter" "" "$(inA iptables-save | grep -- '^-A')"

echo "== single-rule commands: the same sequence as iptables-legacy (namespace $O), exit codes and -save"
ip netns exec $O iptables-legacy-restore <<<$'*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT'
while IFS= read -r c; do
    [ -n "$c" ] || continue
    nsenter --net=/run/netns/$O iptables-legacy $c >/dev/null 2>"$work/err-ipt"
    want=$?
    bt $c >/dev/null 2>"$work/err-bt"
    got=$?
    expect "bpftables $c: exit code" "$want" "$got"
    # iptables' own words for what the kernel's table refuses (its parameter problems are worded otherwise).
    # Each change is a whole commit (a clang build): few of them here; runtime/rule_command's unit tests
    # have the others (-R, -E, -P, -F).
    if [ $want -eq 1 ]; then
        expect "bpftables $c: message" "$(sed 's/^iptables: //' "$work/err-ipt")" "$(grep -v '^bpftables -' "$work/err-bt" | sed 's/^bpftables: //')"
    fi
done <<'C'
-N SVC
-N SVC
-A SVC -s 198.18.1.1,198.18.1.2 -p tcp --dport 80 -j ACCEPT
-I INPUT 1 -p tcp -j SVC
-I INPUT 9 -j DROP
-A INPUT -p tcp --dport 22 -j ACCEPT
-C INPUT -p tcp --dport 22 -j ACCEPT
-C INPUT -p tcp --dport 23 -j ACCEPT
-D INPUT -p tcp --dport 23 -j ACCEPT
-C SVC -s 198.18.1.2 -p tcp --dport 80 -j ACCEPT
-X SVC
-P SVC DROP
-P INPUT BOGUS
-A NOPE -j ACCEPT
-A INPUT -j NOPE
-A INPUT --bogus
-t nosuch -A INPUT -j ACCEPT
-D INPUT 1
-X SVC
-E SVC INPUT
-X INPUT
C
expect "single-rule commands: filter as iptables-legacy-save" "$(ip netns exec $O iptables-legacy-save -t filter | grep -v '^#')" "$(save -t filter)"
expect "-S as iptables-legacy -S" "$(ip netns exec $O iptables-legacy -S)" "$(bt -S)"
expect "-S INPUT 1 as iptables-legacy" "$(ip netns exec $O iptables-legacy -S INPUT 1)" "$(bt -S INPUT 1)"

echo "== -L is iptables' own listing of the committed ruleset, with its counters (namespace $O the oracle)"
cat >"$work/list.rules" <<'R'
*filter
:INPUT DROP [7:420]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:SVC - [0:0]
[123456:98765432] -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
[3:180] -A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -m comment --comment "ssh in" -j ACCEPT
-A INPUT -p udp -m multiport --dports 53,123 -j SVC
-A INPUT -s 198.18.0.0/15 -p icmp -m icmp --icmp-type 8 -m limit --limit 3/min -j ACCEPT
-A INPUT -m mark --mark 0x2/0xff -j ACCEPT
-A INPUT -p tcp -j REJECT --reject-with tcp-reset
-A SVC -m state --state NEW -j ACCEPT
-A SVC -j LOG --log-prefix "svc "
COMMIT
R
restore -c --backend legacy "$work/list.rules" || bad "restore of the listing's ruleset"
# No interface runs a program now: the input's counters are the kernel copy's alone, and still shown.
expect "restore -c with no program keeps the input's counters" \
    "[123456:98765432] -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT" \
    "$(save -c | grep -- '-A INPUT -m conntrack')"
ip netns exec $O iptables-legacy-restore -c "$work/list.rules"
for f in "-L -n" "-L" "-L -v -n" "-L -n -v -x --line-numbers" "-L SVC -n" "-t nat -L -n" "-L NOPE"; do
    want=$(nsenter --net=/run/netns/$O iptables-legacy $f 2>&1)
    wcode=$?
    got=$(bt $f 2>&1)
    gcode=$?
    expect "bpftables $f: as iptables-legacy $f" "$want" "$got"
    expect "bpftables $f: exit code" "$wcode" "$gcode"
done
grep -q BPFTABLES-DECIDED <<<"$(bt -L -n)" && bad "-L shows the handoff's chain" || ok "-L hides the handoff's bookkeeping"
bt detach --all || bad "detach --all after the single-rule commands"

echo "== a namespace deleted without detach: a new one inherits nothing, and its state is collected"
X=bpftl-lx-$$ extra_ns="$O $X"
inX() { nsenter --net=/run/netns/$X "$@"; }
newX() { ip netns add $X && ip -n $X link add vx type veth peer name vy && ip -n $X link set vx up && ip -n $X link set vy up; }
newX || bad "namespace $X"
inX "$B/bpftables" attach vx || bad "attach in $X"
sdx=$(inX "$B/bpftables" status | sed -n 's/^state //p')
ino=$(stat -L -c %i /run/netns/$X)
ip netns del $X
newX || bad "namespace $X again"
echo "   (inode $ino before, $(stat -L -c %i /run/netns/$X) now)"
inX "$B/bpftables" status >"$work/st" || bad "status in the new namespace"
grep -q "nothing attached, no ruleset committed" "$work/st" && ok "the new namespace has no state" ||
    bad "the new namespace inherited: $(cat "$work/st")"
sdx2=$(inX "$B/bpftables" status | sed -n 's/^state //p')
[ "$sdx2" != "$sdx" ] && ok "its state directory is another one ($sdx2, not $sdx)" || bad "the same state directory $sdx"
inX "$B/bpftables" attach vx || bad "attach in the new namespace is not refused"
expect "its ruleset is the accept-all one" 0 "$(inX "$B/bpftables-save" | grep -c '^-A')"
# The kernel tears a namespace down asynchronously (its devices, and with them the links, go then): bounded.
for _ in $(seq 200); do
    [ -e "$sdx" ] || break
    "$B/bpftables" gc -q
    sleep 0.1
done
[ -e "$sdx" ] && bad "gc left the dead namespace's state $sdx: $(ls "$sdx")" || ok "the dead namespace's state is collected"
inX "$B/bpftables" detach --all || bad "detach in $X"
[ -z "$(ls /sys/fs/bpf/bpftables 2>/dev/null)" ] && ok "no pins left" || bad "pins left: $(ls -R /sys/fs/bpf)"

echo "$fails failure(s)"
[ $fails -eq 0 ]
