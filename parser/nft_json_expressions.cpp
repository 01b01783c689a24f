// nft JSON's expressions into nft AST expressions, as a listing would write them: values, prefixes,
// ranges, sets and their elements, concatenations, maps, binary operations, verdicts, and the selectors of
// payload, meta, ct and the other keyed expressions.
#include "parser/nft_json_reader.hpp"

namespace bpftables::parser::nft_json {

// A set's element: a value, {"elem": {"val": ...}}, or in a map [key, value].
std::optional<Expr> Reader::element(const json& j, const SourceLoc& parent, int depth) {
    SourceLoc l = loc(j, parent);
    if (j.is_array() && j.size() == 2) {  // a map's "key : value" (the lowering checks is_map)
        std::optional<Expr> k = expr(j[0], l, depth + 1), v = expr(j[1], l, depth + 1);
        if (!k || !v) return std::nullopt;
        Expr m = leaf(K::mapping, ":", l);
        m.args.push_back(std::move(*k));
        m.args.push_back(std::move(*v));
        return m;
    }
    return expr(j, l, depth + 1);
}

std::optional<Expr> Reader::expr(const json& j, const SourceLoc& parent, int depth) {
    SourceLoc l = loc(j, parent);
    if (depth > max_depth) return fail(l, "the expression nests too deeply");
    if (j.is_string()) {
        std::string s = j.get<std::string>();
        if (!s.empty() && s[0] == '@') return leaf(K::set_ref, s.substr(1), l);
        return leaf(K::value, std::move(s), l);
    }
    if (j.is_number_integer()) return leaf(K::value, number(j), l);
    if (j.is_boolean()) return leaf(K::value, j.get<bool>() ? "exists" : "missing", l);
    if (j.is_array()) {  // a list of flags: ["established", "related"]
        Expr e = leaf(K::list, ",", l);
        for (const json& x : j) {
            std::optional<Expr> a = expr(x, l, depth + 1);
            if (!a) return std::nullopt;
            e.args.push_back(std::move(*a));
        }
        if (e.args.size() == 1) return std::move(e.args[0]);
        if (e.args.empty()) return fail(l, "empty list");
        return e;
    }
    if (!j.is_object()) return fail(l, "expected an expression, not " + type_name(j));
    std::string key;
    const json* v = single(j, l, "an expression", key);
    if (!v) return std::nullopt;
    if (std::optional<std::string> sel = selector(key, *v, l)) return leaf(K::selector, *sel, l);
    if (failed_) return std::nullopt;
    if (key == "prefix") {
        std::optional<std::string> addr = str(*v, "addr", l, true), len = str(*v, "len", l, true);
        if (!addr || !len) return std::nullopt;
        return leaf(K::value, *addr + "/" + *len, l);
    }
    if (key == "range") {
        if (!v->is_array() || v->size() != 2) return fail(l, "\"range\" must be an array of two values");
        std::optional<Expr> lo = expr((*v)[0], l, depth + 1), hi = expr((*v)[1], l, depth + 1);
        if (!lo || !hi) return std::nullopt;
        if (lo->kind != K::value || hi->kind != K::value)
            return fail(l, "the ends of a \"range\" must be values");
        return leaf(K::value, lo->text + "-" + hi->text, l);
    }
    if (key == "set") {
        Expr e = leaf(K::set, "", l);
        if (v->is_array()) {
            for (const json& x : *v) {
                std::optional<Expr> a = element(x, l, depth + 1);
                if (!a) return std::nullopt;
                e.args.push_back(std::move(*a));
            }
        } else {
            std::optional<Expr> a = expr(*v, l, depth + 1);
            if (!a) return std::nullopt;
            e.args.push_back(std::move(*a));
        }
        return e;
    }
    if (key == "elem") {
        if (!v->is_object() || !v->contains("val")) return fail(l, "\"elem\" needs \"val\"");
        std::string options;                     // as the text writes them
        for (const auto& [k, x] : v->items()) {  // a limit, quota, ct count per element: not a set's lookup
            if (k != "val" && k != "timeout" && k != "expires" && k != "comment" && k != "counter")
                return fail(l, "a set element with \"" + k + "\" is not supported");
            if ((k == "timeout" || k == "expires") && x.is_number_integer())
                options += (options.empty() ? "" : " ") + k + " " + number(x) + "s";
            if (k == "counter")  // per-element counters (their values are the kernel's): as the text's option
                options += (options.empty() ? "" : " ") + std::string("counter");
            if (k == "comment" && x.is_string())
                options +=
                    (options.empty() ? "" : " ") + std::string("comment \"") + x.get<std::string>() + "\"";
        }
        std::optional<Expr> e = expr((*v)["val"], l, depth + 1);
        if (e) e->elem_options = options;
        return e;
    }
    if (key == "concat") {
        if (!v->is_array() || v->empty()) return fail(l, "\"concat\" must be an array of expressions");
        Expr e = leaf(K::concat, ".", l);
        for (const json& x : *v) {
            std::optional<Expr> a = expr(x, l, depth + 1);
            if (!a) return std::nullopt;
            e.args.push_back(std::move(*a));
        }
        if (e.args.size() == 1) return std::move(e.args[0]);
        return e;
    }
    if (key == "map") {
        if (!v->is_object() || !v->contains("key") || !v->contains("data"))
            return fail(l, "\"map\" needs \"key\" and \"data\"");
        std::optional<Expr> k = expr((*v)["key"], l, depth + 1), d = expr((*v)["data"], l, depth + 1);
        if (!k || !d) return std::nullopt;
        Expr e = leaf(K::map, "map", l);
        e.args.push_back(std::move(*k));
        e.args.push_back(std::move(*d));
        return e;
    }
    if (key == "&" || key == "|" || key == "^" || key == "<<" || key == ">>") {
        if (!v->is_array() || v->size() < 2) return fail(l, "\"" + key + "\" needs two operands or more");
        std::optional<Expr> e = expr((*v)[0], l, depth + 1);
        if (!e) return std::nullopt;
        for (size_t i = 1; i < v->size(); ++i) {
            std::optional<Expr> r = expr((*v)[i], l, depth + 1);
            if (!r) return std::nullopt;
            Expr b = leaf(K::binop, key, l);
            b.args.push_back(std::move(*e));
            b.args.push_back(std::move(*r));
            e = std::move(b);
        }
        return e;
    }
    if (key == "accept" || key == "drop" || key == "continue" || key == "return")
        return leaf(K::verdict, key, l);
    if (key == "jump" || key == "goto") {
        std::optional<std::string> target = str(*v, "target", l, true);
        if (!target) return std::nullopt;
        Expr e = leaf(K::verdict, key, l);
        e.args.push_back(leaf(K::string, *target, l));
        return e;
    }
    return fail(l, "unknown expression \"" + key + "\"");
}

// The selector text the listing would show for a packet or metadata expression; nullopt (and no error)
// when KEY is not one.
std::optional<std::string> Reader::selector(const std::string& key, const json& v, const SourceLoc& l) {
    auto field = [&](const char* k, bool required = true) { return str(v, k, l, required); };
    auto words = [](std::initializer_list<std::string> ws) {
        std::string out;
        for (const std::string& w : ws)
            if (!w.empty()) out += (out.empty() ? "" : " ") + w;
        return out;
    };
    bool is_obj = v.is_object();
    if (key == "payload") {
        if (!is_obj) return fail(l, "\"payload\" must be an object, not " + type_name(v));
        if (v.contains("protocol")) {
            std::optional<std::string> p = field("protocol"), f = field("field");
            if (!p || !f) return std::nullopt;
            return words({*p, *f});
        }
        std::optional<std::string> base = field("base"), off = field("offset"), len = field("len");
        if (!base || !off || !len) return std::nullopt;
        return "@" + *base + "," + *off + "," + *len;
    }
    if (key == "meta" || key == "socket" || key == "osf") {
        std::optional<std::string> k = field("key");
        if (!k) return std::nullopt;
        for (const char* bare : {"iif", "oif", "iifname", "oifname", "iifgroup", "oifgroup"})
            if (key == "meta" && *k == bare) return *k;  // as nft lists them
        return words({key, *k});
    }
    if (key == "ct" || key == "rt" || key == "ipsec") {
        std::optional<std::string> k = field("key"), dir = field("dir", false),
                                   family = field("family", false), spnum = field("spnum", false);
        if (!k || !dir || !family || !spnum) return std::nullopt;
        return words({key, *dir, spnum->empty() ? "" : "spnum " + *spnum, *family, *k});
    }
    if (key == "exthdr" || key == "tcp option" || key == "ip option" || key == "sctp chunk" ||
        key == "dccp option") {
        std::optional<std::string> name = field("name", key != "dccp option"), f = field("field", false),
                                   type = field("type", false);
        if (!name || !f || !type) return std::nullopt;
        if (key == "exthdr") return words({*name, *f});
        return words({key, name->empty() ? *type : *name, *f});
    }
    if (key == "fib") {
        std::optional<std::string> result = field("result");
        std::optional<std::vector<std::string>> flags = strings(v, "flags", l);
        if (!result || !flags) return std::nullopt;
        return words({"fib", join(*flags, " . "), *result});
    }
    if (key == "numgen" || key == "jhash" || key == "symhash") {
        std::optional<std::string> mode = field("mode", false), mod = field("mod");
        if (!mode || !mod) return std::nullopt;
        return words({key, *mode, "mod", *mod});
    }
    return std::nullopt;
}

}  // namespace bpftables::parser::nft_json
