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

// The iptables tables bpftables compiles into programs (filter, raw); every other one stays in the kernel's
// netfilter.
bool is_compiled_table(const std::string& table);

// Whether a chain becomes BPF code: every chain of iptables' filter and raw; in nft tables (ip, inet) the
// regular chains and the base chains of type filter at prerouting, input, forward and output.
bool is_compiled_chain(const ir::Table& table, const ir::Chain& chain);

// The hooks of netfilter's IPv4 path, in the order a packet meets them. prerouting runs at ingress before the
// routing decision (bpft_route), input or forward after it, output at TC egress for locally generated
// packets, postrouting after forward and output.
enum class NfHook { prerouting, input, forward, output, postrouting };
const char* nf_hook_name(NfHook hook);

// A base chain on a packet's path. Not compiled (nat, route, anything at postrouting): the packets that reach
// it are handed to the kernel (verdict KERNEL, gid `kernel_gid` in the layout).
struct BaseChain {
    NfHook hook = NfHook::input;
    int priority = 0;
    std::string table, chain;
    bool compiled = true;
};

// The base chains of a program in the order netfilter runs them: by hook, then priority (lower first); equal
// priorities in the reverse of the order in which the chains first appear in the input (tables, then chains
// within a table), as the kernel runs them after one `nft -f` of that input (checked by compat-tests' nft
// mode). iptables' tables are base chains too: raw PREROUTING and OUTPUT at priority -300, filter INPUT,
// FORWARD and OUTPUT at 0. Base chains at other hooks (ingress, egress) are left out: the code generator
// refuses them.
std::vector<BaseChain> base_chains(const ir::Program& program);

struct GidInfo {
    std::string table, chain;
    int rule = 0;  // 1-based position in the chain, as iptables -L --line-numbers; 0 for the policy
    SourceLoc loc;
    std::string text;  // "-A INPUT ..." or ":INPUT DROP" (or what the kernel decides, for a base chain)
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
        int kernel = -1;  // base chains that are not compiled: the gid of "handed to the kernel here"
    };
    std::map<std::pair<std::string, std::string>, ChainGids>
        chains;  // (table, chain) -> where its gids start
};

// Numbers the compiled chains of a program: rules in table, chain, rule order, then the policies, then the
// base chains that are not compiled.
Layout make_layout(const ir::Program& program);

}  // namespace bpftables::codegen
