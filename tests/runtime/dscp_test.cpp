// -m dscp: --dscp value and --dscp-class names, the upper six bits of the TOS byte; negation.
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::Ipv4;
using loader::Tcp;

class Dscp : public RuntimeTest {};

std::vector<uint8_t> with_tos(uint8_t tos) {
    return frame(Ipv4{.tos = tos}, Tcp{});
}

TEST_F(Dscp, ValueAndClass) {
    std::string text =
        input_chain({"-m dscp --dscp 0x2e -j ACCEPT", "-m dscp --dscp-class AF11 -j DROP"}, "DROP");
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, with_tos(46 << 2), "ACCEPT", "INPUT", 1);
    // the ECN bits are not part of the DSCP
    EXPECT_VERDICT(rs, with_tos((46 << 2) | 3), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, with_tos(10 << 2), "DROP", "INPUT", 2);
    EXPECT_VERDICT(rs, with_tos(0), "DROP", "INPUT", 0);
}

TEST_F(Dscp, Negated) {
    std::string text = input_chain({"-m dscp ! --dscp 0 -j DROP"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, with_tos(1), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, with_tos(4), "DROP", "INPUT", 1);
}

}  // namespace
}  // namespace bpftables::test
