#include "compiler/iptables_lower.hpp"

#include <algorithm>
#include <map>

#include "compiler/values.hpp"
#include "compiler/xt/modules.hpp"
#include "parser/iptables_parser.hpp"

namespace bpftables {
namespace {

using parser::Word;

// Splits "--opt=value" and "-pvalue" into two words, as getopt_long reads them.
std::vector<Word> split_options(const std::vector<Word>& words) {
    static const std::string_view short_with_arg = "sdiopjgmcADIRNXFZPE";
    std::vector<Word> out;
    out.reserve(words.size());
    for (const Word& w : words) {
        const std::string& t = w.text;
        if (t.size() > 2 && t[0] == '-' && t[1] == '-' && t.find('=') != std::string::npos) {
            size_t eq = t.find('=');
            out.push_back({t.substr(0, eq), w.loc, static_cast<int>(eq)});
            Word v{t.substr(eq + 1), w.loc, w.length - static_cast<int>(eq) - 1};
            v.loc.col += static_cast<int>(eq) + 1;
            out.push_back(v);
        } else if (t.size() > 2 && t[0] == '-' && t[1] != '-' &&
                   short_with_arg.find(t[1]) != std::string::npos) {
            out.push_back({t.substr(0, 2), w.loc, 2});
            Word v{t.substr(2), w.loc, w.length - 2};
            v.loc.col += 2;
            out.push_back(v);
        } else {
            out.push_back(w);
        }
    }
    return out;
}

bool is(std::string_view w, std::initializer_list<std::string_view> names) {
    return std::find(names.begin(), names.end(), w) != names.end();
}

// Reads "-s"/"-d" arguments: one or more comma-separated addresses, each with an optional /len or /mask.
bool parse_addresses(const Word& w, std::vector<ir::Ipv4Net>& out, Diagnostics& diags) {
    std::string_view s = w.text;
    while (true) {
        size_t comma = s.find(',');
        std::string_view item = s.substr(0, comma);
        size_t slash = item.find('/');
        std::string_view host = item.substr(0, slash);
        uint32_t addr = 0, mask = 0xffffffff;
        if (!values::parse_ipv4(host, addr)) {
            diags.error(w.loc, "host/network `" + std::string(host) + "' not found", w.length);
            return false;
        }
        if (slash != std::string_view::npos) {
            std::string_view m = item.substr(slash + 1);
            uint32_t len;
            if (m.find('.') != std::string_view::npos) {
                if (!values::parse_ipv4(m, mask)) {
                    diags.error(w.loc, "invalid mask `" + std::string(m) + "' specified", w.length);
                    return false;
                }
            } else if (values::parse_u32(m, len, 32) && m.find('x') == std::string_view::npos) {
                mask = values::prefix_mask(static_cast<int>(len));
            } else {
                diags.error(w.loc, "invalid mask `" + std::string(m) + "' specified", w.length);
                return false;
            }
        }
        out.push_back({addr & mask, mask});
        if (comma == std::string_view::npos) return true;
        s.remove_prefix(comma + 1);
    }
}

bool parse_counter_pair(const Word& w, const Word* second, ir::Counters& out, Diagnostics& diags) {
    std::string a = w.text, b;
    if (second) {
        b = second->text;
    } else {
        size_t comma = a.find(',');
        if (comma == std::string::npos) {
            diags.error(w.loc, "-c requires packet and byte counter", w.length);
            return false;
        }
        b = a.substr(comma + 1);
        a.resize(comma);
    }
    if (!values::parse_decimal(a, out.packets) || !values::parse_decimal(b, out.bytes)) {
        diags.error(w.loc, "-c packet counter not numeric", w.length);
        return false;
    }
    return true;
}

// The state of one rule specification while its options are read.
struct RuleBuilder {
    std::vector<ir::Ipv4Net> src{{0, 0}}, dst{{0, 0}};
    bool src_set = false, dst_set = false, src_inv = false, dst_inv = false;
    std::optional<ir::Match> in, out, proto, frag;
    SourceLoc src_loc, dst_loc, in_loc, out_loc, proto_loc, frag_loc;
    struct Loaded {
        const xt::MatchModule* module;  // null for an opaque module
        ir::Match match;
        Word word;
    };
    std::vector<Loaded> modules;
    const xt::TargetModule* target_module = nullptr;
    std::optional<ir::Target> target;
    Word target_word;
    std::optional<ir::Counters> counters;
};

const std::map<std::string, uint8_t, std::less<>>& implicit_modules() {
    static const std::map<std::string, uint8_t, std::less<>> m{{"tcp", 6}, {"udp", 17}, {"icmp", 1}};
    return m;
}

// Hands an option to the loaded modules (newest first), then the target. Returns not_mine when nobody took
// it.
xt::Parsed dispatch(RuleBuilder& b, const std::vector<Word>& words, size_t& next, const Word& option,
                    bool invert, Diagnostics& diags) {
    for (auto it = b.modules.rbegin(); it != b.modules.rend(); ++it) {
        if (!it->module) continue;
        xt::OptionReader r(words, next, option, invert, diags);
        xt::Parsed p = it->module->parse(it->match, r);
        if (p != xt::Parsed::not_mine) return p;
    }
    if (b.target_module) {
        xt::OptionReader r(words, next, option, invert, diags);
        xt::Parsed p = b.target_module->parse(*b.target, r);
        if (p != xt::Parsed::not_mine) return p;
    }
    return xt::Parsed::not_mine;
}

// Words that an opaque module or target takes: everything up to the next option bpftables reads itself.
void take_opaque_args(std::vector<std::string>& args, const std::vector<Word>& words, size_t& next,
                      const Word& option, bool invert) {
    if (invert) args.push_back("!");
    args.push_back(option.text);
    while (next < words.size()) {
        const std::string& t = words[next].text;
        if (t == "!" || (t.size() > 1 && t[0] == '-')) break;
        args.push_back(t);
        ++next;
    }
}

}  // namespace

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

std::optional<std::vector<ir::Rule>> lower_rule_spec(const std::vector<Word>& raw_words,
                                                     const std::string& table_name, const ir::Table* table,
                                                     Diagnostics& diags, const std::vector<ir::IpSet>* sets) {
    std::vector<Word> words = split_options(raw_words);
    RuleBuilder b;
    int errors = diags.error_count();
    SourceLoc rule_loc = words.empty() ? SourceLoc{} : words.front().loc;

    for (size_t next = 0; next < words.size();) {
        bool invert = false;
        if (words[next].text == "!") {
            invert = true;
            if (++next >= words.size()) {
                diags.error(words[next - 1].loc, "'!' must be followed by an option");
                break;
            }
        }
        const Word& opt = words[next++];
        const std::string& o = opt.text;
        auto arg = [&]() -> const Word* {
            if (next >= words.size()) {
                diags.error(opt.loc, "option \"" + o + "\" requires an argument", opt.length);
                return nullptr;
            }
            return &words[next++];
        };
        auto once = [&](bool already) {
            if (already) diags.error(opt.loc, "multiple " + o + " flags not allowed", opt.length);
            return !already;
        };

        if (is(o, {"-s", "--source", "--src", "-d", "--destination", "--dst"})) {
            bool source = o[1] == 's' || o == "--source" || o == "--src";
            if (!once(source ? b.src_set : b.dst_set)) break;
            const Word* w = arg();
            std::vector<ir::Ipv4Net> nets;
            if (!w || !parse_addresses(*w, nets, diags)) break;
            (source ? b.src : b.dst) = nets;
            (source ? b.src_set : b.dst_set) = true;
            (source ? b.src_inv : b.dst_inv) = invert;
            (source ? b.src_loc : b.dst_loc) = opt.loc;
        } else if (is(o, {"-i", "--in-interface", "-o", "--out-interface"})) {
            bool in = o == "-i" || o == "--in-interface";
            if (!once(in ? b.in.has_value() : b.out.has_value())) break;
            const Word* w = arg();
            if (!w) break;
            if (w->text.size() >= 16) {
                diags.error(w->loc, "interface name `" + w->text + "' must be shorter than IFNAMSIZ (16)",
                            w->length);
                break;
            }
            if (w->text.empty() || w->text.find_first_of(" /") != std::string::npos) {
                diags.error(w->loc, "invalid interface name `" + w->text + "'", w->length);
                break;
            }
            if (w->text == "+" && !invert) {  // matches every interface: nothing to check
                (in ? b.in : b.out) = std::nullopt;
                continue;
            }
            (in ? b.in : b.out) = ir::InterfaceMatch{in ? ir::Dir::src : ir::Dir::dst, w->text, invert};
            (in ? b.in_loc : b.out_loc) = opt.loc;
        } else if (is(o, {"-p", "--protocol"})) {
            if (!once(b.proto.has_value())) break;
            const Word* w = arg();
            if (!w) break;
            std::optional<uint8_t> p = values::parse_protocol(w->text);
            if (!p) {
                diags.error(w->loc, "unknown protocol \"" + w->text + "\" specified", w->length);
                break;
            }
            if (*p == 0 && invert) {
                diags.error(opt.loc, "rule would never match protocol", opt.length);
                break;
            }
            if (*p != 0) b.proto = ir::ProtocolMatch{*p, invert};
            b.proto_loc = opt.loc;
        } else if (is(o, {"-f", "--fragment"})) {
            if (!once(b.frag.has_value())) break;
            b.frag = ir::FragmentMatch{invert};
            b.frag_loc = opt.loc;
        } else if (is(o, {"-c", "--set-counters"})) {
            const Word* w = arg();
            if (!w) break;
            const Word* second = nullptr;
            if (w->text.find(',') == std::string::npos) second = arg();
            ir::Counters c;
            if (!parse_counter_pair(*w, second, c, diags)) break;
            b.counters = c;
        } else if (is(o, {"-m", "--match"})) {
            const Word* w = arg();
            if (!w) break;
            if (invert) {
                diags.error(opt.loc, "unexpected ! flag before --match", opt.length);
                break;
            }
            if (const xt::MatchModule* mod = xt::find_match_module(w->text)) {
                b.modules.push_back({mod, mod->make(), *w});
            } else if (xt::is_iptables_match(w->text)) {
                b.modules.push_back({nullptr, ir::OpaqueMatch{w->text, {}}, *w});
            } else {
                diags.error(w->loc, "Couldn't load match `" + w->text + "': no such iptables extension",
                            static_cast<int>(w->text.size()));
                break;
            }
        } else if (is(o, {"-j", "--jump", "-g", "--goto"})) {
            bool go = o == "-g" || o == "--goto";
            if (b.target) {
                diags.error(opt.loc, "multiple -j flags not allowed", opt.length);
                break;
            }
            const Word* w = arg();
            if (!w) break;
            if (invert) {
                diags.error(opt.loc, "cannot have ! before -" + std::string(go ? "g" : "j"), opt.length);
                break;
            }
            b.target_word = *w;
            const std::string& t = w->text;
            if (go) {
                b.target = ir::GotoTarget{t};
            } else if (t == "ACCEPT") {
                b.target = ir::AcceptTarget{};
            } else if (t == "DROP") {
                b.target = ir::DropTarget{};
            } else if (t == "RETURN") {
                b.target = ir::ReturnTarget{};
            } else if (const xt::TargetModule* mod = xt::find_target_module(t)) {
                b.target_module = mod;
                b.target = mod->make();
            } else if ((table && table->find(t)) || t.empty() ||
                       (t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos)) {
                b.target = ir::JumpTarget{t};  // a chain: resolved and checked by chain resolution
            } else if (xt::is_iptables_target(t)) {
                b.target = ir::OpaqueTarget{t, {}};  // an extension bpftables has no module for
            } else {
                diags.error(w->loc,
                            "Couldn't load target `" + t + "': neither a chain nor an iptables extension",
                            static_cast<int>(t.size()));
                break;
            }
        } else {
            xt::Parsed p = dispatch(b, words, next, opt, invert, diags);
            if (p == xt::Parsed::error) break;
            if (p == xt::Parsed::not_mine && b.proto) {  // -p tcp --dport 22 loads the tcp match implicitly
                auto* proto = std::get_if<ir::ProtocolMatch>(&*b.proto);
                for (auto& [name, number] : implicit_modules()) {
                    if (proto->proto != number || proto->invert) continue;
                    bool loaded =
                        std::any_of(b.modules.begin(), b.modules.end(),
                                    [&](const RuleBuilder::Loaded& l) { return l.word.text == name; });
                    const xt::MatchModule* mod = xt::find_match_module(name);
                    if (loaded || !mod) continue;
                    b.modules.push_back({mod, mod->make(), Word{name, opt.loc, 1}});
                    p = dispatch(b, words, next, opt, invert, diags);
                    if (p == xt::Parsed::not_mine) b.modules.pop_back();
                }
                if (p == xt::Parsed::error) break;
            }
            if (p == xt::Parsed::not_mine) {
                // The newest opaque module or target takes it, as its own option.
                std::vector<std::string>* args = nullptr;
                if (b.target && std::holds_alternative<ir::OpaqueTarget>(*b.target))
                    args = &std::get<ir::OpaqueTarget>(*b.target).args;
                else if (!b.modules.empty() && !b.modules.back().module)
                    args = &std::get<ir::OpaqueMatch>(b.modules.back().match).args;
                if (!args || o.size() < 2 || o[0] != '-') {
                    if (o.size() > 1 && o[0] == '-')
                        diags.error(opt.loc, "unknown option \"" + o + "\"", opt.length);
                    else
                        diags.error(opt.loc, "bad argument `" + o + "'", opt.length);
                    break;
                }
                take_opaque_args(*args, words, next, opt, invert);
            }
        }
    }
    if (diags.error_count() > errors) return std::nullopt;

    for (RuleBuilder::Loaded& l : b.modules)
        if (l.module && !l.module->finish(l.match, l.word, diags)) return std::nullopt;
    for (const RuleBuilder::Loaded& l : b.modules) {  // with the sets known, a reference must resolve
        const auto* set = std::get_if<ir::SetMatch>(&l.match);
        if (!set || !sets) continue;
        if (std::none_of(sets->begin(), sets->end(),
                         [&](const ir::IpSet& s) { return s.name == set->name; })) {
            diags.error(l.word.loc, "set '" + set->name + "' does not exist", l.word.length);
            return std::nullopt;
        }
    }
    if (b.target_module && !b.target_module->finish(*b.target, b.target_word, diags)) return std::nullopt;
    if (b.target && !xt::check_target_context(*b.target, table_name,
                                              b.proto ? std::get_if<ir::ProtocolMatch>(&*b.proto) : nullptr,
                                              b.target_word, diags))
        return std::nullopt;
    for (const RuleBuilder::Loaded& l : b.modules) {
        if (l.word.text == "tcp" || l.word.text == "udp") {
            auto* p = b.proto ? std::get_if<ir::ProtocolMatch>(&*b.proto) : nullptr;
            uint8_t want = l.word.text == "tcp" ? 6 : 17;
            if (!p || p->proto != want || p->invert) {
                diags.error(l.word.loc, "the " + l.word.text + " match requires -p " + l.word.text,
                            l.word.length);
                return std::nullopt;
            }
        }
    }
    for (const RuleBuilder::Loaded& l : b.modules) {  // the kernel checks these matches' protocol too
        auto* p = b.proto ? std::get_if<ir::ProtocolMatch>(&*b.proto) : nullptr;
        bool ok = true;
        if (l.word.text == "icmp") ok = p && p->proto == 1 && !p->invert;
        if (l.word.text == "multiport")  // tcp, udp, udplite, sctp, dccp
            ok = p && !p->invert &&
                 (p->proto == 6 || p->proto == 17 || p->proto == 136 || p->proto == 132 || p->proto == 33);
        if (!ok) {
            diags.error(l.word.loc,
                        l.word.text == "icmp"
                            ? "the icmp match requires -p icmp"
                            : "multiport needs -p tcp, -p udp, -p udplite, -p sctp or -p dccp",
                        l.word.length);
            return std::nullopt;
        }
    }
    (void)table_name;

    std::vector<ir::Rule> rules;
    for (const ir::Ipv4Net& s : b.src) {
        for (const ir::Ipv4Net& d : b.dst) {
            ir::Rule r;
            r.loc = rule_loc;
            auto add = [&](ir::Match m, const SourceLoc& loc) {
                r.matches.push_back(std::move(m));
                r.match_locs.push_back(loc);
            };
            if (b.src_set) add(ir::AddressMatch{ir::Dir::src, s, b.src_inv}, b.src_loc);
            if (b.dst_set) add(ir::AddressMatch{ir::Dir::dst, d, b.dst_inv}, b.dst_loc);
            if (b.in) add(*b.in, b.in_loc);
            if (b.out) add(*b.out, b.out_loc);
            if (b.proto) add(*b.proto, b.proto_loc);
            if (b.frag) add(*b.frag, b.frag_loc);
            for (const RuleBuilder::Loaded& l : b.modules) add(l.match, l.word.loc);
            if (b.target) r.target = *b.target;
            r.target_loc = b.target_word.loc;
            r.counters = b.counters;
            rules.push_back(std::move(r));
        }
    }
    return rules;
}

namespace {

// Applies the lines of one script to a program.
class Lowering {
  public:
    Lowering(Diagnostics& diags, const LowerOptions& options) : diags_(diags), options_(options) {
        if (options.noflush && options.base) program_ = *options.base;
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
            auto rules = lower_rule_spec(spec, table_->name, table_, diags_, options_.sets);
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
        if (is(v, {"-A", "--append"})) {
            ir::Chain* c = chain_arg(1);
            if (!c) return;
            if (auto rules = rule_spec(2)) {
                if (!check_targets(*rules)) return;
                for (ir::Rule& r : *rules) c->rules.push_back(std::move(r));
            }
        } else if (is(v, {"-I", "--insert"})) {
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
        } else if (is(v, {"-R", "--replace"})) {
            ir::Chain* c = chain_arg(1);
            if (!c) return;
            size_t pos = 0;
            if (!index_arg(2, pos) || pos > c->rules.size()) {
                diags_.error(w.size() > 2 ? w[2].loc : verb.loc, "index of replacement too big or invalid");
                return;
            }
            if (auto rules = rule_spec(3)) {
                if (rules->size() != 1) {
                    diags_.error(verb.loc, "-R does not support multiple source or destination addresses");
                    return;
                }
                if (!check_targets(*rules)) return;
                c->rules[pos - 1] = std::move(rules->front());
            }
        } else if (is(v, {"-D", "--delete"})) {
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
        } else if (is(v, {"-N", "--new-chain"})) {
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
        } else if (is(v, {"-X", "--delete-chain"})) {
            delete_chains(w, verb);
        } else if (is(v, {"-F", "--flush"})) {
            if (w.size() > 1) {
                if (ir::Chain* c = chain_arg(1)) c->rules.clear();
            } else {
                for (ir::Chain& c : table_->chains) c.rules.clear();
            }
        } else if (is(v, {"-Z", "--zero"})) {
            for (ir::Chain& c : table_->chains) {
                if (w.size() > 1 && c.name != w[1].text) continue;
                c.policy_counters = {};
                for (ir::Rule& r : c.rules) r.counters = ir::Counters{};
            }
            if (w.size() > 1) chain_arg(1);
        } else if (is(v, {"-P", "--policy"})) {
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
        } else if (is(v, {"-E", "--rename-chain"})) {
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
