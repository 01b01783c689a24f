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

}  // namespace bpftables::ir
