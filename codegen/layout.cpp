#include "codegen/layout.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>

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

namespace {

std::optional<NfHook> nf_hook_by_name(const std::string& name) {
    for (NfHook h : {NfHook::prerouting, NfHook::input, NfHook::forward, NfHook::output, NfHook::postrouting})
        if (name == nf_hook_name(h)) return h;
    return std::nullopt;
}

std::string lowercase(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

const char* nf_hook_name(NfHook hook) {
    switch (hook) {
        case NfHook::prerouting:
            return "prerouting";
        case NfHook::input:
            return "input";
        case NfHook::forward:
            return "forward";
        case NfHook::output:
            return "output";
        case NfHook::postrouting:
            return "postrouting";
    }
    return "?";
}

bool is_compiled_chain(const ir::Table& table, const ir::Chain& chain) {
    if (table.family.empty()) return is_compiled_table(table.name);
    if (!chain.nft_hook) return true;
    const std::string& h = chain.nft_hook->hook;
    return chain.nft_hook->type == "filter" &&
           (h == "prerouting" || h == "input" || h == "forward" || h == "output");
}

std::vector<BaseChain> base_chains(const ir::Program& program) {
    std::vector<BaseChain> out;
    for (const ir::Table& t : program.tables)
        for (const ir::Chain& c : t.chains) {
            BaseChain b{NfHook::input, 0, t.name, c.name, true};
            std::optional<NfHook> hook;
            if (t.family.empty()) {  // iptables: the built-in chains of raw and filter
                if (!is_compiled_table(t.name) || !c.builtin()) continue;
                hook = nf_hook_by_name(lowercase(c.name));
                b.priority = t.name == "raw" ? -300 : 0;
            } else if (c.nft_hook) {
                hook = nf_hook_by_name(c.nft_hook->hook);
                b.priority = c.nft_hook->priority;
                b.compiled = is_compiled_chain(t, c);
            }
            if (!hook) continue;
            b.hook = *hook;
            out.push_back(std::move(b));
        }
    // The kernel inserts a hook before those of equal priority registered earlier (nf_hook_entries_grow), and
    // `nft -f` registers base chains in the order of the input: the last one written runs first.
    std::reverse(out.begin(), out.end());
    std::stable_sort(out.begin(), out.end(), [](const BaseChain& a, const BaseChain& b) {
        return std::pair(a.hook, a.priority) < std::pair(b.hook, b.priority);
    });
    return out;
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
        for (const ir::Chain& c : t.chains) {
            if (!is_compiled_chain(t, c)) continue;
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
        for (const ir::Chain& c : t.chains)
            if (is_compiled_chain(t, c) && c.builtin()) {
                layout.chains[{t.name, c.name}].policy = static_cast<int>(layout.gids.size());
                layout.gids.push_back({t.name, c.name, 0, c.loc,
                                       ":" + c.name + (c.policy == ir::Policy::drop ? " DROP" : " ACCEPT")});
            }
    }
    for (const BaseChain& b : base_chains(program)) {
        if (b.compiled) continue;
        const ir::Chain* c = program.find(b.table)->find(b.chain);
        layout.chains[{b.table, b.chain}].kernel = static_cast<int>(layout.gids.size());
        layout.gids.push_back({b.table, b.chain, 0, c->loc,
                               "type " + c->nft_hook->type + " hook " + c->nft_hook->hook + " priority " +
                                   std::to_string(b.priority) + ": not compiled, handed to the kernel"});
    }
    return layout;
}

}  // namespace bpftables::codegen
