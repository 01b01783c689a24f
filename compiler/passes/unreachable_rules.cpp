// Unreachable and shadowed rules (warnings only, nothing is removed):
//   -A INPUT -j DROP / -A INPUT -p tcp -j ACCEPT         warning: rule 2 is unreachable (rule 1 always
//   decides) -A INPUT -p tcp -j DROP / -A INPUT -p tcp -j ACCEPT  warning: rule 2 is shadowed by rule 1
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

class UnreachableRules : public Pass {
  public:
    const char* name() const override { return "unreachable-rules"; }
    bool run(ir::Program& program, Diagnostics& diags) override {
        for (const ir::Table& t : program.tables)
            for (const ir::Chain& c : t.chains) {
                for (size_t i = 0; i < c.rules.size(); ++i) {
                    const ir::Rule& r = c.rules[i];
                    if (!decides(r.target) || !stateless(r)) continue;
                    for (size_t j = i + 1; j < c.rules.size(); ++j) {
                        const ir::Rule& later = c.rules[j];
                        std::string at = t.name + " " + c.name + " rule " + std::to_string(j + 1);
                        if (r.matches.empty()) {
                            diags.warning(later.loc, at + " is unreachable: rule " + std::to_string(i + 1) +
                                                         " decides every packet first");
                        } else if (later.matches == r.matches) {
                            diags.warning(later.loc, at + " is shadowed by rule " + std::to_string(i + 1) +
                                                         ", which has the same matches");
                        }
                    }
                    if (r.matches.empty()) break;
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
