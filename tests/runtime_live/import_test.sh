#!/usr/bin/env bash
# bpftables import: the running ruleset of a throwaway network namespace, read through libnftables
# (--from nft) and libiptc/libxtables (--from iptables-legacy), prints as the same IR `bpftables compile FILE
# --emit ir` gives for the file that was loaded; nft's own listings come through unchanged. The host's
# firewall is never touched: everything runs in namespace bpftimp<pid>, deleted on exit.
# Usage: import_test.sh BUILD_CLI_DIR   (needs root)
set -uo pipefail
B=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
NS=bpftimp$$
work=$(mktemp -d)
cleanup() {
    ip netns del $NS 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
ip netns add $NS || exit 1
inNS() { ip netns exec $NS "$@"; }
imp() { inNS "$B/bpftables" import "$@"; }
ir_of() { "$B/bpftables" compile "$1" --emit ir -o -; }  # compile FILE --emit ir, on stdout
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
expect() {  # expect NAME EXPECTED ACTUAL
    if [ "$2" == "$3" ]; then ok "$1"; else bad "$1"; diff <(echo "$2") <(echo "$3") | head -20; fi
}

echo "== an empty namespace"
expect "--from nft: no tables" "" "$(imp --from nft --print nft)"
expect "--from iptables-legacy: no tables (none is created)" "" "$(imp --from iptables-legacy)"
expect "and the kernel has none afterwards" "" "$(inNS cat /proc/net/ip_tables_names 2>/dev/null)"

echo "== --from nft"
NFT=$SRC/tests/unit/data/nft_json_sample.nft
inNS nft -f "$NFT" || bad "nft -f"
expect "--print iptables is compile --emit ir of the file" "$(ir_of "$NFT")" "$(imp --from nft --print iptables)"
expect "the default is the same" "$(ir_of "$NFT")" "$(imp --from nft)"
expect "--print nft is nft list ruleset" "$(inNS nft list ruleset)" "$(imp --from nft --print nft)"
expect "--print nft-json is nft -j list ruleset" "$(inNS nft -j list ruleset)" "$(imp --from nft --print nft-json)"
imp --from nft -o "$work/out" && expect "-o FILE" "$(ir_of "$NFT")" "$(cat "$work/out")"

echo "== --from nft: what does not lower"
inNS nft add table bridge br
inNS nft add chain bridge br c
imp --from nft --print iptables >"$work/out" 2>"$work/err" && bad "--print iptables refuses a bridge table" ||
    ok "--print iptables refuses a bridge table"
grep -q "warning: table bridge br is not compiled" "$work/err" && ok "and says why" || bad "why: $(cat "$work/err")"
expect "and prints nothing" "" "$(cat "$work/out")"
expect "without --print, the nft text" "$(inNS nft list ruleset)" "$(imp --from nft 2>"$work/err")"
grep -q "printing it as nft text" "$work/err" && ok "and says so" || bad "says so: $(cat "$work/err")"
inNS nft flush ruleset

echo "== --from iptables-legacy"
cat >"$work/legacy.rules" <<'R'
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 53 -j NOTRACK
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:BLOCKLIST - [0:0]
:SERVICES - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -j BLOCKLIST
-A INPUT -s 198.18.0.0/15 -p tcp -m tcp --dport 22 -m comment --comment "ssh from the lab" -j ACCEPT
-A INPUT ! -i eth+ -p tcp -m tcp --tcp-flags SYN,ACK SYN -m limit --limit 10/sec --limit-burst 5 -j ACCEPT
-A INPUT -g SERVICES
-A BLOCKLIST -s 198.51.100.0/24 -j DROP
-A BLOCKLIST ! -d 10.0.0.0/255.0.255.0 -p icmp -m icmp --icmp-type 8 -j DROP
-A BLOCKLIST -f -j DROP
-A BLOCKLIST -p tcp -m tcp --dport 23 -j REJECT --reject-with tcp-reset
-A BLOCKLIST -p udp -m udp --sport 1000:2000 -j LOG --log-prefix "udp " --log-level 6
-A SERVICES -p tcp -m multiport --dports 80,443 -j ACCEPT
-A SERVICES -p udp -m udp --dport 53 -j ACCEPT
-A SERVICES -m mark --mark 0x10/0xff -j RETURN
-A SERVICES -p 47 -j ACCEPT
COMMIT
R
inNS iptables-legacy-restore "$work/legacy.rules" || bad "iptables-legacy-restore"
inNS iptables-legacy-save >"$work/saved"
expect "the import is iptables-legacy-save parsed by bpftables" \
    "$("$B/bpftables" compile - --emit ir -o "$work/ir" <"$work/saved" && cat "$work/ir")" "$(imp --from iptables-legacy)"
table() { sed -n "/^\*$1\$/,/^COMMIT\$/p"; }  # the kernel lists tables in its own order, not the file's
for t in filter raw; do
    expect "and compile --emit ir of the file: $t" "$(ir_of "$work/legacy.rules" | table $t)" \
        "$(imp --from iptables-legacy --print iptables | table $t)"
done
ip -n $NS link set lo up
inNS ping -c 2 -W 1 127.0.0.1 >/dev/null  # counted by "-A INPUT -i lo -j ACCEPT" and the OUTPUT policy
inNS iptables-legacy-save -c >"$work/saved"
imp --from iptables-legacy -c >"$work/imported"
for line in ':OUTPUT ACCEPT' '-A INPUT -i lo -j ACCEPT' '-A INPUT -s 198.18.0.0/15'; do
    expect "-c: '$line' counted as iptables-legacy-save -c counts" \
        "$(grep -F -- "$line" "$work/saved" | grep -o '\[[0-9]*:[0-9]*\]')" \
        "$(grep -F -- "$line" "$work/imported" | grep -o '\[[0-9]*:[0-9]*\]')"
done
grep -q '^\[4:336\] -A INPUT -i lo -j ACCEPT$' "$work/imported" && ok "-c: two pings on lo (requests and replies)" ||
    bad "-c: $(grep -- '-i lo' "$work/imported")"
imp --from iptables-legacy --print nft >/dev/null 2>&1
expect "--print nft is refused for legacy tables" 2 $?

imp --from iptables-legacy -o "$work/imported"
expect "the import compiles to itself" "$(cat "$work/imported")" "$(ir_of "$work/imported")"

echo "== --from iptables-legacy: matches bpftables hands to the kernel are imported too"
inNS iptables-legacy -A OUTPUT -m owner --uid-owner 0 -m statistic --mode random --probability 0.25 -j DROP
imp --from iptables-legacy | grep -q -- "-A OUTPUT -m owner --uid-owner 0 -m statistic --mode random --probability 0.25000000000 -j DROP" &&
    ok "owner and statistic" || bad "owner and statistic: $(imp --from iptables-legacy | grep OUTPUT)"
inNS iptables-legacy-save >"$work/saved"
expect "still iptables-legacy-save parsed by bpftables" \
    "$("$B/bpftables" compile - --emit ir -o "$work/ir" <"$work/saved" && cat "$work/ir")" "$(imp --from iptables-legacy)"

echo "== --from iptables-legacy: nat, mangle and matches bpftables hands to the kernel, each printed by its extension"
cat >"$work/ext.rules" <<'R'
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
-A PREROUTING -m mark ! --mark 0x1 -j MARK --set-xmark 0x2/0xffffffff
-A OUTPUT -m dscp --dscp 0x2e -j DSCP --set-dscp 0x00
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 203.0.113.1/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080
-A POSTROUTING -s 10.0.0.0/8 -o eth0 -j MASQUERADE
-A POSTROUTING -s 10.1.0.0/16 -j SNAT --to-source 198.51.100.1
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m iprange --src-range 10.0.0.1-10.0.0.9 -j DROP
-A INPUT -m ttl --ttl-lt 5 -j DROP
-A INPUT -m length --length 1000:1500 -j DROP
-A INPUT -m pkttype --pkt-type broadcast -j DROP
-A INPUT -m addrtype --dst-type LOCAL -j ACCEPT
-A INPUT -m mac --mac-source 00:11:22:33:44:55 -j DROP
-A INPUT -m state --state NEW -m recent --set --name x --mask 255.255.255.255 --rsource
-A INPUT -p tcp -m multiport ! --dports 1:100,200 -m hashlimit --hashlimit-upto 5/sec --hashlimit-mode srcip --hashlimit-name h -j ACCEPT
-A INPUT -m string --string "GET /" --algo bm -j DROP
-A INPUT -m u32 --u32 "0>>22&0x3C@12>>26&0x3F=0x10" -j DROP
-A INPUT -p icmp -m icmp ! --icmp-type 0 -j DROP
-A INPUT -m tos --tos 0x10/0x3f -j DROP
-A INPUT -p udp -m udp ! --sport 53 -m connlimit --connlimit-above 5 --connlimit-mask 32 --connlimit-saddr -j REJECT --reject-with icmp-port-unreachable
-A INPUT -m time --timestart 08:00:00 --timestop 17:00:00 -j ACCEPT
COMMIT
R
inNS iptables-legacy -t raw -F
inNS iptables-legacy-restore "$work/ext.rules" || bad "iptables-legacy-restore of the extensions"
inNS iptables-legacy-save >"$work/saved"
imp --from iptables-legacy >"$work/imported" || bad "import of the extensions"
expect "the import is iptables-legacy-save parsed by bpftables" \
    "$("$B/bpftables" compile - --emit ir -o "$work/ir" <"$work/saved" && cat "$work/ir")" "$(cat "$work/imported")"
expect "every rule is there" "$(grep -c -- '^-A' "$work/ext.rules")" "$(grep -c -- '^-A' "$work/imported")"

echo "$fails failure(s)"
[ $fails -eq 0 ]
