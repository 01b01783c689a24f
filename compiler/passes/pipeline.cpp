// The pass sequences, declared in one place (pass.hpp; compiler/passes/README.md lists them in order).
#include <chrono>

#include "compiler/ir_print.hpp"
#include "compiler/passes/pass.hpp"

namespace bpftables::passes {
namespace {

template <typename... P>
std::vector<std::unique_ptr<Pass>> sequence(P... passes) {
    std::vector<std::unique_ptr<Pass>> out;
    (out.push_back(std::move(passes)), ...);
    return out;
}

}  // namespace

bool run_passes(std::vector<std::unique_ptr<Pass>> passes, ir::Program& program, Diagnostics& diags,
                Trace* trace) {
    for (auto& pass : passes) {
        auto start = std::chrono::steady_clock::now();
        pass->run(program, diags);
        if (trace) {
            trace->seconds.emplace_back(
                pass->name(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
            if (trace->dump_after == pass->name())
                trace->dump = ir::to_save(program, {.plan = true}), trace->dumped = true;
        }
        if (diags.has_errors()) return false;
#ifndef NDEBUG
        if (!verify_ir(program, diags)) return false;
#endif
    }
    return true;
}

bool run_pipeline(ir::Program& program, Diagnostics& diags, Trace* trace) {
    return run_passes(sequence(make_resolve_chains(), make_detect_loops(), make_unreachable_rules()), program,
                      diags, trace);
}

bool run_checks(ir::Program& program, Diagnostics& diags, Trace* trace) {
    return run_passes(sequence(make_check_base_chains(), make_ambiguous_conntrack(), make_check_targets()),
                      program, diags, trace);
}

}  // namespace bpftables::passes
