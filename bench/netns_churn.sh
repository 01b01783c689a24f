#!/usr/bin/env bash
# Namespaces that come and go (issue 18): N network namespaces, each with a veth pair and `bpftables attach`
# (XDP), the first K of those attach commands killed (SIGKILL) 0.3 s in; then every namespace deleted without
# detach, and `bpftables gc` until nothing is left. Prints the time and kernel memory of the attaches, what a
# kill left, and what gc removed. Runs in a private mount namespace with its own bpffs; the namespaces it makes
# are named bpft-churn-PID-I and always removed.
# Usage: bench/netns_churn.sh BUILD_CLI_DIR [N [K]]   (root)
if [ -z "${BPFT_CHURN_MNTNS:-}" ]; then
    exec env BPFT_CHURN_MNTNS=1 unshare -m --propagation slave bash "$0" "$@"
fi
set -u
B=$(cd "$1" && pwd)
N=${2:-100} K=${3:-10}
mount -t bpf bpf /sys/fs/bpf || exit 1
names=()
cleanup() { for n in "${names[@]}"; do ip netns del "$n" 2>/dev/null; done; }
trap cleanup EXIT
mem() { awk '/^(Slab|Percpu|VmallocUsed):/ { s += $2 } END { print s }' /proc/meminfo; }  # kB
now() { date +%s.%N; }
locks() { ls /run/bpftables 2>/dev/null | wc -l; }
dirs() { ls /sys/fs/bpf/bpftables 2>/dev/null | wc -l; }
m0=$(mem) t0=$(now) failed=0
for i in $(seq "$N"); do
    n=bpft-churn-$$-$i
    names+=("$n")
    ip netns add "$n" && ip -n "$n" link add v0 type veth peer name v1 && ip -n "$n" link set v0 up &&
        ip -n "$n" link set v1 up || exit 1
    if [ "$i" -le "$K" ]; then
        nsenter --net=/run/netns/"$n" "$B/bpftables" attach v0 >/dev/null 2>&1 &
        pid=$!
        sleep 0.3
        kill -9 $pid 2>/dev/null
        wait $pid 2>/dev/null
    else
        nsenter --net=/run/netns/"$n" "$B/bpftables" attach v0 >/dev/null || failed=$((failed + 1))
    fi
done
t1=$(now) m1=$(mem)
echo "attach in $N namespaces ($K of them killed 0.3 s in, $failed failed): $(echo "$t1 - $t0" | bc) s," \
    "$(echo "($t1 - $t0) / $N" | bc -l | cut -c1-5) s each; kernel memory (Slab+Percpu+VmallocUsed) +$((m1 - m0)) kB," \
    "$(((m1 - m0) / N)) kB each"
echo "state directories: $(dirs); lock files in /run/bpftables: $(locks)"
t2=$(now)
for n in "${names[@]}"; do ip netns del "$n"; done
names=()
t3=$(now)
rounds=0
for _ in $(seq 100); do  # the kernel tears namespaces down asynchronously: bounded
    rounds=$((rounds + 1))
    "$B/bpftables" gc -q
    [ "$(dirs)" -eq 0 ] && break
    sleep 0.2
done
t4=$(now)
echo "deleted without detach in $(echo "$t3 - $t2" | bc) s; gc ($rounds runs) until nothing was left:" \
    "$(echo "$t4 - $t3" | bc) s; left: $(dirs) state directories, $(locks) lock files;" \
    "kernel memory now +$(($(mem) - m0)) kB"
s=$(now)
"$B/bpftables" gc -q
echo "one gc with nothing to collect: $(echo "$(now) - $s" | bc) s"
