#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "compiler/iptables_lower.hpp"
#include "compiler/passes/pass.hpp"

namespace bpftables {
namespace {

ir::Program lowered(const std::string& text) {
    Diagnostics d;
    auto p = parse_and_lower(text, "t.rules", d);
    EXPECT_TRUE(p) << d.str();
    return p ? *p : ir::Program{};
}

TEST(VerifyIr, TheExampleKeepsEveryInvariantThroughThePipeline) {
    std::ifstream in(std::string(BPFTABLES_SOURCE_DIR) + "/examples/example.rules");
    std::ostringstream s;
    s << in.rdbuf();
    ir::Program p = lowered(s.str());
    Diagnostics d;
    EXPECT_TRUE(passes::run_pipeline(p, d)) << d.str();
    EXPECT_TRUE(passes::verify_ir(p, d)) << d.str();
}

TEST(VerifyIr, ReportsBrokenInvariantsAsInternalErrors) {
    ir::Program p =
        lowered("*filter\n:INPUT ACCEPT [0:0]\n:U - [0:0]\n-A INPUT -s 10.0.0.0/8 -j U\nCOMMIT\n");
    ir::Table& t = p.tables.front();
    std::get<ir::AddressMatch>(t.find("INPUT")->rules[0].matches[0]).net.addr = 0x0a000001;  // unmasked
    t.chains.push_back(*t.find("U"));                                             // duplicate chain
    std::get<ir::JumpTarget>(t.find("INPUT")->rules[0].target).chain = "OUTPUT";  // a built-in
    Diagnostics d;
    EXPECT_FALSE(passes::verify_ir(p, d));
    std::string text = d.str();
    EXPECT_NE(text.find("internal error: chain 'U' appears twice"), std::string::npos) << text;
    EXPECT_NE(text.find("internal error: unmasked address"), std::string::npos) << text;
    EXPECT_NE(text.find("internal error: jump to 'OUTPUT'"), std::string::npos) << text;
}

}  // namespace
}  // namespace bpftables
