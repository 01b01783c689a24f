#pragma once
// Lowering of parsed iptables-save / iptables-restore text into the IR: tables, chains and the restore
// commands
// (-A -I -D -R -N -X -F -Z -P -E) applied in order, each rule's options read as iptables reads them.
#include <optional>
#include <string>
#include <vector>

#include "base/diagnostics.hpp"
#include "compiler/ir.hpp"
#include "parser/iptables_ast.hpp"

namespace bpftables {

struct LowerOptions {
    bool noflush = false;               // iptables-restore --noflush: tables are edited, not replaced
    const ir::Program* base = nullptr;  // the ruleset --noflush edits
    std::string only_table;             // iptables-restore -T: every other table in the input is ignored
    const std::vector<ir::IpSet>* sets = nullptr;  // when known, every --match-set must name one of them
    ir::Family family = ir::Family::ipv4;          // ipv6: ip6tables-save / ip6tables-restore text
};

std::optional<ir::Program> lower_iptables(const parser::Script& script, Diagnostics& diags,
                                          const LowerOptions& options = {});

// One rule specification (the words after "-A CHAIN"), as the iptables command reads it. `table` (may be
// null) is where jump targets are looked up. A source or destination list ("-s a,b") expands into one rule
// per combination, as iptables does. `family` ipv6 reads it as ip6tables does.
std::optional<std::vector<ir::Rule>> lower_rule_spec(const std::vector<parser::Word>& words,
                                                     const std::string& table_name, const ir::Table* table,
                                                     Diagnostics& diags,
                                                     const std::vector<ir::IpSet>* sets = nullptr,
                                                     ir::Family family = ir::Family::ipv4);

// Parses and lowers a whole text in one step.
std::optional<ir::Program> parse_and_lower(const std::string& text, const std::string& file,
                                           Diagnostics& diags, const LowerOptions& options = {});

// The built-in chains of an iptables table, in hook order; empty for an unknown table.
const std::vector<std::string>& builtin_chains(const std::string& table);

}  // namespace bpftables
