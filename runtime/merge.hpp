#pragma once
// What a restore commits: the input ruleset merged with the committed one, as iptables-restore and `nft -f`
// merge theirs (tables replaced, -n adding to them, -T one table only, --ipsets, the kernel's copy of what
// bpftables does not compile). The result is a CommitRequest for runtime::commit (runtime/live.hpp) without
// its attachments, counters and test flags, which the command sets.
#include <optional>
#include <string>
#include <vector>

#include "base/diagnostics.hpp"
#include "compiler/ir.hpp"
#include "runtime/live.hpp"
#include "runtime/state.hpp"

namespace bpftables::runtime {

// A restore of iptables-save text.
struct IptablesRestore {
    std::string name;  // the input's name in diagnostics ("<stdin>" for stdin)
    std::string text;
    bool noflush = false;    // -n: the input's tables add to the committed ones instead of replacing them
    std::string only_table;  // -T: only this table of the input
    // --ipsets: sets that replace the committed ones of the same name and add to the others; every
    // --match-set of the input must then name a known set.
    std::optional<std::vector<ir::IpSet>> sets;
    std::optional<compiler::Backend> backend;  // --backend; none: the system's iptables
    std::optional<uint32_t> decided_mark;      // --decided-mark; none: the committed one
};

// A restore of an nft ruleset (text or JSON): the whole ruleset replaces the committed one, as `nft -f` of a
// file that starts with `flush ruleset` does (with or without that line). With `noflush` (text only) the
// file's commands apply on top of the committed nft ruleset instead, as `nft -f` of a file without it does:
// tables and chains named again gain what the file adds, `flush` and `delete` commands remove. The request
// holds the result in the canonical text of compiler/nft/canonical.hpp; its program is the lowering of that
// text.
struct NftRestore {
    std::string name;  // the input's name in diagnostics ("<stdin>" for stdin)
    std::string text;
    bool json = false;
    bool noflush = false;
    // --backend: where a committed iptables ruleset's copy is, when the state does not say.
    std::optional<compiler::Backend> backend;
    std::optional<uint32_t> decided_mark;  // --decided-mark; none: the committed one
};

// `committed`: the state read under the lock. On failure: empty, the input's diagnostics in `diags` (to print
// first) and, unless it is empty, `error`, the message that follows "CMD: " (with its line end).
std::optional<CommitRequest> merge_iptables(const State& committed, IptablesRestore input, Diagnostics& diags,
                                            std::string& error);
std::optional<CommitRequest> merge_nft(const State& committed, const NftRestore& input, Diagnostics& diags,
                                       std::string& error);

}  // namespace bpftables::runtime
