// Loop detection: iptables refuses a ruleset in which a chain can reach itself through jumps and gotos.
//   before: -A A -j B / -A B -j A     after: error "chain loop: A -> B -> A" at the closing jump
#include <map>

#include "compiler/passes/pass.hpp"

namespace bpftables::passes {
namespace {

class DetectLoops : public Pass {
  public:
    const char* name() const override { return "detect-loops"; }
    bool run(ir::Program& program, Diagnostics& diags) override {
        for (const ir::Table& t : program.tables) {
            std::map<std::string, int> state;  // 0 unseen, 1 on the path, 2 done
            std::vector<std::string> path;
            for (const ir::Chain& c : t.chains)
                if (!visit(t, c, state, path, diags)) break;
        }
        return false;
    }

  private:
    bool visit(const ir::Table& t, const ir::Chain& c, std::map<std::string, int>& state,
               std::vector<std::string>& path, Diagnostics& diags) {
        if (state[c.name] == 2) return true;
        state[c.name] = 1;
        path.push_back(c.name);
        for (const ir::Rule& r : c.rules)
            for (const std::string& target : ir::target_chains(r.target)) {
                const ir::Chain* to = t.find(target);
                if (!to) continue;
                if (state[to->name] == 1) {
                    std::string loop;
                    bool on = false;
                    for (const std::string& p : path) {
                        on = on || p == to->name;
                        if (on) loop += p + " -> ";
                    }
                    diags.error(r.target_loc, "chain loop: " + loop + to->name,
                                static_cast<int>(target.size()));
                    return false;
                }
                if (!visit(t, *to, state, path, diags)) return false;
            }
        path.pop_back();
        state[c.name] = 2;
        return true;
    }
};

}  // namespace

std::unique_ptr<Pass> make_detect_loops() {
    return std::make_unique<DetectLoops>();
}

}  // namespace bpftables::passes
