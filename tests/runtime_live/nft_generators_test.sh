#!/usr/bin/env bash
# The nft rulesets generators write (../shared/corpus/nft-generators: Docker's nftables firewall backend, OpenWrt
# fw4): each through `bpftables-restore --format nft` in a throwaway namespace (with the kernel's nf_tables copy)
# and through `bpftables compile --format nft --explain`. Prints, per file, what nft itself says of it
# (`nft -c -f`, checked against the kernel of a private namespace, nothing committed), whether restore and compile
# accept it and the first error of each, then the counts. Fails when a ruleset is refused by either.
# Skipped (exit 0, with a message) when the corpus is absent.
# Usage: nft_generators_test.sh BUILD_CLI_DIR [RULESET...]   (needs root)
if [ -z "${BPFT_LIVE_MNTNS:-}" ]; then
    exec env BPFT_LIVE_MNTNS=1 unshare -m --propagation slave bash "$0" "$@"
fi
corpus=$(cd "$(dirname "$0")/../../.." && pwd)/shared/corpus/nft-generators
if [ $# -gt 1 ]; then
    files=("${@:2}")
elif [ -d "$corpus" ]; then
    files=("$corpus"/*/*)
else
    echo "skipped: no corpus at $corpus"
    exit 0
fi
source "$(dirname "$0")/common.bash"
live_setup 13 gen "$1"

total=0 nft_ok=0 restored=0 compiled=0
for f in "${files[@]}"; do
    total=$((total + 1))
    name=$(basename "$(dirname "$f")")/$(basename "$f")
    if out=$(timeout 20 nsenter --net=/run/netns/$P nft -c -f "$f" 2>&1); then
        nft_ok=$((nft_ok + 1)) nft="nft ok"
    else
        nft="nft refuses: $(grep -m1 -i error <<<"$out")"
    fi
    if out=$(restore --format nft "$f" 2>&1); then
        restored=$((restored + 1)) r="ok"
    else
        r="FAIL $(grep -m1 -i error <<<"$out" || head -1 <<<"$out")"
    fi
    if out=$("$B/bpftables" compile --format nft --explain "$f" 2>&1); then
        compiled=$((compiled + 1)) c="ok ($(grep -c . <<<"$out") line(s) of --explain)"
    else
        c="FAIL $(grep -m1 -i error <<<"$out" || head -1 <<<"$out")"
    fi
    echo "$name"
    echo "  $nft"
    echo "  restore: $r"
    echo "  compile: $c"
done
echo "rulesets $total, nft -c accepts $nft_ok, restore accepts $restored, compile accepts $compiled"
[ $restored -eq $total ] && [ $compiled -eq $total ] || bad "generator rulesets refused"
finish
