#!/usr/bin/env bash
# Conntrack rules over a veth whose peer sends with checksum offload (the default: partial checksums, the TCP
# or UDP checksum field holds only the pseudo header's sum). The kernel's conntrack trusts such packets
# (nf_ip_checksum checks only CHECKSUM_NONE and COMPLETE); at tc-ingress the program reads the skb's ip_summed
# and decides them itself. At XDP nothing says the checksum is partial: XDP defers them to its tc-ingress
# partner, which decides them (docs/design-notes.md, "Decided once").
# Usage: veth_checksum_test.sh BUILD_CLI_DIR   (needs root; runs itself in a private mount namespace)
if [ -z "${BPFT_LIVE_MNTNS:-}" ]; then
    exec env BPFT_LIVE_MNTNS=1 unshare -m --propagation slave bash "$0" "$@"
fi
source "$(dirname "$0")/common.bash"
live_setup 11 ck "$1"

printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -p udp -m udp --dport 53 -m conntrack --ctstate NEW -j ACCEPT
-A INPUT -p udp -m udp --dport 54 -m conntrack --ctstate NEW -j DROP
COMMIT\n' >"$work/r.rules"
peer_offload() { nsenter --net=/run/netns/$P ethtool -K vp tx "$1" >/dev/null; }
accepted() { counter '-A INPUT -p udp -m udp --dport 53'; }
dropped() { counter '-A INPUT -p udp -m udp --dport 54'; }

echo "== tc-ingress, peer with checksum offload (partial checksums): decided in BPF"
bt attach va --hook tc >/dev/null || bad "attach --hook tc"
restore "$work/r.rules" || bad "restore"
udp 4 53
udp 3 54
expect "accepted by the program" "[4:" "$(accepted | cut -d: -f1):"
expect "dropped by the program" "[3:" "$(dropped | cut -d: -f1):"
expect "none invalid" "[0:0]" "$(counter '-A INPUT -m conntrack --ctstate INVALID')"

echo "== tc-ingress, peer without offload (full checksums): still decided in BPF"
peer_offload off
udp 2 53
expect "accepted by the program" "[6:" "$(accepted | cut -d: -f1):"
peer_offload on
bt detach va >/dev/null || bad "detach"

echo "== XDP, peer with checksum offload: XDP cannot know the checksum is partial, its tc-ingress partner decides"
bt attach va --hook xdp >/dev/null || bad "attach --hook xdp"
restore "$work/r.rules" || bad "restore at XDP"
bt -Z
udp 3 53
expect "decided in BPF, at tc-ingress" "[3:" "$(accepted | cut -d: -f1):"
inA iptables-save -c -t filter | grep -F -- '--dport 53' | grep -q '^\[0:0\]' && ok "not judged again by the kernel's copy" ||
    { bad "not judged again by the kernel's copy"; inA iptables-save -c -t filter; }
peer_offload off
udp 2 53
expect "without offload: decided at XDP" "[5:" "$(accepted | cut -d: -f1):"
finish
