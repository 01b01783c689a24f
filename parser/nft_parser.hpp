#pragma once
#include <map>
#include <optional>
#include <string>

#include "base/diagnostics.hpp"
#include "parser/nft_ast.hpp"

namespace bpftables::parser {

// Parses nftables ruleset text (`nft list ruleset` output, `nft -f` input). The first syntax error is
// reported with its position; the result is empty when there was one.
std::optional<nft::Script> parse_nft(const std::string& text, const std::string& file, Diagnostics& diags);

// A quoted string with nft's `$name` variables expanded (log prefix "dropped $why: "), each from `vars` (a
// string variable without its quotes). Empty, with the name in `unknown`, when a variable is not defined.
std::optional<std::string> expand_variables(const std::string& text,
                                            const std::map<std::string, nft::Expr>& vars,
                                            std::string& unknown);

}  // namespace bpftables::parser
