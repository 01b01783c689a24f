// -m mac --mac-source: the Ethernet source address of a received frame; negation.
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::Eth;
using loader::frame;
using loader::Ipv4;
using loader::Tcp;

class Mac : public RuntimeTest {};

std::vector<uint8_t> from_mac(loader::Mac src) {
    return frame(Eth{.src = src}, Ipv4{}, Tcp{});
}

TEST_F(Mac, Source) {
    std::string text = input_chain({"-m mac --mac-source 02:AA:bb:00:00:02 -j ACCEPT"}, "DROP");
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, from_mac({0x02, 0xaa, 0xbb, 0, 0, 0x02}), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, from_mac({0x02, 0xaa, 0xbb, 0, 0, 0x03}), "DROP", "INPUT", 0);
    EXPECT_VERDICT(rs, from_mac({0x03, 0xaa, 0xbb, 0, 0, 0x02}), "DROP", "INPUT", 0);
}

TEST_F(Mac, DestinationIsNotLookedAt) {
    std::string text = input_chain({"-m mac --mac-source 02:00:00:00:00:01 -j DROP"});
    REQUIRE_PARSER(text);
    // the default frame goes from 02:..:02 to 02:..:01
    EXPECT_VERDICT(text, frame(Ipv4{}, Tcp{}), "ACCEPT", "INPUT", 0);
}

TEST_F(Mac, Negated) {
    std::string text = input_chain({"-m mac ! --mac-source 02:00:00:00:00:02 -j DROP"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, from_mac({0x02, 0, 0, 0, 0, 0x02}), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, from_mac({0x02, 0, 0, 0, 0, 0x09}), "DROP", "INPUT", 1);
}

}  // namespace
}  // namespace bpftables::test
