// Whole rulesets: every `nft list ruleset` output in ../shared/corpus/nft-dumps/nft and every input of
// nft-shell-inputs is parsed; the rates are printed (and the lowering's, for the parsed ones). The dumps
// are nft's own output, so a parse failure is a gap in this front end; the test fails below the floor.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "compiler/nft/lower.hpp"
#include "parser/nft_parser.hpp"

#include "tests/corpus/corpus_files.hpp"

namespace bpftables {
namespace {

using test::corpus;
using test::slurp;
namespace fs = std::filesystem;

struct Rate {
    int files = 0, parsed = 0, lowered = 0;
    std::map<std::string, int> first_errors;  // message -> count
};

Rate run_dir(const fs::path& dir, const std::string& ext) {
    Rate r;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file() && (ext.empty() || e.path().extension() == ext)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
        ++r.files;
        Diagnostics diags;
        std::optional<parser::nft::Script> script = parser::parse_nft(slurp(f), f.filename().string(), diags);
        if (!script) {
            std::string msg = diags.all().empty() ? "?" : diags.all().front().message;
            ++r.first_errors[msg];
            continue;
        }
        ++r.parsed;
        if (lower_nft(*script, diags)) ++r.lowered;
    }
    return r;
}

void print(const std::string& name, const Rate& r) {
    std::cout << name << ": parsed " << r.parsed << "/" << r.files << ", lowered " << r.lowered << "/"
              << r.files << "\n";
    for (const auto& [msg, n] : r.first_errors) std::cout << "  " << n << " x " << msg << "\n";
}

TEST(NftDumps, ListRulesetOutputsParse) {
    fs::path dir = corpus / "nft-dumps" / "nft";
    if (!fs::exists(dir)) GTEST_SKIP() << "corpus absent: " << dir;
    Rate r = run_dir(dir, ".nft");
    print("nft-dumps", r);
    EXPECT_GE(r.parsed * 100, r.files * 95) << "parse rate of nft's own output fell below 95%";
}

TEST(NftDumps, ShellInputsParse) {
    fs::path dir = corpus / "nft-shell-inputs";
    if (!fs::exists(dir)) GTEST_SKIP() << "corpus absent: " << dir;
    Rate r = run_dir(dir, "");
    print("nft-shell-inputs", r);
    EXPECT_GE(r.parsed * 100, r.files * 60) << "parse rate of the shell inputs fell below 60%";
}

}  // namespace
}  // namespace bpftables
