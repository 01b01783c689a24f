/* What the generated BPF programs and the C++ runtime agree on: verdict encoding, configuration, results.
 * Plain C, included by both sides. */
#ifndef BPFTABLES_ABI_H
#define BPFTABLES_ABI_H

#ifdef __cplusplus
#include <cstdint>
typedef uint32_t bpft_u32;
typedef uint64_t bpft_u64;
typedef uint16_t bpft_u16;
typedef uint8_t bpft_u8;
#else
#include <linux/types.h>
typedef __u32 bpft_u32;
typedef __u64 bpft_u64;
typedef __u16 bpft_u16;
typedef __u8 bpft_u8;
#endif

/* A verdict is (kind << 24) | gid, where gid numbers every rule and every built-in chain's policy. */
#define BPFT_CONTINUE 0u /* fell off a user chain, or RETURN: the caller goes on */
#define BPFT_ACCEPT 1u
#define BPFT_DROP 2u
#define BPFT_REJECT 3u  /* REJECT reached: handed to the kernel, which builds the reply */
#define BPFT_KERNEL 4u  /* undecided here: handed to the kernel's netfilter */
#define BPFT_HOTDROP 5u /* a match dropped a malformed packet, as netfilter's hotdrop */
#define BPFT_NOT_IP 6u  /* not IPv4: the IPv4 ruleset does not apply, handed to the kernel */
#define BPFT_RETURN 7u  /* internal: a segment of a long chain ended the chain (RETURN, goto) */
#define BPFT_KIND(v) ((v) >> 24)
#define BPFT_GID(v) ((v)&0xffffffu)
#define BPFT_NO_GID 0xffffffu

/* Which ingress chain applies: the kernel's routing decision, or forced (bpftables run --chain). */
#define BPFT_CHAIN_ROUTE 0u
#define BPFT_CHAIN_INPUT 1u
#define BPFT_CHAIN_FORWARD 2u
#define BPFT_CHAIN_OUTPUT 3u

struct bpft_config {
    bpft_u32 chain_mode;   /* BPFT_CHAIN_* */
    bpft_u32 record;       /* store each packet's verdict in bpft_last (bpftables run) */
    bpft_u32 in_override;  /* use in_name instead of the interface the packet came from */
    bpft_u32 out_override; /* use out_name instead of the routing decision's interface */
    char in_name[16];
    char out_name[16];
    bpft_u32 test_run; /* frames come from BPF_PROG_TEST_RUN, not from the device they were addressed to */
    bpft_u32 decided_mark; /* the handoff's mark bit (below); 0: no handoff */
};

/* Decided once (docs/design-notes.md): an XDP program with decided_mark set tells the tcx ingress program
 * behind it, in one word of packet metadata (bpf_xdp_adjust_meta), what it did with a packet it passes:
 * DECIDED (accepted: TC sets decided_mark in skb->mark, which the kernel's copy accepts and clears in its
 * first rule), DEFER (the only thing XDP could not know is the TCP/UDP checksum, which may be partial: TC
 * judges the packet) or HANDED (the kernel's: TC clears the bit). No word: TC judges the packet. */
#define BPFT_META_MAGIC 0xb9f70000u
#define BPFT_META_MAGIC_MASK 0xffff0000u
#define BPFT_META_DECIDED 1u
#define BPFT_META_DEFER 2u
#define BPFT_META_HANDED 3u

/* bpftables stats: what each program did with the packets of each interface, per CPU (struct bpft_stat_key ->
 * __u64 packets). Decided in BPF, or handed to the kernel and why. */
enum bpft_stat {
    BPFT_STAT_ACCEPT,     /* accepted in BPF */
    BPFT_STAT_DROP,       /* dropped in BPF (hotdrops among them) */
    BPFT_STAT_NOT_IP,     /* not IPv4: the kernel's */
    BPFT_STAT_HEADER,     /* a header the program does not judge: fragment, IP options, malformed */
    BPFT_STAT_CHECKSUM,   /* at XDP: a TCP/UDP checksum XDP cannot verify (partial), deferred to tc-ingress */
    BPFT_STAT_REJECT,     /* REJECT: the kernel's copy builds the reply */
    BPFT_STAT_RULE,       /* a rule's match only the kernel decides (limit, unknown interface name, ...) */
    BPFT_STAT_COUNTED,    /* more counted rules than the pending list holds */
    BPFT_STAT_OTHER,      /* the rest: routing, conntrack, nat and mangle tables, another host's frame */
    BPFT_STAT_MAX
};
struct bpft_stat_key {
    bpft_u32 ifindex; /* the interface the packet came in on */
    bpft_u32 stat;    /* enum bpft_stat */
};
struct bpft_result {
    bpft_u32 verdict;
    bpft_u32 chain;   /* BPFT_CHAIN_* that the packet went through */
    bpft_u64 packets; /* how many packets were recorded so far */
};

/* The classifier (codegen/classifier.hpp): a long run of rules that match only addresses, protocol and ports
 * and accept or drop is decided by a decision tree in maps instead of one test per rule. Each run has two
 * sets of BPFT_CLS_TREES roots in bpft_cls_nodes: from (2 * run) * BPFT_CLS_TREES for packets with a
 * complete L4 header, from (2 * run + 1) * BPFT_CLS_TREES for TCP/UDP packets too short for theirs (whose
 * ports must not steer the walk: the first rule whose addresses and protocol match drops them, as netfilter's
 * hotdrop, if it reads ports). Every run's rules are in bpft_cls_rules, run after run, in the chain's order; a
 * leaf is a stretch of references to them (indices, BPFT_CLS_REFS to an element of bpft_cls_leaves), in that
 * order, so a reference's index orders rules as their gids do. A rule is stored once, however many leaves
 * hold it: 4 bytes per copy instead of 28 (docs/design-notes.md, "The classifier"). */
#define BPFT_CLS_LEAF 0xffu  /* field of a leaf node */
#define BPFT_CLS_TREES 4     /* trees per run and root kind; the earliest rule any of them finds decides */
#define BPFT_CLS_DEPTH 40    /* most inner nodes on a path */
#define BPFT_CLS_LEAF_MAX 64 /* most rules in a leaf */
#define BPFT_CLS_REFS 4      /* rule references per element of bpft_cls_leaves */

struct bpft_cls_node {
    bpft_u8 field; /* 0 saddr, 1 daddr, 2 proto, 3 sport, 4 dport; BPFT_CLS_LEAF */
    bpft_u8 shift; /* inner: child = base + ((field >> shift) & ((1 << bits) - 1)) */
    bpft_u8 bits;
    bpft_u8 pad;
    bpft_u32 base;  /* inner: first child; leaf: its first reference (element base / BPFT_CLS_REFS, slot
                       base % BPFT_CLS_REFS of bpft_cls_leaves) */
    bpft_u32 count; /* leaf: number of rules, in the chain's order */
};

struct bpft_cls_refs {
    bpft_u32 rule[BPFT_CLS_REFS]; /* indices into bpft_cls_rules */
};

struct bpft_cls_rule {
    bpft_u32 src, src_mask, dst, dst_mask;
    bpft_u16 sport_lo, sport_hi, dport_lo, dport_hi;
    bpft_u8 proto_lo, proto_hi;
    bpft_u8 l4hdr; /* bytes of L4 header its port match reads (TCP 20, UDP 8), 0 if none */
    bpft_u8 pad;
    bpft_u32 verdict; /* BPFT_V(BPFT_ACCEPT or BPFT_DROP, gid) */
};

/* IPv6 runs: the walk's addresses are 32-bit ids (codegen/classifier.hpp: "Address ids"), looked up in the
 * LPM trie bpft_cls_ids: per run and field, the run's prefixes under a 32-bit tag, run * 2 + field (0
 * source, 1 destination), big-endian, so the prefix length of an entry is 32 + the prefix's; the value is
 * its own id. Every run has ::/0 in each field, so a lookup always finds an id. */
struct bpft_cls_key6 {
    bpft_u32 prefixlen;
    bpft_u8 tag[4];   /* run * 2 + field, big-endian */
    bpft_u8 addr[16]; /* network order */
};

struct bpft_counter {
    bpft_u64 packets;
    bpft_u64 bytes;
};

#endif
