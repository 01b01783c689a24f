#pragma once
// Lowering of parsed nftables text (parser/nft_ast.hpp) into the IR.
//
// Commands apply in order (flush ruleset, add/insert rule, add chain, table blocks merge). Tables of the ip
// and inet families are lowered; ip6, arp, bridge and netdev tables are reported with a warning and left
// out. Base chains keep their hook and priority (ir::Chain::nft_hook) and policy.
//
// Statements map onto the iptables-shaped match structs where the meaning is the same:
//   ip saddr 10.0.0.0/8          -> AddressMatch            ip saddr 1.2.3.4-1.2.3.9 -> IpRangeMatch
//   tcp dport 22 / 1-1024 / <n   -> ProtocolMatch{6} + TcpMatch (udp: UdpMatch; th: the rule's protocol)
//   tcp dport { 22, 80 }         -> ProtocolMatch{6} + MultiportMatch
//   ip saddr { a, b } (and other == sets of addresses, protocols, interfaces, marks ...)
//                                -> one rule per element, as iptables expands "-s a,b"
//   ip saddr != { a, b }         -> one inverted match per element in the same rule
//   ip saddr @set                -> SetMatch; a named set of ipv4_addr with its elements becomes an ir::IpSet
//   x @set (other named sets)    -> its elements, as if written there as an anonymous set
//   a . b { x . y, ... }         -> one rule per element, each with the matches of its parts (also @set)
//   x @set the kernel changes (timeouts, dynamic, add/update/delete @set, stateful elements) -> not supported
//   x vmap { k : verdict, ... }  -> one rule per element (the keys of a vmap never overlap)
//   ct state ...                 -> ConntrackMatch state     meta mark [& m] == v -> MarkMatch
//   iifname/oifname/iif/oif      -> InterfaceMatch ("eth*" is iptables' "eth+"; iif/oif by name)
//   icmp type/code -> IcmpMatch, ip length/meta length -> LengthMatch, ip ttl -> TtlMatch, ip dscp ->
//   DscpMatch, meta pkttype -> PktTypeMatch, ether saddr -> MacMatch, limit rate -> LimitMatch,
//   fib saddr/daddr type local -> AddrTypeMatch (addrtype's LOCAL), meta nfproto ipv4 -> nothing (always
//   true), meta nfproto ipv6 and ip6/icmpv6 fields -> "! -s 0.0.0.0/0" (never true in the IPv4 program),
//   comment ->
//   CommentMatch log + verdict                -> two rules (LOG, then the verdict), unless the rule has a
//   limit
//   snat, dnat, masquerade, redirect -> OpaqueTarget, in chains of nat base chains (the code generator
//   hands a packet that reaches one to the kernel; nat chains other than prerouting's it does not compile)
// Anything else is an error "... is not supported" at its position, never dropped.
#include <optional>
#include <string>
#include <vector>

#include "base/diagnostics.hpp"
#include "compiler/ir.hpp"
#include "parser/nft_ast.hpp"

namespace bpftables {

// kernel_decides (bpftables-restore, whose nft rulesets also go whole to the kernel's nf_tables, which checks
// and runs them): a statement bpftables does not compile, with the rest of its rule, becomes
// OpaqueMatch{"nft", {"--statement", text}} and the program hands the packets that reach it to the kernel.
// Otherwise (compile, run: no kernel copy to check or run it) such a statement is an error at its place.
std::optional<ir::Program> lower_nft(const parser::nft::Script& script, Diagnostics& diags,
                                     bool kernel_decides = false);

// One rule's statements, with the sets and variables a table would provide (may be empty). A rule can
// expand into several (anonymous sets, vmaps, log + verdict).
std::optional<std::vector<ir::Rule>> lower_nft_rule(const parser::nft::Rule& rule, Diagnostics& diags);

// Parses and lowers a whole text in one step.
std::optional<ir::Program> parse_and_lower_nft(const std::string& text, const std::string& file,
                                               Diagnostics& diags, bool kernel_decides = false);

// The same for `nft -j list ruleset` JSON (parser/nft_json.hpp reads it into the same AST).
std::optional<ir::Program> parse_and_lower_nft_json(const std::string& text, const std::string& file,
                                                    Diagnostics& diags);

// True when the text looks like nftables input rather than iptables-save (for --format guessing).
bool looks_like_nft(const std::string& text);

}  // namespace bpftables
