#pragma once
// The reader of nft JSON (parser/nft_json.hpp) that its four files share: Reader turns the parsed JSON
// into the AST of parser/nft_ast.hpp, one member per kind of JSON object.
//
//   nft_json.cpp              positions of objects, reading members (str, strings, single), the entry points
//   nft_json_commands.cpp     the "nftables" array: commands, tables, chains, sets, maps, elements
//   nft_json_statements.cpp   a rule's "expr" array: match, vmap, verdicts, counter, reject, log, limit ...
//   nft_json_expressions.cpp  expressions: values, prefixes, ranges, sets, concatenations, selectors
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/diagnostics.hpp"
#include "parser/nft_ast.hpp"

namespace bpftables::parser::nft_json {

using json = nlohmann::json;
using nft::Command;
using nft::Expr;
using nft::Statement;
using K = Expr::Kind;

constexpr int max_depth = 64;  // nesting of expressions; deeper input is rejected, not recursed into

class Positions;  // where each JSON object starts (nft_json.cpp)

std::string type_name(const json& j);  // "a string", "an array", ... for messages

class Reader {
  public:
    Reader(std::string file, const Positions& pos, Diagnostics& diags)
        : file_(std::move(file)), pos_(pos), diags_(diags) {}

    std::optional<nft::Script> script(const json& root);

  private:
    // nft_json.cpp: reading JSON members
    SourceLoc loc(const json& j, const SourceLoc& fallback) const;
    std::nullopt_t fail(const SourceLoc& l, const std::string& msg);
    const json* single(const json& j, const SourceLoc& l, const std::string& what, std::string& key);
    std::optional<std::string> str(const json& obj, const char* key, const SourceLoc& l, bool required);
    static std::string number(const json& v);
    std::optional<std::vector<std::string>> strings(const json& obj, const char* key, const SourceLoc& l);
    static std::string join(const std::vector<std::string>& v, const std::string& sep);
    static Expr leaf(K kind, std::string text, const SourceLoc& l);

    // nft_json_commands.cpp
    static bool is_verb(const std::string& k);
    std::optional<Command> command(const std::string& verb, const std::string& kind, const json& b,
                                   const SourceLoc& l);
    std::optional<nft::ChainBody> chain_body(const json& b, const SourceLoc& l);
    std::optional<nft::SetBody> set_body(const json& b, const SourceLoc& l);

    // nft_json_statements.cpp
    std::optional<nft::Rule> rule(const json& b, const SourceLoc& l);
    std::optional<Statement> statement(const json& j, const SourceLoc& l);
    std::optional<Statement> log(const json& v, Statement& s);
    std::optional<Statement> limit(const json& v, Statement& s);

    // nft_json_expressions.cpp
    std::optional<Expr> element(const json& j, const SourceLoc& parent, int depth);
    std::optional<Expr> expr(const json& j, const SourceLoc& parent, int depth);
    std::optional<std::string> selector(const std::string& key, const json& v, const SourceLoc& l);

    std::string file_;
    const Positions& pos_;
    Diagnostics& diags_;
    bool failed_ = false;
};

}  // namespace bpftables::parser::nft_json
