#pragma once
// What the generated program numbers, shared by the back ends and the runtime: every rule and every built-in
// chain's policy has a gid (index into the counters map and into verdicts); sets and limit states have
// indices.
#include <map>
#include <string>
#include <vector>

#include "compiler/ir.hpp"

namespace bpftables::codegen {

enum class Hook { xdp, tc_ingress, tc_egress };

const char* hook_name(Hook hook);
bool parse_hook(const std::string& name, Hook& out);

// The tables bpftables compiles into programs; every other table stays in the kernel's netfilter.
bool is_compiled_table(const std::string& table);

struct GidInfo {
    std::string table, chain;
    int rule = 0;  // 1-based position in the chain, as iptables -L --line-numbers; 0 for the policy
    SourceLoc loc;
    std::string text;  // "-A INPUT ..." or ":INPUT DROP"
};

// Consecutive rules of one chain decided by the classifier (classifier.hpp).
struct ClassifierRun {
    std::string table, chain;
    int first = 0, count = 0;  // 0-based rule positions [first, first + count)
};

// Runs shorter than this stay rules of their own: below it, a test per rule is cheaper than the walk
// (docs/design-notes.md). BPFTABLES_CLASSIFIER_MIN overrides it; 0 turns the classifier off.
int classifier_min_run();

struct Layout {
    std::vector<GidInfo> gids;
    std::vector<ClassifierRun> runs;
    std::vector<std::string> sets;                 // map bpft_set_<index> holds set <name>
    std::map<std::pair<int, int>, int> limits;     // (gid, match index) -> index into bpft_limits
    int set_index(const std::string& name) const;  // -1 when the program does not use the set
    // gid of rule `rule` (0-based) of chain `chain` of table `table`, or of the policy when rule < 0
    int gid(const std::string& table, const std::string& chain, int rule) const;
    struct ChainGids {
        int first_rule = -1, policy = -1;
    };
    std::map<std::pair<std::string, std::string>, ChainGids>
        chains;  // (table, chain) -> where its gids start
};

// Numbers the compiled tables of a program: rules in table, chain, rule order, then the policies.
Layout make_layout(const ir::Program& program);

}  // namespace bpftables::codegen
