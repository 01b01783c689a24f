#!/usr/bin/env bash
# Two families on one interface: an iptables ruleset (bpftables-restore) and an ip6tables one
# (bpftables6-restore) run side by side on the same veth, at XDP (with its tc-ingress partner) and at tc, each
# in its own slot of the hooks' dispatchers. IPv6 verdicts are decided in BPF (bpftables6-save -c, stats), the
# kernel's copy is ip6tables' with the mark rule, neighbour discovery and a real TCP handshake pass through an
# ACCEPT-ICMPv6 / conntrack ruleset with a DROP policy, restoring one family leaves the other's programs and
# counters alone, a failed IPv6 restore leaves everything running, and attaching another interface at a hook
# the IPv6 generation lacks builds its IPv6 program there. The third round builds with the C back end
# (BPFTABLES_CODEGEN=c).
# Usage: ipv6_live_test.sh BUILD_CLI_DIR   (needs root; runs itself in a private mount namespace)
if [ -z "${BPFT_LIVE_MNTNS:-}" ]; then
    exec env BPFT_LIVE_MNTNS=1 unshare -m --propagation slave bash "$0" "$@"
fi
source "$(dirname "$0")/common.bash"
live_setup 14 v6 "$1"
ip -n $A addr add 2001:db8:14::1/64 dev va nodad
ip -n $P addr add 2001:db8:14::2/64 dev vp nodad
V6=2001:db8:14::1
# IPv6 forwarding is off (a host's default): the programs tell the host's own addresses by bpft_local.

restore6() { inA "$B/bpftables6-restore" "$@"; }
save6() { inA "$B/bpftables6-save" "$@" | grep -v '^#'; }
counter6() { save6 -c | grep -F -- "$1" | head -1 | cut -d' ' -f1 | cut -d: -f1 | tr -d '['; }
counter4() { counter "$1" | cut -d: -f1 | tr -d '['; }
inP() { nsenter --net=/run/netns/$P "$@"; }
udp6() { inP bash -c "for i in \$(seq $1); do echo x > /dev/udp/$V6/$2; done" 2>/dev/null; }
ping6ok() { inP ping -6 -c 1 -W 1 $V6 >/dev/null 2>&1; }
slot() {  # slot HOOK FAMILY(0|1): the id of the program in that slot of the hook's dispatcher
    inA bpftool -j map lookup pinned "$sd/dispatch_progs_$1" key $2 0 0 0 2>/dev/null |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["formatted"]["value"])' 2>/dev/null
}
# A TCP handshake and one line each way, from the peer to [V6]:PORT (a listener on 8080 in A), within 1 s.
tcp6() {
    inP /usr/bin/python3 -c "
import socket, sys
s = socket.create_connection(('$V6', $1), timeout=1)
s.sendall(b'ping\n'); sys.exit(0 if s.recv(16) == b'pong\n' else 1)" 2>/dev/null
}
timeout 120 nsenter --net=/run/netns/$A /usr/bin/python3 -c "
import socket
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('::', 8080)); s.listen(8)
while True:
    c, _ = s.accept(); c.recv(16); c.sendall(b'pong\n'); c.close()" >/dev/null 2>&1 &
bg_pids=$!

v4() {
    printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n'
    printf -- '-A INPUT -p udp -m udp --dport 54 -j DROP\n-A INPUT -p udp -m udp --dport %s -j ACCEPT\nCOMMIT\n' "$1"
}
v6() {  # v6 ICMPV6-TARGET
    printf '*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n'
    printf -- '-A INPUT -p ipv6-icmp -j %s\n' "$1"
    printf -- '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n'
    printf -- '-A INPUT -p tcp -m tcp --dport 8080 -j ACCEPT\n'
    printf -- '-A INPUT -p udp -m udp --dport 53 -j ACCEPT\n-A INPUT -p udp -m udp --dport 54 -j DROP\nCOMMIT\n'
}
v4 53 >"$work/r4"
v4 55 >"$work/r4b"
v6 ACCEPT >"$work/r6"
v6 DROP >"$work/r6drop"
mark_rule='-A INPUT -m mark --mark 0x1000000/0x1000000 -j BPFTABLES-DECIDED'

echo "== without the IPv6 runtime's names nothing changed"
expect "bpftables6-restore --test of a bad ruleset exits 1" 1 "$(printf '*filter\n-A NOPE -j ACCEPT\nCOMMIT\n' | restore6 --test 2>/dev/null; echo $?)"
expect "bpftables6-restore of nft text is refused (exit 2)" 2 "$(echo 'table inet t { }' | restore6 --format nft 2>/dev/null; echo $?)"

for round in "xdp direct" "tc direct" "xdp c"; do
    set -- $round
    hook=$1
    export BPFTABLES_CODEGEN=$2
    echo "== attached at $hook, $2 back end"
    bt attach va --hook $hook >/dev/null || bad "attach --hook $hook"
    restore --backend legacy "$work/r4" || bad "restore IPv4"
    restore6 --backend legacy "$work/r6" || bad "restore IPv6"
    hooks=$( [ $hook = xdp ] && echo "xdp tc-ingress" || echo tc-ingress)
    for h in $hooks; do
        [ -n "$(slot $h 0)" ] && [ -n "$(slot $h 1)" ] && ok "$h: both families' programs in the dispatcher" ||
            bad "$h: both families' programs in the dispatcher ($(slot $h 0) / $(slot $h 1))"
    done
    expect "the IPv6 copy is ip6tables' with the mark rule" "$mark_rule" \
        "$(inA ip6tables-legacy-save -t filter | grep -m1 '^-A INPUT')"
    expect "bpftables6-save shows the IPv6 ruleset" "$(grep '^-A' "$work/r6")" "$(save6 | grep '^-A')"
    expect "bpftables-save shows the IPv4 ruleset" "$(grep '^-A' "$work/r4")" "$(save | grep '^-A')"
    ping6ok && ok "ping6 through ACCEPT icmpv6 (neighbour discovery works)" || bad "ping6 through ACCEPT icmpv6"
    udp6 6 53
    udp6 4 54
    udp 3 54
    expect "IPv6 accepted in BPF" 6 "$(counter6 '--dport 53 -j ACCEPT')"
    expect "IPv6 dropped in BPF" 4 "$(counter6 '--dport 54 -j DROP')"
    expect "IPv4 dropped in BPF" 3 "$(counter4 '--dport 54 -j DROP')"
    expect "the copy's UDP rule judged none of the IPv6 ones" 0 \
        "$(inA ip6tables-legacy-save -c -t filter | grep -F -- '--dport 53 -j ACCEPT' | cut -d: -f1 | tr -d '[')"
    tcp6 8080 && ok "a TCP handshake through ESTABLISHED + --dport 8080 + DROP policy" || bad "TCP handshake to 8080"
    tcp6 8081 && bad "TCP to a port the policy drops connected" || ok "TCP to a dropped port fails"
    [ "$(counter6 '--dport 8080 -j ACCEPT')" -ge 1 ] && ok "the SYN counted on --dport 8080" ||
        bad "the SYN counted on --dport 8080 ($(counter6 '--dport 8080 -j ACCEPT'))"
    [ "$(counter6 '--ctstate RELATED,ESTABLISHED')" -ge 1 ] && ok "the rest on ESTABLISHED" ||
        bad "the rest on ESTABLISHED ($(counter6 'ESTABLISHED'))"
    grep -Eq "^va \(ifindex [0-9]*\) $hook[a-z-]* IPv6: [0-9]* packets, decided in BPF [1-9]" <<<"$(bt stats)" &&
        ok "stats: the IPv6 program's line" || { bad "stats: the IPv6 program's line"; bt stats; }
    grep -Eq "^va \(ifindex [0-9]*\) $hook[a-z-]*: [0-9]* packets, decided in BPF [1-9]" <<<"$(bt stats)" &&
        ok "stats: the IPv4 program's line" || bad "stats: the IPv4 program's line"
    grep -Eqi "^IPv6 \(bpftables6-restore.*generation [0-9]*: 8 rules and policies; programs:.*tc-ingress \($2\); copy in the kernel's netfilter \(ip6tables-legacy-restore\)" <<<"$(bt status)" &&
        ok "status: the IPv6 generation" || { bad "status: the IPv6 generation"; bt status; }

    expect "refresh (both families' interface names) exits 0" 0 "$(bt refresh; echo $?)"
    echo "-- restoring IPv6 leaves IPv4 alone"
    v4prog=$(slot tc-ingress 0) v4gen=$(gen)
    restore6 "$work/r6drop" || bad "restore IPv6 again"
    expect "the IPv4 program is the same" "$v4prog" "$(slot tc-ingress 0)"
    expect "the IPv4 generation is the same" "$v4gen" "$(gen)"
    expect "the IPv4 counters are the same" 3 "$(counter4 '--dport 54 -j DROP')"
    expect "the IPv6 counters carried over" 4 "$(counter6 '--dport 54 -j DROP')"
    ping6ok && bad "ping6 through DROP icmpv6 succeeded" || ok "ping6 through DROP icmpv6 fails"
    udp 2 54
    expect "IPv4 still dropped in BPF" 5 "$(counter4 '--dport 54 -j DROP')"

    echo "-- restoring IPv4 leaves IPv6 alone"
    v6prog=$(slot tc-ingress 1)
    restore "$work/r4b" || bad "restore IPv4 again"
    expect "the IPv6 program is the same" "$v6prog" "$(slot tc-ingress 1)"
    expect "the IPv6 counters are the same" 4 "$(counter6 '--dport 54 -j DROP')"
    udp6 2 54
    expect "IPv6 still dropped in BPF" 6 "$(counter6 '--dport 54 -j DROP')"

    echo "-- a failed IPv6 restore leaves everything running"
    BPFTABLES_TEST_FAIL=swap:1 restore6 "$work/r6" 2>/dev/null && bad "an injected failure exits 0" ||
        ok "an injected failure exits non-zero"
    expect "the IPv6 ruleset is the old one" "$(grep '^-A' "$work/r6drop")" "$(save6 | grep '^-A')"
    expect "its program is the old one" "$v6prog" "$(slot tc-ingress 1)"
    udp6 1 54
    expect "IPv6 still dropped in BPF, counted" 7 "$(counter6 '--dport 54 -j DROP')"
    expect "the IPv4 ruleset is the same" "$(grep '^-A' "$work/r4b")" "$(save | grep '^-A')"

    if [ "$round" = "tc direct" ]; then
        echo "-- attach at a hook the IPv6 generation lacks builds its program there"
        ip -n $A link add vb type veth peer name vc && ip -n $A link set vb up && ip -n $A link set vc up ||
            bad "a second veth"
        expect "no IPv6 program at xdp before" "" "$(slot xdp 1)"
        v6gen=$(bt status | sed -n 's/^IPv6 .*generation \([0-9]*\):.*/\1/p')
        bt attach vb --hook xdp >/dev/null || bad "attach vb --hook xdp"
        [ -n "$(slot xdp 0)" ] && [ -n "$(slot xdp 1)" ] && ok "xdp: both families' programs after attach" ||
            bad "xdp: both families' programs after attach ($(slot xdp 0) / $(slot xdp 1))"
        grep -Eq "^IPv6 .*generation $((v6gen + 1)): .*programs: xdp \(direct\) tc-ingress \(direct\);" \
            <<<"$(bt status)" && ok "status: a new IPv6 generation with xdp and tc-ingress" ||
            { bad "status: a new IPv6 generation with xdp and tc-ingress"; bt status; }
        expect "the IPv6 ruleset is the same" "$(grep '^-A' "$work/r6drop")" "$(save6 | grep '^-A')"
        expect "its counters carried over" 7 "$(counter6 '--dport 54 -j DROP')"
        udp6 1 54
        expect "IPv6 on va still dropped in BPF" 8 "$(counter6 '--dport 54 -j DROP')"
        bt detach vb >/dev/null || bad "detach vb"
        ip -n $A link del vb
    fi
    if [ "$round" = "xdp direct" ]; then
        echo "-- bpftables6: ip6tables' single-rule commands"
        inA "$B/bpftables6" -I INPUT -p udp --dport 56 -j DROP || bad "bpftables6 -I"
        udp6 2 56
        expect "a rule inserted by bpftables6 -I drops in BPF" 2 "$(counter6 '--dport 56 -j DROP')"
        expect "an IPv4 address is refused as ip6tables refuses it" 2 \
            "$(inA "$B/bpftables6" -A INPUT -s 198.18.0.1 -j ACCEPT 2>/dev/null; echo $?)"
        inA "$B/bpftables6" -D INPUT -p udp --dport 56 -j DROP || bad "bpftables6 -D"
        expect "bpftables6 -S after -D" "$(grep '^-A' "$work/r6drop")" "$(inA "$B/bpftables6" -S INPUT | grep '^-A')"
    fi
    bt detach va >/dev/null || bad "detach"
    expect "detach of the last interface leaves no state" "" "$(ls "$sd" 2>/dev/null)"
    expect "nor the IPv6 copy" "" "$(inA ip6tables-legacy-save -t filter | grep '^-A')"
    udp6 2 54
    [ "$(counter6 '--dport 54 -j DROP')" = "" ] && ok "bpftables6-save has nothing" || bad "bpftables6-save has nothing"
done

echo "== an nft inet table beside an ip6tables ruleset: its IPv6 half still judges IPv6 packets, as netfilter does"
unset BPFTABLES_CODEGEN
bt attach va >/dev/null || bad "attach"
printf 'table inet t {\n\tchain in {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tudp dport 53 counter accept\n\t}\n}\n' |
    restore --format nft || bad "restore nft"
restore6 --backend legacy "$work/r6" || bad "restore IPv6"
udp6 3 53
udp 2 53
expect "the IPv6 program decided them" 3 "$(counter6 '--dport 53 -j ACCEPT')"
expect "the inet table's rule counted them in the kernel, and the IPv4 ones in BPF" 5 \
    "$(save | grep 'dport 53' | sed -n 's/.*packets \([0-9]*\).*/\1/p')"
bt detach va >/dev/null || bad "detach"
finish
