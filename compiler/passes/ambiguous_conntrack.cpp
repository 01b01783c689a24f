// Conntrack in an nft table whose base chains run both before and after conntrack (priority -200), as Docker
// writes docker-bridges (raw-PREROUTING at -300, filter-FORWARD at 0): the code generator reads conntrack as
// after it for the whole table, so a rule that reads ct state or sets notrack in a chain run before conntrack
// (or on both sides) hands the packets that reach that read to the kernel's copy, which decides them.
//   before: (chain pre, prerouting -300, jumps to common; chain fwd, forward 0, jumps to common)
//           common: ct state established accept
//   after:  common: <nft "ct state: ... before and after conntrack"> accept   (handed over where reached)
#include "compiler/hooks.hpp"
#include "compiler/passes/pass.hpp"

namespace bpftables::passes {
namespace {

using compiler::CtPosition;

bool reads_conntrack(const ir::Match& m) {
    return std::holds_alternative<ir::StateMatch>(m) || std::holds_alternative<ir::ConntrackMatch>(m);
}

class AmbiguousConntrack : public Pass {
  public:
    const char* name() const override { return "ambiguous-conntrack"; }
    bool run(ir::Program& program, Diagnostics&) override {
        bool changed = false;
        for (ir::Table& t : program.tables) {
            if (t.family.empty() || compiler::ct_position(t) != CtPosition::mixed) continue;
            std::map<std::string, CtPosition> positions = compiler::chain_ct_positions(t);
            for (ir::Chain& c : t.chains) {
                auto it = positions.find(c.name);
                if (it == positions.end() || it->second == CtPosition::after) continue;
                std::string where = it->second == CtPosition::before
                                        ? "runs before conntrack in a table whose other chains run after it"
                                        : "runs both before and after conntrack";
                for (ir::Rule& r : c.rules) changed |= hand_over(r, where);
            }
        }
        return changed;
    }

  private:
    static bool hand_over(ir::Rule& r, const std::string& where) {
        for (ir::Match& m : r.matches)
            if (reads_conntrack(m)) {
                m = ir::OpaqueMatch{"nft", {"--statement", "ct state (the chain " + where + ")"}};
                return true;
            }
        bool notrack = std::holds_alternative<ir::NotrackTarget>(r.target) ||
                       std::holds_alternative<ir::CtTarget>(r.target);
        if (notrack) r.target = ir::OpaqueTarget{"notrack", {}};
        return notrack;
    }
};

}  // namespace

std::unique_ptr<Pass> make_ambiguous_conntrack() {
    return std::make_unique<AmbiguousConntrack>();
}

}  // namespace bpftables::passes
