// -m multiport: --dports, --sports, --ports (either), ranges, negation; a header shorter than the 4 port
// bytes is dropped (hotdrop); later fragments never match.
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::Ipv4;
using loader::RawL4;
using loader::Tcp;
using loader::Udp;

class Multiport : public RuntimeTest {};

std::vector<uint8_t> tcp(uint16_t sport, uint16_t dport) {
    return frame(Ipv4{}, Tcp{.sport = sport, .dport = dport});
}

TEST_F(Multiport, DestinationPortsAndRanges) {
    std::string text = input_chain({"-p tcp -m multiport --dports 22,80,8000:8080 -j ACCEPT"}, "DROP");
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, tcp(1, 22), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, tcp(1, 80), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, tcp(1, 8000), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, tcp(1, 8080), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, tcp(1, 8081), "DROP", "INPUT", 0);
    EXPECT_VERDICT(rs, tcp(1, 23), "DROP", "INPUT", 0);
    EXPECT_VERDICT(rs, tcp(22, 1), "DROP", "INPUT", 0);
}

TEST_F(Multiport, SourcePorts) {
    std::string text = input_chain({"-p udp -m multiport --sports 53,123 -j ACCEPT"}, "DROP");
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Udp{.sport = 123, .dport = 1}), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Udp{.sport = 1, .dport = 53}), "DROP", "INPUT", 0);
}

TEST_F(Multiport, EitherPort) {
    std::string text = input_chain({"-p tcp -m multiport --ports 25,587 -j ACCEPT"}, "DROP");
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, tcp(25, 40000), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, tcp(40000, 587), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, tcp(40000, 40001), "DROP", "INPUT", 0);
}

TEST_F(Multiport, Negated) {
    std::string text = input_chain({"-p tcp -m multiport ! --dports 22,443 -j DROP"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, tcp(1, 80), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, tcp(1, 443), "ACCEPT", "INPUT", 0);
}

TEST_F(Multiport, TruncatedPortsAreHotdropped) {
    // multiport reads only the 4 port bytes
    std::string text = input_chain({"-p tcp -m multiport --dports 80 -j ACCEPT", "-j ACCEPT"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, frame(Ipv4{.proto = 6}, RawL4{{0, 1, 0}}), "HOTDROP", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{.proto = 6}, RawL4{{0, 1, 0, 80}}), "ACCEPT", "INPUT", 1);
}

// No rule sees a fragment alone (the kernel reassembles before INPUT): handed to the kernel before any rule.
TEST_F(Multiport, FragmentsAreHandedToTheKernel) {
    std::string text =
        input_chain({"-p tcp -m multiport --dports 80 -j DROP", "-p tcp -m multiport ! --dports 80 -j DROP"});
    REQUIRE_PARSER(text);
    EXPECT_VERDICT(text, frame(Ipv4{.frag_off = 50, .proto = 6}, RawL4{{0, 1, 0, 80, 0, 0, 0, 0}}), "KERNEL",
                   "INPUT", -1);
}

}  // namespace
}  // namespace bpftables::test
