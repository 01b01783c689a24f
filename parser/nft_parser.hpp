#pragma once
#include <optional>
#include <string>

#include "compiler/diagnostics.hpp"
#include "parser/nft_ast.hpp"

namespace bpftables::parser {

// Parses nftables ruleset text (`nft list ruleset` output, `nft -f` input). The first syntax error is
// reported with its position; the result is empty when there was one.
std::optional<nft::Script> parse_nft(const std::string& text, const std::string& file, Diagnostics& diags);

}  // namespace bpftables::parser
