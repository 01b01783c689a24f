// Chain plans: how each compiled chain becomes C. A user chain smaller than Options::inline_limit is inlined
// where it is jumped to; the others are functions of their own (bpf-to-bpf calls), split into segments so
// that no jump inside a function spans more than BPF's 16-bit offsets can reach. Size counts rules (a rule
// with many matches more), plus what they inline; a classifier run counts as one call and is never split.
//   before: :SMALL - / -A INPUT -j SMALL / -A SMALL -p tcp -j ACCEPT
//   after:  the same, and "# bpftables: SMALL is inlined where it is jumped to"
#include <map>
#include <set>

#include "codegen/passes/passes.hpp"
#include "compiler/hooks.hpp"

namespace bpftables::codegen {
namespace {

constexpr int segment_limit = 192;  // size units per function

class PlanChains : public passes::Pass {
  public:
    explicit PlanChains(const Options& options) : inline_limit_(options.inline_limit) {}
    const char* name() const override { return "plan-chains"; }
    bool run(ir::Program& program, Diagnostics&) override {
        bool changed = false;
        for (ir::Table& t : program.tables) {
            done_.clear();
            std::vector<ir::ChainPlan> before;
            for (const ir::Chain& c : t.chains) before.push_back(c.plan);
            for (ir::Chain& c : t.chains)
                if (compiler::is_compiled_chain(t, c)) plan(t, c);
            for (size_t i = 0; i < t.chains.size(); ++i) changed = changed || t.chains[i].plan != before[i];
        }
        return changed;
    }

  private:
    const ir::ChainPlan& plan(ir::Table& t, ir::Chain& c) {
        if (done_.count(c.name)) return c.plan;
        done_.insert(c.name);
        ir::ChainPlan& p = c.plan;
        p.size = 0;
        p.segments.clear();
        std::map<int, int> runs(p.classified.begin(), p.classified.end());  // first rule -> count
        std::vector<int> rule_size;
        for (size_t i = 0; i < c.rules.size(); ++i) {
            if (auto run = runs.find(static_cast<int>(i)); run != runs.end()) {  // one call decides the run
                rule_size.push_back(2);
                rule_size.insert(rule_size.end(), run->second - 1, 0);
                p.size += 2;
                i += run->second - 1;
                continue;
            }
            const ir::Rule& r = c.rules[i];
            int size = 1 + static_cast<int>(r.matches.size()) / 4;
            for (const std::string& target : ir::target_chains(r.target))
                if (ir::Chain* to = t.find(target)) {
                    const ir::ChainPlan& tp = plan(t, *to);
                    if (tp.inlined) size += tp.size;
                }
            rule_size.push_back(size);
            p.size += size;
        }
        p.inlined = !c.builtin() && p.size < inline_limit_;
        int begin = 0, acc = 0;
        for (size_t i = 0; i < c.rules.size(); ++i) {
            if (acc > 0 && rule_size[i] > 0 && acc + rule_size[i] > segment_limit) {
                p.segments.emplace_back(begin, static_cast<int>(i));
                begin = static_cast<int>(i), acc = 0;
            }
            acc += rule_size[i];
        }
        p.segments.emplace_back(begin, static_cast<int>(c.rules.size()));
        return p;
    }

    int inline_limit_;
    std::set<std::string> done_;  // chains of the current table planned so far
};

}  // namespace

std::unique_ptr<passes::Pass> make_plan_chains(const Options& options) {
    return std::make_unique<PlanChains>(options);
}

}  // namespace bpftables::codegen
