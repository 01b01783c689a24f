#!/usr/bin/env bash
# What one rule changed in a large iptables-nft table costs with the tools that read the chain first (issue 14 item
# 3, issue 18): a scratch namespace, iptables-nft-restore of FILE, then `nft -a list chain`, `iptables-nft -I` and
# `nft insert rule ... position H`, each timed once. Removes the namespace on exit. Needs root.
# Usage: bench/direct/nft_copy_change.sh FILE   (e.g. python3 bench/gen_ruleset.py 100000 > FILE)
set -u
ns=bpft-nftcc-$$
ip netns add $ns || exit 1
trap 'ip netns del $ns' EXIT
inns() { nsenter --net=/run/netns/$ns "$@"; }
echo "== iptables-nft-restore $1"
time inns iptables-nft-restore "$1"
echo "== nft -a list chain ip filter INPUT"
time (inns nft -a list chain ip filter INPUT | wc -l)
echo "== iptables-nft -I INPUT 2"
time inns iptables-nft -I INPUT 2 -s 198.18.0.9 -j DROP
h=$(inns nft -a list chain ip filter INPUT | grep -m3 handle | tail -1 | sed 's/.*handle //')
echo "== nft insert rule ip filter INPUT position $h"
time inns nft insert rule ip filter INPUT position "$h" ip saddr 198.18.0.10 counter drop
