#pragma once
// The live transaction: build and load a whole generation (one program per hook in use), carry the counters
// over, swap every link (bpf_link_update), roll back on failure, and commit the pinned state. Also the reads
// that commands make on the running generation (counters, zeroing, interface names).
#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bpf/abi.h"
#include "compiler/input_format.hpp"
#include "compiler/ir.hpp"
#include "runtime/state.hpp"

namespace bpftables::runtime {

// Which back end builds the programs (bpftables-restore and attach --codegen; BPFTABLES_CODEGEN for every
// command): the direct one (no compiler) where it supports the ruleset and the C one (clang) for a hook's
// program where it does not, with a note saying why (automatic); or only one of them.
enum class Codegen { automatic, c, direct };
std::optional<Codegen> parse_codegen(const std::string& name);  // "c" or "direct"

struct CommitRequest {
    ir::Program program;                  // the complete new ruleset (every table)
    std::vector<Attachment> attachments;  // the complete new set of attachments
    bool counters_from_input = false;     // -c: the input's counters; otherwise surviving rules keep theirs
    bool test_only = false;               // --test: build, load and verify, change nothing
    // Tables of `program` that bpftables does not compile and that go to the kernel's netfilter in the same
    // transaction (iptables-restore of `backend`), after the programs are loaded and before the links swap.
    std::vector<std::string> netfilter_tables;
    std::optional<compiler::Backend> backend;
    // nft input: the ruleset in the canonical text of compiler/nft/canonical.hpp, which the state keeps (and
    // `program` is its lowering); empty for iptables rulesets.
    std::string nft_text;
    // bpftables-restore --decided-mark: a new State::decided_mark (else the committed one's is kept).
    std::optional<uint32_t> decided_mark;
    // automatic: BPFTABLES_CODEGEN's choice when set.
    Codegen codegen = Codegen::automatic;
    // The committed ruleset as the command already parsed it from the state (program_with without counters),
    // so that the commit does not parse it again (a tenth of a single-rule command's time at 10k rules).
    std::optional<ir::Program> committed;
    // An nft restore -n that changes set elements only (runtime/elements.hpp): the `delete element` / `add
    // element` lines that give the kernel's copy the new elements, and those that put the old ones back. The
    // commit then changes the running maps in place (`committed` holds the old elements), or builds a new
    // generation where it cannot.
    struct Elements {
        std::string apply, undo;
    };
    std::optional<Elements> elements;
};

struct CommitReport {
    double build_s = 0, load_s = 0, swap_s = 0;
    size_t gids = 0;
    // Each step's wall time (runtime/commit.hpp's steps, and what a command did before the commit), for -v.
    std::vector<std::pair<std::string, double>> steps;
    std::vector<std::string> notes;  // what happened, for -v
};

// `old` must be the state read under the lock. On failure nothing changed (what was swapped is swapped back)
// and `error` says what failed.
bool commit(const State& old, CommitRequest request, CommitReport& report, std::string& error);

// The attachments as the namespace has them now. An interface that vanished since it was attached is dropped
// (its links are defunct: the kernel detached them) unless one of the same name exists again, which is then
// attached in its place, since iptables' rules follow interface names; a renamed one keeps its attachment
// under its new name. `warnings` says what changed.
std::vector<Attachment> current_attachments(const std::vector<Attachment>& attachments,
                                            std::vector<std::string>& warnings);

// The id of the program a link runs, and of a pinned program (0 when unknown).
uint32_t link_prog_id(int link_fd);
uint32_t pinned_prog_id(const std::string& path);

// Whether the entry program at `hook` runs the committed generation's rules program (the direct back end's;
// true for the C back end's programs): a command killed after swapping a kept entry program's rules program
// and before its commit leaves another one there.
bool runs_committed_rules(const State& state, codegen::Hook hook);

// Whether a link whose program is `link_prog` runs the committed generation of `state` (state_family()'s) at
// `hook`: the hook's dispatcher, with the generation's program in the family's slot, running its rules.
bool runs_committed(const State& state, codegen::Hook hook, uint32_t link_prog);

// Per-gid counters of the running generation, summed over its hooks and CPUs (indexed like state.gids).
std::vector<bpft_counter> live_counters(const State& state);
// bpftables stats: what the running generation's program at `hook` did with the packets of interface
// `ifindex` since the hook was attached (a commit's programs count on in the running ones' map), by enum bpft_stat (bpf/abi.h), summed over the CPUs.
struct InterfaceStats {
    uint32_t ifindex = 0;
    codegen::Hook hook = codegen::Hook::xdp;
    std::array<uint64_t, BPFT_STAT_MAX> packets{};
};
std::vector<InterfaceStats> live_stats(const State& state);
// Zeroes the counters of table `table` (every table when empty), of its chain `chain` alone when given, as
// iptables -Z: in the counter maps, in the offsets of `state` (which it rewrites) and in the kernel's copy.
bool zero_counters(State& state, const std::string& table, const std::string& chain, std::string& error);
// Fills the interface-name maps of the running generation with every interface of the namespace.
bool refresh_ifnames(const State& state, std::string& error);

// The committed ruleset of `state` as a program, with the live counters on every compiled rule and policy.
std::optional<ir::Program> committed_program(const State& state, bool with_counters, std::string& error);

// The state and the committed ruleset (with the live counters when asked) as of one moment, read without the
// lock: when a commit or -Z lands while the counters are read, it reads again.
struct LiveView {
    State state;
    ir::Program program;
};
std::optional<LiveView> read_live(bool with_counters, std::string& error);

// Removes everything the namespace's state made: the kernel's copy of the committed ruleset (an iptables
// ruleset's tables emptied to built-in chains with ACCEPT policies and its sets destroyed; an nft ruleset's
// tables deleted, with bpftables-decided), then every pin (links, programs, maps, state) and the directory.
// `detach` of the last interface, `detach --all`. On failure to remove the copy nothing else is removed.
bool remove_everything(const State& state, std::string& error);

// The accept-all ruleset `attach` loads when nothing was committed yet.
const char* accept_all_ruleset();

}  // namespace bpftables::runtime
