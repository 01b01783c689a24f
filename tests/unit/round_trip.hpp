#pragma once
// Test helper: one rule specification lowered as "-A INPUT <rule>" reads it, and printed back.
#include <optional>
#include <string>
#include <variant>

#include "compiler/iptables_lower.hpp"
#include "compiler/ir_print.hpp"
#include "parser/iptables_parser.hpp"

namespace bpftables::testing {

// The canonical text of `rule`, or nullopt when lowering rejects it (the diagnostics go to `errors`).
inline std::optional<std::string> round_trip(const std::string& rule, std::string* errors = nullptr) {
    Diagnostics diags;
    const std::string text = "*filter\n-A INPUT " + rule + "\nCOMMIT\n";
    diags.add_source("t.rules", text);
    std::optional<std::vector<ir::Rule>> rules;
    if (auto script = parser::parse_iptables(text, "t.rules", diags))
        for (const parser::Line& l : script->lines)
            if (const auto* cmd = std::get_if<parser::Command>(&l))
                rules = lower_rule_spec({cmd->words.begin() + 2, cmd->words.end()}, "filter", nullptr, diags);
    if (errors) *errors = diags.str();
    if (!rules || diags.has_errors() || rules->size() != 1) return std::nullopt;
    return ir::rule_spec(rules->front());
}

}  // namespace bpftables::testing
