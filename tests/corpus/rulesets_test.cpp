// The real rulesets of the corpus (Docker, ufw, the bpf-iptables paper) through the whole pipeline: every
// file parses; the compile either succeeds or names each construct it cannot compile (never an internal
// error); what compiles is loaded into the kernel and runs packets (root only). A table per file is printed.
//
// ufw's templates are loaded as ufw loads them (iptables-restore --noflush, user.rules, before.rules,
// after.rules), with the chains ufw creates itself (ufw-logging-deny, ufw-skip-to-policy-*, ...) declared
// empty first. Files above 1,000 rules are compiled to C only unless BPFTABLES_LONG_TESTS is set (clang takes
// tens of seconds on them).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "codegen/build.hpp"
#include "compiler/ipsets.hpp"
#include "compiler/iptables_lower.hpp"
#include "compiler/passes/pass.hpp"
#include "loader/loaded_program.hpp"
#include "loader/packet.hpp"

#include "tests/corpus/corpus_files.hpp"

namespace bpftables {
namespace {

using test::corpus;
using test::slurp;
namespace fs = std::filesystem;

size_t count_rules(const ir::Program& p) {
    size_t n = 0;
    for (const ir::Table& t : p.tables)
        if (compiler::is_compiled_table(t.name))
            for (const ir::Chain& c : t.chains) n += c.rules.size();
    return n;
}

// The chains a set of ufw files jumps to without declaring: ufw creates them itself.
std::string ufw_preamble(const std::vector<fs::path>& files) {
    std::set<std::string> declared, used;
    std::regex decl(R"(^:(\S+))"), jump(R"(-[jg] (ufw\S*))");
    for (const fs::path& f : files) {
        std::istringstream in(slurp(f));
        for (std::string line; std::getline(in, line);) {
            std::smatch m;
            if (std::regex_search(line, m, decl)) declared.insert(m[1]);
            for (auto it = std::sregex_iterator(line.begin(), line.end(), jump); it != std::sregex_iterator();
                 ++it)
                used.insert((*it)[1]);
        }
    }
    std::string out = "*filter\n";
    for (const std::string& c : used)
        if (!declared.count(c)) out += ":" + c + " - [0:0]\n";
    return out + "COMMIT\n";
}

struct Outcome {
    std::string name;
    size_t rules = 0;
    std::string result;  // "compiled+ran", "compiled (C only)", or what could not be compiled
    bool ok = true;      // false: a parse failure, an internal error or a kernel refusal
};

Outcome run_one(const std::string& name, const std::vector<std::pair<std::string, std::string>>& inputs,
                const std::string& ipsets_file) {
    Outcome o{name};
    Diagnostics d;
    std::optional<ir::Program> program;
    for (const auto& [file, text] : inputs) {
        LowerOptions opt;
        opt.noflush = program.has_value();
        opt.base = program ? &*program : nullptr;
        program = parse_and_lower(text, file, d, opt);
        if (!program) break;
    }
    if (!program) {
        o.ok = false;
        o.result = "does not parse: " + d.str().substr(0, d.str().find('\n'));
        return o;
    }
    if (!ipsets_file.empty()) {
        auto sets = compiler::read_ipsets(slurp(ipsets_file), ipsets_file, d);
        if (sets) program->sets = *sets;
    }
    o.rules = count_rules(*program);
    if (!passes::run_pipeline(*program, d)) {
        o.ok = false;
        o.result = "refused by the passes: " + d.str().substr(0, d.str().find('\n'));
        return o;
    }
    Diagnostics cd;
    std::optional<codegen::CProgram> c = codegen::generate_c(*program, codegen::Hook::xdp, cd);
    if (!c) {
        std::set<std::string> what;
        for (const Diagnostic& x : cd.all())
            if (x.severity == Severity::error) what.insert(x.message);
        o.result = "not compiled:";
        for (const std::string& w : what) o.result += " [" + w + "]";
        return o;
    }
    bool long_ok = std::getenv("BPFTABLES_LONG_TESTS") != nullptr;
    if (geteuid() != 0 || (o.rules > 1000 && !long_ok)) {
        o.result = "compiled to C (" + std::to_string(c->source.size()) + " bytes); not loaded: " +
                   (geteuid() != 0 ? "needs root" : "over 1,000 rules (set BPFTABLES_LONG_TESTS)");
        return o;
    }
    std::optional<codegen::ClangResult> obj = codegen::compile_c(c->source, cd);
    if (!obj) {
        o.ok = false;
        o.result = "clang failed: " + cd.str().substr(0, 300);
        return o;
    }
    bpft_config config{};
    config.record = 1;
    config.test_run = 1;
    config.chain_mode = BPFT_CHAIN_INPUT;
    std::string error;
    auto loaded =
        loader::LoadedProgram::load(obj->object, codegen::Hook::xdp, config, *program, c->layout, error);
    if (!loaded) {
        o.ok = false;
        o.result = "kernel refused: " + error.substr(0, 300);
        return o;
    }
    using namespace loader;
    std::vector<std::vector<uint8_t>> packets = {
        frame(Ipv4{.src = ip("198.18.0.1"), .dst = ip("198.18.0.2")}, Tcp{.dport = 22}),
        frame(Ipv4{.src = ip("203.0.113.5"), .dst = ip("198.18.1.1")}, Udp{.dport = 53}),
        frame(Ipv4{.src = ip("192.0.2.7"), .dst = ip("198.18.0.2")}, Icmp{.type = 8}),
    };
    int ran = 0;
    for (const auto& f : packets)
        if (loaded->test_run(f, error)) ++ran;
    o.ok = ran == static_cast<int>(packets.size());
    o.result = "compiled, loaded (" + std::to_string(loaded->stats().insns) + " insns), ran " +
               std::to_string(ran) + " packets";
    return o;
}

TEST(CorpusRulesets, ParseCompileAndRunOrNameWhatIsMissing) {
    if (!fs::exists(corpus)) GTEST_SKIP() << "corpus not found at " << corpus << " (../shared/corpus)";
    std::vector<Outcome> outcomes;
    auto files_in = [](const fs::path& dir, const std::string& ext) {
        std::vector<fs::path> out;
        if (fs::exists(dir))
            for (const auto& e : fs::directory_iterator(dir))
                if (e.path().extension() == ext) out.push_back(e.path());
        std::sort(out.begin(), out.end());
        return out;
    };
    for (const fs::path& f : files_in(corpus / "docker/iptablesdoc", ".rules"))
        outcomes.push_back(
            run_one("docker/" + f.filename().string(), {{f.filename().string(), slurp(f)}}, ""));
    for (const fs::path& f : files_in(corpus / "bpf-iptables-bench", ".rules")) {
        std::string ipsets = f.string();
        ipsets.replace(ipsets.size() - 6, 6, ".ipset");
        outcomes.push_back(run_one("bpf-iptables-bench/" + f.filename().string(),
                                   {{f.filename().string(), slurp(f)}}, fs::exists(ipsets) ? ipsets : ""));
    }
    fs::path ufw = corpus / "ufw/templates";
    if (fs::exists(ufw)) {
        std::vector<fs::path> files = {ufw / "user.rules", ufw / "before.rules", ufw / "after.rules"};
        std::vector<std::pair<std::string, std::string>> inputs = {{"ufw-chains", ufw_preamble(files)}};
        for (const fs::path& f : files) inputs.push_back({f.filename().string(), slurp(f)});
        outcomes.push_back(run_one("ufw/templates (user+before+after)", inputs, ""));
    }
    int failed = 0;
    std::printf("%-72s %7s  %s\n", "ruleset", "rules", "result");
    for (const Outcome& o : outcomes) {
        std::printf("%-72s %7zu  %s%s\n", o.name.c_str(), o.rules, o.ok ? "" : "FAILED: ", o.result.c_str());
        failed += !o.ok;
    }
    EXPECT_EQ(failed, 0);
    EXPECT_GT(outcomes.size(), 20u);
}

}  // namespace
}  // namespace bpftables
