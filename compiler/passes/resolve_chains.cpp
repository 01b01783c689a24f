// Chain resolution: every -j/-g to a chain names a user-defined chain of the same table.
//   before: -A INPUT -j NOSUCH        after: error at NOSUCH
#include "compiler/passes/pass.hpp"

namespace bpftables::passes {
namespace {

class ResolveChains : public Pass {
  public:
    const char* name() const override { return "resolve-chains"; }
    bool run(ir::Program& program, Diagnostics& diags) override {
        for (const ir::Table& t : program.tables)
            for (const ir::Chain& c : t.chains)
                for (const ir::Rule& r : c.rules)
                    for (const std::string& target : ir::target_chains(r.target)) {
                        const ir::Chain* to = t.find(target);
                        int len = static_cast<int>(target.size());
                        if (!to)
                            diags.error(r.target_loc,
                                        "chain '" + target + "' does not exist in table " + t.name, len);
                        else if (to->builtin())
                            diags.error(r.target_loc, "cannot jump to built-in chain '" + target + "'", len);
                    }
        return false;
    }
};

}  // namespace

std::unique_ptr<Pass> make_resolve_chains() {
    return std::make_unique<ResolveChains>();
}

}  // namespace bpftables::passes
