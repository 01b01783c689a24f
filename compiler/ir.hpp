#pragma once
// The intermediate representation every front end lowers into and every back end reads.
//
// Value types only: a Program owns Tables, a Table owns Chains, a Chain owns Rules; chains refer to each
// other by name (resolved to indices by the chain-resolution pass). A Match is a std::variant with one small
// struct per match kind; consumers use std::visit with one handler per alternative and no catch-all, so a new
// kind fails to compile until every consumer handles it. Addresses and ports are in host byte order.
//
// Each match struct keeps what iptables-save needs to print it back (so the canonical printer can reproduce
// the upstream text) and what the back ends need to decide it.

#include <algorithm>
#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/source_loc.hpp"

namespace bpftables::ir {

enum class Dir : uint8_t { src, dst };

// The address family a ruleset is written for: iptables-save text is IPv4, ip6tables-save text IPv6 (read with
// `-6`). nft tables carry their own family (Table::family); their programs are IPv4 today.
enum class Family : uint8_t { ipv4, ipv6 };

struct Ipv4Net {
    uint32_t addr = 0;  // already masked
    uint32_t mask = 0;
    auto operator<=>(const Ipv4Net&) const = default;
};

struct AddrRange {
    uint32_t lo = 0, hi = 0;
    auto operator<=>(const AddrRange&) const = default;
};

// An IPv6 address in network byte order (as in6_addr holds it): byte 0 is the most significant.
using Ipv6Addr = std::array<uint8_t, 16>;

struct Ipv6Net {
    Ipv6Addr addr{};  // already masked
    Ipv6Addr mask{};  // a prefix, or any mask ip6tables accepts ("/ffff::ff")
    auto operator<=>(const Ipv6Net&) const = default;
};

struct Addr6Range {
    Ipv6Addr lo{}, hi{};
    auto operator<=>(const Addr6Range&) const = default;
};

struct PortRange {
    uint16_t lo = 0, hi = 0xffff;
    auto operator<=>(const PortRange&) const = default;
};

// A value with iptables' "!" in front of its option.
template <class T>
struct Negatable {
    T value{};
    bool invert = false;
    auto operator<=>(const Negatable&) const = default;
};

struct Counters {
    uint64_t packets = 0, bytes = 0;
    auto operator<=>(const Counters&) const = default;
};

// ---- matches

struct ProtocolMatch {  // -p; proto 0 ("all") is never stored
    uint8_t proto = 0;
    bool invert = false;
    auto operator<=>(const ProtocolMatch&) const = default;
};

struct AddressMatch {  // -s / -d
    Dir dir = Dir::src;
    Ipv4Net net;
    bool invert = false;
    auto operator<=>(const AddressMatch&) const = default;
};

struct Address6Match {  // -s / -d of an IPv6 ruleset
    Dir dir = Dir::src;
    Ipv6Net net;
    bool invert = false;
    auto operator<=>(const Address6Match&) const = default;
};

struct InterfaceMatch {  // -i (src) / -o (dst); a trailing '+' matches every name with that prefix
    Dir dir = Dir::src;
    std::string name;
    bool invert = false;
    auto operator<=>(const InterfaceMatch&) const = default;
};

struct FragmentMatch {  // -f: second and later fragments
    bool invert = false;
    auto operator<=>(const FragmentMatch&) const = default;
};

struct TcpFlags {
    uint8_t mask = 0, cmp = 0;  // FIN=0x01 SYN=0x02 RST=0x04 PSH=0x08 ACK=0x10 URG=0x20 ECE=0x40 CWR=0x80
    auto operator<=>(const TcpFlags&) const = default;
};

struct TcpMatch {  // -m tcp (also implicit after -p tcp)
    std::optional<Negatable<PortRange>> sport, dport;
    std::optional<Negatable<TcpFlags>> flags;
    std::optional<Negatable<uint8_t>> option;
    auto operator<=>(const TcpMatch&) const = default;
};

struct UdpMatch {  // -m udp
    std::optional<Negatable<PortRange>> sport, dport;
    auto operator<=>(const UdpMatch&) const = default;
};

struct IcmpMatch {  // -m icmp --icmp-type; type 0xff = any
    uint8_t type = 0xff;
    uint8_t code_min = 0, code_max = 0xff;
    bool invert = false;
    auto operator<=>(const IcmpMatch&) const = default;
};

enum class MultiportKind : uint8_t { sports, dports, ports };

struct MultiportMatch {  // -m multiport; a single port is lo == hi
    MultiportKind kind = MultiportKind::dports;
    std::vector<PortRange> ports;
    bool invert = false;
    auto operator<=>(const MultiportMatch&) const = default;
};

// Conntrack state bits, as xt_conntrack numbers them.
namespace ct {
inline constexpr uint32_t invalid = 1u << 0;
inline constexpr uint32_t established = 1u << 1;
inline constexpr uint32_t related = 1u << 2;
inline constexpr uint32_t new_ = 1u << 3;
inline constexpr uint32_t untracked = 1u << 4;
inline constexpr uint32_t snat = 1u << 5;
inline constexpr uint32_t dnat = 1u << 6;
}  // namespace ct

struct StateMatch {  // -m state --state
    uint32_t states = 0;
    bool invert = false;
    auto operator<=>(const StateMatch&) const = default;
};

enum class CtDir : uint8_t { original, reply };

struct ConntrackMatch {  // -m conntrack; options print in this order
    std::optional<Negatable<uint32_t>> state;
    std::optional<Negatable<uint8_t>> proto;
    std::optional<Negatable<Ipv4Net>> orig_src, orig_dst, repl_src, repl_dst;
    // The same four in an IPv6 ruleset (ip6tables' --ctorigsrc 2001:db8::1); each prints in its IPv4 twin's
    // place, and a rule holds only the ones of its family. The address is kept as written (not masked), as
    // libxt_conntrack keeps and prints it; the kernel compares it under the mask.
    std::optional<Negatable<Ipv6Net>> orig_src6, orig_dst6, repl_src6, repl_dst6;
    std::optional<Negatable<PortRange>> orig_src_port, orig_dst_port, repl_src_port, repl_dst_port;
    std::optional<Negatable<uint32_t>> status;   // IPS_EXPECTED=1 SEEN_REPLY=2 ASSURED=4 CONFIRMED=8
    std::optional<Negatable<AddrRange>> expire;  // seconds, lo..hi
    std::optional<CtDir> direction;
    auto operator<=>(const ConntrackMatch&) const = default;
};

struct IpRangeMatch {  // -m iprange
    std::optional<Negatable<AddrRange>> src, dst;
    std::optional<Negatable<Addr6Range>> src6, dst6;  // an IPv6 ruleset's ranges, printed in the same places
    auto operator<=>(const IpRangeMatch&) const = default;
};

struct MarkMatch {  // -m mark --mark value[/mask]
    uint32_t value = 0, mask = 0xffffffff;
    bool invert = false;
    auto operator<=>(const MarkMatch&) const = default;
};

struct CommentMatch {  // -m comment --comment
    std::string text;
    auto operator<=>(const CommentMatch&) const = default;
};

struct LengthMatch {  // -m length --length min[:max]; layer-3 length
    uint16_t min = 0, max = 0xffff;
    bool invert = false;
    auto operator<=>(const LengthMatch&) const = default;
};

enum class TtlOp : uint8_t { eq, ne, lt, gt };

struct TtlMatch {  // -m ttl --ttl-eq/--ttl-lt/--ttl-gt; "! --ttl-eq" is ne
    TtlOp op = TtlOp::eq;
    uint8_t value = 0;
    auto operator<=>(const TtlMatch&) const = default;
};

struct HlMatch {  // ip6tables -m hl --hl-eq/--hl-lt/--hl-gt; "! --hl-eq" is ne (ttl's IPv6 twin)
    TtlOp op = TtlOp::eq;
    uint8_t value = 0;
    auto operator<=>(const HlMatch&) const = default;
};

struct Icmp6Match {  // ip6tables -m icmp6 --icmpv6-type TYPE[/CODE] (also implicit after -p ipv6-icmp)
    uint8_t type = 0;
    uint8_t code_min = 0, code_max = 0xff;
    bool invert = false;
    auto operator<=>(const Icmp6Match&) const = default;
};

// IPv6 extension headers as ip6t_ipv6header numbers them.
namespace ip6h {
inline constexpr uint8_t hop = 0x80, dst = 0x40, route = 0x20, frag = 0x10, auth = 0x08, esp = 0x04,
                         none = 0x02, proto = 0x01;
}

struct Ipv6HeaderMatch {  // -m ipv6header [!] --header hop,dst,... [--soft]
    uint8_t headers = 0;  // ip6h bits
    bool invert = false;
    bool soft = false;  // the packet has at least these headers, not exactly these
    auto operator<=>(const Ipv6HeaderMatch&) const = default;
};

// An id range of an extension header field: --fragid, --rt-segsleft, --ahspi. The full range uninverted is
// "not given" and prints nothing, as ip6tables-save.
struct U32Range {
    uint32_t lo = 0, hi = 0xffffffff;
    bool invert = false;
    auto operator<=>(const U32Range&) const = default;
};

struct FragMatch {  // -m frag
    U32Range id;
    std::optional<Negatable<uint32_t>> len;  // --fraglen
    bool res = false, first = false, more = false, last = false;
    auto operator<=>(const FragMatch&) const = default;
};

// The options of a hop-by-hop or destination options header: --hbh-len / --hbh-opts, --dst-len / --dst-opts.
struct Ip6Opts {
    std::optional<Negatable<uint32_t>> len;
    std::optional<std::vector<uint16_t>> opts;  // type << 8 | length, length 0xff when not given
    auto operator<=>(const Ip6Opts&) const = default;
};

struct HbhMatch {  // -m hbh
    Ip6Opts opts;
    auto operator<=>(const HbhMatch&) const = default;
};

struct DstMatch {  // -m dst
    Ip6Opts opts;
    auto operator<=>(const DstMatch&) const = default;
};

struct RtMatch {  // -m rt (routing header)
    std::optional<Negatable<uint32_t>> type, len;
    U32Range segsleft;
    bool res = false;                            // --rt-0-res
    std::optional<std::vector<Ipv6Addr>> addrs;  // --rt-0-addrs
    bool not_strict = false;                     // --rt-0-not-strict
    auto operator<=>(const RtMatch&) const = default;
};

struct AhMatch {  // ip6tables -m ah (authentication header)
    U32Range spi;
    std::optional<Negatable<uint32_t>> len;  // --ahlen (0 uninverted: not given)
    bool res = false;                        // --ahres
    auto operator<=>(const AhMatch&) const = default;
};

struct MhMatch {  // -m mh --mh-type (mobility header); the full range uninverted prints nothing
    uint8_t lo = 0, hi = 0xff;
    bool invert = false;
    auto operator<=>(const MhMatch&) const = default;
};

struct DscpMatch {  // -m dscp --dscp / --dscp-class
    uint8_t dscp = 0;
    bool invert = false;
    auto operator<=>(const DscpMatch&) const = default;
};

struct TosMatch {  // -m tos --tos value[/mask] or symbolic name
    uint8_t value = 0, mask = 0xff;
    bool invert = false;
    auto operator<=>(const TosMatch&) const = default;
};

struct MacMatch {  // -m mac --mac-source
    std::array<uint8_t, 6> addr{};
    bool invert = false;
    auto operator<=>(const MacMatch&) const = default;
};

// Address types, as xt_addrtype numbers them (1 << RTN_*).
namespace addrtype {
inline constexpr uint16_t unspec = 1 << 0, unicast = 1 << 1, local = 1 << 2, broadcast = 1 << 3,
                          anycast = 1 << 4, multicast = 1 << 5, blackhole = 1 << 6, unreachable = 1 << 7,
                          prohibit = 1 << 8, throw_ = 1 << 9, nat = 1 << 10, xresolve = 1 << 11;
}

struct AddrTypeMatch {  // -m addrtype
    std::optional<Negatable<uint16_t>> src, dst;
    bool limit_iface_in = false, limit_iface_out = false;
    auto operator<=>(const AddrTypeMatch&) const = default;
};

enum class PktType : uint8_t { unicast, broadcast, multicast };

struct PktTypeMatch {  // -m pkttype --pkt-type
    PktType type = PktType::unicast;
    bool invert = false;
    auto operator<=>(const PktTypeMatch&) const = default;
};

struct LimitMatch {                   // -m limit; avg in xt_rateinfo units: 1/10000 s per packet
    uint32_t avg = 10000 * 3600 / 3;  // 3/hour, iptables' default
    uint32_t burst = 5;
    auto operator<=>(const LimitMatch&) const = default;
};

struct SetMatch {  // -m set --match-set NAME src[,dst...]
    std::string name;
    std::vector<Dir> flags;
    bool invert = false;
    bool return_nomatch = false;
    bool update_counters = true;                  // "! --update-counters" clears it
    bool update_subcounters = true;               // "! --update-subcounters" clears it
    std::vector<std::string> counter_conditions;  // e.g. "--packets-gt 5", printed verbatim
    auto operator<=>(const SetMatch&) const = default;
};

// nft: one field of a set lookup's key ("ip daddr . meta l4proto . th dport @s"), in the order written. In the
// BPF map's key each field takes 4 bytes (addresses and ports in network order, then zeros; a protocol in the
// first byte), an interface name 16 (its bytes, NUL-padded), as nf_tables lays out its registers.
enum class KeyField : uint8_t { saddr, daddr, l4proto, sport, dport, iifname, oifname };

struct KeyPart {
    KeyField field = KeyField::saddr;
    uint8_t proto = 0;  // ports: tcp 6 or udp 17 (nft's dependency on meta l4proto), or 0: th (any protocol)
    auto operator<=>(const KeyPart&) const = default;
};

inline uint32_t key_part_size(KeyField f) {
    return f == KeyField::iifname || f == KeyField::oifname ? 16 : 4;
}
inline constexpr uint32_t max_key_size = 64;  // bytes of a lookup's key (the direct back end's stack slot)

struct NftSetMatch {  // nft "KEY @set": one lookup in the set's map (Program::nft_sets); "!=": not in it
    std::string set;
    std::vector<KeyPart> key;
    bool invert = false;
    auto operator<=>(const NftSetMatch&) const = default;
};

struct OpaqueMatch {  // any other -m module: kept as canonical text, never compiled
    std::string module;
    std::vector<std::string> args;
    auto operator<=>(const OpaqueMatch&) const = default;
};

using Match =
    std::variant<ProtocolMatch, AddressMatch, InterfaceMatch, FragmentMatch, TcpMatch, UdpMatch, IcmpMatch,
                 MultiportMatch, StateMatch, ConntrackMatch, IpRangeMatch, MarkMatch, CommentMatch,
                 LengthMatch, TtlMatch, DscpMatch, TosMatch, MacMatch, AddrTypeMatch, PktTypeMatch,
                 LimitMatch, SetMatch, OpaqueMatch, Address6Match, HlMatch, Icmp6Match, Ipv6HeaderMatch,
                 FragMatch, HbhMatch, DstMatch, RtMatch, AhMatch, MhMatch, NftSetMatch>;

// ---- targets

struct NoTarget {  // a rule without -j: counts and falls through
    auto operator<=>(const NoTarget&) const = default;
};
struct AcceptTarget {
    auto operator<=>(const AcceptTarget&) const = default;
};
struct DropTarget {
    auto operator<=>(const DropTarget&) const = default;
};
struct ReturnTarget {
    auto operator<=>(const ReturnTarget&) const = default;
};
struct JumpTarget {  // -j CHAIN
    std::string chain;
    auto operator<=>(const JumpTarget&) const = default;
};
struct GotoTarget {  // -g CHAIN
    std::string chain;
    auto operator<=>(const GotoTarget&) const = default;
};
struct RejectTarget {  // -j REJECT [--reject-with TYPE]; an IPv6 ruleset's types are icmp6-* and tcp-reset
    std::string with = "icmp-port-unreachable";
    auto operator<=>(const RejectTarget&) const = default;
};
struct LogTarget {  // -j LOG
    uint8_t level = 4;
    std::string prefix;
    uint8_t flags = 0;  // tcp-sequence=1 tcp-options=2 ip-options=4 uid=8 macdecode=0x20
    auto operator<=>(const LogTarget&) const = default;
};
struct NotrackTarget {  // raw: -j NOTRACK
    auto operator<=>(const NotrackTarget&) const = default;
};
struct CtTarget {  // raw: -j CT [--notrack | other options kept as text]
    bool notrack = false;
    std::vector<std::string> args;
    auto operator<=>(const CtTarget&) const = default;
};
// One verdict of an nft verdict map: accept, drop, return, continue, jump CHAIN, goto CHAIN.
struct VmapVerdict {
    enum class Kind : uint8_t { accept, drop, return_, continue_, jump, goto_ } kind = Kind::accept;
    std::string chain;  // jump, goto
    auto operator<=>(const VmapVerdict&) const = default;
};

// nft "KEY vmap @m" (or an anonymous "{ k : verdict, ... }"): one lookup in the map (Program::nft_sets), whose
// element's value indexes `verdicts`; a packet whose key is not in the map goes on with the next rule. The rule
// counts every packet that reaches the lookup, as nft's counter before the vmap does.
struct VmapTarget {
    std::string map;
    std::vector<KeyPart> key;
    std::vector<VmapVerdict> verdicts;
    auto operator<=>(const VmapTarget&) const = default;
};

struct OpaqueTarget {  // any other -j TARGET: kept as canonical text, never compiled
    std::string name;
    std::vector<std::string> args;
    auto operator<=>(const OpaqueTarget&) const = default;
};

using Target = std::variant<NoTarget, AcceptTarget, DropTarget, ReturnTarget, JumpTarget, GotoTarget,
                            RejectTarget, LogTarget, NotrackTarget, CtTarget, OpaqueTarget, VmapTarget>;

// The chains a target jumps or goes to: a jump's, a goto's, a verdict map's.
std::vector<std::string> target_chains(const Target& target);
// A verdict map's verdict as the target it stands for (continue: NoTarget).
Target vmap_target(const VmapVerdict& v);

// ---- structure

struct Rule {
    SourceLoc loc;                      // where the rule's line starts
    std::vector<Match> matches;         // builtins (-s -d -i -o -p -f) first, in iptables-save's order
    std::vector<SourceLoc> match_locs;  // parallel to matches: where each was written
    Target target = NoTarget{};
    SourceLoc target_loc;
    std::optional<Counters> counters;  // "[p:b]" or -c from the input
};

enum class Policy : uint8_t { none, accept, drop };  // none: user-defined chain

// An nftables base chain's attachment: `type filter hook input priority 0`. Priority names are resolved to
// their numbers (raw -300, mangle -150, dstnat -100, filter 0, security 50, srcnat 100) plus the offset.
struct NftHook {
    std::string type, hook, device;
    int priority = 0;
    auto operator<=>(const NftHook&) const = default;
};

// What the code generator's passes decided for a chain (codegen/passes/): printed by `--dump-after PASS` as
// comments, followed by the C emitter. Empty until those passes run.
struct ChainPlan {
    std::vector<std::pair<int, int>> classified;  // classifier runs: (first rule, count), 0-based positions
    bool inlined = false;                         // inlined where it is jumped to, not a function of its own
    int size = 0;                                 // rules, plus what they inline (the inlining's unit)
    std::vector<std::pair<int, int>> segments;    // the functions it is split into: [begin, end) rule ranges
    // Rules the classifier could take but does not, or takes as several runs: (first rule, why), for --explain.
    std::vector<std::pair<int, std::string>> classifier_notes;
    bool operator==(const ChainPlan&) const = default;
};

struct Chain {
    std::string name;
    Policy policy = Policy::none;
    Counters policy_counters;
    SourceLoc loc;
    std::vector<Rule> rules;
    // nft base chains only; their policy is accept or drop (last: aggregates)
    std::optional<NftHook> nft_hook;
    ChainPlan plan;
    bool builtin() const { return policy != Policy::none; }
};

struct Table {
    std::string name;
    SourceLoc loc;
    std::vector<Chain> chains;
    std::string family;  // nft tables: "ip" or "inet"; empty for iptables tables (last: aggregates)
    const Chain* find(const std::string& chain) const;
    Chain* find(const std::string& chain);
};

// One ipset, loaded from an `ipset save` file.
struct IpSet {
    std::string name;
    std::string type;  // hash:ip, hash:net, ...
    SourceLoc loc;
    std::vector<Ipv4Net> members;   // hash:ip and hash:net: what the program holds (hash:ip: masks /32)
    std::vector<Ipv6Net> members6;  // the same of a `family inet6` set (hash:ip: masks /128)
    Family family = Family::ipv4;   // `family inet6`: ipv6
    // What the kernel's copy of the set gets, as the file gave it: the create line after the type, and each
    // add line after the set's name (entries of every type, with their options).
    std::string options = "family inet";
    std::vector<std::string> entries;
    // Entries its map is created with (0: as many as members): room for elements an nft `add element` adds
    // in place (runtime/elements.hpp).
    uint32_t capacity = 0;
    uint32_t map_entries() const {
        return std::max(std::max(capacity, static_cast<uint32_t>(members.size())), uint32_t{1});
    }
};

// An nft named set or map read by NftSetMatch / VmapTarget (anonymous verdict maps get a name of their own),
// as its BPF map holds it: a hash of the key's bytes, or an LPM trie of (prefix length, address) for one
// address field with prefixes or ranges (ranges split into prefixes). Its elements as the set has them when
// the ruleset is read.
struct NftSet {
    std::string name;
    SourceLoc loc;
    bool lpm = false;
    uint32_t key_size = 0;  // bytes (LPM: the address's 4, after the 4 of the prefix length)
    struct Element {
        std::vector<uint8_t> key;
        uint32_t prefix = 0;  // LPM: the prefix length
        uint32_t value = 0;   // maps: the index of the element's verdict (VmapTarget::verdicts)
        auto operator<=>(const Element&) const = default;
    };
    std::vector<Element> elements;
    // Entries its map is created with (0: as many as elements): a named set's room for elements that an
    // `add element` adds in place (runtime/elements.hpp).
    uint32_t capacity = 0;
    uint32_t map_entries() const {
        return std::max(std::max(capacity, static_cast<uint32_t>(elements.size())), uint32_t{1});
    }
};

// What a match does with a TCP or UDP packet too short for the header it reads. iptables-legacy's matches
// (and iptables-nft's xt compat ones) drop it, netfilter's "hotdrop"; nf_tables' payload expressions (nft
// rulesets, and most of what iptables-nft translates) just do not match it. `kernel`: the program hands such
// a packet to the kernel's copy of the ruleset, whose semantics then decide it, as they decide every packet
// the program hands over.
enum class ShortHeaders { hotdrop, kernel };

struct Program {
    Family family = Family::ipv4;  // iptables text: how it was read (-4, -6); nft: ipv4
    std::vector<Table> tables;
    std::vector<IpSet> sets;
    ShortHeaders short_headers = ShortHeaders::hotdrop;
    std::vector<NftSet> nft_sets;  // last: aggregates
    const Table* find(const std::string& table) const;
    Table* find(const std::string& table);
    const IpSet* find_set(const std::string& name) const;
    const NftSet* find_nft_set(const std::string& name) const;
};

}  // namespace bpftables::ir
