// Hook policy (hooks.hpp): hook names, compiled tables and chains, base chains in netfilter's order, and
// where a table runs relative to conntrack.
#include "compiler/hooks.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

namespace bpftables::compiler {

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

bool is_path_hook(const std::string& nft_hook) {
    return nf_hook_by_name(nft_hook).has_value();
}

bool is_compiled_chain(const ir::Table& table, const ir::Chain& chain) {
    if (table.family.empty()) return is_compiled_table(table.name);
    if (!chain.nft_hook) return true;
    const std::string& h = chain.nft_hook->hook;
    return (chain.nft_hook->type == "filter" &&
            (h == "prerouting" || h == "input" || h == "forward" || h == "output")) ||
           is_nat_prerouting(chain);
}

bool is_nat_prerouting(const ir::Chain& chain) {
    return chain.nft_hook && chain.nft_hook->type == "nat" && chain.nft_hook->hook == "prerouting";
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
                b.nat = is_nat_prerouting(c);
                b.after = nat_after(t, c);
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

namespace {

bool before_conntrack(const ir::NftHook& h) {
    return (h.hook == "prerouting" || h.hook == "output") && h.priority < conntrack_priority;
}

}  // namespace

CtPosition ct_position(const ir::Table& t) {
    if (t.family.empty()) return t.name == "raw" ? CtPosition::before : CtPosition::after;
    bool before = false, after = false;
    for (const ir::Chain& c : t.chains) {
        if (!c.nft_hook || !is_compiled_chain(t, c)) continue;
        (before_conntrack(*c.nft_hook) ? before : after) = true;
    }
    return before && after ? CtPosition::mixed : before ? CtPosition::before : CtPosition::after;
}

std::vector<const ir::Chain*> chains_reached(const ir::Table& t, const ir::Chain& from) {
    std::vector<const ir::Chain*> out, todo{&from};
    std::set<std::string> seen;
    while (!todo.empty()) {
        const ir::Chain* c = todo.back();
        todo.pop_back();
        if (!seen.insert(c->name).second) continue;
        out.push_back(c);
        for (const ir::Rule& r : c->rules)
            for (const std::string& to : ir::target_chains(r.target))
                if (const ir::Chain* next = t.find(to)) todo.push_back(next);
    }
    return out;
}

bool nat_after(const ir::Table& t, const ir::Chain& chain) {
    if (!chain.nft_hook || chain.nft_hook->type != "nat" || chain.nft_hook->hook != "postrouting" ||
        chain.policy == ir::Policy::drop)
        return false;
    for (const ir::Chain* c : chains_reached(t, chain))
        for (const ir::Rule& r : c->rules) {
            for (const ir::Match& m : r.matches)
                if (std::holds_alternative<ir::OpaqueMatch>(m)) return false;
            if (const auto* x = std::get_if<ir::OpaqueTarget>(&r.target))
                if (x->name != "SNAT" && x->name != "MASQUERADE" && x->name != "DNAT" &&
                    x->name != "REDIRECT")
                    return false;
            if (std::holds_alternative<ir::DropTarget>(r.target) ||
                std::holds_alternative<ir::RejectTarget>(r.target) ||
                std::holds_alternative<ir::NotrackTarget>(r.target) ||
                std::holds_alternative<ir::CtTarget>(r.target))
                return false;
            if (const auto* v = std::get_if<ir::VmapTarget>(&r.target))
                for (const ir::VmapVerdict& x : v->verdicts)
                    if (x.kind == ir::VmapVerdict::Kind::drop) return false;
        }
    return true;
}

std::map<std::string, CtPosition> chain_ct_positions(const ir::Table& t) {
    std::map<std::string, CtPosition> out;
    if (t.family.empty()) {
        for (const ir::Chain& c : t.chains) out[c.name] = ct_position(t);
        return out;
    }
    // From each compiled base chain, the chains it reaches, each given the base chain's side (or mixed).
    for (const ir::Chain& base : t.chains) {
        if (!base.nft_hook || !is_compiled_chain(t, base)) continue;
        CtPosition side = before_conntrack(*base.nft_hook) ? CtPosition::before : CtPosition::after;
        for (const ir::Chain* c : chains_reached(t, base)) {
            auto [it, fresh] = out.emplace(c->name, side);
            if (!fresh && it->second != side) it->second = CtPosition::mixed;
        }
    }
    return out;
}

}  // namespace bpftables::compiler
