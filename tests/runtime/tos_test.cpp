// -m tos: --tos value[/mask] and symbolic names (which use mask 0x3f); negation. xt_tos compares
// (tos & mask) == value, so a value with bits outside its mask never matches.
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::Ipv4;
using loader::Tcp;

class Tos : public RuntimeTest {};

std::vector<uint8_t> with_tos(uint8_t tos) {
    return frame(Ipv4{.tos = tos}, Tcp{});
}

TEST_F(Tos, ValueAndMask) {
    std::string text =
        input_chain({"-m tos --tos 0x10/0xff -j ACCEPT", "-m tos --tos 0x08/0x0c -j DROP"}, "DROP");
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, with_tos(0x10), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, with_tos(0x11), "DROP", "INPUT", 0);
    EXPECT_VERDICT(rs, with_tos(0xf8), "DROP", "INPUT", 2);
    EXPECT_VERDICT(rs, with_tos(0x04), "DROP", "INPUT", 0);
}

TEST_F(Tos, SymbolicName) {
    // Minimize-Delay is 0x10/0x3f: the two precedence bits are ignored
    std::string text = input_chain({"-m tos --tos Minimize-Delay -j ACCEPT"}, "DROP");
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, with_tos(0x10), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, with_tos(0xd0), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, with_tos(0x18), "DROP", "INPUT", 0);
}

TEST_F(Tos, Negated) {
    std::string text = input_chain({"-m tos ! --tos 0x00/0xfc -j DROP"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, with_tos(0x03), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, with_tos(0x04), "DROP", "INPUT", 1);
}

TEST_F(Tos, ValueOutsideTheMask) {
    std::string text = input_chain({"-m tos --tos 0x11/0x10 -j DROP", "-m tos ! --tos 0x11/0x10 -j ACCEPT"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, with_tos(0x11), "ACCEPT", "INPUT", 2);
    EXPECT_VERDICT(rs, with_tos(0x10), "ACCEPT", "INPUT", 2);
}

}  // namespace
}  // namespace bpftables::test
