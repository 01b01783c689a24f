#pragma once
// The values every front end shares, read and printed in one place: numbers, IPv4 addresses, prefixes and
// ranges, MAC addresses, ports and port ranges, protocol numbers and names, and the name tables of conntrack
// states and statuses, TCP flags and ICMP types (each one table, for reading and printing alike).
//
// Readers return false (or nullopt) on bad input; those that can fail in several ways fill an `error` with
// the message, and the caller adds the position.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir.hpp"

namespace bpftables::values {

// ---- numbers

// An unsigned number in C notation, as strtoul(3) reads it with base 0 (decimal, 0x hex, leading-0 octal), as
// libxtables and nft read numbers; false when it is not one or exceeds `max`.
bool parse_number(std::string_view s, uint64_t& out, uint64_t max);
bool parse_number(std::string_view s, uint32_t& out, uint32_t max = 0xffffffff);

// Decimal or 0x/0X hex (no octal: "010" is ten), at most `max`, as the iptables command reads -p numbers,
// prefix lengths and rule indexes.
bool parse_u32(std::string_view s, uint32_t& out, uint32_t max = 0xffffffff);

// Decimal digits only, as iptables reads counters; false when empty, not all digits or over 64 bits.
bool parse_decimal(std::string_view s, uint64_t& out);

// 0x and lower-case hex digits, as iptables prints marks and masks ("0x1000000").
std::string format_hex(uint32_t v);

// ---- addresses

bool parse_ipv4(std::string_view s, uint32_t& out);  // dotted quad, host order
std::string format_ipv4(uint32_t addr);
std::string format_net(const ir::Ipv4Net& net);  // a.b.c.d/len or a.b.c.d/m.m.m.m

uint32_t prefix_mask(int len);  // 0..32 into a host-order mask

// "a.b.c.d", "a.b.c.d/len" or "a.b.c.d-e.f.g.h" (a range becomes its covering prefixes), appended to `out`.
bool parse_ipv4_nets(std::string_view s, std::vector<ir::Ipv4Net>& out);

// IPv6 as ip6tables reads and prints it: inet_pton(3) text only (no host names, no IPv4 dotted quad alone),
// and inet_ntop(3) text (the longest run of zero groups compressed, lower case).
bool parse_ipv6(std::string_view s, ir::Ipv6Addr& out);
std::string format_ipv6(const ir::Ipv6Addr& addr);

// An ip6tables mask after '/': a prefix length 0..128 (decimal, 0x hex or leading-0 octal, as
// xtables_strtoui) or any IPv6 address as the mask itself. False when neither.
bool parse_ipv6_mask(std::string_view s, ir::Ipv6Addr& out);
ir::Ipv6Addr ipv6_prefix_mask(int len);
int ipv6_prefix_len(const ir::Ipv6Addr& mask);  // -1 when the mask is not a prefix
ir::Ipv6Addr ipv6_and(const ir::Ipv6Addr& a, const ir::Ipv6Addr& b);

// "addr/len" with the length always printed (as ip6tables-save prints -s and -d: "::1/128"), or
// "addr/mask" for a mask that is not a prefix.
std::string format_net6(const ir::Ipv6Net& net);

// "addr", "addr/len" or "addr/mask" as ip6tables reads one item of -s: a mask of zero ignores the address (as
// "any/0"); the address is stored masked. On failure, the message in `error` (as ip6tables words it).
bool parse_ipv6_net(std::string_view s, ir::Ipv6Net& out, std::string& error);

// XX:XX:XX:XX:XX:XX, each byte one or two hex digits of either case; printed in upper case with two digits.
bool parse_mac(std::string_view s, std::array<uint8_t, 6>& out);
std::string format_mac(const std::array<uint8_t, 6>& addr);

// ---- ports

// One port: a number up to 65535 (strtoul notation) or a service name from /etc/services for `proto` ("" for
// any).
bool parse_port(std::string_view s, std::string_view proto, uint16_t& out);

// "p", "lo:hi", ":hi", "lo:" or ":" (a missing end is 0 or 65535); on a bad port or lo > hi, false with the
// message in `error`.
bool parse_port_range(std::string_view s, std::string_view proto, ir::PortRange& out, std::string& error);

// "lo" when lo == hi, else "lo" `sep` "hi".
std::string format_port_range(const ir::PortRange& r, char sep = ':');

// ---- protocols

// "tcp", "udp", ...: the names iptables itself knows (xtables_chain_protos), then /etc/protocols.
std::optional<uint8_t> protocol_by_name(const std::string& name);
std::string protocol_name(uint8_t proto);  // "tcp", then /etc/protocols' name, or the number when unnamed

// The argument of iptables' -p: a number (decimal or hex, up to 255) or a name, in any case.
std::optional<uint8_t> parse_protocol(std::string_view s);

// ---- name tables

// A name that stands for a set of bits; a table of them reads and prints comma-separated lists.
struct NamedBits {
    std::string_view name;
    uint32_t bits;
};

// A comma-separated list of names from `names` (case-insensitive), OR-ed together. False on the first unknown
// or empty item, which is left in `bad`.
bool parse_name_list(std::string_view s, std::span<const NamedBits> names, uint32_t& out,
                     std::string_view& bad);

// The names in `names` that stand for one bit set in `bits`, in table order, comma-separated.
std::string format_name_list(uint32_t bits, std::span<const NamedBits> names);

// Conntrack states, in the order iptables-save prints them. -m state knows the first five, -m conntrack all.
inline constexpr NamedBits ct_states[] = {{"INVALID", ir::ct::invalid},
                                          {"NEW", ir::ct::new_},
                                          {"RELATED", ir::ct::related},
                                          {"ESTABLISHED", ir::ct::established},
                                          {"UNTRACKED", ir::ct::untracked},
                                          {"SNAT", ir::ct::snat},
                                          {"DNAT", ir::ct::dnat}};
inline constexpr std::span<const NamedBits> state_match_states = std::span(ct_states).first(5);

// Conntrack status bits (IPS_EXPECTED ...); NONE reads as no bit and an empty set prints as NONE.
inline constexpr NamedBits ct_statuses[] = {
    {"NONE", 0}, {"EXPECTED", 1}, {"SEEN_REPLY", 2}, {"ASSURED", 4}, {"CONFIRMED", 8}};

// TCP flags. iptables reads the first eight (the six original flags, ALL for those six, and NONE), as
// libxt_tcp's tcp_flag_names; a flag set prints as its single flags in bit order, or NONE when empty.
inline constexpr NamedBits tcp_flags[] = {{"FIN", 0x01}, {"SYN", 0x02}, {"RST", 0x04}, {"PSH", 0x08},
                                          {"ACK", 0x10}, {"URG", 0x20}, {"ALL", 0x3f}, {"NONE", 0x00},
                                          {"ECE", 0x40}, {"CWR", 0x80}};
inline constexpr std::span<const NamedBits> iptables_tcp_flags = std::span(tcp_flags).first(8);

// ICMP type names as iptables knows them, with the type and code range each stands for ("any" is type 0xff
// with every code), in the order iptables tries them for an abbreviation.
struct IcmpName {
    std::string_view name;
    uint8_t type, code_min, code_max;
};
inline constexpr IcmpName icmp_types[] = {
    {"any", 0xff, 0, 0xff},
    {"echo-reply", 0, 0, 0xff},
    {"destination-unreachable", 3, 0, 0xff},
    {"network-unreachable", 3, 0, 0},
    {"host-unreachable", 3, 1, 1},
    {"protocol-unreachable", 3, 2, 2},
    {"port-unreachable", 3, 3, 3},
    {"fragmentation-needed", 3, 4, 4},
    {"source-route-failed", 3, 5, 5},
    {"network-unknown", 3, 6, 6},
    {"host-unknown", 3, 7, 7},
    {"network-prohibited", 3, 9, 9},
    {"host-prohibited", 3, 10, 10},
    {"TOS-network-unreachable", 3, 11, 11},
    {"TOS-host-unreachable", 3, 12, 12},
    {"communication-prohibited", 3, 13, 13},
    {"host-precedence-violation", 3, 14, 14},
    {"precedence-cutoff", 3, 15, 15},
    {"source-quench", 4, 0, 0xff},
    {"redirect", 5, 0, 0xff},
    {"network-redirect", 5, 0, 0},
    {"host-redirect", 5, 1, 1},
    {"TOS-network-redirect", 5, 2, 2},
    {"TOS-host-redirect", 5, 3, 3},
    {"echo-request", 8, 0, 0xff},
    {"router-advertisement", 9, 0, 0xff},
    {"router-solicitation", 10, 0, 0xff},
    {"time-exceeded", 11, 0, 0xff},
    {"ttl-exceeded", 11, 0, 0xff},
    {"ttl-zero-during-transit", 11, 0, 0},
    {"ttl-zero-during-reassembly", 11, 1, 1},
    {"parameter-problem", 12, 0, 0xff},
    {"ip-header-bad", 12, 0, 0},
    {"required-option-missing", 12, 1, 1},
    {"timestamp-request", 13, 0, 0xff},
    {"timestamp-reply", 14, 0, 0xff},
    {"address-mask-request", 17, 0, 0xff},
    {"address-mask-reply", 18, 0, 0xff},
};

// ICMPv6 type names as ip6tables knows them (libxt_icmp.h's icmpv6_codes), in the order it tries them for an
// abbreviation. ip6tables-save prints the numbers.
inline constexpr IcmpName icmpv6_types[] = {
    {"destination-unreachable", 1, 0, 0xff},
    {"no-route", 1, 0, 0},
    {"communication-prohibited", 1, 1, 1},
    {"beyond-scope", 1, 2, 2},
    {"address-unreachable", 1, 3, 3},
    {"port-unreachable", 1, 4, 4},
    {"failed-policy", 1, 5, 5},
    {"reject-route", 1, 6, 6},
    {"packet-too-big", 2, 0, 0xff},
    {"time-exceeded", 3, 0, 0xff},
    {"ttl-exceeded", 3, 0, 0xff},
    {"ttl-zero-during-transit", 3, 0, 0},
    {"ttl-zero-during-reassembly", 3, 1, 1},
    {"parameter-problem", 4, 0, 0xff},
    {"bad-header", 4, 0, 0},
    {"unknown-header-type", 4, 1, 1},
    {"unknown-option", 4, 2, 2},
    {"echo-request", 128, 0, 0xff},
    {"ping", 128, 0, 0xff},
    {"echo-reply", 129, 0, 0xff},
    {"pong", 129, 0, 0xff},
    {"mld-listener-query", 130, 0, 0xff},
    {"mld-listener-report", 131, 0, 0xff},
    {"mld-listener-done", 132, 0, 0xff},
    {"mld-listener-reduction", 132, 0, 0xff},
    {"router-solicitation", 133, 0, 0xff},
    {"router-advertisement", 134, 0, 0xff},
    {"neighbour-solicitation", 135, 0, 0xff},
    {"neighbor-solicitation", 135, 0, 0xff},
    {"neighbour-advertisement", 136, 0, 0xff},
    {"neighbor-advertisement", 136, 0, 0xff},
    {"redirect", 137, 0, 0xff},
};

// Case-insensitive comparisons, as iptables compares names.
bool equal_nocase(std::string_view a, std::string_view b);
bool starts_with_nocase(std::string_view s, std::string_view prefix);

}  // namespace bpftables::values
