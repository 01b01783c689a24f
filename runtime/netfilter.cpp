#include "runtime/netfilter.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

#include "codegen/layout.hpp"
#include "compiler/iptables_lower.hpp"
#include "compiler/ir_print.hpp"
#include "parser/nft_parser.hpp"

namespace bpftables::runtime {
namespace {

// Runs `command` with `input` on its stdin; its output (stdout and stderr) goes to `output`.
int run_with_input(const std::string& command, const std::string& input, std::string& output) {
    char path[] = "/tmp/bpftables-nf.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return output = "cannot create a temporary file", -1;
    bool written = write(fd, input.data(), input.size()) == static_cast<ssize_t>(input.size());
    close(fd);
    if (!written) return unlink(path), output = "cannot write a temporary file", -1;
    std::string full = command + " < " + path + " 2>&1";
    FILE* p = popen(full.c_str(), "r");
    if (!p) return unlink(path), output = "cannot run " + command, -1;
    char buf[512];
    for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) output.append(buf, n);
    int status = pclose(p);
    unlink(path);
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

}  // namespace

compiler::Backend default_backend() {
    std::string out;
    run_with_input("iptables -V", "", out);
    return out.find("legacy") != std::string::npos ? compiler::Backend::legacy : compiler::Backend::nft;
}

bool netfilter_apply(std::optional<compiler::Backend> backend, const ir::Program& program,
                     const std::vector<std::string>& tables, bool test, std::string& error) {
    if (tables.empty()) return true;
    if (!backend) return error = "unknown backend ", false;
    std::string text;
    for (const std::string& name : tables) {
        if (const ir::Table* t = program.find(name); t && t->family.empty()) {
            text += ir::to_save(program, {.counters = false, .only_table = name});
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
    std::string command = std::string("iptables-") + compiler::backend_name(*backend) + "-restore -w 5" +
                          (test ? " --test" : "");
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

}  // namespace bpftables::runtime
