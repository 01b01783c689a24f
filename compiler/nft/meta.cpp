// The nft lowering's selectors of metadata and conntrack (entries of the table in selectors.cpp): ct state,
// ct status, ct direction, iifname/oifname/iif/oif, meta mark, meta pkttype and meta nfproto.
#include "compiler/nft/rule.hpp"

namespace bpftables::nft {
namespace {

constexpr NamedValue ct_state_names[] = {{"invalid", ir::ct::invalid},
                                         {"established", ir::ct::established},
                                         {"related", ir::ct::related},
                                         {"new", ir::ct::new_},
                                         {"untracked", ir::ct::untracked}};
constexpr NamedValue ct_status_names[] = {
    {"expected", 1}, {"seen-reply", 2}, {"assured", 4}, {"confirmed", 8}};

}  // namespace

// ct state, ct status: any of the names (a set or a list)
std::optional<Alts> RuleLowering::match_ct_bits(const Selector& s, const Relation& r) {
    bool state = s.name == "ct state";
    if (r.op != Op::eq && r.op != Op::ne)
        return unsupported(r.rhs, "this ordering operator on " + std::string(s.name)), std::nullopt;
    Expr flat = r.rhs;
    if (r.rhs.kind == K::set) flat.kind = K::list;  // any of the states
    // nat's status bits (Docker's `ct status dnat`) have no iptables --ctstatus name: the kernel reads them,
    // as it reads every ct status match (codegen hands those over)
    for (const Expr& e : flat.kind == K::list ? flat.args : std::vector<Expr>{flat})
        if (!state && (e.text == "snat" || e.text == "dnat" || e.text == "dying"))
            return unsupported(e, "ct status " + e.text), std::nullopt;
    std::optional<uint32_t> b = state ? bits(flat, ct_state_names, std::size(ct_state_names), "ct state")
                                      : bits(flat, ct_status_names, std::size(ct_status_names), "ct status");
    if (!b) return std::nullopt;
    ir::ConntrackMatch m;
    (state ? m.state : m.status) = ir::Negatable<uint32_t>{*b, r.op == Op::ne};
    return Alts{Alt{{m}, {}}};
}

std::optional<Alts> RuleLowering::match_ct_direction(const Selector&, const Relation& r) {
    const Expr& rhs = r.rhs;
    if (r.op != Op::eq || rhs.kind != K::value || (rhs.text != "original" && rhs.text != "reply"))
        return unsupported(rhs, "this ct direction"), std::nullopt;
    ir::ConntrackMatch m;
    m.direction = rhs.text == "original" ? ir::CtDir::original : ir::CtDir::reply;
    return Alts{Alt{{m}, {}}};
}

// iifname, oifname, iif, oif ("eth*" is iptables' "eth+"; iif/oif by name)
std::optional<Alts> RuleLowering::match_interface(const Selector& s, const Relation& r) {
    ir::Dir dir = s.dir;
    return each(r.rhs, r.op, [&](const Expr& v, bool inv) -> std::optional<ir::Match> {
        if (v.kind != K::value && v.kind != K::string)
            return unsupported(v, "this interface expression"), std::nullopt;
        std::string name = v.text;
        bool wildcard = false;
        if (name.ends_with("\\*"))
            name.erase(name.size() - 2, 1);
        else if (name.ends_with("*"))
            name.back() = '+', wildcard = true;
        else if (name.ends_with("+"))
            return unsupported(v,
                               "an interface name ending in a literal '+' (iptables reads it as a wildcard)"),
                   std::nullopt;
        if (name.empty() || name.size() > 15)
            return error(v.loc, "bad interface name \"" + v.text + "\"", v.length), std::nullopt;
        // A name no device can have (dev_valid_name: no '/', ':' or blank, not "." or "..") never
        // matches, which iptables writes "! -i +".
        if (!wildcard && (name == "." || name == ".." || name.find_first_of("/: \t\n") != std::string::npos))
            return ir::InterfaceMatch{dir, "+", !inv};
        return ir::InterfaceMatch{dir, name, inv};
    });
}

// meta mark [& mask] == value
std::optional<Alts> RuleLowering::match_mark(const Selector&, const Relation& r) {
    uint32_t m = 0xffffffff;
    if (r.and_mask) {
        std::optional<uint64_t> x = value(*r.and_mask, 0xffffffff, "mark mask");
        if (!x) return std::nullopt;
        m = static_cast<uint32_t>(*x);
    }
    return each(r.rhs, r.op, [&](const Expr& v, bool inv) -> std::optional<ir::Match> {
        std::optional<uint64_t> x = value(v, 0xffffffff, "mark");
        if (!x) return std::nullopt;
        return ir::MarkMatch{static_cast<uint32_t>(*x), m, inv};
    });
}

std::optional<Alts> RuleLowering::match_pkttype(const Selector&, const Relation& r) {
    return each(r.rhs, r.op, [&](const Expr& v, bool inv) -> std::optional<ir::Match> {
        if (v.text == "host") return ir::PktTypeMatch{ir::PktType::unicast, inv};
        if (v.text == "broadcast") return ir::PktTypeMatch{ir::PktType::broadcast, inv};
        if (v.text == "multicast") return ir::PktTypeMatch{ir::PktType::multicast, inv};
        return unsupported(v, "packet type \"" + v.text + "\""), std::nullopt;
    });
}

// The program is IPv4's: ipv4 is always true there, ipv6 never (never_in_ipv4).
std::optional<Alts> RuleLowering::match_nfproto(const Selector&, const Relation& r) {
    if ((r.op == Op::eq || r.op == Op::ne) && r.rhs.kind == K::value &&
        (r.rhs.text == "ipv4" || r.rhs.text == "ipv6")) {
        if (r.op == Op::eq && !protocol(r.rhs.text == "ipv4" ? "ip" : "ip6", r.rhs.loc, r.rhs.length))
            return std::nullopt;
        if ((r.rhs.text == "ipv4") == (r.op == Op::eq)) return Alts{Alt{}};
        return Alts{never_in_ipv4()};
    }
    return unsupported(r.rhs, "this meta nfproto (only ipv4 and ipv6)"), std::nullopt;
}

// fib saddr/daddr type local: -m addrtype --src-type/--dst-type LOCAL (nft_fib with no interface flag asks
// inet_addr_type(), as xt_addrtype does). Other types, and the iif/oif forms (other selectors), are the
// kernel's.
std::optional<Alts> RuleLowering::match_fib_type(const Selector& s, const Relation& r) {
    return each(r.rhs, r.op, [&](const Expr& v, bool inv) -> std::optional<ir::Match> {
        if (v.text != "local") return unsupported(v, "fib type \"" + v.text + "\""), std::nullopt;
        ir::AddrTypeMatch m;
        (s.dir == ir::Dir::src ? m.src : m.dst) = ir::Negatable<uint16_t>{ir::addrtype::local, inv};
        return m;
    });
}

}  // namespace bpftables::nft
