// One rule specification (the words after "-A CHAIN") read as the iptables command reads it: addresses,
// interfaces, protocol, counters, the -m modules and their options (handed to compiler/xt/), the target, and
// the checks once the rule ends; a source or destination list expands into one rule per combination.
#include <algorithm>

#include "compiler/iptables_lower.hpp"
#include "compiler/values.hpp"
#include "compiler/xt/modules.hpp"

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

// The same for an IPv6 ruleset, as ip6tables reads them (xtables_ip6parse_multiple): inet_pton text, a /len
// (0..128) or an address as the mask; no host names.
bool parse_addresses6(const Word& w, std::vector<ir::Ipv6Net>& out, Diagnostics& diags) {
    std::string_view s = w.text;
    while (true) {
        size_t comma = s.find(',');
        std::string_view item = s.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
        ir::Ipv6Net net;
        std::string error;
        if (!values::parse_ipv6_net(item, net, error)) {
            diags.error(w.loc, error, w.length);
            return false;
        }
        out.push_back(net);
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
    std::vector<ir::Ipv6Net> src6{{}}, dst6{{}};  // an IPv6 ruleset's; src and dst then stay one "any"
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

// Hands an option to the loaded modules (newest first), then the target. Returns not_mine when nobody took
// it.
xt::Parsed dispatch(RuleBuilder& b, const std::vector<Word>& words, size_t& next, const Word& option,
                    bool invert, Diagnostics& diags, ir::Family family) {
    for (auto it = b.modules.rbegin(); it != b.modules.rend(); ++it) {
        if (!it->module) continue;
        xt::OptionReader r(words, next, option, invert, diags, family);
        xt::Parsed p = it->module->parse(it->match, r);
        if (p != xt::Parsed::not_mine) return p;
    }
    if (b.target_module) {
        xt::OptionReader r(words, next, option, invert, diags, family);
        xt::Parsed p = b.target_module->parse(*b.target, r);
        if (p != xt::Parsed::not_mine) return p;
    }
    return xt::Parsed::not_mine;
}

// Words that an opaque module or target takes: everything up to the next option bpftables reads itself.
void take_opaque_args(std::vector<std::string>& args, const std::vector<Word>& words, size_t& next,
                      const Word& option, bool invert) {
    if (invert) args.emplace_back("!");
    args.push_back(option.text);
    while (next < words.size()) {
        const std::string& t = words[next].text;
        if (t == "!" || (t.size() > 1 && t[0] == '-')) break;
        args.push_back(t);
        ++next;
    }
}

}  // namespace

std::optional<std::vector<ir::Rule>> lower_rule_spec(const std::vector<Word>& raw_words,
                                                     const std::string& table_name, const ir::Table* table,
                                                     Diagnostics& diags, const std::vector<ir::IpSet>* sets,
                                                     ir::Family family) {
    const bool v6 = family == ir::Family::ipv6;
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
            if (!w) break;
            if (v6) {
                std::vector<ir::Ipv6Net> nets;
                if (!parse_addresses6(*w, nets, diags)) break;
                (source ? b.src6 : b.dst6) = nets;
            } else {
                std::vector<ir::Ipv4Net> nets;
                if (!parse_addresses(*w, nets, diags)) break;
                (source ? b.src : b.dst) = nets;
            }
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
            // An extension header is never the protocol ip6tables sees (it walks past them): ip6tables warns.
            if (v6 && !invert && (*p == 43 || *p == 44 || *p == 51 || *p == 60))
                diags.warning(w->loc, "never matched protocol: " + w->text + ". use extension match instead.",
                              w->length);
        } else if (is(o, {"-f", "--fragment"})) {
            if (v6) {
                diags.error(opt.loc, "`-f' is not supported in IPv6, use -m frag instead", opt.length);
                break;
            }
            if (!once(b.frag.has_value())) break;
            b.frag = ir::FragmentMatch{invert};
            b.frag_loc = opt.loc;
        } else if (is(o, {"-4", "--ipv4", "-6", "--ipv6"})) {
            // A rule for one family in a file both restores read: the other's skips it whole, as
            // iptables-restore skips "-6" rules and ip6tables-restore "-4" ones (nothing after is read).
            if (is(o, {"-6", "--ipv6"}) != v6) return std::vector<ir::Rule>{};
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
            if (const xt::MatchModule* mod = xt::find_match_module(w->text, family)) {
                b.modules.push_back({mod, mod->make(), *w});
            } else if (xt::is_iptables_match(w->text, family)) {
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
            } else if (const xt::TargetModule* mod = xt::find_target_module(t, family)) {
                b.target_module = mod;
                b.target = mod->make();
            } else if ((table && table->find(t)) || t.empty() ||
                       (t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos)) {
                b.target = ir::JumpTarget{t};  // a chain: resolved and checked by chain resolution
            } else if (xt::is_iptables_target(t, family)) {
                b.target = ir::OpaqueTarget{t, {}};  // an extension bpftables has no module for
            } else {
                diags.error(w->loc,
                            "Couldn't load target `" + t + "': neither a chain nor an iptables extension",
                            static_cast<int>(t.size()));
                break;
            }
        } else {
            xt::Parsed p = dispatch(b, words, next, opt, invert, diags, family);
            if (p == xt::Parsed::error) break;
            if (p == xt::Parsed::not_mine && b.proto) {  // -p tcp --dport 22 loads the tcp match implicitly
                auto* proto = std::get_if<ir::ProtocolMatch>(&*b.proto);
                for (const xt::MatchModule* mod : xt::match_modules()) {
                    if (!mod->loaded_by_protocol || proto->proto != mod->protocols.front() || proto->invert ||
                        !xt::available(*mod, family))
                        continue;
                    bool loaded =
                        std::any_of(b.modules.begin(), b.modules.end(),
                                    [&](const RuleBuilder::Loaded& l) { return l.word.text == mod->name; });
                    if (loaded) continue;
                    b.modules.push_back({mod, mod->make(), Word{std::string(mod->name), opt.loc, 1}});
                    p = dispatch(b, words, next, opt, invert, diags, family);
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

    if (v6 && (b.src6.size() > 1 || b.dst6.size() > 1) && (b.src_inv || b.dst_inv)) {
        diags.error(rule_loc, "! not allowed with multiple source or destination IP addresses");
        return std::nullopt;
    }
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
    const ir::ProtocolMatch* proto = b.proto ? std::get_if<ir::ProtocolMatch>(&*b.proto) : nullptr;
    if (b.target_module && b.target_module->check &&
        !b.target_module->check(*b.target, table_name, proto, b.target_word, diags))
        return std::nullopt;
    // The protocol each module needs (the kernel checks it too).
    for (const RuleBuilder::Loaded& l : b.modules) {
        if (!l.module || l.module->protocols.empty()) continue;
        const auto& want = l.module->protocols;
        if (!proto || proto->invert || std::find(want.begin(), want.end(), proto->proto) == want.end()) {
            diags.error(l.word.loc, std::string(l.module->protocol_error), l.word.length);
            return std::nullopt;
        }
    }

    // An IPv6 address of /0 uninverted matches everything: ip6tables-save leaves it out.
    auto address6 = [](ir::Dir dir, const ir::Ipv6Net& net, bool invert) -> std::optional<ir::Match> {
        if (net.mask == ir::Ipv6Addr{} && !invert) return std::nullopt;  // as IPv4's /0 below
        return ir::Address6Match{dir, net, invert};
    };
    std::vector<ir::Rule> rules;
    const size_t sources = v6 ? b.src6.size() : b.src.size(), dests = v6 ? b.dst6.size() : b.dst.size();
    for (size_t si = 0; si < sources; ++si) {
        for (size_t di = 0; di < dests; ++di) {
            ir::Rule r;
            r.loc = rule_loc;
            auto add = [&](ir::Match m, const SourceLoc& loc) {
                r.matches.push_back(std::move(m));
                r.match_locs.push_back(loc);
            };
            if (v6) {
                if (auto m = address6(ir::Dir::src, b.src6[si], b.src_inv); b.src_set && m)
                    add(*m, b.src_loc);
                if (auto m = address6(ir::Dir::dst, b.dst6[di], b.dst_inv); b.dst_set && m)
                    add(*m, b.dst_loc);
            } else {
                // As iptables stores them: a /0 that is not negated matches every packet and is no match.
                if (b.src_set && (b.src[si].mask != 0 || b.src_inv))
                    add(ir::AddressMatch{ir::Dir::src, b.src[si], b.src_inv}, b.src_loc);
                if (b.dst_set && (b.dst[di].mask != 0 || b.dst_inv))
                    add(ir::AddressMatch{ir::Dir::dst, b.dst[di], b.dst_inv}, b.dst_loc);
            }
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

}  // namespace bpftables
