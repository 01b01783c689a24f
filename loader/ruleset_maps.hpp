#pragma once
// The maps a ruleset's matches read besides the counters: its sets (ipset hash:ip and hash:net as LPM tries,
// bpf/bpftables.bpf.h: bpft_in_set) for both back ends, and, for the direct back end, the limit states and
// the set maps it creates itself for each generation (codegen/direct_emitter.hpp: kDirectLimitsMap,
// kDirectFirstSetMap), since its entry objects are the same for every ruleset.
#include <optional>
#include <string>
#include <vector>

#include "codegen/direct_emitter.hpp"
#include "compiler/ir.hpp"
#include "loader/direct.hpp"

namespace bpftables::loader {

// Adds the members of `set` to the LPM trie `map_fd` (keys: prefix length, network-order address).
bool fill_set(int map_fd, const ir::IpSet& set, std::string& error);

// The direct program's own maps, created and filled: element i goes to fd_array index
// codegen::kDirectLimitsMap + i (an empty Fd where the program has no limit).
std::optional<std::vector<Fd>> create_ruleset_maps(const codegen::DirectProgram& direct, std::string& error);

}  // namespace bpftables::loader
