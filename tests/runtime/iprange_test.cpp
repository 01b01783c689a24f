// -m iprange: --src-range / --dst-range, inclusive bounds, negation.
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::ip;
using loader::Ipv4;
using loader::Tcp;

class IpRange : public RuntimeTest {};

std::vector<uint8_t> from(const char* src, const char* dst = "198.18.0.2") {
    return frame(Ipv4{.src = ip(src), .dst = ip(dst)}, Tcp{});
}

TEST_F(IpRange, SourceRange) {
    std::string text = input_chain({"-m iprange --src-range 192.0.2.10-192.0.3.20 -j DROP"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, from("192.0.2.9"), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, from("192.0.2.10"), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, from("192.0.2.255"), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, from("192.0.3.20"), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, from("192.0.3.21"), "ACCEPT", "INPUT", 0);
}

TEST_F(IpRange, DestinationRangeAndBoth) {
    std::string text =
        input_chain({"-m iprange --src-range 10.0.0.1-10.0.0.5 --dst-range 198.18.0.1-198.18.0.2 -j DROP",
                     "-m iprange --dst-range 198.18.0.3-198.18.0.3 -j DROP"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, from("10.0.0.3", "198.18.0.2"), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, from("10.0.0.6", "198.18.0.2"), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, from("10.0.0.3", "198.18.0.3"), "DROP", "INPUT", 2);
}

TEST_F(IpRange, Negated) {
    std::string text = input_chain({"-m iprange ! --src-range 10.0.0.0-10.255.255.255 -j DROP"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, from("10.1.2.3"), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, from("9.255.255.255"), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, from("11.0.0.0"), "DROP", "INPUT", 1);
}

TEST_F(IpRange, WholeAddressSpace) {
    std::string text = input_chain({"-m iprange --src-range 0.0.0.0-255.255.255.255 -j DROP"});
    REQUIRE_PARSER(text);
    EXPECT_VERDICT(text, from("255.255.255.255"), "DROP", "INPUT", 1);
    EXPECT_VERDICT(text, from("0.0.0.0"), "DROP", "INPUT", 1);
}

}  // namespace
}  // namespace bpftables::test
