#pragma once
// What the generated program numbers, shared by the back ends and the runtime: every rule and every built-in
// chain's policy has a gid (index into the counters map and into verdicts); sets and limit states have
// indices.
#include <map>
#include <string>
#include <vector>

#include "compiler/ir.hpp"

namespace bpftables::codegen {

struct GidInfo {
    std::string table, chain;
    int rule = 0;  // 1-based position in the chain, as iptables -L --line-numbers; 0 for the policy
    SourceLoc loc;
    std::string text;  // "-A INPUT ..." or ":INPUT DROP" (or what the kernel decides, for a base chain)
};

// Consecutive rules of one chain decided by the classifier (classifier.hpp; found by
// passes/classifier_runs.cpp).
struct ClassifierRun {
    std::string table, chain;
    int first = 0, count = 0;  // 0-based rule positions [first, first + count)
};

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
        int kernel =
            -1;  // base chains not compiled, or nat (BaseChain::nat): the gid of "handed to the kernel here"
    };
    std::map<std::pair<std::string, std::string>, ChainGids>
        chains;  // (table, chain) -> where its gids start
};

// Numbers the compiled chains of a program: rules in table, chain, rule order, then the policies, then the
// base chains that are not compiled. The classifier runs are those the passes recorded (ir::ChainPlan).
Layout make_layout(const ir::Program& program);

}  // namespace bpftables::codegen
