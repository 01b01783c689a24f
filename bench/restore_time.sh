#!/usr/bin/env bash
# Times bpftables-restore against iptables-legacy-restore and iptables-nft-restore on the same files, each in a
# scratch namespace it creates (bpftables with its own bpffs in a private mount namespace; XDP on one veth, so
# the xdp and tc-egress programs are built). Needs root. Usage: bench/restore_time.sh build/cli FILE...
set -u
bin=$1; shift
ns=rt-$$
cleanup() { ino=$(stat -L -c %i /run/netns/$ns 2>/dev/null) && rm -f /run/bpftables/$ino.lock; ip netns del $ns 2>/dev/null; }
trap cleanup EXIT
ip netns add $ns
ip -n $ns link add v0 type veth peer name v1
ip -n $ns addr add 198.18.0.1/24 dev v0
ip -n $ns link set v0 up; ip -n $ns link set v1 up; ip -n $ns link set lo up
t() { local s=$(date +%s.%N); "$@" >/dev/null 2>&1; local rc=$?; echo "$(echo "$(date +%s.%N) - $s" | bc) rc=$rc"; }
unshare -m bash -c "
  mount -t bpf bpf /sys/fs/bpf
  inns() { nsenter --net=/run/netns/$ns \"\$@\"; }
  inns $bin/bpftables attach v0 --hook xdp >/dev/null
  for f in $*; do
    s=\$(date +%s.%N); inns $bin/bpftables-restore \$f >/dev/null; rc=\$?; e=\$(date +%s.%N)
    echo \"\$f bpftables-restore \$(echo \"\$e - \$s\" | bc) s rc=\$rc\"
  done
  inns $bin/bpftables detach --all >/dev/null
"
for f in "$@"; do
  for tool in iptables-legacy-restore iptables-nft-restore; do
    s=$(date +%s.%N); ip netns exec $ns $tool $f; rc=$?; e=$(date +%s.%N)
    echo "$f $tool $(echo "$e - $s" | bc) s rc=$rc"
  done
done
