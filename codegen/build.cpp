#include "codegen/build.hpp"

#include "codegen/passes/passes.hpp"
#include "compiler/passes/pass.hpp"

namespace bpftables::codegen {

bool run_transforms(ir::Program& program, Diagnostics& diags, const Options& options) {
    std::vector<std::unique_ptr<passes::Pass>> sequence;
    sequence.push_back(make_classifier_runs(options));
    sequence.push_back(make_plan_chains(options));
    return passes::run_passes(std::move(sequence), program, diags, options.trace);
}

std::optional<CProgram> generate_c(ir::Program& program, Hook hook, Diagnostics& diags,
                                   const Options& options) {
    if (!passes::run_checks(program, diags, options.trace) || !run_transforms(program, diags, options))
        return std::nullopt;
    return emit_c(program, hook, diags, options);
}

std::optional<Build> build(ir::Program& program, Hook hook, Diagnostics& diags, const Options& options,
                           bool object) {
    if (!passes::run_pipeline(program, diags, options.trace)) return std::nullopt;
    std::optional<CProgram> c = generate_c(program, hook, diags, options);
    if (!c) return std::nullopt;
    if (!object) return Build{std::move(*c), {}};
    std::optional<ClangResult> obj = compile_c(c->source, diags);
    if (!obj) return std::nullopt;
    return Build{std::move(*c), std::move(*obj)};
}

bool prepare_direct(ir::Program& program, Diagnostics& diags, const Options& options) {
    return passes::run_pipeline(program, diags, options.trace) &&
           passes::run_checks(program, diags, options.trace) && run_transforms(program, diags, options);
}

std::optional<DirectProgram> build_direct(ir::Program& program, Hook hook, Diagnostics& diags,
                                          const Options& options) {
    if (!prepare_direct(program, diags, options)) return std::nullopt;
    return emit_direct(program, hook, diags, options);
}

}  // namespace bpftables::codegen
