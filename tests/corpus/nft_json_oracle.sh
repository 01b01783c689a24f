#!/usr/bin/env bash
# Generates nft JSON oracles with the nft of this machine: each input ruleset is loaded with `nft -f` into a
# private network namespace (this script's own, made by `unshare -n` and gone with it), listed as text
# (`nft list ruleset` -> OUT/NAME.nft) and as JSON (`nft -j list ruleset` -> OUT/NAME.json, NAME being
# FOLDER__FILE), and flushed (`nft flush ruleset`) before the next. The host's ruleset is never read or
# changed. Inputs nft rejects are listed in OUT/rejected.txt. Needs root and nft.
#   usage: nft_json_oracle.sh OUT_DIR FILE...
set -uo pipefail
[ -n "${BPFT_ORACLE_NETNS:-}" ] || BPFT_ORACLE_NETNS=1 exec unshare -n bash "$0" "$@"
out=$1
shift
mkdir -p "$out"
touch "$out/rejected.txt"
for f in "$@"; do
  name=$(basename "$(dirname "$f")")__$(basename "$f")  # the folder too: inputs and dumps share names
  name=${name%.*}
  nft flush ruleset || exit 1
  if (cd "$(dirname "$f")" && timeout 20 nft -f "$f") >/dev/null 2>&1; then
    timeout 20 nft list ruleset >"$out/$name.nft" 2>/dev/null &&
      timeout 20 nft -j list ruleset >"$out/$name.json" 2>/dev/null ||
      { rm -f "$out/$name.nft" "$out/$name.json"; echo "$name (list failed)" >>"$out/rejected.txt"; }
  else
    echo "$name" >>"$out/rejected.txt"
  fi
done
