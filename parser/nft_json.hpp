#pragma once
// nftables JSON (`nft -j list ruleset`, the libnftables-json schema) read into the same AST as the text
// (parser/nft_ast.hpp), so that one lowering serves both. Each JSON object becomes the AST node a listing of
// the same ruleset would give: {"payload": {"protocol": "ip", "field": "saddr"}} the selector "ip saddr",
// {"prefix": {"addr": "10.0.0.0", "len": 8}} the value "10.0.0.0/8", {"range": [1, 1024]} "1-1024",
// {"match": {"op": "in", ...}} the implicit relation, a rule's "comment" a trailing comment statement.
// Positions: syntax errors point at the byte nlohmann reports; every AST node carries the line and column
// of the innermost JSON object it comes from.
#include <optional>
#include <string>

#include "base/diagnostics.hpp"
#include "parser/nft_ast.hpp"

namespace bpftables::parser {

std::optional<nft::Script> parse_nft_json(const std::string& text, const std::string& file,
                                          Diagnostics& diags);

// True when the text starts with '{' and mentions "nftables" (for --format guessing).
bool looks_like_nft_json(const std::string& text);

}  // namespace bpftables::parser
