#!/bin/bash
# The measurements of docs/design-notes.md, "Direct back end: how per-ruleset code joins the prebuilt BPF".
# Needs root (BPF_PROG_TEST_RUN). Usage: sudo bench/direct/run.sh [BUILD_DIR] [N...]
# For each N (default 10 1000 10000): bench/gen_ruleset.py N (seed 1), then
#   join_bench: the chain emitted as instructions and loaded without clang, joined by a tail call, by freplace,
#               by a global-function call (freplace's per-packet cost where EXT cannot load), or emitted whole;
#               and the same ruleset through the C back end (clang) with the classifier off;
#   bpftables compile --stats (the C path as a user runs it, classifier off), timed with /usr/bin/time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10 1000 10000)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "# $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
for n in "${sizes[@]}"; do
    python3 "$here/../gen_ruleset.py" "$n" >"$tmp/r$n.rules"
    echo "## N=$n"
    echo "\$ join_bench r$n.rules --repeat 100000 --runs 5"
    nice -n 19 "$build/bench/direct/join_bench" "$tmp/r$n.rules" --repeat 100000 --runs 5
    echo "\$ BPFTABLES_CLASSIFIER_MIN=0 bpftables compile r$n.rules -o /dev/null --stats"
    BPFTABLES_CLASSIFIER_MIN=0 /usr/bin/time -f "wall_s %e  max_rss_kb %M" \
        nice -n 19 "$build/cli/bpftables" compile "$tmp/r$n.rules" -o /dev/null --stats 2>&1
done
