#pragma once
// The tables bpftables does not compile (nat, mangle, security) go to the kernel's own netfilter, through
// iptables-restore of the chosen backend, within the same transaction as the BPF programs.
#include <string>
#include <vector>

#include "compiler/input_format.hpp"
#include "compiler/ir.hpp"

namespace bpftables::runtime {

// What `iptables -V` says the system's iptables is.
compiler::Backend default_backend();

// Replaces the named tables of the namespace's netfilter with their content in `program` (a table `program`
// lacks is flushed to its built-in chains with ACCEPT policies). `test`: iptables-restore --test only. No
// `backend` is an error unless `tables` is empty.
bool netfilter_apply(std::optional<compiler::Backend> backend, const ir::Program& program,
                     const std::vector<std::string>& tables, bool test, std::string& error);

// The tables (family, name) of a committed nft ruleset's canonical text. Every one of them goes whole to the
// kernel's nf_tables of the namespace, in the same transaction as the programs: the compiled ones as the
// backstop for what the programs hand to the kernel (fragments, IP options, statements bpftables does not
// compile, base chains it does not run: nat, route, postrouting; IPv6 packets of inet tables), the others
// (ip6, arp, bridge, netdev) as the only copy.
std::vector<std::pair<std::string, std::string>> nft_tables(const std::string& canonical);

// One `nft -f` transaction on the kernel's nf_tables: deletes the tables `remove` (those that exist), then
// adds `text` (nft ruleset text, may be empty). `test`: `nft -c` only.
bool nft_apply(const std::vector<std::pair<std::string, std::string>>& remove, const std::string& text,
               bool test, std::string& error);

}  // namespace bpftables::runtime
