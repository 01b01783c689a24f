#pragma once
// What the live commands (cli/live.cpp, cli/restore.cpp) share: the state read under the lock, the current
// attachments with their warnings, -w as iptables reads it, and a commit with its report, the listing of a
// committed nft ruleset.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/live.hpp"
#include "runtime/lock.hpp"
#include "runtime/state.hpp"

namespace bpftables::cli {

// The state of the namespace, read under its lock. `code` is the exit code on failure.
struct Locked {
    runtime::Lock lock;
    runtime::State state;
};
std::optional<Locked> lock_state(const char* cmd, double wait, int& code, bool mount_bpffs = false);

// The state's attachments as the namespace has them now (see runtime::current_attachments), with a warning
// for each one that changed.
std::vector<runtime::Attachment> current_attachments(const char* cmd, const runtime::State& state);

// -w [SECS] as iptables reads it: the seconds may follow as the next word.
double read_wait(int argc, char** argv);

// --codegen c|direct (restore, attach): false, with a message on stderr, for another name.
bool read_codegen(const char* cmd, const char* name, runtime::Codegen& codegen);

// runtime::commit, with its failure or (-v) its report printed; the exit code.
// `steps`: what the command timed before the commit (printed with -v before the commit's own steps).
int do_commit(const char* cmd, const runtime::State& old, runtime::CommitRequest request, bool verbose,
              std::vector<std::pair<std::string, double>> steps = {});

// bpftables-save of a committed nft ruleset: its canonical text, each `counter` statement with the live
// counters of the rules lowered from its rule (summed: `{ a, b }` lowers to one rule per element), as
// `nft list ruleset` prints them. With `table` (and `chain`): only that table (chain), as `nft list table`
// (`nft list chain`) prints it; bpftables -L of an nft ruleset. The exit code.
int save_nft(const char* cmd, const runtime::LiveView& live, const std::string& table = "",
             const std::string& chain = "");

}  // namespace bpftables::cli
