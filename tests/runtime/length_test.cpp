// -m length: the IP total length (layer 3), inclusive bounds, negation.
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::Ipv4;
using loader::Udp;

class Length : public RuntimeTest {};

std::vector<uint8_t> udp_of_ip_length(size_t len) {
    return frame(Ipv4{}, Udp{}, len - 28);
}

TEST_F(Length, Range) {
    std::string text = input_chain({"-m length --length 100:200 -j DROP", "-m length --length 40 -j DROP"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, udp_of_ip_length(99), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, udp_of_ip_length(100), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, udp_of_ip_length(200), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, udp_of_ip_length(201), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, udp_of_ip_length(40), "DROP", "INPUT", 2);
}

TEST_F(Length, OpenRangesAndNegation) {
    std::string text =
        input_chain({"-m length --length 1000: -j DROP", "-m length ! --length :50 -j ACCEPT"}, "DROP");
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, udp_of_ip_length(1400), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, udp_of_ip_length(51), "ACCEPT", "INPUT", 2);
    EXPECT_VERDICT(rs, udp_of_ip_length(50), "DROP", "INPUT", 0);
}

TEST_F(Length, EthernetPaddingIsNotCounted) {
    std::string text = input_chain({"-m length --length 28 -j DROP"});
    REQUIRE_PARSER(text);
    // a 28-byte datagram padded to the 60-byte Ethernet minimum
    EXPECT_VERDICT(text, frame(Ipv4{.tot_len = 28}, Udp{}, 18), "DROP", "INPUT", 1);
}

}  // namespace
}  // namespace bpftables::test
