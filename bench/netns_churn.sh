#!/usr/bin/env bash
# Namespaces that come and go (issue 18): N network namespaces, each with a veth pair and `bpftables attach`
# (XDP), the first K of those attach commands killed (SIGKILL) 0 to 0.29 s in; then every namespace deleted without
# detach, and `bpftables gc` until nothing is left. Prints the time and kernel memory of the attaches, what a
# kill left, and what gc removed. Runs in a private mount namespace with its own bpffs; the namespaces it makes
# are named bpft-churn-PID-I and always removed.
# Usage: bench/netns_churn.sh BUILD_CLI_DIR [N [K]]   (root)
if [ -z "${BPFT_CHURN_MNTNS:-}" ]; then
    exec env BPFT_CHURN_MNTNS=1 unshare -m --propagation slave bash "$0" "$@"
fi
set -u
# A copy of the binary: a rebuild of the tree during the run must not fail the attaches.
B=$(mktemp -d)
cp "$1/bpftables" "$B/" || exit 1
N=${2:-100} K=${3:-10}
mount -t bpf bpf /sys/fs/bpf || exit 1
names=()
cleanup() {
    for n in "${names[@]}"; do ip netns del "$n" 2>/dev/null; done
    rm -rf "$B"
}
trap cleanup EXIT
mem() { awk '/^(Slab|Percpu|VmallocUsed):/ { s += $2 } END { print s }' /proc/meminfo; }  # kB
now() { date +%s.%N; }
locks() { ls /run/bpftables 2>/dev/null | wc -l; }
# This run's own: the ids of the programs its attaches put on the veths, and its namespaces' lock files (by inode).
ids=() inodes=()
alive() { n=0; for id in "${ids[@]}"; do bpftool prog show id "$id" >/dev/null 2>&1 && n=$((n + 1)); done; echo $n; }
locks_left() { n=0; for i in "${inodes[@]}"; do [ -e "/run/bpftables/$i.lock" ] && n=$((n + 1)); done; echo $n; }
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
        sleep "0.$(printf %02d $((RANDOM % 30)))"  # 0 to 0.29 s: before, during or after its commit
        kill -9 $pid 2>/dev/null
        wait $pid 2>/dev/null
    else
        nsenter --net=/run/netns/"$n" "$B/bpftables" attach v0 >/dev/null || failed=$((failed + 1))
    fi
    inodes+=("$(stat -L -c %i /run/netns/"$n")")
    id=$(ip -n "$n" -d link show v0 | grep -o 'prog/xdp id [0-9]*' | grep -o '[0-9]*$')
    [ -n "$id" ] && ids+=("$id")
done
t1=$(now) m1=$(mem)
echo "attach in $N namespaces ($K of them killed 0-0.29 s in, $failed failed): $(echo "$t1 - $t0" | bc) s," \
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
    kept=$("$B/bpftables" gc -q 2>&1 | grep -c 'still run on a device; kept')
    [ "$(dirs)" -eq 0 ] && break
    echo "gc run $rounds: $kept state directories kept (their devices are still being torn down)"
    sleep 0.2
done
t4=$(now)
echo "deleted without detach in $(echo "$t3 - $t2" | bc) s; gc ($rounds runs) until nothing was left:" \
    "$(echo "$t4 - $t3" | bc) s; left: $(dirs) state directories, $(locks) lock files;" \
    "kernel memory now +$(($(mem) - m0)) kB"
s=$(now)
"$B/bpftables" gc -q
echo "one gc with nothing to collect: $(echo "$(now) - $s" | bc) s"
echo "programs the attaches put on the veths: ${#ids[@]}, still loaded now: $(alive);" \
    "lock files of the namespaces left: $(locks_left) of ${#inodes[@]}"
# A namespace made now (its inode number may be a dead one's) sees no state.
n=bpft-churn-$$-fresh
names+=("$n")
ip netns add "$n"
echo "a new namespace's status: $(nsenter --net=/run/netns/"$n" "$B/bpftables" status 2>&1 | tail -1)"
