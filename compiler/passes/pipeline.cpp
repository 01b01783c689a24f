#include "compiler/passes/pass.hpp"

namespace bpftables::passes {

bool run_pipeline(ir::Program& program, Diagnostics& diags) {
    std::unique_ptr<Pass> pipeline[] = {make_resolve_chains(), make_detect_loops(), make_unreachable_rules()};
    for (auto& pass : pipeline) {
        pass->run(program, diags);
        if (diags.has_errors()) return false;
    }
    return true;
}

}  // namespace bpftables::passes
