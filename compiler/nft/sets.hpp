#pragma once
// Named sets and verdict maps as BPF maps (sets.cpp): the key of a lookup, the elements of an ir::NftSet.
#include <optional>
#include <string>
#include <vector>

#include "compiler/ir.hpp"
#include "parser/nft_ast.hpp"

namespace bpftables::nft {

using parser::nft::Expr;

// The key a lookup's left side makes ("ip daddr . meta l4proto . th dport"); nullopt when a part is not a field
// a map is keyed by (ip saddr/daddr, meta l4proto, ip protocol, tcp/udp/th sport/dport, iifname, oifname).
std::optional<std::vector<ir::KeyPart>> lookup_key(const Expr& lhs);

// One element's key (a value or a concatenation) as the map's bytes, appended to `out` (an LPM trie's range:
// one element per prefix); false with `why` when a part is not a value such a key holds.
bool element_keys(const std::vector<ir::KeyPart>& key, bool lpm, const Expr& e,
                  std::vector<ir::NftSet::Element>& out, std::string& why);

// A map element's verdict; nullopt for anything else.
std::optional<ir::VmapVerdict> vmap_verdict(const Expr& v);

// The map of a named or anonymous set (`map`: of verdicts, whose distinct values `verdicts` collects and the
// elements index): an LPM trie for one address field with prefixes or ranges (or `interval`), else a hash;
// nullopt with `why` when an element is not one such a map holds.
std::optional<ir::NftSet> build_nft_set(const std::string& name, const SourceLoc& loc,
                                        const std::vector<ir::KeyPart>& key, bool interval,
                                        const std::vector<Expr>& elements, bool map,
                                        std::vector<ir::VmapVerdict>* verdicts, std::string& why);

}  // namespace bpftables::nft
