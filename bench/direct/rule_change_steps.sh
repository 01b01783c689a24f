#!/usr/bin/env bash
# Where a single-rule change's time goes: commits a FILE (bench/gen_ruleset.py output) in a scratch namespace with
# an XDP attachment, then RUNS times each of `bpftables -v -R INPUT N RULE` (the middle rule by itself), `-I
# INPUT N RULE'` (a new rule) and `-D INPUT N` (it again), and prints the median wall time of each step that -v
# reports (runtime/commit.hpp's steps; lock+state and command are the command's own before the commit).
# Usage: bench/direct/rule_change_steps.sh BUILD_CLI_DIR RUNS FILE   (root; BPFTABLES_CODEGEN=direct to force
# the direct back end on rulesets with classifier runs)
set -u
source "$(dirname "$0")/scratch_ns.bash"
bench_setup rs "$1" "$0" "$@"
runs=$2 f=$(realpath "$3")
inns "$bin/bpftables-restore" --backend legacy "$f" || exit 1
middle_rule "$f"
other="-s 198.18.0.0/15 -p udp -m udp --dport 7 -j DROP"
echo "== $f: rule $n of $rules"
for i in $(seq "$runs"); do
    for cmd in "-R INPUT $n $rule" "-I INPUT $n $other" "-D INPUT $n"; do
        start=$(date +%s.%N)
        out=$(inns "$bin/bpftables" -v $cmd) || exit 1
        end=$(date +%s.%N)
        steps=$(sed -n 's/^steps: //p' <<<"$out")
        echo "${cmd:0:2} wall $(echo "$end - $start" | bc); $steps"
    done
done | python3 -c '
import re, statistics, sys
rows = {}
for line in sys.stdin:
    cmd, rest = line.split(" ", 1)
    for name, v in re.findall(r"([a-z+ ]+?) ([0-9.]+)s?;", rest):
        rows.setdefault(cmd, {}).setdefault(name.strip(), []).append(float(v))
for cmd, steps in rows.items():
    print(cmd, ", ".join(f"{k} {statistics.median(v) * 1000:.1f}" for k, v in steps.items()), "(ms, medians)")
'
inns "$bin/bpftables" detach --all >/dev/null
