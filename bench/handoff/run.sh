#!/bin/bash
# usage: run.sh XDPMODE(skb|drv|none) OFFLOAD(on|off) BACKEND(legacy|nft|nftables) N
# The handoff experiment of docs/design-notes.md ("Decided once"): XDP metadata -> tcx ingress -> skb mark ->
# the copy's first rule, and what each hook knows about checksums, in throwaway namespaces (198.18.0.0/24).
set -u
D=$(cd "$(dirname "$0")" && pwd) OUT=${OUT:-/tmp/bpftables-handoff}
[ -x $OUT/loader ] || "$D/build.sh" || exit 1
M=$1 OFF=$2 BE=$3 N=${4:-200}
source "$D/netns.sh"
[ "$OFF" = off ] && ip netns exec $A ethtool -K va tx off >/dev/null
case $BE in
legacy|nft) ip netns exec $B iptables-$BE -A INPUT -m mark --mark 0x1000000/0x1000000 -j ACCEPT
            ip netns exec $B iptables-$BE -A INPUT -j ACCEPT ;;
chain-legacy|chain-nft) X=iptables-${BE#chain-}
            ip netns exec $B $X-restore <<'IPT'
*filter
:INPUT ACCEPT [0:0]
:BPFT-DECIDED - [0:0]
-A INPUT -m mark --mark 0x1000000/0x1000000 -j BPFT-DECIDED
-A INPUT -m conntrack --ctstate INVALID
-A INPUT -j ACCEPT
-A BPFT-DECIDED -j MARK --and-mark 0xfeffffff
-A BPFT-DECIDED -j ACCEPT
COMMIT
*security
:INPUT ACCEPT [0:0]
-A INPUT -m mark --mark 0x1000000/0x1000000
-A INPUT
COMMIT
IPT
;;
nftables) ip netns exec $B nft -f - <<'NFT'
table ip t {
  chain in {
    type filter hook input priority 0; policy accept;
    meta mark & 0x1000000 == 0x1000000 meta mark set meta mark & 0xfeffffff counter accept
    counter
  }
  chain later {
    type filter hook input priority 10; policy accept;
    meta mark & 0x1000000 == 0x1000000 counter comment "bit seen after the clear"
    counter
  }
}
NFT
;;
esac
timeout 10 ip netns exec $B python3 $D/recv.py & sleep 0.3
echo "== xdp=$M peer-tx-offload=$OFF copy=$BE N=$N"
ip netns exec $B timeout 30 $OUT/loader $OUT/handoff.bpf.o vb $M "ip netns exec $A timeout 20 python3 $D/send.py $N"
wait
case $BE in
chain-*) for t in filter security; do ip netns exec $B iptables-${BE#chain-} -t $t -L -v -n -x | grep -v "^ *pkts\|^$" | cut -c1-120 | sed "s/^/  $t: /"; done ;;
legacy|nft) ip netns exec $B iptables-$BE -L INPUT -v -n -x | sed -n '3,4p' | awk '{print "  copy rule: pkts="$1, $0}' | cut -c1-150 ;;
nftables) ip netns exec $B nft list table ip t | grep counter | sed 's/^/  /' ;;
esac
