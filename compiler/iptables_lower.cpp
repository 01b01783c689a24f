// Lowering of a parsed iptables-save / iptables-restore script into the IR: tables, chains, policies, COMMIT
// and the restore commands (-A -I -D -R -N -X -F -Z -P -E) applied in order. Each rule's options are read by
// lower_rule_spec (compiler/iptables_rule.cpp).
#include "compiler/iptables_lower.hpp"

#include <algorithm>
#include <map>

#include "compiler/values.hpp"
#include "parser/iptables_parser.hpp"

namespace bpftables {

const std::vector<std::string>& builtin_chains(const std::string& table) {
    static const std::map<std::string, std::vector<std::string>> chains{
        {"filter", {"INPUT", "FORWARD", "OUTPUT"}},
        {"raw", {"PREROUTING", "OUTPUT"}},
        {"mangle", {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}},
        {"nat", {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"}},
        {"security", {"INPUT", "FORWARD", "OUTPUT"}},
    };
    static const std::vector<std::string> none;
    auto it = chains.find(table);
    return it == chains.end() ? none : it->second;
}

namespace {

using parser::Word;

// Applies the lines of one script to a program.
class Lowering {
  public:
    Lowering(Diagnostics& diags, const LowerOptions& options) : diags_(diags), options_(options) {
        if (options.noflush && options.base) program_ = *options.base;
        program_.family = options.family;
    }

    std::optional<ir::Program> run(const parser::Script& script) {
        for (const parser::Line& line : script.lines) {
            std::visit([this](const auto& l) { handle(l); }, line);
            if (diags_.has_errors()) return std::nullopt;
        }
        if (table_) {
            diags_.error(open_loc_, "COMMIT expected at the end of table '" + table_->name + "'");
            return std::nullopt;
        }
        return std::move(program_);
    }

  private:
    void handle(const parser::TableHeader& h) {
        if (table_) {
            diags_.error(h.loc,
                         "table '" + h.name + "' starts before COMMIT of table '" + table_->name + "'");
            return;
        }
        if (builtin_chains(h.name).empty()) {
            diags_.error({h.loc.file, h.loc.line, 2}, "table '" + h.name + "' does not exist",
                         static_cast<int>(h.name.size()));
            return;
        }
        open_loc_ = h.loc;
        skipping_ = !options_.only_table.empty() && options_.only_table != h.name;
        ir::Table* t = program_.find(h.name);
        if (!t) {
            program_.tables.push_back({h.name, h.loc, {}});
            t = &program_.tables.back();
        }
        if (!options_.noflush) {  // iptables-restore replaces the whole table: user chains go, policies stay
            std::vector<ir::Chain> kept;
            for (const std::string& name : builtin_chains(h.name)) {
                ir::Chain c{name, ir::Policy::accept, {}, h.loc, {}};
                if (const ir::Chain* old = t->find(name)) c.policy = old->policy;
                kept.push_back(std::move(c));
            }
            t->chains = std::move(kept);
        } else {
            for (const std::string& name : builtin_chains(h.name))
                if (!t->find(name)) t->chains.push_back({name, ir::Policy::accept, {}, h.loc, {}});
        }
        t->loc = h.loc;
        scratch_ = {};
        table_ = skipping_ ? &scratch_ : t;
        if (skipping_) scratch_ = *t;
    }

    void handle(const parser::ChainDecl& d) {
        if (!need_table(d.loc)) return;
        ir::Chain* c = table_->find(d.name);
        bool builtin = is_builtin(d.name);
        if (builtin) {
            if (!set_policy(*c, d.policy, d.policy_loc)) return;
            if (d.counters) c->policy_counters = {d.counters->packets, d.counters->bytes};
            c->loc = d.loc;
            return;
        }
        if (d.policy != "-") {
            diags_.error(d.policy_loc, "cannot set a policy on user-defined chain '" + d.name + "'",
                         static_cast<int>(d.policy.size()));
            return;
        }
        if (d.name.size() > 28) {
            diags_.error(d.loc, "chain name '" + d.name + "' is longer than 28 characters");
            return;
        }
        if (c) {
            if (!options_.noflush) diags_.error(d.loc, "chain '" + d.name + "' already exists");
            return;
        }
        table_->chains.push_back({d.name, ir::Policy::none, {}, d.loc, {}});
    }

    void handle(const parser::Commit& c) {
        if (!need_table(c.loc)) return;
        table_ = nullptr;
    }

    void handle(const parser::Command& cmd) {
        if (!need_table(cmd.loc)) return;
        const std::vector<Word>& w = cmd.words;
        const Word& verb = w[0];
        auto chain_arg = [&](size_t i, bool must_exist = true) -> ir::Chain* {
            if (i >= w.size()) {
                diags_.error(verb.loc, "option \"" + verb.text + "\" requires a chain name", verb.length);
                return nullptr;
            }
            ir::Chain* c = table_->find(w[i].text);
            if (!c && must_exist)
                diags_.error(w[i].loc, "chain '" + w[i].text + "' does not exist", w[i].length);
            return c;
        };
        auto rule_spec = [&](size_t from) -> std::optional<std::vector<ir::Rule>> {
            std::vector<Word> spec(w.begin() + static_cast<long>(std::min(from, w.size())), w.end());
            auto rules = lower_rule_spec(spec, table_->name, table_, diags_, options_.sets, options_.family);
            if (rules)
                for (ir::Rule& r : *rules) {
                    r.loc = cmd.loc;
                    if (cmd.counters) r.counters = ir::Counters{cmd.counters->packets, cmd.counters->bytes};
                }
            return rules;
        };
        auto index_arg = [&](size_t i, size_t& out) {
            uint32_t n;
            if (i < w.size() && values::parse_u32(w[i].text, n) && n > 0 &&
                w[i].text.find('x') == std::string::npos) {
                out = n;
                return true;
            }
            return false;
        };
        std::string v = verb.text;
        auto is = [&](std::string_view short_name, std::string_view long_name) {
            return v == short_name || v == long_name;
        };
        if (is("-A", "--append")) {
            ir::Chain* c = chain_arg(1);
            if (!c) return;
            if (auto rules = rule_spec(2)) {
                if (!check_targets(*rules)) return;
                for (ir::Rule& r : *rules) c->rules.push_back(std::move(r));
            }
        } else if (is("-I", "--insert")) {
            ir::Chain* c = chain_arg(1);
            if (!c) return;
            size_t pos = 1, from = 2;
            if (index_arg(2, pos)) from = 3;
            if (pos > c->rules.size() + 1) {
                diags_.error(w[2].loc, "index of insertion too big", w[2].length);
                return;
            }
            if (auto rules = rule_spec(from)) {
                if (!check_targets(*rules)) return;
                c->rules.insert(c->rules.begin() + static_cast<long>(pos - 1), rules->begin(), rules->end());
            }
        } else if (is("-R", "--replace")) {
            ir::Chain* c = chain_arg(1);
            if (!c) return;
            size_t pos = 0;
            if (!index_arg(2, pos) || pos > c->rules.size()) {
                diags_.error(w.size() > 2 ? w[2].loc : verb.loc, "index of replacement too big or invalid");
                return;
            }
            if (auto rules = rule_spec(3)) {
                if (rules->empty()) return;  // a rule of the other family (-4 / -6)
                if (rules->size() != 1) {
                    diags_.error(verb.loc, "-R does not support multiple source or destination addresses");
                    return;
                }
                if (!check_targets(*rules)) return;
                c->rules[pos - 1] = std::move(rules->front());
            }
        } else if (is("-D", "--delete")) {
            ir::Chain* c = chain_arg(1);
            if (!c) return;
            size_t pos = 0;
            if (w.size() == 3 && index_arg(2, pos)) {
                if (pos > c->rules.size()) {
                    diags_.error(w[2].loc, "index of deletion too big", w[2].length);
                    return;
                }
                c->rules.erase(c->rules.begin() + static_cast<long>(pos - 1));
                return;
            }
            auto rules = rule_spec(2);
            if (!rules) return;
            for (const ir::Rule& r : *rules) {
                auto it = std::find_if(c->rules.begin(), c->rules.end(), [&](const ir::Rule& x) {
                    return x.matches == r.matches && x.target == r.target;
                });
                if (it == c->rules.end()) {
                    diags_.error(verb.loc, "bad rule (does a matching rule exist in that chain?)",
                                 verb.length);
                    return;
                }
                c->rules.erase(it);
            }
        } else if (is("-N", "--new-chain")) {
            if (w.size() != 2) {
                diags_.error(verb.loc, "-N takes exactly one chain name", verb.length);
                return;
            }
            parser::ChainDecl d{w[1].text, "-", std::nullopt, w[1].loc, w[1].loc};
            if (table_->find(w[1].text)) {
                diags_.error(w[1].loc, "chain '" + w[1].text + "' already exists", w[1].length);
                return;
            }
            handle(d);
        } else if (is("-X", "--delete-chain")) {
            delete_chains(w, verb);
        } else if (is("-F", "--flush")) {
            if (w.size() > 1) {
                if (ir::Chain* c = chain_arg(1)) c->rules.clear();
            } else {
                for (ir::Chain& c : table_->chains) c.rules.clear();
            }
        } else if (is("-Z", "--zero")) {
            for (ir::Chain& c : table_->chains) {
                if (w.size() > 1 && c.name != w[1].text) continue;
                c.policy_counters = {};
                for (ir::Rule& r : c.rules) r.counters = ir::Counters{};
            }
            if (w.size() > 1) chain_arg(1);
        } else if (is("-P", "--policy")) {
            ir::Chain* c = chain_arg(1);
            if (!c) return;
            if (w.size() < 3) {
                diags_.error(verb.loc, "-P requires a chain and a policy", verb.length);
                return;
            }
            if (!c->builtin()) {
                diags_.error(w[1].loc, "cannot set a policy on user-defined chain '" + c->name + "'",
                             w[1].length);
                return;
            }
            set_policy(*c, w[2].text, w[2].loc);
        } else if (is("-E", "--rename-chain")) {
            ir::Chain* c = chain_arg(1);
            if (!c) return;
            if (w.size() != 3 || table_->find(w[2].text)) {
                diags_.error(verb.loc, "-E needs an existing chain and a new, unused name", verb.length);
                return;
            }
            std::string old = c->name;
            c->name = w[2].text;
            for (ir::Chain& other : table_->chains)
                for (ir::Rule& r : other.rules) {
                    if (auto* j = std::get_if<ir::JumpTarget>(&r.target); j && j->chain == old)
                        j->chain = c->name;
                    if (auto* g = std::get_if<ir::GotoTarget>(&r.target); g && g->chain == old)
                        g->chain = c->name;
                }
        } else {
            diags_.error(verb.loc,
                         "unknown command \"" + v + "\" (expected -A, -I, -D, -R, -N, -X, -F, -Z, -P or -E)",
                         verb.length);
        }
    }

    void delete_chains(const std::vector<Word>& w, const Word& verb) {
        auto referenced = [&](const std::string& name) {
            for (const ir::Chain& c : table_->chains)
                for (const ir::Rule& r : c.rules) {
                    if (auto* j = std::get_if<ir::JumpTarget>(&r.target); j && j->chain == name) return true;
                    if (auto* g = std::get_if<ir::GotoTarget>(&r.target); g && g->chain == name) return true;
                }
            return false;
        };
        std::vector<ir::Chain>& chains = table_->chains;
        if (w.size() == 1) {
            for (const ir::Chain& c : chains)
                if (!c.builtin() && !c.rules.empty()) {
                    diags_.error(verb.loc, "chain '" + c.name + "' is not empty", verb.length);
                    return;
                }
            std::erase_if(chains, [](const ir::Chain& c) { return !c.builtin(); });
            return;
        }
        ir::Chain* c = table_->find(w[1].text);
        if (!c || c->builtin()) {
            diags_.error(w[1].loc,
                         c ? "cannot delete built-in chain '" + w[1].text + "'"
                           : "chain '" + w[1].text + "' does not exist",
                         w[1].length);
            return;
        }
        if (!c->rules.empty() || referenced(c->name)) {
            diags_.error(w[1].loc, "chain '" + c->name + "' is not empty or still referenced", w[1].length);
            return;
        }
        std::erase_if(chains, [&](const ir::Chain& x) { return x.name == w[1].text; });
    }

    bool check_targets(const std::vector<ir::Rule>& rules) {
        for (const ir::Rule& r : rules) {
            const std::string* chain = nullptr;
            if (auto* j = std::get_if<ir::JumpTarget>(&r.target)) chain = &j->chain;
            if (auto* g = std::get_if<ir::GotoTarget>(&r.target)) chain = &g->chain;
            if (!chain) continue;
            const ir::Chain* c = table_->find(*chain);
            if (!c) {
                diags_.error(r.target_loc, "chain or target '" + *chain + "' does not exist",
                             static_cast<int>(chain->size()));
                return false;
            }
            if (c->builtin()) {
                diags_.error(r.target_loc, "cannot jump to built-in chain '" + *chain + "'",
                             static_cast<int>(chain->size()));
                return false;
            }
        }
        return true;
    }

    bool set_policy(ir::Chain& c, const std::string& policy, const SourceLoc& loc) {
        if (policy == "ACCEPT") {
            c.policy = ir::Policy::accept;
        } else if (policy == "DROP") {
            c.policy = ir::Policy::drop;
        } else {
            diags_.error(loc,
                         "bad policy '" + policy + "' for built-in chain '" + c.name + "' (ACCEPT or DROP)",
                         static_cast<int>(policy.size()));
            return false;
        }
        return true;
    }

    bool is_builtin(const std::string& chain) const {
        const auto& b = builtin_chains(table_->name);
        return std::find(b.begin(), b.end(), chain) != b.end();
    }

    bool need_table(const SourceLoc& loc) {
        if (table_) return true;
        diags_.error(loc, "no table specified: a '*table' line must come first");
        return false;
    }

    Diagnostics& diags_;
    const LowerOptions& options_;
    ir::Program program_;
    ir::Table* table_ = nullptr;
    ir::Table scratch_;  // where -T sends the tables it ignores
    bool skipping_ = false;
    SourceLoc open_loc_;
};

}  // namespace

std::optional<ir::Program> lower_iptables(const parser::Script& script, Diagnostics& diags,
                                          const LowerOptions& options) {
    return Lowering(diags, options).run(script);
}

std::optional<ir::Program> parse_and_lower(const std::string& text, const std::string& file,
                                           Diagnostics& diags, const LowerOptions& options) {
    auto script = parser::parse_iptables(text, file, diags);
    if (!script) return std::nullopt;
    return lower_iptables(*script, diags, options);
}

}  // namespace bpftables
