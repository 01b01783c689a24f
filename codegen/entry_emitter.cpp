// The hook's entry point (emitter.hpp): parse, prerouting's base chains, the routing decision, input's or
// forward's, output's at egress, postrouting's; record the verdict and map it to the hook's return code
// (hook_ops.hpp).
#include "codegen/emitter.hpp"
#include "codegen/kernel_tables.hpp"

namespace bpftables::codegen::detail {

using compiler::BaseChain;
using compiler::nf_hook_name;
using compiler::NfHook;

// The entry point: parse, prerouting (raw), routing decision, input or forward (filter), record, hook
// return code.
std::string Emitter::entry() {
    std::string in_ifindex = "ctx->ingress_ifindex";  // both xdp_md and __sk_buff name it so
    std::string s = std::string("SEC(\"") + ops_.section + "\")\nint " + ops_.entry_point + "(" +
                    ops_.ctx_type + " *ctx) {\n";
    s += ops_.handoff_in;
    s += "    __u32 zero = 0, chain = bpft_cfg.chain_mode, oif = 0, handoff = 0, why = 0;\n";
    s += "    bpft_pkt_t *p = bpf_map_lookup_elem(&bpft_scratch, &zero);\n";
    s += std::string("    if (!p) return ") + ops_.pass + ";\n";
    if (program_.family == ir::Family::ipv6)  // bpf/bpftables.bpf.h: a global function, verified once
        s += "    __u32 v = bpft_parse6(ctx, (struct bpft_pkt *)p);\n";
    else
        s += "    __u32 v = bpft_parse((void *)(long)ctx->data, (void *)(long)ctx->data_end, (struct "
             "bpft_pkt *)p);\n";
    s += "    (void)oif;\n    (void)handoff;\n";
    s += "    if (v) {\n        v = BPFT_V(v, BPFT_NO_GID);\n        why = BPFT_STAT_HEADER;\n        goto "
         "out;\n    "
         "}\n";
    s += ops_.read_metadata;
    if (needs_.ifname) {
        s += "    if (bpft_cfg.in_override) {\n        bpft_ifname_copy(&p->in, bpft_cfg.in_name);\n"
             "        p->in_known = 1;\n    } else {\n";
        s += !ops_.received ? "        p->in_known = 1; /* locally generated: no input interface */\n"
                            : "        p->in_known = bpft_ifname_lookup(" + in_ifindex + ", &p->in);\n";
        s += "    }\n";
    }
    if (needs_.ct) s += std::string("    p->ct_state = bpft_ct_state(ctx, p);\n") + ops_.checksum_defer;
    if (!ops_.received)  // locally generated packets only: OUTPUT
        s += "    if (chain == BPFT_CHAIN_ROUTE) {\n        if (!ctx->sk) { /* forwarded: not OUTPUT's "
             "*/\n"
             "            v = BPFT_V(BPFT_KERNEL, BPFT_NO_GID);\n            goto out;\n        }\n"
             "        chain = BPFT_CHAIN_OUTPUT;\n        oif = ctx->ifindex;\n    }\n";
    // OUTPUT: its base chains (iptables: raw, then filter), then postrouting's.
    s += "    if (chain == BPFT_CHAIN_OUTPUT) {\n        p->chain = chain;\n";
    s += out_iface("        ");
    s += "        v = BPFT_V(BPFT_ACCEPT, BPFT_NO_GID);\n";
    s += run_hook(NfHook::output, "        ") + run_hook(NfHook::postrouting, "        ");
    s += "        goto out;\n    }\n";
    // Received: prerouting's base chains (iptables: raw), the routing decision, then input's or forward's
    // (iptables: filter) and, forwarded, postrouting's.
    s += "    v = BPFT_V(BPFT_ACCEPT, BPFT_NO_GID);\n";
    s += run_hook(NfHook::prerouting, "    ");
    s += kernel_tables_before(NfHook::prerouting, "    ");
    s += "    if (chain == BPFT_CHAIN_ROUTE) chain = bpft_route(ctx, " + in_ifindex + ", p, &oif);\n";
    s += "    if (!chain) {\n        v = BPFT_V(BPFT_KERNEL, BPFT_NO_GID);\n        goto out;\n    }\n";
    s += "    p->chain = chain;\n";
    s += "    if (chain == BPFT_CHAIN_INPUT) oif = 0;\n";
    // ip_forward() runs before the FORWARD hook: it drops what is not PACKET_HOST (broadcast and
    // multicast here; OTHERHOST went to the kernel above), answers ttl <= 1 with time exceeded, and
    // decrements the ttl that FORWARD's and POSTROUTING's rules then see.
    s += "    if (chain == BPFT_CHAIN_FORWARD) {\n"
         "        if (p->pkttype == 1 || p->pkttype == 2 || p->ttl <= 1) {\n"
         "            v = BPFT_V(BPFT_KERNEL, BPFT_NO_GID);\n            goto out;\n        }\n"
         "        p->ttl -= 1;\n    }\n";
    s += out_iface("    ");
    if (std::string in =
            kernel_tables_before(NfHook::input, "        ") + run_hook(NfHook::input, "        ");
        !in.empty())
        s += "    if (chain == BPFT_CHAIN_INPUT) {\n" + in + "    }\n";
    if (std::string fwd = kernel_tables_before(NfHook::forward, "        ") +
                          run_hook(NfHook::forward, "        ") + run_hook(NfHook::postrouting, "        ");
        !fwd.empty())
        s += "    if (chain == BPFT_CHAIN_FORWARD) {\n" + fwd + "    }\n";
    s += "out:\n    v = bpft_settle(v, p);\n    bpft_stat(" +
         std::string(ops_.received ? in_ifindex : "ctx->ifindex") +
         ", v, why, p);\n"
         "    bpft_record(v, p->chain);\n";
    s += ops_.handoff_out;
    s += std::string("    return BPFT_KIND(v) == BPFT_DROP || BPFT_KIND(v) == BPFT_HOTDROP ? ") + ops_.drop +
         " : " + ops_.pass + ";\n";
    return s + "}\n";
}

// One hook's base chains in netfilter's order (compiler/hooks.hpp: base_chains). nft semantics, which are also
// iptables' across tables: a base chain that accepts hands the packet to the next one; any other verdict
// ends the evaluation. A base chain that is not compiled hands the packet to the kernel, which runs it
// and everything after it.
std::string Emitter::run_hook(NfHook hook, const std::string& indent) {
    std::string s;
    for (const BaseChain& b : base_chains_) {
        if (b.hook != hook) continue;
        s += indent + "/* " + comment_text(b.table + " " + b.chain) + ", hook " + nf_hook_name(hook) +
             " priority " + std::to_string(b.priority) + " */\n";
        if (b.after) continue;  // compiler/hooks.hpp: nat_after
        if (!b.compiled) {
            int gid = layout_.chains.at({b.table, b.chain}).kernel;
            return s + indent + "v = BPFT_V(BPFT_KERNEL, " + std::to_string(gid) + "u);\n" + indent +
                   "goto out;\n";
        }
        auto run = [&](const std::string& in) {
            return in + "v = " + call(b.table, b.chain) + ";\n" + in +
                   "if (BPFT_KIND(v) != BPFT_ACCEPT) goto out;\n";
        };
        if (!b.nat) {
            s += run(indent);
            continue;
        }
        // compiler/hooks.hpp: is_nat_prerouting. No NAT for an untracked packet.
        std::string gid = std::to_string(layout_.chains.at({b.table, b.chain}).kernel);
        s += indent + "if (!p->untracked) {\n" + indent +
             "    if (!p->ct_state || p->ct_nat == 1) { /* conntrack cannot place it, or NAT rewrites it "
             "*/\n" +
             indent + "        v = BPFT_V(BPFT_KERNEL, " + gid + "u);\n" + indent + "        goto out;\n" +
             indent + "    }\n" + indent +
             "    if (p->ct_nat == 2) { /* no entry: the first packet, the one the nat chain sees */\n" +
             run(indent + "        ") + indent + "    }\n" + indent + "}\n";
    }
    return s;
}

// iptables' tables that bpftables does not compile but that run between its compiled chains on the received
// path, changing what they see: mangle (at -150: marks, TOS, TTL, its own verdicts) hands over every packet
// where it has a rule that may change or end it (mangle_changes); the kernel's NAT (dstnat at -100) rewrites the destination of the original direction of
// DNAT'd connections and of the replies of SNAT'd ones, and the nat table's PREROUTING rules decide the
// first packet of a connection: those, and what the conntrack lookup cannot place, go to the kernel.
// (nft: a base chain of another type is not compiled, and run_hook hands over there.)
std::string Emitter::kernel_tables_before(NfHook hook, const std::string& indent) const {
    const char* chain = hook == NfHook::prerouting ? "PREROUTING"
                        : hook == NfHook::input    ? "INPUT"
                                                   : "FORWARD";
    std::string s;
    if (mangle_changes(chain))
        s += indent + "v = BPFT_V(BPFT_KERNEL, BPFT_NO_GID); /* mangle " + chain + " may change it */\n" +
             indent + "goto out;\n";
    if (hook == NfHook::prerouting && nat_rules_) {
        const ir::Table* nat = program_.find("nat");
        const ir::Chain* pre = nat ? nat->find("PREROUTING") : nullptr;
        std::string first = pre && !pre->rules.empty() ? " || p->ct_nat == 2" : "";
        s += indent + "if (!p->ct_state || p->ct_nat == 1" + first +
             ") { /* the kernel's NAT may rewrite it */\n" + indent +
             "    v = BPFT_V(BPFT_KERNEL, BPFT_NO_GID);\n" + indent + "    goto out;\n" + indent + "}\n";
    }
    return s;
}

bool Emitter::mangle_changes(const std::string& chain) const {
    return codegen::mangle_changes(program_, chain);
}

std::string Emitter::out_iface(const std::string& indent) const {
    if (!needs_.ifname) return {};
    return indent + "if (bpft_cfg.out_override) {\n" + indent +
           "    bpft_ifname_copy(&p->out, bpft_cfg.out_name);\n" + indent + "    p->out_known = 1;\n" +
           indent + "} else {\n" + indent +
           "    p->out_known = oif ? bpft_ifname_lookup(oif, &p->out) : 1;\n" + indent + "}\n";
}

}  // namespace bpftables::codegen::detail
