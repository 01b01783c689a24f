#include "compiler/passes/pass.hpp"

namespace bpftables::passes {

bool run_pipeline(ir::Program& program, Diagnostics& diags) {
    std::unique_ptr<Pass> pipeline[] = {make_resolve_chains(), make_detect_loops(), make_unreachable_rules()};
    for (auto& pass : pipeline) {
        pass->run(program, diags);
        if (diags.has_errors()) return false;
#ifndef NDEBUG
        if (!verify_ir(program, diags)) return false;
#endif
    }
    return true;
}

}  // namespace bpftables::passes
