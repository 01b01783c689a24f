#!/usr/bin/env bash
# For each DIR/NAME.orig with its DIR/NAME.canon (bpftables-restore's canonical text of it): when nft accepts
# the original (`nft -c -f`, checked against the kernel, nothing committed), it must accept the canonical text,
# which is what a restore gives the kernel's nf_tables. In a private network namespace of its own (`unshare
# -n`, gone with it): the host's ruleset is never read or changed. Four files at a time (nft waits on the
# kernel more than it computes). Prints "loaded N, canonical refused M" and each refusal. Needs root.
#   usage: nft_load_pairs.sh DIR
set -uo pipefail
[ -n "${BPFT_PAIRS_NETNS:-}" ] || BPFT_PAIRS_NETNS=1 exec unshare -n bash "$0" "$@"
dir=$1
if [ "${2:-}" != --one ]; then
  find "$dir" -maxdepth 1 -name '*.orig' -print0 | sort -z | xargs -0 -P 4 -n 32 bash "$0" "$dir" --one >"$dir/.pairs"
  loaded=$(grep -c '^loaded$' "$dir/.pairs")
  refused=$(grep -c '^canonical refused: ' "$dir/.pairs")
  grep '^canonical refused: ' "$dir/.pairs"
  rm -f "$dir/.pairs"
  echo "loaded $loaded, canonical refused $refused"
  exit 0
fi
shift 2
for orig in "$@"; do
  canon=${orig%.orig}.canon
  [ -f "$canon" ] || continue
  { timeout 20 nft -c -f "$orig" >/dev/null 2>&1; } 2>/dev/null || continue  # nft 1.0.6 crashes on a few
  if ! err=$(timeout 20 nft -c -f "$canon" 2>&1); then
    echo "canonical refused: $(basename "${orig%.orig}"): $(head -3 <<<"$err" | tr '\n' ' ')"
  fi
  echo loaded
done
