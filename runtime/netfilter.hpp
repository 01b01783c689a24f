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

// nft rulesets: whether one needs its copy in the kernel's nf_tables. Every nft ruleset does: the copy is the
// backstop for what the programs hand to the kernel (fragments, IP options, matches a hook cannot decide, base
// chains bpftables does not compile: nat, route, postrouting; IPv6 packets of inet tables), which the kernel
// then decides as nft would, with the whole ruleset.
bool nft_needs_kernel(const ir::Program& program);

// The tables (family, name) of an nft ruleset.
std::vector<std::pair<std::string, std::string>> nft_tables(const ir::Program& program);

// One `nft -f` transaction on the kernel's nf_tables: deletes the tables `remove` (those that exist), then
// adds `text` (nft ruleset text, may be empty). `test`: `nft -c` only.
bool nft_apply(const std::vector<std::pair<std::string, std::string>>& remove, const std::string& text,
               bool test, std::string& error);

}  // namespace bpftables::runtime
