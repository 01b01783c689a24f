#pragma once
// nftables ruleset text as parsed: commands, blocks, rules and expression trees with source positions; no
// meaning yet (the lowering in compiler/nft/ decides what a selector or a value is).
#include <optional>
#include <string>
#include <vector>

#include "base/source_loc.hpp"

namespace bpftables::parser::nft {

struct Expr {
    enum class Kind {
        value,     // a word as written: 22, ssh, 10.0.0.0/8, 1-1024, established
        string,    // "eth0" (quotes removed)
        variable,  // $name
        set_ref,   // @name
        selector,  // ip saddr, tcp dport, ct original saddr, meta mark, iifname: words in `text`
        set,       // { elements }; each element an Expr (a mapping for maps)
        mapping,   // key : value, in a map's elements; args = {key, value}
        concat,    // a . b
        binop,     // args[0] text args[1], text is & | ^ << >> (and/or/xor/lshift/rshift spelled as symbols)
        list,      // a,b,c outside braces (ct state established,related)
        map,       // args[0] map args[1]: a lookup
        verdict,   // accept, drop, jump x, ... (map values); text is the verdict, args[0] the chain if any
    };
    Kind kind = Kind::value;
    std::string text;
    std::vector<Expr> args;
    SourceLoc loc;
    int length = 1;            // columns spanned on the first line
    std::string elem_options;  // a set element's options after its key: "timeout 1h", "limit rate 10/second"
};

struct Statement {
    enum class Kind {
        relation,  // lhs op rhs; op "" when implicit
        vmap,      // lhs vmap rhs
        set,       // lhs set rhs (payload / meta / ct mangling)
        verdict,   // keyword: accept drop continue return jump goto; args[0] the chain
        counter,   // args: packets, bytes as values, or the name
        comment,   // args[0] the text
        log,       // args: option name and value pairs, flattened
        reject,    // args: kind words then code
        other,     // keyword + args as written (limit, snat, ...): not compiled
    };
    Kind kind = Kind::relation;
    std::string keyword;  // the statement's first word, or the relational operator for relations
    Expr lhs, rhs;
    std::optional<Expr> mask;  // rhs / mask
    std::vector<Expr> args;
    SourceLoc loc;
    int length = 1;
};

struct Rule {
    std::vector<Statement> statements;
    SourceLoc loc;
};

struct Hook {
    std::string type, hook, device, priority;  // priority as written: "0", "filter + 10", "$prio"
    SourceLoc loc, priority_loc;
};

struct ChainBody {
    std::optional<Hook> hook;
    std::optional<std::string> policy;
    SourceLoc policy_loc;
    std::vector<Rule> rules;
};

struct SetBody {
    std::vector<std::string> key_type, data_type;  // type words (typeof: the selector texts)
    bool typeof_ = false;
    std::vector<std::string> flags;
    std::optional<Expr> elements;
    std::vector<std::string> attrs;  // other attributes as written: "size 65535", "auto-merge", ...
};

struct ChainDef {
    std::string name;
    SourceLoc loc;
    ChainBody body;
};

struct SetDef {
    std::string name;
    bool is_map = false;
    SourceLoc loc;
    SetBody body;
};

struct ObjectDef {  // flowtable, counter, quota, ct helper, ...: recognized, not compiled
    std::string kind, name;
    SourceLoc loc;
    std::string body;    // "{ ... }" as written (empty from JSON); checked, not lowered
    SourceLoc body_loc;  // of its '{'
};

struct TableBody {
    std::vector<ChainDef> chains;
    std::vector<SetDef> sets;
    std::vector<ObjectDef> objects;
};

struct Command {
    enum class Object { table, chain, rule, set, element, ruleset, object, define, include };
    std::string verb = "add";  // add create insert replace delete destroy flush list reset
    Object object = Object::table;
    std::string family = "ip";
    std::string table;
    std::string name;  // chain, set, object or variable name; include path
    SourceLoc loc;
    std::optional<TableBody> table_body;
    std::optional<ChainBody> chain_body;
    std::optional<SetBody> set_body;  // also element commands (elements only)
    bool is_map = false;
    std::optional<Rule> rule;
    std::optional<Expr> value;  // define
    std::string object_kind;    // object commands
};

struct Script {
    std::vector<Command> commands;
};

}  // namespace bpftables::parser::nft
