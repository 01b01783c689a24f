#include "compiler/ir.hpp"

#include <netdb.h>

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

// The names iptables itself knows (xtables_chain_protos), then /etc/protocols.
static const std::pair<const char*, uint8_t> known_protocols[] = {
    {"tcp", 6},        {"udp", 17},  {"udplite", 136}, {"icmp", 1},      {"icmpv6", 58},
    {"ipv6-icmp", 58}, {"esp", 50},  {"ah", 51},       {"ipv6-mh", 135}, {"mh", 135},
    {"sctp", 132},     {"dccp", 33}, {"gre", 47},      {"all", 0}};

std::optional<uint8_t> protocol_by_name(const std::string& name) {
    for (auto [n, p] : known_protocols)
        if (name == n) return p;
    if (const protoent* pe = getprotobyname(name.c_str())) return static_cast<uint8_t>(pe->p_proto);
    return std::nullopt;
}

std::string protocol_name(uint8_t proto) {
    for (auto [n, p] : known_protocols)
        if (p == proto && p != 0) return n;
    return std::to_string(proto);
}

}  // namespace bpftables::ir
