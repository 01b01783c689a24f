// The nft lowering's selectors of packet headers (entries of the table in selectors.cpp): ip saddr/daddr,
// ip frag-off, ip protocol and meta l4proto, tcp/udp/th ports, tcp flags, tcp option, icmp type/code,
// ip/meta length, ip ttl, ip dscp and ether saddr.
#include <cstdio>

#include "compiler/nft/rule.hpp"
#include "compiler/values.hpp"

namespace bpftables::nft {
namespace {

constexpr NamedValue tcp_flag_names[] = {{"fin", 0x01}, {"syn", 0x02}, {"rst", 0x04}, {"psh", 0x08},
                                         {"ack", 0x10}, {"urg", 0x20}, {"ecn", 0x40}, {"cwr", 0x80}};
constexpr NamedValue icmp_type_names[] = {{"echo-reply", 0},           {"destination-unreachable", 3},
                                          {"source-quench", 4},        {"redirect", 5},
                                          {"echo-request", 8},         {"router-advertisement", 9},
                                          {"router-solicitation", 10}, {"time-exceeded", 11},
                                          {"parameter-problem", 12},   {"timestamp-request", 13},
                                          {"timestamp-reply", 14},     {"info-request", 15},
                                          {"info-reply", 16},          {"address-mask-request", 17},
                                          {"address-mask-reply", 18}};

// Protocol prerequisites: "tcp flags ..." is "-p tcp -m tcp --tcp-flags ...".
Alts needs(uint8_t proto, Alts alts) {
    for (Alt& a : alts) a.matches.insert(a.matches.begin(), ir::ProtocolMatch{proto, false});
    return alts;
}

}  // namespace

std::optional<ir::Match> RuleLowering::address(const Expr& v, ir::Dir dir, bool invert) {
    if (v.kind == K::set_ref) {
        auto it = scope_.sets.find(v.text);
        if (it == scope_.sets.end()) return error(v.loc, "unknown set @" + v.text, v.length), std::nullopt;
        if (it->second != "ipv4_addr")
            return unsupported(v, "a set of type " + it->second + " here"), std::nullopt;
        if (scope_.kernel_sets.count(v.text))
            return unsupported(v, "set @" + v.text +
                                      ", which the kernel changes at run time (timeouts, "
                                      "dynamic, or written by a rule),"),
                   std::nullopt;
        ir::SetMatch m;
        m.name = v.text;
        m.flags = {dir};
        m.invert = invert;
        return m;
    }
    if (v.kind != K::value) return unsupported(v, "this address expression"), std::nullopt;
    ir::Ipv4Net net;
    if (ipv4_net(v.text, net)) return ir::AddressMatch{dir, net, invert};
    ir::AddrRange range;
    if (split_range(v.text, [&](const std::string& a, const std::string& b) {
            return values::parse_ipv4(a, range.lo) && values::parse_ipv4(b, range.hi);
        })) {
        if (range.lo > range.hi) return error(v.loc, "the range's ends are reversed", v.length), std::nullopt;
        ir::IpRangeMatch m;
        (dir == ir::Dir::src ? m.src : m.dst) = ir::Negatable<ir::AddrRange>{range, invert};
        return m;
    }
    if (v.text.find(':') != std::string::npos)
        return unsupported(v, "an IPv6 address (IPv6 is not compiled)"), std::nullopt;
    return error(v.loc, "bad IPv4 address \"" + v.text + "\"", v.length), std::nullopt;
}

std::optional<ir::PortRange> RuleLowering::port_range(const Expr& v, Op op, const std::string& proto) {
    if (v.kind != K::value) return unsupported(v, "this port expression"), std::nullopt;
    ir::PortRange r;
    uint16_t p;
    if (values::parse_port(v.text, proto, p)) {
        switch (op) {
            case Op::eq:
            case Op::ne:
                r = {p, p};
                break;
            case Op::lt:
                if (p == 0) return error(v.loc, "no port is below 0", v.length), std::nullopt;
                r = {0, static_cast<uint16_t>(p - 1)};
                break;
            case Op::le:
                r = {0, p};
                break;
            case Op::gt:
                if (p == 0xffff) return error(v.loc, "no port is above 65535", v.length), std::nullopt;
                r = {static_cast<uint16_t>(p + 1), 0xffff};
                break;
            case Op::ge:
                r = {p, 0xffff};
                break;
        }
        return r;
    }
    if (op == Op::eq || op == Op::ne) {
        if (split_range(v.text, [&](const std::string& a, const std::string& b) {
                return values::parse_port(a, proto, r.lo) && values::parse_port(b, proto, r.hi);
            })) {
            if (r.lo > r.hi) return error(v.loc, "the range's ends are reversed", v.length), std::nullopt;
            return r;
        }
    }
    return error(v.loc, "bad port \"" + v.text + "\"", v.length), std::nullopt;
}

// Port relations: one value or range -> TcpMatch/UdpMatch, a set -> MultiportMatch.
std::optional<Alts> RuleLowering::ports(const std::string& proto, bool dst, Op op, const Expr& rhs) {
    uint8_t pnum = proto == "tcp" ? 6 : 17;
    auto single = [&](ir::PortRange r, bool invert) -> ir::Match {
        ir::Negatable<ir::PortRange> n{r, invert};
        if (pnum == 6) {
            ir::TcpMatch m;
            (dst ? m.dport : m.sport) = n;
            return m;
        }
        ir::UdpMatch m;
        (dst ? m.dport : m.sport) = n;
        return m;
    };
    Alt alt;
    alt.matches.emplace_back(ir::ProtocolMatch{pnum, false});
    if (rhs.kind == K::set) {
        if (op != Op::eq && op != Op::ne) return unsupported(rhs, "an ordering against a set"), std::nullopt;
        ir::MultiportMatch m;
        m.kind = dst ? ir::MultiportKind::dports : ir::MultiportKind::sports;
        m.invert = op == Op::ne;
        for (const Expr& e : rhs.args) {
            std::optional<ir::PortRange> r = port_range(e, Op::eq, proto);
            if (!r) return std::nullopt;
            m.ports.push_back(*r);
        }
        alt.matches.emplace_back(std::move(m));
    } else if (rhs.kind == K::set_ref) {
        return unsupported(rhs, "a named set of ports"), std::nullopt;
    } else {
        std::optional<ir::PortRange> r = port_range(rhs, op, proto);
        if (!r) return std::nullopt;
        alt.matches.push_back(single(*r, op == Op::ne));
    }
    return Alts{std::move(alt)};
}

// ip saddr/daddr [& mask] a.b.c.d[/len] | a-b | @set
std::optional<Alts> RuleLowering::match_address(const Selector& s, const Relation& r) {
    const std::optional<Expr>& and_mask = r.and_mask;
    uint32_t m = 0xffffffff;
    if (and_mask && (and_mask->kind != K::value || !values::parse_ipv4(and_mask->text, m)))
        return error(and_mask->loc, "bad address mask \"" + and_mask->text + "\"", and_mask->length),
               std::nullopt;
    return each(r.rhs, r.op, [&](const Expr& v, bool inv) -> std::optional<ir::Match> {
        std::optional<ir::Match> a = address(v, s.dir, inv);
        if (!a || !and_mask) return a;
        auto* am = std::get_if<ir::AddressMatch>(&*a);
        if (!am || am->net.mask != 0xffffffff)
            return unsupported(v, "a prefix under an address mask"), std::nullopt;
        am->net = ir::Ipv4Net{am->net.addr & m, m};  // "-s a/mask": any mask, not only prefixes
        return a;
    });
}

// Only iptables' -f: "ip frag-off & 0x1fff != 0"
std::optional<Alts> RuleLowering::match_fragment(const Selector&, const Relation& r) {
    uint64_t m = 0, v = 1;
    if (!r.and_mask || !values::parse_number(r.and_mask->text, m, 0xffff) || m != 0x1fff ||
        r.rhs.kind != K::value || !values::parse_number(r.rhs.text, v, 0xffff) || v != 0 ||
        (r.op != Op::eq && r.op != Op::ne))
        return unsupported(r.lhs, "\"ip frag-off\" other than \"& 0x1fff != 0\" (fragments)"), std::nullopt;
    return Alts{Alt{{ir::FragmentMatch{r.op == Op::eq}}, {}}};
}

// "tcp option N exists|missing", as -m tcp --tcp-option
std::optional<Alts> RuleLowering::match_tcp_option(const Selector& s, const Relation& r) {
    static constexpr NamedValue options[] = {{"eol", 0},       {"nop", 1},  {"maxseg", 2},   {"window", 3},
                                             {"sack-perm", 4}, {"sack", 5}, {"timestamp", 8}};
    const Expr& rhs = r.rhs;
    std::string name(r.sel.substr(s.name.size()));
    std::optional<uint32_t> kind = lookup(options, name);
    uint64_t n;
    if (!kind && values::parse_number(name, n, 255)) kind = static_cast<uint32_t>(n);
    if (!kind || name.find(' ') != std::string::npos || rhs.kind != K::value ||
        (rhs.text != "exists" && rhs.text != "missing") || r.op != Op::eq)
        return unsupported(r.lhs, "\"" + r.lhs.text + "\" other than \"exists\" or \"missing\""),
               std::nullopt;
    ir::TcpMatch t;
    t.option = ir::Negatable<uint8_t>{static_cast<uint8_t>(*kind), rhs.text == "missing"};
    return needs(6, Alts{Alt{{t}, {}}});
}

// ip protocol, meta l4proto
std::optional<Alts> RuleLowering::match_protocol(const Selector&, const Relation& r) {
    return each(r.rhs, r.op, [&](const Expr& v, bool inv) -> std::optional<ir::Match> {
        if (v.kind == K::value) {
            if (std::optional<uint8_t> p = values::protocol_by_name(v.text))
                return ir::ProtocolMatch{*p, inv};
            uint64_t n;
            if (values::parse_number(v.text, n, 255)) return ir::ProtocolMatch{static_cast<uint8_t>(n), inv};
            if (split_range(v.text, [&](const std::string& a, const std::string& b) {
                    return values::parse_number(a, n, 255) && values::parse_number(b, n, 255);
                }))
                return unsupported(v, "a range of protocols"), std::nullopt;
        }
        return error(v.loc, "bad protocol \"" + v.text + "\"", v.length), std::nullopt;
    });
}

// tcp/udp dport/sport; th dport/sport is either tcp or udp: the rule's protocol picks one
std::optional<Alts> RuleLowering::match_ports(const Selector& s, const Relation& r) {
    bool dst = s.dir == ir::Dir::dst;
    if (s.proto != "th") return ports(std::string(s.proto), dst, r.op, r.rhs);
    std::optional<Alts> t = ports("tcp", dst, r.op, r.rhs), u = ports("udp", dst, r.op, r.rhs);
    if (!t || !u) return std::nullopt;
    t->insert(t->end(), u->begin(), u->end());
    return t;
}

// tcp flags [& mask] == flags, tcp flags flags / mask, tcp flags syn
std::optional<Alts> RuleLowering::match_tcp_flags(const Selector&, const Relation& r) {
    const Expr& rhs = r.rhs;
    Op op = r.op;
    std::optional<uint32_t> m = uint32_t{0xff};
    if (r.and_mask) m = bits(*r.and_mask, tcp_flag_names, std::size(tcp_flag_names), "tcp flag");
    if (r.mask) m = bits(*r.mask, tcp_flag_names, std::size(tcp_flag_names), "tcp flag");
    if (!m) return std::nullopt;
    if (op != Op::eq && op != Op::ne)
        return unsupported(rhs, "this ordering operator on tcp flags"), std::nullopt;
    bool implicit = !r.and_mask && !r.mask && r.written.kind == K::selector && op == Op::eq;
    std::optional<Alts> alts =
        each(rhs.kind == K::list ? Expr{K::binop, "|", rhs.args, rhs.loc, rhs.length} : rhs, op,
             [&](const Expr& v, bool inv) -> std::optional<ir::Match> {
                 std::optional<uint32_t> b = bits(v, tcp_flag_names, std::size(tcp_flag_names), "tcp flag");
                 if (!b) return std::nullopt;
                 ir::TcpFlags f{static_cast<uint8_t>(*m), static_cast<uint8_t>(*b)};
                 if (implicit && rhs.kind != K::set) {  // "tcp flags syn": (flags & syn) != 0
                     if (__builtin_popcount(*b) != 1)
                         return unsupported(v, "\"any of these tcp flags\""), std::nullopt;
                     f = {static_cast<uint8_t>(*b), static_cast<uint8_t>(*b)};
                 }
                 ir::TcpMatch t;
                 t.flags = ir::Negatable<ir::TcpFlags>{f, inv};
                 return t;
             });
    if (!alts) return std::nullopt;
    return needs(6, std::move(*alts));
}

// icmp type, icmp code (a code joins the rule's icmp type in apply)
std::optional<Alts> RuleLowering::match_icmp(const Selector& s, const Relation& r) {
    bool code = s.name == "icmp code";
    std::optional<Alts> alts = each(r.rhs, r.op, [&](const Expr& v, bool inv) -> std::optional<ir::Match> {
        std::optional<uint32_t> n;
        if (v.kind == K::value) n = code ? lookup(icmp_code_names, v.text) : lookup(icmp_type_names, v.text);
        if (!n) n = value(v, 255, code ? "icmp code" : "icmp type");
        if (!n) return std::nullopt;
        ir::IcmpMatch m;
        m.invert = inv;
        if (code)
            m.type = 0xfe, m.code_min = m.code_max = static_cast<uint8_t>(*n);  // merged in apply
        else
            m.type = static_cast<uint8_t>(*n);
        return m;
    });
    if (!alts) return std::nullopt;
    return needs(1, std::move(*alts));
}

// ip length, meta length: a value, a range, a set of them, or an order
std::optional<Alts> RuleLowering::match_length(const Selector&, const Relation& r) {
    const Expr& rhs = r.rhs;
    Op op = r.op;
    if (op != Op::eq && op != Op::ne && rhs.kind == K::value) {
        std::optional<uint64_t> x = value(rhs, 0xffff, "length");
        if (!x) return std::nullopt;
        ir::LengthMatch m;
        if ((op == Op::lt && *x == 0) || (op == Op::gt && *x == 0xffff))
            return error(rhs.loc, "no length matches", rhs.length), std::nullopt;
        if (op == Op::lt) m.max = static_cast<uint16_t>(*x - 1);
        if (op == Op::le) m.max = static_cast<uint16_t>(*x);
        if (op == Op::gt) m.min = static_cast<uint16_t>(*x + 1);
        if (op == Op::ge) m.min = static_cast<uint16_t>(*x);
        return Alts{Alt{{m}, {}}};
    }
    return each(rhs, op, [&](const Expr& v, bool inv) -> std::optional<ir::Match> {
        ir::LengthMatch m;
        m.invert = inv;
        uint64_t lo, hi;
        if (v.kind == K::value && values::parse_number(v.text, lo, 0xffff)) {
            m.min = m.max = static_cast<uint16_t>(lo);
            return m;
        }
        if (v.kind == K::value && split_range(v.text, [&](const std::string& a, const std::string& b) {
                return values::parse_number(a, lo, 0xffff) && values::parse_number(b, hi, 0xffff) && lo <= hi;
            })) {
            m.min = static_cast<uint16_t>(lo), m.max = static_cast<uint16_t>(hi);
            return m;
        }
        return error(v.loc, "bad length \"" + v.text + "\"", v.length), std::nullopt;
    });
}

std::optional<Alts> RuleLowering::match_ttl(const Selector&, const Relation& r) {
    const Expr& rhs = r.rhs;
    Op op = r.op;
    if (rhs.kind == K::value && op != Op::eq && op != Op::ne) {
        std::optional<uint64_t> x = value(rhs, 255, "ttl");
        if (!x) return std::nullopt;
        ir::TtlMatch m;
        if (op == Op::lt || op == Op::le)
            m.op = ir::TtlOp::lt, m.value = static_cast<uint8_t>(*x + (op == Op::le));
        if (op == Op::gt || op == Op::ge)
            m.op = ir::TtlOp::gt, m.value = static_cast<uint8_t>(*x - (op == Op::ge));
        if ((op == Op::le && *x == 255) || (op == Op::ge && *x == 0)) return Alts{Alt{}};
        return Alts{Alt{{m}, {}}};
    }
    return each(rhs, op, [&](const Expr& v, bool inv) -> std::optional<ir::Match> {
        std::optional<uint64_t> x = value(v, 255, "ttl");
        if (!x) return std::nullopt;
        return ir::TtlMatch{inv ? ir::TtlOp::ne : ir::TtlOp::eq, static_cast<uint8_t>(*x)};
    });
}

// ip dscp: a number or ef, cs0..cs7, af11..af43
std::optional<Alts> RuleLowering::match_dscp(const Selector&, const Relation& r) {
    return each(r.rhs, r.op, [&](const Expr& v, bool inv) -> std::optional<ir::Match> {
        const std::string& t = v.text;
        uint64_t n = 0;
        if (t == "ef")
            n = 46;
        else if (t.size() == 3 && t.rfind("cs", 0) == 0 && t[2] >= '0' && t[2] <= '7')
            n = 8 * (t[2] - '0');
        else if (t.size() == 4 && t.rfind("af", 0) == 0 && t[2] >= '1' && t[2] <= '4' && t[3] >= '1' &&
                 t[3] <= '3')
            n = 8 * (t[2] - '0') + 2 * (t[3] - '0');
        else if (std::optional<uint64_t> x = value(v, 63, "dscp"))
            n = *x;
        else
            return std::nullopt;
        return ir::DscpMatch{static_cast<uint8_t>(n), inv};
    });
}

// ether saddr
std::optional<Alts> RuleLowering::match_mac(const Selector&, const Relation& r) {
    return each(r.rhs, r.op, [&](const Expr& v, bool inv) -> std::optional<ir::Match> {
        ir::MacMatch m;
        m.invert = inv;
        unsigned b[6];
        char extra;
        if (v.kind != K::value || std::sscanf(v.text.c_str(), "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2],
                                              &b[3], &b[4], &b[5], &extra) != 6)
            return error(v.loc, "bad MAC address \"" + v.text + "\"", v.length), std::nullopt;
        for (int i = 0; i < 6; ++i) {
            if (b[i] > 0xff)
                return error(v.loc, "bad MAC address \"" + v.text + "\"", v.length), std::nullopt;
            m.addr[i] = static_cast<uint8_t>(b[i]);
        }
        return m;
    });
}

}  // namespace bpftables::nft
