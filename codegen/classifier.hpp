#pragma once
// The classifier: a long run of rules that match only addresses, protocol and ports and ACCEPT or DROP is
// decided by a decision tree held in maps, walked in a bounded number of steps, instead of one test per rule.
// The per-packet cost then depends on the tree's depth and leaf size, not on the number of rules.
//
// The trees are HiCuts trees (Gupta and McKeown, "Packet classification using hierarchical intelligent
// cuttings", 1999): each inner node cuts one field of its region into 2^k equal parts; a leaf lists the rules
// that overlap its region, in the chain's order, and stops at the first rule that covers the whole region
// (the rules after it can never decide a packet there). passes/classifier_runs.cpp finds the runs (the
// layout lists them); the loader builds their trees with this and fills the maps; bpf/bpftables.bpf.h walks
// them.
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bpf/abi.h"
#include "codegen/layout.hpp"
#include "compiler/ir.hpp"

namespace bpftables::codegen {

// The rule as a box in the five fields, with verdict BPFT_V(kind, gid); nullopt when it matches on anything
// else or does anything but ACCEPT or DROP.
std::optional<bpft_cls_rule> classifier_rule(const ir::Rule& rule, uint32_t gid);

struct ClassifierTrees {
    std::vector<bpft_cls_node> nodes;  // roots first: 2 * run, 2 * run + 1 (see bpf/abi.h)
    std::vector<uint32_t> leaves;      // the rules of each leaf, as indices into `rules`
    std::vector<bpft_cls_rule> rules;  // every run's rules, run after run, in the chain's order
    std::vector<std::pair<uint32_t, uint32_t>> run_rules;  // [begin, end) of each run in rules
};

// Map memory the trees take in the kernel (array elements rounded up to 8 bytes, leaves packed
// BPFT_CLS_REFS to an element).
size_t classifier_bytes(const ClassifierTrees& trees);

// The most map memory a run may take per rule; a run beyond it is not built (classifier_runs.cpp splits it).
constexpr size_t classifier_bytes_per_rule = 200;

// The trees of single runs, built once and shared: the classifier-runs pass builds a run's trees to know
// whether it fits, the emitter needs the same trees, and a restore builds the program of each hook (XDP and
// TC) from the same rules. Keyed by the run's rules without their verdicts (the trees depend on the fields
// only); safe to share between the threads that build the hooks' programs (one builds a run, the others
// wait for it).
class ClassifierCache {
  public:
    struct Entry {
        std::shared_ptr<const ClassifierTrees>
            trees;          // one run's, as build_classifier makes them; null: failed
        std::string error;  // why it failed
    };
    // The trees of `run`, built by `build` on the first request for its rules.
    Entry get(const std::vector<bpft_cls_rule>& run, const std::function<Entry()>& build);
    size_t builds() const { return builds_; }

  private:
    std::mutex mutex_;
    std::map<std::string, std::shared_future<Entry>> entries_;
    size_t builds_ = 0;
};

// Builds the trees of runs of rules (each in the chain's order, with their verdicts). Fails, saying why, when
// a run's trees would exceed the limits that bpf/abi.h sets for the walk (depth, rules per leaf) or
// classifier_bytes_per_rule (and sets `*failed` to that run's index); a run of at most BPFT_CLS_LEAF_MAX rules
// never fails. With a cache, each run's trees are built once per cache.
std::optional<ClassifierTrees> build_classifier(const std::vector<std::vector<bpft_cls_rule>>& runs,
                                                std::string& error, size_t* failed = nullptr,
                                                ClassifierCache* cache = nullptr);

// The rules of every run in `layout` (classifier_rule of each, with its gid), then their trees.
std::optional<ClassifierTrees> build_classifier(const ir::Program& program, const Layout& layout,
                                                std::string& error, ClassifierCache* cache = nullptr);

// A packet's classifier fields, host order.
struct ClassifierPacket {
    uint32_t saddr = 0, daddr = 0;
    uint8_t proto = 0;
    uint16_t sport = 0, dport = 0;
    uint32_t l4_len = 0;
};

// Whether rule `r` decides packet `p`: its verdict, BPFT_V(BPFT_HOTDROP, gid) for a packet too short for
// its port match, or 0. The BPF walk makes the same test.
uint32_t classifier_rule_verdict(const bpft_cls_rule& r, const ClassifierPacket& p);

// The tree walk of bpf/bpftables.bpf.h in C++: the verdict of the first rule of run `run` that decides `p`,
// or 0.
uint32_t classify(const ClassifierTrees& trees, uint32_t run, const ClassifierPacket& p);

}  // namespace bpftables::codegen
