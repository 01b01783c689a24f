#pragma once
// What the parts of the nft lowering share: the alternatives a rule expands into, the scope a table gives
// its rules (variables, named sets), the table of selectors' entry, and RuleLowering, which turns one rule's
// statements into IR rules.
//
//   RuleLowering::run        (rule.cpp)        each statement in turn, then log + verdict, iptables' order
//   RuleLowering::statement  (statements.cpp)  verdicts, counter, comment, log, reject, limit, notrack, nat
//   RuleLowering::relation   (selectors.cpp)   "selector op value", by the table of selectors, whose
//   RuleLowering::match_*    (payload.cpp,     entries' functions lower packet headers
//                             meta.cpp)        and meta / ct selectors
//   ScriptLowering           (script.cpp)      tables, chains, sets, elements, rules, flush, delete, define
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/diagnostics.hpp"
#include "compiler/ir.hpp"
#include "parser/nft_ast.hpp"

namespace bpftables::nft {

using parser::nft::Expr;
using parser::nft::Statement;
using K = Expr::Kind;

constexpr size_t max_alternatives = 256;  // rules one nft rule may expand into

struct NamedValue {
    std::string_view name;
    uint32_t value;
};

inline std::optional<uint32_t> lookup(const NamedValue* table, size_t n, std::string_view name) {
    for (size_t i = 0; i < n; ++i)
        if (table[i].name == name) return table[i].value;
    return std::nullopt;
}
template <size_t N>
std::optional<uint32_t> lookup(const NamedValue (&table)[N], std::string_view name) {
    return lookup(table, N, name);
}

// "reject with icmp CODE" and "icmp code CODE"
constexpr NamedValue icmp_code_names[] = {
    {"net-unreachable", 0}, {"host-unreachable", 1}, {"prot-unreachable", 2}, {"port-unreachable", 3},
    {"frag-needed", 4},     {"net-prohibited", 9},   {"host-prohibited", 10}, {"admin-prohibited", 13}};

// Numbers, addresses, ports and protocols are read by compiler/values.hpp; this one is nft's own.
bool ipv4_net(const std::string& s, ir::Ipv4Net& out);  // a.b.c.d or a.b.c.d/len

// "a-b" split at the dash that makes both sides parse; false when the text is not a range.
template <typename F>
bool split_range(const std::string& s, F&& parse_side) {
    for (size_t i = s.find('-'); i != std::string::npos; i = s.find('-', i + 1))
        if (parse_side(s.substr(0, i), s.substr(i + 1))) return true;
    return false;
}

enum class Op { eq, ne, lt, gt, le, ge };

// One way for a rule to match: matches to add (ANDed) and, for vmaps, the verdict of that way.
struct Alt {
    std::vector<ir::Match> matches;
    std::optional<ir::Target> target;
};
using Alts = std::vector<Alt>;  // ORed: the rule expands into one copy per alternative

// What is never true in the IPv4 program (an inet table's IPv6 packets are the kernel's): meta nfproto ipv6,
// an IPv6 header field. "! -s 0.0.0.0/0" says it; the rule stays, counted, in its place.
inline Alt never_in_ipv4() {
    return Alt{{ir::AddressMatch{ir::Dir::src, ir::Ipv4Net{0, 0}, true}}, {}};
}

struct Scope {
    std::map<std::string, Expr> vars;
    std::map<std::string, std::string> sets;  // name -> key type of the named sets known so far
    // Sets the kernel changes while the ruleset runs: written by a rule (add/update/delete @set) or declared
    // with timeouts or as dynamic. A program's copy would go stale, so rules reading them are the kernel's.
    std::set<std::string> kernel_sets;
    // The elements of the named sets a rule reads by value (all but address sets of ip saddr/daddr, which are
    // ipsets): expanded where they are read, as an anonymous set written there.
    std::map<std::string, std::vector<Expr>> elements;
    std::set<std::string> interval_sets;    // declared with "flags interval"
    std::map<std::string, uint32_t> sizes;  // declared with "size N"
};

// Set elements that carry state the lookup evaluates (limit, quota, ct count, last): only the kernel has it.
bool stateful_elements(const Expr& set);

class RuleLowering;
struct Selector;
struct Relation;

// One selector: `name` as nft lists it (without "meta "), and the function that lowers its relations.
using SelectorLowering = std::optional<Alts> (RuleLowering::*)(const Selector&, const Relation&);
struct Selector {
    std::string_view name;
    SelectorLowering lower;
    ir::Dir dir = ir::Dir::src;   // the address, port or interface: saddr, sport, iifname, iif are src
    std::string_view proto = {};  // ports: "tcp", "udp", or "th" (either: the rule's protocol picks one)
    bool masks = false;           // "selector & mask op value" (or tcp flags' "value / mask")
    bool named_sets = false;      // "selector @set" reads an ipset (others read a named set's elements)
    bool prefix = false;          // `name` is followed by one more word ("tcp option NAME")
};

// What a selector's lowering reads: the relation once variables, named sets and "& mask" are resolved.
struct Relation {
    const Expr& lhs;      // the selector
    const Expr& written;  // the left side as written (with its "& mask")
    Op op;
    const Expr& rhs;
    const std::optional<Expr>& and_mask;  // selector & mask op value
    const std::optional<Expr>& mask;      // tcp flags value / mask
    std::string_view sel;                 // the selector's name, without "meta "
};

class RuleLowering {
  public:
    // nat_chain: the rule is in a base chain of type nat or in a user chain, where snat, dnat, masquerade and
    // redirect are kept as targets (never compiled: nat chains are the kernel's, and a user chain with them
    // may only be reached from nat chains).
    // kernel_decides: a statement bpftables does not compile (and every statement after it) becomes one
    // OpaqueMatch{"nft", {"--statement", text}}: the program hands the packets that reach it to the kernel,
    // whose copy of the ruleset decides. Otherwise such a statement is an error at its place.
    RuleLowering(const Scope& scope, Diagnostics& diags, bool nat_chain = false, bool kernel_decides = false)
        : scope_(scope), diags_(&diags), nat_chain_(nat_chain), kernel_decides_(kernel_decides) {}

    std::optional<std::vector<ir::Rule>> run(const parser::nft::Rule& rule);
    // The maps of the anonymous verdict maps the rule looks up (named sets' maps are built once the whole
    // script is read: ScriptLowering).
    std::vector<ir::NftSet>& anonymous_sets() { return anonymous_sets_; }

  private:
    bool error(const SourceLoc& loc, const std::string& msg, int length = 1) {
        diags_->error(loc, msg, length);
        failed_ = true;
        return false;
    }
    // The network protocol the rule's expressions depend on, as nft's evaluator tracks it: "ip" (an ip or icmp
    // field, meta nfproto ipv4, reject with icmp) or "ip6" (an ip6 or icmpv6 field, meta nfproto ipv6); both in
    // one rule is nft's "conflicting protocols" error.
    bool protocol(const std::string& l3, const SourceLoc& loc, int length) {
        if (l3_.empty() || l3_ == l3) return l3_ = l3, true;
        return error(loc, "conflicting protocols specified: " + l3_ + " vs. " + l3, length);
    }
    bool unsupported(const Expr& e, const std::string& what) {
        diags_->error(e.loc, what + " is not supported", e.length);
        unsupported_ = true;
        return false;
    }

    // rule.cpp: the walk and what every part reads values with
    std::optional<Expr> resolve(const Expr& e, int depth = 0);
    bool apply(const Alts& alts, const SourceLoc& loc);
    std::optional<Expr> named_elements(const Expr& ref, bool map = false);
    std::optional<uint32_t> bits(const Expr& v, const NamedValue* names, size_t n, const char* what);
    std::optional<uint64_t> value(const Expr& v, uint64_t max, const char* what);

    // statements.cpp
    bool statement(const Statement& s);
    std::optional<ir::Target> verdict(const Expr& v);
    bool limit(const Statement& s);

    // sets.cpp: one lookup in a BPF map; nullopt (nothing reported) where the map cannot hold the set: the
    // caller expands it into one rule per element, as before.
    std::optional<Alts> set_lookup(const Expr& lhs, Op op, const Expr& ref);
    std::optional<Alts> vmap_lookup(const Expr& lhs, const Expr& rhs, const SourceLoc& loc);

    // selectors.cpp: a relation, dispatched by the table of selectors

    std::optional<Alts> relation(const Expr& lhs, Op op, const Expr& rhs, const std::optional<Expr>& mask,
                                 const SourceLoc& loc);
    std::optional<Alts> concat_relation(const Expr& lhs, Op op, const Expr& rhs, const SourceLoc& loc);
    static const Selector* find_selector(std::string_view sel);
    template <typename F>
    std::optional<Alts> each(const Expr& rhs, Op op, F&& make);

    // payload.cpp and meta.cpp: one lowering per family of selectors (the table's entries)
    std::optional<ir::Match> address(const Expr& v, ir::Dir dir, bool invert);
    std::optional<ir::PortRange> port_range(const Expr& v, Op op, const std::string& proto);
    std::optional<Alts> ports(const std::string& proto, bool dst, Op op, const Expr& rhs);

    std::optional<Alts> match_address(const Selector& s, const Relation& r);
    std::optional<Alts> match_fragment(const Selector& s, const Relation& r);
    std::optional<Alts> match_tcp_option(const Selector& s, const Relation& r);
    std::optional<Alts> match_protocol(const Selector& s, const Relation& r);
    std::optional<Alts> match_ports(const Selector& s, const Relation& r);
    std::optional<Alts> match_tcp_flags(const Selector& s, const Relation& r);
    std::optional<Alts> match_icmp(const Selector& s, const Relation& r);
    std::optional<Alts> match_ct_bits(const Selector& s, const Relation& r);
    std::optional<Alts> match_ct_direction(const Selector& s, const Relation& r);
    std::optional<Alts> match_interface(const Selector& s, const Relation& r);
    std::optional<Alts> match_mark(const Selector& s, const Relation& r);
    std::optional<Alts> match_pkttype(const Selector& s, const Relation& r);
    std::optional<Alts> match_nfproto(const Selector& s, const Relation& r);
    std::optional<Alts> match_fib_type(const Selector& s, const Relation& r);
    std::optional<Alts> match_length(const Selector& s, const Relation& r);
    std::optional<Alts> match_ttl(const Selector& s, const Relation& r);
    std::optional<Alts> match_dscp(const Selector& s, const Relation& r);
    std::optional<Alts> match_mac(const Selector& s, const Relation& r);

    const Scope& scope_;
    Diagnostics* diags_;
    bool nat_chain_ = false, kernel_decides_ = false;
    bool unsupported_ = false, failed_ = false;  // what the statement being lowered ran into
    std::vector<ir::Rule> rules_{1};
    std::vector<ir::NftSet> anonymous_sets_;
    std::optional<ir::LogTarget> log_;
    SourceLoc log_loc_;
    bool verdict_seen_ = false;
    std::string l3_;     // protocol()
    bool rest_ = false;  // statements other than a comment follow the one being lowered
};

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

}  // namespace bpftables::nft
