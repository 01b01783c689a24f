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
-A INPUT -p udp -m addrtype --dst-type LOCAL -m udp --dport 9 -j DROP
-A INPUT -p icmp -j DROP
COMMIT\n' >"$work/r.rules"
bt attach va >/dev/null || bad "attach"
restore "$work/r.rules" || bad "restore"
kernel_counter() { inA iptables-save -c -t filter | grep -F -- "$1" | head -1 | cut -d' ' -f1; }

echo "== the compiled tables are in the kernel's netfilter too"
expect "filter rules in the kernel" 2 "$(inA iptables-save -t filter | grep -c '^-A INPUT')"
grep -q "tables in BPF: filter; in the kernel's netfilter only: none; every table is also in the kernel's netfilter (iptables-restore), the compiled ones as the backstop" <<<"$(bt status)" &&
    ok "status says so" || { bad "status says so"; bt status; }

echo "== a match XDP cannot decide (addrtype): the kernel's copy decides"
udp 5 9
expect "bpftables hands them over (no count)" "[0:0]" "$(counter '-A INPUT -p udp -m addrtype --dst-type LOCAL')"
expect "the kernel's rule dropped them" "[5:" "$(kernel_counter '-A INPUT -p udp -m addrtype' | cut -d: -f1):"

echo "== fragments: handed to the kernel, which reassembles and drops them by the same rule"
nsenter --net=/run/netns/$P ping -q -c 1 -W 1 $NET.1 >/dev/null && bad "a small ping is dropped" ||
    ok "a small ping is dropped"
expect "at XDP" "[1:84]" "$(counter '-A INPUT -p icmp -j DROP')"
nsenter --net=/run/netns/$P ping -q -c 2 -i 0.2 -W 1 -s 3000 $NET.1 >/dev/null && bad "a fragmented ping is dropped" ||
    ok "a fragmented ping is dropped"
expect "not at XDP (fragments)" "[1:84]" "$(counter '-A INPUT -p icmp -j DROP')"
expect "by the kernel's copy, reassembled" "[2:" "$(kernel_counter '-A INPUT -p icmp -j DROP' | cut -d: -f1):"
finish
