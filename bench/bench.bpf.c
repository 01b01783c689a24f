/* The benchmark's own BPF programs: the traffic generator (run with BPF_PROG_TEST_RUN in live-frames mode) and
 * the trivial programs on the DUT's veth (XDP_PASS for the netfilter contenders and bpftables at TC, XDP_DROP
 * as the ceiling). Each DUT program counts what it saw in a per-CPU counter. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* One flow, addresses and ports in network byte order (filled by bench/bpftables_bench.cpp); an IPv4 flow's
 * addresses are saddr[0] and daddr[0]. */
struct bench_flow {
    __u32 saddr[4];
    __u32 daddr[4];
    __u16 sport;
    __u16 dport;
    __u8 proto;
    __u8 pad[3];
};

#define BENCH_MAX_FLOWS (1u << 17)

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, BENCH_MAX_FLOWS);
    __type(key, __u32);
    __type(value, struct bench_flow);
} bench_flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} bench_seq SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} bench_count SEC(".maps");

const volatile __u32 bench_nflows = 1;

#define FRAME_L4 (sizeof(struct ethhdr) + sizeof(struct iphdr))
#define FRAME_LEN 64

static __always_inline __u16 ip_checksum(const struct iphdr* ip) {
    const __u16* w = (const __u16*)ip;
    __u32 sum = 0;
#pragma unroll
    for (int i = 0; i < 10; i++) sum += w[i];
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (__u16)~sum;
}

/* The next flow, round robin (NULL when the maps fail). */
static __always_inline struct bench_flow* bench_next_flow(void) {
    __u32 zero = 0;
    __u64* seq = bpf_map_lookup_elem(&bench_seq, &zero);
    if (!seq) return 0;
    __u32 index = (__u32)(*seq % bench_nflows);
    *seq += 1;
    return bpf_map_lookup_elem(&bench_flows, &index);
}

/* Rewrites the template frame's IPv4 and L4 headers with the next flow (round robin) and sends it out. */
SEC("xdp")
int bench_gen(struct xdp_md* ctx) {
    void* data = (void*)(long)ctx->data;
    void* data_end = (void*)(long)ctx->data_end;
    if (data + FRAME_LEN > data_end) return XDP_ABORTED;
    struct bench_flow* f = bench_next_flow();
    if (!f) return XDP_ABORTED;

    struct iphdr* ip = data + sizeof(struct ethhdr);
    ip->version = 4;
    ip->ihl = 5;
    ip->tos = 0;
    ip->tot_len = bpf_htons(FRAME_LEN - sizeof(struct ethhdr));
    ip->id = 0;
    ip->frag_off = 0;
    ip->ttl = 64;
    ip->protocol = f->proto;
    ip->check = 0;
    ip->saddr = f->saddr[0];
    ip->daddr = f->daddr[0];
    ip->check = ip_checksum(ip);

    __u8* l4 = data + FRAME_L4;
    __u16* ports = (__u16*)l4;
    ports[0] = f->sport;
    ports[1] = f->dport;
    if (f->proto == IPPROTO_UDP) {
        ports[2] = bpf_htons(FRAME_LEN - FRAME_L4); /* length */
        ports[3] = 0;                               /* no checksum (allowed over IPv4) */
    } else {
        __u32* words = (__u32*)l4;
        words[1] = bpf_htonl(1); /* seq */
        words[2] = 0;            /* ack */
        l4[12] = 5 << 4;         /* data offset */
        l4[13] = 0x02;           /* SYN */
        ports[7] = bpf_htons(1024);
        ports[8] = 0;
        ports[9] = 0;
        /* A valid checksum: netfilter's conntrack (nf_conntrack_checksum=1) makes a segment with a bad one
         * INVALID, so --ctstate NEW rules (the bpf-iptables corpus) would not match it. */
        const __u16* w = (const __u16*)l4;
        __u32 sum = (f->saddr[0] & 0xffff) + (f->saddr[0] >> 16) + (f->daddr[0] & 0xffff) + (f->daddr[0] >> 16) +
                    bpf_htons(IPPROTO_TCP) + bpf_htons(FRAME_LEN - FRAME_L4);
#pragma unroll
        for (int i = 0; i < (FRAME_LEN - FRAME_L4) / 2; i++) sum += w[i];
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        ports[8] = (__u16)~sum;
    }
    return XDP_TX;
}

/* The IPv6 frame: the IPv4 frame's 30 bytes of TCP or UDP behind a 40-byte IPv6 header (84 bytes). */
#define FRAME6_L4 (sizeof(struct ethhdr) + sizeof(struct ipv6hdr))
#define FRAME6_LEN (FRAME6_L4 + FRAME_LEN - FRAME_L4)

/* bench_gen for IPv6 flows: the template frame (ethertype 0x86dd) gets the next flow's IPv6 header and its TCP
 * SYN or UDP datagram, both with a valid checksum (mandatory for UDP over IPv6; conntrack checks either). */
SEC("xdp")
int bench_gen6(struct xdp_md* ctx) {
    void* data = (void*)(long)ctx->data;
    void* data_end = (void*)(long)ctx->data_end;
    if (data + FRAME6_LEN > data_end) return XDP_ABORTED;
    struct bench_flow* f = bench_next_flow();
    if (!f) return XDP_ABORTED;

    struct ipv6hdr* ip6 = data + sizeof(struct ethhdr);
    *(__u32*)ip6 = bpf_htonl(6u << 28);
    ip6->payload_len = bpf_htons(FRAME6_LEN - FRAME6_L4);
    ip6->nexthdr = f->proto;
    ip6->hop_limit = 64;
    __u32* src = (__u32*)&ip6->saddr;
    __u32* dst = (__u32*)&ip6->daddr;
    __u32 sum = bpf_htons(f->proto) + bpf_htons(FRAME6_LEN - FRAME6_L4);
#pragma unroll
    for (int i = 0; i < 4; i++) {
        src[i] = f->saddr[i];
        dst[i] = f->daddr[i];
        sum += (f->saddr[i] & 0xffff) + (f->saddr[i] >> 16) + (f->daddr[i] & 0xffff) + (f->daddr[i] >> 16);
    }

    __u8* l4 = data + FRAME6_L4;
    __u16* ports = (__u16*)l4;
    __u16* check;
    ports[0] = f->sport;
    ports[1] = f->dport;
    if (f->proto == IPPROTO_UDP) {
        ports[2] = bpf_htons(FRAME6_LEN - FRAME6_L4); /* length */
        ports[3] = 0;
        check = &ports[3];
    } else {
        __u32* words = (__u32*)l4;
        words[1] = bpf_htonl(1); /* seq */
        words[2] = 0;            /* ack */
        l4[12] = 5 << 4;         /* data offset */
        l4[13] = 0x02;           /* SYN */
        ports[7] = bpf_htons(1024);
        ports[8] = 0;
        ports[9] = 0;
        check = &ports[8];
    }
    const __u16* w = (const __u16*)l4;
#pragma unroll
    for (int i = 0; i < (FRAME6_LEN - FRAME6_L4) / 2; i++) sum += w[i];
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    *check = (__u16)~sum ? (__u16)~sum : 0xffff; /* UDP over IPv6: 0 would mean "no checksum", not allowed */
    return XDP_TX;
}

static __always_inline void count(void) {
    __u32 zero = 0;
    __u64* c = bpf_map_lookup_elem(&bench_count, &zero);
    if (c) *c += 1;
}

SEC("xdp")
int bench_pass(struct xdp_md* ctx) {
    count();
    return XDP_PASS;
}

SEC("xdp")
int bench_drop(struct xdp_md* ctx) {
    count();
    return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
