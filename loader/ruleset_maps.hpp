#pragma once
// The maps a ruleset's matches read besides the counters: its sets (ipset hash:ip and hash:net as LPM tries,
// bpf/bpftables.bpf.h: bpft_in_set) and its classifier's trees for both back ends, and, for the direct back
// end, the limit states, the classifier's arrays and the set maps it creates itself for each generation
// (codegen/direct_emitter.hpp: kDirectLimitsMap, kDirectClsNodesMap, kDirectClsIdsMap,
// kDirectFirstSetMap), since its entry
// objects are the same for every ruleset.
#include <optional>
#include <string>
#include <vector>

#include "codegen/classifier.hpp"
#include "codegen/direct_emitter.hpp"
#include "compiler/ir.hpp"
#include "loader/direct.hpp"

namespace bpftables::loader {

// Adds the members of `set` to the LPM trie `map_fd` (keys: prefix length, network-order address).
bool fill_set(int map_fd, const ir::IpSet& set, std::string& error);

// Adds the elements of an nft set or map to its hash or LPM trie (keys: NftSet::Element's bytes, after the
// prefix length for an LPM trie; values: the element's verdict index). Hash maps are filled in batches.
bool fill_nft_set(int map_fd, const ir::NftSet& set, std::string& error);

// Creates the BPF map of an nft set or map (hash, or LPM trie) and fills it.
std::optional<Fd> create_nft_set(const ir::NftSet& set, std::string& error);

// Elements of the classifier's three arrays (bpft_cls_nodes, bpft_cls_leaves, bpft_cls_rules) for `trees`,
// and of its IPv6 address ids' LPM trie (bpft_cls_ids; 0 for IPv4 trees, which have none).
struct ClassifierSizes {
    size_t nodes, leaves, rules, ids;
};
ClassifierSizes classifier_sizes(const codegen::ClassifierTrees& trees);

// Fills those maps (fds in that order; the last only for IPv6 trees), sized by classifier_sizes.
bool fill_classifier(const int fds[4], const codegen::ClassifierTrees& trees, std::string& error);

// The direct program's own maps, created and filled: element i goes to fd_array index
// codegen::kDirectLimitsMap + i (an empty Fd where the program has no limit or no classifier run).
std::optional<std::vector<Fd>> create_ruleset_maps(const codegen::DirectProgram& direct, std::string& error);

}  // namespace bpftables::loader
