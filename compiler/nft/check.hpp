#pragma once
// Checks on an nft script that nft itself makes and the lowering would not: they hold for every family,
// also for the tables bpftables does not compile (ip6, arp, bridge, netdev), and for the parts it only
// recognizes (flowtables, ct timeout objects), so that input nft refuses is refused here too.
//   - a rule naming two transport protocols (ip6 nexthdr comp udp dport 4789, tcp dport 1 udp sport 2)
//   - a map keyed by "ct saddr" or "ct daddr" without the address family, outside ip and ip6 tables
//   - map elements without a value, set elements with one
//   - a set with range elements but without "flags interval"; a verdict inside a concatenated map value;
//     "typeof ct saddr" (the key's type needs the address family)
//   - a base chain's or flowtable's device name that is empty or malformed
//   - a flowtable without "hook ingress priority ..."; a ct timeout policy that is not state : seconds
#include "base/diagnostics.hpp"
#include "parser/nft_ast.hpp"

namespace bpftables {

// False (with errors in diags) when the script has any of the faults above.
bool check_nft(const parser::nft::Script& script, Diagnostics& diags);

}  // namespace bpftables
