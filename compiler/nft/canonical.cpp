#include "compiler/nft/canonical.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <unordered_set>

#include "parser/nft_parser.hpp"

namespace bpftables {
namespace {

namespace nft = parser::nft;
using K = nft::Expr::Kind;
using SK = nft::Statement::Kind;
using O = nft::Command::Object;

// The priority as written, but as its number where nft 1.0.6 refuses the name although the kernel takes the
// chain: dstnat off prerouting, srcnat off postrouting (Docker writes `type nat hook output priority dstnat`).
std::string priority_text(const nft::Hook& h) {
    bool dst = h.priority.rfind("dstnat", 0) == 0, src = h.priority.rfind("srcnat", 0) == 0;
    if ((dst && h.hook != "prerouting") || (src && h.hook != "postrouting"))
        if (std::optional<int> p = nft_priority(h.priority)) return std::to_string(*p);
    return h.priority;
}

std::string expr_only(const nft::Expr& e);

struct Table {
    std::string family, name;
    std::vector<nft::ObjectDef> objects;  // kept as written, for the kernel's copy
    std::vector<nft::SetDef> sets;
    std::vector<nft::ChainDef> chains;
};

// Folds a script's commands into the tables they leave.
class Folder {
  public:
    Folder(Diagnostics& diags, bool json) : diags_(diags), json_(json) {}

    std::optional<std::vector<Table>> run(const nft::Script& script) {
        bool ok = true;
        for (const nft::Command& c : script.commands) ok = command(c) && ok;
        if (!ok) return std::nullopt;
        return tables_;
    }

  private:
    bool error(const SourceLoc& loc, const std::string& message) {
        diags_.error(loc, message + " (bpftables-restore)");
        return false;
    }

    Table* table(const nft::Command& c, bool create) {
        for (Table& t : tables_)
            if (t.family == c.family && t.name == c.table) return &t;
        if (!create) return error(c.loc, "no table " + c.family + " " + c.table), nullptr;
        tables_.push_back({c.family, c.table, {}, {}, {}});
        return &tables_.back();
    }

    std::optional<nft::Expr> resolve(const nft::Expr& e, int depth = 0) {
        if (depth > 16) return error(e.loc, "variables nest too deeply"), std::nullopt;
        if (e.kind == K::variable) {
            auto it = vars_.find(e.text);
            if (it == vars_.end()) return error(e.loc, "unknown variable $" + e.text), std::nullopt;
            std::optional<nft::Expr> r = resolve(it->second, depth + 1);
            if (r) r->loc = e.loc, r->length = e.length;
            return r;
        }
        nft::Expr out = e;
        out.args.clear();
        for (const nft::Expr& a : e.args) {
            std::optional<nft::Expr> r = resolve(a, depth);
            if (!r) return std::nullopt;
            if (r->kind == K::set && out.kind == K::set)  // a set variable inside a set: its elements
                for (nft::Expr& x : r->args) out.args.push_back(std::move(x));
            else
                out.args.push_back(std::move(*r));
        }
        return out;
    }

    bool resolve_rule(nft::Rule& r) {
        for (nft::Statement& s : r.statements) {
            if (json_ && s.kind == SK::other &&
                (s.keyword == "snat" || s.keyword == "dnat" || s.keyword == "redirect" ||
                 s.keyword == "tproxy" || s.keyword == "dup" || s.keyword == "fwd" || s.keyword == "queue"))
                return error(s.loc, "the arguments of \"" + s.keyword +
                                        "\" are not kept from nft JSON; give this ruleset as nft text");
            for (nft::Expr* e : {&s.lhs, &s.rhs}) {
                std::optional<nft::Expr> r2 = resolve(*e);
                if (!r2) return false;
                *e = std::move(*r2);
            }
            if (s.mask) {
                std::optional<nft::Expr> m = resolve(*s.mask);
                if (!m) return false;
                s.mask = std::move(*m);
            }
            for (nft::Expr& a : s.args) {
                std::optional<nft::Expr> r2 = resolve(a);
                if (!r2) return false;
                a = std::move(*r2);
                if (s.kind == SK::log && a.kind == K::string) {  // log prefix "... $var ..."
                    std::string unknown;
                    std::optional<std::string> text = parser::expand_variables(a.text, vars_, unknown);
                    if (!text) return error(a.loc, "unknown variable $" + unknown);
                    a.text = *text;
                }
            }
        }
        return true;
    }

    bool resolve_hook(nft::ChainBody& b) {
        if (!b.hook) return true;
        std::string& p = b.hook->priority;
        if (!p.empty() && p[0] == '$') {
            auto it = vars_.find(p.substr(1));
            if (it == vars_.end()) return error(b.hook->priority_loc, "unknown variable " + p);
            p = it->second.text;
        }
        return true;
    }

    bool chain(Table& t, const nft::ChainDef& def) {
        auto it = std::find_if(t.chains.begin(), t.chains.end(),
                               [&](const nft::ChainDef& c) { return c.name == def.name; });
        if (it == t.chains.end()) {
            t.chains.push_back({def.name, def.loc, {}});
            it = t.chains.end() - 1;
        }
        nft::ChainBody body = def.body;
        if (!resolve_hook(body)) return false;
        if (body.hook) it->body.hook = body.hook;
        if (body.policy) it->body.policy = body.policy;
        for (nft::Rule& r : body.rules) {
            if (!resolve_rule(r)) return false;
            it->body.rules.push_back(std::move(r));
        }
        return true;
    }

    bool set(Table& t, const std::string& name, const SourceLoc& loc, const nft::SetBody& body, bool is_map,
             bool elements_only) {
        auto it =
            std::find_if(t.sets.begin(), t.sets.end(), [&](const nft::SetDef& s) { return s.name == name; });
        if (it == t.sets.end()) {
            if (elements_only) return error(loc, "no set " + name);
            t.sets.push_back({name, is_map, loc, body});
            it = t.sets.end() - 1;
            it->body.elements.reset();
        } else if (!elements_only) {
            nft::SetBody merged = body;
            merged.elements = it->body.elements;
            it->body = std::move(merged);
        }
        if (body.elements) {
            std::optional<nft::Expr> e = resolve(*body.elements);
            if (!e) return false;
            if (!it->body.elements) {
                it->body.elements = std::move(*e);
                return true;
            }
            // An element the set has already is not added again (nft keeps one); a map's element with
            // another value is refused, as the kernel refuses it (EEXIST).
            std::vector<nft::Expr>& kept = it->body.elements->args;
            std::unordered_set<std::string> keys;
            for (const nft::Expr& x : kept) keys.insert(nft_element_key(x));
            for (nft::Expr& x : e->args) {
                if (keys.insert(nft_element_key(x)).second) {
                    kept.push_back(std::move(x));
                    continue;
                }
                if (x.kind != K::mapping) continue;  // a set's element has no value to differ
                std::string text = expr_only(x);
                bool same = std::any_of(kept.begin(), kept.end(),
                                        [&](const nft::Expr& k) { return expr_only(k) == text; });
                if (!same)
                    return error(x.loc, "element " + nft_element_key(x) + " of " + name +
                                            " exists with another value (delete it first)");
            }
        }
        return true;
    }

    // delete (destroy) element: the elements of the set with these keys go; a key the set does not have is an
    // error for delete, as in nft (ENOENT), and nothing for destroy.
    bool delete_elements(Table& t, const nft::Command& c) {
        auto it = std::find_if(t.sets.begin(), t.sets.end(),
                               [&](const nft::SetDef& s) { return s.name == c.name; });
        if (it == t.sets.end()) return error(c.loc, "no set " + c.name);
        if (!c.set_body || !c.set_body->elements) return true;
        std::optional<nft::Expr> e = resolve(*c.set_body->elements);
        if (!e) return false;
        std::unordered_set<std::string> gone;
        for (const nft::Expr& x : e->args) gone.insert(nft_element_key(x));
        std::vector<nft::Expr> none;
        std::vector<nft::Expr>& kept = it->body.elements ? it->body.elements->args : none;
        size_t before = kept.size();
        std::unordered_set<std::string> found;
        std::erase_if(kept, [&](const nft::Expr& x) {
            std::string key = nft_element_key(x);
            return gone.count(key) && found.insert(key).second;
        });
        if (c.verb == "delete" && before - kept.size() != gone.size())
            for (const nft::Expr& x : e->args)
                if (!found.count(nft_element_key(x)))
                    return error(x.loc, "element " + nft_element_key(x) + " is not in set " + c.name);
        return true;
    }

    bool command(const nft::Command& c) {
        switch (c.object) {
            case O::define:
                if (c.verb != "add") return error(c.loc, "undefine is not supported");
                vars_[c.name] = *c.value;
                return true;
            case O::include:
                return error(c.loc, "include \"" + c.name +
                                        "\" is not supported: give the included rulesets as one file");
            case O::ruleset:
                if (c.verb != "flush") return error(c.loc, c.verb + " ruleset is not supported");
                tables_.clear();
                return true;
            case O::object:
                return error(c.loc, c.object_kind + " " + c.name +
                                        ": stateful objects are not kept (bpftables does not compile them)");
            default:
                break;
        }
        // Tables bpftables does not compile (ip6, arp, bridge, netdev) are kept for the kernel's copy, which
        // is their only one; not from JSON, whose reader keeps some statements by their keyword alone.
        if (json_ && c.family != "ip" && c.family != "inet")
            return error(
                c.loc, "table " + c.family + " " + c.table +
                           ": from nft JSON only ip and inet tables are kept; give this ruleset as nft text");
        if ((c.verb == "delete" || c.verb == "destroy") && c.object == O::element) {
            Table* t = table(c, false);
            return t && delete_elements(*t, c);
        }
        if (c.verb == "delete" || c.verb == "destroy") {
            if (c.object != O::table)
                return error(c.loc, c.verb + " of anything but a table or elements is not supported");
            auto it = std::remove_if(tables_.begin(), tables_.end(), [&](const Table& t) {
                return t.family == c.family && t.name == c.table;
            });
            if (it == tables_.end() && c.verb == "delete") return error(c.loc, "no table " + c.table);
            tables_.erase(it, tables_.end());
            return true;
        }
        if (c.verb != "add" && c.verb != "create" && c.verb != "flush" && c.verb != "insert")
            return error(c.loc, c.verb + " is not supported in a ruleset");
        Table* t = table(c, c.verb != "flush");
        if (!t) return false;
        if (c.verb == "flush") {
            if (c.object == O::table) {
                for (nft::ChainDef& ch : t->chains) ch.body.rules.clear();
                return true;
            }
            if (c.object == O::chain)
                for (nft::ChainDef& ch : t->chains)
                    if (ch.name == c.name) return ch.body.rules.clear(), true;
            return error(c.loc, "flush of this object is not supported");
        }
        switch (c.object) {
            case O::table: {
                if (!c.table_body) return true;
                for (const nft::ObjectDef& o : c.table_body->objects) {  // as written, for the kernel's copy
                    if (o.body.empty())
                        return error(o.loc,
                                     o.kind + " " + o.name +
                                         ": stateful objects are kept from nft text only (as written)");
                    auto same = std::find_if(
                        t->objects.begin(), t->objects.end(),
                        [&](const nft::ObjectDef& x) { return x.kind == o.kind && x.name == o.name; });
                    if (same != t->objects.end())
                        *same = o;
                    else
                        t->objects.push_back(o);
                }
                bool ok = true;
                for (const nft::SetDef& s : c.table_body->sets)
                    ok = set(*t, s.name, s.loc, s.body, s.is_map, false) && ok;
                for (const nft::ChainDef& ch : c.table_body->chains) ok = chain(*t, ch) && ok;
                return ok;
            }
            case O::chain:
                return chain(*t, {c.name, c.loc, c.chain_body ? *c.chain_body : nft::ChainBody{}});
            case O::rule: {
                auto ch = std::find_if(t->chains.begin(), t->chains.end(),
                                       [&](const nft::ChainDef& d) { return d.name == c.name; });
                if (ch == t->chains.end()) return error(c.loc, "no chain " + c.name + " in table " + c.table);
                if (!c.rule) return error(c.loc, "a rule command without a rule");
                nft::Rule r = *c.rule;
                if (!resolve_rule(r)) return false;
                auto& rules = ch->body.rules;
                rules.insert(c.verb == "insert" ? rules.begin() : rules.end(), std::move(r));
                return true;
            }
            case O::set:
                return set(*t, c.name, c.loc, c.set_body ? *c.set_body : nft::SetBody{}, c.is_map, false);
            case O::element:
                return set(*t, c.name, c.loc, *c.set_body, false, true);
            default:
                return error(c.loc, "this command is not supported");
        }
    }

    Diagnostics& diags_;
    bool json_;
    std::vector<Table> tables_;
    std::map<std::string, nft::Expr> vars_;
};

std::string name(const std::string& n) {
    bool plain = !n.empty() && (std::isalpha(static_cast<unsigned char>(n[0])) || n[0] == '_');
    for (char c : n) plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
    return plain ? n : "\"" + n + "\"";
}

std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string expr_only(const nft::Expr& e);

}  // namespace

std::string nft_element_key(const nft::Expr& e) {
    return expr_only(e.kind == K::mapping ? e.args.at(0) : e);
}

namespace {

// An expression, with a set element's options after it.
std::string expr(const nft::Expr& e) {
    return e.elem_options.empty() ? expr_only(e) : expr_only(e) + " " + e.elem_options;
}

std::string expr_only(const nft::Expr& e) {
    auto join = [&](const std::string& sep) {
        std::string out;
        for (size_t i = 0; i < e.args.size(); ++i) out += (i ? sep : "") + expr(e.args[i]);
        return out;
    };
    switch (e.kind) {
        case K::value:
        case K::selector:
            return e.text;
        case K::string:
            return quoted(e.text);
        case K::variable:
            return "$" + e.text;
        case K::set_ref:
            return "@" + e.text;
        case K::set:
            return e.args.empty() ? "{ }" : "{ " + join(", ") + " }";
        case K::mapping:
            return join(" : ");
        case K::concat:
            return join(" . ");
        case K::binop: {
            // Left-associative: a | b | c is (a | b) | c; any other nesting keeps its parentheses, as in
            // tcp flags & (syn | ack) == syn.
            std::string l = expr(e.args.at(0)), r = expr(e.args.at(1));
            if (e.args[0].kind == K::binop && e.args[0].text != e.text) l = "(" + l + ")";
            if (e.args[1].kind == K::binop) r = "(" + r + ")";
            return l + " " + e.text + " " + r;
        }
        case K::list:
            return join(",");
        case K::map:
            return join(" map ");
        case K::verdict:
            return e.text + (e.args.empty() ? "" : " " + name(e.args[0].text));
    }
    return e.text;
}

std::string statement(const nft::Statement& s, const std::optional<ir::Counters>& counters) {
    std::string out;
    switch (s.kind) {
        case SK::relation:
            out = expr(s.lhs) + (s.keyword.empty() ? "" : " " + s.keyword) + " " + expr(s.rhs);
            if (s.mask) out += " / " + expr(*s.mask);
            return out;
        case SK::vmap:
            return expr(s.lhs) + " vmap " + expr(s.rhs);
        case SK::set:
            return expr(s.lhs) + " set " + expr(s.rhs);
        case SK::verdict:
            return s.keyword + (s.args.empty() ? "" : " " + name(s.args[0].text));
        case SK::counter:
            if (s.args.size() == 1) return "counter name " + name(s.args[0].text);
            if (counters)
                return "counter packets " + std::to_string(counters->packets) + " bytes " +
                       std::to_string(counters->bytes);
            if (s.args.size() == 2) return "counter packets " + s.args[0].text + " bytes " + s.args[1].text;
            return "counter";
        case SK::comment:
            return "comment " + quoted(s.args.empty() ? "" : s.args[0].text);
        case SK::log: {
            out = "log";
            for (size_t i = 0; i < s.args.size(); ++i) {
                const std::string& option = s.args[i].text;
                out += " " + option;
                if (i + 1 < s.args.size() && s.args[i + 1].kind == K::string) {
                    const std::string& v = s.args[++i].text;
                    out += " " + (option == "prefix" ? quoted(v) : v);
                }
            }
            return out;
        }
        case SK::reject:
            out = "reject";
            if (!s.args.empty()) out += " with";
            for (const nft::Expr& a : s.args) out += " " + a.text;
            return out;
        case SK::other:
            out = s.keyword;
            for (const nft::Expr& a : s.args) out += " " + expr(a);
            return out;
    }
    return out;
}

std::string join_words(const std::vector<std::string>& w, const std::string& sep) {
    std::string out;
    for (size_t i = 0; i < w.size(); ++i) out += (i ? sep : "") + w[i];
    return out;
}

std::string print(const std::vector<Table>& tables, const NftCounters& counters) {
    std::string out;
    for (const Table& t : tables) {
        out += "table " + t.family + " " + name(t.name) + " {\n";
        bool first = true;
        for (const nft::ObjectDef& o : t.objects) {
            if (!first) out += "\n";
            first = false;
            out += "\t" + o.kind + " " + name(o.name) + " " + o.body + "\n";
        }
        for (const nft::SetDef& s : t.sets) {
            if (!first) out += "\n";
            first = false;
            out += std::string("\t") + (s.is_map ? "map " : "set ") + name(s.name) + " {\n";
            const nft::SetBody& b = s.body;
            if (!b.key_type.empty()) {
                out +=
                    std::string("\t\t") + (b.typeof_ ? "typeof " : "type ") + join_words(b.key_type, " . ");
                if (!b.data_type.empty()) out += " : " + join_words(b.data_type, " . ");
                out += "\n";
            }
            if (!b.flags.empty()) out += "\t\tflags " + join_words(b.flags, ",") + "\n";
            for (const std::string& a : b.attrs) out += "\t\t" + a + "\n";
            if (b.elements && !b.elements->args.empty()) out += "\t\telements = " + expr(*b.elements) + "\n";
            out += "\t}\n";
        }
        for (const nft::ChainDef& c : t.chains) {
            if (!first) out += "\n";
            first = false;
            out += "\tchain " + name(c.name) + " {\n";
            if (const auto& h = c.body.hook) {
                out += "\t\ttype " + h->type + " hook " + h->hook;
                if (!h->device.empty())  // the text keeps the words "device X", JSON the name
                    out += (h->device.rfind("device", 0) == 0 ? " " : " device ") + h->device;
                out +=
                    " priority " + priority_text(*h) + "; policy " + c.body.policy.value_or("accept") + ";\n";
            } else if (c.body.policy) {
                out += "\t\tpolicy " + *c.body.policy + ";\n";
            }
            for (const nft::Rule& r : c.body.rules) {
                std::optional<ir::Counters> values = counters ? counters(r.loc) : std::nullopt;
                std::string line;
                for (const nft::Statement& s : r.statements)
                    line += (line.empty() ? "" : " ") + statement(s, values);
                out += "\t\t" + line + "\n";
            }
            out += "\t}\n";
        }
        out += "}\n";
    }
    return out;
}

}  // namespace

std::optional<std::string> canonical_nft(const parser::nft::Script& script, Diagnostics& diags, bool json) {
    std::optional<std::vector<Table>> tables = Folder(diags, json).run(script);
    if (!tables) return std::nullopt;
    return print(*tables, nullptr);
}

std::string nft_statement_text(const parser::nft::Statement& s) {
    return statement(s, std::nullopt);
}

std::string print_nft(const parser::nft::Script& canonical, const NftCounters& counters) {
    Diagnostics ignored;
    std::optional<std::vector<Table>> tables = Folder(ignored, false).run(canonical);
    return tables ? print(*tables, counters) : std::string();
}

std::optional<int> nft_priority(const std::string& t) {
    static const std::pair<std::string_view, int> names[] = {
        {"raw", -300}, {"mangle", -150}, {"dstnat", -100}, {"filter", 0}, {"security", 50}, {"srcnat", 100}};
    char* end = nullptr;
    long n = std::strtol(t.c_str(), &end, 10);
    if (end && *end == 0 && !t.empty()) return static_cast<int>(n);
    size_t sp = t.find(' ');
    for (const auto& [name, base] : names) {
        if (t.compare(0, sp, name) != 0) continue;
        if (sp == std::string::npos) return base;
        int off = std::atoi(t.c_str() + sp + 3);
        return t[sp + 1] == '-' ? base - off : base + off;
    }
    return std::nullopt;
}

}  // namespace bpftables
