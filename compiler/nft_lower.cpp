#include "compiler/nft_lower.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "compiler/nft_canonical.hpp"
#include "compiler/nft_check.hpp"
#include "compiler/xt/numbers.hpp"
#include "parser/nft_json.hpp"
#include "parser/nft_parser.hpp"

namespace bpftables {
namespace {

using parser::nft::Expr;
using parser::nft::Statement;
using K = Expr::Kind;

constexpr size_t max_alternatives = 256;  // rules one nft rule may expand into

struct NamedValue {
    std::string_view name;
    uint32_t value;
};

std::optional<uint32_t> lookup(const NamedValue* table, size_t n, std::string_view name) {
    for (size_t i = 0; i < n; ++i)
        if (table[i].name == name) return table[i].value;
    return std::nullopt;
}
template <size_t N>
std::optional<uint32_t> lookup(const NamedValue (&table)[N], std::string_view name) {
    return lookup(table, N, name);
}

constexpr NamedValue tcp_flag_names[] = {{"fin", 0x01}, {"syn", 0x02}, {"rst", 0x04}, {"psh", 0x08},
                                         {"ack", 0x10}, {"urg", 0x20}, {"ecn", 0x40}, {"cwr", 0x80}};
constexpr NamedValue ct_state_names[] = {{"invalid", ir::ct::invalid},
                                         {"established", ir::ct::established},
                                         {"related", ir::ct::related},
                                         {"new", ir::ct::new_},
                                         {"untracked", ir::ct::untracked}};
constexpr NamedValue ct_status_names[] = {
    {"expected", 1}, {"seen-reply", 2}, {"assured", 4}, {"confirmed", 8}};
constexpr NamedValue icmp_type_names[] = {{"echo-reply", 0},           {"destination-unreachable", 3},
                                          {"source-quench", 4},        {"redirect", 5},
                                          {"echo-request", 8},         {"router-advertisement", 9},
                                          {"router-solicitation", 10}, {"time-exceeded", 11},
                                          {"parameter-problem", 12},   {"timestamp-request", 13},
                                          {"timestamp-reply", 14},     {"info-request", 15},
                                          {"info-reply", 16},          {"address-mask-request", 17},
                                          {"address-mask-reply", 18}};
constexpr NamedValue icmp_code_names[] = {
    {"net-unreachable", 0}, {"host-unreachable", 1}, {"prot-unreachable", 2}, {"port-unreachable", 3},
    {"frag-needed", 4},     {"net-prohibited", 9},   {"host-prohibited", 10}, {"admin-prohibited", 13}};
constexpr NamedValue log_levels[] = {{"emerg", 0}, {"alert", 1},  {"crit", 2}, {"err", 3},
                                     {"warn", 4},  {"notice", 5}, {"info", 6}, {"debug", 7}};
constexpr NamedValue priority_names[] = {{"raw", static_cast<uint32_t>(-300)},
                                         {"mangle", static_cast<uint32_t>(-150)},
                                         {"dstnat", static_cast<uint32_t>(-100)},
                                         {"filter", 0},
                                         {"security", 50},
                                         {"srcnat", 100}};

bool number(std::string_view s, uint64_t max, uint64_t& out) {
    return xt::parse_number(s, out, max);
}

bool ipv4(const std::string& s, uint32_t& out) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
    out = ntohl(a.s_addr);
    return true;
}

bool ipv4_net(const std::string& s, ir::Ipv4Net& out) {
    size_t slash = s.find('/');
    uint32_t addr;
    if (!ipv4(s.substr(0, slash), addr)) return false;
    uint64_t len = 32;
    if (slash != std::string::npos && !number(std::string_view(s).substr(slash + 1), 32, len)) return false;
    out.mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
    out.addr = addr & out.mask;
    return true;
}

// "a-b" split at the dash that makes both sides parse; nullopt when the text is not a range.
template <typename F>
bool split_range(const std::string& s, F&& parse_side) {
    for (size_t i = s.find('-'); i != std::string::npos; i = s.find('-', i + 1))
        if (parse_side(s.substr(0, i), s.substr(i + 1))) return true;
    return false;
}

enum class Op { eq, ne, lt, gt, le, ge };

std::optional<Op> op_of(const std::string& s) {
    if (s.empty() || s == "==" || s == "eq") return Op::eq;
    if (s == "!=" || s == "ne" || s == "!") return Op::ne;
    if (s == "<" || s == "lt") return Op::lt;
    if (s == ">" || s == "gt") return Op::gt;
    if (s == "<=" || s == "le") return Op::le;
    if (s == ">=" || s == "ge") return Op::ge;
    return std::nullopt;
}

// One way for a rule to match: matches to add (ANDed) and, for vmaps, the verdict of that way.
struct Alt {
    std::vector<ir::Match> matches;
    std::optional<ir::Target> target;
};
using Alts = std::vector<Alt>;  // ORed: the rule expands into one copy per alternative

struct Scope {
    std::map<std::string, Expr> vars;
    std::map<std::string, std::string> sets;  // name -> key type of the named sets known so far
    // Sets the kernel changes while the ruleset runs: written by a rule (add/update/delete @set) or declared
    // with timeouts or as dynamic. A program's copy would go stale, so rules reading them are the kernel's.
    std::set<std::string> kernel_sets;
    // The elements of the named sets a rule reads by value (all but address sets of ip saddr/daddr, which are
    // ipsets): expanded where they are read, as an anonymous set written there.
    std::map<std::string, std::vector<Expr>> elements;
};

class RuleLowering {
  public:
    // nat_chain: the rule is in a base chain of type nat, where snat, dnat, masquerade and redirect are kept
    // as targets (never compiled: the code generator hands such chains to the kernel).
    // kernel_decides: a statement bpftables does not compile (and every statement after it) becomes one
    // OpaqueMatch{"nft", {"--statement", text}}: the program hands the packets that reach it to the kernel,
    // whose copy of the ruleset decides. Otherwise such a statement is an error at its place.
    RuleLowering(const Scope& scope, Diagnostics& diags, bool nat_chain = false, bool kernel_decides = false)
        : scope_(scope), diags_(&diags), nat_chain_(nat_chain), kernel_decides_(kernel_decides) {}

    std::optional<std::vector<ir::Rule>> run(const parser::nft::Rule& rule);

  private:
    bool error(const SourceLoc& loc, const std::string& msg, int length = 1) {
        diags_->error(loc, msg, length);
        failed_ = true;
        return false;
    }
    bool unsupported(const Expr& e, const std::string& what) {
        diags_->error(e.loc, what + " is not supported", e.length);
        unsupported_ = true;
        return false;
    }

    std::optional<Expr> resolve(const Expr& e, int depth = 0);
    bool apply(const Alts& alts, const SourceLoc& loc);
    bool statement(const Statement& s);
    std::optional<Alts> relation(const Expr& lhs, Op op, const Expr& rhs, const std::optional<Expr>& mask,
                                 const SourceLoc& loc);
    std::optional<Alts> concat_relation(const Expr& lhs, Op op, const Expr& rhs, const SourceLoc& loc);
    std::optional<Expr> named_elements(const Expr& ref);
    template <typename F>
    std::optional<Alts> each(const Expr& rhs, Op op, F&& make);

    std::optional<ir::Match> address(const Expr& v, ir::Dir dir, bool invert);
    std::optional<ir::PortRange> port_range(const Expr& v, Op op, const std::string& proto);
    std::optional<Alts> ports(const std::string& proto, bool dst, Op op, const Expr& rhs);
    std::optional<uint32_t> bits(const Expr& v, const NamedValue* names, size_t n, const char* what);
    std::optional<uint64_t> value(const Expr& v, uint64_t max, const char* what);
    std::optional<ir::Target> verdict(const Expr& v);
    bool limit(const Statement& s);

    const Scope& scope_;
    Diagnostics* diags_;
    bool nat_chain_ = false, kernel_decides_ = false;
    bool unsupported_ = false, failed_ = false;  // what the statement being lowered ran into
    std::vector<ir::Rule> rules_{1};
    std::optional<ir::LogTarget> log_;
    SourceLoc log_loc_;
    bool verdict_seen_ = false;
};

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
    if (v.kind == K::value && number(v.text, max, n)) return n;
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
        if (number(v.text, 0xffffffff, x)) return static_cast<uint32_t>(x);
    }
    error(v.loc, std::string("unknown ") + what + " \"" + v.text + "\"", v.length);
    return std::nullopt;
}

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
            return ipv4(a, range.lo) && ipv4(b, range.hi);
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
    if (xt::parse_port_number(v.text, proto, p)) {
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
                return xt::parse_port_number(a, proto, r.lo) && xt::parse_port_number(b, proto, r.hi);
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
    alt.matches.push_back(ir::ProtocolMatch{pnum, false});
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
        alt.matches.push_back(std::move(m));
    } else if (rhs.kind == K::set_ref) {
        return unsupported(rhs, "a named set of ports"), std::nullopt;
    } else {
        std::optional<ir::PortRange> r = port_range(rhs, op, proto);
        if (!r) return std::nullopt;
        alt.matches.push_back(single(*r, op == Op::ne));
    }
    return Alts{std::move(alt)};
}

// The common shape: a single value (== or !=), a set (== forks, != inverts each) through make(value, invert).
template <typename F>
std::optional<Alts> RuleLowering::each(const Expr& rhs, Op op, F&& make) {
    if (op != Op::eq && op != Op::ne) return unsupported(rhs, "this ordering operator here"), std::nullopt;
    bool is_set = rhs.kind == K::set || rhs.kind == K::list;
    if (!is_set) {
        std::optional<ir::Match> m = make(rhs, op == Op::ne);
        if (!m) return std::nullopt;
        return Alts{Alt{{std::move(*m)}, {}}};
    }
    Alts out;
    Alt all;
    for (const Expr& e : rhs.args) {
        if (e.kind == K::mapping) return unsupported(e, "a mapping outside a map"), std::nullopt;
        std::optional<ir::Match> m = make(e, op == Op::ne);
        if (!m) return std::nullopt;
        if (op == Op::ne)
            all.matches.push_back(std::move(*m));
        else
            out.push_back(Alt{{std::move(*m)}, {}});
    }
    if (op == Op::ne) out.push_back(std::move(all));
    return out;
}

// A named set read by value: its elements as an anonymous set written at `ref`; empty when the set is not one
// (unknown, a map, or changed by the kernel at run time: reported).
std::optional<Expr> RuleLowering::named_elements(const Expr& ref) {
    auto it = scope_.elements.find(ref.text);
    if (it == scope_.elements.end() || scope_.sets.at(ref.text) == "map")
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
    bool address_set = rhs.kind == K::set_ref && lhs.kind == K::selector &&
                       (lhs.text == "ip saddr" || lhs.text == "ip daddr") && scope_.sets.count(rhs.text) &&
                       scope_.sets.at(rhs.text) == "ipv4_addr";
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
    if (rhs.kind == K::set_ref && sel != "ip saddr" && sel != "ip daddr")
        return unsupported(rhs, "a named set with \"" + lhs.text + "\""), std::nullopt;
    bool masked = and_mask || mask;
    if (masked && sel != "mark" && sel != "tcp flags" && sel != "ip saddr" && sel != "ip daddr" &&
        sel != "ip frag-off")
        return unsupported(lhs, "a bitwise mask on \"" + lhs.text + "\""), std::nullopt;
    auto needs = [](uint8_t proto, Alts alts) {
        for (Alt& a : alts) a.matches.insert(a.matches.begin(), ir::ProtocolMatch{proto, false});
        return alts;
    };

    if (sel == "ip saddr" || sel == "ip daddr") {
        ir::Dir dir = sel == "ip saddr" ? ir::Dir::src : ir::Dir::dst;
        uint32_t m = 0xffffffff;
        if (and_mask && (and_mask->kind != K::value || !ipv4(and_mask->text, m)))
            return error(and_mask->loc, "bad address mask \"" + and_mask->text + "\"", and_mask->length),
                   std::nullopt;
        return each(rhs, op, [&](const Expr& v, bool inv) -> std::optional<ir::Match> {
            std::optional<ir::Match> a = address(v, dir, inv);
            if (!a || !and_mask) return a;
            auto* am = std::get_if<ir::AddressMatch>(&*a);
            if (!am || am->net.mask != 0xffffffff)
                return unsupported(v, "a prefix under an address mask"), std::nullopt;
            am->net = ir::Ipv4Net{am->net.addr & m, m};  // "-s a/mask": any mask, not only prefixes
            return a;
        });
    }
    if (sel == "ip frag-off") {  // only iptables' -f: "ip frag-off & 0x1fff != 0"
        uint64_t m = 0, v = 1;
        if (!and_mask || !number(and_mask->text, 0xffff, m) || m != 0x1fff || rhs.kind != K::value ||
            !number(rhs.text, 0xffff, v) || v != 0 || (op != Op::eq && op != Op::ne))
            return unsupported(lhs, "\"ip frag-off\" other than \"& 0x1fff != 0\" (fragments)"), std::nullopt;
        return Alts{Alt{{ir::FragmentMatch{op == Op::eq}}, {}}};
    }
    if (sel.rfind("tcp option ", 0) == 0) {  // "tcp option N exists|missing", as -m tcp --tcp-option
        static constexpr NamedValue options[] = {{"eol", 0},      {"nop", 1},       {"maxseg", 2},
                                                 {"window", 3},   {"sack-perm", 4}, {"sack", 5},
                                                 {"timestamp", 8}};
        std::string name = sel.substr(11);
        std::optional<uint32_t> kind = lookup(options, name);
        uint64_t n;
        if (!kind && number(name, 255, n)) kind = static_cast<uint32_t>(n);
        if (!kind || name.find(' ') != std::string::npos || rhs.kind != K::value ||
            (rhs.text != "exists" && rhs.text != "missing") || op != Op::eq)
            return unsupported(lhs, "\"" + lhs.text + "\" other than \"exists\" or \"missing\""),
                   std::nullopt;
        ir::TcpMatch t;
        t.option = ir::Negatable<uint8_t>{static_cast<uint8_t>(*kind), rhs.text == "missing"};
        return needs(6, Alts{Alt{{t}, {}}});
    }
    if (sel == "ip protocol" || sel == "l4proto") {
        return each(rhs, op, [&](const Expr& v, bool inv) -> std::optional<ir::Match> {
            if (v.kind == K::value) {
                if (std::optional<uint8_t> p = ir::protocol_by_name(v.text))
                    return ir::ProtocolMatch{*p, inv};
                uint64_t n;
                if (number(v.text, 255, n)) return ir::ProtocolMatch{static_cast<uint8_t>(n), inv};
                if (split_range(v.text, [&](const std::string& a, const std::string& b) {
                        return number(a, 255, n) && number(b, 255, n);
                    }))
                    return unsupported(v, "a range of protocols"), std::nullopt;
            }
            return error(v.loc, "bad protocol \"" + v.text + "\"", v.length), std::nullopt;
        });
    }
    if (sel == "tcp dport" || sel == "tcp sport" || sel == "udp dport" || sel == "udp sport")
        return ports(sel.substr(0, 3), sel.substr(4) == "dport", op, rhs);
    if (sel == "th dport" || sel == "th sport") {  // either tcp or udp: the rule's protocol picks one
        bool dst = sel == "th dport";
        std::optional<Alts> t = ports("tcp", dst, op, rhs), u = ports("udp", dst, op, rhs);
        if (!t || !u) return std::nullopt;
        t->insert(t->end(), u->begin(), u->end());
        return t;
    }
    if (sel == "tcp flags") {
        std::optional<uint32_t> m = uint32_t{0xff};
        if (and_mask) m = bits(*and_mask, tcp_flag_names, std::size(tcp_flag_names), "tcp flag");
        if (mask) m = bits(*mask, tcp_flag_names, std::size(tcp_flag_names), "tcp flag");
        if (!m) return std::nullopt;
        if (op != Op::eq && op != Op::ne)
            return unsupported(rhs, "this ordering operator on tcp flags"), std::nullopt;
        bool implicit = !masked && lhs_in.kind == K::selector && op == Op::eq;
        std::optional<Alts> alts = each(
            rhs.kind == K::list ? Expr{K::binop, "|", rhs.args, rhs.loc, rhs.length} : rhs, op,
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
    if (sel == "icmp type" || sel == "icmp code") {
        bool code = sel == "icmp code";
        std::optional<Alts> alts = each(rhs, op, [&](const Expr& v, bool inv) -> std::optional<ir::Match> {
            std::optional<uint32_t> n;
            if (v.kind == K::value)
                n = code ? lookup(icmp_code_names, v.text) : lookup(icmp_type_names, v.text);
            if (!n) n = value(v, 255, code ? "icmp code" : "icmp type");
            if (!n) return std::nullopt;
            ir::IcmpMatch m;
            m.invert = inv;
            if (code)
                m.type = 0xfe, m.code_min = m.code_max = static_cast<uint8_t>(*n);  // merged below
            else
                m.type = static_cast<uint8_t>(*n);
            return m;
        });
        if (!alts) return std::nullopt;
        return needs(1, std::move(*alts));
    }
    if (sel == "ct state" || sel == "ct status") {
        bool state = sel == "ct state";
        if (op != Op::eq && op != Op::ne)
            return unsupported(rhs, "this ordering operator on " + sel), std::nullopt;
        Expr flat = rhs;
        if (rhs.kind == K::set) flat.kind = K::list;  // any of the states
        std::optional<uint32_t> b =
            state ? bits(flat, ct_state_names, std::size(ct_state_names), "ct state")
                  : bits(flat, ct_status_names, std::size(ct_status_names), "ct status");
        if (!b) return std::nullopt;
        ir::ConntrackMatch m;
        (state ? m.state : m.status) = ir::Negatable<uint32_t>{*b, op == Op::ne};
        return Alts{Alt{{m}, {}}};
    }
    if (sel == "ct direction") {
        if (op != Op::eq || rhs.kind != K::value || (rhs.text != "original" && rhs.text != "reply"))
            return unsupported(rhs, "this ct direction"), std::nullopt;
        ir::ConntrackMatch m;
        m.direction = rhs.text == "original" ? ir::CtDir::original : ir::CtDir::reply;
        return Alts{Alt{{m}, {}}};
    }
    if (sel == "iifname" || sel == "oifname" || sel == "iif" || sel == "oif") {
        ir::Dir dir = sel[0] == 'i' ? ir::Dir::src : ir::Dir::dst;
        return each(rhs, op, [&](const Expr& v, bool inv) -> std::optional<ir::Match> {
            if (v.kind != K::value && v.kind != K::string)
                return unsupported(v, "this interface expression"), std::nullopt;
            std::string name = v.text;
            bool wildcard = false;
            if (name.ends_with("\\*"))
                name.erase(name.size() - 2, 1);
            else if (name.ends_with("*"))
                name.back() = '+', wildcard = true;
            else if (name.ends_with("+"))
                return unsupported(
                           v, "an interface name ending in a literal '+' (iptables reads it as a wildcard)"),
                       std::nullopt;
            if (name.empty() || name.size() > 15)
                return error(v.loc, "bad interface name \"" + v.text + "\"", v.length), std::nullopt;
            // A name no device can have (dev_valid_name: no '/', ':' or blank, not "." or "..") never
            // matches, which iptables writes "! -i +".
            if (!wildcard &&
                (name == "." || name == ".." || name.find_first_of("/: \t\n") != std::string::npos))
                return ir::InterfaceMatch{dir, "+", !inv};
            return ir::InterfaceMatch{dir, name, inv};
        });
    }
    if (sel == "mark") {
        uint32_t m = 0xffffffff;
        if (and_mask) {
            std::optional<uint64_t> x = value(*and_mask, 0xffffffff, "mark mask");
            if (!x) return std::nullopt;
            m = static_cast<uint32_t>(*x);
        }
        return each(rhs, op, [&](const Expr& v, bool inv) -> std::optional<ir::Match> {
            std::optional<uint64_t> x = value(v, 0xffffffff, "mark");
            if (!x) return std::nullopt;
            return ir::MarkMatch{static_cast<uint32_t>(*x), m, inv};
        });
    }
    if (sel == "pkttype") {
        return each(rhs, op, [&](const Expr& v, bool inv) -> std::optional<ir::Match> {
            if (v.text == "host") return ir::PktTypeMatch{ir::PktType::unicast, inv};
            if (v.text == "broadcast") return ir::PktTypeMatch{ir::PktType::broadcast, inv};
            if (v.text == "multicast") return ir::PktTypeMatch{ir::PktType::multicast, inv};
            return unsupported(v, "packet type \"" + v.text + "\""), std::nullopt;
        });
    }
    if (sel == "nfproto") {
        if (op == Op::eq && rhs.kind == K::value && rhs.text == "ipv4") return Alts{Alt{}};  // always, here
        return unsupported(rhs, "this meta nfproto (only IPv4 is compiled)"), std::nullopt;
    }
    if (sel == "ip length" || sel == "length") {
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
            if (v.kind == K::value && number(v.text, 0xffff, lo)) {
                m.min = m.max = static_cast<uint16_t>(lo);
                return m;
            }
            if (v.kind == K::value && split_range(v.text, [&](const std::string& a, const std::string& b) {
                    return number(a, 0xffff, lo) && number(b, 0xffff, hi) && lo <= hi;
                })) {
                m.min = static_cast<uint16_t>(lo), m.max = static_cast<uint16_t>(hi);
                return m;
            }
            return error(v.loc, "bad length \"" + v.text + "\"", v.length), std::nullopt;
        });
    }
    if (sel == "ip ttl") {
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
    if (sel == "ip dscp") {
        return each(rhs, op, [&](const Expr& v, bool inv) -> std::optional<ir::Match> {
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
    if (sel == "ether saddr") {
        return each(rhs, op, [&](const Expr& v, bool inv) -> std::optional<ir::Match> {
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
    return unsupported(lhs, "\"" + lhs.text + "\""), std::nullopt;
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
            if (rhs->kind != K::set) return unsupported(*rhs, "a named verdict map");
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
                             return ipv4(x, lo) && ipv4(y, hi);
                         }))
                    spans.emplace_back(lo, hi);
                else if (number(k, 0xffffffff, a))
                    spans.emplace_back(a, a);
                else if (split_range(k, [&](const std::string& x, const std::string& y) {
                             return number(x, 0xffffffff, a) && number(y, 0xffffffff, b);
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
    if (slash == std::string::npos || !number(std::string_view(rate).substr(0, slash), 0xffffffff, n) ||
        n == 0)
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
        if (i + 1 >= w.size() || !number(w[i + 1], 10000, n))
            return error(s.loc, "limit burst needs a number of packets", s.length);
        if (i + 2 < w.size() && w[i + 2] != "packets") return unsupported(s.args[i + 2], "a burst in bytes");
        m.burst = static_cast<uint32_t>(n);
        i += i + 2 < w.size() ? 3 : 2;
    }
    if (i < w.size()) return unsupported(s.args[i], "limit option \"" + w[i] + "\"");
    return apply(Alts{Alt{{m}, {}}}, s.loc);
}

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

// ---- whole scripts

std::optional<int> priority_of(const std::string& text, const Scope& scope) {
    std::string t = text;
    if (!t.empty() && t[0] == '$') {
        auto it = scope.vars.find(t.substr(1));
        if (it == scope.vars.end() || it->second.kind != K::value) return std::nullopt;
        t = it->second.text;
    }
    char* end = nullptr;
    long n = std::strtol(t.c_str(), &end, 10);
    if (end && *end == 0 && !t.empty()) return static_cast<int>(n);
    size_t sp = t.find(' ');
    std::optional<uint32_t> base = lookup(priority_names, t.substr(0, sp));
    if (!base) return std::nullopt;
    int p = static_cast<int32_t>(*base);
    if (sp != std::string::npos) {
        char sign = t[sp + 1];
        int off = std::atoi(t.c_str() + sp + 3);
        p += sign == '-' ? -off : off;
    }
    return p;
}

class ScriptLowering {
  public:
    ScriptLowering(Diagnostics& diags, bool kernel_decides)
        : diags_(diags), kernel_decides_(kernel_decides) {}

    std::optional<ir::Program> run(const parser::nft::Script& script) {
        bool ok = true;
        find_kernel_sets(script);
        for (const auto& c : script.commands) ok &= command(c);
        if (!ok) return std::nullopt;
        for (const ir::Table& t : program_.tables)  // jumps stay inside their table
            for (const ir::Chain& ch : t.chains)
                for (const ir::Rule& r : ch.rules) {
                    const std::string* to = nullptr;
                    if (const auto* j = std::get_if<ir::JumpTarget>(&r.target)) to = &j->chain;
                    if (const auto* g = std::get_if<ir::GotoTarget>(&r.target)) to = &g->chain;
                    if (to && !t.find(*to))
                        ok = error(r.target_loc, "no chain \"" + *to + "\" in table " + t.name);
                    if (to && t.find(*to) && t.find(*to)->nft_hook)
                        ok = error(r.target_loc, "cannot jump to base chain \"" + *to + "\"");
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
        bool nat_chain = ch.nft_hook && ch.nft_hook->type == "nat";
        std::optional<std::vector<ir::Rule>> rules =
            RuleLowering(scope_, diags_, nat_chain, kernel_decides_).run(r);
        if (!rules) return false;
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
        std::vector<Expr>& kept = scope_.elements[name];
        if (body.elements) kept.insert(kept.end(), body.elements->args.begin(), body.elements->args.end());
        if (key != "ipv4_addr") return true;  // read by value where a rule reads it (named_elements)
        ir::IpSet* s = nullptr;
        for (ir::IpSet& x : program_.sets)
            if (x.name == name) s = &x;
        if (!s) {
            program_.sets.push_back(ir::IpSet{name, "hash:net", loc, {}});
            s = &program_.sets.back();
        }
        if (!body.elements) return true;
        for (const Expr& e : body.elements->args) {
            ir::Ipv4Net net;
            if (e.kind != K::value || !ipv4_net(e.text, net))
                return diags_.error(
                           e.loc,
                           "set element \"" + e.text + "\" is not supported (addresses and prefixes only)",
                           e.length),
                       false;
            s->members.push_back(net);
        }
        return true;
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
                    scope_.sets.clear();
                    scope_.elements.clear();
                    return true;
                }
                return error(c.loc, c.verb + " ruleset is not supported");
            default:
                break;
        }
        if (!compiled_family(c)) return true;
        if (c.verb == "delete" || c.verb == "destroy") {
            if (c.object != O::table)
                return error(c.loc, c.verb + " of anything but a table is not supported");
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

std::optional<ir::Program> lower_nft(const parser::nft::Script& script, Diagnostics& diags,
                                     bool kernel_decides) {
    if (!check_nft(script, diags)) return std::nullopt;
    return ScriptLowering(diags, kernel_decides).run(script);
}

std::optional<std::vector<ir::Rule>> lower_nft_rule(const parser::nft::Rule& rule, Diagnostics& diags) {
    Scope scope;
    return RuleLowering(scope, diags).run(rule);
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
