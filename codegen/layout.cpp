#include "codegen/layout.hpp"

#include <algorithm>
#include <cstdlib>

#include "codegen/classifier.hpp"
#include "compiler/ir_print.hpp"

namespace bpftables::codegen {

const char* hook_name(Hook hook) {
    switch (hook) {
        case Hook::xdp:
            return "xdp";
        case Hook::tc_ingress:
            return "tc-ingress";
        case Hook::tc_egress:
            return "tc-egress";
    }
    return "?";
}

bool parse_hook(const std::string& name, Hook& out) {
    for (Hook h : {Hook::xdp, Hook::tc_ingress, Hook::tc_egress})
        if (name == hook_name(h)) return out = h, true;
    return false;
}

bool is_compiled_table(const std::string& table) {
    return table == "filter" || table == "raw";
}

int Layout::gid(const std::string& table, const std::string& chain, int rule) const {
    auto it = chains.find({table, chain});
    if (it == chains.end()) return -1;
    return rule < 0 ? it->second.policy : it->second.first_rule + rule;
}

int Layout::set_index(const std::string& name) const {
    auto it = std::find(sets.begin(), sets.end(), name);
    return it == sets.end() ? -1 : static_cast<int>(it - sets.begin());
}

int classifier_min_run() {
    const char* env = std::getenv("BPFTABLES_CLASSIFIER_MIN");
    return env ? std::atoi(env) : 32;
}

namespace {

void find_runs(const ir::Table& t, const ir::Chain& c, std::vector<ClassifierRun>& runs) {
    int min = classifier_min_run();
    if (min <= 0) return;
    int n = static_cast<int>(c.rules.size());
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && classifier_rule(c.rules[j], 0)) ++j;
        if (j - i >= min) runs.push_back({t.name, c.name, i, j - i});
        i = j == i ? i + 1 : j;
    }
}

}  // namespace

Layout make_layout(const ir::Program& program) {
    Layout layout;
    for (const ir::Table& t : program.tables) {
        if (!is_compiled_table(t.name)) continue;
        for (const ir::Chain& c : t.chains) {
            find_runs(t, c, layout.runs);
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
                }
            }
        }
    }
    for (const ir::Table& t : program.tables) {
        if (!is_compiled_table(t.name)) continue;
        for (const ir::Chain& c : t.chains)
            if (c.builtin()) {
                layout.chains[{t.name, c.name}].policy = static_cast<int>(layout.gids.size());
                layout.gids.push_back({t.name, c.name, 0, c.loc,
                                       ":" + c.name + (c.policy == ir::Policy::drop ? " DROP" : " ACCEPT")});
            }
    }
    return layout;
}

}  // namespace bpftables::codegen
