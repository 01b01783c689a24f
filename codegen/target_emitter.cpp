// The verdict a rule's target emits (emitter.hpp): one overload per target kind.
#include "codegen/emitter.hpp"

namespace bpftables::codegen::detail {

using compiler::CtPosition;

std::string Emitter::ret(const char* kind, const std::string& g) {
    return "        return BPFT_V(" + std::string(kind) + ", " + g + ");\n";
}

std::string Emitter::emit_target(const ir::NoTarget&, const ir::Table&, const ir::Chain&, const ir::Rule&,
                                 const std::string&) {
    return "";
}

std::string Emitter::emit_target(const ir::AcceptTarget&, const ir::Table&, const ir::Chain&, const ir::Rule&,
                                 const std::string& g) {
    return ret("BPFT_ACCEPT", g);
}

std::string Emitter::emit_target(const ir::DropTarget&, const ir::Table&, const ir::Chain&, const ir::Rule&,
                                 const std::string& g) {
    return ret("BPFT_DROP", g);
}

std::string Emitter::emit_target(const ir::ReturnTarget&, const ir::Table&, const ir::Chain& c,
                                 const ir::Rule&, const std::string&) {
    (void)c;
    return "        " + end_chain_ + "\n";
}

std::string Emitter::emit_target(const ir::JumpTarget& j, const ir::Table& t, const ir::Chain&,
                                 const ir::Rule&, const std::string&) {
    return "        v = " + call(t.name, j.chain) + ";\n        if (v != BPFT_CONTINUE) return v;\n";
}

std::string Emitter::emit_target(const ir::GotoTarget& j, const ir::Table& t, const ir::Chain& c,
                                 const ir::Rule&, const std::string&) {
    (void)c;
    return "        v = " + call(t.name, j.chain) + ";\n        if (v != BPFT_CONTINUE) return v;\n        " +
           end_chain_ + "\n";
}

std::string Emitter::emit_target(const ir::RejectTarget& x, const ir::Table&, const ir::Chain&,
                                 const ir::Rule& r, const std::string& g) {
    explain_.push_back(
        {r.target_loc, "REJECT (" + x.with + "): handed to the kernel, which sends the reply"});
    return ret("BPFT_REJECT", g);
}

std::string Emitter::emit_target(const ir::LogTarget&, const ir::Table&, const ir::Chain&, const ir::Rule& r,
                                 const std::string& g) {
    explain_.push_back({r.target_loc, "LOG: handed to the kernel, which logs and goes on with the chain"});
    return ret("BPFT_KERNEL", g);
}

std::string Emitter::emit_target(const ir::NotrackTarget&, const ir::Table& t, const ir::Chain&,
                                 const ir::Rule& r, const std::string& g) {
    return notrack(t, r, g);
}

std::string Emitter::emit_target(const ir::CtTarget& x, const ir::Table& t, const ir::Chain&,
                                 const ir::Rule& r, const std::string& g) {
    if (x.notrack && x.args.empty()) return notrack(t, r, g);
    explain_.push_back({r.target_loc, "CT with options other than --notrack: handed to the kernel"});
    return ret("BPFT_KERNEL", g);
}

// Any other target: the kernel's copy of the ruleset runs it, from the start of the hook (the nat targets
// and SET were refused by passes/check_targets.cpp).
std::string Emitter::emit_target(const ir::OpaqueTarget& x, const ir::Table&, const ir::Chain&,
                                 const ir::Rule& r, const std::string& g) {
    explain_.push_back({r.target_loc, "target " + x.name + ": handed to the kernel, which runs it"});
    return ret("BPFT_KERNEL", g);
}

// A verdict map: after the rule is counted, its key's prerequisites, the lookup (a key not in the map goes on
// with the next rule: `break` leaves the rule's do-while), then a switch on the element's verdict index, each
// case the code of that verdict as a rule's target (a jump's call, a return's end of the chain ...).
std::string Emitter::emit_target(const ir::VmapTarget& x, const ir::Table& t, const ir::Chain& c,
                                 const ir::Rule& r, const std::string& g) {
    MatchContext ctx{hook_,        t.name, before_ct_[t.name] == CtPosition::before,
                     layout_,      -1,     -1,
                     r.target_loc, diags_, needs_,
                     program_,     true};
    std::optional<NftLookupCode> l = nft_lookup_code(x.map, x.key, ctx);
    if (!l) return {};
    std::string out;
    if (!l->checks.kernel_if.empty())
        out += "        if (" + l->checks.kernel_if + ") return BPFT_V(BPFT_KERNEL, " + g + ");\n";
    if (!l->checks.hotdrop_if.empty())
        out += "        if (" + l->checks.hotdrop_if + ") return BPFT_V(BPFT_SHORT_HEADER, " + g + ");\n";
    if (l->checks.cond != "1") out += "        if (!(" + l->checks.cond + ")) break;\n";
    out += "        __u32 *x_ = " + l->lookup + ";\n        if (!x_) break;\n        switch (*x_) {\n";
    for (size_t i = 0; i < x.verdicts.size(); ++i) {
        out += "        case " + std::to_string(i) + ":\n";
        out += std::visit([&](const auto& y) { return emit_target(y, t, c, r, g); },
                          ir::vmap_target(x.verdicts[i]));
        out += "        break;\n";
    }
    return out + "        }\n        break;\n";
}

// notrack before conntrack (placement checked by passes/check_targets.cpp; in a table with base chains on
// both sides of conntrack it is refused there).
std::string Emitter::notrack(const ir::Table& t, const ir::Rule&, const std::string&) {
    return before_ct_[t.name] == CtPosition::before ? "        p->untracked = 1;\n" : "";
}

}  // namespace bpftables::codegen::detail
