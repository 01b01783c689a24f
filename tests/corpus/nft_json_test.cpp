// nft JSON against nft text: the same ruleset listed both ways (`nft list ruleset`, `nft -j list ruleset`)
// lowers to the same IR. Two sources of pairs:
//  - ../shared/corpus/nft-dumps/{nft,json}: upstream's expected listings (nftables 1.1), no privileges;
//  - the nft of this machine: nft_json_oracle.sh loads every nft-dumps/nft and nft-shell-inputs ruleset
//    into a private network namespace and lists it both ways (root and nft needed, else skipped). The
//    oracles are generated at test time into the build tree, not checked in: they are derived from the
//    corpus, which stays outside the repository, and nft is installed wherever the root tests run.
// Equal IR: the iptables-save form of the IR plus what it does not print (table families, base chains'
// hook, type, priority and policy, named sets and their members). Rates are printed; a pair where both
// sides lower but differ fails the test, and so does one only the text lowers, unless the JSON side's
// error is "not supported" (set elements with a limit: the text front end drops element statements).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "compiler/ir_print.hpp"
#include "compiler/nft/lower.hpp"
#include "tests/corpus/corpus_files.hpp"

namespace bpftables {
namespace {

using test::corpus;
using test::slurp;
namespace fs = std::filesystem;

struct Rate {
    int pairs = 0, equal = 0, both_rejected = 0, text_only = 0, json_only = 0, differ = 0;
    int json_stricter = 0;  // of text_only: the JSON side reports what the text side drops (element limits)
    int same_first_error = 0;                // of both_rejected: the same first message
    std::map<std::string, int> json_errors;  // first error of the JSON side where the text side lowered
    std::vector<std::string> differing;
};

void compare(const fs::path& text_file, const fs::path& json_file, Rate& r) {
    ++r.pairs;
    Diagnostics td, jd;
    std::optional<ir::Program> t = parse_and_lower_nft(slurp(text_file), text_file.filename().string(), td);
    std::optional<ir::Program> j =
        parse_and_lower_nft_json(slurp(json_file), json_file.filename().string(), jd);
    if (!t && !j) {
        ++r.both_rejected;
        if (!td.all().empty() && !jd.all().empty() && td.all().front().message == jd.all().front().message)
            ++r.same_first_error;
        else if (std::getenv("NFT_JSON_VERBOSE"))
            std::cout << "  both fail:\n" << td.str() << jd.str();
        EXPECT_TRUE(jd.has_errors()) << json_file;
    } else if (t && !j) {
        ++r.text_only;
        std::string m = jd.all().empty() ? "?" : jd.all().front().message;
        if (m.find("is not supported") != std::string::npos) ++r.json_stricter;
        ++r.json_errors[m];
        if (std::getenv("NFT_JSON_VERBOSE")) std::cout << "  json fails: " << jd.str();
    } else if (!t && j) {
        ++r.json_only;
        if (std::getenv("NFT_JSON_VERBOSE")) std::cout << "  text fails: " << td.str();
    } else if (test::nft_ir_text(*t) == test::nft_ir_text(*j)) {
        ++r.equal;
    } else {
        ++r.differ;
        r.differing.push_back(json_file.filename().string());
        if (std::getenv("NFT_JSON_VERBOSE"))
            std::cout << "  differ: " << json_file << "\n--- text\n"
                      << test::nft_ir_text(*t) << "--- json\n"
                      << test::nft_ir_text(*j);
    }
}

void print(const std::string& name, const Rate& r) {
    std::cout << name << ": " << r.pairs << " pairs; same IR " << r.equal << ", both rejected "
              << r.both_rejected << " (with the same first message " << r.same_first_error << ")"
              << ", only the text lowers " << r.text_only
              << " (of which the JSON side rejects as not supported what the text side ignores: "
              << r.json_stricter << "), only the JSON lowers " << r.json_only << ", different IR " << r.differ
              << "\n";
    for (const auto& [msg, n] : r.json_errors) std::cout << "  json: " << n << " x " << msg << "\n";
    for (const std::string& f : r.differing) std::cout << "  different IR: " << f << "\n";
}

TEST(NftJson, UpstreamDumpsLowerAsTheirText) {
    fs::path dir = corpus / "nft-dumps";
    if (!fs::exists(dir / "json")) GTEST_SKIP() << "corpus absent: " << dir;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir / "json"))
        if (e.path().extension() == ".json-nft") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    Rate r;
    for (const fs::path& j : files) {
        fs::path t = dir / "nft" / (j.stem().string() + ".nft");
        if (fs::exists(t)) compare(t, j, r);
    }
    print("nft-dumps (upstream JSON)", r);
    EXPECT_EQ(r.differ, 0);
    EXPECT_EQ(r.text_only, r.json_stricter);
}

TEST(NftJson, LocalNftListingsLowerAsTheirText) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    if (std::system("nft --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "nft absent";
    std::vector<std::string> inputs;
    for (const fs::path& dir : {corpus / "nft-dumps" / "nft", corpus / "nft-shell-inputs"}) {
        if (!fs::exists(dir)) GTEST_SKIP() << "corpus absent: " << dir;
        for (const auto& e : fs::directory_iterator(dir))
            if (e.is_regular_file()) inputs.push_back(fs::absolute(e.path()).string());
    }
    std::sort(inputs.begin(), inputs.end());
    fs::path out = fs::temp_directory_path() / ("bpftables-nft-json-" + std::to_string(getpid()));
    fs::remove_all(out);
    fs::path list = out.string() + ".list";
    {
        std::ofstream l(list);
        for (const std::string& f : inputs) l << f << "\n";
    }
    std::string cmd = "xargs -d '\\n' -P 4 -n 64 -a '" + list.string() +
                      "' bash '" BPFTABLES_SOURCE_DIR "/tests/corpus/nft_json_oracle.sh' '" + out.string() +
                      "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    Rate r;
    int loaded = 0;
    for (const auto& e : fs::directory_iterator(out))
        if (e.path().extension() == ".json") {
            ++loaded;
            fs::path t = e.path();
            compare(t.replace_extension(".nft"), e.path(), r);
        }
    std::cout << "nft " << inputs.size() << " inputs, loaded by nft in a namespace " << loaded << "\n";
    print("nft-dumps + nft-shell-inputs (local nft)", r);
    fs::remove_all(out);
    fs::remove(list);
    EXPECT_EQ(r.differ, 0);
    EXPECT_EQ(r.text_only, r.json_stricter);
}

}  // namespace
}  // namespace bpftables
