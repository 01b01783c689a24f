// The nft lowering's statements (RuleLowering::statement): relations and verdict maps (their selectors are
// selectors.cpp's), verdicts, counter, comment, log, reject, limit, notrack and, in nat chains, the nat
// statements kept by name.
#include <cctype>

#include "compiler/nft/rule.hpp"
#include "compiler/values.hpp"
#include "parser/nft_parser.hpp"

namespace bpftables::nft {
namespace {

constexpr NamedValue log_levels[] = {{"emerg", 0}, {"alert", 1},  {"crit", 2}, {"err", 3},
                                     {"warn", 4},  {"notice", 5}, {"info", 6}, {"debug", 7}};

std::optional<Op> op_of(const std::string& s) {
    if (s.empty() || s == "==" || s == "eq") return Op::eq;
    if (s == "!=" || s == "ne" || s == "!") return Op::ne;
    if (s == "<" || s == "lt") return Op::lt;
    if (s == ">" || s == "gt") return Op::gt;
    if (s == "<=" || s == "le") return Op::le;
    if (s == ">=" || s == "ge") return Op::ge;
    return std::nullopt;
}

}  // namespace

// Set elements that carry state the lookup evaluates (limit, quota, ct count, last): only the kernel has it.
bool stateful_elements(const Expr& set) {
    if (set.kind != K::set) return false;
    for (const Expr& e : set.args) {
        const std::string& o = (e.kind == K::mapping && !e.args.empty() ? e.args[0] : e).elem_options;
        for (const char* w : {"limit", "quota", "ct count", "last"})
            if (o.find(w) != std::string::npos) return true;
    }
    return false;
}

bool RuleLowering::statement(const Statement& s) {
    using SK = Statement::Kind;
    if (verdict_seen_ && s.kind != SK::comment)  // a trailing comment is the rule's, not a statement
        return error(s.loc, "statement after the verdict is never reached", s.length);
    if ((s.kind == SK::relation || s.kind == SK::vmap) && stateful_elements(s.rhs))
        return unsupported(s.rhs, "set elements with limit, quota, ct count or last");
    switch (s.kind) {
        case SK::relation:
        case SK::vmap: {
            std::optional<Expr> lhs = resolve(s.lhs), rhs = resolve(s.rhs), mask;
            if (!lhs || !rhs) return false;
            if (s.mask && !(mask = resolve(*s.mask))) return false;
            if (s.kind == SK::relation) {
                if (s.keyword == "!" && (lhs->kind != K::selector || s.mask))
                    return error(s.loc, "'!' negates flags only directly after the selector; write '!='",
                                 s.length);
                std::optional<Op> op = op_of(s.keyword);
                std::optional<Alts> alts = relation(*lhs, *op, *rhs, mask, s.loc);
                return alts && apply(*alts, s.loc);
            }
            // A named map is read at the rule, before elements a later command adds; with statements after
            // it (never reached, but nft takes them) the whole is the kernel's, as it was.
            if (rhs->kind == K::set_ref && rest_)
                return unsupported(*rhs, "a named verdict map with statements after it");
            if (std::optional<Alts> lookup = vmap_lookup(*lhs, *rhs, s.loc)) {  // one lookup, then a dispatch
                verdict_seen_ = true;
                return apply(*lookup, s.loc);
            }
            if (failed_) return false;
            if (rhs->kind == K::set_ref && !(rhs = named_elements(*rhs, true))) return false;
            if (rhs->kind != K::set) return unsupported(*rhs, "this verdict map");
            if (rhs->args.empty()) return unsupported(*rhs, "an empty verdict map");  // as empty sets are
            // The expansion into one rule per element is exact only because the keys cannot overlap.
            std::vector<std::pair<uint64_t, uint64_t>> spans;
            for (const Expr& e : rhs->args) {
                if (e.kind != K::mapping || e.args[0].kind != K::value) continue;
                const std::string& k = e.args[0].text;
                ir::Ipv4Net net;
                uint32_t lo, hi;
                uint64_t a, b;
                if (ipv4_net(k, net))
                    spans.emplace_back(net.addr, net.addr | ~net.mask);
                else if (split_range(k, [&](const std::string& x, const std::string& y) {
                             return values::parse_ipv4(x, lo) && values::parse_ipv4(y, hi);
                         }))
                    spans.emplace_back(lo, hi);
                else if (values::parse_number(k, a, 0xffffffff))
                    spans.emplace_back(a, a);
                else if (split_range(k, [&](const std::string& x, const std::string& y) {
                             return values::parse_number(x, a, 0xffffffff) &&
                                    values::parse_number(y, b, 0xffffffff);
                         }))
                    spans.emplace_back(a, b);
                for (size_t i = 0; i + 1 < spans.size(); ++i)
                    if (!spans.empty() && spans[i].first <= spans.back().second &&
                        spans.back().first <= spans[i].second)
                        return error(e.loc, "this verdict map key overlaps an earlier one", e.length);
            }
            Alts all;
            for (const Expr& e : rhs->args) {
                if (e.kind != K::mapping || e.args[1].kind != K::verdict)
                    return error(e.loc, "a verdict map's element needs \"key : verdict\"", e.length);
                std::optional<Alts> alts = relation(*lhs, Op::eq, e.args[0], std::nullopt, e.loc);
                std::optional<ir::Target> t = verdict(e.args[1]);
                if (!alts || !t) return false;
                for (Alt& a : *alts) a.target = *t, all.push_back(std::move(a));
            }
            verdict_seen_ = true;
            return apply(all, s.loc);
        }
        case SK::verdict: {
            Expr v{K::verdict, s.keyword, s.args, s.loc, s.length};
            std::optional<ir::Target> t = verdict(v);
            if (!t) return false;
            verdict_seen_ = true;
            for (ir::Rule& r : rules_) r.target = *t, r.target_loc = s.loc;
            return true;
        }
        case SK::counter: {
            if (s.args.size() == 1) return unsupported(s.args[0], "a named counter");
            if (s.args.size() == 2) {
                std::optional<uint64_t> p = value(s.args[0], UINT64_MAX, "packet count"),
                                        b = value(s.args[1], UINT64_MAX, "byte count");
                if (!p || !b) return false;
                for (ir::Rule& r : rules_) r.counters = ir::Counters{*p, *b};
            }
            return true;
        }
        case SK::comment:
            if (s.args[0].text.size() > 255)
                return error(s.args[0].loc, "comment longer than 255 characters");
            return apply(Alts{Alt{{ir::CommentMatch{s.args[0].text}}, {}}}, s.loc);
        case SK::log: {
            if (log_) return error(s.loc, "a second log statement in one rule is not supported", s.length);
            ir::LogTarget log;
            for (size_t i = 0; i + 1 < s.args.size(); i += 2) {
                const std::string& opt = s.args[i].text;
                const Expr& val = s.args[i + 1];
                if (opt == "prefix") {
                    std::string unknown;
                    std::optional<std::string> prefix =
                        parser::expand_variables(val.text, scope_.vars, unknown);
                    if (!prefix) return error(val.loc, "unknown variable $" + unknown);
                    if (prefix->size() > 127) return error(val.loc, "log prefix longer than 127 characters");
                    log.prefix = *prefix;
                } else if (opt == "level") {
                    std::optional<uint32_t> l = lookup(log_levels, val.text);
                    if (!l) return unsupported(val, "log level \"" + val.text + "\"");
                    log.level = static_cast<uint8_t>(*l);
                } else if (opt == "flags") {
                    std::string words = s.args[i + 1].text;
                    std::string all = "," + words + ",";
                    for (std::string_view f : {"sequence", "options", "skuid", "ether", "all"}) {
                        if (all.find(std::string(",") + std::string(f) + ",") == std::string::npos) continue;
                        if (f == "sequence") log.flags |= 1;
                        if (f == "options") log.flags |= 2;  // tcp options; ip options below
                        if (f == "skuid") log.flags |= 8;
                        if (f == "ether") log.flags |= 0x20;
                        if (f == "all") log.flags |= 0x2f;
                    }
                } else {
                    return unsupported(s.args[i], "log " + opt + " (nflog)");
                }
            }
            log_ = log;
            log_loc_ = s.loc;
            return true;
        }
        case SK::reject: {
            std::string with = "icmp-port-unreachable";
            if (!s.args.empty()) {
                std::string kind = s.args[0].text;
                std::string code = s.args.size() > 1 ? s.args[1].text : "";
                if (kind == "tcp reset") {
                    with = "tcp-reset";
                    if (!apply(Alts{Alt{{ir::ProtocolMatch{6, false}}, {}}}, s.loc)) return false;
                } else if ((kind == "icmp type" || kind == "icmp" || kind == "icmpx type" ||
                            kind == "icmpx") &&
                           lookup(icmp_code_names, code)) {
                    with = "icmp-" + code;
                    if (code == "frag-needed") return unsupported(s.args[1], "reject with " + code);
                    if ((kind == "icmp type" || kind == "icmp") &&
                        !protocol("ip", s.args[0].loc, s.args[0].length))
                        return false;
                } else if (kind.rfind("icmpv6", 0) == 0) {
                    return unsupported(s.args[0], "reject with icmpv6 (IPv6 is not compiled)");
                } else {
                    return error(s.args[0].loc, "unknown reject type \"" + kind + " " + code + "\"",
                                 s.args[0].length);
                }
            }
            verdict_seen_ = true;
            for (ir::Rule& r : rules_) r.target = ir::RejectTarget{with}, r.target_loc = s.loc;
            return true;
        }
        case SK::other: {
            if (s.keyword == "notrack" && s.args.empty()) {
                for (ir::Rule& r : rules_) r.target = ir::NotrackTarget{}, r.target_loc = s.loc;
                verdict_seen_ = true;
                return true;
            }
            if (s.keyword == "limit") return limit(s);
            if (nat_chain_ && (s.keyword == "snat" || s.keyword == "dnat" || s.keyword == "masquerade" ||
                               s.keyword == "redirect")) {
                for (const Expr& a : s.args)  // "to ip saddr map @m": nft refuses a set there
                    if (a.kind == K::map && a.args.size() == 2 && a.args[1].kind == K::set_ref &&
                        scope_.sets.count(a.args[1].text) && scope_.sets.at(a.args[1].text) != "map")
                        return error(a.args[1].loc, "@" + a.args[1].text + " is a set, not a map",
                                     a.args[1].length);
                // Kept by name only: the chain is never compiled (its packets go to the kernel), and the
                // statement's arguments have no iptables-save form (nor one form across nft text and JSON).
                ir::OpaqueTarget nat{s.keyword, {}};
                for (char& ch : nat.name)
                    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
                for (ir::Rule& r : rules_) r.target = nat, r.target_loc = s.loc;
                verdict_seen_ = true;
                return true;
            }
            Expr k{K::value, s.keyword, {}, s.loc, static_cast<int>(s.keyword.size())};
            return unsupported(k, "statement \"" + s.keyword + "\"");
        }
        case SK::set: {
            Expr k{K::value, s.lhs.text + " set", {}, s.loc, s.length};
            return unsupported(k, "\"" + s.lhs.text + " set\" (packet mangling)");
        }
    }
    return false;
}

// limit rate N/unit [burst N packets]
bool RuleLowering::limit(const Statement& s) {
    std::vector<std::string> w;
    for (const Expr& a : s.args) w.push_back(a.text);
    if (w.empty() || w[0] != "rate")
        return unsupported(s.args.empty() ? Expr{K::value, "limit", {}, s.loc, 5} : s.args[0], "this limit");
    if (w.size() > 1 && (w[1] == "over" || w[1] == "until")) return unsupported(s.args[1], "limit rate over");
    if (w.size() < 2) return error(s.loc, "limit rate needs a rate", s.length);
    const std::string& rate = w[1];
    size_t slash = rate.find('/');
    uint64_t n;
    if (slash == std::string::npos ||
        !values::parse_number(std::string_view(rate).substr(0, slash), n, 0xffffffff) || n == 0)
        return unsupported(s.args[1],
                           "limit rate \"" + rate + "\" (only packets per second/minute/hour/day)");
    std::string unit = rate.substr(slash + 1);
    uint64_t per = unit == "second"   ? 1
                   : unit == "minute" ? 60
                   : unit == "hour"   ? 3600
                   : unit == "day"    ? 86400
                                      : 0;
    if (per == 0) return unsupported(s.args[1], "limit unit \"" + unit + "\"");
    ir::LimitMatch m;
    m.avg = static_cast<uint32_t>(10000 * per / n);
    if (m.avg == 0) return error(s.args[1].loc, "limit rate too high", s.args[1].length);
    m.burst = 5;
    size_t i = 2;
    if (i < w.size() && w[i] == "burst") {
        if (i + 1 >= w.size() || !values::parse_number(w[i + 1], n, 10000))
            return error(s.loc, "limit burst needs a number of packets", s.length);
        if (i + 2 < w.size() && w[i + 2] != "packets") return unsupported(s.args[i + 2], "a burst in bytes");
        m.burst = static_cast<uint32_t>(n);
        i += i + 2 < w.size() ? 3 : 2;
    }
    if (i < w.size()) return unsupported(s.args[i], "limit option \"" + w[i] + "\"");
    return apply(Alts{Alt{{m}, {}}}, s.loc);
}

std::optional<ir::Target> RuleLowering::verdict(const Expr& v) {
    const std::string& t = v.text;
    if (t == "accept") return ir::AcceptTarget{};
    if (t == "drop") return ir::DropTarget{};
    if (t == "return") return ir::ReturnTarget{};
    if (t == "continue") return ir::NoTarget{};
    if ((t == "jump" || t == "goto") && !v.args.empty()) {
        if (t == "jump") return ir::JumpTarget{v.args[0].text};
        return ir::GotoTarget{v.args[0].text};
    }
    unsupported(v, "verdict \"" + t + "\"");
    return std::nullopt;
}

}  // namespace bpftables::nft
