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

echo "== tc hook"
bt detach va || bad "detach"
[ -e "$sd" ] && bad "detach leaves no pins: $(ls "$sd")" || ok "detach leaves no pins"
bt attach va --hook tc || bad "attach --hook tc"
restore "$work/r2.rules" || bad "restore at tc"
udp 4 11
expect "tc: 4 packets" "[4:120]" "$(counter '-A INPUT -p udp -m udp --dport 11 -j ACCEPT')"
bt detach va || bad "detach tc"
[ -z "$(ls /sys/fs/bpf/bpftables 2>/dev/null)" ] && ok "no pins left" || bad "pins left: $(ls -R /sys/fs/bpf)"

echo "$fails failure(s)"
[ $fails -eq 0 ]
