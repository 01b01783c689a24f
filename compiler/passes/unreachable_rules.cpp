// Unreachable and shadowed rules (warnings only, nothing is removed):
//   -A INPUT -j DROP / -A INPUT -p tcp -j ACCEPT         warning: rule 2 is unreachable (rule 1 always
//   decides) -A INPUT -p tcp -j DROP / -A INPUT -p tcp -j ACCEPT  warning: rule 2 is shadowed by rule 1
#include <map>

#include "compiler/passes/pass.hpp"

namespace bpftables::passes {
namespace {

bool decides(const ir::Target& t) {  // ends the chain for every packet that matches
    return std::holds_alternative<ir::AcceptTarget>(t) || std::holds_alternative<ir::DropTarget>(t) ||
           std::holds_alternative<ir::RejectTarget>(t) || std::holds_alternative<ir::GotoTarget>(t) ||
           std::holds_alternative<ir::ReturnTarget>(t);
}

bool stateless(const ir::Rule& r) {  // matching depends on the packet alone
    for (const ir::Match& m : r.matches)
        if (std::holds_alternative<ir::LimitMatch>(m) || std::holds_alternative<ir::OpaqueMatch>(m))
            return false;
    return true;
}

// Orders rules by their matches without copying them: the map below held a copy of every deciding rule's
// matches (about 1 KB a rule), most of a 100,000-rule restore's allocations.
struct MatchesLess {
    bool operator()(const std::vector<ir::Match>* a, const std::vector<ir::Match>* b) const {
        return *a < *b;
    }
};

class UnreachableRules : public Pass {
  public:
    const char* name() const override { return "unreachable-rules"; }
    bool run(ir::Program& program, Diagnostics& diags) override {
        for (const ir::Table& t : program.tables)
            for (const ir::Chain& c : t.chains) {
                // The earlier rules that decide every packet they match, by their matches: one pass, no
                // pairs.
                const std::vector<ir::Match> none;
                std::map<const std::vector<ir::Match>*, size_t, MatchesLess> decided;
                for (size_t j = 0; j < c.rules.size(); ++j) {
                    const ir::Rule& r = c.rules[j];
                    std::string at = t.name + " " + c.name + " rule " + std::to_string(j + 1);
                    if (auto all = decided.find(&none); all != decided.end()) {
                        diags.warning(r.loc, at + " is unreachable: rule " + std::to_string(all->second + 1) +
                                                 " decides every packet first");
                        continue;
                    }
                    if (auto same = decided.find(&r.matches); same != decided.end())
                        diags.warning(r.loc, at + " is shadowed by rule " + std::to_string(same->second + 1) +
                                                 ", which has the same matches");
                    else if (decides(r.target) && stateless(r))
                        decided.emplace(&r.matches, j);
                }
            }
        return false;
    }
};

}  // namespace

std::unique_ptr<Pass> make_unreachable_rules() {
    return std::make_unique<UnreachableRules>();
}

}  // namespace bpftables::passes
