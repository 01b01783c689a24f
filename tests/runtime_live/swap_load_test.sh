#!/usr/bin/env bash
# Atomicity under load: while UDP traffic flows through a veth, bpftables-restore alternates between two
# rulesets that give different verdicts (SWAPS times, default 10). The counted rule has the same text in both,
# so its counter is carried across every generation: it must equal the packets sent, i.e. every packet was
# counted by exactly one generation and none went through unfiltered during a swap.
# Usage: swap_load_test.sh BUILD_CLI_DIR   (needs root; throwaway namespaces and a private bpffs)
if [ -z "${BPFT_LIVE_MNTNS:-}" ]; then
    exec env BPFT_LIVE_MNTNS=1 unshare -m --propagation slave bash "$0" "$@"
fi
source "$(dirname "$0")/common.bash"
live_setup 1 sl "$1"
ip netns exec $A sysctl -qw net.ipv4.conf.all.forwarding=1

for v in DROP ACCEPT; do
    printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:C - [0:0]\n-A INPUT -p udp -m udp --dport 9 -j C\n-A C -j %s\nCOMMIT\n' $v >"$work/$v.rules"
done
inA "$B/bpftables" attach va || exit 1
inA "$B/bpftables-restore" "$work/DROP.rules" || exit 1

# Bounded sender: at most 20000 datagrams or 120 s, until the stop file appears.
nsenter --net=/run/netns/$P bash -c "
    n=0; end=\$((SECONDS + 120))
    while [ ! -e $work/stop ] && [ \$n -lt 20000 ] && [ \$SECONDS -lt \$end ]; do
        for i in 1 2 3 4 5 6 7 8 9 10; do echo x > /dev/udp/198.18.1.1/9 && n=\$((n + 1)); done
        sleep 0.01
    done
    echo \$n > $work/sent" &
bg_pids=$!
sleep 0.5
swaps=${SWAPS:-10} failed=0
for i in $(seq "$swaps"); do
    f=$([ $((i % 2)) -eq 1 ] && echo ACCEPT || echo DROP)
    inA "$B/bpftables-restore" "$work/$f.rules" || failed=$((failed + 1))
done
sleep 0.5
touch "$work/stop"
wait "$bg_pids"
bg_pids=
sleep 0.2
sent=$(cat "$work/sent")
counted=$(inA "$B/bpftables-save" -c | grep -F -- '-A INPUT -p udp -m udp --dport 9 -j C' | cut -d' ' -f1)
drops=$(ip -n $A -s -j link show va | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["dropped"])' 2>/dev/null || echo "?")
inA "$B/bpftables" detach va
echo "swaps $swaps (failed $failed), sent $sent, counted $counted, veth rx dropped $drops"
[ "$failed" -eq 0 ] && [ "$counted" == "[$sent:$((sent * 30))]" ]
