#pragma once
// The options that several commands (compile, run, restore) take the same way: --format, --ipsets and
// --backend, and -4/-6 (compile: which of iptables-save and ip6tables-save text an iptables ruleset
// is, as `iptables -4`/`-6` and ip6tables-restore read it), with one reader for their getopt_long cases.
#include <getopt.h>

#include <optional>
#include <string>

#include "compiler/input_format.hpp"
#include "compiler/ir.hpp"

namespace bpftables::cli {

struct RulesetOptions {
    std::string format;  // --format as given (nft, nft-json or iptables); empty: guessed from the content
    std::string ipsets;  // --ipsets FILE: the ipset save text of the sets an iptables ruleset names
    std::optional<compiler::Backend> backend;  // --backend legacy|nft
    ir::Family family = ir::Family::ipv4;      // -4 / --ipv4 (the default), -6 / --ipv6
};

// Their getopt_long entries, for a command's table of long options.
inline constexpr option kFormatOption{"format", required_argument, nullptr, 'F'};
inline constexpr option kIpsetsOption{"ipsets", required_argument, nullptr, 'S'};
inline constexpr option kBackendOption{"backend", required_argument, nullptr, 'B'};
inline constexpr option kIpv4Option{"ipv4", no_argument, nullptr, '4'};  // with "46" in the short options
inline constexpr option kIpv6Option{"ipv6", no_argument, nullptr, '6'};

enum class OptionRead {
    other,  // not one of them: the command reads it
    read,
    bad,  // refused, with a message on stderr: exit code 2
};

// Reads the option getopt_long returned (`c`, with optarg) if it is one of them. A --backend other than
// legacy or nft is refused ("CMD: --backend is legacy or nft"); an unknown --format too when `check_format`
// ("CMD: --format is nft, nft-json or iptables"), else load_ruleset reports it (cli/input.hpp).
OptionRead read_ruleset_option(const char* cmd, int c, RulesetOptions& options, bool check_format = false);

}  // namespace bpftables::cli
