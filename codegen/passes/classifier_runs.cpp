// Classifier runs: in each compiled chain, every run of at least Options::classifier_min consecutive rules
// that the classifier can decide (classifier_rule: IPv4 or IPv6 prefixes, protocol, ports; ACCEPT or DROP)
// is recorded in the chain's plan; the emitters make each run one call to the tree walk. A run whose trees
// cannot be built within the walk's bounds and classifier_bytes_per_rule (or whose IPv6 prefixes nest too
// deeply for 32-bit address ids) is split in two halves, and so on: halves shorter
// than the threshold stay rules of their own. Nothing is refused for the classifier's sake; the plan's notes
// say what was split or left out and why (--explain).
//   before: -A INPUT -s 198.18.0.1/32 -j DROP  (x 40)
//   after:  the same, and "# bpftables: INPUT rules 1 to 40: decided by the classifier"
#include "codegen/classifier.hpp"
#include "codegen/passes/passes.hpp"
#include "compiler/hooks.hpp"

namespace bpftables::codegen {
namespace {

class ClassifierRuns : public passes::Pass {
  public:
    explicit ClassifierRuns(const Options& options)
        : min_(options.classifier_min), cache_(options.classifier_cache.get()) {}
    const char* name() const override { return "classifier-runs"; }
    bool run(ir::Program& program, Diagnostics&) override {
        bool changed = false;
        for (ir::Table& t : program.tables)
            for (ir::Chain& c : t.chains) {
                c.plan.classified.clear();
                c.plan.classifier_notes.clear();
                if (min_ <= 0 || !compiler::is_compiled_chain(t, c)) continue;
                family_ = program.family;
                int n = static_cast<int>(c.rules.size());
                for (int i = 0; i < n;) {
                    int j = i;
                    while (j < n && classifier_rule(c.rules[j], 0, family_)) ++j;
                    if (j - i >= min_) place(t, c, i, j - i), changed = true;
                    i = j == i ? i + 1 : j;
                }
            }
        return changed;
    }

  private:
    // Rules [first, first + count) of `c` as one run if their trees can be built, else as two halves.
    void place(const ir::Table& t, ir::Chain& c, int first, int count) {
        std::vector<ClassifierRule> rules;
        rules.reserve(count);
        for (int i = first; i < first + count; ++i)
            rules.push_back(*classifier_rule(c.rules[i], static_cast<uint32_t>(i), family_));
        std::string why;
        if (build_classifier({rules}, why, nullptr, cache_)) {
            c.plan.classified.emplace_back(first, count);
            return;
        }
        int half = count / 2;
        std::string what = "rules " + std::to_string(first + 1) + " to " + std::to_string(first + count) +
                           " of " + t.name + " " + c.name + " are not one classifier run: " + why;
        c.plan.classifier_notes.emplace_back(
            first, what + (half >= min_ ? "; split into two runs"
                                        : "; left as one test per rule (halves shorter than " +
                                              std::to_string(min_) + " rules)"));
        if (half < min_) return;
        place(t, c, first, half);
        place(t, c, first + half, count - half);
    }

    int min_;
    ClassifierCache* cache_;
    ir::Family family_ = ir::Family::ipv4;
};

}  // namespace

std::unique_ptr<passes::Pass> make_classifier_runs(const Options& options) {
    return std::make_unique<ClassifierRuns>(options);
}

}  // namespace bpftables::codegen
