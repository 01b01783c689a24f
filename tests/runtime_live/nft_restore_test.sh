#!/usr/bin/env bash
# bpftables-restore of nft rulesets (--format nft, nft-json, or guessed): restore -> bpftables-save prints the
# ruleset back in list-ruleset form; traffic is counted on the right rule; a second restore keeps the
# counters of unchanged rules; a bad file fails at its line and leaves the previous generation running;
# nft JSON; attach of another interface; nat chains go to the kernel's nf_tables of the namespace (and go
# again when the next ruleset has none), and a nat chain at prerouting runs in BPF for first packets.
# Throwaway namespaces and a private bpffs.
# Usage: nft_restore_test.sh BUILD_CLI_DIR   (needs root)
if [ -z "${BPFT_LIVE_MNTNS:-}" ]; then
    exec env BPFT_LIVE_MNTNS=1 unshare -m --propagation slave bash "$0" "$@"
fi
source "$(dirname "$0")/common.bash"
live_setup 7 n "$1"

# nft's counter of the rule whose line contains TEXT: "packets N" in bpftables-save.
pkts() { save | grep -F -- "$1" | head -1 | grep -o 'packets [0-9]*' | cut -d' ' -f2; }

cat >"$work/n1.nft" <<N
flush ruleset
define peer = $NET.2
table ip fw {
	chain input {
		type filter hook input priority filter; policy accept;
		udp dport 9 counter drop
		udp dport { 7, 11 } counter accept
		ip saddr \$peer icmp type echo-request accept
		jump svc
	}

	chain svc {
		udp dport 13 counter drop
	}
}
N
# The same ruleset without `flush ruleset`, one rule added, the svc chain's rule changed.
cat >"$work/n2.nft" <<N
table ip fw {
	chain input {
		type filter hook input priority filter; policy accept;
		udp dport 9 counter drop
		udp dport { 7, 11 } counter accept
		udp dport 15 counter drop
		ip saddr $NET.2 icmp type echo-request accept
		jump svc
	}

	chain svc {
		udp dport 13 counter accept
	}
}
N

echo "== restore an nft ruleset, save prints it back"
bt attach va --hook xdp --mode native || bad "attach"
restore --format nft "$work/n1.nft" || bad "restore n1"
expect "generation" 2 "$(gen)"
expect "save prints the ruleset back" "table ip fw {
	chain input {
		type filter hook input priority filter; policy accept;
		udp dport 9 counter packets 0 bytes 0 drop
		udp dport { 7, 11 } counter packets 0 bytes 0 accept
		ip saddr $NET.2 icmp type echo-request accept
		jump svc
	}

	chain svc {
		udp dport 13 counter packets 0 bytes 0 drop
	}
}" "$(save)"
save >"$work/saved.nft"
restore --test "$work/saved.nft" && ok "the saved text restores (--test)" || bad "the saved text restores"

echo "== traffic is counted on the right rule"
udp 5 9
udp 3 7
udp 2 11
udp 4 13
expect "udp dport 9 drop" 5 "$(pkts 'udp dport 9 ')"
expect "udp dport { 7, 11 } (both elements)" 5 "$(pkts 'udp dport { 7, 11 }')"
expect "svc: udp dport 13 drop" 4 "$(pkts 'udp dport 13 ')"

echo "== a second restore (no flush ruleset, format guessed) keeps the counters of unchanged rules"
restore "$work/n2.nft" || bad "restore n2"
expect "generation" 3 "$(gen)"
expect "udp dport 9 kept" 5 "$(pkts 'udp dport 9 ')"
expect "udp dport { 7, 11 } kept" 5 "$(pkts 'udp dport { 7, 11 }')"
expect "new rule starts at 0" 0 "$(pkts 'udp dport 15 ')"
expect "changed rule starts at 0" 0 "$(pkts 'udp dport 13 ')"
udp 2 15
expect "new rule counts" 2 "$(pkts 'udp dport 15 ')"

echo "== a bad nft file fails at its line; the previous generation keeps running"
cat >"$work/bad.nft" <<'N'
table ip fw {
	chain input {
		type filter hook input priority filter; policy drop;
		udp dport 9 frobnicate drop
	}
}
N
before=$(save)
err=$(restore --format nft "$work/bad.nft" 2>&1) && bad "bad file refused" || ok "bad file refused"
grep -q "bad.nft:4:[0-9]*: error:" <<<"$err" && ok "error at bad.nft:4" || { bad "error at bad.nft:4"; echo "$err"; }
cat >"$work/v6.nft" <<'N'
table ip fw {
}
table ip6 fw6 {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 9 drop
	}
}
N
restore --test --format nft "$work/v6.nft" 2>/dev/null && ok "an ip6 table restores (--test)" ||
    bad "an ip6 table restores (--test)"
expect "generation unchanged" 3 "$(gen)"
expect "ruleset unchanged" "$before" "$(save)"
udp 3 9
expect "old generation still drops and counts" 8 "$(pkts 'udp dport 9 ')"

echo "== -n: the file's commands apply on top of the committed ruleset, as nft -f without flush ruleset"
cat >"$work/noflush.nft" <<'N'
add rule ip fw input udp dport 17 counter drop
table ip fw {
	chain svc {
		udp dport 21 counter drop
	}
}
N
restore -n --format nft "$work/noflush.nft" || bad "restore -n"
expect "generation" 4 "$(gen)"
expect "-n: save" "table ip fw {
	chain input {
		type filter hook input priority filter; policy accept;
		udp dport 9 counter packets 8 bytes 240 drop
		udp dport { 7, 11 } counter packets 5 bytes 150 accept
		udp dport 15 counter packets 2 bytes 60 drop
		ip saddr $NET.2 icmp type echo-request accept
		jump svc
		udp dport 17 counter packets 0 bytes 0 drop
	}

	chain svc {
		udp dport 13 counter packets 0 bytes 0 accept
		udp dport 21 counter packets 0 bytes 0 drop
	}
}" "$(save)"
udp 2 17
udp 3 21
expect "-n: the added rule counts" 2 "$(pkts 'udp dport 17 ')"
expect "-n: the rule added to svc counts" 3 "$(pkts 'udp dport 21 ')"
echo 'flush chain ip fw svc' >"$work/flushsvc.nft"
restore -n "$work/flushsvc.nft" || bad "restore -n flush chain"
expect "-n flush chain: svc is empty" "" "$(save | sed -n '/chain svc/,/}/p' | grep dport)"
expect "-n flush chain: input keeps its counters" 8 "$(pkts 'udp dport 9 ')"
restore -n --format nft-json "$work/noflush.nft" 2>/dev/null && bad "-n with JSON refused" ||
    ok "-n with JSON refused"

echo "== -L of an nft ruleset: nft list ruleset / table / chain, with the live counters"
expect "-L is the listing" "$(save)" "$(bt -L)"
expect "-L -t fw is the table" "$(save)" "$(bt -L -t fw)"
# The chain alone: the listing up to the end of chain input, and the table's brace.
expect "-L input -t fw is the chain" "$(save | sed -n '1,/^\t}$/p'; echo '}')" "$(bt -L input -t fw)"
bt -L -t nosuch 2>/dev/null && bad "-L of a missing table fails" || ok "-L of a missing table fails"
bt -L nosuch -t fw 2>/dev/null && bad "-L of a missing chain fails" || ok "-L of a missing chain fails"

echo "== nft JSON input"
cat >"$work/n3.json" <<'J'
{"nftables": [{"metainfo": {"json_schema_version": 1}},
 {"table": {"family": "ip", "name": "fw", "handle": 1}},
 {"chain": {"family": "ip", "table": "fw", "name": "input", "handle": 1, "type": "filter", "hook": "input",
            "prio": 0, "policy": "accept"}},
 {"rule": {"family": "ip", "table": "fw", "chain": "input", "handle": 2, "expr": [
   {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 9}},
   {"counter": {"packets": 0, "bytes": 0}}, {"drop": null}]}},
 {"rule": {"family": "ip", "table": "fw", "chain": "input", "handle": 3, "expr": [
   {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 19}},
   {"counter": {"packets": 0, "bytes": 0}}, {"drop": null}]}}]}
J
restore --format nft-json "$work/n3.json" || bad "restore n3.json"
# The JSON's explicit "==" stays (for flags it differs from the implicit relation).
expect "json: save" "table ip fw {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport == 9 counter packets 8 bytes 240 drop
		udp dport == 19 counter packets 0 bytes 0 drop
	}
}" "$(save)"
expect "json: udp dport 9 kept across formats" 8 "$(pkts 'udp dport == 9 ')"
udp 2 19
expect "json: udp dport 19 counts" 2 "$(pkts 'udp dport == 19 ')"
restore "$work/n3.json" && ok "json guessed" || bad "json guessed"

echo "== attach of another interface keeps the nft ruleset and its counters"
ip -n $A link add d0 type veth peer name d1 && ip -n $A link set d0 up && ip -n $A link set d1 up
bt attach d0 --hook tc || bad "attach d0"
expect "udp dport 9 kept after attach" 8 "$(pkts 'udp dport == 9 ')"
grep -q 'udp dport == 19 counter' <<<"$(save)" && ok "ruleset kept after attach" || bad "ruleset kept after attach"

echo "== nat chains go to the kernel's nf_tables in the same transaction"
cat >"$work/nat.nft" <<N
table ip fw {
	chain input {
		type filter hook input priority filter; policy accept;
		udp dport 9 counter drop
	}
}
table ip nat {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		udp dport 99 dnat to $NET.1:21
		udp dport 98 meta mark set 0x2
	}
}
N
restore "$work/nat.nft" || bad "restore nat"
grep -q "table ip fw table ip nat" <<<"$(inA nft list tables | sort | tr '\n' ' ')" && ok "kernel has the ruleset" ||
    { bad "kernel has the ruleset"; inA nft list tables; }
grep -q "dnat to $NET.1:21" <<<"$(inA nft list chain ip nat pre)" && ok "dnat rule in the kernel" || bad "dnat rule in the kernel"
grep -q "tables: ip fw ip nat; copy in the kernel's nf_tables: yes" <<<"$(bt status)" && ok "status says so" ||
    bad "status says so"
grep -q "udp dport 99 dnat to $NET.1:21" <<<"$(save)" && ok "save prints the nat rule" || bad "save prints the nat rule"
# The nat chain runs in BPF for a connection's first packet: port 97 meets no dnat, fw's policy accepts it
# in BPF; port 99's dnat hands it over.
decided() { bt stats --json | python3 -c '
import json, sys
va = [i for i in json.load(sys.stdin)["interfaces"] if i["interface"] == "va"]
print(sum(i["accepted"] for i in va), sum(i["handed_over"]["rule"] + i["handed_over"]["other"] for i in va))'; }
read -r d0 h0 <<<"$(decided)"
udp 3 97
udp 2 99
read -r d1 h1 <<<"$(decided)"
expect "past the nat chain, accepted in BPF; dnat handed over" "3 2" "$((d1 - d0)) $((h1 - h0))"
# Two datagrams of one flow (source port $1) to $NET.1:$2, 0.3 s apart (bounded: 5 s).
flow() {
    nsenter --net=/run/netns/$P timeout 5 python3 -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('', $1))
for _ in range(2):
    s.sendto(b'x', ('$NET.1', $2))
    time.sleep(0.3)"
}
# A connection conntrack knows skips the nat chain: a flow's first datagram meets a statement bpftables
# does not compile there (handed over), its second is decided in BPF.
flow 5555 98
read -r d2 h2 <<<"$(decided)"
expect "first datagram handed over, the second (conntrack knows it) accepted in BPF" "1 1" \
    "$((d2 - d1)) $((h2 - h1))"
# A DNAT'd flow: its first datagram reaches the dnat, its second is one the kernel's NAT rewrites.
flow 5556 99
read -r d3 h3 <<<"$(decided)"
expect "a DNAT'd flow: both datagrams handed over" "0 2" "$((d3 - d2)) $((h3 - h2))"
sed "s/dnat to $NET.1:21/dnat to $NET.1:99999/" "$work/nat.nft" >"$work/badnat.nft"
g=$(gen)
err=$(restore "$work/badnat.nft" 2>&1) && bad "kernel refusal fails the restore" || ok "kernel refusal fails the restore"
grep -q "nf_tables" <<<"$err" && ok "message names nf_tables" || { bad "message names nf_tables"; echo "$err"; }
expect "generation unchanged after kernel refusal" "$g" "$(gen)"
grep -q "dnat to $NET.1:21" <<<"$(inA nft list chain ip nat pre)" && ok "kernel copy unchanged" || bad "kernel copy unchanged"
BPFTABLES_TEST_FAIL=swap:0 restore "$work/n2.nft" 2>/dev/null && bad "injected swap failure fails" ||
    ok "injected swap failure fails"
expect "generation unchanged after rollback" "$g" "$(gen)"
grep -q "dnat to $NET.1:21" <<<"$(inA nft list chain ip nat pre 2>&1)" && ok "rollback restores the kernel copy" ||
    bad "rollback restores the kernel copy"
restore "$work/n2.nft" || bad "restore n2 again"
expect "kernel copy is the new ruleset (the backstop), without nat" "table ip fw" "$(inA nft list tables | grep -v bpftables-decided)"

echo "== a statement bpftables does not compile: the packets that reach it are the kernel's copy's"
cat >"$work/k.nft" <<'N'
flush ruleset
table ip fw {
	chain input {
		type filter hook input priority filter; policy accept;
		udp dport 9 counter drop
		udp dport 31 meta mark set 0x1 counter drop
	}
}
N
bt compile "$work/k.nft" --format nft --explain 2>/dev/null | grep -q 'meta mark set 0x1.*the kernel decides it' &&
    ok "compile --explain: the kernel decides the statement" || bad "compile --explain: the kernel decides the statement"
restore "$work/k.nft" || bad "restore with meta mark set"
udp 3 31
udp 2 9
kpkts() { inA nft list chain ip fw input | grep -F -- "$1" | grep -o 'packets [0-9]*' | cut -d' ' -f2; }
expect "the kernel's copy ran meta mark set and dropped" 3 "$(kpkts 'udp dport 31')"
expect "bpftables-save counts it once, the copy's count (the program handed it over)" 3 "$(pkts 'udp dport 31 ')"
# 8 carried over from the earlier generations (the rule survives every restore; through the nat one too, whose
# program hands every packet to the kernel but still keeps the counters), and these 2
expect "udp dport 9: the program's" 10 "$(pkts 'udp dport 9 ')"
expect "udp dport 9: not the kernel's (dropped at XDP)" 0 "$(kpkts 'udp dport 9')"

echo "== tables bpftables does not compile (ip6 ...) go to the kernel's copy, their only one"
restore -n "$work/v6.nft" 2>/dev/null || bad "restore -n of an ip6 table"
grep -q "table ip6 fw6" <<<"$(inA nft list tables)" && ok "the kernel has the ip6 table" ||
    bad "the kernel has the ip6 table"
grep -q "ip fw ip6 fw6; copy in the kernel's nf_tables: yes" <<<"$(bt status)" && ok "status lists it" ||
    { bad "status lists it"; bt status; }
grep -q "table ip6 fw6" <<<"$(save)" && ok "save prints it" || bad "save prints it"

echo "== iptables input replaces a committed nft ruleset"
printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p udp -m udp --dport 9 -j DROP\nCOMMIT\n' >"$work/r.rules"
restore "$work/r.rules" || bad "restore iptables"
grep -q -- "-A INPUT -p udp -m udp --dport 9 -j DROP" <<<"$(save)" && ok "save prints iptables-save again" || bad "iptables after nft"
restore --format nft "$work/n1.nft" || bad "nft after iptables"
grep -q "chain svc" <<<"$(save)" && ok "nft after iptables" || bad "nft after iptables: save"
expect "the iptables ruleset's copy (the backstop) left the kernel" 0 "$(inA iptables-save -t filter | grep -c '^-A')"

finish
