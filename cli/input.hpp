#pragma once
// Reading a ruleset (and its ipsets) from a file or stdin for the commands, and writing their output.
#include <optional>
#include <string>

#include "base/diagnostics.hpp"
#include "compiler/ir.hpp"

namespace bpftables::cli {

// Reads FILE ("-" for stdin), parses and lowers it, and attaches the sets of IPSETS ("" for none).
// FORMAT is "iptables" (iptables-save / -restore text), "nft" (nft list ruleset / nft -f text), "nft-json"
// (nft -j list ruleset) or "" to guess from the content (compiler/input_format.hpp). Diagnostics (warnings too) are printed to stderr.
// FAMILY ipv6 reads iptables text as ip6tables-save text (nft input, which names its families, refuses it).
// Empty on any error.
std::optional<ir::Program> load_ruleset(const std::string& file, const std::string& ipsets,
                                        Diagnostics& diags, const std::string& format = "",
                                        ir::Family family = ir::Family::ipv4);

bool read_text(const std::string& file, std::string& out, std::string& error);

// Writes `data` to FILE ("-" for stdout); on failure prints "CMD: cannot write FILE". The exit code: 0 or 1.
int write_text(const char* cmd, const std::string& file, const std::string& data);

}  // namespace bpftables::cli
