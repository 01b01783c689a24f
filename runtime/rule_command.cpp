// iptables' single-rule commands on the committed ruleset (runtime/rule_command.hpp).
#include "runtime/rule_command.hpp"

#include <algorithm>

#include "compiler/iptables_lower.hpp"
#include "compiler/passes/pass.hpp"
#include "runtime/generation.hpp"
#include "runtime/netfilter.hpp"

namespace bpftables::runtime {
namespace {

constexpr const char* kFile = "<command line>";

RuleCommandResult failure(int code, std::string message) {
    return {std::nullopt, code, std::move(message)};
}

// The command's words as a source for diagnostics ("-A INPUT -p tcp ..."), each with its place in it.
std::vector<parser::Word> words_of(const RuleCommand& command, Diagnostics& diags) {
    std::string line = std::string("-") + command.command;
    std::vector<parser::Word> out;
    for (const std::string& w : command.words) {
        line += " ";
        out.push_back(
            {w, {kFile, 1, static_cast<int>(line.size()) + 1}, std::max(1, static_cast<int>(w.size()))});
        line += w;
    }
    diags.add_source(kFile, line);
    return out;
}

bool refers_to(const ir::Rule& r, const std::string& chain) {
    if (auto* j = std::get_if<ir::JumpTarget>(&r.target)) return j->chain == chain;
    if (auto* g = std::get_if<ir::GotoTarget>(&r.target)) return g->chain == chain;
    return false;
}

bool is_index(const std::string& w, size_t& out) {
    if (w.empty() || w.size() > 9 ||
        !std::all_of(w.begin(), w.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    out = std::stoul(w);
    return true;
}

// A restore line ("-N NAME", "-X", ...) of the chain commands, lowered by the restore's front end onto the
// committed table after the checks that give iptables' messages.
std::optional<ir::Program> lower_line(const ir::Program& base, const std::string& table,
                                      const std::string& line, Diagnostics& diags) {
    LowerOptions options;
    options.noflush = true;
    options.base = &base;
    options.family = state_family();
    std::string text = "*" + table + "\n" + line + "\nCOMMIT\n";
    diags.add_source(kFile, text);
    return parse_and_lower(text, kFile, diags, options);
}

// The rules of a rule specification, read as the restore reads it, with iptables' checks of its target.
std::optional<std::vector<ir::Rule>> read_rules(const RuleCommand& command, const ir::Table& table,
                                                size_t from, const std::vector<ir::IpSet>& sets,
                                                Diagnostics& diags, RuleCommandResult& result) {
    std::vector<parser::Word> all = words_of(command, diags);
    std::vector<parser::Word> spec(all.begin() + static_cast<long>(std::min(from, all.size())), all.end());
    auto rules =
        lower_rule_spec(spec, table.name, &table, diags, sets.empty() ? nullptr : &sets, state_family());
    if (!rules) return result = failure(2, ""), std::nullopt;
    for (ir::Rule& r : *rules) {
        r.loc = {kFile, 1, 1};
        if (command.counters) r.counters = command.counters;
        for (const ir::Chain& c : table.chains)
            if (refers_to(r, c.name) && c.builtin())
                return result = failure(1, "Invalid argument. Run `dmesg' for more information."),
                       std::nullopt;
        const std::string* chain = nullptr;
        if (auto* j = std::get_if<ir::JumpTarget>(&r.target)) chain = &j->chain;
        if (auto* g = std::get_if<ir::GotoTarget>(&r.target)) chain = &g->chain;
        if (chain && !table.find(*chain)) {
            diags.error(r.target_loc, "Couldn't load target `" + *chain + "'",
                        static_cast<int>(chain->size()));
            return result = failure(2, ""), std::nullopt;
        }
    }
    return rules;
}

}  // namespace

RuleCommandResult apply_rule_command(const State& committed, const RuleCommand& command, Diagnostics& diags) {
    std::string error;
    if (is_nft(committed))
        return failure(1,
                       "the committed ruleset is an nft ruleset: iptables' single-rule commands do not apply "
                       "to it (bpftables-restore -n adds nft commands)");
    // -c: the rule's counters are the command's, and every other rule keeps its live ones.
    std::vector<bpft_counter> live;
    if (command.counters) live = live_counters(committed);
    std::optional<ir::Program> base = program_with(committed, command.counters ? &live : nullptr, error);
    if (!base) return failure(1, error);
    if (builtin_chains(command.table).empty())
        return failure(3, "can't initialize iptables table `" + command.table +
                              "': Table does not exist (do you need to insmod?)");
    bool had_table = base->find(command.table) != nullptr;
    if (!had_table) {  // as the kernel has it before any rule: its built-in chains, ACCEPT
        ir::Table t{command.table, {}, {}};
        for (const std::string& name : builtin_chains(command.table))
            t.chains.push_back({name, ir::Policy::accept, {}, {}, {}});
        base->tables.push_back(std::move(t));
    }
    ir::Program next = *base;
    ir::Table& table = *next.find(command.table);
    const std::vector<std::string>& w = command.words;
    auto arg = [&](size_t i) { return i < w.size() ? w[i] : std::string(); };
    ir::Chain* chain = w.empty() ? nullptr : table.find(w[0]);
    const char* no_chain = "No chain/target/match by that name.";
    RuleCommandResult result;
    bool changed = true;
    switch (command.command) {
        case 'A':
        case 'I':
        case 'R':
        case 'D':
        case 'C': {
            if (!chain) return failure(1, no_chain);
            size_t index = 0, from = 1;
            bool numbered = is_index(arg(1), index);
            if (numbered) from = 2;
            char c = command.command;
            if (c == 'R' && (!numbered || index == 0 || index > chain->rules.size()))
                return failure(1, "Index of replacement too big.");
            if (c == 'I' && numbered && (index == 0 || index > chain->rules.size() + 1))
                return failure(1, "Index of insertion too big.");
            if (c == 'D' && numbered) {
                if (w.size() > 2)
                    return failure(2, "Illegal option with this command: -D CHAIN RULENUM takes no rule");
                if (index == 0 || index > chain->rules.size())
                    return failure(1, "Index of deletion too big.");
                chain->rules.erase(chain->rules.begin() + static_cast<long>(index - 1));
                break;
            }
            std::optional<std::vector<ir::Rule>> rules =
                read_rules(command, table, from, next.sets, diags, result);
            if (!rules) return result;
            if (c == 'A') {
                chain->rules.insert(chain->rules.end(), rules->begin(), rules->end());
            } else if (c == 'I') {
                long at = numbered ? static_cast<long>(index - 1) : 0;
                chain->rules.insert(chain->rules.begin() + at, rules->begin(), rules->end());
            } else if (c == 'R') {
                if (rules->size() != 1)
                    return failure(2, "-R does not support multiple source or destination addresses");
                chain->rules[index - 1] = std::move(rules->front());
            } else {  // -D, -C: each rule of the specification must exist (-D deletes the first that matches)
                for (const ir::Rule& r : *rules) {
                    auto it = std::find_if(chain->rules.begin(), chain->rules.end(),
                                           [&](const ir::Rule& x) { return same_rule(x, r); });
                    if (it == chain->rules.end())
                        return failure(1, "Bad rule (does a matching rule exist in that chain?).");
                    if (c == 'D') chain->rules.erase(it);
                }
                changed = c == 'D';
            }
            break;
        }
        case 'N':
            if (w.size() != 1) return failure(2, "-N takes exactly one chain name");
            if (chain) return failure(1, "Chain already exists.");
            break;
        case 'X': {
            if (w.size() > 1) return failure(2, "-X takes at most one chain name");
            std::vector<const ir::Chain*> gone;
            if (w.empty()) {
                for (const ir::Chain& c : table.chains)
                    if (!c.builtin()) gone.push_back(&c);
                std::sort(gone.begin(), gone.end(), [](auto* a, auto* b) { return a->name < b->name; });
            } else {
                if (!chain) return failure(1, no_chain);
                if (chain->builtin())
                    return failure(1, "Invalid argument. Run `dmesg' for more information.");
                gone.push_back(chain);
            }
            // In iptables' order: a chain still jumped to by a chain that stays, then one with rules.
            for (const ir::Chain* c : gone) {
                for (const ir::Chain& from : table.chains)
                    if (std::find(gone.begin(), gone.end(), &from) == gone.end())
                        for (const ir::Rule& r : from.rules)
                            if (refers_to(r, c->name)) return failure(1, "Too many links.");
                if (!c->rules.empty()) return failure(1, "Directory not empty.");
            }
            break;
        }
        case 'F':
            if (w.size() > 1) return failure(2, "-F takes at most one chain name");
            if (!w.empty() && !chain) return failure(1, no_chain);
            break;
        case 'P':
            if (w.size() != 2) return failure(2, "-P takes a chain and a policy");
            if (!chain || !chain->builtin()) return failure(1, "Bad built-in chain name.");
            if (w[1] != "ACCEPT" && w[1] != "DROP")
                return failure(1, "Bad policy name. Run `dmesg' for more information.");
            break;
        case 'E':
            if (w.size() != 2) return failure(2, "-E takes the old and the new chain name");
            if (!chain) return failure(1, no_chain);
            if (table.find(w[1])) return failure(1, "File exists.");
            if (chain->builtin()) return failure(1, "Invalid argument. Run `dmesg' for more information.");
            break;
        default:
            return failure(2, std::string("unknown command -") + command.command);
    }
    if (std::string("NXFPE").find(command.command) != std::string::npos) {
        std::string line = std::string("-") + command.command;
        for (const std::string& word : w) line += " " + word;
        std::optional<ir::Program> lowered = lower_line(*base, command.table, line, diags);
        if (!lowered) return failure(2, "");
        next = std::move(*lowered);
    }
    if (!changed) return result;
    Diagnostics marks;
    if (!passes::check_decided_mark(next, committed.decided_mark, marks)) {
        for (const Diagnostic& d : marks.all()) result.message += d.message + "\n";
        return failure(1, result.message);
    }
    CommitRequest request{std::move(next)};
    request.counters_from_input = command.counters.has_value();
    if (had_table && !command.counters) request.committed = std::move(base);
    request.netfilter_tables = {command.table};
    request.backend = command.backend     ? command.backend
                      : committed.backend ? committed.backend
                                          : default_backend();
    result.request = std::move(request);
    return result;
}

}  // namespace bpftables::runtime
