#pragma once
// What the commit (runtime/commit.cpp) and the reads of the running generation (runtime/live.cpp) share: a
// program's maps, the per-gid counters and how they carry over from one generation to the next, the committed
// ruleset as a program, and the failure-injection points of the tests. Internal to runtime/.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bpf/abi.h"
#include "codegen/layout.hpp"
#include "compiler/hooks.hpp"
#include "compiler/ir.hpp"
#include "compiler/ir_print.hpp"
#include "runtime/state.hpp"

namespace bpftables::runtime {

// The maps of a loaded program that the runtime fills or reads; each is absent when the program has none.
struct ProgMaps {
    Fd counters, ifnames, local, stats;
};
std::optional<ProgMaps> prog_maps(int prog_fd, std::string& error);

// Fills an interface-name map with every interface of the namespace.
bool fill_ifnames(int map_fd, std::string& error);

// The id of a loaded program (0 when unknown).
uint32_t prog_id(int prog_fd);

// Per-gid counters of one per-CPU counter map, summed over the CPUs.
std::vector<bpft_counter> read_counters(int map_fd, size_t gids);
// Writes `values` (per gid) on CPU 0 and zero on the others.
bool write_counters(int map_fd, const std::vector<bpft_counter>& values, std::string& error);
// Zero on every CPU, for every gid of `gids`.
bool clear_counters(int map_fd, const std::vector<uint32_t>& gids, std::string& error);

// The key that identifies a rule across generations: table, chain and rule text (policies: the chain), with
// the occurrence number for identical rules in one chain.
std::string gid_key(const std::string& table, const std::string& chain, int rule, const std::string& text);

// Calls f(counters&, gid) for every compiled rule and policy of `program`, gid -1 when the layout lacks it.
template <typename F>
void for_each_counted(ir::Program& program, const std::vector<codegen::GidInfo>& gids, F f) {
    std::map<std::string, std::vector<int>> index;
    for (size_t i = 0; i < gids.size(); ++i)
        index[gid_key(gids[i].table, gids[i].chain, gids[i].rule, gids[i].text)].push_back(
            static_cast<int>(i));
    std::map<std::string, size_t> seen;
    auto lookup = [&](const std::string& key) {
        auto it = index.find(key);
        size_t n = seen[key]++;
        return it != index.end() && n < it->second.size() ? it->second[n] : -1;
    };
    for (ir::Table& t : program.tables) {
        for (ir::Chain& c : t.chains) {
            if (!compiler::is_compiled_chain(t, c)) continue;
            for (ir::Rule& r : c.rules) {
                if (!r.counters) r.counters = ir::Counters{};
                f(*r.counters, lookup(gid_key(t.name, c.name, 1, "-A " + c.name + " " + ir::rule_spec(r))));
            }
            if (c.builtin()) f(c.policy_counters, lookup(gid_key(t.name, c.name, 0, "")));
        }
    }
}

// `values` (per gid of `gids`) as the counters of every compiled rule and policy of `program` (zero where a
// rule has no gid or no value).
void set_counted(ir::Program& program, const std::vector<codegen::GidInfo>& gids,
                 const std::vector<bpft_counter>& values);

// The committed ruleset of `state` with `values` (per gid of the state's layout) as its counters (none when
// null).
std::optional<ir::Program> program_with(const State& state, const std::vector<bpft_counter>* values,
                                        std::string& error);

// The same rule, as iptables compares them (-D, -C): what it matches and what it does, wherever it was written.
bool same_rule(const ir::Rule& a, const ir::Rule& b);

// The counters of each rule and policy of `target` that also exists in `previous` (same table, chain and rule
// text; the n-th copy of a rule takes the n-th one's), zero for the others.
void carry_counters(const ir::Program& previous, ir::Program& target);
// Counters (per gid of `layout`, the new program's) of its rules and policies that also exist in `previous`
// (same table, chain and rule text; the n-th copy of a rule takes the n-th one's): from `values` (per gid of
// `previous_gids`) in compiled chains, from `previous` itself in the others. What carry_counters does after
// set_counted, without copying either program or printing their compiled rules again (the gids hold their
// text): two copies and four prints of every rule were a third of a 100,000-rule restore.
std::vector<bpft_counter> carried(const ir::Program& previous,
                                  const std::vector<codegen::GidInfo>& previous_gids,
                                  const std::vector<bpft_counter>& values,
                                  const std::vector<codegen::GidInfo>& layout);

// Fails on purpose at the point a test names (BPFTABLES_TEST_FAIL=swap:N fails before the N+1th swap,
// BPFTABLES_TEST_FAIL=state fails before the state is written; BPFTABLES_TEST_FAIL=crash:state exits at once
// there, without rolling back, as a killed process would; BPFTABLES_TEST_FAIL=pause:read waits 3 s once after
// bpftables-save or -L read the state, so that a test can commit in between). Used by the tests only.
bool injected(const std::string& point, size_t count = 0);

}  // namespace bpftables::runtime
