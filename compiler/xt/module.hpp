#pragma once
// iptables match and target extensions ("modules"): how each one reads its options and prints them back.
//
// A module is a row of function pointers. The rule parser (compiler/iptables_lower.cpp) hands every option it
// does not know itself to the modules loaded so far in the rule, newest first, then to the target; the
// module that recognises the option consumes its arguments through the OptionReader. When the rule ends,
// `finish` checks what the options left (required options, conflicts). `print` appends the canonical
// iptables-save text of the options (without the leading "-m NAME"/"-j NAME").
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/diagnostics.hpp"
#include "compiler/ir.hpp"
#include "compiler/values.hpp"
#include "parser/iptables_ast.hpp"

namespace bpftables::xt {

// The option being parsed, and access to the words after it.
class OptionReader {
  public:
    OptionReader(const std::vector<parser::Word>& words, size_t& next, const parser::Word& option,
                 bool invert, Diagnostics& diags)
        : words_(words), next_(next), option_(option), invert_(invert), diags_(diags) {}

    const parser::Word& option() const { return option_; }
    std::string_view name() const { return option_.text; }
    bool inverted() const { return invert_; }

    // The next word as this option's argument; diagnoses "requires an argument" when there is none.
    const parser::Word* arg();
    // Whether the next word can be an argument (exists, and is neither an option nor "!").
    bool has_arg() const;

    // Diagnoses at a word (or at the option) and returns false, so handlers can `return reader.error(...)`.
    bool error(const parser::Word& at, const std::string& message);
    bool error(const std::string& message) { return error(option_, message); }
    Diagnostics& diags() { return diags_; }

  private:
    const std::vector<parser::Word>& words_;
    size_t& next_;
    const parser::Word& option_;
    bool invert_;
    Diagnostics& diags_;
};

enum class Parsed { not_mine, ok, error };

struct MatchModule {
    std::string_view name;  // as written after -m
    ir::Match (*make)();
    Parsed (*parse)(ir::Match&, OptionReader&);
    bool (*finish)(ir::Match&, const parser::Word& module_word, Diagnostics&);
};

struct TargetModule {
    std::string_view name;  // as written after -j
    ir::Target (*make)();
    Parsed (*parse)(ir::Target&, OptionReader&);
    bool (*finish)(ir::Target&, const parser::Word& target_word, Diagnostics&);
};

// Lookup in the registry (compiler/xt/registry.cpp). nullptr: not a module bpftables knows.
const MatchModule* find_match_module(std::string_view name);
const TargetModule* find_target_module(std::string_view name);

// The extensions iptables 1.8.9 ships (libxt_*, libipt_*): one bpftables has no module for is kept as
// OpaqueMatch/OpaqueTarget and decided by the kernel; any other name is an error, as in iptables-restore.
bool is_iptables_match(std::string_view name);
bool is_iptables_target(std::string_view name);

// The module a match kind prints under ("tcp" for TcpMatch); empty for the builtins (-s, -p, ...).
std::string module_name(const ir::Match& m);

// Canonical iptables-save text of a match's or target's options, appended to `out` with a leading space
// before each option (e.g. " --dport 22").
void print_options(const ir::Match& m, std::string& out);
void print_options(const ir::Target& t, std::string& out);

// Shared helpers for module parsers and printers. The values themselves (numbers, addresses, ports, name
// tables) are read and printed by compiler/values.hpp; these add the option's position to its errors.
std::string quote_if_needed(std::string_view s);  // as xtables_save_string: quotes when blanks or quotes

// A port range as values::parse_port_range reads it; diagnoses at `w` and returns false when it is bad.
bool parse_port_range(OptionReader& r, const parser::Word& w, ir::PortRange& out, std::string_view proto);

// A comma-separated list of names from `names` (case-insensitive), OR-ed together. Diagnoses the first
// unknown (or empty) item as `what` + " \"item\"" and returns false.
bool parse_name_list(OptionReader& r, const parser::Word& w, std::span<const values::NamedBits> names,
                     std::string_view what, uint32_t& out);

}  // namespace bpftables::xt
