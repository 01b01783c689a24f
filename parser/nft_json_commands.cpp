// nft JSON's commands (the "nftables" array) into nft AST commands: add/create/insert/delete/... of
// tables, chains, rules, sets, maps, elements and stateful objects, with their bodies.
#include "parser/nft_json_reader.hpp"

namespace bpftables::parser::nft_json {

std::optional<nft::Script> Reader::script(const json& root) {
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

bool Reader::is_verb(const std::string& k) {
    for (const char* v :
         {"add", "create", "insert", "replace", "delete", "destroy", "flush", "list", "reset"})
        if (k == v) return true;
    return false;
}

std::optional<Command> Reader::command(const std::string& verb, const std::string& kind, const json& b,
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

std::optional<nft::ChainBody> Reader::chain_body(const json& b, const SourceLoc& l) {
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

std::optional<nft::SetBody> Reader::set_body(const json& b, const SourceLoc& l) {
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

}  // namespace bpftables::parser::nft_json
