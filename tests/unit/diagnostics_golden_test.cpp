// Golden diagnostics: every tests/golden/diagnostics/NAME.rules goes through parsing, lowering, the passes
// and the C back end; everything printed must equal NAME.expected. Regenerate after a reviewed change with
//   BPFTABLES_UPDATE_GOLDEN=1 build/tests/unit_tests --gtest_filter='Golden*'
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "codegen/build.hpp"
#include "compiler/iptables_lower.hpp"
#include "compiler/passes/pass.hpp"

namespace bpftables {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string diagnose(const std::string& text, const std::string& name) {
    Diagnostics d;
    std::optional<ir::Program> p = parse_and_lower(text, name, d);
    if (p && passes::run_pipeline(*p, d)) codegen::generate_c(*p, codegen::Hook::xdp, d);
    return d.str();
}

TEST(GoldenDiagnostics, EveryCaseMatchesItsExpectedText) {
    fs::path dir = fs::path(BPFTABLES_SOURCE_DIR) / "tests/golden/diagnostics";
    bool update = std::getenv("BPFTABLES_UPDATE_GOLDEN") != nullptr;
    int cases = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() != ".rules") continue;
        ++cases;
        std::string got = diagnose(slurp(entry.path()), entry.path().filename().string());
        fs::path expected = fs::path(entry.path()).replace_extension(".expected");
        if (update) {
            std::ofstream(expected, std::ios::binary) << got;
            continue;
        }
        ASSERT_TRUE(fs::exists(expected)) << expected << " is missing: run with BPFTABLES_UPDATE_GOLDEN=1";
        EXPECT_EQ(got, slurp(expected)) << "for " << entry.path().filename();
        EXPECT_FALSE(got.empty()) << entry.path().filename() << " produced no diagnostic";
    }
    EXPECT_GT(cases, 10);
}

}  // namespace
}  // namespace bpftables
