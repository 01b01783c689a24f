#pragma once
// The C emitter's state and steps, shared by its files (internal to codegen/):
//   c_emitter.cpp       the program skeleton: defines, runtime headers, sets, chains, entry point
//   chain_emitter.cpp   chains as functions (inlined, out of line, segments) and rules as blocks
//   target_emitter.cpp  the verdict of each target
//   entry_emitter.cpp   the hook's entry point: prologue, base chains in netfilter's order, epilogue
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "codegen/c_emitter.hpp"
#include "codegen/hook_ops.hpp"
#include "compiler/hooks.hpp"

namespace bpftables::codegen::detail {

std::string sanitize(const std::string& name);  // a C identifier's characters
std::string comment_text(std::string s);        // nothing that would end the comment early
std::string where(const SourceLoc& loc);        // "file:line"

class Emitter {
  public:
    Emitter(const ir::Program& program, Hook hook, Diagnostics& diags, const Options& options);
    std::optional<CProgram> run();

  private:
    // c_emitter.cpp
    void explain_base_chains(const ir::Table& t);
    void kernel_tables_explained();
    std::string call(const std::string& table, const std::string& chain);

    // chain_emitter.cpp: each chain as its plan says (inlined, or functions: passes/plan_chains.cpp).
    std::string emit_chain(const ir::Table& t, const ir::Chain& c);
    const ClassifierRun* run_at(const ir::Table& t, const ir::Chain& c, size_t rule) const;
    std::string emit_rules(const ir::Table& t, const ir::Chain& c, size_t begin, size_t end);
    std::string emit_rule(const ir::Table& t, const ir::Chain& c, int index);
    static std::string one_line(const SourceLoc& loc, const std::string& statements);
    static std::string line_directive(const SourceLoc& loc);

    // target_emitter.cpp: one overload per target, behind std::visit, no fallback.
    std::string ret(const char* kind, const std::string& g);
    std::string emit_target(const ir::NoTarget&, const ir::Table&, const ir::Chain&, const ir::Rule&,
                            const std::string&);
    std::string emit_target(const ir::AcceptTarget&, const ir::Table&, const ir::Chain&, const ir::Rule&,
                            const std::string& g);
    std::string emit_target(const ir::DropTarget&, const ir::Table&, const ir::Chain&, const ir::Rule&,
                            const std::string& g);
    std::string emit_target(const ir::ReturnTarget&, const ir::Table&, const ir::Chain& c, const ir::Rule&,
                            const std::string&);
    std::string emit_target(const ir::JumpTarget& j, const ir::Table& t, const ir::Chain&, const ir::Rule&,
                            const std::string&);
    std::string emit_target(const ir::GotoTarget& j, const ir::Table& t, const ir::Chain& c, const ir::Rule&,
                            const std::string&);
    std::string emit_target(const ir::RejectTarget& x, const ir::Table&, const ir::Chain&, const ir::Rule& r,
                            const std::string& g);
    std::string emit_target(const ir::LogTarget&, const ir::Table&, const ir::Chain&, const ir::Rule& r,
                            const std::string& g);
    std::string emit_target(const ir::NotrackTarget&, const ir::Table& t, const ir::Chain&, const ir::Rule& r,
                            const std::string& g);
    std::string emit_target(const ir::CtTarget& x, const ir::Table& t, const ir::Chain&, const ir::Rule& r,
                            const std::string& g);
    std::string emit_target(const ir::OpaqueTarget& x, const ir::Table&, const ir::Chain&, const ir::Rule& r,
                            const std::string& g);
    std::string emit_target(const ir::VmapTarget& x, const ir::Table& t, const ir::Chain& c,
                            const ir::Rule& r, const std::string& g);
    std::string notrack(const ir::Table& t, const ir::Rule&, const std::string&);

    // entry_emitter.cpp
    std::string entry();
    std::string run_hook(compiler::NfHook hook, const std::string& indent);
    std::string out_iface(const std::string& indent) const;
    std::string kernel_tables_before(compiler::NfHook hook, const std::string& indent) const;
    bool mangle_changes(const std::string& chain) const;

    const ir::Program& program_;
    Hook hook_;
    const HookOps& ops_ = hook_ops(hook_);
    Diagnostics& diags_;
    Options options_;
    Layout layout_;
    Needs needs_;
    bool nat_rules_ = false;  // an iptables nat table with rules: conntrack says what NAT rewrites
    std::vector<Explanation> explain_;
    std::map<std::pair<std::string, std::string>, std::string> names_;
    std::map<std::tuple<std::string, std::string, int>, size_t> runs_;  // (table, chain, first rule) -> run
    std::string end_chain_;  // what a rule emits to end its chain (RETURN, the end of a goto)
    // Where a table's chains run relative to conntrack (compiler/hooks.hpp: ct_position).
    std::map<std::string, compiler::CtPosition> before_ct_;
    std::vector<compiler::BaseChain> base_chains_ = compiler::base_chains(program_);
};

}  // namespace bpftables::codegen::detail
