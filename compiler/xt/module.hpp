#pragma once
// iptables match and target extensions ("modules"): how each one reads its options and prints them back.
//
// A module is a row of function pointers and facts, defined in its own file compiler/xt/<module>.cpp and
// registered by one line in compiler/xt/modules.def. The rule reader (compiler/iptables_rule.cpp) hands every
// option it does not know itself to the modules loaded so far in the rule, newest first, then to the target;
// the module that recognises the option consumes its arguments through the OptionReader. When the rule ends,
// `finish` checks what the options left (required options, conflicts), then the rule's -p must be one of the
// module's `protocols`. Each module file also defines `print` for its IR struct: the canonical
// iptables-save text of the options (without the leading "-m NAME"/"-j NAME").
#include <cstdint>
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
                 bool invert, Diagnostics& diags, ir::Family family = ir::Family::ipv4)
        : words_(words), next_(next), option_(option), invert_(invert), diags_(diags), family_(family) {}

    const parser::Word& option() const { return option_; }
    std::string_view name() const { return option_.text; }
    bool inverted() const { return invert_; }
    // The ruleset's family: a module both iptables and ip6tables have reads its addresses in it.
    ir::Family family() const { return family_; }

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
    ir::Family family_;
};

// Which of iptables (libipt_*) and ip6tables (libip6t_*) has a module; libxt_* ones are in both.
enum class Families { both, ipv4, ipv6 };

enum class Parsed { not_mine, ok, error };

struct MatchModule {
    std::string_view name;  // as written after -m
    ir::Match (*make)();
    Parsed (*parse)(ir::Match&, OptionReader&);
    bool (*finish)(ir::Match&, const parser::Word& module_word, Diagnostics&);
    // The rule's -p must be one of these (not inverted), else `protocol_error` at the module's word; empty:
    // any protocol. The kernel checks the same.
    std::span<const uint8_t> protocols = {};
    std::string_view protocol_error = {};
    // -p PROTO loads the module by itself when an option no loaded module knows comes along (-p tcp --dport
    // 22); `protocols` then holds that one protocol.
    bool loaded_by_protocol = false;
    Families families = Families::both;
};

struct TargetModule {
    std::string_view name;  // as written after -j
    ir::Target (*make)();
    Parsed (*parse)(ir::Target&, OptionReader&);
    bool (*finish)(ir::Target&, const parser::Word& target_word, Diagnostics&);
    // What the target needs of the rest of the rule: `table` and the rule's -p, if any (REJECT --reject-with
    // tcp-reset needs -p tcp; CT and NOTRACK the raw table). Null: nothing.
    bool (*check)(const ir::Target&, std::string_view table, const ir::ProtocolMatch* proto,
                  const parser::Word& target_word, Diagnostics&) = nullptr;
    Families families = Families::both;
};

// Whether a module is one of `family`'s.
template <class Module>
bool available(const Module& m, ir::Family family) {
    return m.families == Families::both || (m.families == Families::ipv4) == (family == ir::Family::ipv4);
}

// Lookup in the registry (compiler/xt/registry.cpp), among `family`'s modules (ip6tables -m icmp6 loads by
// the names icmp6, icmpv6 and ipv6-icmp, as libxtables does). nullptr: not a module bpftables knows.
const MatchModule* find_match_module(std::string_view name, ir::Family family = ir::Family::ipv4);
const TargetModule* find_target_module(std::string_view name, ir::Family family = ir::Family::ipv4);
std::span<const MatchModule* const> match_modules();  // every match module, in modules.def order

// The extensions iptables 1.8.9 ships for `family` (libxt_* and libipt_*, or libxt_* and libip6t_*): one
// bpftables has no module for is kept as OpaqueMatch/OpaqueTarget and decided by the kernel; any other name
// is an error, as in iptables-restore.
bool is_iptables_match(std::string_view name, ir::Family family = ir::Family::ipv4);
bool is_iptables_target(std::string_view name, ir::Family family = ir::Family::ipv4);

// The module a match kind prints under ("tcp" for TcpMatch); empty for the builtins (-s, -p, ...).
std::string module_name(const ir::Match& m);

// Canonical iptables-save text of a match's or target's options, appended to `out` with a leading space
// before each option (e.g. " --dport 22").
void print_options(const ir::Match& m, std::string& out);
void print_options(const ir::Target& t, std::string& out);

// ---- Shared helpers for module parsers. The values themselves (numbers, addresses, ports, name tables) are
// read and printed by compiler/values.hpp; these add the option's position to their errors.

// A port range as values::parse_port_range reads it; diagnoses at `w` and returns false when it is bad.
bool parse_port_range(OptionReader& r, const parser::Word& w, ir::PortRange& out, std::string_view proto);

// A comma-separated list of names from `names` (case-insensitive), OR-ed together. Diagnoses the first
// unknown (or empty) item as `what` + " \"item\"" and returns false.
bool parse_name_list(OptionReader& r, const parser::Word& w, std::span<const values::NamedBits> names,
                     std::string_view what, uint32_t& out);

// "MODULE: option \"--opt\" can only be used once" / "... cannot be inverted", returning Parsed::error.
Parsed once_error(OptionReader& r, std::string_view module);
Parsed not_invertible(OptionReader& r, std::string_view module);

// "option \"--opt\" cannot be inverted" (without the module's name) when the option is inverted.
bool not_inverted(OptionReader& r);

// A module whose option is mandatory starts as a bare "-m NAME" (an OpaqueMatch); its option turns it into
// the module's own IR struct T. first_use diagnoses a second use of that option; must_be_given, in finish,
// a match that never became a T.
template <class T>
bool first_use(const ir::Match& match, OptionReader& r) {
    if (!std::holds_alternative<T>(match)) return true;
    return r.error("multiple " + std::string(r.name()) + " flags not allowed");
}

template <class T>
bool must_be_given(const ir::Match& match, const parser::Word& word, Diagnostics& diags,
                   std::string_view what) {
    if (std::holds_alternative<T>(match)) return true;
    diags.error(word.loc, word.text + ": option \"" + std::string(what) + "\" must be specified",
                word.length);
    return false;
}

// A 32-bit number as libxtables reads XTTYPE_UINT32 (strtoul base 0, no sign), and a range of them as
// XTTYPE_UINT32RC: "a", "a:b", ":b", "a:" or ":" (the missing ends 0 and 4294967295), lo <= hi. Each
// diagnoses "MODULE: bad value for option \"--opt\"" at `w`.
bool parse_u32_option(OptionReader& r, const parser::Word& w, std::string_view module, uint32_t& out);
bool parse_u32_range(OptionReader& r, const parser::Word& w, std::string_view module, ir::U32Range& out);

// " [!] OPTION lo[:hi]", nothing for the full range uninverted (as ip6tables' frag, rt and ah print theirs).
void print_u32_range(const ir::U32Range& range, std::string_view option, std::string& out);

bool finish_nothing(ir::Match&, const parser::Word&, Diagnostics&);
bool finish_nothing(ir::Target&, const parser::Word&, Diagnostics&);

// ---- Shared helpers for module printers.

// " OPTION" or " ! OPTION".
void negatable(bool invert, std::string_view option, std::string& out);

// A port option. tcp and udp leave out a range that covers every port (iptables-save does); conntrack
// prints it.
void print_ports(const std::optional<ir::Negatable<ir::PortRange>>& p, std::string_view option,
                 std::string& out, bool omit_every_port = false);

std::string quote_if_needed(std::string_view s);  // as xtables_save_string: quotes when blanks or quotes

// As iptables-save prints a free-text value: bare when it is only letters, digits, '_' and '-'; otherwise in
// double quotes with '"', '\'' and '\\' escaped by a backslash.
std::string save_string(std::string_view s);

}  // namespace bpftables::xt
