#pragma once
// From IR to a BPF object for one hook: the passes, the C back end, clang.
#include <optional>
#include <string>

#include "codegen/c_emitter.hpp"
#include "codegen/clang.hpp"
#include "codegen/direct_emitter.hpp"

namespace bpftables::codegen {

struct Build {
    CProgram c;
    ClangResult object;
};

// Runs the pass pipeline on `program` (which it may rewrite), then generates and, unless `object` is false
// (only the C is wanted), compiles.
std::optional<Build> build(ir::Program& program, Hook hook, Diagnostics& diags, const Options& options,
                           bool object = true);
inline std::optional<Build> build(ir::Program& program, Hook hook, Diagnostics& diags, bool object = true) {
    return build(program, hook, diags, Options{}, object);
}

// The direct back end (direct_emitter.hpp): the pass pipeline, then the instructions; classifier runs
// (options.classifier_min) call the classifier's walk over maps the loader creates (loader/ruleset_maps.hpp).
std::optional<DirectProgram> build_direct(ir::Program& program, Hook hook, Diagnostics& diags,
                                          const Options& options);

// build_direct's passes alone (false when they refuse the program): they do not depend on the hook, so a
// program prepared once can go to emit_direct for every hook (a restore builds XDP and TC).
bool prepare_direct(ir::Program& program, Diagnostics& diags, const Options& options);

// The code generator's passes (codegen/passes/passes.hpp): they record their decisions in each chain's
// ir::ChainPlan, which `--dump-after PASS` prints and the C back end follows.
bool run_transforms(ir::Program& program, Diagnostics& diags, const Options& options = {});

// The C of `program`, which has been through passes::run_pipeline: the checks of what bpftables compiles
// (passes::run_checks), the code generator's passes (run_transforms), then the C back end.
std::optional<CProgram> generate_c(ir::Program& program, Hook hook, Diagnostics& diags,
                                   const Options& options = {});

}  // namespace bpftables::codegen
