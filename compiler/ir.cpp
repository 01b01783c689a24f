#include "compiler/ir.hpp"

#include <algorithm>

namespace bpftables::ir {

const Chain* Table::find(const std::string& chain) const {
    auto it = std::find_if(chains.begin(), chains.end(), [&](const Chain& c) { return c.name == chain; });
    return it == chains.end() ? nullptr : &*it;
}

Chain* Table::find(const std::string& chain) {
    return const_cast<Chain*>(static_cast<const Table*>(this)->find(chain));
}

const Table* Program::find(const std::string& table) const {
    auto it = std::find_if(tables.begin(), tables.end(), [&](const Table& t) { return t.name == table; });
    return it == tables.end() ? nullptr : &*it;
}

Table* Program::find(const std::string& table) {
    return const_cast<Table*>(static_cast<const Program*>(this)->find(table));
}

const IpSet* Program::find_set(const std::string& name) const {
    auto it = std::find_if(sets.begin(), sets.end(), [&](const IpSet& s) { return s.name == name; });
    return it == sets.end() ? nullptr : &*it;
}

const NftSet* Program::find_nft_set(const std::string& name) const {
    auto it = std::find_if(nft_sets.begin(), nft_sets.end(), [&](const NftSet& s) { return s.name == name; });
    return it == nft_sets.end() ? nullptr : &*it;
}

std::vector<std::string> target_chains(const Target& target) {
    if (const auto* j = std::get_if<JumpTarget>(&target)) return {j->chain};
    if (const auto* g = std::get_if<GotoTarget>(&target)) return {g->chain};
    std::vector<std::string> out;
    if (const auto* v = std::get_if<VmapTarget>(&target))
        for (const VmapVerdict& x : v->verdicts)
            if (!x.chain.empty() && std::find(out.begin(), out.end(), x.chain) == out.end())
                out.push_back(x.chain);
    return out;
}

Target vmap_target(const VmapVerdict& v) {
    switch (v.kind) {
        case VmapVerdict::Kind::accept:
            return AcceptTarget{};
        case VmapVerdict::Kind::drop:
            return DropTarget{};
        case VmapVerdict::Kind::return_:
            return ReturnTarget{};
        case VmapVerdict::Kind::continue_:
            return NoTarget{};
        case VmapVerdict::Kind::jump:
            return JumpTarget{v.chain};
        case VmapVerdict::Kind::goto_:
            return GotoTarget{v.chain};
    }
    return NoTarget{};
}

}  // namespace bpftables::ir
