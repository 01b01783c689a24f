// nft JSON's rules (a rule's "expr" array and "comment") into nft AST statements: match, vmap, mangle,
// verdicts, counter, reject, log, limit, notrack, and the statements kept by their keyword alone.
#include "parser/nft_json_reader.hpp"

#include <algorithm>

namespace bpftables::parser::nft_json {

std::optional<nft::Rule> Reader::rule(const json& b, const SourceLoc& l) {
    nft::Rule r;
    r.loc = l;
    const json& exprs = b["expr"];
    if (!exprs.is_array()) return fail(l, "\"expr\" must be an array of statements, not " + type_name(exprs));
    for (const json& e : exprs) {
        std::optional<Statement> s = statement(e, loc(e, l));
        if (!s) return std::nullopt;
        r.statements.push_back(std::move(*s));
    }
    if (b.contains("comment")) {
        std::optional<std::string> text = str(b, "comment", l, true);
        if (!text) return std::nullopt;
        Statement s;
        s.kind = Statement::Kind::comment;
        s.keyword = "comment";
        s.loc = l;
        s.args.push_back(leaf(K::string, *text, l));
        r.statements.push_back(std::move(s));
    }
    return r;
}

std::optional<Statement> Reader::statement(const json& j, const SourceLoc& l) {
    using SK = Statement::Kind;
    std::string key;
    const json* v = single(j, l, "a statement", key);
    if (!v) return std::nullopt;
    Statement s;
    s.loc = l;
    s.keyword = key;
    s.length = static_cast<int>(key.size());
    if (key == "match") {
        s.kind = SK::relation;
        if (!v->is_object() || !v->contains("left") || !v->contains("right"))
            return fail(l, "\"match\" needs \"left\" and \"right\"");
        std::optional<std::string> op = str(*v, "op", l, false);
        if (!op) return std::nullopt;
        static const char* ops[] = {"", "==", "!=", "<", ">", "<=", ">=", "in"};
        if (std::find_if(std::begin(ops), std::end(ops), [&](const char* o) { return *op == o; }) ==
            std::end(ops))
            return fail(l, "unknown match operator \"" + *op + "\"");
        s.keyword = *op == "in" ? "" : *op;  // "in": the implicit relation (flags, set membership)
        std::optional<Expr> lhs = expr((*v)["left"], l, 0), rhs = expr((*v)["right"], l, 0);
        if (!lhs || !rhs) return std::nullopt;
        s.lhs = std::move(*lhs), s.rhs = std::move(*rhs);
        return s;
    }
    if (key == "vmap" || key == "mangle") {
        s.kind = key == "vmap" ? SK::vmap : SK::set;
        const char* k = "key";
        const char* d = key == "vmap" ? "data" : "value";
        if (!v->is_object() || !v->contains(k) || !v->contains(d))
            return fail(l, "\"" + key + "\" needs \"" + k + "\" and \"" + d + "\"");
        std::optional<Expr> lhs = expr((*v)[k], l, 0), rhs = expr((*v)[d], l, 0);
        if (!lhs || !rhs) return std::nullopt;
        s.lhs = std::move(*lhs), s.rhs = std::move(*rhs);
        s.keyword = key == "vmap" ? "vmap" : "set";
        return s;
    }
    if (key == "accept" || key == "drop" || key == "continue" || key == "return") {
        s.kind = SK::verdict;
        return s;
    }
    if (key == "jump" || key == "goto") {
        s.kind = SK::verdict;
        std::optional<std::string> target = str(*v, "target", l, true);
        if (!target) return std::nullopt;
        s.args.push_back(leaf(K::string, *target, l));
        return s;
    }
    if (key == "counter") {
        s.kind = SK::counter;
        if (v->is_string()) {
            s.args.push_back(leaf(K::value, v->get<std::string>(), l));
        } else if (v->is_object() && (v->contains("packets") || v->contains("bytes"))) {
            for (const char* k : {"packets", "bytes"}) {
                const json& n = v->contains(k) ? (*v)[k] : json(0);
                if (!n.is_number_integer())
                    return fail(l,
                                std::string("counter \"") + k + "\" must be a number, not " + type_name(n));
                s.args.push_back(leaf(K::value, number(n), l));
            }
        } else if (v->is_object() && !v->empty()) {  // counter name <expr>: an object reference
            s.args.push_back(leaf(K::value, "counter name", l));
        } else if (!v->is_null() && !v->is_object()) {
            return fail(l, "\"counter\" must be null, an object or a name, not " + type_name(*v));
        }
        return s;
    }
    if (key == "reject") {
        s.kind = SK::reject;
        if (v->is_null()) return s;
        std::optional<std::string> type = str(*v, "type", l, false), code = str(*v, "expr", l, false);
        if (!type || !code) return std::nullopt;
        if (type->empty() && code->empty()) return s;
        s.args.push_back(leaf(K::value, type->empty() ? "icmpx" : *type, l));
        if (!code->empty()) s.args.push_back(leaf(K::value, *code, l));
        return s;
    }
    if (key == "log") return log(*v, s);
    if (key == "limit") return limit(*v, s);
    if (key == "notrack") {
        s.kind = SK::other;
        return s;
    }
    // Statements the lowering reports as not supported: only their keyword matters.
    static const char* others[] = {
        "snat",       "dnat",           "masquerade", "redirect", "tproxy", "queue",     "dup",
        "fwd",        "synproxy",       "quota",      "meter",    "xt",     "secmark",   "ct helper",
        "ct timeout", "ct expectation", "ct count",   "flow",     "last",   "connlimit", "set",
        "map"};
    for (const char* o : others)
        if (key == o) {
            s.kind = SK::other;
            if (key == "set" || key == "map") {  // add @s { ... }: the operation is the keyword
                std::optional<std::string> op = str(*v, "op", l, false);
                if (!op) return std::nullopt;
                if (!op->empty()) s.keyword = *op;
            }
            return s;
        }
    return fail(l, "unknown statement \"" + key + "\"");
}

std::optional<Statement> Reader::log(const json& v, Statement& s) {
    s.kind = Statement::Kind::log;
    if (v.is_null()) return s;
    if (!v.is_object()) return fail(s.loc, "\"log\" must be null or an object, not " + type_name(v));
    for (const auto& [k, x] : v.items()) {
        std::string value;
        if (k == "flags") {
            std::optional<std::vector<std::string>> flags = strings(v, "flags", s.loc);
            if (!flags) return std::nullopt;
            for (std::string& f : *flags)  // "tcp sequence" is written "flags tcp sequence" in text
                if (f.rfind("tcp ", 0) == 0 || f.rfind("ip ", 0) == 0) f = f.substr(f.find(' ') + 1);
            value = join(*flags, ",");
        } else if (x.is_string()) {
            value = x.get<std::string>();
        } else if (x.is_number_integer()) {
            value = number(x);
        } else {
            return fail(s.loc, "log \"" + k + "\" must be a string or a number, not " + type_name(x));
        }
        s.args.push_back(leaf(K::value, k, s.loc));
        s.args.push_back(leaf(K::string, value, s.loc));
    }
    return s;
}

// As the text's words: rate [over] N/unit [burst N packets|bytes]
std::optional<Statement> Reader::limit(const json& v, Statement& s) {
    s.kind = Statement::Kind::other;
    if (v.is_string() || (v.is_object() && !v.contains("rate")))
        return s;  // limit name <expr>: an object reference, reported by the lowering
    if (!v.is_object()) return fail(s.loc, "\"limit\" must be an object, not " + type_name(v));
    std::optional<std::string> rate = str(v, "rate", s.loc, true), per = str(v, "per", s.loc, false),
                               unit = str(v, "rate_unit", s.loc, false),
                               burst = str(v, "burst", s.loc, false),
                               burst_unit = str(v, "burst_unit", s.loc, false);
    if (!rate || !per || !unit || !burst || !burst_unit) return std::nullopt;
    auto word = [&](std::string w) { s.args.push_back(leaf(K::value, std::move(w), s.loc)); };
    word("rate");
    if (v.contains("inv") && v["inv"].is_boolean() && v["inv"].get<bool>()) word("over");
    std::string p = per->empty() ? "second" : *per;
    if (unit->empty() || *unit == "packets") {
        word(*rate + "/" + p);
    } else {
        word(*rate);
        word(*unit + "/" + p);
    }
    if (!burst->empty() && *burst != "0") {
        word("burst");
        word(*burst);
        word(burst_unit->empty() ? "packets" : *burst_unit);
    }
    return s;
}

}  // namespace bpftables::parser::nft_json
