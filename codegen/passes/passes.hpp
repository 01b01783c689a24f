#pragma once
// The code generator's passes: decisions on the IR that the C emitter follows, recorded in each chain's
// ir::ChainPlan (printed by `bpftables compile --dump-after PASS` as comments). They run after the checks, in this
// order (codegen/build.cpp: run_transforms):
//   classifier-runs  classifier_runs.cpp  long runs of rules the classifier decides (classifier.hpp)
//   plan-chains      plan_chains.cpp      which chains are inlined, and the segments of the others
#include <memory>

#include "codegen/options.hpp"
#include "compiler/passes/pass.hpp"

namespace bpftables::codegen {

std::unique_ptr<passes::Pass> make_classifier_runs(const Options& options);
std::unique_ptr<passes::Pass> make_plan_chains(const Options& options);

}  // namespace bpftables::codegen
