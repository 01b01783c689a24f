#!/usr/bin/env bash
# bpftables-restore against iptables-legacy-restore on the same files, alternating (farm-bench --vs), in one
# scratch namespace with an XDP attachment on a veth (a private bpffs in a private mount namespace), the
# kernel's copy on iptables-legacy (--backend legacy). Extra bpftables-restore options go in
# BPFT_RESTORE_OPTS (e.g. "--codegen c"). Needs root.
# Usage: bench/direct/restore_bench.sh BUILD_CLI_DIR RUNS FILE...
set -u
source "$(dirname "$0")/scratch_ns.bash"
bench_setup rb "$1" "$0" "$@"
runs=$2
shift 2
for f in "$@"; do
    f=$(realpath "$f")
    echo "== $f"
    inns "$bin/bpftables-restore" --backend legacy ${BPFT_RESTORE_OPTS:-} -v "$f" | grep -E "C back end|rules and policies;"
    farm-bench -n "$runs" --timeout 3000 --vs "nsenter --net=/run/netns/$ns iptables-legacy-restore $f" -- \
        nsenter --net=/run/netns/$ns "$bin/bpftables-restore" --backend legacy ${BPFT_RESTORE_OPTS:-} "$f"
done
inns "$bin/bpftables" detach --all >/dev/null
