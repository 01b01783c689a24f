// Where targets may stand, in the chains bpftables compiles: the nat targets only in the nat table (nft: in
// chains only nat base chains reach, where they hand the packet to the kernel), no SET
// (it writes the ipsets the program matches against copies of), NOTRACK and CT --notrack only before
// conntrack (iptables' raw; nft chains run only from prerouting or output at a priority below -200; in a
// table with chains on both sides, ambiguous_conntrack.cpp has handed notrack before conntrack to the kernel).
//   before: *filter -A INPUT -j DNAT --to-destination 198.18.0.1
//   after:  error at DNAT: target 'DNAT' is only valid in the nat table (not filter)
#include <set>

#include "compiler/hooks.hpp"
#include "compiler/passes/pass.hpp"

namespace bpftables::passes {
namespace {

using compiler::CtPosition;

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
            CtPosition table_position = compiler::ct_position(t);
            std::map<std::string, CtPosition> positions = compiler::chain_ct_positions(t);
            std::set<std::string>
                filter_reached;  // nft: the chains a compiled base chain of type filter reaches
            for (const ir::Chain& base : t.chains)
                if (base.nft_hook && compiler::is_compiled_chain(t, base) &&
                    !compiler::is_nat_prerouting(base))
                    for (const ir::Chain* c : compiler::chains_reached(t, base))
                        filter_reached.insert(c->name);
            for (const ir::Chain& c : t.chains) {
                if (!compiler::is_compiled_chain(t, c)) continue;
                auto it = positions.find(c.name);
                CtPosition position = it != positions.end() ? it->second : table_position;
                for (const ir::Rule& r : c.rules) {
                    if (is_notrack(r.target) && position == CtPosition::after) notrack_error(t, r, diags);
                    // an nft user chain no compiled filter base chain reaches runs only in the kernel, or in
                    // a nat chain's walk, where its nat statements hand the packet over
                    bool reached = t.family.empty() || filter_reached.count(c.name);
                    if (const auto* x = std::get_if<ir::OpaqueTarget>(&r.target); x && reached)
                        opaque(t, r, *x, diags);
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
