// What the live commands share (cli/live_common.hpp).
#include "cli/live_common.hpp"

#include <getopt.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "codegen/layout.hpp"
#include "compiler/hooks.hpp"
#include "compiler/nft/canonical.hpp"
#include "parser/nft_parser.hpp"
#include "runtime/netfilter.hpp"

namespace bpftables::cli {

std::optional<Locked> lock_state(const char* cmd, double wait, int& code, bool mount_bpffs) {
    std::string error;
    if (!runtime::check_bpffs(error, mount_bpffs)) {
        std::fprintf(stderr, "%s: %s\n", cmd, error.c_str());
        return code = 1, std::nullopt;
    }
    bool busy = false;
    std::optional<runtime::Lock> lock = runtime::Lock::acquire(wait, busy, error);
    if (!lock) {
        std::fprintf(stderr, "%s: %s\n", cmd, error.c_str());
        return code = busy ? 4 : 1, std::nullopt;
    }
    std::optional<runtime::State> state = runtime::read_state(error);
    if (!state) {
        std::fprintf(stderr, "%s: %s\n", cmd, error.c_str());
        return code = 1, std::nullopt;
    }
    return Locked{std::move(*lock), std::move(*state)};
}

// The state's attachments as the namespace has them now (see runtime::current_attachments), with a warning
// for each one that changed.
std::vector<runtime::Attachment> current_attachments(const char* cmd, const runtime::State& state) {
    std::vector<std::string> warnings;
    std::vector<runtime::Attachment> out = runtime::current_attachments(state.attachments, warnings);
    for (const std::string& w : warnings) std::fprintf(stderr, "%s: warning: %s\n", cmd, w.c_str());
    return out;
}

// -w [SECS] as iptables reads it: the seconds may follow as the next word.
double read_wait(int argc, char** argv) {
    if (optarg) return std::atof(optarg);
    if (optind < argc && argv[optind][0] >= '0' && argv[optind][0] <= '9') return std::atof(argv[optind++]);
    return -1;  // wait as long as needed
}

bool read_codegen(const char* cmd, const char* name, runtime::Codegen& codegen) {
    std::optional<runtime::Codegen> parsed = runtime::parse_codegen(name);
    if (!parsed) return std::fprintf(stderr, "%s: --codegen is c or direct, not '%s'\n", cmd, name), false;
    codegen = *parsed;
    return true;
}

int do_commit(const char* cmd, const runtime::State& old, runtime::CommitRequest request, bool verbose,
              std::vector<std::pair<std::string, double>> steps) {
    runtime::CommitReport report;
    report.steps = std::move(steps);
    std::string error;
    bool test = request.test_only;
    if (!runtime::commit(old, std::move(request), report, error)) {
        std::fprintf(stderr, "%s: %s\n%s: nothing was changed; the previous generation keeps running\n", cmd,
                     error.c_str(), cmd);
        return 1;
    }
    if (verbose) {
        for (const std::string& n : report.notes) std::printf("%s\n", n.c_str());
        std::printf("%zu rules and policies; build %.3fs, load %.3fs, swap %.6fs%s\n", report.gids,
                    report.build_s, report.load_s, report.swap_s, test ? " (test only)" : "");
        std::printf("steps:");
        for (const auto& [name, seconds] : report.steps) std::printf(" %s %.4fs;", name.c_str(), seconds);
        std::printf("\n");
    }
    return 0;
}

// bpftables-save of a committed nft ruleset: its canonical text, each `counter` statement with the live
// counters of the rules lowered from its rule (summed: `{ a, b }` lowers to one rule per element) plus the
// kernel's copy's, as `nft list ruleset` prints them. With `table` (and `chain`): only that table (chain), as `nft list table`
// (`nft list chain`) prints it; bpftables -L of an nft ruleset.
int save_nft(const char* cmd, const runtime::LiveView& live, const std::string& table,
             const std::string& chain) {
    Diagnostics diags;
    std::optional<parser::nft::Script> script = parser::parse_nft(live.state.ruleset, "<committed>", diags);
    if (!script)
        return std::fprintf(stderr, "%s: the committed ruleset does not parse:\n%s", cmd,
                            diags.str().c_str()),
               1;
    if (!table.empty()) {
        std::erase_if(script->commands, [&](const parser::nft::Command& c) { return c.table != table; });
        if (script->commands.empty())
            return std::fprintf(stderr, "%s: table '%s' does not exist\n", cmd, table.c_str()), 1;
    }
    if (!chain.empty()) {
        bool found = false;
        for (parser::nft::Command& c : script->commands) {
            if (!c.table_body) continue;
            c.table_body->sets.clear();
            c.table_body->objects.clear();
            std::erase_if(c.table_body->chains,
                          [&](const parser::nft::ChainDef& d) { return d.name != chain; });
            found |= !c.table_body->chains.empty();
        }
        if (!found) return std::fprintf(stderr, "%s: chain '%s' does not exist\n", cmd, chain.c_str()), 1;
    }
    std::map<std::pair<int, int>, ir::Counters> sums;
    for (const ir::Table& t : live.program.tables)
        for (const ir::Chain& c : t.chains) {
            if (!compiler::is_compiled_chain(t, c)) continue;
            for (const ir::Rule& r : c.rules) {
                ir::Counters& sum = sums[{r.loc.line, r.loc.col}];
                ir::Counters rc = r.counters.value_or(ir::Counters{});
                sum.packets += rc.packets, sum.bytes += rc.bytes;
            }
        }
    // Counted once: what the kernel's copy judged (handed over, from interfaces without a program, chains
    // bpftables does not compile) is added to what the programs decided.
    for (const auto& [loc, c] :
         runtime::nft_copy_counters(live.state.ruleset, live.program, live.state.decided_mark)) {
        ir::Counters& sum = sums[loc];
        sum.packets += c.packets, sum.bytes += c.bytes;
    }
    std::string text = print_nft(*script, [&](const SourceLoc& loc) -> std::optional<ir::Counters> {
        auto it = sums.find({loc.line, loc.col});
        if (it == sums.end()) return std::nullopt;
        return it->second;
    });
    std::fputs(text.c_str(), stdout);
    return 0;
}

}  // namespace bpftables::cli
