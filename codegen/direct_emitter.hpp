#pragma once
// The direct back end (issue 14): the ruleset's chains emitted as eBPF instructions (codegen/insn), loaded
// without clang behind a prebuilt entry program (bpf/entry.bpf.c, docs/design-notes.md "Direct back end").
//
// The entry program parses the packet into the per-CPU scratch value (struct bpft_pkt), decides the route
// and tail-calls the emitted program, which runs the base chains in netfilter's order as the C back end's
// entry point does after its prologue (codegen/entry_emitter.cpp), writes the verdict into the scratch value
// and tail-calls the entry object's exit program (record, handoff, return code). Verdicts, gids and counters
// are the C back end's (bpf/abi.h, layout.hpp), so the same userspace reads both.
//
// Registers: r6 the scratch value in every function; in the main function r7 the context, r8 the chain
// (p->route), r9 the verdict. Every chain (and every segment of a long chain, passes/plan_chains.cpp) is a
// global function without arguments, verified once on its own; it looks the scratch value up again. A
// classifier run (codegen/classifier.hpp) is a call of one global function with the run's number, the walk
// of the run's trees over the classifier maps (bpf/bpftables.bpf.h: bpft_classify, as instructions), and
// the C back end's dispatch on its result (chain_emitter.cpp).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/diagnostics.hpp"
#include "bpf/entry_objects.hpp"
#include "codegen/classifier.hpp"
#include "codegen/hook.hpp"
#include "codegen/insn/insn.hpp"
#include "codegen/layout.hpp"
#include "codegen/match_emitters.hpp"
#include "codegen/options.hpp"
#include "compiler/ir.hpp"

namespace bpftables::codegen {

// The entry object's maps that the emitted program uses, by index into the program's fd_array (bpft_local:
// the local routes, bpf/bpftables.bpf.h); then the program's own (loader/ruleset_maps.hpp): the limit states
// (bpf/bpftables.bpf.h: bpft_limits), the classifier's three arrays (bpft_cls_nodes, bpft_cls_leaves,
// bpft_cls_rules) and its IPv6 address ids (bpft_cls_ids, an LPM trie; empty for IPv4), and one LPM trie per
// set of the layout, in its order.
inline constexpr int kDirectScratchMap = 0, kDirectCountersMap = 1, kDirectProgsMap = 2, kDirectLocalMap = 3;
inline constexpr int kDirectLimitsMap = 4, kDirectClsNodesMap = 5, kDirectClsLeavesMap = 6,
                     kDirectClsRulesMap = 7, kDirectClsIdsMap = 8, kDirectFirstSetMap = 9;
// struct bpft_limit_state (bpf/bpftables.bpf.h): a bpf_spin_lock, then the credit and the last time (u64, ns).
inline constexpr int16_t kLimitCreditOff = 8, kLimitLastOff = 16, kLimitStateSize = 24;
inline constexpr uint32_t kDirectSlotRules = 0, kDirectSlotExit = 1;  // bpft_progs (bpf/entry.bpf.c)

// A field of struct bpft_pkt as the entry objects lay it out (read from their BTF).
struct ScratchField {
    int16_t off = 0;
    uint8_t size = 0;  // bytes: 1, 2, 4 or 8
    bool operator==(const ScratchField&) const = default;
};
using ScratchLayout = std::map<std::string, ScratchField>;

// The layout of the scratch value, read once from the entry objects' BTF; empty with `error` set when
// they cannot be read (a build problem).
const ScratchLayout* scratch_layout(std::string& error);

// The prebuilt entry object for `hook` and the ruleset's family, with conntrack (the ruleset needs the ct
// state) or without.
const bpf::EmbeddedObject& entry_object(Hook hook, ir::Family family, bool ct);
const char* exit_point(Hook hook);  // the exit program's name in it
// The same object's exit program alone (and its maps), for a load that keeps the running entry program.
const bpf::EmbeddedObject& exit_object(Hook hook, ir::Family family);

// The classifier's walk (direct_emitter.cpp): a global function whose one argument is the run (u32).
inline constexpr const char* kClassifyFunction = "bpft_classify";

struct DirectProgram {
    insn::Program code;
    std::vector<std::string> functions;  // labels of the chain functions (global, no arguments)
    // (not kClassifyFunction, which takes the run)
    Layout layout;
    Needs needs;
    std::vector<ir::IpSet> sets;           // the ipsets of layout.sets, in its order (their maps' contents)
    std::vector<ir::NftSet> nft_sets;      // and its nft sets and maps (the loader goes by layout.sets)
    std::optional<ClassifierTrees> trees;  // the trees of layout.runs (the classifier maps' contents)
    ir::Family family = ir::Family::ipv4;  // which entry object parses the packets
};

// The instructions for `program`, which has been through the passes (codegen::build_direct). Constructs
// not emitted yet are errors at their position ("... not supported by the direct back end yet").
std::optional<DirectProgram> emit_direct(const ir::Program& program, Hook hook, Diagnostics& diags,
                                         const Options& options);

}  // namespace bpftables::codegen
