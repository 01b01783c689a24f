#pragma once
// The steps of a commit (runtime/live.cpp runs them in order) and the one rollback object that undoes, last
// first, what the steps did when a later one fails. Internal to runtime/.
//
//   plan                  the hooks in use and the new state (generation, ruleset text, backend)
//   build_programs        build, load and verify one program per hook (the direct back end's, or the C
//                         one's where direct refuses the ruleset); fill their interface-name maps
//   check_kernel_copy     the kernel's netfilter / nf_tables copy, checked only (--test there), or the one
//                         rule of it that changes (netfilter.hpp: copy_change) found
//   set_counters          the new programs' counters: the input's (-c) or the surviving rules'
//   pin_generation        pin the new programs and maps                      undo: unpin them
//   apply_kernel_copy     the kernel's copy replaced (or one rule of it)      undo: the old copy back
//   swap_links            each hook's program into its dispatcher's slot of the family, every link running the
//                         dispatcher (created, or updated in place from a program it ran directly), the rules
//                         program of a kept entry program swapped in its prog array  undo: swapped back, removed
//   carry_counters        what the old programs counted until the swap, as offsets
//   write_new_state       the pinned state replaced: the commit point
//   retire_old_generation the old generation's links (of removed attachments) and pins go
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "codegen/options.hpp"
#include "loader/loaded_program.hpp"
#include "runtime/generation.hpp"
#include "runtime/live.hpp"
#include "runtime/netfilter.hpp"

namespace bpftables::runtime {

// What the steps done so far must undo if a later one fails: each step records its undo once it has changed
// something; the destructor runs them in reverse order unless commit() disarmed it.
class Rollback {
  public:
    Rollback() = default;
    Rollback(const Rollback&) = delete;
    Rollback& operator=(const Rollback&) = delete;
    ~Rollback();
    void on_failure(std::function<void()> undo) { undo_.push_back(std::move(undo)); }
    void commit() { undo_.clear(); }

  private:
    std::vector<std::function<void()>> undo_;
};

// One hook's program of the generation being built.
struct HookProgram {
    codegen::Hook hook;
    loader::LoadedProgram loaded;
    ProgMaps maps;
    std::vector<std::string> sets;  // its layout's sets (codegen::Layout::sets): loaded.set_map_fd(i)
};

// A link the swap updated, with the program to put back on a rollback.
struct Swapped {
    Fd link;
    int old_prog;  // owned by `running`
    Fd running;    // the program the link ran
};

// A hook's dispatcher (bpf/dispatch.bpf.c) and its prog array of the families' programs.
struct Dispatcher {
    Fd prog, progs;
    Fd pass;  // bpftables_pass: what a link runs where an nf_tables ingress chain runs (bpf/dispatch.bpf.c)
};

// A prog array slot the swap replaced, with the program to put back on a rollback (none: emptied).
struct SwappedSlot {
    int array;  // owned by a Dispatcher of the transaction, or by the program loaded
    uint32_t slot;
    Fd old;
};

// One commit in progress: its input, what the steps made, and what a rollback needs.
struct Transaction {
    const State& old;
    CommitRequest request;
    CommitReport& report;
    std::string& error;

    std::vector<codegen::Hook> hooks;  // the hooks the attachments need (none: nothing attached)
    codegen::Options options;          // how the programs are built (the semantics of the committed backend)
    Codegen codegen = Codegen::automatic;  // the request's, or BPFTABLES_CODEGEN's
    State next;
    std::vector<HookProgram> programs;
    // The kernel's nf_tables copy of an nft ruleset: the tables replaced, the old text and the new one.
    std::vector<std::pair<std::string, std::string>> kernel_tables;
    std::string old_kernel, new_kernel;
    // The committed ruleset, parsed from the state once (committed_ir in commit.cpp) for the steps that need it.
    std::optional<ir::Program> committed;
    std::vector<bpft_counter> before;  // the old generation's counters when the new one's were set
    // Every hook keeps its running entry program, exit program and counters map (the rules numbered as the
    // running ones: runtime/commit.cpp, keeps_counters): the counts go on in the same maps, nothing is carried.
    bool keep_counters = false;
    bool keep_failed = false;  // a hook could not keep them: every hook loaded again with counters of its own
    std::vector<std::string> new_pins;
    // The committed ruleset, when tables go to the kernel's netfilter (to put its copy back on a rollback).
    std::optional<ir::Program> old_program;
    // The kernel's copy changed by one rule (netfilter.hpp: copy_change) instead of whole tables.
    std::optional<CopyChange> copy_change;
    // With another backend than the committed copy's, that copy leaves the old backend's tables (emptied).
    std::vector<std::string> stale;
    std::map<codegen::Hook, Dispatcher> dispatchers;
    std::vector<Swapped> swapped;
    std::vector<std::string> created;  // pins of the links and dispatchers created
    // The dispatchers' slots of the family and the rules slots of kept entry programs that were swapped.
    std::vector<SwappedSlot> slots;
};

void plan(Transaction& tx);
bool build_programs(Transaction& tx);
bool check_kernel_copy(Transaction& tx);
bool set_counters(Transaction& tx);
bool pin_generation(Transaction& tx, Rollback& rollback);
bool apply_kernel_copy(Transaction& tx, Rollback& rollback);
bool swap_links(Transaction& tx, Rollback& rollback);

// Why the link of `iface` at `hook` runs the pass program instead of the dispatcher ("" for the dispatcher):
// an nf_tables ingress chain on the device (`ingress`: ingress_chains()) runs after tc ingress, so the programs
// would hide what they drop from it and show it the decided mark; the kernel decides every packet there.
std::string pass_reason(const std::map<std::string, std::string>& ingress, const std::string& iface,
                        codegen::Hook hook);

// `bpftables refresh`: each link of `state`'s attachments at xdp and tc-ingress runs the pass program where an
// nf_tables ingress chain runs on its device now, the dispatcher elsewhere (as swap_links chooses at a commit);
// `notes` says what changed.
bool relink_ingress(const State& state, std::vector<std::string>& notes, std::string& error);
void carry_counters(Transaction& tx);
bool write_new_state(Transaction& tx);
void retire_old_generation(Transaction& tx);

}  // namespace bpftables::runtime
