/* The dispatcher (docs/design-notes.md, "Two families on one interface"): the program every link runs, one per
 * hook (BPFT_HOOK_XDP, BPFT_HOOK_TC), compiled by CMake and embedded in the binary (bpf/entry_objects.hpp).
 * It tail-calls the program of the packet's family from its prog array: slot BPFT_FAMILY_IPV6 for IPv6 frames
 * (the ip6tables ruleset's program), slot BPFT_FAMILY_IPV4 for everything else (the iptables ruleset's, which
 * hands frames that are not IPv4 to the kernel as it always did). A family without a program: its IPv6 frames
 * go to the IPv4 program, as before there were two families; nothing at all: the kernel decides. Each family's
 * commit replaces only its slot (one atomic map update).
 * bpftables_pass is what a link runs instead on a device where an nf_tables ingress chain runs (netdev or inet
 * family): that chain comes after tc ingress, so every packet is left to the kernel there (runtime/commit.cpp). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define BPFT_FAMILY_IPV4 0
#define BPFT_FAMILY_IPV6 1

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u32);
} bpft_families SEC(".maps");

#ifdef BPFT_HOOK_XDP
#define BPFT_SEC "xdp"
#define BPFT_PASS XDP_PASS
typedef struct xdp_md bpft_dispatch_ctx_t;
#else
#define BPFT_SEC "tc"
#define BPFT_PASS TC_ACT_OK
typedef struct __sk_buff bpft_dispatch_ctx_t;
#endif

SEC(BPFT_SEC) int bpftables_dispatch(bpft_dispatch_ctx_t *ctx) {
    void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IPV6))
        bpf_tail_call(ctx, &bpft_families, BPFT_FAMILY_IPV6);
    bpf_tail_call(ctx, &bpft_families, BPFT_FAMILY_IPV4);
    return BPFT_PASS;
}

SEC(BPFT_SEC) int bpftables_pass(bpft_dispatch_ctx_t *ctx) {
    return BPFT_PASS;
}

char LICENSE[] SEC("license") = "GPL";
