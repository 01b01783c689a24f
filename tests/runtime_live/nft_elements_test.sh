#!/usr/bin/env bash
# nft set elements change in place (issue 16 item 3; runtime/elements.hpp): `bpftables-restore --format nft -n`
# of `add element` / `delete element` changes a named set and a verdict map in the running maps: the verdicts
# change, the generation and program ids do not, the counters stay, the kernel's copy and bpftables-save show
# the new elements. A failure (injected before the state is written) and a bad element leave everything as
# it was; a rule change with -n still builds a new generation. (A verdict map keeps its verdicts in the order
# its elements first name them: the elements changed here keep that order, which an in-place change needs.)
# Throwaway namespaces and a private bpffs.
# Usage: nft_elements_test.sh BUILD_CLI_DIR   (needs root)
if [ -z "${BPFT_LIVE_MNTNS:-}" ]; then
    exec env BPFT_LIVE_MNTNS=1 unshare -m --propagation slave bash "$0" "$@"
fi
source "$(dirname "$0")/common.bash"
live_setup 11 e "$1"

pkts() { save | grep -F -- "$1" | head -1 | grep -o 'packets [0-9]*' | cut -d' ' -f2; }
# The ids of the generation's pinned programs (entry and rules, XDP and tc-ingress).
prog_ids() {
    local g f ids=""
    g=$(gen)
    for f in "$sd"/g${g}_prog_* "$sd"/g${g}_rules_*; do
        [ -e "$f" ] && ids+="$(inA bpftool -j prog show pinned "$f" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') "
    done
    echo "$ids"
}
kernel_set() { inA nft list set ip fw "$1" 2>&1 | grep -o 'elements = .*' ; }
kernel_map() { inA nft list map ip fw "$1" 2>&1 | grep -o 'elements = .*' ; }

cat >"$work/base.nft" <<N
flush ruleset
table ip fw {
	set block {
		type ipv4_addr
		elements = { 203.0.113.7 }
	}

	map ports {
		type inet_service : verdict
		elements = { 11 : accept, 9 : drop }
	}

	chain input {
		type filter hook input priority filter; policy accept;
		ip saddr @block counter drop
		udp dport vmap @ports
		udp dport 9 counter accept
		udp dport 13 counter drop
	}
}
N

echo "== a named set and a verdict map"
bt attach va --hook xdp --mode native || bad "attach"
restore --format nft "$work/base.nft" || bad "restore"
g0=$(gen) ids0=$(prog_ids)
[ -n "$ids0" ] && ok "programs pinned ($ids0)" || bad "no pinned programs"
udp 3 9
udp 2 13
expect "port 9: the map drops it before the counted rule" 0 "$(pkts 'udp dport 9 counter')"
expect "port 13: counted and dropped" 2 "$(pkts 'udp dport 13 counter')"

echo "== add element: in place"
out=$(echo "add element ip fw block { $NET.2 }" | restore --format nft -n -v 2>&1)
echo "$out" | grep -q 'set elements changed in place' && ok "-v: in place" || bad "-v does not say in place: $out"
expect "generation kept" "$g0" "$(gen)"
expect "program ids kept" "$ids0" "$(prog_ids)"
udp 2 13
expect "the peer is now blocked by the set" 2 "$(pkts 'ip saddr @block counter')"
expect "port 13 counter kept (nothing reaches it)" 2 "$(pkts 'udp dport 13 counter')"
expect "the kernel's copy has the element" "elements = { 198.18.11.2, 203.0.113.7 }" "$(kernel_set block)"
save | grep -q "elements = { 203.0.113.7, $NET.2 }" && ok "save shows it" || bad "save: $(save | grep elements)"

echo "== delete element and a verdict map's elements: in place"
cat >"$work/change.nft" <<N
delete element ip fw block { $NET.2 }
delete element ip fw ports { 9 }
add element ip fw ports { 13 : accept, 17 : drop }
N
out=$(restore --format nft -n -v "$work/change.nft" 2>&1)
echo "$out" | grep -q 'set elements changed in place' && ok "-v: in place" || bad "-v does not say in place: $out"
expect "generation kept" "$g0" "$(gen)"
expect "program ids kept" "$ids0" "$(prog_ids)"
udp 3 9
udp 2 13
expect "port 9 no longer in the map: counted" 3 "$(pkts 'udp dport 9 counter')"
expect "port 13 accepted by the map: its drop counter kept" 2 "$(pkts 'udp dport 13 counter')"
expect "the set counter kept" 2 "$(pkts 'ip saddr @block counter')"
expect "the kernel's copy of the set" "elements = { 203.0.113.7 }" "$(kernel_set block)"
expect "the kernel's copy of the map" "elements = { 11 : accept, 13 : accept, 17 : drop }" "$(kernel_map ports)"
saved=$(save)

echo "== failures leave everything as it was"
echo "add element ip fw block { $NET.2 }" >"$work/add.nft"
BPFTABLES_TEST_FAIL=elements inA "$B/bpftables-restore" --format nft -n "$work/add.nft" >/dev/null 2>&1 &&
    bad "an injected failure succeeds" || ok "an injected failure fails"
echo "add element ip fw block { 300.1.1.1 }" | restore --format nft -n >/dev/null 2>&1 &&
    bad "a bad element is taken" || ok "a bad element is refused"
expect "save unchanged" "$saved" "$(save)"
expect "the kernel's copy unchanged" "elements = { 203.0.113.7 }" "$(kernel_set block)"
expect "generation kept" "$g0" "$(gen)"
udp 2 9
expect "the map still passes port 9 (nothing left behind in the running map)" 5 "$(pkts 'udp dport 9 counter')"
expect "the set still lets the peer in" 2 "$(pkts 'ip saddr @block counter')"

echo "== a rule change with -n builds a new generation"
echo "add rule ip fw input udp dport 15 counter drop" | restore --format nft -n || bad "add rule"
expect "a new generation" "$((g0 + 1))" "$(gen)"
out=$(restore --format nft -n -v "$work/add.nft" 2>&1)
echo "$out" | grep -q 'set elements changed in place' && ok "then elements in place again" || bad "$out"
udp 2 13
expect "and the new generation's set map has the element" 4 "$(pkts 'ip saddr @block counter')"
finish
