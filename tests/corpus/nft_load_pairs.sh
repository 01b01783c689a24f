#!/usr/bin/env bash
# For each DIR/NAME.orig with its DIR/NAME.canon (bpftables-restore's canonical text of it): when nft accepts
# the original (`nft -c -f`, checked against the kernel, nothing committed), it must accept the canonical text,
# which is what a restore gives the kernel's nf_tables. One private network namespace, deleted on exit; the
# host's ruleset is never read or changed. Prints "loaded N, canonical refused M" and each refusal. Needs root.
#   usage: nft_load_pairs.sh DIR
set -uo pipefail
dir=$1
ns=bpftload$$
cleanup() { ip netns del "$ns" 2>/dev/null; }
trap cleanup EXIT
ip netns add "$ns" || exit 1
loaded=0 refused=0
for orig in "$dir"/*.orig; do
  canon=${orig%.orig}.canon
  [ -f "$canon" ] || continue
  { timeout 20 ip netns exec "$ns" nft -c -f "$orig" >/dev/null 2>&1; } 2>/dev/null || continue  # nft 1.0.6 crashes on a few
  loaded=$((loaded + 1))
  if ! err=$(timeout 20 ip netns exec "$ns" nft -c -f "$canon" 2>&1); then
    refused=$((refused + 1))
    echo "canonical refused: $(basename "${orig%.orig}"): $(head -3 <<<"$err")"
  fi
done
echo "loaded $loaded, canonical refused $refused"
