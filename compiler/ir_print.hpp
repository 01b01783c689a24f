#pragma once
// The IR's canonical text: iptables-save form. Chains print built-ins first in hook order, then user chains
// by name, as iptables-save (legacy) does; rules print builtins first, then matches in the order given.
#include <string>

#include "compiler/ir.hpp"

namespace bpftables::ir {

struct PrintOptions {
    bool counters = false;  // -c: "[p:b] " before each rule
    std::string only_table;
    bool plan = false;  // the code generator's decisions (ir::ChainPlan) as "# bpftables: ..." comments
};

std::string to_save(const Program& program, const PrintOptions& options = {});
std::string to_save(const Table& table, const PrintOptions& options = {});
// One rule's specification without "-A CHAIN" (e.g. "-p tcp -m tcp --dport 22 -j ACCEPT").
std::string rule_spec(const Rule& rule);
std::string target_name(const Target& target);
// Sets in `ipset save` form ("create NAME TYPE family inet", then "add NAME MEMBER"), as
// compiler::read_ipsets reads them back.
std::string to_ipset_save(const std::vector<IpSet>& sets);

}  // namespace bpftables::ir
