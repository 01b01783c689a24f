#pragma once
// The hook a program is built for, as the code generator's callers name it (codegen::Hook). The hooks and
// their policy (which chains run where) are the compiler's: compiler/hooks.hpp.
#include "compiler/hooks.hpp"

namespace bpftables::codegen {

using compiler::Hook;
using compiler::hook_name;
using compiler::parse_hook;

}  // namespace bpftables::codegen
