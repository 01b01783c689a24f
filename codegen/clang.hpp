#pragma once
// Compiles generated C into a BPF object with clang (-O2 -g -target bpf, so the object carries BTF).
#include <optional>
#include <string>

#include "base/diagnostics.hpp"

namespace bpftables::codegen {

struct ClangResult {
    std::string object;  // ELF bytes
    double seconds = 0;
};

// Errors from clang are reported as one diagnostic with clang's own text; that is an internal error of
// bpftables (the generator produced C that does not compile), never the user's.
std::optional<ClangResult> compile_c(const std::string& source, Diagnostics& diags);

}  // namespace bpftables::codegen
