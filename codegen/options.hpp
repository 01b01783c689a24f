#pragma once
// What the code generator's caller decides (the CLI, the runtime's restore): whose semantics the program
// follows, and the tuning knobs whose defaults docs/design-notes.md measured. Read once by the caller, passed
// down to codegen::build; nothing below reads the environment.
#include <memory>

#include "compiler/input_format.hpp"

namespace bpftables::passes {
struct Trace;
}

namespace bpftables::codegen {

class ClassifierCache;

struct Options {
    // Whose semantics an iptables ruleset follows where iptables-legacy and iptables-nft differ: the backend of
    // the kernel's copy of the ruleset. Under nft a short L4 header is no hotdrop: the program hands such
    // packets to that copy (as ir::ShortHeaders::kernel, which an nft ruleset has from its lowering).
    compiler::Backend semantics = compiler::Backend::legacy;
    // Runs of classifier rules shorter than this stay rules of their own: below it, a test per rule is cheaper
    // than the walk. 0 turns the classifier off.
    int classifier_min = 32;
    // Chains smaller than this (rules plus what they inline) are inlined where they are jumped to.
    int inline_limit = 16;
    // When set, every pass that runs reports its time and, if asked, the IR after it (--dump-after, -v).
    passes::Trace* trace = nullptr;
    // Each classifier run's trees, built once for the classifier-runs pass and the emitter of every hook that
    // shares these options (classifier.hpp); none: built where needed.
    std::shared_ptr<ClassifierCache> classifier_cache;
};

// The defaults (with a classifier cache of their own), with the knobs the environment overrides for
// measurements and tests: BPFTABLES_CLASSIFIER_MIN and BPFTABLES_INLINE_LIMIT.
Options options_from_environment();

}  // namespace bpftables::codegen
