// Classifier runs: in each compiled chain, every run of at least Options::classifier_min consecutive rules
// that the classifier can decide (classifier_rule: addresses, protocol, ports; ACCEPT or DROP) is recorded in
// the chain's plan; the C emitter makes each run one call to the tree walk.
//   before: -A INPUT -s 198.18.0.1/32 -j DROP  (x 40)
//   after:  the same, and "# bpftables: INPUT rules 1 to 40: decided by the classifier"
#include "codegen/classifier.hpp"
#include "codegen/passes/passes.hpp"
#include "compiler/hooks.hpp"

namespace bpftables::codegen {
namespace {

class ClassifierRuns : public passes::Pass {
  public:
    explicit ClassifierRuns(const Options& options) : min_(options.classifier_min) {}
    const char* name() const override { return "classifier-runs"; }
    bool run(ir::Program& program, Diagnostics&) override {
        bool changed = false;
        for (ir::Table& t : program.tables)
            for (ir::Chain& c : t.chains) {
                c.plan.classified.clear();
                // The classifier's trees hold IPv4 addresses: an IPv6 ruleset has no runs (nor programs yet).
                if (min_ <= 0 || program.family == ir::Family::ipv6 || !compiler::is_compiled_chain(t, c))
                    continue;
                int n = static_cast<int>(c.rules.size());
                for (int i = 0; i < n;) {
                    int j = i;
                    while (j < n && classifier_rule(c.rules[j], 0)) ++j;
                    if (j - i >= min_) c.plan.classified.emplace_back(i, j - i), changed = true;
                    i = j == i ? i + 1 : j;
                }
            }
        return changed;
    }

  private:
    int min_;
};

}  // namespace

std::unique_ptr<passes::Pass> make_classifier_runs(const Options& options) {
    return std::make_unique<ClassifierRuns>(options);
}

}  // namespace bpftables::codegen
