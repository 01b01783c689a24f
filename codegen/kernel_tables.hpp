#pragma once
// iptables' tables that bpftables does not compile (mangle, nat) but that run between its compiled chains on
// the received path: what both back ends hand to the kernel because of them (codegen/entry_emitter.cpp:
// kernel_tables_before).
#include <string>

#include "compiler/ir.hpp"

namespace bpftables::codegen {

// Whether iptables' mangle CHAIN (or a chain it reaches) has a rule that can change the packet or end it:
// any target but ACCEPT, RETURN, LOG, a jump or goto, or none; or a DROP policy.
bool mangle_changes(const ir::Program& program, const std::string& chain);

// Whether an iptables nat table has rules: conntrack then says what the kernel's NAT rewrites.
bool nat_rules(const ir::Program& program);
// What --explain says of an nft nat base chain at prerouting (compiler/hooks.hpp: is_nat_prerouting).
std::string nat_prerouting_explained(const ir::Table& table, const ir::Chain& chain);

}  // namespace bpftables::codegen
