#include "runtime/netfilter.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

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

}  // namespace

std::string default_backend() {
    std::string out;
    run_with_input("iptables -V", "", out);
    return out.find("legacy") != std::string::npos ? "legacy" : "nft";
}

bool netfilter_apply(const std::string& backend, const ir::Program& program,
                     const std::vector<std::string>& tables, bool test, std::string& error) {
    if (tables.empty()) return true;
    if (backend != "nft" && backend != "legacy") return error = "unknown backend " + backend, false;
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
    // iptables resolves --match-set names in the kernel: the sets go there first, with the members the
    // ruleset's sets have now (created when missing, emptied and refilled when present). A --test run changes
    // nothing, so it cannot check such tables in the kernel: the real apply does, before any link is swapped.
    if (text.find("--match-set") != std::string::npos) {
        if (test) return true;
        std::string sets;
        for (const ir::IpSet& s : program.sets) {  // "create ...", then emptied, then its "add" lines
            std::string one = ir::to_ipset_save({s});
            size_t adds = one.find('\n') + 1;
            sets += one.substr(0, adds) + "flush " + s.name + "\n" + one.substr(adds);
        }
        if (!sets.empty() && run_with_input("ipset restore -exist", sets, output) != 0)
            return error = "the kernel's ipset refused the sets: " + output, false;
        output.clear();
    }
    std::string command = "iptables-" + backend + "-restore -w 5" + (test ? " --test" : "");
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
