#!/usr/bin/env bash
# One rule changed in a committed ruleset: `bpftables -R INPUT N RULE` against `iptables-legacy -R INPUT N RULE`
# (N: the middle rule, replaced by itself), alternating (farm-bench --vs), in one scratch namespace with an XDP
# attachment (a private bpffs in a private mount namespace), the kernel's copy on iptables-legacy. Needs root.
# Usage: bench/direct/rule_change_bench.sh BUILD_CLI_DIR RUNS FILE   (FILE: bench/gen_ruleset.py output)
set -u
source "$(dirname "$0")/scratch_ns.bash"
bench_setup rc "$1" "$0" "$@"
runs=$2 f=$(realpath "$3")
inns "$bin/bpftables-restore" --backend legacy "$f" || exit 1
middle_rule "$f"
echo "== $f: rule $n of $rules: $rule"
inns "$bin/bpftables" -R INPUT $n $rule || exit 1
farm-bench -n "$runs" --timeout 3000 --vs "nsenter --net=/run/netns/$ns iptables-legacy -R INPUT $n $rule" -- \
    nsenter --net=/run/netns/$ns "$bin/bpftables" -R INPUT $n $rule
inns "$bin/bpftables" detach --all >/dev/null
