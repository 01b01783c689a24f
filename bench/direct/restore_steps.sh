#!/usr/bin/env bash
# Where a small restore's time goes: in a scratch namespace with an XDP attachment, RUNS times each of
# `bpftables-restore -v FILE` again (the same ruleset: "same") and, when FILE2 is given, FILE2 then FILE in turn
# (a changed ruleset each time: "changed"), and prints the median wall time of the whole command and of each step
# that -v reports (runtime/commit.hpp's steps), in ms.
# Usage: bench/direct/restore_steps.sh BUILD_CLI_DIR RUNS FILE [FILE2]   (root)
set -u
source "$(dirname "$0")/scratch_ns.bash"
bench_setup rst "$1" "$0" "$@"
runs=$2 f=$(realpath "$3") g=$(realpath "${4:-$3}")
inns "$bin/bpftables-restore" --backend legacy "$f" || exit 1
once() {
    local start end out
    start=$(date +%s.%N)
    out=$(inns "$bin/bpftables-restore" --backend legacy -v "$2") || exit 1
    end=$(date +%s.%N)
    echo "$1 wall $(echo "$end - $start" | bc); $(sed -n 's/^steps: //p' <<<"$out")"
}
echo "== $f${4:+ / $g}"
for i in $(seq "$runs"); do
    once same "$f"
    if [ "$g" != "$f" ]; then once changed "$g" && once changed "$f"; fi
done | python3 -c '
import re, statistics, sys
rows = {}
for line in sys.stdin:
    kind, rest = line.split(" ", 1)
    for name, v in re.findall(r"([a-z+ ]+?) ([0-9.]+)s?;", rest):
        rows.setdefault(kind, {}).setdefault(name.strip(), []).append(float(v))
for kind, steps in rows.items():
    print(kind, ", ".join(f"{k} {statistics.median(v) * 1000:.1f}" for k, v in steps.items()), "(ms, medians)")
'
inns "$bin/bpftables" detach --all >/dev/null
