/* The prebuilt side of the direct back end (docs/design-notes.md, "Direct back end"), compiled by CMake for
 * each hook (BPFT_HOOK_XDP, BPFT_HOOK_TC, with BPFT_HOOK_EGRESS at tc-egress) and family (BPFT_IPV6 for an
 * ip6tables ruleset: bpft_parse6, IPv6 conntrack tuples and routes), with and without BPFT_NEED_CT, and
 * embedded in the binary (bpf/entry_objects.hpp).
 *
 * One packet: the entry program does what the C back end's entry point does before its first chain (the
 * handoff from XDP, bpft_parse, the context's metadata, interface names, the conntrack state, the routing
 * decision), leaving everything in the per-CPU scratch value; it tail-calls slot BPFT_SLOT_RULES of
 * bpft_progs, the program emitted as instructions for the ruleset (codegen/direct_emitter.cpp), which runs
 * the base chains and writes the verdict into the scratch value; that program tail-calls slot BPFT_SLOT_EXIT,
 * the exit program here, which records the verdict, tells the next hook what was decided and returns the
 * hook's code. The maps are this object's, created by libbpf; the emitted program uses them by fd. */
#define BPFT_DIRECT 1
#define BPFT_NEED_TCPOPT 1 /* one layout of struct bpft_pkt for both variants */
#include "bpftables.bpf.h"

#define BPFT_SLOT_RULES 0
#define BPFT_SLOT_EXIT 1

/* Set by the loader before the load: the ruleset matches interface names (-i, -o). */
const volatile __u32 bpft_need_ifname = 0;

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u32);
} bpft_progs SEC(".maps");

#ifdef BPFT_HOOK_XDP
#define BPFT_SEC "xdp"
#define BPFT_ENTRY bpftables_xdp
#define BPFT_EXIT bpftables_xdp_exit
#define BPFT_PASS XDP_PASS
#define BPFT_DROP_CODE XDP_DROP
typedef struct xdp_md bpft_entry_ctx_t;
#else
#define BPFT_SEC "tc"
#ifdef BPFT_HOOK_EGRESS
#define BPFT_ENTRY bpftables_tc_egress
#define BPFT_EXIT bpftables_tc_egress_exit
#else
#define BPFT_ENTRY bpftables_tc_ingress
#define BPFT_EXIT bpftables_tc_ingress_exit
#endif
#define BPFT_PASS TC_ACT_OK
#define BPFT_DROP_CODE TC_ACT_SHOT
typedef struct __sk_buff bpft_entry_ctx_t;
#endif

/* The C back end's `out:` (codegen/entry_emitter.cpp, hook_ops.cpp's handoff_out). */
static __always_inline int bpft_finish(bpft_entry_ctx_t *ctx, bpft_pkt_t *p) {
    __u32 v = bpft_settle(p->verdict, p); /* the pending counts (bpftables.bpf.h: counted once) */
#ifdef BPFT_HOOK_EGRESS
    bpft_stat(ctx->ifindex, v, p->why, p);
#else
    bpft_stat(ctx->ingress_ifindex, v, p->why, p);
#endif
    bpft_record(v, p->chain);
#ifdef BPFT_HOOK_XDP
    bpft_meta_out(ctx, v, p->handoff);
#elif !defined(BPFT_HOOK_EGRESS)
    bpft_mark_out(ctx, v);
#endif
    return BPFT_KIND(v) == BPFT_DROP || BPFT_KIND(v) == BPFT_HOTDROP ? BPFT_DROP_CODE : BPFT_PASS;
}

#ifndef BPFT_EXIT_ONLY
static __always_inline void bpft_out_iface(bpft_pkt_t *p, __u32 oif) {
    if (!bpft_need_ifname) return;
    if (bpft_cfg.out_override) {
        bpft_ifname_copy(&p->out, bpft_cfg.out_name);
        p->out_known = 1;
    } else {
        p->out_known = oif ? bpft_ifname_lookup(oif, &p->out) : 1;
    }
}

SEC(BPFT_SEC) int BPFT_ENTRY(bpft_entry_ctx_t *ctx) {
#if defined(BPFT_HOOK_TC) && !defined(BPFT_HOOK_EGRESS)
    if (bpft_meta_in(ctx)) return TC_ACT_OK; /* XDP decided it */
#endif
    __u32 zero = 0, chain = bpft_cfg.chain_mode, oif = 0;
    bpft_pkt_t *p = bpf_map_lookup_elem(&bpft_scratch, &zero);
    if (!p) return BPFT_PASS;
#ifdef BPFT_IPV6
    __u32 v = bpft_parse6(ctx, (struct bpft_pkt *)p);
#else
    __u32 v = bpft_parse((void *)(long)ctx->data, (void *)(long)ctx->data_end, (struct bpft_pkt *)p);
#endif
    if (v) {
        p->verdict = BPFT_V(v, BPFT_NO_GID);
        p->why = BPFT_STAT_HEADER;
        return bpft_finish(ctx, p);
    }
#ifdef BPFT_HOOK_TC
    p->mark = ctx->mark;
    p->pkttype = ctx->pkt_type;
    if (p->pkttype == 3) { /* hook_ops.cpp: skb_metadata */
        if (bpft_cfg.test_run) {
            p->pkttype = 0;
        } else {
            p->verdict = BPFT_V(BPFT_KERNEL, BPFT_NO_GID);
            return bpft_finish(ctx, p);
        }
    }
#endif
    if (bpft_need_ifname) {
        if (bpft_cfg.in_override) {
            bpft_ifname_copy(&p->in, bpft_cfg.in_name);
            p->in_known = 1;
        } else {
#ifdef BPFT_HOOK_EGRESS
            p->in_known = 1; /* locally generated: no input interface */
#else
            p->in_known = bpft_ifname_lookup(ctx->ingress_ifindex, &p->in);
#endif
        }
    }
#ifdef BPFT_NEED_CT
    p->ct_state = bpft_ct_state(ctx, p);
#ifdef BPFT_HOOK_XDP
    if (bpft_cfg.decided_mark && p->csum_failed) { /* perhaps only partial: tc-ingress judges it */
        p->verdict = BPFT_V(BPFT_KERNEL, BPFT_NO_GID);
        p->handoff = BPFT_META_DEFER;
        p->why = BPFT_STAT_CHECKSUM;
        return bpft_finish(ctx, p);
    }
#endif
#endif
#ifdef BPFT_HOOK_EGRESS
    if (chain == BPFT_CHAIN_ROUTE) {
        if (!ctx->sk) { /* forwarded: not OUTPUT's */
            p->verdict = BPFT_V(BPFT_KERNEL, BPFT_NO_GID);
            return bpft_finish(ctx, p);
        }
        chain = BPFT_CHAIN_OUTPUT;
        oif = ctx->ifindex;
    }
#else
    /* The C back end decides the route after prerouting's chains; nothing they do changes it, so it is
     * decided here, and the rules read it from p->route. */
    if (chain == BPFT_CHAIN_ROUTE) chain = bpft_route(ctx, ctx->ingress_ifindex, p, &oif);
    if (chain == BPFT_CHAIN_INPUT) oif = 0;
#endif
    p->route = chain;
    bpft_out_iface(p, oif);
    bpf_tail_call(ctx, &bpft_progs, BPFT_SLOT_RULES);
    p->verdict = BPFT_V(BPFT_KERNEL, BPFT_NO_GID); /* no rules loaded: the kernel decides */
    return bpft_finish(ctx, p);
}
#endif /* BPFT_EXIT_ONLY */

SEC(BPFT_SEC) int BPFT_EXIT(bpft_entry_ctx_t *ctx) {
    __u32 zero = 0;
    bpft_pkt_t *p = bpf_map_lookup_elem(&bpft_scratch, &zero);
    if (!p) return BPFT_PASS;
    return bpft_finish(ctx, p);
}

char LICENSE[] SEC("license") = "GPL";
