// Docker's ip6tables-save output (../shared/corpus/docker/iptabler-sample/*ip6tables*) read as ip6tables-save
// text (ir::Family::ipv6, what `bpftables compile -6` reads) and printed back:
//   - without privileges: the print is byte-identical to the file (its comment lines aside), which is what
//     ip6tables-save printed when Docker's tests recorded it; the code generator makes an IPv6 program of it
//     for every hook (the compat suite's IPv6 mode runs them against ip6tables-legacy);
//   - as root, with ip6tables-legacy-restore: each file is loaded into a network namespace made for the test
//     (bpft6-PID, deleted also when the test fails) and every table of it saved again with
//     ip6tables-legacy-save -t TABLE; bpftables' print must equal that output byte for byte.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "codegen/build.hpp"
#include "compiler/iptables_lower.hpp"
#include "compiler/ir_print.hpp"
#include "compiler/passes/pass.hpp"

#include "tests/corpus/corpus_files.hpp"

namespace bpftables {
namespace {

using test::corpus;
using test::slurp;
namespace fs = std::filesystem;

std::vector<fs::path> docker_ip6tables_files() {
    std::vector<fs::path> out;
    fs::path dir = corpus / "docker/iptabler-sample";
    if (fs::exists(dir))
        for (const auto& e : fs::directory_iterator(dir))
            if (e.path().filename().string().find("ip6tables") != std::string::npos) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

std::string without_comments(const std::string& text) {
    std::string out;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        end = end == std::string::npos ? text.size() : end + 1;
        if (text[start] != '#') out += text.substr(start, end - start);
        start = end;
    }
    return out;
}

// The file read as ip6tables-save text, through the passes, printed; empty with `error` on failure.
std::string ours(const fs::path& f, std::string& error) {
    Diagnostics d;
    LowerOptions options;
    options.family = ir::Family::ipv6;
    std::optional<ir::Program> p = parse_and_lower(slurp(f), f.filename().string(), d, options);
    if (!p || !passes::run_pipeline(*p, d)) {
        error = d.str();
        return {};
    }
    return ir::to_save(*p);
}

// The tables of an iptables-save text, in its order ("*filter" lines).
std::vector<std::string> table_names(const std::string& text) {
    std::vector<std::string> out;
    for (size_t at = 0; at < text.size();) {
        size_t end = text.find('\n', at);
        end = end == std::string::npos ? text.size() : end;
        if (text[at] == '*') out.push_back(text.substr(at + 1, end - at - 1));
        at = end + 1;
    }
    return out;
}

// Runs a shell command, its stdout into `out`; the exit status.
int run(const std::string& cmd, std::string& out) {
    out.clear();
    FILE* f = popen(cmd.c_str(), "r");
    if (!f) return -1;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
    return pclose(f);
}

TEST(Ip6tablesRulesets, DockerFilesPrintBackAsIp6tablesSave) {
    std::vector<fs::path> files = docker_ip6tables_files();
    if (files.empty()) GTEST_SKIP() << "corpus not found at " << corpus << " (../shared/corpus)";
    for (const fs::path& f : files) {
        std::string error;
        std::string printed = ours(f, error);
        ASSERT_TRUE(error.empty()) << f << ":\n" << error;
        EXPECT_EQ(printed, without_comments(slurp(f))) << f;

        // The program of every hook: C that parses IPv6.
        Diagnostics d;
        LowerOptions options;
        options.family = ir::Family::ipv6;
        std::optional<ir::Program> p = parse_and_lower(slurp(f), f.filename().string(), d, options);
        ASSERT_TRUE(p);
        for (codegen::Hook hook : {codegen::Hook::xdp, codegen::Hook::tc_ingress, codegen::Hook::tc_egress}) {
            ir::Program q = *p;
            std::optional<codegen::Build> b = codegen::build(q, hook, d, {}, /*object=*/false);
            ASSERT_TRUE(b) << f << ": " << d.str();
            EXPECT_NE(b->c.source.find("#define BPFT_IPV6 1"), std::string::npos) << f;
        }
    }
    EXPECT_EQ(files.size(), 5u);
}

// A network namespace of the test's own, deleted when it goes out of scope.
struct Netns {
    std::string name = "bpft6-" + std::to_string(getpid());
    bool made = false;
    Netns() {
        std::string out;
        made = run("ip netns add " + name + " 2>&1", out) == 0;
    }
    ~Netns() {
        std::string out;
        if (made) run("ip netns del " + name + " 2>&1", out);
    }
};

TEST(Ip6tablesRulesets, DockerFilesMatchIp6tablesLegacySave) {
    std::vector<fs::path> files = docker_ip6tables_files();
    if (files.empty()) GTEST_SKIP() << "corpus not found at " << corpus << " (../shared/corpus)";
    std::string out;
    if (geteuid() != 0) GTEST_SKIP() << "needs root (a network namespace and ip6tables-legacy-restore)";
    if (run("command -v ip6tables-legacy-restore ip6tables-legacy-save ip", out) != 0)
        GTEST_SKIP() << "ip6tables-legacy-restore, ip6tables-legacy-save or ip missing";
    for (const fs::path& f : files) {
        Netns ns;  // one per file: tables of an earlier file do not linger
        ASSERT_TRUE(ns.made) << "cannot create network namespace " << ns.name;
        std::string exec = "ip netns exec " + ns.name + " ";
        ASSERT_EQ(run(exec + "ip6tables-legacy-restore < '" + f.string() + "' 2>&1", out), 0)
            << f << ": " << out;
        std::string theirs;
        for (const std::string& line : table_names(slurp(f))) {
            ASSERT_EQ(run(exec + "ip6tables-legacy-save -t " + line + " 2>&1", out), 0) << out;
            theirs += without_comments(out);
        }
        std::string error;
        EXPECT_EQ(ours(f, error), theirs) << f << error;
    }
}

}  // namespace
}  // namespace bpftables
