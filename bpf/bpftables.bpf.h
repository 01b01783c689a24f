/* Hand-written BPF C shared by every generated program: packet parsing into struct bpft_pkt, counters,
 * conntrack state through the kernel's conntrack kfuncs, the routing decision, interface names, limit.
 *
 * The generated C defines BPFT_HOOK_XDP or BPFT_HOOK_TC (with BPFT_HOOK_EGRESS at tc-egress), BPFT_SHORT_HEADER,
 * BPFT_IPV6 for an ip6tables ruleset (the program then parses IPv6 and hands IPv4 over as BPFT_NOT_IP)
 * and BPFT_NEED_* for the optional parts the ruleset uses before pasting this file, then emits one function per chain over a struct bpft_pkt. Matches read only
 * the scalar fields parsed here, so the chain code never touches packet memory. */
#ifndef BPFTABLES_BPF_H
#define BPFTABLES_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#ifdef BPFT_IPV6
#include <linux/ipv6.h>
#endif
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

#ifndef BPFTABLES_ABI_H
#include "abi.h"
#endif

/* A TCP or UDP header cut short: dropped (BPFT_HOTDROP, as iptables-legacy) or handed to the kernel (BPFT_KERNEL,
 * when the kernel's copy of the ruleset is nf_tables: ir::ShortHeaders). */
#ifndef BPFT_SHORT_HEADER
#define BPFT_SHORT_HEADER BPFT_HOTDROP
#endif
#ifndef BPFT_EXIT_ONLY
#define BPFT_GLOBAL __attribute__((noinline)) /* a global BPF function: verified once, on its own */
#else /* entry.bpf.c's exit program alone: none of them, nor the kernel functions they call */
#define BPFT_GLOBAL static __attribute__((noinline, unused))
#endif
#define BPFT_V(kind, gid) (((__u32)(kind) << 24) | (__u32)(gid))
#define BPFT_PEND 16 /* counted rules a packet's pending list holds (a power of two) */

struct bpft_ifname {
    __u64 w[2];
};

struct bpft_pkt {
    __u32 saddr, daddr; /* host order */
    __u32 len;          /* IP total length: what netfilter's byte counters count */
    __u32 l4_len;       /* bytes after the IP header, within the total length */
    __u16 frag_off;     /* host order, flags and offset */
    __u16 sport, dport; /* host order, when l4_len >= 4 */
    __u8 proto, ttl, tos;
    __u8 tcp_flags, tcp_doff, icmp_type, icmp_code;
    __u32 tcp_seq, tcp_ack; /* host order, when l4_len >= 20; parsed in conntrack programs only */
    __u16 udp_len, udp_csum; /* UDP length and checksum fields, when l4_len >= 8; conntrack programs only */
    __u8 pkttype;           /* PACKET_HOST=0, BROADCAST=1, MULTICAST=2, OTHERHOST=3 */
    __u8 in_known, out_known;
    __u8 untracked; /* a raw-table NOTRACK reached the packet */
    __u8 ct_reply;  /* the packet travels in the connection's reply direction */
    __u8 csum_failed; /* bpft_checksummed found the TCP/UDP checksum wrong (at XDP: perhaps only partial) */
    __u8 ct_nat; /* 1: the kernel's NAT rewrites the packet's destination at PREROUTING (the original direction
                  * of a DNAT'd connection, the replies of an SNAT'd one); 2: no entry yet (nat rules decide) */
    __u8 smac[6];
    __u32 ct_state; /* xt_conntrack state bits; 0 when bpftables cannot know it */
    __u32 mark;
    __u32 chain; /* BPFT_CHAIN_* */
    /* Counted once: the gids a packet's rules counted, added to the counters only when the program decides it
     * (bpft_settle); a packet handed to the kernel is counted by the kernel's copy alone. */
    __u32 npend;
    __u32 pend[BPFT_PEND];
    struct bpft_ifname in, out;
#if defined(BPFT_IPV6) || defined(BPFT_DIRECT) /* the direct back end: one layout for both families */
    __u32 saddr6[4], daddr6[4]; /* host order words, [0] the most significant */
    __u32 flowinfo;             /* traffic class and flow label, network order (the route lookup's) */
    __u16 l4_off;               /* offset of the header after the extension headers, from the IPv6 header */
    __u8 exthdrs;               /* the headers seen, as ip6t_ipv6header's bits (compiler/ir.hpp: ip6h) */
#endif
#if defined(BPFT_NEED_TCPOPT) || defined(BPFT_NEED_CT) /* conntrack looks for SACK blocks */
    __u8 tcpopt_ok;    /* options read completely */
    __u32 tcpopts[8];  /* bit per option kind present */
#endif
#ifdef BPFT_DIRECT /* the prebuilt entry program and the emitted rules (bpf/entry.bpf.c) */
    __u32 route;   /* the chain the entry program found (BPFT_CHAIN_*; 0: the kernel must decide) */
    __u32 verdict; /* what the rules decided, for the exit program */
    __u32 handoff; /* BPFT_META_* for the exit program at XDP (0: what the verdict says) */
    __u32 why;     /* enum bpft_stat of a handover the entry program made itself (0: none), for bpft_stat */
#endif
};

/* The parsed packet lives in a per-CPU map value, read through a volatile pointer: every comparison then works
 * on a fresh value the verifier knows nothing about, so it never learns ranges from one rule that would decide
 * branches of the next (which marks registers precise and defeats state pruning: the verifier's work would
 * grow exponentially with the number of rules). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct bpft_pkt);
} bpft_scratch SEC(".maps");

typedef volatile struct bpft_pkt bpft_pkt_t;

/* Set by the loader before the program is loaded; constant to the verifier, which prunes what it excludes. */
const volatile struct bpft_config bpft_cfg = {};

#ifndef BPFT_GIDS
#define BPFT_GIDS 1
#endif

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, BPFT_GIDS);
    __type(key, __u32);
    __type(value, struct bpft_counter);
} bpft_counters SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct bpft_result);
} bpft_results SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, struct bpft_ifname);
} bpft_ifnames SEC(".maps");

/* Per-rule helpers are macros, not inline functions: clang's debug info (needed for BTF) records every
 * inlined call with its own scope, which made -g compilation several times slower on large rulesets.
 * A rule's count waits in the packet's pending list (bpft_settle adds it); past BPFT_PEND counted rules,
 * npend only grows, and bpft_settle hands the packet to the kernel's copy, which counts it whole. */
#define bpft_count(gid_, p_)                                                    \
    do {                                                                        \
        __u32 n_ = (p_)->npend;                                                 \
        if (n_ < BPFT_PEND) (p_)->pend[n_ & (BPFT_PEND - 1)] = (gid_);          \
        (p_)->npend = n_ + 1;                                                   \
    } while (0)

/* At the end of a program: a packet it decides (accepted, dropped) has its pending counts added; one it hands
 * to the kernel (or REJECT, which the kernel's copy carries out) has them dropped, since the copy judges and
 * counts it from its first rule. A packet that counted more rules than the list holds is handed over. */
static __always_inline __u32 bpft_settle(__u32 v, bpft_pkt_t *p) {
    __u32 kind = BPFT_KIND(v), n = p->npend;
    if (kind != BPFT_ACCEPT && kind != BPFT_DROP && kind != BPFT_HOTDROP) return v;
    if (n > BPFT_PEND) return BPFT_V(BPFT_KERNEL, BPFT_NO_GID);
    for (__u32 i = 0; i < BPFT_PEND; i++) {
        if (i >= n) break;
        __u32 g = p->pend[i];
        struct bpft_counter *c = bpf_map_lookup_elem(&bpft_counters, &g);
        if (c) {
            c->packets++;
            c->bytes += p->len;
        }
    }
    return v;
}

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 4096);
    __type(key, struct bpft_stat_key);
    __type(value, __u64);
} bpft_stats SEC(".maps");

/* At the end of a program: one more packet of interface `ifindex` under what became of it (enum bpft_stat).
 * `why`: what the entry point knows of a handover it made itself (0: nothing). */
static __always_inline void bpft_stat(__u32 ifindex, __u32 v, __u32 why, bpft_pkt_t *p) {
    __u32 kind = BPFT_KIND(v);
    struct bpft_stat_key k = {.ifindex = ifindex, .stat = BPFT_STAT_OTHER};
    if (kind == BPFT_ACCEPT)
        k.stat = BPFT_STAT_ACCEPT;
    else if (kind == BPFT_DROP || kind == BPFT_HOTDROP)
        k.stat = BPFT_STAT_DROP;
    else if (kind == BPFT_NOT_IP)
        k.stat = BPFT_STAT_NOT_IP;
    else if (kind == BPFT_REJECT)
        k.stat = BPFT_STAT_REJECT;
    else if (why)
        k.stat = why;
    else if (p->npend > BPFT_PEND)
        k.stat = BPFT_STAT_COUNTED;
    else if (BPFT_GID(v) != BPFT_NO_GID)
        k.stat = BPFT_STAT_RULE;
    __u64 *n = bpf_map_lookup_elem(&bpft_stats, &k);
    if (n) {
        *n += 1;
    } else {
        __u64 one = 1;
        bpf_map_update_elem(&bpft_stats, &k, &one, BPF_NOEXIST);
    }
}

static __always_inline void bpft_record(__u32 verdict, __u32 chain) {
    if (!bpft_cfg.record) return;
    __u32 zero = 0;
    struct bpft_result *r = bpf_map_lookup_elem(&bpft_results, &zero);
    if (r) {
        r->verdict = verdict;
        r->chain = chain;
        r->packets++;
    }
}

/* ---- decided once: the XDP -> TC ingress -> netfilter handoff (abi.h, BPFT_META_*) ------------------------ */

#ifdef BPFT_HOOK_XDP
/* At the end of an XDP program: the metadata word for a packet it passes (`handoff`: BPFT_META_DEFER, or 0
 * for what the verdict says). A driver without room for metadata gets none: TC then judges the packet. */
static __always_inline void bpft_meta_out(struct xdp_md *ctx, __u32 v, __u32 handoff) {
    if (!bpft_cfg.decided_mark || BPFT_KIND(v) == BPFT_DROP || BPFT_KIND(v) == BPFT_HOTDROP) return;
    if (!handoff) handoff = BPFT_KIND(v) == BPFT_ACCEPT ? BPFT_META_DECIDED : BPFT_META_HANDED;
    if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(__u32))) return;
    __u32 *m = (void *)(long)ctx->data_meta;
    if ((void *)(m + 1) <= (void *)(long)ctx->data) *m = BPFT_META_MAGIC | handoff;
}
#elif !defined(BPFT_HOOK_EGRESS)
/* At the start of a tc-ingress program: 1 when the XDP program in front decided the packet or handed it to
 * the kernel (the mark bit is then set or cleared, and TC passes the packet on without judging it again);
 * 0 when TC judges it (deferred, or no XDP program in front). */
static __always_inline int bpft_meta_in(struct __sk_buff *ctx) {
    if (!bpft_cfg.decided_mark) return 0;
    __u32 *m = (void *)(long)ctx->data_meta;
    if ((void *)(m + 1) > (void *)(long)ctx->data || (*m & BPFT_META_MAGIC_MASK) != BPFT_META_MAGIC) return 0;
    __u32 kind = *m & ~BPFT_META_MAGIC_MASK;
    if (kind == BPFT_META_DEFER) return 0;
    if (kind == BPFT_META_DECIDED)
        ctx->mark |= bpft_cfg.decided_mark;
    else
        ctx->mark &= ~bpft_cfg.decided_mark;
    return 1;
}

/* At the end of a tc-ingress program: the bit on what it accepted, off on everything else it passes. */
static __always_inline void bpft_mark_out(struct __sk_buff *ctx, __u32 v) {
    if (!bpft_cfg.decided_mark) return;
    if (BPFT_KIND(v) == BPFT_ACCEPT)
        ctx->mark |= bpft_cfg.decided_mark;
    else
        ctx->mark &= ~bpft_cfg.decided_mark;
}
#endif

/* ---- interface names ---------------------------------------------------------------------------------- */

#define bpft_ifname_match(n, w0, w1, m0, m1) \
    ((((n)->w[0] ^ (w0)) & (m0)) == 0 && (((n)->w[1] ^ (w1)) & (m1)) == 0)

static __always_inline int bpft_ifname_lookup(__u32 ifindex, volatile struct bpft_ifname *out) {
    struct bpft_ifname *n = bpf_map_lookup_elem(&bpft_ifnames, &ifindex);
    if (!n) return 0;
    out->w[0] = n->w[0];
    out->w[1] = n->w[1];
    return 1;
}

static __always_inline void bpft_ifname_copy(volatile struct bpft_ifname *out, volatile const char *name) {
    volatile char *o = (volatile char *)out;
#pragma unroll
    for (int i = 0; i < 16; i++) o[i] = name[i];
}

/* ---- parsing ------------------------------------------------------------------------------------------ */

/* The transport header's fields (ports, ICMP type and code, TCP flags and options) from l4, which p->l4_len
 * bytes follow within the packet. */
static __always_inline void bpft_parse_l4(struct bpft_pkt *p, __u8 *l4, void *data_end) {
    if (p->l4_len >= 4 && (void *)(l4 + 4) <= data_end) {
        p->sport = ((__u16)l4[0] << 8) | l4[1];
        p->dport = ((__u16)l4[2] << 8) | l4[3];
        p->icmp_type = l4[0];
        p->icmp_code = l4[1];
    }
#ifdef BPFT_NEED_CT /* conntrack's udp_error checks them */
    if (p->l4_len >= 8 && (void *)(l4 + 8) <= data_end) {
        p->udp_len = ((__u16)l4[4] << 8) | l4[5];
        p->udp_csum = ((__u16)l4[6] << 8) | l4[7];
    }
#endif
    if (p->l4_len >= 20 && (void *)(l4 + 20) <= data_end) {
        p->tcp_doff = l4[12] >> 4;
        p->tcp_flags = l4[13];
#ifdef BPFT_NEED_CT /* only conntrack's window check reads them */
        p->tcp_seq = ((__u32)l4[4] << 24) | ((__u32)l4[5] << 16) | ((__u32)l4[6] << 8) | l4[7];
        p->tcp_ack = ((__u32)l4[8] << 24) | ((__u32)l4[9] << 16) | ((__u32)l4[10] << 8) | l4[11];
#endif
    }
#if defined(BPFT_NEED_TCPOPT) || defined(BPFT_NEED_CT)
    /* options of a well-formed TCP header, as xt_tcp's tcp_find_option walks them */
    __u32 optlen = p->tcp_doff * 4;
    if (p->proto == IPPROTO_TCP && p->l4_len >= 20 && optlen >= 20 && optlen <= p->l4_len) {
        optlen -= 20;
        __u8 *op = l4 + 20;
        __u32 i = 0;
        p->tcpopt_ok = 1;
#pragma unroll
        for (int n = 0; n < 40; n++) {
            if (i >= optlen) break;
            __u8 *o = op + (i & 63); /* one bounded pointer, checked before each read */
            if ((void *)(o + 1) > data_end) break;
            __u8 kind = o[0];
            p->tcpopts[(kind >> 5) & 7] |= 1u << (kind & 31);
            if (kind < 2) {
                i++;
            } else {
                if ((void *)(o + 2) > data_end) break;
                __u8 l = o[1];
                i += l ? l : 1;
            }
        }
    }
#endif
}

/* The Ethernet header of every parse: 0 when it carries `proto` (network order), with p's source MAC and packet
 * type (PACKET_BROADCAST 1, PACKET_MULTICAST 2) filled in; else the verdict kind. */
static __always_inline __u32 bpft_parse_eth(struct ethhdr *eth, void *data_end, struct bpft_pkt *p, __be16 proto) {
    if ((void *)(eth + 1) > data_end) return BPFT_KERNEL;
    if (eth->h_proto != proto) return BPFT_NOT_IP;
    __builtin_memcpy(p->smac, eth->h_source, 6);
    if (eth->h_dest[0] & 1) {
        p->pkttype = (eth->h_dest[0] & eth->h_dest[1] & eth->h_dest[2] & eth->h_dest[3] & eth->h_dest[4] &
                      eth->h_dest[5]) == 0xff
                         ? 1
                         : 2;
    }
    return 0;
}

#ifndef BPFT_IPV6
/* Fills p from the frame. Returns 0 when the IPv4 ruleset applies, else the verdict kind to report:
 * BPFT_NOT_IP for frames that are not IPv4, BPFT_KERNEL for IPv4 packets the kernel itself would discard or
 * that carry IP options (the kernel decides those). */
static __always_inline __u32 bpft_parse(void *data, void *data_end, struct bpft_pkt *p) {
    __builtin_memset(p, 0, sizeof(*p));
    struct ethhdr *eth = data;
    __u32 v = bpft_parse_eth(eth, data_end, p, bpf_htons(ETH_P_IP));
    if (v) return v;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end) return BPFT_KERNEL;
    if (ip->version != 4 || ip->ihl != 5) return BPFT_KERNEL;
    __u32 tot = bpf_ntohs(ip->tot_len);
    if (tot < sizeof(*ip) || (void *)ip + tot > data_end) return BPFT_KERNEL;
    /* the kernel drops packets whose header checksum is wrong before netfilter sees them */
    __u32 sum = 0;
    __u16 *w = (__u16 *)ip;
#pragma unroll
    for (int i = 0; i < 10; i++) sum += w[i];
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    if (sum != 0xffff) return BPFT_KERNEL;

    p->saddr = bpf_ntohl(ip->saddr);
    p->daddr = bpf_ntohl(ip->daddr);
    p->len = tot;
    p->l4_len = tot - sizeof(*ip);
    p->frag_off = bpf_ntohs(ip->frag_off);
    p->proto = ip->protocol;
    p->ttl = ip->ttl;
    p->tos = ip->tos;
    /* No chain sees a fragment alone: the kernel reassembles before INPUT (and in PREROUTING once conntrack
     * is loaded), and fragments what OUTPUT accepted only afterwards. Only the kernel can decide one. */
    /* So every packet a chain sees carries its L4 header (or is too short for it): matches need no fragment
     * test. */
    if (p->frag_off & 0x3fff) return BPFT_KERNEL;
    bpft_parse_l4(p, (void *)(ip + 1), data_end);
    return 0;
}
#else
#define BPFT_EXTHDRS 8    /* most extension headers walked; a packet with more is the kernel's */
#define BPFT_L4_OFF_MAX 1024 /* the farthest a transport header may start, from the IPv6 header */

/* Fills p from an IPv6 frame, for an ip6tables ruleset (bpft_parse6, called by the entry point instead of
 * bpft_parse). Returns 0 when the ruleset applies, else the verdict
 * kind to report: BPFT_NOT_IP for frames that are not IPv6, BPFT_KERNEL for packets the kernel decides.
 *
 * The extension headers are walked as ipv6_find_hdr walks them for ip6_packet_match (routing, destination
 * options and AH are skipped by their lengths; ESP, no-next-header and every other protocol end the walk): the
 * protocol and ports a rule sees are those after them, and p->exthdrs has a bit for each header met (as
 * ip6t_ipv6header sets them). Handed to the kernel: a hop-by-hop header (ip6_rcv_core processes its options
 * before netfilter, and may drop the packet or answer it), a fragment header (no chain sees a fragment that
 * conntrack's defragmentation would hold, and without conntrack ip6tables sees fragments the program cannot
 * place: the kernel decides every one, as for IPv4), a header cut short or longer than the packet, more than
 * BPFT_EXTHDRS headers, and what ip6_rcv_core discards (a multicast or loopback source, a
 * loopback or scope-0/1 multicast destination, a payload length beyond the frame), a unicast packet in a
 * link-layer multicast or broadcast frame, and IPv4-mapped addresses. */
#ifdef BPFT_HOOK_XDP
#define BPFT_PARSE_CTX struct xdp_md
#else
#define BPFT_PARSE_CTX struct __sk_buff
#endif
/* A global function, verified once on its own: the walk's paths (each header kind at each step) would otherwise
 * each reach the chains' code as states of their own, and the verifier would go through every rule once per
 * path (several times the IPv4 program's work). */
BPFT_GLOBAL __u32 bpft_parse6(BPFT_PARSE_CTX *ctx, struct bpft_pkt *p) {
    if (!p) return BPFT_KERNEL;
    void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
    __builtin_memset(p, 0, sizeof(*p));
    struct ethhdr *eth = data;
    __u32 v = bpft_parse_eth(eth, data_end, p, bpf_htons(ETH_P_IPV6));
    if (v) return v;
    struct ipv6hdr *ip6 = (void *)(eth + 1);
    if ((void *)(ip6 + 1) > data_end) return BPFT_KERNEL;
    if (ip6->version != 6) return BPFT_KERNEL;
    __u32 plen = bpf_ntohs(ip6->payload_len);
    if ((void *)(ip6 + 1) + plen > data_end) return BPFT_KERNEL; /* (a jumbogram has a hop-by-hop header) */
#pragma unroll
    for (int i = 0; i < 4; i++) {
        p->saddr6[i] = bpf_ntohl(ip6->saddr.in6_u.u6_addr32[i]);
        p->daddr6[i] = bpf_ntohl(ip6->daddr.in6_u.u6_addr32[i]);
    }
    __u32 s0 = p->saddr6[0], d0 = p->daddr6[0];
    int s_loop = !(s0 | p->saddr6[1] | p->saddr6[2]) && p->saddr6[3] == 1;
    int d_loop = !(d0 | p->daddr6[1] | p->daddr6[2]) && p->daddr6[3] == 1;
    if ((s0 >> 24) == 0xff || s_loop || d_loop) return BPFT_KERNEL;
    if ((d0 >> 24) == 0xff && ((d0 >> 16) & 0xe) == 0) return BPFT_KERNEL; /* multicast scope 0 or 1 */
    /* unicast in a link-layer multicast or broadcast (drop_unicast_in_l2_multicast may discard it), and
     * IPv4-mapped addresses: left to the kernel */
    if ((d0 >> 24) != 0xff && p->pkttype) return BPFT_KERNEL;
    if ((!(s0 | p->saddr6[1]) && p->saddr6[2] == 0xffff) || (!(d0 | p->daddr6[1]) && p->daddr6[2] == 0xffff))
        return BPFT_KERNEL;
    p->len = plen + sizeof(*ip6);
    p->ttl = ip6->hop_limit;
    p->tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
    p->flowinfo = *(__be32 *)ip6 & bpf_htonl(0x0fffffff);

    __u8 *base = (void *)(ip6 + 1);
    __u32 nh = ip6->nexthdr, off = 0;
#pragma unroll
    for (int i = 0; i < BPFT_EXTHDRS; i++) {
        if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_FRAGMENT) return BPFT_KERNEL;
        if (nh != IPPROTO_ROUTING && nh != IPPROTO_DSTOPTS && nh != IPPROTO_AH) break;
        if (off + 2 > plen || off > BPFT_L4_OFF_MAX) return BPFT_KERNEL;
        __u8 *h = base + (off & 0x7ff);
        if ((void *)(h + 2) > data_end) return BPFT_KERNEL;
        p->exthdrs |= nh == IPPROTO_ROUTING ? 0x20 : nh == IPPROTO_DSTOPTS ? 0x40 : 0x08;
        off += nh == IPPROTO_AH ? ((__u32)h[1] + 2) << 2 : ((__u32)h[1] + 1) << 3;
        nh = h[0];
    }
    if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_FRAGMENT || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
        nh == IPPROTO_AH || off > plen || off > BPFT_L4_OFF_MAX)
        return BPFT_KERNEL;
    if (nh == IPPROTO_ESP) {
        if (plen - off < 2) return BPFT_KERNEL; /* ip6t_ipv6header: no match, but ipv6_find_hdr goes on */
        p->exthdrs |= 0x04;
    } else if (nh == 59 /* NEXTHDR_NONE */) {
        p->exthdrs |= 0x02;
    } else {
        p->exthdrs |= 0x01;
    }
    p->proto = nh;
    p->l4_off = sizeof(*ip6) + off;
    p->l4_len = plen - off;
    bpft_parse_l4(p, base + (off & 0x7ff), data_end);
    return 0;
}
#endif

/* ---- conntrack ---------------------------------------------------------------------------------------- */
#ifdef BPFT_NEED_CT
/* The parts of the kernel's structures the program reads, relocated (CO-RE) against the running kernel's
 * BTF. */
struct ip_ct_tcp_state {
    __u32 td_end, td_maxend, td_maxwin;
    __u8 flags;
} __attribute__((preserve_access_index));

struct ip_ct_tcp {
    struct ip_ct_tcp_state seen[2];
    __u8 state;
} __attribute__((preserve_access_index));

union nf_conntrack_proto {
    struct ip_ct_tcp tcp;
} __attribute__((preserve_access_index));

struct nf_conn {
    unsigned long status;
    union nf_conntrack_proto proto;
} __attribute__((preserve_access_index));

struct bpf_ct_opts___local {
    __s32 netns_id;
    __s32 error;
    __u8 l4proto;
    __u8 dir;
    __u16 ct_zone_id;
    __u8 ct_zone_dir;
    __u8 reserved[3];
};

#ifdef BPFT_HOOK_XDP
extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *, struct bpf_sock_tuple *, __u32,
                                         struct bpf_ct_opts___local *, __u32) __ksym;
#define BPFT_CT_LOOKUP bpf_xdp_ct_lookup
#else
extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *, struct bpf_sock_tuple *, __u32,
                                         struct bpf_ct_opts___local *, __u32) __ksym;
#define BPFT_CT_LOOKUP bpf_skb_ct_lookup
#endif
extern void bpf_ct_release(struct nf_conn *) __ksym;

/* sequence numbers, as the kernel's before() and after() */
#define BPFT_BEFORE(a, b) ((__s32)((__u32)(a) - (__u32)(b)) < 0)
#define BPFT_AFTER(a, b) BPFT_BEFORE(b, a)

/* Whether conntrack's TCP tracker (nf_conntrack_proto_tcp.c: nf_conntrack_tcp_packet, tcp_in_window)
 * certainly accepts this packet of the flow `ct`, so that the packet keeps the entry's state. Answered for
 * what carries a connection after its SYN and SYN/ACK: an ACK, with or without FIN, without SYN or RST, in a
 * state where tcp_conntracks[] makes it a valid transition (SYN_RECV -> ESTABLISHED for the original
 * direction's ACK that completes the handshake; ESTABLISHED, FIN_WAIT, CLOSE_WAIT, LAST_ACK and TIME_WAIT in
 * both directions), that passes the four window checks of tcp_in_window (a FIN counts one in the segment's
 * end, as segment_seq_plus_len). Everything else returns 0 and the kernel decides: other tracker states and
 * flags (other transitions and checks: the reply direction in SYN_RECV may re-initialise the window),
 * sequence numbers that NAT helpers adjust (IPS_SEQ_ADJUST), a window not seen yet (td_maxwin 0), flows picked
 * up mid-stream (be-liberal), a SACK option (the kernel may check the SACK block's edge instead of the ack)
 * and packets outside a window (INVALID, or ignored and so ESTABLISHED, by the check that fails and the
 * be_liberal sysctl). */
static __always_inline int bpft_tcp_in_window(struct nf_conn *ct, __u8 dir, bpft_pkt_t *p,
                                              unsigned long status) {
    __u8 f = p->tcp_flags & 0x17;
    if (f != 0x10 && f != 0x11) return 0; /* ACK or FIN+ACK; no SYN or RST (PSH, URG, ECE, CWR free) */
    __u8 state = ct->proto.tcp.state;
    if (state == 2 /* TCP_CONNTRACK_SYN_RECV */) {
        if (dir != 0) return 0;
    } else if (state < 3 /* TCP_CONNTRACK_ESTABLISHED */ || state > 7 /* TCP_CONNTRACK_TIME_WAIT */) {
        return 0;
    }
    if (status & (1 << 6) /* IPS_SEQ_ADJUST */) return 0;
    __u32 hdr = (__u32)p->tcp_doff * 4, l4_len = p->l4_len; /* 20 <= hdr <= l4_len: bpft_ct_state checked */
    if (p->tcpopts[0] & (1u << 5) /* kind 5, SACK */) return 0;
    /* Each field is read at a constant offset (the verifier takes no variable offset into the entry), then
     * sender and receiver picked by the packet's direction: sender = seen[dir], receiver = seen[!dir]. */
    __u32 end0 = ct->proto.tcp.seen[0].td_end, maxend0 = ct->proto.tcp.seen[0].td_maxend;
    __u32 maxwin0 = ct->proto.tcp.seen[0].td_maxwin;
    __u32 end1 = ct->proto.tcp.seen[1].td_end, maxend1 = ct->proto.tcp.seen[1].td_maxend;
    __u32 maxwin1 = ct->proto.tcp.seen[1].td_maxwin;
    __u8 flags = ct->proto.tcp.seen[0].flags | ct->proto.tcp.seen[1].flags;
    if (flags & 0x08 /* IP_CT_TCP_FLAG_BE_LIBERAL */) return 0;
    __u32 s_end = dir ? end1 : end0, s_maxend = dir ? maxend1 : maxend0;
    __u32 s_maxwin = dir ? maxwin1 : maxwin0;
    __u32 r_end = dir ? end0 : end1, r_maxwin = dir ? maxwin0 : maxwin1;
    if (s_maxwin == 0 || r_maxwin == 0) return 0;
    __u32 seq = p->tcp_seq, ack = p->tcp_ack;
    __u32 end = seq + (l4_len - hdr) + (f & 0x01);        /* a FIN counts one; no SYN */
    __u32 maxackwin = s_maxwin > 66000 ? s_maxwin : 66000; /* MAXACKWINDOW(sender) */
    return BPFT_BEFORE(seq, s_maxend + 1) &&               /* I: data within the receiver's window */
           BPFT_AFTER(end, s_end - r_maxwin - 1) &&        /* II: not data acked long ago */
           BPFT_BEFORE(ack, r_end + 1) &&                  /* III: acks nothing not sent yet */
           BPFT_AFTER(ack, r_end - maxackwin - 1);         /* IV: not an ack from long ago */
}

#ifndef BPFT_HOOK_EGRESS
#ifdef BPFT_HOOK_XDP
typedef struct xdp_md bpft_ctx_t;
#else
typedef struct __sk_buff bpft_ctx_t;
#endif

/* Whether the TCP or UDP checksum of the packet is right, as conntrack's tcp_error and udp_error verify it at
 * PREROUTING (nf_conntrack_checksum, on by default): a packet whose checksum is wrong is INVALID there, with
 * or without an entry. 0 also when the program cannot read the whole segment (a nonlinear skb, more than
 * 4,096 bytes): the kernel decides such packets. (Not at tc-egress: the kernel checks no locally generated
 * packet, whose checksum the device often fills in later.)
 *
 * At TC the skb says what the kernel knows: nf_ip_checksum() checks only CHECKSUM_NONE and CHECKSUM_COMPLETE
 * packets, and trusts CHECKSUM_UNNECESSARY (a device verified it) and CHECKSUM_PARTIAL (sent from this host or
 * a veth peer with checksum offload: the field holds only the pseudo header's sum, which no software check
 * passes). bpf_csum_level() tells UNNECESSARY apart but answers -EACCES for both PARTIAL and NONE, so
 * ip_summed is read from the kernel's skb (bpf_cast_to_kern_ctx, kernel 6.3+). XDP cannot know: a veth peer's
 * partial checksums fail the check there and those packets go to the kernel (docs/design-notes.md, "Decided
 * once"). */
#ifdef BPFT_HOOK_TC
extern void *bpf_cast_to_kern_ctx(void *) __ksym;
struct sk_buff___bpft {
    __u8 ip_summed : 2;
} __attribute__((preserve_access_index));
#define BPFT_CHECKSUM_UNNECESSARY 1
#define BPFT_CHECKSUM_PARTIAL 3

static __always_inline int bpft_skb_csum_trusted(struct __sk_buff *ctx) {
    struct sk_buff___bpft *skb = bpf_cast_to_kern_ctx(ctx);
    __u32 summed = BPF_CORE_READ_BITFIELD(skb, ip_summed);
    return summed == BPFT_CHECKSUM_UNNECESSARY || summed == BPFT_CHECKSUM_PARTIAL;
}
#endif

#ifndef BPFT_IPV6
BPFT_GLOBAL int bpft_l4_csum_ok(bpft_ctx_t *ctx, __u32 saddr, __u32 daddr, __u32 proto, __u32 len) {
#else
/* IPv6: `pseudo` is the pseudo header's sum (bpft_pseudo6), `l4_off` where the transport header starts. */
BPFT_GLOBAL int bpft_l4_csum_ok(bpft_ctx_t *ctx, __u32 pseudo, __u32 l4_off, __u32 len) {
#endif
#ifdef BPFT_HOOK_TC
    if (bpft_skb_csum_trusted(ctx)) return 1; /* as nf_ip_checksum: not checked */
#endif
    void *data_end = (void *)(long)ctx->data_end;
    if (len > 4096) return 0;
    /* A one's complement sum of 32-bit words as they lie in memory, folded at the end: the pseudo header's,
     * then 64-byte blocks and up by bpf_csum_diff (each call costs about as much as 20 words), the words of
     * the last 63 bytes or less here. */
#ifndef BPFT_IPV6
    __u8 *l4 = (void *)(long)ctx->data + sizeof(struct ethhdr) + sizeof(struct iphdr);
    struct {
        __be32 saddr, daddr;
        __u8 zero, proto;
        __be16 len;
    } pseudo = {bpf_htonl(saddr), bpf_htonl(daddr), 0, (__u8)proto, bpf_htons((__u16)len)};
    __u32 *pw = (__u32 *)&pseudo;
    __u64 sum = (__u64)pw[0] + pw[1] + pw[2];
#else
    if (l4_off > BPFT_L4_OFF_MAX) return 0;
    __u8 *l4 = (void *)(long)ctx->data + sizeof(struct ethhdr) + l4_off;
    __u64 sum = pseudo;
#endif
    __u32 off = 0;
#pragma unroll
    for (int i = 0; i < 8; i++) { /* 512 bytes at a time: the most bpf_csum_diff takes */
        if (len - off < 512) break;
        if ((void *)(l4 + off + 512) > data_end) return 0;
        __s64 c = bpf_csum_diff(0, 0, (__be32 *)(l4 + off), 512, 0);
        if (c < 0) return 0;
        sum += (__u32)c;
        off += 512;
    }
#pragma unroll
    for (__u32 step = 256; step >= 64; step /= 2) {
        if (len & step) { /* off is a multiple of 512 and of every larger step here */
            if ((void *)(l4 + off + step) > data_end) return 0;
            __s64 c = bpf_csum_diff(0, 0, (__be32 *)(l4 + off), step, 0);
            if (c < 0) return 0;
            sum += (__u32)c;
            off += step;
        }
    }
    __u32 words = (len & 63) / 4;
#pragma unroll
    for (__u32 i = 0; i < 15; i++) {
        if (i >= words) break;
        __u32 *w = (__u32 *)(l4 + off);
        if ((void *)(w + 1) > data_end) return 0;
        sum += *w;
        off += 4;
    }
    __u32 rest = len & 3; /* the last 1 to 3 bytes, padded with zeros */
    if (rest) {
        __u8 *t = l4 + off;
        if ((void *)(t + 1) > data_end) return 0;
        __u8 tail[4] = {t[0], 0, 0, 0};
        if (rest > 1) {
            if ((void *)(t + 2) > data_end) return 0;
            tail[1] = t[1];
        }
        if (rest > 2) {
            if ((void *)(t + 3) > data_end) return 0;
            tail[2] = t[2];
        }
        sum += *(__u32 *)tail;
    }
    sum = (sum & 0xffffffff) + (sum >> 32);
    sum = (sum & 0xffffffff) + (sum >> 32);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff;
}
#endif

/* `state`, or 0 when the packet's checksum is wrong (conntrack calls it INVALID, entry or not). Checked last,
 * only for the packets that get a state from the program: what it hands over costs no checksum (at XDP:
 * before the conntrack lookup, see bpft_ct_state). */
#ifndef BPFT_IPV6
static __always_inline __u32 bpft_checksummed(void *ctx, bpft_pkt_t *p, __u32 state) {
#ifndef BPFT_HOOK_EGRESS
    if ((p->proto == IPPROTO_TCP || p->udp_csum) && !bpft_l4_csum_ok(ctx, p->saddr, p->daddr, p->proto, p->l4_len)) {
        p->csum_failed = 1;
        return 0;
    }
#endif
    return state;
}
#else
/* The IPv6 pseudo header's one's complement sum (RFC 8200, 8.1), folded to 32 bits. */
static __always_inline __u32 bpft_pseudo6(bpft_pkt_t *p) {
    __u64 sum = bpf_htonl(p->l4_len) + bpf_htonl(p->proto);
#pragma unroll
    for (int i = 0; i < 4; i++) sum += (__u64)bpf_htonl(p->saddr6[i]) + bpf_htonl(p->daddr6[i]);
    sum = (sum & 0xffffffff) + (sum >> 32);
    sum = (sum & 0xffffffff) + (sum >> 32);
    return (__u32)sum;
}

/* As above, for TCP, UDP (conntrack's udp_error skips a checksum of 0 in IPv6 too) and ICMPv6. */
static __always_inline __u32 bpft_checksummed(void *ctx, bpft_pkt_t *p, __u32 state) {
#ifndef BPFT_HOOK_EGRESS
    if ((p->proto != IPPROTO_UDP || p->udp_csum) && !bpft_l4_csum_ok(ctx, bpft_pseudo6(p), p->l4_off, p->l4_len)) {
        p->csum_failed = 1;
        return 0;
    }
#endif
    return state;
}
#endif

/* The state netfilter's conntrack gives this packet, or 0 when only the kernel can tell (no entry for a
 * protocol the kfuncs cannot look up, a TCP packet without an entry that is not a plain SYN, a TCP packet of
 * a flow with an entry that bpft_tcp_in_window cannot vouch for, ...). */
static __always_inline __u32 bpft_ct_state(void *ctx, bpft_pkt_t *p) {
#ifdef BPFT_IPV6
    /* nf_conntrack_icmpv6_error: neighbour discovery, router discovery and MLD messages get no entry: the
     * UNTRACKED state (its bit, which the state matches read after conntrack; raw's rules still see no state),
     * once their checksum is right (at PREROUTING; a wrong one, or a message shorter than the ICMPv6 header,
     * is INVALID: the kernel decides it). No other ICMPv6 message can be looked up. */
    if (p->proto == IPPROTO_ICMPV6) {
        __u8 t = p->icmp_type;
        if (p->l4_len >= 8 && (t == 130 || t == 131 || t == 132 || t == 133 || t == 134 || t == 135 ||
                               t == 136 || t == 143))
            return bpft_checksummed(ctx, p, 1u << 4);
        return 0;
    }
#endif
    if ((p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP) || p->l4_len < 8)
        return 0;
    /* conntrack's tcp_error() makes every packet with a flag combination outside tcp_valid_flags[] INVALID,
     * whether or not its flow has an entry (SYN+FIN on an established flow, a null scan): the kernel decides. */
    if (p->proto == IPPROTO_TCP) {
        __u8 f = p->tcp_flags & 0x37; /* without ECE, CWR and PSH, as tcp_valid_flags is indexed */
        if (f != 0x02 && f != 0x22 && f != 0x12 && f != 0x04 && f != 0x14 && f != 0x11 && f != 0x31 &&
            f != 0x10 && f != 0x30)
            return 0;
    }
    /* tcp_error and udp_error: a malformed header is INVALID (a wrong checksum too: bpft_checksummed) */
    if (p->proto == IPPROTO_TCP && (p->tcp_doff < 5 || (__u32)p->tcp_doff * 4 > p->l4_len)) return 0;
    if (p->proto == IPPROTO_UDP && (p->udp_len < 8 || p->udp_len > p->l4_len)) return 0;
#ifdef BPFT_HOOK_XDP
    /* At XDP a partial checksum (from a veth peer with checksum offload: every packet a container sends)
     * cannot be told from a wrong one, and such a packet goes on to tc-ingress whatever conntrack says: the
     * checksum comes first here, so that those packets skip the lookup, which tc-ingress makes anyway. */
    if (!bpft_checksummed(ctx, p, 1)) return 0;
#define bpft_checksummed_late(ctx, p, state) (state)
#else
#define bpft_checksummed_late bpft_checksummed
#endif
    struct bpf_sock_tuple t = {};
#ifndef BPFT_IPV6
    t.ipv4.saddr = bpf_htonl(p->saddr);
    t.ipv4.daddr = bpf_htonl(p->daddr);
    t.ipv4.sport = bpf_htons(p->sport);
    t.ipv4.dport = bpf_htons(p->dport);
    __u32 tuple_size = sizeof(t.ipv4);
#else
#pragma unroll
    for (int i = 0; i < 4; i++) {
        t.ipv6.saddr[i] = bpf_htonl(p->saddr6[i]);
        t.ipv6.daddr[i] = bpf_htonl(p->daddr6[i]);
    }
    t.ipv6.sport = bpf_htons(p->sport);
    t.ipv6.dport = bpf_htons(p->dport);
    __u32 tuple_size = sizeof(t.ipv6);
#endif
    struct bpf_ct_opts___local opts = {.netns_id = -1, .l4proto = p->proto};
    struct nf_conn *ct = BPFT_CT_LOOKUP(ctx, &t, tuple_size, &opts, sizeof(opts));
    if (!ct) {
        p->ct_nat = 2;
        if (p->proto == IPPROTO_TCP && (p->tcp_flags & 0x17) != 0x02) return 0;
        return bpft_checksummed_late(ctx, p, 1u << 3); /* NEW */
    }
    unsigned long status = ct->status;
    if (p->proto == IPPROTO_TCP && !bpft_tcp_in_window(ct, opts.dir, p, status)) {
        bpf_ct_release(ct);
        return 0;
    }
    __u32 state;
    if (opts.dir == 1 || (status & 2 /* IPS_SEEN_REPLY */))
        state = 1u << 1; /* ESTABLISHED */
    else if (status & 1 /* IPS_EXPECTED */)
        state = 1u << 2; /* RELATED */
    else
        state = 1u << 3; /* NEW */
    if (status & (1 << 4)) state |= 1u << 5; /* IPS_SRC_NAT: SNAT */
    if (status & (1 << 5)) state |= 1u << 6; /* IPS_DST_NAT: DNAT */
    p->ct_nat = (opts.dir == 0 && (status & (1 << 5))) || (opts.dir == 1 && (status & (1 << 4)));
    bpf_ct_release(ct);
    state = bpft_checksummed_late(ctx, p, state);
#undef bpft_checksummed_late
    p->ct_reply = state && opts.dir == 1;
    return state;
}
#endif

/* ---- sets (ipset hash:ip and hash:net, as LPM tries keyed by network-order address) ----------------- */

struct bpft_lpm_key {
    __u32 prefixlen;
    __u32 addr;
};

#define bpft_in_set(map, a)                                          \
    ({                                                               \
        struct bpft_lpm_key k_ = {32, bpf_htonl(a)};                 \
        bpf_map_lookup_elem(map, &k_) != 0;                          \
    })

/* ---- routing ------------------------------------------------------------------------------------------ */

/* The namespace's local destinations: its local and broadcast routes (addresses, broadcast addresses and
 * `ip route add local` prefixes), filled by the runtime. The value: 2 (RTN_LOCAL) for a local route of the
 * local table, the one inet_addr_type() reads; 1 for the others. An IPv6 program's holds its local and anycast
 * IPv6 routes instead (keyed by the address's four words in network order; the loader tells by the key size). */
#ifdef BPFT_IPV6
struct bpft_lpm6_key {
    __u32 prefixlen;
    __u32 addr[4];
};
#define bpft_local_key bpft_lpm6_key
#else
#define bpft_local_key bpft_lpm_key
#endif
struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 4096);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct bpft_local_key);
    __type(value, __u8);
} bpft_local SEC(".maps");

/* Whether inet_addr_type() says RTN_LOCAL for the address (host order): `fib daddr type local` and
 * `-m addrtype --dst-type LOCAL` (no interface given). 0.0.0.0/8 and 255.255.255.255 are broadcast there,
 * 224.0.0.0/4 multicast, before any lookup. */
static __always_inline int bpft_addr_local(__u32 a) {
    if ((a >> 24) == 0 || a == 0xffffffff || (a >> 28) == 0xe) return 0;
    struct bpft_lpm_key k = {32, bpf_htonl(a)};
    __u8 *type = bpf_map_lookup_elem(&bpft_local, &k);
    return type && *type == 2;
}

/* INPUT or FORWARD, as the kernel's routing decides; 0 when the kernel must decide (no route, forwarding
 * disabled, blackhole ...). out receives the outgoing interface of a forwarded packet. */
#ifndef BPFT_IPV6
static __always_inline __u32 bpft_route(void *ctx, __u32 ifindex, bpft_pkt_t *p, __u32 *out) {
    __u32 d = p->daddr;
    if ((d >> 28) == 0xe || d == 0xffffffff) return BPFT_CHAIN_INPUT;
    struct bpf_fib_lookup f = {};
    f.family = 2; /* AF_INET */
    f.l4_protocol = p->proto;
    f.sport = bpf_htons(p->sport);
    f.dport = bpf_htons(p->dport);
    f.tot_len = p->len;
    f.tos = p->tos;
    f.ipv4_src = bpf_htonl(p->saddr);
    f.ipv4_dst = bpf_htonl(p->daddr);
    f.ifindex = ifindex;
    long rc = bpf_fib_lookup(ctx, &f, sizeof(f), 0);
    if (rc == BPF_FIB_LKUP_RET_NOT_FWDED) return BPFT_CHAIN_INPUT;
    /* The lookup refuses before routing when forwarding is off on the device: the kernel then delivers local
     * destinations (INPUT) and drops everything else before FORWARD. */
    if (rc == BPF_FIB_LKUP_RET_FWD_DISABLED) return bpft_in_set(&bpft_local, d) ? BPFT_CHAIN_INPUT : 0;
    if (rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
        *out = f.ifindex;
        return BPFT_CHAIN_FORWARD;
    }
    return 0;
}
#else
/* IPv6: INPUT for the host's own addresses, FORWARD with the outgoing interface for what it routes on;
 * 0 (the kernel decides) for multicast (ip6_mc_input delivers only the groups the host joined), with
 * forwarding off for what is not local (bpft_local: the kernel drops it before FORWARD), and for what
 * ip6_forward itself refuses or answers: an unspecified or link-local source, a packet larger
 * than the route's MTU (the lookup's FRAG_NEEDED). */
static __always_inline __u32 bpft_route(void *ctx, __u32 ifindex, bpft_pkt_t *p, __u32 *out) {
    if ((p->daddr6[0] >> 24) == 0xff) return 0;
    struct bpf_fib_lookup f = {};
    f.family = 10; /* AF_INET6 */
    f.l4_protocol = p->proto;
    f.sport = bpf_htons(p->sport);
    f.dport = bpf_htons(p->dport);
    f.tot_len = p->len;
    f.flowinfo = p->flowinfo;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        f.ipv6_src[i] = bpf_htonl(p->saddr6[i]);
        f.ipv6_dst[i] = bpf_htonl(p->daddr6[i]);
    }
    f.ifindex = ifindex;
    long rc = bpf_fib_lookup(ctx, &f, sizeof(f), 0);
    if (rc == BPF_FIB_LKUP_RET_NOT_FWDED) return BPFT_CHAIN_INPUT;
    if (rc == BPF_FIB_LKUP_RET_FWD_DISABLED) {
        struct bpft_lpm6_key k = {128, {bpf_htonl(p->daddr6[0]), bpf_htonl(p->daddr6[1]), bpf_htonl(p->daddr6[2]),
                                        bpf_htonl(p->daddr6[3])}};
        return bpf_map_lookup_elem(&bpft_local, &k) ? BPFT_CHAIN_INPUT : 0;
    }
    if (rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
        __u32 s0 = p->saddr6[0];
        if (!(s0 | p->saddr6[1] | p->saddr6[2] | p->saddr6[3]) || (s0 >> 22) == (0xfe80 >> 6)) return 0;
        *out = f.ifindex;
        return BPFT_CHAIN_FORWARD;
    }
    return 0;
}
#endif

/* ---- limit (token bucket per rule, as xt_limit, on nanoseconds instead of jiffies) -------------------- */
#ifdef BPFT_NEED_LIMIT
struct bpft_limit_state {
    struct bpf_spin_lock lock;
    __u64 credit; /* in ns of "rate time" */
    __u64 last;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, BPFT_LIMITS);
    __type(key, __u32);
    __type(value, struct bpft_limit_state);
} bpft_limits SEC(".maps");

/* avg: 1/10000 s per packet (xt_rateinfo.avg); burst: packets. */
static __always_inline int bpft_limit(__u32 index, __u64 avg, __u64 burst) {
    struct bpft_limit_state *s = bpf_map_lookup_elem(&bpft_limits, &index);
    if (!s) return 0;
    __u64 cost = avg * 100000; /* ns per packet */
    __u64 cap = cost * burst;
    __u64 now = bpf_ktime_get_ns();
    int ok = 0;
    bpf_spin_lock(&s->lock);
    if (s->last == 0) s->credit = cap;
    else {
        __u64 c = s->credit + (now - s->last);
        s->credit = c > cap ? cap : c;
    }
    s->last = now;
    if (s->credit >= cost) {
        s->credit -= cost;
        ok = 1;
    }
    bpf_spin_unlock(&s->lock);
    return ok;
}
#endif


/* ---- classifier (codegen/classifier.hpp) -------------------------------------------------------------- */
#ifdef BPFT_NEED_CLASSIFIER
/* Sized and filled by the loader before the program runs. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct bpft_cls_node);
} bpft_cls_nodes SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct bpft_cls_refs);
} bpft_cls_leaves SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct bpft_cls_rule);
} bpft_cls_rules SEC(".maps");

#ifdef BPFT_IPV6
struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 1);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct bpft_cls_key6);
    __type(value, __u32);
} bpft_cls_ids SEC(".maps");

/* The id of the packet's source (field 0) or destination (1) address in run `run` (abi.h: bpft_cls_key6). */
static __always_inline __u32 bpft_cls_id(bpft_pkt_t *p, __u32 run, __u32 field) {
    struct bpft_cls_key6 k = {.prefixlen = 32 + 128};
    __u32 tag = bpf_htonl(run * 2 + field);
    __builtin_memcpy(k.tag, &tag, 4);
    for (int i = 0; i < 4; i++) {
        __u32 w = bpf_htonl(field ? p->daddr6[i] : p->saddr6[i]);
        __builtin_memcpy(k.addr + 4 * i, &w, 4);
    }
    __u32 *id = bpf_map_lookup_elem(&bpft_cls_ids, &k);
    return id ? *id : 0;
}
#endif

/* The direct back end emits this walk as instructions (codegen/direct_emitter.cpp: classify_function); a
 * change here goes there too.
 * The verdict of the first rule of classifier run `run` that decides the packet, or 0: the earliest rule that
 * any of the run's trees finds. Each walk visits at most BPFT_CLS_DEPTH inner nodes, then tests at most
 * BPFT_CLS_LEAF_MAX rules, and stops at rules later than one already found. A function of its own (global:
 * verified once), reading only the packet's fields and these maps, so that any program that defines them can
 * call it. */
BPFT_GLOBAL __u32 bpft_classify(bpft_pkt_t *p, __u32 run) {
    if (!p) return 0;
#ifdef BPFT_IPV6 /* the addresses as the run's ids (abi.h: bpft_cls_key6): the rest is IPv4's walk */
    __u32 saddr = bpft_cls_id(p, run, 0), daddr = bpft_cls_id(p, run, 1);
#else
    __u32 saddr = p->saddr, daddr = p->daddr;
#endif
    __u32 proto = p->proto, sport = p->sport, dport = p->dport;
    __u32 l4_len = p->l4_len;
    int is_short = (proto == IPPROTO_TCP && l4_len < 20) || (proto == IPPROTO_UDP && l4_len < 8);
    __u32 best = 0xffffffffu, verdict = 0;
    for (__u32 tree = 0; tree < BPFT_CLS_TREES; tree++) {
        __u32 index = (2 * run + (is_short ? 1 : 0)) * BPFT_CLS_TREES + tree;
        struct bpft_cls_node *n = 0;
        for (int depth = 0; depth <= BPFT_CLS_DEPTH; depth++) {
            n = bpf_map_lookup_elem(&bpft_cls_nodes, &index);
            if (!n || n->field == BPFT_CLS_LEAF) break;
            __u32 key = n->field == 0   ? saddr
                        : n->field == 1 ? daddr
                        : n->field == 2 ? proto
                        : n->field == 3 ? sport
                                        : dport;
            index = n->base + ((key >> (n->shift & 31)) & ((1u << (n->bits & 31)) - 1));
        }
        if (!n || n->field != BPFT_CLS_LEAF) continue;
        __u32 base = n->base, count = n->count;
        for (__u32 i = 0; i < BPFT_CLS_LEAF_MAX; i++) {
            if (i >= count) break;
            __u32 at = base + i, element = at / BPFT_CLS_REFS;
            struct bpft_cls_refs *refs = bpf_map_lookup_elem(&bpft_cls_leaves, &element);
            if (!refs) break;
            __u32 id = refs->rule[at % BPFT_CLS_REFS];
            if (id >= best) break; /* rules are in the chain's order: nothing here comes before `best` */
            struct bpft_cls_rule *r = bpf_map_lookup_elem(&bpft_cls_rules, &id);
            if (!r) break;
            if ((saddr & r->src_mask) != r->src || (daddr & r->dst_mask) != r->dst || proto < r->proto_lo ||
                proto > r->proto_hi)
                continue;
            if (l4_len < r->l4hdr) {
                best = id, verdict = BPFT_V(BPFT_SHORT_HEADER, BPFT_GID(r->verdict));
                break;
            }
            if (sport < r->sport_lo || sport > r->sport_hi || dport < r->dport_lo || dport > r->dport_hi)
                continue;
            best = id, verdict = r->verdict;
            break;
        }
    }
    return verdict;
}
#endif

#endif
