// Base chains at hooks bpftables does not run: an nft base chain must hook prerouting, input, forward, output
// (compiled when of type filter) or postrouting (handed to the kernel); ingress, egress and the others are
// refused at the chain.
//   before: chain c { type filter hook ingress device eth0 priority 0; }
//   after:  error at c: base chain t c (type filter hook ingress priority 0) is not supported: ...
#include "compiler/hooks.hpp"
#include "compiler/passes/pass.hpp"

namespace bpftables::passes {
namespace {

class CheckBaseChains : public Pass {
  public:
    const char* name() const override { return "check-base-chains"; }
    bool run(ir::Program& program, Diagnostics& diags) override {
        for (const ir::Table& t : program.tables) {
            if (t.family.empty()) continue;
            for (const ir::Chain& c : t.chains) {
                if (!c.nft_hook || compiler::is_path_hook(c.nft_hook->hook)) continue;
                const ir::NftHook& h = *c.nft_hook;
                diags.error(c.loc, "base chain " + t.name + " " + c.name + " (type " + h.type + " hook " +
                                       h.hook + " priority " + std::to_string(h.priority) +
                                       ") is not supported: bpftables compiles the hooks prerouting, input, "
                                       "forward and output, and hands postrouting to the kernel");
            }
        }
        return false;
    }
};

}  // namespace

std::unique_ptr<Pass> make_check_base_chains() {
    return std::make_unique<CheckBaseChains>();
}

}  // namespace bpftables::passes
