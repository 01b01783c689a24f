#!/bin/bash
# Builds the handoff experiment (docs/design-notes.md, "Decided once") into $OUT (default
# /tmp/bpftables-handoff): vmlinux.h from the running kernel's BTF, the BPF object and the loader.
set -eu
D=$(cd "$(dirname "$0")" && pwd) OUT=${OUT:-/tmp/bpftables-handoff}
mkdir -p "$OUT"
bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$OUT/vmlinux.h"
nice -n 19 clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -I"$OUT" -c "$D/handoff.bpf.c" -o "$OUT/handoff.bpf.o"
nice -n 19 gcc -O1 "$D/loader.c" -o "$OUT/loader" -lbpf
