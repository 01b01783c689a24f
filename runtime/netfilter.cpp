#include "runtime/netfilter.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/netlink.hpp"

#include "codegen/layout.hpp"
#include "compiler/hooks.hpp"
#include "compiler/iptables_lower.hpp"
#include "compiler/ir_print.hpp"
#include "compiler/values.hpp"
#include "parser/nft_parser.hpp"
#include "runtime/generation.hpp"
#include "runtime/state.hpp"

namespace bpftables::runtime {
namespace {

using values::format_hex;

// `command` as its words: split at spaces, a word quoted by shell_word() taken whole (the only quoting the
// commands here use).
std::vector<std::string> command_words(const std::string& command) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    for (size_t i = 0; i < command.size(); ++i) {
        char c = command[i];
        if (c == ' ') {
            if (in_word) words.push_back(std::move(word)), word.clear(), in_word = false;
        } else if (c == '\\' && i + 1 < command.size()) {
            word += command[++i], in_word = true;
        } else if (c == '\'') {
            size_t end = command.find('\'', i + 1);
            if (end == std::string::npos) end = command.size();
            word += command.substr(i + 1, end - i - 1), in_word = true;
            i = end;
        } else {
            word += c, in_word = true;
        }
    }
    if (in_word) words.push_back(std::move(word));
    return words;
}

// Runs `command` (its words: command_words) with `input` on its stdin, without a shell (sh -c added a process
// start to each of a restore's two to four commands); its output (stdout, and stderr unless `stderr_too` is
// false) goes to `output`. The exit code, or -1 when it did not run.
int run_with_input(const std::string& command, const std::string& input, std::string& output,
                   bool stderr_too = true) {
    std::vector<std::string> words = command_words(command);
    if (words.empty()) return output = "nothing to run", -1;
    Fd in(memfd_create("bpftables-input", MFD_CLOEXEC));
    if (!in)
        return output = std::string("cannot create the input of ") + command + ": " + std::strerror(errno),
               -1;
    for (size_t done = 0; done < input.size();) {
        ssize_t n = write(in.get(), input.data() + done, input.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return output = "cannot write the input of " + command, -1;
        done += static_cast<size_t>(n);
    }
    lseek(in.get(), 0, SEEK_SET);
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) return output = "cannot run " + command, -1;
    Fd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
    Fd null(stderr_too ? -1 : open("/dev/null", O_WRONLY | O_CLOEXEC));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in.get(), 0);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, stderr_too ? write_end.get() : null.get(), 2);
    std::vector<char*> argv;
    argv.reserve(words.size() + 1);
    for (std::string& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    pid_t child = -1;
    // Without PATH (a unit's bare environment), the directories a shell would search: iptables' tools are in
    // /usr/sbin, which posix_spawnp's own default leaves out.
    std::string program = argv[0];
    if (!std::getenv("PATH") && program.find('/') == std::string::npos)
        for (const char* dir :
             {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"})
            if (std::string candidate = std::string(dir) + "/" + program;
                access(candidate.c_str(), X_OK) == 0) {
                program = candidate;
                break;
            }
    int spawned = posix_spawnp(&child, program.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    write_end = Fd();
    if (spawned != 0) return output = "cannot run " + command + ": " + std::strerror(spawned), -1;
    char buf[4096];
    for (;;) {
        ssize_t n = read(read_end.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        output.append(buf, static_cast<size_t>(n));
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The sets of the namespace's ipset, by name: their types.
std::map<std::string, std::string> kernel_sets() {
    std::string out;
    std::map<std::string, std::string> types;
    if (run_with_input("ipset list -t", "", out) != 0) return types;
    std::istringstream lines(out);
    std::string name;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("Name: ", 0) == 0) name = line.substr(6);
        if (line.rfind("Type: ", 0) == 0 && !name.empty()) types[name] = line.substr(6);
    }
    return types;
}

// The program's sets into the kernel's ipset, as the ruleset's file gave them (create options, every entry).
// A set the kernel lacks is created; one it has is refilled through a temporary set of the file's options
// swapped in (`ipset swap` is atomic, and leaves the existing set's references and options to iptables), so
// that a set created with other options (counters, maxelem ...) is no obstacle. All temporary sets are filled
// before any swap: a refusal changes nothing.
bool sync_sets(const std::vector<ir::IpSet>& sets, std::string& error) {
    std::map<std::string, std::string> existing = kernel_sets();
    std::string fill, swap, output;
    std::vector<std::string> temporary;
    for (size_t i = 0; i < sets.size(); ++i) {
        const ir::IpSet& s = sets[i];
        auto it = existing.find(s.name);
        if (it != existing.end() && it->second != s.type)
            return error = "the kernel's ipset has set " + s.name + " of type " + it->second +
                           ", the ruleset's is " + s.type + " (ipset destroy it first)",
                   false;
        std::string name = s.name;
        if (it != existing.end()) {
            name = "bpftables-swap-" + std::to_string(i);
            if (existing.count(name)) fill += "destroy " + name + "\n";  // left by an interrupted restore
            swap += "swap " + name + " " + s.name + "\ndestroy " + name + "\n";
            temporary.push_back(name);
        }
        fill += "create " + name + " " + s.type + " " + s.options + "\n";
        for (const std::string& e : s.entries) fill += "add " + name + " " + e + "\n";
    }
    if (run_with_input("ipset restore -exist", fill, output) != 0) {
        std::string ignored;
        for (const std::string& name : temporary) run_with_input("ipset destroy " + name, "", ignored);
        return error = "the kernel's ipset refused the sets: " + output, false;
    }
    if (!swap.empty() && run_with_input("ipset restore", swap, output) != 0)
        return error = "the kernel's ipset refused to swap the sets in: " + output, false;
    return true;
}

// The copy's mark reads do not see the bit (the check pass refused those that test it set): -m mark and
// CONNMARK --save-mark, whose masks lose it.
void mask_mark_reads(ir::Table& table, uint32_t bit) {
    for (ir::Chain& c : table.chains)
        for (ir::Rule& r : c.rules) {
            for (ir::Match& m : r.matches)
                if (auto* mark = std::get_if<ir::MarkMatch>(&m)) mark->mask &= ~bit, mark->value &= ~bit;
            auto* x = std::get_if<ir::OpaqueTarget>(&r.target);
            if (!x || x->name != "CONNMARK" ||
                std::find(x->args.begin(), x->args.end(), "--save-mark") == x->args.end())
                continue;
            uint32_t nfmask = 0xffffffff, ctmask = 0xffffffff;
            for (size_t i = 0; i + 1 < x->args.size(); ++i) {
                uint32_t v = static_cast<uint32_t>(std::strtoul(x->args[i + 1].c_str(), nullptr, 0));
                if (x->args[i] == "--nfmask") nfmask = v;
                if (x->args[i] == "--ctmask") ctmask = v;
                if (x->args[i] == "--mask") nfmask = ctmask = v;
            }
            x->args = {"--save-mark", "--nfmask", format_hex(nfmask & ~bit), "--ctmask", format_hex(ctmask)};
        }
}

ir::Rule decided_rule(uint32_t bit, ir::Target target) {
    ir::Rule r;
    r.matches.emplace_back(ir::MarkMatch{bit, bit, false});
    r.match_locs.emplace_back();
    r.target = std::move(target);
    return r;
}

}  // namespace

ir::Program kernel_copy(const ir::Program& program, uint32_t bit) {
    ir::Program copy = program;
    if (bit == 0) return copy;
    bool has_filter = copy.find("filter") != nullptr;
    for (ir::Table& t : copy.tables) {
        if (!t.family.empty()) continue;
        mask_mark_reads(t, bit);
        if (!compiler::is_compiled_table(t.name)) continue;
        // The received path's base chains: raw PREROUTING, filter INPUT and FORWARD. The last one a packet
        // meets clears the bit; earlier ones only accept.
        std::vector<std::pair<std::string, bool>> chains;  // (chain, clears)
        if (t.name == "raw") chains = {{"PREROUTING", !has_filter}};
        if (t.name == "filter") chains = {{"INPUT", true}, {"FORWARD", true}};
        bool clears = false;
        for (const auto& [name, clear] : chains) {
            ir::Chain* c = t.find(name);
            if (!c) continue;
            ir::Target target = ir::AcceptTarget{};
            if (clear) target = ir::JumpTarget{kDecidedChain}, clears = true;
            c->rules.insert(c->rules.begin(), decided_rule(bit, std::move(target)));
        }
        if (clears) {
            ir::Chain decided;
            decided.name = kDecidedChain;
            ir::Rule unmark;
            unmark.target = ir::OpaqueTarget{"MARK", {"--set-xmark", "0x0/" + format_hex(bit)}};
            decided.rules.push_back(std::move(unmark));
            ir::Rule accept;
            accept.target = ir::AcceptTarget{};
            decided.rules.push_back(std::move(accept));
            t.chains.push_back(std::move(decided));
        }
    }
    return copy;
}

std::string nft_decided_rules(const ir::Program& program, uint32_t bit) {
    if (bit == 0) return {};
    std::string accept = "meta mark & " + format_hex(bit) + " == " + format_hex(bit);
    std::string clear = accept + " meta mark set meta mark & " + format_hex(~bit) + " accept";
    accept += " accept";
    std::vector<compiler::BaseChain> chains = compiler::base_chains(program);
    std::string out;
    bool seen[2] = {false, false};  // input, forward
    // netfilter's order: the last compiled chain of input (forward) clears the bit, the others accept. A
    // program hands a packet over at the first base chain it does not compile, so a decided packet met only
    // compiled ones.
    for (auto it = chains.rbegin(); it != chains.rend(); ++it) {
        if (!it->compiled) continue;
        const ir::Table* t = program.find(it->table);
        if (!t || (t->family != "ip" && t->family != "inet")) continue;
        bool clears = false;
        if (it->hook == compiler::NfHook::input || it->hook == compiler::NfHook::forward) {
            bool& s = seen[it->hook == compiler::NfHook::forward];
            clears = !s, s = true;
        } else if (it->hook != compiler::NfHook::prerouting) {
            continue;
        }
        // An inet table's IPv6 packets were never decided by this ruleset's programs: an IPv6 ruleset's
        // program (bpftables6-restore) may have marked them, and netfilter runs this table for them too.
        out += "insert rule " + t->family + " " + t->name + " " + it->chain + " " +
               (t->family == "inet" ? "meta nfproto ipv4 " : "") + (clears ? clear : accept) + "\n";
    }
    // A path without a compiled chain at input (forward): a table of bpftables' own clears the bit there.
    if (!seen[0] || !seen[1]) {
        out += "table ip " + std::string(kDecidedTable) + " {\n";
        if (!seen[0])
            out += "\tchain input {\n\t\ttype filter hook input priority -2147483648; policy accept;\n\t\t" +
                   clear + "\n\t}\n";
        if (!seen[1])
            out +=
                "\tchain forward {\n\t\ttype filter hook forward priority -2147483648; policy accept;\n\t\t" +
                clear + "\n\t}\n";
        out += "}\n";
    }
    return out;
}

namespace {

// The one chain of `tables` whose rules differ between two copies, and where: rules [at, at + gone) of the old
// chain are replaced by [at, at + added) of the new one. None when tables or chains differ otherwise, or when
// more than one rule changed.
struct ChainDiff {
    std::string table;
    const ir::Chain* old_chain = nullptr;
    const ir::Chain* new_chain = nullptr;
    size_t at = 0, gone = 0, added = 0;
};

std::optional<ChainDiff> one_rule_diff(const ir::Program& old_copy, const ir::Program& new_copy,
                                       const std::vector<std::string>& tables) {
    std::optional<ChainDiff> diff;
    for (const std::string& name : tables) {
        const ir::Table* ot = old_copy.find(name);
        const ir::Table* nt = new_copy.find(name);
        if (!ot || !nt || !ot->family.empty() || !nt->family.empty() ||
            ot->chains.size() != nt->chains.size())
            return std::nullopt;
        for (size_t i = 0; i < ot->chains.size(); ++i) {
            const ir::Chain& oc = ot->chains[i];
            const ir::Chain& nc = nt->chains[i];
            if (oc.name != nc.name || oc.policy != nc.policy) return std::nullopt;
            const std::vector<ir::Rule>& o = oc.rules;
            const std::vector<ir::Rule>& n = nc.rules;
            size_t shorter = std::min(o.size(), n.size()), prefix = 0, suffix = 0;
            while (prefix < shorter && same_rule(o[prefix], n[prefix])) ++prefix;
            if (prefix == o.size() && prefix == n.size()) continue;
            while (suffix < shorter - prefix && same_rule(o[o.size() - 1 - suffix], n[n.size() - 1 - suffix]))
                ++suffix;
            size_t gone = o.size() - prefix - suffix, added = n.size() - prefix - suffix;
            if (diff || gone > 1 || added > 1) return std::nullopt;
            diff = ChainDiff{name, &oc, &nc, prefix, gone, added};
        }
    }
    if (!diff) return ChainDiff{};
    return diff;
}

// How many rules of `chain` read `spec` (their text, as the counters' carrying compares them).
size_t count_text(const ir::Chain& chain, const std::string& spec) {
    return static_cast<size_t>(std::count_if(chain.rules.begin(), chain.rules.end(),
                                             [&](const ir::Rule& r) { return ir::rule_spec(r) == spec; }));
}

}  // namespace

std::string shell_word(const std::string& word) {
    std::string quoted = "'";
    for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
}

std::optional<CopyChange> copy_change(compiler::Backend backend, const ir::Program& old_program,
                                      const ir::Program& new_program, const std::vector<std::string>& tables,
                                      uint32_t decided_mark) {
    ir::Program old_copy = kernel_copy(old_program, decided_mark);
    ir::Program new_copy = kernel_copy(new_program, decided_mark);
    std::optional<ChainDiff> d = one_rule_diff(old_copy, new_copy, tables);
    if (!d) return std::nullopt;
    if (!d->old_chain) return CopyChange{};  // no rule changed
    std::string old_spec = d->gone ? ir::rule_spec(d->old_chain->rules[d->at]) : "";
    std::string new_spec = d->added ? ir::rule_spec(d->new_chain->rules[d->at]) : "";
    // The whole-table path carries counters by rule text and occurrence: a text that the other side's chain
    // also has would move counters between rules (or keep the replaced rule's): that path decides those.
    if (d->gone && d->added && old_spec == new_spec) return CopyChange{};
    if ((d->added && count_text(*d->old_chain, new_spec) != 0) ||
        (d->gone && count_text(*d->new_chain, old_spec) != 0))
        return std::nullopt;
    // Sets must reach the kernel's ipset first (netfilter_apply).
    if (old_spec.find("--match-set") != std::string::npos ||
        new_spec.find("--match-set") != std::string::npos)
        return std::nullopt;
    const std::string& chain = d->old_chain->name;
    std::string position = chain + " " + std::to_string(d->at + 1);
    CopyChange change{d->table, "", ""};
    if (!d->gone) {
        change.line = "-I " + position + " " + new_spec;
        change.undo = "-D " + position;
        return change;
    }
    // The rule that goes, as the kernel lists it with its counters (-S CHAIN N -v: "-A CHAIN ... -c P B ...").
    std::string listing;
    std::string list = xtables_command(backend, "") + " -w 5 -t " + shell_word(d->table) + " -S " +
                       shell_word(chain) + " " + std::to_string(d->at + 1) + " -v";
    std::string prefix = "-A " + chain + " ";
    if (run_with_input(list, "", listing, false) != 0 || listing.rfind(prefix, 0) != 0 ||
        listing.find(" -c ") == std::string::npos)
        return std::nullopt;
    std::string kept = listing.substr(prefix.size(), listing.find('\n') - prefix.size());
    // The copy must have the committed rule there (it may have been changed behind bpftables' back): the
    // listing without its counters is that rule's text, else the whole table goes.
    std::string spaced = " " + kept;
    size_t c = spaced.find(" -c "), packets_end = spaced.find(' ', c + 4);
    if (c == std::string::npos || packets_end == std::string::npos) return std::nullopt;
    size_t bytes_end = spaced.find(' ', packets_end + 1);
    std::string text = spaced.substr(0, c) + (bytes_end == std::string::npos ? "" : spaced.substr(bytes_end));
    if (text.substr(std::min<size_t>(1, text.size())) != old_spec) return std::nullopt;
    change.line = d->added ? "-R " + position + " " + new_spec : "-D " + position;
    change.undo = (d->added ? "-R " : "-I ") + position + " " + kept;
    return change;
}

bool netfilter_apply_line(compiler::Backend backend, const std::string& table, const std::string& line,
                          std::string& error) {
    if (line.empty()) return true;
    std::string command = xtables_command(backend, "-restore") + " -w 5 --noflush --counters";
    std::string output;
    if (run_with_input(command, "*" + table + "\n" + line + "\nCOMMIT\n", output) != 0)
        return error = "the kernel's netfilter (" + command + ") refused `" + line + "' in table " + table +
                       ": " + output,
               false;
    return true;
}

void add_copy_counters(compiler::Backend backend, ir::Program& program, uint32_t decided_mark) {
    ir::Program copy = kernel_copy(program, decided_mark);
    // One save of every table (a process start per table was most of this), of which the program's tables
    // are parsed (another one in the kernel's copy, which bpftables did not put there, may not parse).
    std::string all;
    if (run_with_input(xtables_command(backend, "-save") + " -c", "", all, false) !=
        0)  // iptables-nft-save's warnings would cut into its lines
        return;
    std::map<std::string, std::string> listings;  // by table
    std::istringstream lines(all);
    std::string* into = nullptr;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind('*', 0) == 0) into = &listings[line.substr(1)];
        if (into) *into += line + "\n";
    }
    for (ir::Table& t : program.tables) {
        if (!t.family.empty() || !listings.count(t.name)) continue;
        Diagnostics ignored;
        LowerOptions options;
        options.family = state_family();
        std::optional<ir::Program> kernel =
            parse_and_lower(listings[t.name], "<kernel copy>", ignored, options);
        const ir::Table* kt = kernel ? kernel->find(t.name) : nullptr;
        const ir::Table* ct = copy.find(t.name);
        if (!kt || !ct) continue;
        for (ir::Chain& c : t.chains) {
            const ir::Chain* kc = kt->find(c.name);
            const ir::Chain* cc = ct->find(c.name);
            if (!kc || !cc || kc->rules.size() != cc->rules.size() || cc->rules.size() < c.rules.size())
                continue;
            size_t bookkeeping = cc->rules.size() - c.rules.size();  // the handoff's first rule
            for (size_t i = 0; i < c.rules.size(); ++i) {
                ir::Counters k = kc->rules[i + bookkeeping].counters.value_or(ir::Counters{});
                ir::Counters& mine =
                    c.rules[i].counters.emplace(c.rules[i].counters.value_or(ir::Counters{}));
                mine.packets += k.packets, mine.bytes += k.bytes;
            }
            if (c.builtin())
                c.policy_counters.packets += kc->policy_counters.packets,
                    c.policy_counters.bytes += kc->policy_counters.bytes;
        }
    }
}

int iptables_listing(compiler::Backend backend, const ir::Program& program, const std::string& table,
                     const std::vector<std::string>& args) {
    std::string tool = xtables_command(backend, "");
    std::fflush(stdout);
    std::fflush(stderr);
    pid_t child = fork();
    if (child < 0) return std::fprintf(stderr, "bpftables -L: fork: %s\n", std::strerror(errno)), 1;
    if (child == 0) {
        if (unshare(CLONE_NEWNET) != 0)
            std::fprintf(stderr, "bpftables -L: unshare(CLONE_NEWNET): %s\n", std::strerror(errno)), _exit(1);
        std::string error, output;
        if (!program.sets.empty() && !sync_sets(program.sets, error))
            std::fprintf(stderr, "bpftables -L: %s\n", error.c_str()), _exit(1);
        if (program.find(table) &&
            run_with_input(tool + "-restore -w 5 --counters",
                           ir::to_save(program, {.counters = true, .only_table = table}), output) != 0)
            std::fprintf(stderr, "bpftables -L: %s-restore: %s", tool.c_str(), output.c_str()), _exit(1);
        std::vector<char*> argv{tool.data()};
        std::vector<std::string> copies = args;
        for (std::string& a : copies) argv.push_back(a.data());
        argv.push_back(nullptr);
        execvp(argv[0], argv.data());
        std::fprintf(stderr, "bpftables -L: %s: %s\n", tool.c_str(), std::strerror(errno));
        _exit(1);
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

bool zero_copy_counters(compiler::Backend backend, const ir::Program& program, const std::string& table,
                        const std::string& chain, std::string& error) {
    for (const ir::Table& t : program.tables) {
        if (!t.family.empty() || (!table.empty() && t.name != table)) continue;
        if (!chain.empty() && !t.find(chain)) continue;
        std::string command = xtables_command(backend, "") + " -w 5 -t " + shell_word(t.name) + " -Z" +
                              (chain.empty() ? "" : " " + shell_word(chain));
        std::string output;
        if (run_with_input(command, "", output) != 0)
            return error = "cannot zero the kernel's copy (" + command + "): " + output, false;
    }
    return true;
}

std::string xtables_command(compiler::Backend backend, const char* what) {
    return std::string(state_family() == ir::Family::ipv6 ? "ip6tables-" : "iptables-") +
           compiler::backend_name(backend) + what;
}

compiler::Backend default_backend() {
    std::string out;
    run_with_input("iptables -V", "", out);
    return out.find("legacy") != std::string::npos ? compiler::Backend::legacy : compiler::Backend::nft;
}

bool netfilter_apply(std::optional<compiler::Backend> backend, const ir::Program& original,
                     const std::vector<std::string>& tables, uint32_t decided_mark, bool test,
                     std::string& error) {
    if (tables.empty()) return true;
    if (!backend) return error = "unknown backend ", false;
    ir::Program program = kernel_copy(original, decided_mark);
    std::string text;
    for (const std::string& name : tables) {
        if (const ir::Table* t = program.find(name); t && t->family.empty()) {
            text += ir::to_save(program, {.counters = true, .only_table = name});
        } else {
            text += "*" + name + "\n";
            for (const std::string& chain : builtin_chains(name)) text += ":" + chain + " ACCEPT [0:0]\n";
            text += "COMMIT\n";
        }
    }
    std::string output;
    // iptables resolves --match-set names in the kernel: the sets go there first, with the entries the
    // ruleset's sets have now. A --test run changes nothing, so it cannot check such tables in the kernel:
    // the real apply does, before any link is swapped.
    if (text.find("--match-set") != std::string::npos) {
        if (test) return true;
        if (!sync_sets(program.sets, error)) return false;
    }
    std::string command =
        xtables_command(*backend, "-restore") + " -w 5 --counters" + (test ? " --test" : "");
    int code = run_with_input(command, text, output);
    if (code != 0) {
        std::string names;
        for (const std::string& n : tables) names += (names.empty() ? "" : ", ") + n;
        error = "the kernel's netfilter (" + command + ") refused table " + names + ": " + output;
        return false;
    }
    return true;
}

std::vector<std::pair<std::string, std::string>> nft_tables(const std::string& canonical) {
    Diagnostics ignored;
    std::vector<std::pair<std::string, std::string>> out;
    std::optional<parser::nft::Script> script = parser::parse_nft(canonical, "<committed>", ignored);
    if (!script) return out;
    for (const parser::nft::Command& c : script->commands)
        if (std::find(out.begin(), out.end(), std::pair{c.family, c.table}) == out.end())
            out.emplace_back(c.family, c.table);
    return out;
}

bool nft_apply(const std::vector<std::pair<std::string, std::string>>& remove, const std::string& text,
               bool test, std::string& error) {
    if (remove.empty() && text.empty()) return true;
    std::string script;
    for (const auto& [family, name] : remove)  // `add` first: deleting a table that does not exist fails
        script += "add table " + family + " " + name + "\ndelete table " + family + " " + name + "\n";
    script += text;
    std::string command = std::string("nft") + (test ? " -c" : "") + " -f /dev/stdin";
    std::string output;
    int code = run_with_input(command, script, output);
    if (code != 0)
        return error = "the kernel's nf_tables (" + command + ") refused the ruleset: " + output, false;
    return true;
}

bool ipset_destroy(const std::vector<std::string>& names, std::string& error) {
    std::map<std::string, std::string> existing = kernel_sets();
    std::string output;
    for (const std::string& name : names)
        if (existing.count(name) && run_with_input("ipset destroy " + name, "", output) != 0)
            error += "the kernel's ipset kept set " + name + ": " + output;
    return error.empty();
}

namespace {

// The chains ("family table chain") whose first rule in the kernel is the handoff's (nft_decided_rules).
std::set<std::string> chains_with_decided_rule(const ir::Program& program, uint32_t decided_mark) {
    std::set<std::string> out;
    std::istringstream lines(nft_decided_rules(program, decided_mark));
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::string insert, rule, family, table, chain;
        if (words >> insert >> rule >> family >> table >> chain && insert == "insert")
            out.insert(family + " " + table + " " + chain);
    }
    return out;
}

// nf_tables' protocol family numbers (NFPROTO_*), by nft's family names.
int nfproto(const std::string& family) {
    static const std::map<std::string, int> numbers = {{"inet", 1},   {"ip", 2},     {"arp", 3},
                                                       {"netdev", 5}, {"bridge", 7}, {"ip6", 10}};
    auto it = numbers.find(family);
    return it == numbers.end() ? -1 : it->second;
}

}  // namespace

std::map<std::pair<int, int>, ir::Counters> nft_copy_counters(const std::string& canonical,
                                                              const ir::Program& program,
                                                              uint32_t decided_mark) {
    std::map<std::pair<int, int>, ir::Counters> out;
    Diagnostics ignored;
    std::optional<parser::nft::Script> script = parser::parse_nft(canonical, "<committed>", ignored);
    if (!script) return out;
    std::set<std::string> decided = chains_with_decided_rule(program, decided_mark);
    for (const parser::nft::Command& c : script->commands) {
        if (!c.table_body) continue;
        std::string listing;
        if (run_with_input("nft -j list table " + c.family + " " + c.table, "", listing, false) != 0)
            continue;
        nlohmann::json j = nlohmann::json::parse(listing, nullptr, false);
        if (!j.is_object() || !j["nftables"].is_array()) continue;
        // The kernel's rules of each chain, in order: the first counter statement's values of each.
        std::map<std::string, std::vector<ir::Counters>> kernel;
        for (const nlohmann::json& item : j["nftables"]) {
            if (!item.contains("rule")) continue;
            const nlohmann::json& rule = item["rule"];
            ir::Counters counted;
            for (const nlohmann::json& e : rule.value("expr", nlohmann::json::array()))
                if (e.contains("counter") && e["counter"].is_object()) {
                    counted = {e["counter"].value("packets", uint64_t{0}),
                               e["counter"].value("bytes", uint64_t{0})};
                    break;
                }
            kernel[rule.value("chain", "")].push_back(counted);
        }
        for (const parser::nft::ChainDef& chain : c.table_body->chains) {
            std::vector<ir::Counters>& rules = kernel[chain.name];
            size_t skip = decided.count(c.family + " " + c.table + " " + chain.name) ? 1 : 0;
            if (rules.size() != chain.body.rules.size() + skip) continue;  // changed behind bpftables' back
            for (size_t i = 0; i < chain.body.rules.size(); ++i)
                out[{chain.body.rules[i].loc.line, chain.body.rules[i].loc.col}] = rules[i + skip];
        }
    }
    return out;
}

bool nft_zero_copy_counters(const std::string& canonical, const std::string& only, const std::string& chain,
                            std::string& error) {
    // NFT_MSG_GETRULE_RESET (Linux 6.2), newer than Debian 12's headers
    constexpr uint16_t kGetRuleReset = 25;
    for (const auto& [family, table] : nft_tables(canonical)) {
        if ((!only.empty() && table != only) || nfproto(family) < 0) continue;
        // nlmsghdr, nfgenmsg, then NFTA_RULE_TABLE (and NFTA_RULE_CHAIN): the dump's filter
        std::vector<char> req(NLMSG_LENGTH(sizeof(nfgenmsg)));
        auto attribute = [&](uint16_t type, const std::string& value) {
            nlattr a{static_cast<uint16_t>(NLA_HDRLEN + value.size() + 1), type};
            size_t at = req.size();
            req.resize(at + NLA_ALIGN(a.nla_len));
            std::memcpy(req.data() + at, &a, sizeof a);
            std::memcpy(req.data() + at + NLA_HDRLEN, value.c_str(), value.size() + 1);
        };
        attribute(NFTA_RULE_TABLE, table);
        if (!chain.empty()) attribute(NFTA_RULE_CHAIN, chain);
        auto* h = reinterpret_cast<nlmsghdr*>(req.data());
        h->nlmsg_len = static_cast<uint32_t>(req.size());
        h->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | kGetRuleReset;
        h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        auto* g = static_cast<nfgenmsg*>(NLMSG_DATA(h));
        g->nfgen_family = static_cast<uint8_t>(nfproto(family));
        g->version = NFNETLINK_V0;
        if (!netlink_dump(
                NETLINK_NETFILTER, h, [](const nlmsghdr*) {},
                "cannot zero the counters of nft table " + family + " " + table, error))
            return false;
    }
    return true;
}

std::optional<std::map<std::string, std::string>> ingress_chains(std::string& error) {
    constexpr uint32_t kNetdevIngress = 0, kInetIngress = 5;  // NF_NETDEV_INGRESS, NF_INET_INGRESS
    std::vector<char> req(NLMSG_LENGTH(sizeof(nfgenmsg)));
    auto* h = reinterpret_cast<nlmsghdr*>(req.data());
    h->nlmsg_len = static_cast<uint32_t>(req.size());
    h->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETCHAIN;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    auto* g = static_cast<nfgenmsg*>(NLMSG_DATA(h));
    g->nfgen_family = NFPROTO_UNSPEC;  // every family
    g->version = NFNETLINK_V0;
    std::map<std::string, std::string> chains;
    auto attributes = [](const void* data, size_t len, const std::function<void(const nlattr*)>& each) {
        const auto* p = static_cast<const char*>(data);
        while (len >= NLA_HDRLEN) {
            const auto* a = reinterpret_cast<const nlattr*>(p);
            if (a->nla_len < NLA_HDRLEN || a->nla_len > len) return;
            each(a);
            size_t step = std::min<size_t>(NLA_ALIGN(a->nla_len), len);
            p += step, len -= step;
        }
    };
    auto text = [](const nlattr* a) {
        const char* s = reinterpret_cast<const char*>(a) + NLA_HDRLEN;
        return std::string(s, strnlen(s, a->nla_len - NLA_HDRLEN));
    };
    bool ok = netlink_dump(
        NETLINK_NETFILTER, h,
        [&](const nlmsghdr* m) {
            if (m->nlmsg_len < NLMSG_LENGTH(sizeof(nfgenmsg))) return;
            const auto* gm = static_cast<const nfgenmsg*>(NLMSG_DATA(m));
            if (gm->nfgen_family != NFPROTO_NETDEV && gm->nfgen_family != NFPROTO_INET) return;
            std::string table, name;
            std::optional<uint32_t> hooknum;
            std::vector<std::string> devices;
            attributes(static_cast<const char*>(NLMSG_DATA(m)) + NLMSG_ALIGN(sizeof(nfgenmsg)),
                       m->nlmsg_len - NLMSG_LENGTH(sizeof(nfgenmsg)), [&](const nlattr* a) {
                           uint16_t type = a->nla_type & NLA_TYPE_MASK;
                           if (type == NFTA_CHAIN_TABLE) table = text(a);
                           if (type == NFTA_CHAIN_NAME) name = text(a);
                           if (type != NFTA_CHAIN_HOOK) return;
                           attributes(
                               reinterpret_cast<const char*>(a) + NLA_HDRLEN, a->nla_len - NLA_HDRLEN,
                               [&](const nlattr* k) {
                                   uint16_t kt = k->nla_type & NLA_TYPE_MASK;
                                   if (kt == NFTA_HOOK_HOOKNUM && k->nla_len >= NLA_HDRLEN + 4) {
                                       uint32_t be = 0;
                                       std::memcpy(&be, reinterpret_cast<const char*>(k) + NLA_HDRLEN, 4);
                                       hooknum = ntohl(be);
                                   }
                                   if (kt == NFTA_HOOK_DEV) devices.push_back(text(k));
                                   if (kt == NFTA_HOOK_DEVS)
                                       attributes(reinterpret_cast<const char*>(k) + NLA_HDRLEN,
                                                  k->nla_len - NLA_HDRLEN,
                                                  [&](const nlattr* d) { devices.push_back(text(d)); });
                               });
                       });
            bool netdev = gm->nfgen_family == NFPROTO_NETDEV;
            if (!hooknum || *hooknum != (netdev ? kNetdevIngress : kInetIngress)) return;
            for (const std::string& d : devices)
                chains.emplace(d, std::string(netdev ? "netdev " : "inet ") + table + " " + name);
        },
        "cannot list the nf_tables chains", error);
    if (!ok) return std::nullopt;
    return chains;
}

}  // namespace bpftables::runtime
