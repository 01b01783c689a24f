// The nft lowering's selectors: "selector op value" (RuleLowering::relation) into IR matches. The selectors
// bpftables compiles are one table (find_selector), each entry naming the function that lowers it;
// selectors that lower alike (ip saddr/daddr, tcp/udp/th dport/sport, iifname/oifname/iif/oif, ct
// state/status, icmp type/code ...) share that function, which reads what differs from its entry. Those
// functions are in payload.cpp (packet headers) and meta.cpp (meta and ct).
#include "compiler/nft/rule.hpp"

namespace bpftables::nft {

const Selector* RuleLowering::find_selector(std::string_view sel) {
    using R = RuleLowering;
    using ir::Dir;
    static const Selector selectors[] = {
        {"ip saddr", &R::match_address, Dir::src, {}, true, true},
        {"ip daddr", &R::match_address, Dir::dst, {}, true, true},
        {"ip frag-off", &R::match_fragment, Dir::src, {}, true},
        {"tcp option ", &R::match_tcp_option, Dir::src, {}, false, false, true},
        {"ip protocol", &R::match_protocol},
        {"l4proto", &R::match_protocol},
        {"tcp dport", &R::match_ports, Dir::dst, "tcp"},
        {"tcp sport", &R::match_ports, Dir::src, "tcp"},
        {"udp dport", &R::match_ports, Dir::dst, "udp"},
        {"udp sport", &R::match_ports, Dir::src, "udp"},
        {"th dport", &R::match_ports, Dir::dst, "th"},
        {"th sport", &R::match_ports, Dir::src, "th"},
        {"tcp flags", &R::match_tcp_flags, Dir::src, {}, true},
        {"icmp type", &R::match_icmp},
        {"icmp code", &R::match_icmp},
        {"ct state", &R::match_ct_bits},
        {"ct status", &R::match_ct_bits},
        {"ct direction", &R::match_ct_direction},
        {"iifname", &R::match_interface, Dir::src},
        {"oifname", &R::match_interface, Dir::dst},
        {"iif", &R::match_interface, Dir::src},
        {"oif", &R::match_interface, Dir::dst},
        {"mark", &R::match_mark, Dir::src, {}, true},
        {"pkttype", &R::match_pkttype},
        {"nfproto", &R::match_nfproto},
        {"ip length", &R::match_length},
        {"length", &R::match_length},
        {"ip ttl", &R::match_ttl},
        {"ip dscp", &R::match_dscp},
        {"ether saddr", &R::match_mac},
        {"fib saddr type", &R::match_fib_type, Dir::src},
        {"fib daddr type", &R::match_fib_type, Dir::dst},
    };
    for (const Selector& s : selectors)
        if (s.prefix ? sel.starts_with(s.name) : sel == s.name) return &s;
    return nullptr;
}

// ip saddr . tcp dport { a . 22, b . 80 }: one alternative per element, each the conjunction of its parts.
std::optional<Alts> RuleLowering::concat_relation(const Expr& lhs, Op op, const Expr& rhs,
                                                  const SourceLoc& loc) {
    if (op != Op::eq) return unsupported(lhs, "a concatenation with \"!=\" or an order"), std::nullopt;
    std::vector<Expr> elements = rhs.kind == K::set ? rhs.args : std::vector<Expr>{rhs};
    Alts all;
    for (const Expr& e : elements) {
        if (e.kind != K::concat || e.args.size() != lhs.args.size())
            return error(e.loc,
                         "element " + e.text + " does not have the " + std::to_string(lhs.args.size()) +
                             " parts of the concatenation",
                         e.length),
                   std::nullopt;
        Alts acc{Alt{}};
        for (size_t i = 0; i < lhs.args.size(); ++i) {
            std::optional<Alts> part = relation(lhs.args[i], Op::eq, e.args[i], std::nullopt, loc);
            if (!part) return std::nullopt;
            Alts next;
            for (const Alt& a : acc)
                for (const Alt& b : *part) {
                    Alt c = a;
                    c.matches.insert(c.matches.end(), b.matches.begin(), b.matches.end());
                    next.push_back(std::move(c));
                }
            acc = std::move(next);
        }
        all.insert(all.end(), acc.begin(), acc.end());
    }
    return all;
}

std::optional<Alts> RuleLowering::relation(const Expr& lhs_in, Op op, const Expr& rhs_in,
                                           const std::optional<Expr>& mask, const SourceLoc& loc) {
    Expr lhs = lhs_in, rhs = rhs_in;
    std::optional<Expr> and_mask;
    if (lhs.kind == K::binop && lhs.text == "&" && lhs.args[0].kind == K::selector) {
        and_mask = lhs.args[1];
        Expr selector = lhs.args[0];  // a copy first: assigning lhs its own child frees the child mid-copy
        lhs = std::move(selector);
    }
    // An IPv6 header field carries nft's dependency on meta nfproto ipv6, whatever the operator and value.
    if (lhs.kind == K::selector && (lhs.text.starts_with("ip6 ") || lhs.text.starts_with("icmpv6 "))) {
        if (!protocol("ip6", lhs.loc, lhs.length)) return std::nullopt;
        bool address = lhs.text == "ip6 saddr" || lhs.text == "ip6 daddr";
        if (address && rhs.kind == K::set_ref && scope_.sets.count(rhs.text) &&
            scope_.sets.at(rhs.text) != "ipv6_addr")
            return error(rhs.loc,
                         "datatype mismatch, expected IPv6 address, set has type " + scope_.sets.at(rhs.text),
                         rhs.length),
                   std::nullopt;
        return Alts{never_in_ipv4()};
    }
    if (lhs.kind == K::selector && (lhs.text.starts_with("ip ") || lhs.text.starts_with("icmp ")) &&
        !protocol("ip", lhs.loc, lhs.length))
        return std::nullopt;
    const Selector* reads_ipsets = lhs.kind == K::selector ? find_selector(lhs.text) : nullptr;
    bool address_set = rhs.kind == K::set_ref && reads_ipsets && reads_ipsets->named_sets &&
                       scope_.sets.count(rhs.text) && scope_.sets.at(rhs.text) == "ipv4_addr";
    if (rhs.kind == K::set_ref && !and_mask && !mask) {  // one lookup in the set's map, where it can hold it
        std::optional<Alts> lookup = set_lookup(lhs, op, rhs);
        if (lookup || failed_) return lookup;
    }
    if (rhs.kind == K::set_ref && !address_set) {
        std::optional<Expr> set = named_elements(rhs);
        if (!set) return std::nullopt;
        if (set->args.empty() && op == Op::ne) return Alts{Alt{}};  // never a member of an empty set
        if (set->args.empty())
            return unsupported(rhs, "a lookup in the empty set @" + rhs.text), std::nullopt;
        rhs = std::move(*set);
    }
    if (lhs.kind == K::concat && !and_mask && !mask) return concat_relation(lhs, op, rhs, loc);
    if (lhs.kind != K::selector) return unsupported(lhs, "this expression"), std::nullopt;
    std::string sel = lhs.text;
    if (sel.rfind("meta ", 0) == 0) sel = sel.substr(5);
    const Selector* entry = find_selector(sel);
    if (rhs.kind == K::set_ref && !(entry && entry->named_sets))
        return unsupported(rhs, "a named set with \"" + lhs.text + "\""), std::nullopt;
    if ((and_mask || mask) && !(entry && entry->masks))
        return unsupported(lhs, "a bitwise mask on \"" + lhs.text + "\""), std::nullopt;
    if (!entry) return unsupported(lhs, "\"" + lhs.text + "\""), std::nullopt;
    return (this->*entry->lower)(*entry, Relation{lhs, lhs_in, op, rhs, and_mask, mask, sel});
}

}  // namespace bpftables::nft
