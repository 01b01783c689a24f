#!/usr/bin/env bash
# bpftables-restore against iptables-legacy-restore on the same files, alternating (farm-bench --vs), in one
# scratch namespace with an XDP attachment on a veth (a private bpffs in a private mount namespace), the
# kernel's copy on iptables-legacy (--backend legacy). Extra bpftables-restore options go in
# BPFT_RESTORE_OPTS (e.g. "--codegen c"). Needs root.
# BPFT_ALTERNATE=FILE2: each command restores FILE and FILE2 in turn (a changed ruleset every run, through a
# `sh -c` that picks the file, for both commands), instead of FILE again and again.
# Usage: bench/direct/restore_bench.sh BUILD_CLI_DIR RUNS FILE...
set -u
source "$(dirname "$0")/scratch_ns.bash"
bench_setup rb "$1" "$0" "$@"
runs=$2
shift 2
dir=$(mktemp -d)
for f in "$@"; do
    f=$(realpath "$f")
    echo "== $f"
    inns "$bin/bpftables-restore" --backend legacy ${BPFT_RESTORE_OPTS:-} -v "$f" | grep -E "C back end|rules and policies;"
    if [ -n "${BPFT_ALTERNATE:-}" ]; then
        g=$(realpath "$BPFT_ALTERNATE")
        pick() {  # a script running command $1 on $f and $g in turn (flag file $2)
            echo "if [ -e $2 ]; then rm $2; exec $1 $f; else : >$2; exec $1 $g; fi"
        }
        echo "== alternating with $g"
        farm-bench -n "$runs" --timeout 3000 \
            --vs "sh -c '$(pick "nsenter --net=/run/netns/$ns iptables-legacy-restore" "$dir/flag-b")'" -- \
            sh -c "$(pick "nsenter --net=/run/netns/$ns $bin/bpftables-restore --backend legacy ${BPFT_RESTORE_OPTS:-}" "$dir/flag-a")"
        continue
    fi
    farm-bench -n "$runs" --timeout 3000 --vs "nsenter --net=/run/netns/$ns iptables-legacy-restore $f" -- \
        nsenter --net=/run/netns/$ns "$bin/bpftables-restore" --backend legacy ${BPFT_RESTORE_OPTS:-} "$f"
done
inns "$bin/bpftables" detach --all >/dev/null
rm -rf "$dir"
