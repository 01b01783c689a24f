// -m icmp --icmp-type: type, type/code, names, "any", negation; xt_icmp drops a header shorter than 8 bytes
// and never matches a later fragment.
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::Icmp;
using loader::Ipv4;
using loader::RawL4;

class IcmpMatch : public RuntimeTest {};

std::vector<uint8_t> icmp(uint8_t type, uint8_t code = 0) {
    return frame(Ipv4{}, Icmp{.type = type, .code = code});
}

TEST_F(IcmpMatch, TypeAndCode) {
    std::string text = input_chain({"-p icmp -m icmp --icmp-type 8 -j ACCEPT",
                                    "-p icmp -m icmp --icmp-type 3/4 -j ACCEPT", "-p icmp -j DROP"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, icmp(8), "ACCEPT", "INPUT", 1);
    // a type alone matches every code
    EXPECT_VERDICT(rs, icmp(8, 7), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, icmp(3, 4), "ACCEPT", "INPUT", 2);
    EXPECT_VERDICT(rs, icmp(3, 3), "DROP", "INPUT", 3);
    EXPECT_VERDICT(rs, icmp(0), "DROP", "INPUT", 3);
}

TEST_F(IcmpMatch, Names) {
    std::string text = input_chain({"-p icmp -m icmp --icmp-type echo-reply -j ACCEPT",
                                    "-p icmp -m icmp --icmp-type port-unreachable -j ACCEPT",
                                    "-p icmp -m icmp --icmp-type time-exceeded -j ACCEPT"},
                                   "DROP");
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, icmp(0), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, icmp(3, 3), "ACCEPT", "INPUT", 2);
    EXPECT_VERDICT(rs, icmp(3, 1), "DROP", "INPUT", 0);
    EXPECT_VERDICT(rs, icmp(11, 0), "ACCEPT", "INPUT", 3);
    EXPECT_VERDICT(rs, icmp(11, 1), "ACCEPT", "INPUT", 3);
}

TEST_F(IcmpMatch, Negated) {
    std::string text = input_chain({"-p icmp -m icmp ! --icmp-type 8 -j DROP", "-p icmp -j ACCEPT"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, icmp(0), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, icmp(8, 3), "ACCEPT", "INPUT", 2);
}

TEST_F(IcmpMatch, Any) {
    std::string text = input_chain({"-p icmp -m icmp --icmp-type any -j DROP"});
    REQUIRE_PARSER(text);
    EXPECT_VERDICT(text, icmp(42, 42), "DROP", "INPUT", 1);
}

TEST_F(IcmpMatch, NegatedAnyNeverMatches) {
    // xt_icmp: (type == 0xff || ...) ^ invert: "! --icmp-type any" matches nothing
    std::string text = input_chain({"-p icmp -m icmp ! --icmp-type any -j DROP"});
    REQUIRE_PARSER(text);
    EXPECT_VERDICT(text, icmp(8), "ACCEPT", "INPUT", 0);
}

TEST_F(IcmpMatch, TruncatedHeaderIsHotdropped) {
    std::string text = input_chain({"-p icmp -m icmp --icmp-type any -j ACCEPT", "-j ACCEPT"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, frame(Ipv4{.proto = 1}, RawL4{{8, 0, 0, 0, 0, 1, 0}}), "HOTDROP", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{.proto = 1}, RawL4{{8, 0, 0, 0, 0, 1, 0, 1}}), "ACCEPT", "INPUT", 1);
}

// No rule sees a fragment alone (the kernel reassembles before INPUT): handed to the kernel before any rule.
TEST_F(IcmpMatch, FragmentsAreHandedToTheKernel) {
    std::string text =
        input_chain({"-p icmp -m icmp --icmp-type 8 -j DROP", "-p icmp -m icmp ! --icmp-type 8 -j DROP"});
    REQUIRE_PARSER(text);
    std::vector<uint8_t> f = frame(Ipv4{.frag_off = 10, .proto = 1}, RawL4{{8, 0, 0, 0, 0, 1, 0, 1}});
    EXPECT_VERDICT(text, f, "KERNEL", "INPUT", -1);
}

}  // namespace
}  // namespace bpftables::test
