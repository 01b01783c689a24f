// The walk over one nft rule (RuleLowering::run): each statement in turn, the alternatives it adds
// multiplied into the rules so far (apply), then log + verdict as two rules and the matches in iptables'
// order. Also the readers every part of the lowering uses: variables (resolve), numbers and flag names with
// their messages (value, bits), addresses with a prefix (ipv4_net), the elements of named sets.
#include <algorithm>

#include "compiler/nft/canonical.hpp"
#include "compiler/nft/rule.hpp"
#include "compiler/values.hpp"

namespace bpftables::nft {

// Not values::parse_ipv4_nets: the length is read in C notation ("/010" is 8), as nft reads numbers, and a
// range is not a prefix here.
bool ipv4_net(const std::string& s, ir::Ipv4Net& out) {
    size_t slash = s.find('/');
    uint32_t addr;
    if (!values::parse_ipv4(s.substr(0, slash), addr)) return false;
    uint64_t len = 32;
    if (slash != std::string::npos && !values::parse_number(std::string_view(s).substr(slash + 1), len, 32))
        return false;
    out.mask = values::prefix_mask(static_cast<int>(len));
    out.addr = addr & out.mask;
    return true;
}

std::optional<Expr> RuleLowering::resolve(const Expr& e, int depth) {
    if (depth > 16) return error(e.loc, "variables nest too deeply", e.length), std::nullopt;
    if (e.kind == K::variable) {
        auto it = scope_.vars.find(e.text);
        if (it == scope_.vars.end())
            return error(e.loc, "unknown variable $" + e.text, e.length), std::nullopt;
        std::optional<Expr> r = resolve(it->second, depth + 1);
        if (r) r->loc = e.loc, r->length = e.length;
        return r;
    }
    Expr out = e;
    out.args.clear();
    for (const Expr& a : e.args) {
        std::optional<Expr> r = resolve(a, depth);
        if (!r) return std::nullopt;
        if (r->kind == K::set && out.kind == K::set) {  // a set variable inside a set: its elements
            for (Expr& x : r->args) out.args.push_back(std::move(x));
        } else {
            out.args.push_back(std::move(*r));
        }
    }
    return out;
}

std::optional<uint64_t> RuleLowering::value(const Expr& v, uint64_t max, const char* what) {
    uint64_t n;
    if (v.kind == K::value && values::parse_number(v.text, n, max)) return n;
    error(v.loc, std::string("bad ") + what + " \"" + v.text + "\" (0 to " + std::to_string(max) + ")",
          v.length);
    return std::nullopt;
}

std::optional<uint32_t> RuleLowering::bits(const Expr& v, const NamedValue* names, size_t n,
                                           const char* what) {
    if (v.kind == K::list || (v.kind == K::binop && v.text == "|")) {
        uint32_t out = 0;
        for (const Expr& a : v.args) {
            std::optional<uint32_t> b = bits(a, names, n, what);
            if (!b) return std::nullopt;
            out |= *b;
        }
        return out;
    }
    if (v.kind == K::value) {
        if (std::optional<uint32_t> b = lookup(names, n, v.text)) return b;
        uint64_t x;
        if (values::parse_number(v.text, x, 0xffffffff)) return static_cast<uint32_t>(x);
    }
    error(v.loc, std::string("unknown ") + what + " \"" + v.text + "\"", v.length);
    return std::nullopt;
}

// A named set (or, for `vmap @m`, a map) read by value: its elements as an anonymous set written at `ref`;
// empty when it is not one (unknown, a map where a set is read, or changed by the kernel at run time: reported).
std::optional<Expr> RuleLowering::named_elements(const Expr& ref, bool map) {
    auto it = scope_.elements.find(ref.text);
    if (it == scope_.elements.end() || (scope_.sets.at(ref.text) == "map") != map)
        return unsupported(ref, "set @" + ref.text + " here"), std::nullopt;
    if (scope_.kernel_sets.count(ref.text))
        return unsupported(
                   ref,
                   "set @" + ref.text +
                       ", which the kernel changes at run time (timeouts, dynamic, or written by a rule),"),
               std::nullopt;
    Expr set = ref;
    set.kind = K::set;
    set.args = it->second;
    return set;
}

// Adds the alternatives to every rule so far: each rule becomes one copy per alternative. A protocol match
// that contradicts the rule's protocol drops that copy; a port or flags match joins the rule's tcp/udp match
// when its field is still free.
bool RuleLowering::apply(const Alts& alts, const SourceLoc& loc) {
    std::vector<ir::Rule> out;
    for (const ir::Rule& base : rules_) {
        for (const Alt& alt : alts) {
            ir::Rule r = base;
            bool dead = false;
            for (const ir::Match& m : alt.matches) {
                if (const auto* p = std::get_if<ir::ProtocolMatch>(&m); p && !p->invert) {
                    bool have = false;
                    for (const ir::Match& x : r.matches)
                        if (const auto* q = std::get_if<ir::ProtocolMatch>(&x); q && !q->invert) {
                            have = true;
                            dead |= q->proto != p->proto;
                        }
                    if (have) continue;
                }
                bool merged = false;
                for (ir::Match& x : r.matches) {
                    if (auto* t = std::get_if<ir::TcpMatch>(&x);
                        t && std::holds_alternative<ir::TcpMatch>(m)) {
                        const auto& n = std::get<ir::TcpMatch>(m);
                        if ((n.sport && t->sport) || (n.dport && t->dport) || (n.flags && t->flags) ||
                            (n.option && t->option))
                            continue;
                        if (n.sport) t->sport = n.sport;
                        if (n.dport) t->dport = n.dport;
                        if (n.flags) t->flags = n.flags;
                        if (n.option) t->option = n.option;
                        merged = true;
                    } else if (auto* u = std::get_if<ir::UdpMatch>(&x);
                               u && std::holds_alternative<ir::UdpMatch>(m)) {
                        const auto& n = std::get<ir::UdpMatch>(m);
                        if ((n.sport && u->sport) || (n.dport && u->dport)) continue;
                        if (n.sport) u->sport = n.sport;
                        if (n.dport) u->dport = n.dport;
                        merged = true;
                    } else if (auto* i = std::get_if<ir::IcmpMatch>(&x);
                               i && std::holds_alternative<ir::IcmpMatch>(m)) {
                        const auto& n = std::get<ir::IcmpMatch>(m);
                        if (n.type != 0xfe || i->code_min != 0 || i->code_max != 0xff || i->invert ||
                            n.invert)
                            continue;
                        i->code_min = n.code_min, i->code_max = n.code_max;  // "icmp code" after "icmp type"
                        merged = true;
                    }
                    if (merged) break;
                }
                if (merged) continue;
                if (const auto* i = std::get_if<ir::IcmpMatch>(&m); i && i->type == 0xfe)
                    return error(loc, "\"icmp code\" is only supported after \"icmp type\" in the same rule");
                r.matches.push_back(m);
                r.match_locs.push_back(loc);
            }
            if (alt.target) {
                r.target = *alt.target;
                r.target_loc = loc;
            }
            if (!dead) out.push_back(std::move(r));
            if (out.size() > max_alternatives)
                return unsupported(
                    Expr{K::value, "", {}, loc, 1},
                    "a rule that expands into more than " + std::to_string(max_alternatives) + " rules");
        }
    }
    if (out.empty()) return error(loc, "the rule can never match (its protocols contradict each other)");
    rules_ = std::move(out);
    return true;
}

namespace {

// "ip saddr a-b ip daddr c-d" is one "-m iprange --src-range a-b --dst-range c-d" in iptables: both ranges
// in the first of the two matches, as iptables-translate writes it back.
void merge_ip_ranges(std::vector<ir::Match>& ms, std::vector<SourceLoc>& locs) {
    auto only = [&](size_t i, bool src) {
        const auto* m = std::get_if<ir::IpRangeMatch>(&ms[i]);
        return m && (src ? m->src && !m->dst : m->dst && !m->src);
    };
    for (size_t i = 0; i < ms.size(); ++i) {
        if (!only(i, true) && !only(i, false)) continue;
        bool src = only(i, true);
        for (size_t j = i + 1; j < ms.size(); ++j) {
            if (!only(j, !src)) continue;
            auto& to = std::get<ir::IpRangeMatch>(ms[i]);
            const auto& from = std::get<ir::IpRangeMatch>(ms[j]);
            (src ? to.dst : to.src) = src ? from.dst : from.src;
            ms.erase(ms.begin() + static_cast<long>(j));
            locs.erase(locs.begin() + static_cast<long>(j));
            return;
        }
    }
}

}  // namespace

std::optional<std::vector<ir::Rule>> RuleLowering::run(const parser::nft::Rule& rule) {
    rules_.assign(1, ir::Rule{});
    rules_[0].loc = rule.loc;
    bool ok = true;
    Diagnostics* outer = diags_;
    for (size_t i = 0; i < rule.statements.size() && ok; ++i) {
        const Statement& s = rule.statements[i];
        Diagnostics local;
        diags_ = &local;
        std::vector<ir::Rule> before = rules_;
        std::optional<ir::LogTarget> log = log_;
        bool verdict = verdict_seen_;
        unsupported_ = failed_ = false;
        rest_ = false;
        for (size_t j = i + 1; j < rule.statements.size(); ++j)
            rest_ |= rule.statements[j].kind != Statement::Kind::comment;
        ok = statement(s);
        diags_ = outer;
        if (!ok && kernel_decides_ && unsupported_ && !failed_) {
            rules_ = std::move(before), log_ = std::move(log), verdict_seen_ = verdict;
            std::string text;
            for (size_t j = i; j < rule.statements.size(); ++j)
                text += (j > i ? " " : "") + nft_statement_text(rule.statements[j]);
            ok = apply(Alts{Alt{{ir::OpaqueMatch{"nft", {"--statement", text}}}, {}}}, s.loc);
            break;
        }
        outer->append(local);
    }
    if (!ok) return std::nullopt;
    if (log_) {
        bool has_verdict = false, has_limit = false;
        for (const ir::Rule& r : rules_) {
            has_verdict |= !std::holds_alternative<ir::NoTarget>(r.target);
            for (const ir::Match& m : r.matches) has_limit |= std::holds_alternative<ir::LimitMatch>(m);
        }
        if (!has_verdict) {
            for (ir::Rule& r : rules_) r.target = *log_, r.target_loc = log_loc_;
        } else if (has_limit) {
            return error(log_loc_, "log together with a verdict and a limit is not supported"), std::nullopt;
        } else {  // log, then the verdict: two rules with the same matches
            std::vector<ir::Rule> out;
            for (const ir::Rule& r : rules_) {
                ir::Rule l = r;
                l.target = *log_, l.target_loc = log_loc_;
                out.push_back(std::move(l));
                out.push_back(r);
            }
            rules_ = std::move(out);
        }
    }
    // iptables' order: the builtin matches (-s -d -i -o -p) first, the modules after in written order.
    for (ir::Rule& r : rules_) {
        auto rank = [](const ir::Match& m) {
            if (const auto* a = std::get_if<ir::AddressMatch>(&m)) return a->dir == ir::Dir::src ? 0 : 1;
            if (const auto* i = std::get_if<ir::InterfaceMatch>(&m)) return i->dir == ir::Dir::src ? 2 : 3;
            if (std::holds_alternative<ir::ProtocolMatch>(m)) return 4;
            return 5;
        };
        std::vector<size_t> idx(r.matches.size());
        for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
        std::stable_sort(idx.begin(), idx.end(),
                         [&](size_t a, size_t b) { return rank(r.matches[a]) < rank(r.matches[b]); });
        std::vector<ir::Match> ms;
        std::vector<SourceLoc> locs;
        for (size_t i : idx) ms.push_back(r.matches[i]), locs.push_back(r.match_locs[i]);
        merge_ip_ranges(ms, locs);
        r.matches = std::move(ms);
        r.match_locs = std::move(locs);
    }
    return rules_;
}

}  // namespace bpftables::nft
