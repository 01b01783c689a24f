#!/usr/bin/env bash
# The kernel's netfilter as the backstop: what an attached program hands to the kernel (a match the hook cannot
# decide, fragments) meets the same rules there, because bpftables-restore installs the compiled tables in the
# namespace's netfilter too. Without that copy those packets would pass unfiltered.
# Usage: backstop_test.sh BUILD_CLI_DIR   (needs root; runs itself in a private mount namespace)
if [ -z "${BPFT_LIVE_MNTNS:-}" ]; then
    exec env BPFT_LIVE_MNTNS=1 unshare -m --propagation slave bash "$0" "$@"
fi
source "$(dirname "$0")/common.bash"
live_setup 7 bs "$1"

printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]
-A INPUT -p udp -m addrtype ! --dst-type UNICAST -m udp --dport 9 -j DROP
-A INPUT -p icmp -j DROP
COMMIT\n' >"$work/r.rules"
bt attach va >/dev/null || bad "attach"
restore "$work/r.rules" || bad "restore"
kernel_counter() { inA iptables-save -c -t filter | grep -F -- "$1" | head -1 | cut -d' ' -f1; }

echo "== the compiled tables are in the kernel's netfilter too"
expect "filter rules in the kernel" 2 "$(inA iptables-save -t filter | grep -v BPFTABLES-DECIDED | grep -c '^-A INPUT')"
grep -Eq "tables in BPF: filter; in the kernel's netfilter only: none; every table is also in the kernel's netfilter \(iptables-(legacy|nft)-restore\), the compiled ones as the backstop" <<<"$(bt status)" &&
    ok "status says so" || { bad "status says so"; bt status; }

echo "== --backend: the copy moves to the other iptables; under nft short L4 headers are the kernel's"
rules_in() { inA "iptables-$1-save" -t filter 2>/dev/null | grep -v BPFTABLES-DECIDED | grep -c '^-A INPUT'; }
restore --backend legacy "$work/r.rules" || bad "restore --backend legacy"
expect "iptables-legacy has the copy" 2 "$(rules_in legacy)"
expect "iptables-nft has none" 0 "$(rules_in nft)"
grep -q "short TCP/UDP headers" <<<"$(bt status)" && bad "legacy: no hand-over of short headers" ||
    ok "legacy: no hand-over of short headers"
restore --backend nft "$work/r.rules" || bad "restore --backend nft"
expect "iptables-nft has the copy" 2 "$(rules_in nft)"
expect "iptables-legacy's is emptied" 0 "$(rules_in legacy)"
grep -q "(iptables-nft-restore)" <<<"$(bt status)" && grep -q "short TCP/UDP headers: handed to the kernel" <<<"$(bt status)" &&
    ok "status names the backend and the hand-over" || { bad "status names the backend and the hand-over"; bt status; }
inA ip link add vb type veth peer name vc && inA ip link set vb up && inA ip link set vc up
bt attach vb >/dev/null || bad "attach vb"  # a rebuild of the committed ruleset keeps the backend's semantics
grep -q "short TCP/UDP headers: handed to the kernel" <<<"$(bt status)" && ok "kept across a rebuild" ||
    { bad "kept across a rebuild"; bt status; }

echo "== a match XDP cannot decide (addrtype): the kernel's copy decides"
udp 5 9
expect "the kernel's rule dropped them" "[5:" "$(kernel_counter '-A INPUT -p udp -m addrtype' | cut -d: -f1):"
expect "bpftables-save -c shows them once: the copy's count" "[5:" "$(counter '-A INPUT -p udp -m addrtype ! --dst-type UNICAST' | cut -d: -f1):"

echo "== fragments: handed to the kernel, which reassembles and drops them by the same rule"
nsenter --net=/run/netns/$P ping -q -c 1 -W 1 $NET.1 >/dev/null && bad "a small ping is dropped" ||
    ok "a small ping is dropped"
expect "at XDP" "[1:84]" "$(counter '-A INPUT -p icmp -j DROP')"
nsenter --net=/run/netns/$P ping -q -c 2 -i 0.2 -W 1 -s 3000 $NET.1 >/dev/null && bad "a fragmented ping is dropped" ||
    ok "a fragmented ping is dropped"
expect "the kernel's copy dropped the two reassembled ones" "[2:6056]" "$(kernel_counter '-A INPUT -p icmp -j DROP')"
expect "bpftables-save -c counts each once: one at XDP, two in the copy" "[3:6140]" "$(counter '-A INPUT -p icmp -j DROP')"
expect "by the kernel's copy, reassembled" "[2:" "$(kernel_counter '-A INPUT -p icmp -j DROP' | cut -d: -f1):"
finish
