#include "codegen/layout.hpp"

#include <algorithm>
#include <optional>

#include "compiler/hooks.hpp"
#include "compiler/ir_print.hpp"

namespace bpftables::codegen {

using compiler::base_chains;
using compiler::BaseChain;
using compiler::is_compiled_chain;

int Layout::gid(const std::string& table, const std::string& chain, int rule) const {
    auto it = chains.find({table, chain});
    if (it == chains.end()) return -1;
    return rule < 0 ? it->second.policy : it->second.first_rule + rule;
}

int Layout::set_index(const std::string& name) const {
    auto it = std::find(sets.begin(), sets.end(), name);
    return it == sets.end() ? -1 : static_cast<int>(it - sets.begin());
}

Layout make_layout(const ir::Program& program) {
    Layout layout;
    for (const ir::Table& t : program.tables) {
        for (const ir::Chain& c : t.chains) {
            if (!is_compiled_chain(t, c)) continue;
            for (const auto& [first, count] : c.plan.classified)
                layout.runs.push_back({t.name, c.name, first, count});
            layout.chains[{t.name, c.name}].first_rule = static_cast<int>(layout.gids.size());
            for (size_t i = 0; i < c.rules.size(); ++i) {
                const ir::Rule& r = c.rules[i];
                int gid = static_cast<int>(layout.gids.size());
                layout.gids.push_back({t.name, c.name, static_cast<int>(i) + 1, r.loc,
                                       "-A " + c.name + " " + ir::rule_spec(r)});
                for (size_t m = 0; m < r.matches.size(); ++m) {
                    if (std::holds_alternative<ir::LimitMatch>(r.matches[m]))
                        layout.limits[{gid, static_cast<int>(m)}] = static_cast<int>(layout.limits.size());
                    if (auto* s = std::get_if<ir::SetMatch>(&r.matches[m]);
                        s && layout.set_index(s->name) < 0)
                        layout.sets.push_back(s->name);
                    if (auto* s = std::get_if<ir::NftSetMatch>(&r.matches[m]);
                        s && layout.set_index(s->set) < 0)
                        layout.sets.push_back(s->set);
                }
                if (auto* v = std::get_if<ir::VmapTarget>(&r.target); v && layout.set_index(v->map) < 0)
                    layout.sets.push_back(v->map);
            }
        }
    }
    for (const ir::Table& t : program.tables) {
        for (const ir::Chain& c : t.chains)
            if (is_compiled_chain(t, c) && c.builtin()) {
                layout.chains[{t.name, c.name}].policy = static_cast<int>(layout.gids.size());
                layout.gids.push_back({t.name, c.name, 0, c.loc,
                                       ":" + c.name + (c.policy == ir::Policy::drop ? " DROP" : " ACCEPT")});
            }
    }
    for (const BaseChain& b : base_chains(program)) {
        if (b.compiled && !b.nat) continue;
        const ir::Chain* c = program.find(b.table)->find(b.chain);
        layout.chains[{b.table, b.chain}].kernel = static_cast<int>(layout.gids.size());
        layout.gids.push_back(
            {b.table, b.chain, 0, c->loc,
             "type " + c->nft_hook->type + " hook " + c->nft_hook->hook + " priority " +
                 std::to_string(b.priority) +
                 (b.nat ? ": conntrack cannot place it or NAT rewrites it, handed to the kernel"
                        : ": not compiled, handed to the kernel")});
    }
    return layout;
}

}  // namespace bpftables::codegen
