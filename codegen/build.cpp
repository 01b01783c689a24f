#include "codegen/build.hpp"

#include "compiler/passes/pass.hpp"

namespace bpftables::codegen {

std::optional<Build> build(ir::Program& program, Hook hook, Diagnostics& diags, bool object) {
    if (!passes::run_pipeline(program, diags)) return std::nullopt;
    std::optional<CProgram> c = emit_c(program, hook, diags);
    if (!c) return std::nullopt;
    if (!object) return Build{std::move(*c), {}};
    std::optional<ClangResult> obj = compile_c(c->source, diags);
    if (!obj) return std::nullopt;
    return Build{std::move(*c), std::move(*obj)};
}

}  // namespace bpftables::codegen
