#pragma once
// The generated-C back end: one readable C file per hook, compiled by clang -O2 -g -target bpf.
//
// Each chain becomes a static function over struct bpft_pkt that returns a verdict (bpf/abi.h); each rule a
// do { ... } while (0) block whose conditions come from the match emitters, carrying its source line as a
// comment. The hook's entry point parses the packet, runs the prerouting base chains (iptables: raw), asks
// the routing whether input or forward applies, runs that hook's base chains in order (compiler/hooks.hpp:
// base_chains), records the verdict and maps it to the hook's return code.
#include <optional>
#include <string>
#include <vector>

#include "base/diagnostics.hpp"
#include "codegen/layout.hpp"
#include "codegen/match_emitters.hpp"
#include "codegen/options.hpp"
#include "compiler/ir.hpp"

namespace bpftables::codegen {

struct Explanation {
    SourceLoc loc;
    std::string text;  // what happens to packets that reach this rule or table
};

struct CProgram {
    std::string source;
    Layout layout;
    Needs needs;
    std::vector<Explanation> explain;
};

// `program` has been through the passes: the checks (nothing is refused here but what a hook cannot do) and
// the code generator's, whose ir::ChainPlan it follows. codegen::generate_c runs them, then this.
std::optional<CProgram> emit_c(const ir::Program& program, Hook hook, Diagnostics& diags,
                               const Options& options = {});

// The BPF program's function name for a hook ("bpftables_xdp", ...).
const char* entry_point(Hook hook);

}  // namespace bpftables::codegen
