// Where targets may stand, in the chains bpftables compiles: the nat targets only in the nat table, no SET
// (it writes the ipsets the program matches against copies of), NOTRACK and CT --notrack only before
// conntrack (iptables' raw; nft chains at prerouting or output of a priority below -200), and no ct state or
// notrack in an nft table whose base chains run both before and after conntrack.
//   before: *filter -A INPUT -j DNAT --to-destination 198.18.0.1
//   after:  error at DNAT: target 'DNAT' is only valid in the nat table (not filter)
#include "compiler/hooks.hpp"
#include "compiler/passes/pass.hpp"

namespace bpftables::passes {
namespace {

using compiler::CtPosition;

bool uses_conntrack(const ir::Rule& r) {
    for (const ir::Match& m : r.matches)
        if (std::holds_alternative<ir::StateMatch>(m) || std::holds_alternative<ir::ConntrackMatch>(m))
            return true;
    return std::holds_alternative<ir::NotrackTarget>(r.target) ||
           std::holds_alternative<ir::CtTarget>(r.target);
}

bool is_notrack(const ir::Target& target) {
    if (std::holds_alternative<ir::NotrackTarget>(target)) return true;
    const auto* ct = std::get_if<ir::CtTarget>(&target);
    return ct && ct->notrack && ct->args.empty();  // CT with other options goes to the kernel
}

class CheckTargets : public Pass {
  public:
    const char* name() const override { return "check-targets"; }
    bool run(ir::Program& program, Diagnostics& diags) override {
        for (const ir::Table& t : program.tables) {
            if (t.family.empty() && !compiler::is_compiled_table(t.name)) continue;
            CtPosition position = compiler::ct_position(t);
            for (const ir::Chain& c : t.chains) {
                if (!compiler::is_compiled_chain(t, c)) continue;
                for (const ir::Rule& r : c.rules) {
                    if (position == CtPosition::mixed && uses_conntrack(r))
                        diags.error(
                            r.loc, "table " + t.name + " has base chains both before and after conntrack " +
                                       "(priority -200): ct state and notrack are ambiguous in its chains; " +
                                       "put the early chains in a table of their own");
                    if (is_notrack(r.target) && position == CtPosition::after) notrack_error(t, r, diags);
                    if (const auto* x = std::get_if<ir::OpaqueTarget>(&r.target)) opaque(t, r, *x, diags);
                }
            }
        }
        return false;
    }

  private:
    static void notrack_error(const ir::Table& t, const ir::Rule& r, Diagnostics& diags) {
        if (t.family.empty()) {  // the iptables lowering refuses it first (xt/targets.cpp), with this text
            bool ct = std::holds_alternative<ir::CtTarget>(r.target);
            diags.error(r.target_loc,
                        std::string("the ") + (ct ? "CT" : "NOTRACK") +
                            " target is only valid in the raw table, not in " + t.name,
                        ct ? 2 : 7);
            return;
        }
        diags.error(r.target_loc,
                    "notrack is only valid in prerouting and output chains of a priority below -200 (before "
                    "conntrack)");
    }

    static void opaque(const ir::Table& t, const ir::Rule& r, const ir::OpaqueTarget& x, Diagnostics& diags) {
        for (const char* nat : {"DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP"})
            if (x.name == nat)
                return diags.error(
                    r.target_loc,
                    "target '" + x.name + "' is only valid in the nat table (not " + t.name + ")",
                    static_cast<int>(x.name.size()));
        if (x.name == "SET")
            diags.error(r.target_loc,
                        "target 'SET' is not supported by bpftables (table " + t.name +
                            "): it changes ipsets the program matches against copies of",
                        3);
    }
};

}  // namespace

std::unique_ptr<Pass> make_check_targets() {
    return std::make_unique<CheckTargets>();
}

}  // namespace bpftables::passes
