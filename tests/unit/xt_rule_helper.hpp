#pragma once
// Test helper for the xt module tests: lowers one rule specification the way iptables-restore reads it
// ("-A CHAIN <rule>" in a table) and returns the rule as iptables-save prints it, or "error: <message>".
#include <optional>
#include <string>

#include "compiler/iptables_lower.hpp"
#include "compiler/ir_print.hpp"

namespace bpftables::test {

// The one rule of "-A CHAIN <rule>" (INPUT, or PREROUTING in raw); nullopt when lowering fails. `family`
// ipv6 reads it as ip6tables-restore does.
inline std::optional<ir::Rule> lower_rule(const std::string& rule, Diagnostics& diags,
                                          const std::string& table = "filter",
                                          ir::Family family = ir::Family::ipv4) {
    const std::string chain = table == "raw" ? "PREROUTING" : "INPUT";
    LowerOptions options;
    options.family = family;
    auto program = parse_and_lower("*" + table + "\n-A " + chain + " " + rule + "\nCOMMIT\n", "test.rules",
                                   diags, options);
    if (!program) return std::nullopt;
    const ir::Table* t = program->find(table);
    const ir::Chain* c = t ? t->find(chain) : nullptr;
    if (!c || c->rules.size() != 1) return std::nullopt;
    return c->rules.front();
}

inline std::string save_rule(const std::string& rule, const std::string& table = "filter",
                             ir::Family family = ir::Family::ipv4) {
    Diagnostics diags;
    std::optional<ir::Rule> r = lower_rule(rule, diags, table, family);
    if (r) return ir::rule_spec(*r);
    for (const Diagnostic& d : diags.all())
        if (d.severity == Severity::error) return "error: " + d.message;
    return "error: (no message)";
}

// The last match of a rule, as kind T (the module's match comes after the builtins).
template <class T>
const T* last_match(const std::optional<ir::Rule>& r) {
    return r && !r->matches.empty() ? std::get_if<T>(&r->matches.back()) : nullptr;
}

struct RoundTrip {
    const char* rule;
    const char* saved;
    const char* table = "filter";
};

struct Rejected {
    const char* rule;
    const char* table = "filter";
};

inline bool rejected(const std::string& rule, const std::string& table = "filter",
                     ir::Family family = ir::Family::ipv4) {
    return save_rule(rule, table, family).rfind("error: ", 0) == 0;
}

// The same for an IPv6 (ip6tables) rule.
inline std::string save_rule6(const std::string& rule, const std::string& table = "filter") {
    return save_rule(rule, table, ir::Family::ipv6);
}

}  // namespace bpftables::test
