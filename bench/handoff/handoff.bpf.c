// Experiment: XDP -> TC metadata handoff and what each hook knows about L4 checksums on veth.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define TC_ACT_OK 0
#define MAGIC 0xb9f70000u
#define BIT 0x01000000u
extern void *bpf_cast_to_kern_ctx(void *) __ksym;

/* counters: see names in run.sh */
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 32); __type(key, __u32); __type(value, __u64); } cnt SEC(".maps");
static __always_inline void inc(__u32 k) { __u64 *v = bpf_map_lookup_elem(&cnt, &k); if (v) __sync_fetch_and_add(v, 1); }

/* UDP/TCP checksum over the linear data, lengths multiple of 4 up to 64 bytes of L4 */
static __always_inline int l4_sum_ok(void *data, void *end) {
    struct ethhdr *eth = data; struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5) return -1;
    __u32 len = bpf_ntohs(ip->tot_len) - 20;
    if (ip->protocol != IPPROTO_UDP && ip->protocol != IPPROTO_TCP) return -1;
    if (len & 3 || len > 64 || len < 8) return -2;
    __u8 *l4 = (void *)(ip + 1);
    __u64 sum = (__u64)ip->saddr + ip->daddr + bpf_htonl(((__u32)ip->protocol << 16) | len);
    for (int i = 0; i < 16; i++) {
        if ((__u32)i * 4 >= len) break;
        __u32 *w = (void *)(l4 + i * 4);
        if ((void *)(w + 1) > end) return -2;
        sum += *w;
    }
    sum = (sum & 0xffffffff) + (sum >> 32); sum = (sum & 0xffffffff) + (sum >> 32);
    sum = (sum & 0xffff) + (sum >> 16); sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff;
}

SEC("xdp") int xdp_mark(struct xdp_md *ctx) {
    inc(0);
    int ok = l4_sum_ok((void *)(long)ctx->data, (void *)(long)ctx->data_end);
    if (ok == 1) inc(1); else if (ok == 0) inc(2); else inc(3);
    if (bpf_xdp_adjust_meta(ctx, -4)) { inc(4); return XDP_PASS; }
    __u32 *m = (void *)(long)ctx->data_meta;
    if ((void *)(m + 1) > (void *)(long)ctx->data) { inc(4); return XDP_PASS; }
    *m = MAGIC | (ok == 1 ? 1 : 2); /* 1: decided (checksum verified), 2: deferred to TC */
    inc(5);
    return XDP_PASS;
}

SEC("tc") int tc_mark(struct __sk_buff *skb) {
    inc(8);
    void *data = (void *)(long)skb->data, *meta = (void *)(long)skb->data_meta;
    __u32 *m = meta;
    if ((void *)(m + 1) <= data && (*m & 0xffff0000u) == MAGIC) {
        inc(9);
        if ((*m & 3) == 1) inc(10); else inc(11);
        skb->mark |= BIT;
    } else inc(12);
    long lvl = bpf_csum_level(skb, BPF_CSUM_LEVEL_QUERY);
    if (lvl < 0) inc(13); else inc(14);
    struct sk_buff *k = bpf_cast_to_kern_ctx(skb);
    __u8 s = BPF_CORE_READ_BITFIELD(k, ip_summed);
    inc(16 + (s & 3)); /* 16 NONE 17 UNNECESSARY 18 COMPLETE 19 PARTIAL */
    if (BPF_CORE_READ_BITFIELD(k, csum_valid)) inc(20);
    int ok = l4_sum_ok(data, (void *)(long)skb->data_end);
    if (ok == 1) inc(21); else if (ok == 0) inc(22); else inc(23);
    return TC_ACT_OK;
}
char LICENSE[] SEC("license") = "GPL";
