#!/bin/bash
# usage: bench.sh MARKRULE(yes|no) NRULES XDPMODE(skb|drv|none) SECS   (iptables-legacy copy)
# The handoff experiment's rate check (docs/design-notes.md, "Decided once"): a 10,000-rule INPUT skipped by the
# mark or not; bounded to SECS seconds of one Python UDP sender.
set -u
D=$(cd "$(dirname "$0")" && pwd) OUT=${OUT:-/tmp/bpftables-handoff}
[ -x $OUT/loader ] || "$D/build.sh" || exit 1
MR=$1 NR=$2 M=$3 S=${4:-2}
source "$D/netns.sh"
{ echo "*filter"; echo ":INPUT ACCEPT [0:0]"; echo ":BPFT-DECIDED - [0:0]"
  [ $MR = yes ] && echo "-A INPUT -m mark --mark 0x1000000/0x1000000 -j BPFT-DECIDED"
  for i in $(seq 1 $NR); do echo "-A INPUT -s 198.19.$((i/250)).$((i%250+1))/32 -p udp --dport 9 -j DROP"; done
  echo "-A INPUT -j ACCEPT"
  echo "-A BPFT-DECIDED -j MARK --and-mark 0xfeffffff"; echo "-A BPFT-DECIDED -j ACCEPT"; echo COMMIT; } |
  ip netns exec $B iptables-legacy-restore || exit 1
ip netns exec $B sysctl -qw net.ipv4.icmp_ratelimit=1000
d0=$(ip netns exec $B nstat -az IpInDelivers | awk '/IpInDelivers/{print $2}')
out=$(ip netns exec $B timeout 30 $OUT/loader $OUT/handoff.bpf.o vb $M "ip netns exec $A timeout 20 python3 $D/flood.py $S")
d1=$(ip netns exec $B nstat -az IpInDelivers | awk '/IpInDelivers/{print $2}')
echo "markrule=$MR rules=$NR xdp=$M: delivered $((d1-d0)) in ${S}s = $(( (d1-d0)/S )) pps; $(grep sent <<<"$out")"
