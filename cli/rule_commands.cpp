// iptables' command line: `bpftables [-t T] -A/-I/-D/-R/-C/-N/-X/-F/-P/-E ...` (runtime/rule_command.hpp),
// -S, and -L / -Z (cli/live.cpp), with iptables' options wherever they stand.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli/live_commands.hpp"
#include "cli/live_common.hpp"
#include "compiler/iptables_lower.hpp"
#include "compiler/ir_print.hpp"
#include "runtime/rule_command.hpp"

namespace bpftables::cli {
namespace {

constexpr const char* kCmd = "bpftables";

struct CommandLine {
    runtime::RuleCommand rule;
    std::vector<std::string> positional, spec;  // after the command: its chain (numbers, names); the rule
    bool verbose = false;
    double wait = 0;
};

// The letter of a command word (-A, --append, ...), or 0.
char command_letter(const std::string& w) {
    static const std::pair<const char*, char> names[] = {
        {"--append", 'A'}, {"--insert", 'I'},    {"--delete", 'D'},       {"--replace", 'R'},
        {"--check", 'C'},  {"--new-chain", 'N'}, {"--delete-chain", 'X'}, {"--flush", 'F'},
        {"--zero", 'Z'},   {"--policy", 'P'},    {"--rename-chain", 'E'}, {"--list-rules", 'S'},
        {"--list", 'L'}};
    if (w.size() == 2 && w[0] == '-' && std::strchr("AIDRCNXFZPESL", w[1])) return w[1];
    for (const auto& [name, letter] : names)
        if (w == name) return letter;
    return 0;
}

// Words such as -nvL split into -n -v -L, as getopt reads them.
std::vector<std::string> split_flags(int argc, char** argv) {
    std::vector<std::string> out;
    for (int i = 1; i < argc; ++i) {
        std::string w = argv[i];
        bool flags = w.size() > 2 && w[0] == '-' && w[1] != '-' &&
                     w.find_first_not_of("nvxLSZFX", 1) == std::string::npos;
        if (!flags) {
            out.push_back(w);
            continue;
        }
        for (size_t k = 1; k < w.size(); ++k) out.push_back(std::string("-") + w[k]);
    }
    return out;
}

bool is_number(const std::string& w) {
    return !w.empty() && w.find_first_not_of("0123456789") == std::string::npos;
}

// Reads iptables' command line; false (with the message printed) on a bad one.
bool read_command_line(const std::vector<std::string>& words, CommandLine& out) {
    char& command = out.rule.command;
    for (size_t i = 0; i < words.size(); ++i) {
        const std::string& w = words[i];
        auto next = [&]() -> const std::string* { return i + 1 < words.size() ? &words[++i] : nullptr; };
        if (char c = command_letter(w)) {
            if (command) {
                std::fprintf(stderr, "%s: Cannot use -%c with -%c\n", kCmd, c, command);
                return false;
            }
            command = c;
            // The chain (and its numbers or second name) follow the command directly.
            size_t max = std::strchr("PE", c) ? 2 : 1;
            while (out.positional.size() < max && i + 1 < words.size() && words[i + 1][0] != '-')
                out.positional.push_back(words[++i]);
            if (std::strchr("IRDLSZ", c) && i + 1 < words.size() && is_number(words[i + 1]))
                out.positional.push_back(words[++i]);
        } else if (w == "-t" || w == "--table" || (w.rfind("-t", 0) == 0 && w.size() > 2 && w[1] == 't')) {
            const std::string* t = w.size() > 2 && w[1] == 't' ? &w : next();
            if (!t) return std::fprintf(stderr, "%s: option \"-t\" requires an argument\n", kCmd), false;
            out.rule.table = t == &w ? w.substr(2) : *t;
        } else if (w == "-w" || w == "--wait" || w.rfind("--wait=", 0) == 0) {
            out.wait = -1;
            if (w.size() > 7 && w[6] == '=')
                out.wait = std::atof(w.c_str() + 7);
            else if (i + 1 < words.size() && is_number(words[i + 1]))
                out.wait = std::atof(words[++i].c_str());
        } else if (w == "-W" || w == "--wait-interval") {
            next();
        } else if (w == "-v" || w == "--verbose") {
            out.verbose = true;
        } else if (w == "-n" || w == "--numeric" || w == "-x" || w == "--exact" || w == "--line-numbers") {
        } else if (w == "-c" || w == "--set-counters") {
            const std::string* p = next();
            const std::string* b = p ? next() : nullptr;
            if (!b || !is_number(*p) || !is_number(*b))
                return std::fprintf(stderr, "%s: -c takes packet and byte counters\n", kCmd), false;
            out.rule.counters =
                ir::Counters{std::strtoull(p->c_str(), nullptr, 10), std::strtoull(b->c_str(), nullptr, 10)};
        } else {
            out.spec.push_back(w);
        }
    }
    if (!command) {
        std::fprintf(stderr, "%s: no command specified\nTry `bpftables -h' for more information.\n", kCmd);
        return false;
    }
    bool takes_rule = std::strchr("AIRDC", command) != nullptr;
    if (!out.spec.empty() && !(takes_rule && !(command == 'D' && out.positional.size() == 2))) {
        std::fprintf(stderr, "%s: Illegal option `%s' with this command\n", kCmd, out.spec[0].c_str());
        return false;
    }
    if (takes_rule && out.positional.empty()) {
        std::fprintf(stderr, "%s: -%c requires a chain\n", kCmd, command);
        return false;
    }
    return true;
}

// -S [CHAIN [RULENUM]]: the table's rules as iptables -S prints them (-v: with counters).
int list_rules(const CommandLine& line) {
    std::string error;
    std::optional<runtime::LiveView> live = runtime::read_live(line.verbose, error);
    if (!live) return std::fprintf(stderr, "%s: %s\n", kCmd, error.c_str()), 1;
    if (runtime::is_nft(live->state))
        return std::fprintf(stderr, "%s: the committed ruleset is an nft ruleset (bpftables -L lists it)\n",
                            kCmd),
               1;
    const std::string& table = line.rule.table;
    if (builtin_chains(table).empty())
        return std::fprintf(stderr, "%s: can't initialize iptables table `%s': Table does not exist\n", kCmd,
                            table.c_str()),
               3;
    ir::Table empty{table, {}, {}};
    for (const std::string& name : builtin_chains(table))
        empty.chains.push_back({name, ir::Policy::accept, {}, {}, {}});
    const ir::Table* t = live->program.find(table);
    if (!t) t = &empty;
    std::string chain = line.positional.empty() ? "" : line.positional[0];
    if (!chain.empty() && !t->find(chain))
        return std::fprintf(stderr, "%s: No chain/target/match by that name.\n", kCmd), 1;
    size_t only = line.positional.size() > 1 ? std::strtoul(line.positional[1].c_str(), nullptr, 10) : 0;
    auto counters = [&](const ir::Counters& c) {
        return line.verbose ? " -c " + std::to_string(c.packets) + " " + std::to_string(c.bytes)
                            : std::string();
    };
    std::vector<const ir::Chain*> chains;
    for (const ir::Chain& c : t->chains)
        if (chain.empty() || c.name == chain) chains.push_back(&c);
    std::stable_sort(chains.begin(), chains.end(), [](auto* a, auto* b) {
        return a->builtin() != b->builtin() ? a->builtin() : !a->builtin() && a->name < b->name;
    });
    for (const ir::Chain* c : chains) {
        if (only != 0) break;
        if (c->builtin())
            std::printf("-P %s %s%s\n", c->name.c_str(), c->policy == ir::Policy::drop ? "DROP" : "ACCEPT",
                        counters(c->policy_counters).c_str());
        else
            std::printf("-N %s\n", c->name.c_str());
    }
    for (const ir::Chain* c : chains)
        for (size_t i = 0; i < c->rules.size(); ++i) {
            if (only && i + 1 != only) continue;
            const ir::Rule& r = c->rules[i];
            std::string spec = ir::rule_spec(r);
            std::printf("-A %s%s%s%s\n", c->name.c_str(),
                        counters(r.counters.value_or(ir::Counters{})).c_str(), spec.empty() ? "" : " ",
                        spec.c_str());
        }
    return 0;
}

}  // namespace

int rule_command(int argc, char** argv) {
    std::vector<std::string> words = split_flags(argc, argv);
    CommandLine line;
    if (!read_command_line(words, line)) return 2;
    char c = line.rule.command;
    if (c == 'L' || c == 'Z') return list_command(argc, argv);
    if (c == 'S') return list_rules(line);
    line.rule.words = line.positional;
    line.rule.words.insert(line.rule.words.end(), line.spec.begin(), line.spec.end());
    int code = 0;
    std::string cmd = std::string(kCmd) + " -" + c;
    using Clock = std::chrono::steady_clock;
    auto seconds = [](Clock::time_point t) {
        return std::chrono::duration<double>(Clock::now() - t).count();
    };
    auto t = Clock::now();
    std::optional<Locked> locked = lock_state(cmd.c_str(), line.wait, code);
    if (!locked) return code;
    std::vector<std::pair<std::string, double>> steps{{"lock+state", seconds(t)}};
    t = Clock::now();
    Diagnostics diags;
    runtime::RuleCommandResult result = runtime::apply_rule_command(locked->state, line.rule, diags);
    steps.emplace_back("command", seconds(t));
    std::fputs(diags.str().c_str(), stderr);
    if (!result.message.empty()) std::fprintf(stderr, "%s: %s\n", kCmd, result.message.c_str());
    if (!result.request) return result.code;
    result.request->attachments = current_attachments(cmd.c_str(), locked->state);
    return do_commit(cmd.c_str(), locked->state, std::move(*result.request), line.verbose, std::move(steps));
}

}  // namespace bpftables::cli
