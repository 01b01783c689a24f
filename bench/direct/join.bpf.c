/* Prototype of the prebuilt side of the direct back end (issue 14, item 2), compiled at build time: a packet
 * parser that fills a per-CPU scratch value, then one of two ways to reach the per-ruleset code that
 * bench/direct/join_bench.cpp emits as instructions at run time:
 *   entry_tail: a tail call through proto_jmp[0] (a BPF_PROG_TYPE_XDP program emitted per ruleset);
 *   entry_ext:  a call of the global function bpft_rules, which an emitted BPF_PROG_TYPE_EXT program replaces
 *               (freplace);
 *   entry_parse: the parse alone (what both cost before the rules run).
 * The parser is deliberately small (Ethernet, IPv4 without options, ports): the same one is emitted as
 * instructions for the third way, everything emitted (join_bench.cpp emit_parse), so that the three differ only
 * in how the code is joined. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct proto_pkt {
    __u32 saddr, daddr;  /* host order */
    __u16 sport, dport;  /* host order; 0 when the packet ends before them */
    __u8 proto, pad[3];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct proto_pkt);
} proto_scratch SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} proto_jmp SEC(".maps");

/* 1: parsed into *p; 0: not IPv4 without options (handed to the kernel). */
static __always_inline int parse(struct xdp_md *ctx, struct proto_pkt *p) {
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5) return 0;
    p->saddr = bpf_ntohl(ip->saddr);
    p->daddr = bpf_ntohl(ip->daddr);
    p->proto = ip->protocol;
    __u16 *ports = (void *)(ip + 1);
    if ((void *)(ports + 2) > end) {
        p->sport = p->dport = 0;
        return 1;
    }
    p->sport = bpf_ntohs(ports[0]);
    p->dport = bpf_ntohs(ports[1]);
    return 1;
}

static __always_inline struct proto_pkt *scratch(void) {
    __u32 zero = 0;
    return bpf_map_lookup_elem(&proto_scratch, &zero);
}

SEC("xdp") int entry_tail(struct xdp_md *ctx) {
    struct proto_pkt *p = scratch();
    if (!p || !parse(ctx, p)) return XDP_PASS;
    bpf_tail_call(ctx, &proto_jmp, 0);
    return XDP_PASS; /* no rules loaded: the kernel decides */
}

/* Replaced by the ruleset's code; until then (and in any window without it) the kernel decides. */
__attribute__((noinline)) int bpft_rules(__u32 chain) {
    return chain == 0xffffffff ? XDP_ABORTED : XDP_PASS;
}

SEC("xdp") int entry_ext(struct xdp_md *ctx) {
    struct proto_pkt *p = scratch();
    if (!p || !parse(ctx, p)) return XDP_PASS;
    return bpft_rules(1);
}

SEC("xdp") int entry_parse(struct xdp_md *ctx) {
    struct proto_pkt *p = scratch();
    if (!p || !parse(ctx, p)) return XDP_PASS;
    return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
