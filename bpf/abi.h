/* What the generated BPF programs and the C++ runtime agree on: verdict encoding, configuration, results.
 * Plain C, included by both sides. */
#ifndef BPFTABLES_ABI_H
#define BPFTABLES_ABI_H

#ifdef __cplusplus
#include <cstdint>
typedef uint32_t bpft_u32;
typedef uint64_t bpft_u64;
typedef uint8_t bpft_u8;
#else
#include <linux/types.h>
typedef __u32 bpft_u32;
typedef __u64 bpft_u64;
typedef __u8 bpft_u8;
#endif

/* A verdict is (kind << 24) | gid, where gid numbers every rule and every built-in chain's policy. */
#define BPFT_CONTINUE 0u /* fell off a user chain, or RETURN: the caller goes on */
#define BPFT_ACCEPT 1u
#define BPFT_DROP 2u
#define BPFT_REJECT 3u   /* REJECT reached: handed to the kernel, which builds the reply */
#define BPFT_KERNEL 4u   /* undecided here: handed to the kernel's netfilter */
#define BPFT_HOTDROP 5u  /* a match dropped a malformed packet, as netfilter's hotdrop */
#define BPFT_NOT_IP 6u   /* not IPv4: the IPv4 ruleset does not apply, handed to the kernel */
#define BPFT_RETURN 7u   /* internal: a segment of a long chain ended the chain (RETURN, goto) */
#define BPFT_KIND(v) ((v) >> 24)
#define BPFT_GID(v) ((v) & 0xffffffu)
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
};

struct bpft_result {
    bpft_u32 verdict;
    bpft_u32 chain;   /* BPFT_CHAIN_* that the packet went through */
    bpft_u64 packets; /* how many packets were recorded so far */
};

struct bpft_counter {
    bpft_u64 packets;
    bpft_u64 bytes;
};

#endif
