// The table of hook operations (hook_ops.hpp).
#include "codegen/hook_ops.hpp"

namespace bpftables::codegen {
namespace {

// PACKET_OTHERHOST: the kernel drops it before netfilter sees it. Under BPF_PROG_TEST_RUN it only says that
// the frame's destination MAC is not the test device's (eth_type_trans): the frame is taken as addressed to
// the host, as received on (or sent from, at egress) the interface it was captured on.
constexpr const char* skb_metadata =
    "    p->mark = ctx->mark;\n    p->pkttype = ctx->pkt_type;\n"
    "    if (p->pkttype == 3) {\n        if (bpft_cfg.test_run)\n            p->pkttype = 0;\n"
    "        else {\n            v = BPFT_V(BPFT_KERNEL, BPFT_NO_GID);\n            goto out;\n"
    "        }\n    }\n";

// Decided once (docs/design-notes.md): XDP defers to tc-ingress the packets whose TCP/UDP checksum it could
// not verify (a veth peer's partial checksums; TC reads what the skb knows), tells it in packet metadata what
// it decided, and tc-ingress marks what is accepted for the kernel's copy.
constexpr const char* xdp_checksum_defer =
    "    if (bpft_cfg.decided_mark && p->csum_failed) { /* perhaps only partial: tc-ingress judges it */\n"
    "        v = BPFT_V(BPFT_KERNEL, BPFT_NO_GID);\n        handoff = BPFT_META_DEFER;\n"
    "        why = BPFT_STAT_CHECKSUM;\n        goto out;\n"
    "    }\n";

const HookOps ops[] = {
    {Hook::xdp, "bpftables_xdp", "xdp", "#define BPFT_HOOK_XDP 1\n", "struct xdp_md", "XDP_PASS", "XDP_DROP",
     "", true, "the packet mark does not exist yet at XDP", nullptr, "", xdp_checksum_defer,
     "    bpft_meta_out(ctx, v, handoff);\n"},
    {Hook::tc_ingress, "bpftables_tc_ingress", "tc", "#define BPFT_HOOK_TC 1\n", "struct __sk_buff",
     "TC_ACT_OK", "TC_ACT_SHOT", skb_metadata, true, nullptr, nullptr,
     "    if (bpft_meta_in(ctx)) return TC_ACT_OK; /* XDP decided it */\n", "",
     "    bpft_mark_out(ctx, v);\n"},
    {Hook::tc_egress, "bpftables_tc_egress", "tc", "#define BPFT_HOOK_TC 1\n#define BPFT_HOOK_EGRESS 1\n",
     "struct __sk_buff", "TC_ACT_OK", "TC_ACT_SHOT", skb_metadata, false, nullptr,
     "--mac-source is only defined on received packets", "", "", ""},
};

}  // namespace

const HookOps& hook_ops(Hook hook) {
    for (const HookOps& o : ops)
        if (o.hook == hook) return o;
    return ops[0];
}

}  // namespace bpftables::codegen
