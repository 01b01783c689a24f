#!/usr/bin/env bash
# Decided once (docs/design-notes.md): what an attached program accepts reaches the kernel's copy of the
# ruleset with a mark bit, which the copy's first rule of each base chain accepts (the last one of the path
# clears it), so the copy judges only what was handed over. Checked with the copy's own counters, for both
# iptables backends and an nft ruleset, at XDP (with its tc-ingress partner) and at tc; a packet from an
# interface bpftables does not run on meets the whole copy; rules that read the mark see what they would see
# without bpftables; rules that could set the bit are refused.
# Usage: decided_once_test.sh BUILD_CLI_DIR   (needs root; runs itself in a private mount namespace)
if [ -z "${BPFT_LIVE_MNTNS:-}" ]; then
    exec env BPFT_LIVE_MNTNS=1 unshare -m --propagation slave bash "$0" "$@"
fi
source "$(dirname "$0")/common.bash"
live_setup 12 do "$1"

# A second peer on an interface nothing is attached to: its packets meet the whole copy.
Q=bpftl-doq-$$
extra_ns=$Q
ip netns add $Q
ip -n $A link add vb type veth peer name vq netns $Q
ip -n $A addr add 198.18.13.1/24 dev vb
ip -n $Q addr add 198.18.13.2/24 dev vq
ip -n $A link set vb up && ip -n $Q link set vq up
udpq() { nsenter --net=/run/netns/$Q bash -c "for i in \$(seq $1); do echo x > /dev/udp/198.18.13.1/$2; done"; }

{
    printf '*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n'
    printf ':POSTROUTING ACCEPT [0:0]\n-A INPUT -p udp -m mark --mark 0x0 -m udp --dport 53\nCOMMIT\n'
    printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n'
    for i in $(seq 1 200); do printf -- '-A INPUT -s 198.19.%d.%d/32 -p udp -m udp --dport 53 -j DROP\n' $((i / 250)) $((i % 250)); done
    printf -- '-A INPUT -p udp -m udp --dport 53 -j ACCEPT\n-A INPUT -p udp -m udp --dport 54 -j DROP\n'
    printf -- '-A INPUT -p udp -m udp --dport 55 -j REJECT --reject-with icmp-port-unreachable\n'
    printf -- '-A OUTPUT -p udp -m udp --dport 9 -j DROP\n-A OUTPUT -p udp -m udp --dport 10 -j ACCEPT\nCOMMIT\n'
} >"$work/r.rules"

copy() { inA "iptables-$1-save" -c "${@:2}"; }
copy_counter() {  # copy_counter BACKEND TABLE RULE-TEXT: "[p:b]" of that rule in the kernel's copy
    copy "$1" -t "$2" | grep -F -- "$3" | head -1 | cut -d' ' -f1 | cut -d: -f1 | tr -d '['
}
mark_rule='-A INPUT -m mark --mark 0x1000000/0x1000000 -j BPFTABLES-DECIDED'

for backend in legacy nft; do
    for hook in xdp tc; do
        echo "== iptables-$backend, attached at $hook"
        bt attach va --hook $hook >/dev/null || bad "attach --hook $hook"
        restore --backend $backend "$work/r.rules" || bad "restore"
        if [ $hook = xdp ]; then
            grep -q "va (ifindex [0-9]*) xdp.*: xdp link [0-9]* prog [0-9]*; tc-ingress link [0-9]* prog [0-9]*;" <<<"$(bt status)" &&
                ok "status: an XDP link and its tc-ingress partner" || { bad "status shows both links"; bt status; }
        fi
        grep -q "decided once: .* mark bit 0x1000000" <<<"$(bt status)" && ok "status names the bit" ||
            { bad "status names the bit"; bt status; }
        expect "the copy starts with the mark rule" "$mark_rule" "$(copy $backend -t filter | grep -m1 '^\[.*-A INPUT' | cut -d' ' -f2-)"
        expect "bpftables-save does not show it" 0 "$(save | grep -c BPFTABLES)"
        udp 6 53
        udp 4 54
        expect "accepted in BPF" "[6:" "$(counter '-A INPUT -p udp -m udp --dport 53 -j ACCEPT' | cut -d: -f1):"
        expect "dropped in BPF" "[4:" "$(counter '-A INPUT -p udp -m udp --dport 54 -j DROP' | cut -d: -f1):"
        udp 2 55
        expect "REJECT: the copy rejects, counted once" "[2:" "$(counter '--dport 55 -j REJECT' | cut -d: -f1):"
        # bpftables stats: va's hooks together decided the 6 and the 4 in BPF, and handed the 2 REJECTs over
        expect "stats: accepted, dropped, reject on va" "6 4 2" "$(bt stats --json | python3 -c '
import json, sys
va = [i for i in json.load(sys.stdin)["interfaces"] if i["interface"] == "va"]
print(sum(i["accepted"] for i in va), sum(i["dropped"] for i in va), sum(i["handed_over"]["reject"] for i in va))')"
        bt stats | grep -Eq "^va \(ifindex [0-9]*\) (xdp|tc-ingress): [0-9]* packets, decided in BPF [0-9]* \([0-9]*%\): accepted" &&
            ok "stats: one line per interface and hook" || { bad "stats: one line per interface and hook"; bt stats; }
        expect "the copy's mark rule took the accepted ones" 6 "$(copy_counter $backend filter "$mark_rule")"
        expect "the copy's 200 rules saw none of them" 0 "$(copy_counter $backend filter '-A INPUT -s 198.19.0.200/32')"
        expect "nor its accept rule" 0 "$(copy_counter $backend filter '--dport 53 -j ACCEPT')"
        expect "the mangle table still ran, its mark read without the bit" 6 "$(copy_counter $backend mangle '-m mark --mark 0x0/0xfeffffff')"
        udpq 3 53
        expect "not attached: the whole copy judged them" 3 "$(copy_counter $backend filter '--dport 53 -j ACCEPT')"
        expect "bpftables-save -c counts each once: 6 in BPF, 3 in the copy" "[9:" "$(counter '-A INPUT -p udp -m udp --dport 53 -j ACCEPT' | cut -d: -f1):"
        inA bash -c "for i in 1 2 3; do echo x > /dev/udp/$NET.2/9; echo x > /dev/udp/$NET.2/10; done" 2>/dev/null
        expect "OUTPUT: the copy's DROP counted once" "[3:" "$(counter '-A OUTPUT -p udp -m udp --dport 9 -j DROP' | cut -d: -f1):"
        expect "OUTPUT: the copy's ACCEPT counted once" "[3:" "$(counter '-A OUTPUT -p udp -m udp --dport 10 -j ACCEPT' | cut -d: -f1):"
        restore --backend $backend "$work/r.rules" || bad "restore again"
        expect "a restore carries the copy's counts over as the programs'" "[9:" "$(counter '-A INPUT -p udp -m udp --dport 53 -j ACCEPT' | cut -d: -f1):"
        expect "and OUTPUT's" "[3:" "$(counter '-A OUTPUT -p udp -m udp --dport 10 -j ACCEPT' | cut -d: -f1):"
        bt -Z INPUT
        expect "-Z INPUT: that chain's counters, the program's and the copy's" "[0:0]" "$(counter '-A INPUT -p udp -m udp --dport 53 -j ACCEPT')"
        expect "-Z INPUT: not OUTPUT's" "[3:" "$(counter '-A OUTPUT -p udp -m udp --dport 10 -j ACCEPT' | cut -d: -f1):"
        [ "$(counter '-A INPUT -p udp -m mark --mark 0x0')" != "[0:0]" ] && ok "-Z INPUT: not the mangle table's" ||
            bad "-Z INPUT: not the mangle table's"
        bt -Z NOPE 2>/dev/null
        expect "-Z of a chain that does not exist: exit 1" 1 "$?"
        bt -t mangle -Z
        expect "-t mangle -Z" "[0:0]" "$(counter '-A INPUT -p udp -m mark --mark 0x0')"
        bt -Z
        expect "-Z zeroes the copy too" "[0:0]" "$(counter '-A OUTPUT -p udp -m udp --dport 10 -j ACCEPT')"
        bt detach va >/dev/null || bad "detach"
        # detach leaves the copy in the kernel (where it would judge, and count, what the next backend's sees)
        for t in filter mangle; do inA iptables-$backend -t $t -F && inA iptables-$backend -t $t -X; done
    done
done

# detach leaves the copy in the kernel, where it keeps judging everything (no program sets the bit): the last
# iptables-nft copy goes, so that only iptables-legacy's judges what follows.
inA nft flush ruleset

echo "== --decided-mark 0: no handoff, the copy judges everything again"
bt attach va --hook xdp >/dev/null || bad "attach"
restore --backend legacy --decided-mark 0 "$work/r.rules" || bad "restore --decided-mark 0"
expect "no mark rule in the copy" 0 "$(copy legacy -t filter | grep -c BPFTABLES)"
udp 2 53
expect "the copy's accept rule judged them again" 2 "$(copy_counter legacy filter '--dport 53 -j ACCEPT')"
grep -q "decided once: off" <<<"$(bt status)" && ok "status says off" || { bad "status says off"; bt status; }
restore --backend legacy --decided-mark 0x2 "$work/r.rules" || bad "restore --decided-mark 0x2"
expect "another bit (INPUT, FORWARD)" 2 "$(copy legacy -t filter | grep -c -- '-m mark --mark 0x2/0x2 -j BPFTABLES-DECIDED')"
out=$(restore --decided-mark 0x3 "$work/r.rules" 2>&1)
expect "two bits: bad parameter" "2" "$?"

echo "== a failed restore leaves the copy and its mark rules as they were"
before=$(copy legacy | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//g')
BPFTABLES_TEST_FAIL=swap:1 restore --backend legacy --decided-mark 0x4 "$work/r.rules" 2>/dev/null && bad "injected failure fails"
expect "the copy is back, bit 0x2" "$before" "$(copy legacy | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//g')"
grep -q "mark bit 0x2," <<<"$(bt status)" && ok "the state keeps bit 0x2" || { bad "the state keeps bit 0x2"; bt status; }

echo "== rules that could set the bit are refused, with their position"
printf '*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j MARK --set-xmark 0x2/0xffffffff\nCOMMIT\n' >"$work/bad.rules"
out=$(restore --backend legacy "$work/bad.rules" 2>&1)
code=$?
expect "exit 1" 1 "$code"
grep -q "bad.rules:3:[0-9]*: error: MARK can set bit 0x2 of the packet mark" <<<"$out" && ok "message at the rule" ||
    { bad "message at the rule"; echo "$out"; }
expect "the running ruleset is untouched" 2 "$(copy legacy -t filter | grep -c -- '--mark 0x2/0x2 -j BPFTABLES-DECIDED')"
restore --backend legacy --decided-mark 0x1000000 "$work/bad.rules" && ok "with another bit it loads" || bad "with another bit it loads"

echo "== the nat table: what the kernel's NAT rewrites is the kernel's, the rest of a flow is decided in BPF"
printf '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 8053 -j REDIRECT --to-ports 53\nCOMMIT
*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]
-A INPUT -p udp -m udp --dport 8053 -j DROP\n-A INPUT -p udp -m udp --dport 53 -j ACCEPT\nCOMMIT
*mangle\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n' >"$work/nat.rules"
restore --backend legacy "$work/nat.rules" || bad "restore with nat"
bt -Z
flow() {  # flow PORT N: N datagrams of one flow (one source port) from the peer
    nsenter --net=/run/netns/$P python3 -c "
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range($2): s.sendto(b'x', ('$NET.1', $1))"
}
flow 8053 4
expect "redirected: never dropped by the program's 8053 rule" "[0:0]" "$(counter '--dport 8053 -j DROP')"
expect "the kernel redirected and accepted all 4" 4 "$(copy_counter legacy filter '--dport 53 -j ACCEPT')"
flow 53 5
expect "not NATed: the first (no conntrack entry yet) went to the kernel" 5 "$(copy_counter legacy filter '--dport 53 -j ACCEPT')"
expect "the other 4 were decided in BPF: bpftables-save -c adds the copy's 5" "[9:" "$(counter '--dport 53 -j ACCEPT' | cut -d: -f1):"
bt compile "$work/nat.rules" -o "$work/nat.o" --explain 2>&1 | grep -q "table nat has rules" &&
    ok "--explain says why" || bad "--explain says why"

echo "== forwarding off: a destination local only by a route (AnyIP) is INPUT, decided in BPF"
# without the nat table (whose flows' first packets are the kernel's)
printf '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n' |
    cat - "$work/r.rules" >"$work/anyip.rules"
restore --backend legacy "$work/anyip.rules" || bad "restore"
inA sysctl -qw net.ipv4.ip_forward=0
nsenter --net=/run/netns/$P ip route add 198.18.14.0/24 via $NET.1
anyip() { nsenter --net=/run/netns/$P bash -c "for i in \$(seq $1); do echo x > /dev/udp/198.18.14.7/53; done"; }
inA ip route add local 198.18.14.0/24 dev lo
bt refresh || bad "refresh"
bt -Z
anyip 3
expect "the copy's accept rule saw none of them" 0 "$(copy_counter legacy filter '--dport 53 -j ACCEPT')"
expect "the program accepted them" "[3:" "$(counter '-A INPUT -p udp -m udp --dport 53 -j ACCEPT' | cut -d: -f1):"
inA ip route del local 198.18.14.0/24 dev lo
bt refresh || bad "refresh after the route went"
anyip 2
expect "route gone: the kernel decides (drops) them, the program hands them over" 0 "$(copy_counter legacy filter '--dport 53 -j ACCEPT')"
expect "and does not count them" "[3:" "$(counter '-A INPUT -p udp -m udp --dport 53 -j ACCEPT' | cut -d: -f1):"

echo "== an nft ruleset: one rule, which clears the bit in the last chain of the hook"
printf 'table ip t {\n\tchain pre {\n\t\ttype filter hook prerouting priority -300; policy accept;\n\t}
\tchain in {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tudp dport 53 counter accept\n\t\tudp dport 54 counter drop\n\t}\n}\n' >"$work/r.nft"
restore --format nft "$work/r.nft" || bad "restore nft"
expect "the iptables copy is emptied (its MARK rule too)" 0 "$(copy legacy | grep -c -- '^\[.*-A ')"
inA nft list ruleset >"$work/k.nft"
grep -q "meta mark & 0x01000000 == 0x01000000 meta mark set meta mark & 0xfeffffff accept" "$work/k.nft" &&
    ok "input clears" || { bad "input clears"; cat "$work/k.nft"; }
expect "prerouting accepts" 1 "$(grep -c 'meta mark & 0x01000000 == 0x01000000 accept' "$work/k.nft")"
expect "forward has no compiled chain: a table of bpftables' own clears the bit there" 1 "$(grep -c 'table ip bpftables-decided' "$work/k.nft")"
udp 5 53
kernel_nft_53() { inA nft list chain ip t in | grep 'dport 53' | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }
expect "the copy's rule saw none" 0 "$(kernel_nft_53)"
udpq 2 53
expect "not attached: the copy judged them" 2 "$(kernel_nft_53)"
nft_53() { save -c | grep 'dport 53' | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }
expect "bpftables-save -c counts each once: 5 in BPF, 2 in the copy" 7 "$(nft_53)"
bt -Z
expect "-Z zeroes the copy's counters too" "0 0" "$(kernel_nft_53) $(nft_53)"
sed 's/udp dport 54 counter drop/udp dport 54 meta mark set meta mark | 0x01000000 counter accept/' "$work/r.nft" >"$work/bad.nft"
out=$(restore --format nft "$work/bad.nft" 2>&1)
expect "nft: a statement the copy runs that sets the bit is refused" 1 "$?"
grep -q 'table ip t chain in: "meta mark set meta mark | 0x01000000 counter accept" can set bit 0x1000000' <<<"$out" &&
    ok "nft: the message names the statement" || { bad "nft: the message names the statement"; echo "$out"; }
sed 's/udp dport 54 counter drop/udp dport 54 meta mark set meta mark | 0x10 counter accept/' "$work/r.nft" >"$work/ok.nft"
restore --format nft "$work/ok.nft" && ok "nft: other bits may be set" || bad "nft: other bits may be set"
finish
