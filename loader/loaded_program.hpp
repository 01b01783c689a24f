#pragma once
// A compiled generation loaded into the kernel (not attached): the RAII owner of its bpf_object, its
// configuration, sets and counters, and BPF_PROG_TEST_RUN on it.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bpf/abi.h"
#include "codegen/direct_emitter.hpp"
#include "codegen/hook.hpp"
#include "codegen/layout.hpp"
#include "compiler/ir.hpp"
#include "loader/direct.hpp"

struct bpf_object;

namespace bpftables::loader {

struct RunResult {
    uint32_t verdict = 0;  // BPFT_V(kind, gid)
    uint32_t chain = 0;    // BPFT_CHAIN_*
    uint32_t retval = 0;   // what the hook returned (XDP_* / TC_ACT_*)
    // With the handoff on (bpft_config::decided_mark): the frame as the program left it (at XDP, its packet
    // metadata first) and, at TC, the skb's mark afterwards.
    std::vector<uint8_t> data;
    uint32_t mark = 0;
};

struct ProgramStats {
    uint32_t insns = 0;           // instructions after the verifier's rewrite (xlated)
    uint32_t verified_insns = 0;  // instructions the verifier processed
    uint32_t jited_bytes = 0;
    size_t classifier_nodes = 0;   // decision-tree nodes of the classifier's runs
    size_t classifier_leaves = 0;  // rule references in their leaves
    size_t classifier_bytes = 0;   // map memory of the trees and rules (codegen::classifier_bytes)
};

// The maps a loaded program uses, by name.
std::map<std::string, Fd> maps_by_name(int prog_fd);

// Makes a program's bpft_local map hold the current network namespace's local IPv4 destinations: its local
// and broadcast routes (its addresses, broadcast addresses and `local` prefixes), and nothing else; an IPv6
// program's (16-byte addresses) its local and anycast IPv6 routes. With forwarding off, the program tells
// INPUT (a local destination) from what the kernel drops; the value (2 for a local route of the local table)
// answers `fib daddr type local` and `-m addrtype --dst-type LOCAL`.
bool fill_local_addresses(int map_fd, std::string& error);

// The running exit program and counters map that a direct load keeps (LoadedProgram::load_direct).
struct KeptExit {
    int exit = -1, counters = -1;
};

class LoadedProgram {
  public:
    // Opens the object, sets the configuration and loads it; fills the sets of `program`. On failure, `error`
    // says why (with the verifier's log when the verifier refused).
    // `stats`: a running program's bpft_stats map (same hook and family) that this one counts on in its
    // place, so that `bpftables stats` goes on across commits; -1: a map of its own.
    static std::optional<LoadedProgram> load(const std::string& object, codegen::Hook hook,
                                             const bpft_config& config, const ir::Program& program,
                                             const codegen::Layout& layout, std::string& error,
                                             int stats = -1);

    // The direct back end (codegen/direct_emitter.hpp): the hook's prebuilt entry object, loaded by libbpf
    // with `config`, and the emitted instructions loaded without clang (direct.hpp) into its prog array; its
    // counters, results and test runs are the C back end's. On failure, `error` says why (with the verifier's
    // log, which names the ruleset's lines).
    // `reuse_entry`: the running entry program of an earlier load whose entry_key() is this one's. It is kept
    // (not loaded again: its verification is most of a small ruleset's load), with the maps it shares with
    // the rules program (the scratch value, results, statistics, interface names, local addresses); this
    // load makes the rules program, the exit program (from the object that holds it alone: libbpf reads no
    // kernel BTF for it), the counters and a prog array of its own, and
    // swap_rules() puts the rules program into the running entry's prog array. `stats`: as load()'s (a kept
    // entry program's own is shared anyway).
    // `keep_exit` (with `reuse_entry` only): the running exit program and its counters map are kept too, when
    // the rules are numbered as the running ones are (same gids): no object is opened, the rules program alone
    // is loaded, into a prog array of its own holding that exit program, and it counts into the same map.
    static std::optional<LoadedProgram> load_direct(const codegen::DirectProgram& direct, codegen::Hook hook,
                                                    const bpft_config& config, std::string& error,
                                                    int reuse_entry = -1, int stats = -1,
                                                    KeptExit keep_exit = {});
    // What decides the entry program of the direct back end's load: the hook, the object variant and the
    // configuration it is loaded with. Two loads with the same key can share one entry program.
    static std::string entry_key(const codegen::DirectProgram& direct, codegen::Hook hook,
                                 const bpft_config& config);

    LoadedProgram(LoadedProgram&&) noexcept;
    LoadedProgram& operator=(LoadedProgram&&) noexcept;
    ~LoadedProgram();

    int prog_fd() const;
    // The direct back end's prog array (the emitted program and the exit program), -1 for the C back end's
    // program. Its slots are emptied when the last user reference to it goes: a runtime that keeps the entry
    // program running pins it too.
    int prog_array_fd() const;
    // The direct back end's: the prog array the entry program tail-calls (another load's when this one reused
    // its entry program, else prog_array_fd()), the rules program, the exit program (-1 for the C back end).
    int entry_prog_array_fd() const;
    int rules_fd() const;
    int exit_fd() const;
    bool reuses_entry() const { return static_cast<bool>(reused_entry_); }
    // The running exit program and counters map were kept (load_direct's keep_exit).
    bool keeps_exit() const { return static_cast<bool>(kept_exit_); }
    // The map of the i-th set of the program's layout (codegen::Layout::sets), -1 when there is none.
    int set_map_fd(size_t i) const;
    // `mark`: the skb's mark before the run (TC, with the handoff on; ignored otherwise).
    std::optional<RunResult> test_run(const std::vector<uint8_t>& frame, std::string& error,
                                      uint32_t mark = 0) const;
    // Mean nanoseconds per run of the program on `frame`, over `repeat` runs in the kernel.
    std::optional<double> time_run(const std::vector<uint8_t>& frame, uint32_t repeat,
                                   std::string& error) const;
    // Per-gid counters, summed over CPUs.
    std::vector<bpft_counter> counters() const;
    ProgramStats stats() const;

  private:
    LoadedProgram() = default;
    // load_direct with a kept entry and exit program: the rules program alone.
    static std::optional<LoadedProgram> load_rules_only(const codegen::DirectProgram& direct,
                                                        codegen::Hook hook, const bpft_config& config,
                                                        std::string& error, int reuse_entry,
                                                        KeptExit keep_exit);
    // The emitted program loaded (its maps: the scratch value, the counters, the local addresses or -1; the
    // prog array progs_fd_ and exit program exit_fd_), its limit states and sets made, the prog array filled.
    bool load_rules(const codegen::DirectProgram& direct, int scratch, int counters, int local,
                    std::string& error);
    struct Closer {
        void operator()(bpf_object* obj) const;
    };
    std::unique_ptr<bpf_object, Closer> obj_;
    codegen::Hook hook_ = codegen::Hook::xdp;
    bool handoff_ = false;  // config.decided_mark set: test_run reports the frame and the mark
    int prog_fd_ = -1;
    std::optional<DirectProgram> rules_;  // the direct back end's emitted program (in the prog array)
    std::vector<Fd> ruleset_maps_;        // its limit states and sets (ruleset_maps.hpp)
    int results_fd_ = -1;
    int counters_fd_ = -1;
    int progs_fd_ = -1, exit_fd_ = -1;
    Fd reused_entry_, reused_progs_;  // reuse_entry and its prog array
    // keep_exit: the exit program and counters kept, the prog array made, the maps shared with the entry.
    Fd kept_exit_, kept_counters_, made_progs_;
    std::map<std::string, Fd> entry_maps_;
    size_t gids_ = 0;
    size_t classifier_nodes_ = 0, classifier_leaves_ = 0, classifier_bytes_ = 0;
};

}  // namespace bpftables::loader
