// What the kernel's tables that bpftables does not compile do to the received path (kernel_tables.hpp).
#include "codegen/kernel_tables.hpp"

#include <set>
#include <vector>

namespace bpftables::codegen {

// Whether iptables' mangle CHAIN (or a chain it reaches) has a rule that can change the packet or end it:
// any target but ACCEPT, RETURN, LOG, a jump or goto, or none; or a DROP policy.
bool mangle_changes(const ir::Program& program, const std::string& chain) {
    const ir::Table* t = program.find("mangle");
    if (!t || !t->family.empty()) return false;
    std::vector<const ir::Chain*> todo{t->find(chain)};
    std::set<std::string> seen{chain};
    if (!todo[0]) return false;
    if (todo[0]->policy == ir::Policy::drop) return true;
    while (!todo.empty()) {
        const ir::Chain* c = todo.back();
        todo.pop_back();
        for (const ir::Rule& r : c->rules) {
            std::string next;
            if (const auto* j = std::get_if<ir::JumpTarget>(&r.target)) next = j->chain;
            if (const auto* g = std::get_if<ir::GotoTarget>(&r.target)) next = g->chain;
            bool neutral = !next.empty() || std::holds_alternative<ir::NoTarget>(r.target) ||
                           std::holds_alternative<ir::AcceptTarget>(r.target) ||
                           std::holds_alternative<ir::ReturnTarget>(r.target) ||
                           std::holds_alternative<ir::LogTarget>(r.target);
            if (!neutral) return true;
            if (const ir::Chain* n = t->find(next); n && seen.insert(next).second) todo.push_back(n);
        }
    }
    return false;
}

std::string nat_prerouting_explained(const ir::Table& t, const ir::Chain& c) {
    return "base chain " + t.name + " " + c.name + " (type nat hook prerouting priority " +
           std::to_string(c.nft_hook->priority) +
           ") runs in BPF for the first packet of a connection, as in the kernel; packets of connections "
           "conntrack knows skip it, those whose destination the kernel's NAT rewrites (or that conntrack "
           "cannot place) and those reaching a nat statement are handed to the kernel";
}

bool nat_rules(const ir::Program& program) {
    const ir::Table* nat = program.find("nat");
    if (!nat || !nat->family.empty()) return false;
    for (const ir::Chain& c : nat->chains)
        if (!c.rules.empty()) return true;
    return false;
}

}  // namespace bpftables::codegen
