#!/bin/sh
# ns per packet of the program alone (bpftables run --repeat: BPF_PROG_TEST_RUN at XDP, filter INPUT) for
# ClassBench sets against the same program with one rule (the set's first), same packets: packets inside
# filters drawn at random (spread) and one outside every filter (miss: every run is walked to its end).
#   bench/classbench_nspp.sh BPFTABLES DIR SET...   (DIR holds db_generator's output files named SET)
#   CODEGEN=c|direct picks the back end (bpftables run --codegen; default c).
# Prints: set spread_ns miss_ns one_rule_spread_ns one_rule_miss_ns spread_ratio miss_ratio
set -eu
bpftables=$1 dir=$2
shift 2
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mean() { awk '/ ns$/ { s += $(NF - 1); n++ } END { printf "%.1f", n ? s / n : -1 }'; }
for set in "$@"; do
    python3 "$here/classbench.py" "$dir/$set" --pcap "$tmp/p.pcap" --packets 32 > "$tmp/all.rules"
    python3 "$here/classbench.py" "$dir/$set" > /dev/null
    awk 'NR <= 4 || (/^-A/ && !done++) { print } END { print "COMMIT" }' "$tmp/all.rules" > "$tmp/one.rules"
    for r in all one; do
        "$bpftables" run --codegen "${CODEGEN:-c}" "$tmp/$r.rules" --pcap "$tmp/p.pcap" --chain INPUT --repeat 2000 2>/dev/null > "$tmp/$r.out"
        head -n -1 "$tmp/$r.out" | mean > "$tmp/$r.spread"
        tail -n 1 "$tmp/$r.out" | mean > "$tmp/$r.miss"
    done
    awk -v s="$set" -v a="$(cat "$tmp/all.spread")" -v m="$(cat "$tmp/all.miss")" -v oa="$(cat "$tmp/one.spread")" \
        -v om="$(cat "$tmp/one.miss")" 'BEGIN { printf "%s %s %s %s %s %.2f %.2f\n", s, a, m, oa, om, oa / a, om / m }'
done
