// nft's fuzzer-found crash inputs (../shared/corpus/nft-bogons): each is rejected with a diagnostic, or (when
// it happens to be valid text) lowered; nothing crashes. Run under ASan to make "no crash" meaningful.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "compiler/nft/lower.hpp"
#include "parser/nft_parser.hpp"

namespace bpftables {
namespace {

namespace fs = std::filesystem;

// The two inputs nft 1.0.6 itself loads (`nft -c -f` in a private namespace): an empty file, and a map of
// classids whose element nft reads as 0:a.
const std::set<std::string> nft_accepts = {"dumps__assert_failures.nft",
                                           "nft-f__tchandle_type_parse_heap_overflow"};

TEST(NftBogons, RejectedCleanly) {
    fs::path dir = fs::path(BPFTABLES_CORPUS_DIR) / "nft-bogons";
    if (!fs::exists(dir)) GTEST_SKIP() << "corpus absent: " << dir;
    int files = 0, rejected = 0, accepted = 0;
    std::vector<fs::path> paths;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file()) paths.push_back(e.path());
    std::sort(paths.begin(), paths.end());
    for (const fs::path& p : paths) {
        std::ifstream in(p, std::ios::binary);
        std::ostringstream s;
        s << in.rdbuf();
        ++files;
        Diagnostics diags;
        std::optional<ir::Program> prog = parse_and_lower_nft(s.str(), p.filename().string(), diags);
        if (prog) {
            ++accepted;
            std::cout << "  accepted: " << p.filename().string() << "\n";
            EXPECT_TRUE(nft_accepts.count(p.filename().string()))
                << p << ": accepted, but nft refuses it (or crashes on it)";
        } else {
            ++rejected;
            EXPECT_TRUE(diags.has_errors()) << p << ": rejected without a diagnostic";
            EXPECT_NE(diags.str().find("error:"), std::string::npos) << p;
        }
    }
    std::cout << "nft-bogons: rejected " << rejected << "/" << files << ", accepted " << accepted << "\n";
}

}  // namespace
}  // namespace bpftables
