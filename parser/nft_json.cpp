#include "parser/nft_json.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_map>

namespace bpftables::parser {
namespace {

using json = nlohmann::json;
using nft::Command;
using nft::Expr;
using nft::Statement;
using K = Expr::Kind;

constexpr int max_depth = 64;  // nesting of expressions; deeper input is rejected, not recursed into

// Where each JSON object starts. nlohmann keeps no positions, so the text is scanned for the '{' that open
// objects (outside strings) and the parser's callback numbers the objects in the same order.
class Positions {
  public:
    explicit Positions(const std::string& text) {
        line_starts_.push_back(0);
        bool in_string = false;
        for (size_t i = 0; i < text.size(); ++i) {
            char c = text[i];
            if (c == '\n') line_starts_.push_back(i + 1);
            if (in_string) {
                if (c == '\\')
                    ++i;
                else if (c == '"')
                    in_string = false;
            } else if (c == '"') {
                in_string = true;
            } else if (c == '{') {
                opens_.push_back(i);
            }
        }
    }

    json::parser_callback_t callback() {
        return [this](int, json::parse_event_t event, json& parsed) {
            if (event == json::parse_event_t::object_start) {
                stack_.push_back(next_++);
            } else if (event == json::parse_event_t::object_end && !stack_.empty()) {
                size_t n = stack_.back();
                stack_.pop_back();
                if (const auto* o = parsed.get_ptr<const json::object_t*>(); o && n < opens_.size())
                    offsets_[o] = opens_[n];
            }
            return true;
        };
    }

    // Line and column (1-based) of a byte offset.
    std::pair<int, int> line_col(size_t offset) const {
        auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
        size_t line = static_cast<size_t>(it - line_starts_.begin());
        return {static_cast<int>(line), static_cast<int>(offset - line_starts_[line - 1] + 1)};
    }

    std::optional<size_t> offset(const json& j) const {
        const auto* o = j.get_ptr<const json::object_t*>();
        if (!o) return std::nullopt;
        auto it = offsets_.find(o);
        if (it == offsets_.end()) return std::nullopt;
        return it->second;
    }

  private:
    std::vector<size_t> line_starts_, opens_, stack_;
    size_t next_ = 0;
    std::unordered_map<const json::object_t*, size_t> offsets_;
};

std::string type_name(const json& j) {
    if (j.is_string()) return "a string";
    if (j.is_boolean()) return "a boolean";
    if (j.is_number()) return "a number";
    if (j.is_array()) return "an array";
    if (j.is_object()) return "an object";
    return "null";
}

class Reader {
  public:
    Reader(std::string file, const Positions& pos, Diagnostics& diags)
        : file_(std::move(file)), pos_(pos), diags_(diags) {}

    std::optional<nft::Script> script(const json& root) {
        SourceLoc top{file_, 1, 1};
        if (!root.is_object() || !root.contains("nftables") || !root["nftables"].is_array())
            return fail(loc(root, top), "expected {\"nftables\": [...]} (nft -j list ruleset output)");
        nft::Script s;
        for (const json& item : root["nftables"]) {
            SourceLoc l = loc(item, top);
            std::string key;
            const json* body = single(item, l, "a command", key);
            if (!body) return std::nullopt;
            if (key == "metainfo") continue;
            std::string verb = "add";
            if (is_verb(key)) {
                verb = key;
                l = loc(*body, l);
                if (!(body = single(*body, l, "an object after \"" + verb + "\"", key))) return std::nullopt;
            }
            std::optional<Command> c = command(verb, key, *body, loc(*body, l));
            if (!c) return std::nullopt;
            s.commands.push_back(std::move(*c));
        }
        return s;
    }

  private:
    static bool is_verb(const std::string& k) {
        for (const char* v :
             {"add", "create", "insert", "replace", "delete", "destroy", "flush", "list", "reset"})
            if (k == v) return true;
        return false;
    }

    SourceLoc loc(const json& j, const SourceLoc& fallback) const {
        std::optional<size_t> o = pos_.offset(j);
        if (!o) return fallback;
        auto [line, col] = pos_.line_col(*o);
        return {file_, line, col};
    }

    std::nullopt_t fail(const SourceLoc& l, const std::string& msg) {
        failed_ = true;
        diags_.error(l, msg);
        return std::nullopt;
    }

    // The value of an object of exactly one key ({"rule": {...}}), its key in KEY.
    const json* single(const json& j, const SourceLoc& l, const std::string& what, std::string& key) {
        if (!j.is_object() || j.size() != 1) {
            fail(l, "expected " + what + ": an object of one key, not " +
                        (j.is_object() ? std::to_string(j.size()) + " keys" : type_name(j)));
            return nullptr;
        }
        key = j.begin().key();
        return &j.begin().value();
    }

    // A string member; REQUIRED members that are absent are an error, others give "".
    std::optional<std::string> str(const json& obj, const char* key, const SourceLoc& l, bool required) {
        if (!obj.is_object() || !obj.contains(key)) {
            if (required) return fail(l, std::string("missing \"") + key + "\"");
            return std::string();
        }
        const json& v = obj[key];
        if (v.is_string()) return v.get<std::string>();
        if (v.is_number_integer()) return number(v);
        return fail(l, std::string("\"") + key + "\" must be a string, not " + type_name(v));
    }

    static std::string number(const json& v) {
        return v.is_number_unsigned() ? std::to_string(v.get<uint64_t>()) : std::to_string(v.get<int64_t>());
    }

    // A string or an array of strings ("flags": "interval" or ["interval", "timeout"]); absent: none.
    std::optional<std::vector<std::string>> strings(const json& obj, const char* key, const SourceLoc& l) {
        std::vector<std::string> out;
        if (!obj.contains(key)) return out;
        const json& v = obj[key];
        if (v.is_string()) return std::vector<std::string>{v.get<std::string>()};
        if (v.is_array()) {
            for (const json& x : v) {
                if (!x.is_string())
                    return fail(l, std::string("\"") + key + "\" must hold strings, not " + type_name(x));
                out.push_back(x.get<std::string>());
            }
            return out;
        }
        return fail(l, std::string("\"") + key + "\" must be a string or an array, not " + type_name(v));
    }

    static std::string join(const std::vector<std::string>& v, const std::string& sep) {
        std::string out;
        for (const std::string& s : v) out += (out.empty() ? "" : sep) + s;
        return out;
    }

    // ---- commands

    std::optional<Command> command(const std::string& verb, const std::string& kind, const json& b,
                                   const SourceLoc& l) {
        using O = Command::Object;
        Command c;
        c.verb = verb;
        c.loc = l;
        if (kind == "ruleset") {
            c.object = O::ruleset;
            return c;
        }
        if (!b.is_object()) return fail(l, "\"" + kind + "\" must be an object, not " + type_name(b));
        std::optional<std::string> family = str(b, "family", l, true);
        if (!family) return std::nullopt;
        c.family = *family;
        bool is_table = kind == "table";
        std::optional<std::string> table = str(b, is_table ? "name" : "table", l, true);
        if (!table) return std::nullopt;
        c.table = *table;
        if (is_table) {
            c.object = O::table;
            return c;
        }
        if (kind == "rule") {
            c.object = O::rule;
            std::optional<std::string> chain = str(b, "chain", l, true);
            if (!chain) return std::nullopt;
            c.name = *chain;
            if (!b.contains("expr")) {
                if (verb == "add" || verb == "insert" || verb == "create") return fail(l, "missing \"expr\"");
                return c;
            }
            std::optional<nft::Rule> r = rule(b, l);
            if (!r) return std::nullopt;
            c.rule = std::move(*r);
            return c;
        }
        std::optional<std::string> name = str(b, "name", l, true);
        if (!name) return std::nullopt;
        c.name = *name;
        if (kind == "chain") {
            c.object = O::chain;
            if (std::optional<nft::ChainBody> body = chain_body(b, l))
                c.chain_body = std::move(*body);
            else
                return std::nullopt;
            if (!c.chain_body->hook && !c.chain_body->policy) c.chain_body.reset();
            return c;
        }
        if (kind == "set" || kind == "map" || kind == "element") {
            c.object = kind == "element" ? O::element : O::set;
            c.is_map = kind == "map";
            std::optional<nft::SetBody> body = set_body(b, l);
            if (!body) return std::nullopt;
            c.set_body = std::move(*body);
            return c;
        }
        for (const char* o : {"counter", "quota", "ct helper", "limit", "flowtable", "ct timeout",
                              "ct expectation", "secmark", "synproxy", "tunnel"})
            if (kind == o) {
                c.object = O::object;
                c.object_kind = kind;
                return c;
            }
        return fail(l, "unknown object \"" + kind + "\"");
    }

    std::optional<nft::ChainBody> chain_body(const json& b, const SourceLoc& l) {
        nft::ChainBody body;
        if (b.contains("hook") || b.contains("type") || b.contains("prio")) {
            nft::Hook h;
            h.loc = h.priority_loc = l;
            std::optional<std::string> type = str(b, "type", l, true), hook = str(b, "hook", l, true),
                                       prio = str(b, "prio", l, true);
            std::optional<std::vector<std::string>> dev = strings(b, "dev", l);
            if (!type || !hook || !prio || !dev) return std::nullopt;
            h.type = *type, h.hook = *hook, h.priority = *prio, h.device = join(*dev, ", ");
            body.hook = std::move(h);
        }
        if (b.contains("policy")) {
            std::optional<std::string> p = str(b, "policy", l, true);
            if (!p) return std::nullopt;
            body.policy = *p;
            body.policy_loc = l;
        }
        return body;
    }

    std::optional<nft::SetBody> set_body(const json& b, const SourceLoc& l) {
        nft::SetBody body;
        for (const char* key : {"type", "map"}) {
            if (!b.contains(key)) continue;
            std::optional<std::vector<std::string>> t;
            if (b[key].is_object() && b[key].contains("typeof")) {  // {"typeof": expr}: the expression's text
                std::optional<Expr> e = expr(b[key]["typeof"], l, 0);
                if (!e) return std::nullopt;
                std::string text;
                for (const Expr& x : e->kind == K::concat ? e->args : std::vector<Expr>{*e}) {
                    if (x.kind != K::selector && x.kind != K::value)
                        return fail(x.loc, "\"typeof\" needs a selector or a concatenation of selectors");
                    text += (text.empty() ? "" : " . ") + x.text;
                }
                body.typeof_ = true;
                t = std::vector<std::string>{text};
            } else {
                t = strings(b, key, l);
            }
            if (!t) return std::nullopt;
            if (key[0] == 't')
                body.key_type = *t;
            else
                body.data_type.push_back(join(*t, " . "));
        }
        std::optional<std::vector<std::string>> flags = strings(b, "flags", l);
        if (!flags) return std::nullopt;
        body.flags = *flags;
        for (const auto& [k, v] : b.items())
            if (k != "family" && k != "table" && k != "name" && k != "handle" && k != "type" && k != "map" &&
                k != "flags" && k != "elem")
                body.attrs.push_back(v.is_boolean()  ? k  // "auto-merge": true
                                     : v.is_string() ? k + " " + v.get<std::string>()
                                     : v.is_number() ? k + " " + v.dump()
                                                     : k);
        if (b.contains("elem")) {
            Expr set;
            set.kind = K::set;
            set.loc = l;
            const json& e = b["elem"];
            if (e.is_array()) {
                for (const json& x : e) {
                    std::optional<Expr> el = element(x, l, 0);
                    if (!el) return std::nullopt;
                    set.args.push_back(std::move(*el));
                }
            } else {
                std::optional<Expr> el = element(e, l, 0);
                if (!el) return std::nullopt;
                set.args.push_back(std::move(*el));
            }
            body.elements = std::move(set);
        }
        return body;
    }

    // ---- rules and statements

    std::optional<nft::Rule> rule(const json& b, const SourceLoc& l) {
        nft::Rule r;
        r.loc = l;
        const json& exprs = b["expr"];
        if (!exprs.is_array())
            return fail(l, "\"expr\" must be an array of statements, not " + type_name(exprs));
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

    static Expr leaf(K kind, std::string text, const SourceLoc& l) {
        Expr e;
        e.kind = kind;
        e.text = std::move(text);
        e.loc = l;
        return e;
    }

    std::optional<Statement> statement(const json& j, const SourceLoc& l) {
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
                        return fail(
                            l, std::string("counter \"") + k + "\" must be a number, not " + type_name(n));
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

    std::optional<Statement> log(const json& v, Statement& s) {
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
    std::optional<Statement> limit(const json& v, Statement& s) {
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

    // ---- expressions

    // A set's element: a value, {"elem": {"val": ...}}, or in a map [key, value].
    std::optional<Expr> element(const json& j, const SourceLoc& parent, int depth) {
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

    std::optional<Expr> expr(const json& j, const SourceLoc& parent, int depth) {
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
            std::string options;  // as the text writes them
            for (const auto& [k, x] :
                 v->items()) {  // a limit, quota, ct count per element: not a set's lookup
                if (k != "val" && k != "timeout" && k != "expires" && k != "comment" && k != "counter")
                    return fail(l, "a set element with \"" + k + "\" is not supported");
                if ((k == "timeout" || k == "expires") && x.is_number_integer())
                    options += (options.empty() ? "" : " ") + k + " " + number(x) + "s";
                if (k == "comment" && x.is_string())
                    options += (options.empty() ? "" : " ") + std::string("comment \"") +
                               x.get<std::string>() + "\"";
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
    std::optional<std::string> selector(const std::string& key, const json& v, const SourceLoc& l) {
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

    std::string file_;
    const Positions& pos_;
    Diagnostics& diags_;
    bool failed_ = false;
};

}  // namespace

std::optional<nft::Script> parse_nft_json(const std::string& text, const std::string& file,
                                          Diagnostics& diags) {
    diags.add_source(file, text);
    Positions pos(text);
    try {
        json root = json::parse(text, pos.callback());
        return Reader(file, pos, diags).script(root);
    } catch (const json::parse_error& e) {
        std::string msg = e.what();
        if (size_t c = msg.find("column "); c != std::string::npos && msg.find(": ", c) != std::string::npos)
            msg = msg.substr(msg.find(": ", c) + 2);
        size_t offset = e.byte == 0 ? 0 : std::min<size_t>(e.byte - 1, text.size());
        auto [line, col] = pos.line_col(offset);
        diags.error({file, line, col}, "bad JSON: " + msg);
    } catch (const json::exception& e) {  // a type error the reader did not check first: a bug, reported
        diags.error({file, 1, 1}, std::string("bad nftables JSON: ") + e.what());
    }
    return std::nullopt;
}

bool looks_like_nft_json(const std::string& text) {
    size_t b = text.find_first_not_of(" \t\r\n");
    return b != std::string::npos && text[b] == '{' && text.find("\"nftables\"") != std::string::npos;
}

}  // namespace bpftables::parser
