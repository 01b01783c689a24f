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

// The IR's invariants (verify_ir.cpp); false, with internal errors reported, when one is broken.
bool verify_ir(const ir::Program& program, Diagnostics& diags);

// The passes every ruleset goes through before code generation, in order. Stops at the first pass that
// reports an error; returns false then. In debug builds the IR verifier runs after each pass.
bool run_pipeline(ir::Program& program, Diagnostics& diags);

}  // namespace bpftables::passes
