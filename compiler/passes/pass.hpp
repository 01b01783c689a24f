#pragma once
// A pass reads or rewrites the IR and reports through Diagnostics; run() returns whether it changed the IR.
#include <memory>
#include <string>
#include <vector>

#include "base/diagnostics.hpp"
#include "compiler/ir.hpp"

namespace bpftables::passes {

class Pass {
  public:
    virtual ~Pass() = default;
    virtual const char* name() const = 0;
    virtual bool run(ir::Program& program, Diagnostics& diags) = 0;
};

std::unique_ptr<Pass> make_resolve_chains();  // jump and goto targets exist and are user chains
std::unique_ptr<Pass> make_detect_loops();    // no chain reaches itself (iptables refuses loops)
std::unique_ptr<Pass>
make_unreachable_rules();  // warnings: rules after an unconditional verdict, shadowed rules
std::unique_ptr<Pass> make_check_base_chains();    // nft base chains only at the hooks of the IPv4 path
std::unique_ptr<Pass> make_ambiguous_conntrack();  // ct state and notrack in nft chains run before conntrack
                                                   // in a table that also runs after it: the kernel's
std::unique_ptr<Pass> make_check_targets();  // nat targets only in nat, no SET, notrack before conntrack

// A live iptables ruleset whose copy in the kernel learns from a mark bit what the programs decided
// (check_decided_mark.cpp; runtime/netfilter.hpp): no rule may set `bit` or test it set, and the chain
// BPFTABLES-DECIDED is reserved. Errors at the rule's target or match; true when none. Nothing for bit 0.
bool check_decided_mark(const ir::Program& program, uint32_t bit, Diagnostics& diags);

// The IR's invariants (verify_ir.cpp); false, with internal errors reported, when one is broken.
bool verify_ir(const ir::Program& program, Diagnostics& diags);

// What a caller watches while passes run (bpftables compile --dump-after PASS, -v).
struct Trace {
    std::string dump_after;  // a pass's name: the IR after it (with its plan, ir_print.hpp) goes to `dump`
    std::string dump;
    bool dumped = false;
    std::vector<std::pair<std::string, double>> seconds;  // each pass that ran, with its time
};

// Runs `passes` in order. Stops at the first pass that reports an error; returns false then. In debug
// builds the IR verifier runs after each pass.
bool run_passes(std::vector<std::unique_ptr<Pass>> passes, ir::Program& program, Diagnostics& diags,
                Trace* trace = nullptr);

// The passes every ruleset goes through (resolve, loops, unreachable rules), in order (pipeline.cpp).
bool run_pipeline(ir::Program& program, Diagnostics& diags, Trace* trace = nullptr);

// The checks of what bpftables compiles into BPF (check_*.cpp), run before code generation, after
// run_pipeline. The code generator's own passes follow them (codegen/passes/).
bool run_checks(ir::Program& program, Diagnostics& diags, Trace* trace = nullptr);

}  // namespace bpftables::passes
