#!/usr/bin/env bash
# nf_tables ingress chains (netdev family, or inet's ingress hook) run after tc ingress: on a device where one
# runs, an attached program would hide what it drops from that chain and show it the decided mark. There the
# links run a program that passes every packet to the kernel, which then judges them all, as it would without
# bpftables; `status` says why. A chain added later by another tool: `status` warns, `bpftables refresh`
# switches the links, and back when it is gone.
# Usage: netdev_ingress_test.sh BUILD_CLI_DIR   (needs root; runs itself in a private mount namespace)
if [ -z "${BPFT_LIVE_MNTNS:-}" ]; then
    exec env BPFT_LIVE_MNTNS=1 unshare -m --propagation slave bash "$0" "$@"
fi
source "$(dirname "$0")/common.bash"
live_setup 15 ni "$1"

bit=0x01000000
ingress_table() {  # counts the test's datagrams, and those among them that carry the decided bit
    printf 'table netdev ing {\n\tchain c {\n\t\ttype filter hook ingress device "va" priority 0; policy accept;\n'
    printf '\t\tudp dport { 53, 54 } counter\n\t\tudp dport { 53, 54 } meta mark & %s == %s counter\n\t}\n}\n' $bit $bit
}
printf 'table inet t {\n\tchain in {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tudp dport 53 counter accept\n\t\tudp dport 54 counter drop\n\t}\n}\n' >"$work/plain.nft"
{ ingress_table; cat "$work/plain.nft"; } >"$work/both.nft"

ingress_counts() {  # "ALL MARKED" of the netdev chain's two rules
    inA nft list chain netdev ing c | sed -n 's/.*packets \([0-9]*\).*/\1/p' | tr '\n' ' ' | sed 's/ $//'
}
in_bpf() {  # packets of va decided in BPF, every hook
    bt stats --json | python3 -c '
import json, sys
print(sum(i["accepted"] + i["dropped"] for i in json.load(sys.stdin)["interfaces"] if i["interface"] == "va"))'
}
nft_count() { save -c | grep "dport $1" | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }

for hook in xdp tc; do
    echo "== attached at $hook, the ingress chain in the restored ruleset"
    bt attach va --hook $hook >/dev/null || bad "attach --hook $hook"
    out=$(restore -v --format nft "$work/both.nft" 2>&1) || { bad "restore"; echo "$out"; }
    grep -q "va at .*: nf_tables ingress chain netdev ing c runs on it after tc ingress" <<<"$out" &&
        ok "restore -v says why" || { bad "restore -v says why"; echo "$out"; }
    status=$(bt status)
    grep -q "passes every packet to the kernel: nf_tables ingress chain netdev ing c runs on this device" <<<"$status" &&
        ok "status names the chain" || { bad "status names the chain"; echo "$status"; }
    before=$(in_bpf)
    udp 3 53
    udp 2 54
    expect "the ingress chain saw all 5, none with the bit" "5 0" "$(ingress_counts)"
    expect "nothing decided in BPF on va" "$before" "$(in_bpf)"
    expect "bpftables-save -c: the copy accepted 3" 3 "$(nft_count 53)"
    expect "bpftables-save -c: the copy dropped 2" 2 "$(nft_count 54)"

    echo "== the ruleset without it: the programs decide again"
    restore --format nft "$work/plain.nft" || bad "restore plain"
    bt status | grep -q "passes every packet" && bad "status: no pass after the chain went" || ok "status: the programs run"
    before=$(in_bpf)
    udp 2 54
    expect "2 dropped in BPF" $((before + 2)) "$(in_bpf)"

    echo "== another tool adds an ingress chain: status warns, refresh switches"
    ingress_table | inA nft -f - || bad "nft -f"
    bt status | grep -q "nf_tables ingress chain netdev ing c runs on this device after tc ingress and sees what the programs decide" &&
        ok "status warns" || { bad "status warns"; bt status; }
    out=$(bt refresh) || bad "refresh"
    grep -q "va at .*: nf_tables ingress chain netdev ing c runs on it" <<<"$out" && ok "refresh says so" ||
        { bad "refresh says so"; echo "$out"; }
    before=$(in_bpf)
    udp 2 54
    expect "the chain saw them, without the bit" "2 0" "$(ingress_counts)"
    expect "nothing decided in BPF" "$before" "$(in_bpf)"
    inA nft delete table netdev ing || bad "nft delete table"
    out=$(bt refresh) || bad "refresh back"
    grep -q "va at .*: no nf_tables ingress chain runs on it: the programs decide again" <<<"$out" &&
        ok "refresh puts the programs back" || { bad "refresh puts the programs back"; echo "$out"; }
    udp 2 54
    expect "decided in BPF again" $((before + 2)) "$(in_bpf)"
    bt detach va >/dev/null || bad "detach"
    inA nft flush ruleset
done
finish
