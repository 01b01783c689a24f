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
#include <array>
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

// An IPv6 prefix: host-order words, [0] the most significant (as struct bpft_pkt's saddr6), the bits after
// `len` zero.
struct Prefix6 {
    std::array<uint32_t, 4> addr{};
    uint8_t len = 0;
    auto operator<=>(const Prefix6&) const = default;
};

// A rule as the classifier takes it: a box in the five fields, with verdict BPFT_V(kind, gid). IPv4: the
// box's addresses are the rule's. IPv6: the rule's prefixes (len 0: any address) are kept aside, and
// build_classifier turns them into values and masks on 32-bit address ids, so that the trees, the rules and
// the walk are IPv4's (see "Address ids" below).
struct ClassifierRule {
    bpft_cls_rule box{};
    ir::Family family = ir::Family::ipv4;
    Prefix6 src6, dst6;
};

// The rule in `family`'s program; nullopt when it matches on anything else or does anything but ACCEPT or
// DROP (an IPv6 address with a mask that is not a prefix is "anything else").
std::optional<ClassifierRule> classifier_rule(const ir::Rule& rule, uint32_t gid,
                                              ir::Family family = ir::Family::ipv4);

// Address ids (IPv6 runs). Per run and address field, the binary trie of the run's distinct prefixes of that
// field, ::/0 at its root: each prefix owns an aligned block of 2^k ids holding its children's blocks (packed
// by decreasing size, so they stay aligned) and one id of its own, "in this prefix and in no longer one".
// An address's id is the own id of its longest matching prefix (an LPM trie lookup in BPF: bpft_cls_ids,
// bpf/abi.h), and a rule's prefix matches exactly the ids of its block: value the block's base, mask
// ~(size - 1). A run whose ids would need more than 32 bits (prefixes nested very deeply) is not built.
struct ClassifierId {
    uint32_t run = 0;
    uint8_t field = 0;  // 0 source, 1 destination
    Prefix6 prefix;
    uint32_t id = 0;  // the prefix's own id
};

struct ClassifierTrees {
    ir::Family family = ir::Family::ipv4;  // ipv6: the walk's addresses are ids (`ids`)
    std::vector<bpft_cls_node> nodes;      // roots first: 2 * run, 2 * run + 1 (see bpf/abi.h)
    std::vector<uint32_t> leaves;          // the rules of each leaf, as indices into `rules`
    std::vector<bpft_cls_rule> rules;      // every run's rules, run after run, in the chain's order
    std::vector<std::pair<uint32_t, uint32_t>> run_rules;  // [begin, end) of each run in rules
    std::vector<ClassifierId> ids;                         // IPv6: every run's prefixes and their ids
};

// Map memory the trees take in the kernel (array elements rounded up to 8 bytes, leaves packed
// BPFT_CLS_REFS to an element; an entry of the IPv6 ids' LPM trie as the kernel counts it).
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
    // The trees of `run` (boxes with their address ids), built by `build` on the first request for its rules.
    Entry get(const std::vector<bpft_cls_rule>& run, const std::function<Entry()>& build);
    size_t builds() const { return builds_; }

  private:
    std::mutex mutex_;
    std::map<std::string, std::shared_future<Entry>> entries_;
    size_t builds_ = 0;
};

// Builds the trees of runs of rules (each in the chain's order, with their verdicts). Fails, saying why, when
// a run's trees would exceed the limits that bpf/abi.h sets for the walk (depth, rules per leaf) or
// classifier_bytes_per_rule, or an IPv6 run's address ids would need more than 32 bits (and sets `*failed` to
// that run's index); a run of at most BPFT_CLS_LEAF_MAX rules fails only for its ids. With a cache, each
// run's trees are built once per cache.
std::optional<ClassifierTrees> build_classifier(const std::vector<std::vector<ClassifierRule>>& runs,
                                                std::string& error, size_t* failed = nullptr,
                                                ClassifierCache* cache = nullptr);

// The rules of every run in `layout` (classifier_rule of each, with its gid), then their trees.
std::optional<ClassifierTrees> build_classifier(const ir::Program& program, const Layout& layout,
                                                std::string& error, ClassifierCache* cache = nullptr);

// A packet's classifier fields, host order (IPv6: the addresses in saddr6 and daddr6).
struct ClassifierPacket {
    uint32_t saddr = 0, daddr = 0;
    std::array<uint32_t, 4> saddr6{}, daddr6{};
    uint8_t proto = 0;
    uint16_t sport = 0, dport = 0;
    uint32_t l4_len = 0;
};

// The id of `addr` in field `field` (0 source, 1 destination) of IPv6 run `run`: the own id of its longest
// matching prefix (what the BPF walk's LPM lookup finds).
uint32_t address_id(const ClassifierTrees& trees, uint32_t run, int field,
                    const std::array<uint32_t, 4>& addr);

// Whether rule `r` decides packet `p` (for an IPv6 run, with saddr and daddr its address ids): its verdict,
// BPFT_V(BPFT_HOTDROP, gid) for a packet too short for its port match, or 0. The BPF walk makes the same test.
uint32_t classifier_rule_verdict(const bpft_cls_rule& r, const ClassifierPacket& p);

// The tree walk of bpf/bpftables.bpf.h in C++: the verdict of the first rule of run `run` that decides `p`,
// or 0.
uint32_t classify(const ClassifierTrees& trees, uint32_t run, const ClassifierPacket& p);

}  // namespace bpftables::codegen
