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

// notrack before conntrack (placement checked by passes/check_targets.cpp; in a table with base chains on
// both sides of conntrack it is refused there).
std::string Emitter::notrack(const ir::Table& t, const ir::Rule&, const std::string&) {
    return before_ct_[t.name] == CtPosition::before ? "        p->untracked = 1;\n" : "";
}

}  // namespace bpftables::codegen::detail
