#pragma once
// The tables bpftables does not compile (nat, mangle, security) go to the kernel's own netfilter, through
// iptables-restore of the chosen backend, within the same transaction as the BPF programs.
#include <string>
#include <vector>

#include "compiler/ir.hpp"

namespace bpftables::runtime {

// "nft" or "legacy": what `iptables -V` says the system's iptables is.
std::string default_backend();

// Replaces the named tables of the namespace's netfilter with their content in `program` (a table `program`
// lacks is flushed to its built-in chains with ACCEPT policies). `test`: iptables-restore --test only.
bool netfilter_apply(const std::string& backend, const ir::Program& program,
                     const std::vector<std::string>& tables, bool test, std::string& error);

}  // namespace bpftables::runtime
