#pragma once
// iptables' single-rule commands (`bpftables [-t T] -A/-I/-D/-R/-C/-N/-X/-F/-P/-E ...`) on the committed
// ruleset: the command is checked against it as iptables-legacy checks it in the kernel's table (the same
// messages and exit codes), the rule specification is read by the restore's own front end
// (compiler/iptables_lower.hpp), and the result is a CommitRequest for runtime::commit: the whole ruleset with
// the table changed, built again and swapped like a restore (the incremental path comes with the direct back
// end). Counters of the rules that stay carry over as in a restore.
#include <optional>
#include <string>
#include <vector>

#include "base/diagnostics.hpp"
#include "compiler/input_format.hpp"
#include "runtime/live.hpp"
#include "runtime/state.hpp"

namespace bpftables::runtime {

struct RuleCommand {
    std::string table = "filter";
    char command = 0;                // 'A', 'I', 'D', 'R', 'C', 'N', 'X', 'F', 'P', 'E'
    std::vector<std::string> words;  // the command's words after the command: chain, [number], rule or names
    std::optional<ir::Counters> counters;  // -c PKTS BYTES (-A, -I, -R)
    std::optional<compiler::Backend> backend;
};

struct RuleCommandResult {
    // The commit to make; empty when there is none: a failure (`code` and `message`) or a command that
    // changes nothing (-C of a rule that exists: code 0).
    std::optional<CommitRequest> request;
    int code = 0;
    std::string message;  // as iptables words it, without its "iptables: " (and with its final period)
};

// `committed`: the state read under the lock. `diags` holds what the rule specification's reading says (a
// bad option: code 2, as iptables).
RuleCommandResult apply_rule_command(const State& committed, const RuleCommand& command, Diagnostics& diags);

}  // namespace bpftables::runtime
