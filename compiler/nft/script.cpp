// The nft lowering's script commands (ScriptLowering): the walk over a script's table, chain, set, map,
// element and rule commands, flush, delete and define, into the tables of the program; and the public
// entry points of compiler/nft/lower.hpp.
#include "compiler/nft/lower.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <set>

#include "compiler/nft/canonical.hpp"
#include "compiler/nft/check.hpp"
#include "compiler/nft/rule.hpp"
#include "compiler/nft/sets.hpp"
#include "compiler/values.hpp"
#include "parser/nft_json.hpp"
#include "parser/nft_parser.hpp"

namespace bpftables {
namespace nft {
namespace {

std::optional<int> priority_of(const std::string& text, const Scope& scope) {
    std::string t = text;
    if (!t.empty() && t[0] == '$') {
        auto it = scope.vars.find(t.substr(1));
        if (it == scope.vars.end() || it->second.kind != K::value) return std::nullopt;
        t = it->second.text;
    }
    return nft_priority(t);
}

class ScriptLowering {
  public:
    ScriptLowering(Diagnostics& diags, bool kernel_decides)
        : diags_(diags), kernel_decides_(kernel_decides) {}

    std::optional<ir::Program> run(const parser::nft::Script& script) {
        bool ok = true;
        find_kernel_sets(script);
        for (const auto& c : script.commands) ok &= command(c);
        if (!ok || !named_set_maps()) return std::nullopt;
        for (const ir::Table& t : program_.tables)  // jumps stay inside their table
            for (const ir::Chain& ch : t.chains)
                for (const ir::Rule& r : ch.rules)
                    for (const std::string& to : ir::target_chains(r.target)) {
                        if (!t.find(to))
                            ok = error(r.target_loc, "no chain \"" + to + "\" in table " + t.name);
                        if (t.find(to) && t.find(to)->nft_hook)
                            ok = error(r.target_loc, "cannot jump to base chain \"" + to + "\"");
                    }
        if (!ok) return std::nullopt;
        // nft's payload expressions do not match a header cut short: the kernel's copy decides such packets
        program_.short_headers = ir::ShortHeaders::kernel;
        return program_;
    }

  private:
    using Command = parser::nft::Command;
    using O = Command::Object;

    void find_kernel_sets(const parser::nft::Script& script) {
        auto declared = [&](const std::string& name, const parser::nft::SetBody& b) {
            bool changes = false;
            for (const std::string& f : b.flags) changes |= f == "dynamic" || f == "timeout";
            for (const std::string& a : b.attrs) changes |= a.rfind("timeout", 0) == 0;
            if (b.elements) changes |= stateful_elements(*b.elements);
            if (changes) scope_.kernel_sets.insert(name);
        };
        auto written = [&](const parser::nft::Rule& r) {
            for (const Statement& st : r.statements)
                if (st.kind == Statement::Kind::other &&
                    (st.keyword == "add" || st.keyword == "update" || st.keyword == "delete"))
                    for (const Expr& a : st.args)
                        if (a.kind == K::set_ref) scope_.kernel_sets.insert(a.text);
        };
        for (const Command& c : script.commands) {
            if (c.table_body) {
                for (const auto& set : c.table_body->sets) declared(set.name, set.body);
                for (const auto& ch : c.table_body->chains)
                    for (const auto& r : ch.body.rules) written(r);
            }
            if (c.set_body && c.object == O::set) declared(c.name, *c.set_body);
            if (c.chain_body)
                for (const auto& r : c.chain_body->rules) written(r);
            if (c.rule) written(*c.rule);
        }
    }

    // The maps of the named sets and verdict maps the rules look up, from their elements once the whole
    // script is read (generators add elements after the rules), keyed as the first rule that reads each one;
    // a named map's verdicts go into every rule that reads it.
    bool named_set_maps() {
        bool ok = true;
        std::map<std::string, std::vector<ir::VmapVerdict>> verdicts;
        auto build = [&](const std::string& name, const std::vector<ir::KeyPart>& key, const SourceLoc& at,
                         bool map) {
            if (program_.find_nft_set(name)) return;
            std::string why;
            auto elements = scope_.elements.find(name);
            std::optional<ir::NftSet> set =
                build_nft_set(name, at, key, scope_.interval_sets.count(name) > 0,
                              elements == scope_.elements.end() ? std::vector<Expr>{} : elements->second, map,
                              &verdicts[name], why);
            if (!set) {
                ok = error(at, "@" + name + ": " + why + " is not supported in a set a rule looks up");
                return;
            }
            program_.nft_sets.push_back(std::move(*set));
        };
        // Anonymous maps are named by their place in the program ("__vmap0", ...), the same from nft text and
        // JSON (the lowering named them by source position).
        std::map<std::string, std::string> anonymous;
        for (ir::Table& t : program_.tables)
            for (ir::Chain& ch : t.chains)
                for (ir::Rule& r : ch.rules)
                    if (auto* v = std::get_if<ir::VmapTarget>(&r.target);
                        v && v->map.starts_with("__vmap_")) {
                        auto it =
                            anonymous.emplace(v->map, "__vmap" + std::to_string(anonymous.size())).first;
                        v->map = it->second;
                    }
        std::vector<ir::NftSet> kept;
        for (ir::NftSet& s : program_.nft_sets)
            if (auto it = anonymous.find(s.name); it != anonymous.end()) {
                s.name = it->second;
                kept.push_back(std::move(s));
            }
        program_.nft_sets = std::move(kept);
        for (ir::Table& t : program_.tables)
            for (ir::Chain& ch : t.chains)
                for (ir::Rule& r : ch.rules) {
                    for (size_t i = 0; i < r.matches.size(); ++i)
                        if (const auto* m = std::get_if<ir::NftSetMatch>(&r.matches[i]))
                            build(m->set, m->key, r.match_locs[i], false);
                    if (auto* v = std::get_if<ir::VmapTarget>(&r.target);
                        v && !v->map.starts_with("__vmap")) {
                        build(v->map, v->key, r.target_loc, true);
                        v->verdicts = verdicts[v->map];
                    }
                }
        // Room for the elements a later `add element` adds in place (runtime/elements.hpp): the set's
        // declared `size`, else twice its elements and at least 1024. Anonymous maps never change.
        auto room = [&](const std::string& name, size_t n) {
            auto size = scope_.sizes.find(name);
            size_t want = size != scope_.sizes.end() ? size->second : std::max<size_t>(2 * n, 1024);
            return static_cast<uint32_t>(std::min<size_t>(std::max(want, n), UINT32_MAX));
        };
        for (ir::NftSet& s : program_.nft_sets)
            if (!s.name.starts_with("__vmap")) s.capacity = room(s.name, s.elements.size());
        for (ir::IpSet& s : program_.sets) s.capacity = room(s.name, s.members.size());
        return ok;
    }

    bool error(const SourceLoc& loc, const std::string& m) {
        diags_.error(loc, m);
        return false;
    }

    ir::Table* table(const std::string& family, const std::string& name, const SourceLoc& loc, bool create) {
        for (ir::Table& t : program_.tables)
            if (t.name == name && t.family == family) return &t;
        for (const ir::Table& t : program_.tables)
            if (t.name == name)
                return error(loc, "tables \"" + name + "\" of two families are not supported"), nullptr;
        if (!create) return error(loc, "no table " + family + " " + name), nullptr;
        ir::Table t;
        t.name = name;
        t.family = family;
        t.loc = loc;
        program_.tables.push_back(std::move(t));
        return &program_.tables.back();
    }

    // ip and inet are compiled; the other families are reported once per table and skipped.
    bool compiled_family(const Command& c) {
        if (c.family == "ip" || c.family == "inet") return true;
        if (skipped_.insert(c.family + " " + c.table).second)
            diags_.warning(c.loc, "table " + c.family + " " + c.table +
                                      " is not compiled (only the ip and inet "
                                      "families are; IPv6 is not compiled yet)");
        return false;
    }

    bool chain(ir::Table& t, const std::string& name, const SourceLoc& loc,
               const parser::nft::ChainBody* body) {
        if (name.empty() || name.size() > 255) return error(loc, "chain names are 1 to 255 characters");
        ir::Chain* ch = t.find(name);
        if (!ch) {
            t.chains.push_back(ir::Chain{});
            ch = &t.chains.back();
            ch->name = name;
            ch->loc = loc;
        }
        if (!body) return true;
        bool ok = true;
        if (body->hook) {
            std::optional<int> prio = priority_of(body->hook->priority, scope_);
            if (!prio)
                return error(body->hook->priority_loc, "bad chain priority \"" + body->hook->priority + "\"");
            ch->nft_hook = ir::NftHook{body->hook->type, body->hook->hook, body->hook->device, *prio};
            ch->policy = ir::Policy::accept;
        }
        if (body->policy) {
            std::string p = *body->policy;
            if (!p.empty() && p[0] == '$') {
                auto it = scope_.vars.find(p.substr(1));
                p = it == scope_.vars.end() ? "" : it->second.text;
            }
            if (!ch->nft_hook) return error(body->policy_loc, "only a base chain has a policy");
            if (p == "accept")
                ch->policy = ir::Policy::accept;
            else if (p == "drop")
                ch->policy = ir::Policy::drop;
            else
                return error(body->policy_loc, "bad policy \"" + *body->policy + "\" (accept or drop)");
        }
        for (const auto& r : body->rules) ok &= rule(*ch, r, false);
        return ok;
    }

    bool rule(ir::Chain& ch, const parser::nft::Rule& r, bool insert) {
        // nat statements: in nat base chains, and in user chains (jumped to from nat base chains, the kernel
        // checks; passes/check_targets.cpp refuses them where a compiled chain reaches them)
        bool nat_chain = !ch.nft_hook || ch.nft_hook->type == "nat";
        RuleLowering lowering(scope_, diags_, nat_chain, kernel_decides_);
        std::optional<std::vector<ir::Rule>> rules = lowering.run(r);
        if (!rules) return false;
        for (ir::NftSet& s : lowering.anonymous_sets())
            if (!program_.find_nft_set(s.name)) program_.nft_sets.push_back(std::move(s));
        ch.rules.insert(insert ? ch.rules.begin() : ch.rules.end(), rules->begin(), rules->end());
        return true;
    }

    bool set(const std::string& name, const SourceLoc& loc, const parser::nft::SetBody& body, bool is_map) {
        std::string key;
        for (const std::string& k : body.key_type) key += (key.empty() ? "" : " . ") + k;
        if (body.typeof_ && key == "ip saddr") key = "ipv4_addr";
        if (body.typeof_ && key == "ip daddr") key = "ipv4_addr";
        if (key.empty() && !scope_.sets.count(name))
            return error(loc, "set " + name + " has no type (give it \"type ...\" or \"typeof ...\")");
        if (key.empty()) key = scope_.sets[name];
        if (auto it = scope_.sets.find(name);
            it != scope_.sets.end() && !body.key_type.empty() && it->second != (is_map ? "map" : key))
            return error(loc, "set " + name + " is declared again with another type");
        for (const std::string& d : body.data_type)  // object maps: stateful objects are not compiled
            if (!body.typeof_ &&
                (d == "counter" || d == "quota" || d == "limit" || d == "ct helper" || d == "ct timeout" ||
                 d == "ct expectation" || d == "secmark" || d == "synproxy"))
                return error(loc, "map " + name + " of " + d + " objects is not supported");
        if (is_map && body.data_type.empty() && key != "map")
            return error(loc, "map " + name + " has no data type (\"type KEY : DATA\")");
        if (body.elements)
            for (const Expr& e : body.elements->args)
                if ((e.kind == K::mapping) != is_map)
                    return diags_.error(e.loc,
                                        is_map ? "a map's element needs \"key : value\""
                                               : "a set's element cannot have a \": value\"",
                                        e.length),
                           false;
        if (is_map) key = "map";
        scope_.sets[name] = key;
        for (const std::string& a : body.attrs)
            if (a.starts_with("size "))
                scope_.sizes[name] = static_cast<uint32_t>(std::strtoul(a.c_str() + 5, nullptr, 10));
        if (std::find(body.flags.begin(), body.flags.end(), "interval") != body.flags.end())
            scope_.interval_sets.insert(name);
        // Elements added to a set that has some: those of a key it has add nothing (canonical.cpp, as nft).
        std::vector<Expr>& kept = scope_.elements[name];
        size_t first_added = kept.size();
        if (body.elements && kept.empty()) {
            kept = body.elements->args;
        } else if (body.elements) {
            std::set<std::string> keys;
            for (const Expr& e : kept) keys.insert(nft_element_key(e));
            for (const Expr& e : body.elements->args)
                if (keys.insert(nft_element_key(e)).second) kept.push_back(e);
        }
        if (key != "ipv4_addr") return true;  // read by value where a rule reads it (named_elements)
        ir::IpSet* s = nullptr;
        for (ir::IpSet& x : program_.sets)
            if (x.name == name) s = &x;
        if (!s) {
            program_.sets.push_back(ir::IpSet{name, "hash:net", loc, {}});
            s = &program_.sets.back();
        }
        for (size_t i = first_added; i < kept.size(); ++i) {  // a range as its prefixes
            const Expr& e = kept[i];
            std::vector<ir::NftSet::Element> prefixes;
            std::string why;
            if (e.kind != K::value || !element_keys({ir::KeyPart{}}, true, e, prefixes, why))
                return diags_.error(e.loc,
                                    "set element \"" + e.text +
                                        "\" is not supported (addresses, prefixes and ranges only)",
                                    e.length),
                       false;
            for (const ir::NftSet::Element& p : prefixes) s->members.push_back(member(p));
        }
        return true;
    }

    // delete (destroy) element: the elements with these keys (canonical.hpp: nft_element_key) leave the set;
    // an address set's members are its remaining elements'.
    bool delete_elements(const Command& c) {
        if (!scope_.sets.count(c.name)) return error(c.loc, "no set " + c.name);
        if (!c.set_body || !c.set_body->elements) return true;
        std::set<std::string> gone;
        for (const Expr& e : c.set_body->elements->args) gone.insert(nft_element_key(e));
        std::vector<Expr>& kept = scope_.elements[c.name];
        std::erase_if(kept, [&](const Expr& e) { return gone.count(nft_element_key(e)) > 0; });
        for (ir::IpSet& s : program_.sets) {
            if (s.name != c.name) continue;
            s.members.clear();
            for (const Expr& e : kept) {
                std::vector<ir::NftSet::Element> prefixes;
                std::string why;
                if (!element_keys({ir::KeyPart{}}, true, e, prefixes, why)) continue;
                for (const ir::NftSet::Element& p : prefixes) s.members.push_back(member(p));
            }
        }
        return true;
    }

    static ir::Ipv4Net member(const ir::NftSet::Element& p) {
        uint32_t mask = values::prefix_mask(static_cast<int>(p.prefix));
        uint32_t a = static_cast<uint32_t>(p.key[0]) << 24 | p.key[1] << 16 | p.key[2] << 8 | p.key[3];
        return ir::Ipv4Net{a & mask, mask};
    }

    bool command(const Command& c) {
        switch (c.object) {
            case O::define: {
                if (c.verb != "add") return error(c.loc, "undefine is not supported");
                scope_.vars[c.name] = *c.value;
                return true;
            }
            case O::include:
                return error(c.loc, "include \"" + c.name +
                                        "\" is not supported: give the included rulesets as one file");
            case O::ruleset:
                if (c.verb == "flush") {
                    program_ = {};
                    scope_.interval_sets.clear();
                    scope_.sets.clear();
                    scope_.elements.clear();
                    scope_.sizes.clear();
                    return true;
                }
                return error(c.loc, c.verb + " ruleset is not supported");
            default:
                break;
        }
        if (!compiled_family(c)) return true;
        if ((c.verb == "delete" || c.verb == "destroy") && c.object == O::element) return delete_elements(c);
        if (c.verb == "delete" || c.verb == "destroy") {
            if (c.object != O::table)
                return error(c.loc, c.verb + " of anything but a table or elements is not supported");
            auto it = std::remove_if(program_.tables.begin(), program_.tables.end(), [&](const ir::Table& t) {
                return t.name == c.table && t.family == c.family;
            });
            if (it == program_.tables.end() && c.verb == "delete") return error(c.loc, "no table " + c.table);
            program_.tables.erase(it, program_.tables.end());
            return true;
        }
        if (c.verb == "list" || c.verb == "reset" || c.verb == "replace")
            return error(c.loc, c.verb + " is not supported in a ruleset");
        ir::Table* t = table(c.family, c.table, c.loc, c.verb != "flush");
        if (!t) return false;
        if (c.verb == "flush") {
            if (c.object == O::table)
                for (ir::Chain& ch : t->chains) ch.rules.clear();
            else if (c.object == O::chain) {
                ir::Chain* ch = t->find(c.name);
                if (!ch) return error(c.loc, "no chain " + c.name);
                ch->rules.clear();
            } else {
                return error(c.loc, "flush of this object is not supported");
            }
            return true;
        }
        switch (c.object) {
            case O::table: {
                if (!c.table_body) return true;
                bool ok = true;
                for (const auto& s : c.table_body->sets) ok &= set(s.name, s.loc, s.body, s.is_map);
                for (const auto& ch : c.table_body->chains) ok &= chain(*t, ch.name, ch.loc, nullptr);
                for (const auto& ch : c.table_body->chains) ok &= chain(*t, ch.name, ch.loc, &ch.body);
                for (const auto& o : c.table_body->objects)
                    diags_.warning(o.loc, o.kind + " " + o.name +
                                              " is not compiled (stateful objects are not supported)");
                return ok;
            }
            case O::chain:
                return chain(*t, c.name, c.loc, c.chain_body ? &*c.chain_body : nullptr);
            case O::rule: {
                ir::Chain* ch = t->find(c.name);
                if (!ch) return error(c.loc, "no chain " + c.name + " in table " + c.table);
                if (!c.rule) return error(c.loc, "a rule command without a rule");
                return rule(*ch, *c.rule, c.verb == "insert");
            }
            case O::set:
                return set(c.name, c.loc, c.set_body ? *c.set_body : parser::nft::SetBody{}, c.is_map);
            case O::element: {
                auto it = scope_.sets.find(c.name);
                if (it == scope_.sets.end()) return error(c.loc, "no set " + c.name);
                return set(c.name, c.loc, *c.set_body, it->second == "map");
            }
            case O::object:
                diags_.warning(c.loc, c.object_kind + " " + c.name +
                                          " is not compiled (stateful objects are not supported)");
                return true;
            default:
                return true;
        }
    }

    Diagnostics& diags_;
    bool kernel_decides_ = false;
    ir::Program program_;
    Scope scope_;
    std::set<std::string> skipped_;
};

}  // namespace
}  // namespace nft

std::optional<ir::Program> lower_nft(const parser::nft::Script& script, Diagnostics& diags,
                                     bool kernel_decides) {
    if (!check_nft(script, diags)) return std::nullopt;
    return nft::ScriptLowering(diags, kernel_decides).run(script);
}

std::optional<std::vector<ir::Rule>> lower_nft_rule(const parser::nft::Rule& rule, Diagnostics& diags) {
    nft::Scope scope;
    return nft::RuleLowering(scope, diags).run(rule);
}

std::optional<ir::Program> parse_and_lower_nft(const std::string& text, const std::string& file,
                                               Diagnostics& diags, bool kernel_decides) {
    std::optional<parser::nft::Script> script = parser::parse_nft(text, file, diags);
    if (!script) return std::nullopt;
    return lower_nft(*script, diags, kernel_decides);
}

std::optional<ir::Program> parse_and_lower_nft_json(const std::string& text, const std::string& file,
                                                    Diagnostics& diags) {
    std::optional<parser::nft::Script> script = parser::parse_nft_json(text, file, diags);
    if (!script) return std::nullopt;
    return lower_nft(*script, diags);
}

bool looks_like_nft(const std::string& text) {
    // iptables-save input starts its meaningful lines with '*', ':', '-' or COMMIT; nft with a keyword.
    size_t i = 0;
    while (i < text.size()) {
        size_t e = text.find('\n', i);
        std::string_view line(text.data() + i, (e == std::string::npos ? text.size() : e) - i);
        i = e == std::string::npos ? text.size() : e + 1;
        size_t b = line.find_first_not_of(" \t\r");
        if (b == std::string_view::npos || line[b] == '#') continue;
        line = line.substr(b);
        return !(line[0] == '*' || line[0] == ':' || line[0] == '-' || line[0] == '[' ||
                 line.rfind("COMMIT", 0) == 0);
    }
    return false;
}

}  // namespace bpftables
