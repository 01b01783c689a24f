// The canonical nft text that bpftables-restore keeps (compiler/nft/canonical.hpp) against the rulesets of
// ../shared/corpus/nft-dumps/{nft,json} and nft-shell-inputs: for every input that lowers, the canonical text
// is either refused (what restore refuses: ip6 tables, stateful objects, ...) or lowers to the same IR as the
// input, and printing it again gives the same text. Rates are printed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <unistd.h>

#include "compiler/ir_print.hpp"
#include "compiler/nft/canonical.hpp"
#include "compiler/nft/lower.hpp"
#include "parser/nft_json.hpp"
#include "parser/nft_parser.hpp"
#include "tests/corpus/corpus_files.hpp"

namespace bpftables {
namespace {

using test::corpus;
using test::slurp;
namespace fs = std::filesystem;

struct Rate {
    int lowered = 0, same = 0, refused = 0, differ = 0;
    std::map<std::string, int> refusals;                      // first message
    std::vector<std::pair<fs::path, std::string>> canonical;  // input, its canonical text
};

void check(const fs::path& file, bool json, bool kernel_decides, Rate& r) {
    std::string text = slurp(file), name = file.filename().string();
    Diagnostics d;
    std::optional<parser::nft::Script> script =
        json ? parser::parse_nft_json(text, name, d) : parser::parse_nft(text, name, d);
    if (!script) return;
    std::optional<ir::Program> original = lower_nft(*script, d, kernel_decides);
    if (!original || d.has_errors()) {
        if (getenv("NFTCANON_VERBOSE") && kernel_decides)
            std::cout << file << ": " << d.str().substr(0, 300) << "\n";
        return;
    }
    ++r.lowered;
    Diagnostics cd;
    std::optional<std::string> canonical = canonical_nft(*script, cd, json);
    if (!canonical) {
        ++r.refused;
        std::string m = cd.all().empty() ? "?" : cd.all().front().message;
        ++r.refusals[m.substr(0, m.find(':'))];
        return;
    }
    Diagnostics ld;
    std::optional<ir::Program> again = parse_and_lower_nft(*canonical, "<canonical>", ld, kernel_decides);
    bool same = again && test::nft_ir_text(*again) == test::nft_ir_text(*original);
    if (same) {
        Diagnostics pd;
        std::optional<parser::nft::Script> s2 = parser::parse_nft(*canonical, "<canonical>", pd);
        same = s2 && print_nft(*s2, nullptr) == *canonical;
    }
    if (same) {
        ++r.same;
        r.canonical.emplace_back(file, *canonical);
    } else {
        ++r.differ;
        ADD_FAILURE() << file << ": the canonical text does not lower to the same IR or print the same\n"
                      << *canonical << ld.str();
    }
}

void report(const char* what, const Rate& r) {
    std::cout << what << ": " << r.lowered << " lower; canonical text: " << r.same << " same IR, "
              << r.refused << " refused by restore, " << r.differ << " different\n";
    for (const auto& [m, n] : r.refusals) std::cout << "  refused " << n << ": " << m << "\n";
}

// What a restore gives the kernel's nf_tables is the canonical text: every corpus ruleset that nft itself
// loads (checked with `nft -c` in a private namespace) loads as its canonical text too, as bpftables-restore
// of nft text makes it (statements not compiled, other families and stateful objects kept for the kernel).
TEST(NftCanonical, TheKernelLoadsWhatRestoreGivesIt) {
    if (!fs::exists(corpus / "nft-dumps")) GTEST_SKIP() << "no corpus at " << corpus;
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    if (std::system("nft --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "nft absent";
    Rate r;
    for (const auto& e : fs::directory_iterator(corpus / "nft-dumps" / "nft"))
        check(e.path(), false, true, r);
    if (fs::exists(corpus / "nft-shell-inputs"))
        for (const auto& e : fs::recursive_directory_iterator(corpus / "nft-shell-inputs"))
            if (e.is_regular_file()) check(e.path(), false, true, r);
    fs::path dir = fs::temp_directory_path() / ("bpftables-nft-load-" + std::to_string(getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    int n = 0;
    for (const auto& [file, text] : r.canonical) {
        std::string name = std::to_string(n++) + "_" + file.filename().string();
        fs::copy_file(file, dir / (name + ".orig"));
        std::ofstream(dir / (name + ".canon")) << text;
    }
    fs::path out = dir / "result.txt";
    std::string cmd = "bash '" BPFTABLES_SOURCE_DIR "/tests/corpus/nft_load_pairs.sh' '" + dir.string() +
                      "' >'" + out.string() + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::string result = test::slurp(out);
    std::cout << "nft-dumps + nft-shell-inputs, canonical texts of " << r.canonical.size()
              << " rulesets: " << result;
    EXPECT_NE(result.find("canonical refused 0\n"), std::string::npos) << result;
    fs::remove_all(dir);
}

TEST(NftCanonical, Corpus) {
    if (!fs::exists(corpus / "nft-dumps")) GTEST_SKIP() << "no corpus at " << corpus;
    // Strict (compile, run), then as bpftables-restore lowers: statements it does not compile go to the
    // kernel.
    for (bool kernel : {false, true}) {
        Rate text, json, shell;
        for (const auto& e : fs::directory_iterator(corpus / "nft-dumps" / "nft"))
            check(e.path(), false, kernel, text);
        if (!kernel)  // from JSON restore is strict: its reader keeps some statements only by their keyword
            for (const auto& e : fs::directory_iterator(corpus / "nft-dumps" / "json"))
                check(e.path(), true, kernel, json);
        if (fs::exists(corpus / "nft-shell-inputs"))
            for (const auto& e : fs::recursive_directory_iterator(corpus / "nft-shell-inputs"))
                if (e.is_regular_file()) check(e.path(), false, kernel, shell);
        std::string mode = kernel ? " (restore: the kernel decides what is not compiled)" : "";
        report(("nft-dumps/nft" + mode).c_str(), text);
        if (!kernel) report("nft-dumps/json", json);
        report(("nft-shell-inputs" + mode).c_str(), shell);
        EXPECT_GT(text.same, 0);
    }
}

}  // namespace
}  // namespace bpftables
