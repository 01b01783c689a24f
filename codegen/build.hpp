#pragma once
// From IR to a BPF object for one hook: the passes, the C back end, clang.
#include <optional>
#include <string>

#include "codegen/c_emitter.hpp"
#include "codegen/clang.hpp"

namespace bpftables::codegen {

struct Build {
    CProgram c;
    ClangResult object;
};

// Runs the pass pipeline on `program` (which it may rewrite), then generates and, unless `object` is false
// (only the C is wanted), compiles.
std::optional<Build> build(ir::Program& program, Hook hook, Diagnostics& diags, bool object = true);

}  // namespace bpftables::codegen
