// -m udp: ports and ranges, negation; a header shorter than 8 bytes is dropped (hotdrop); later fragments
// never match.
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::Ipv4;
using loader::RawL4;
using loader::Udp;

class UdpMatch : public RuntimeTest {};

std::vector<uint8_t> udp(uint16_t sport, uint16_t dport) {
    return frame(Ipv4{}, Udp{.sport = sport, .dport = dport});
}

TEST_F(UdpMatch, Ports) {
    Ruleset& rs =
        ruleset(input_chain({"-p udp -m udp --dport 53 -j ACCEPT", "-p udp -m udp --sport 123 -j DROP",
                             "-p udp -m udp --sport 67 --dport 68 -j ACCEPT"},
                            "DROP"));
    EXPECT_VERDICT(rs, udp(40000, 53), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, udp(123, 123), "DROP", "INPUT", 2);
    EXPECT_VERDICT(rs, udp(67, 68), "ACCEPT", "INPUT", 3);
    EXPECT_VERDICT(rs, udp(68, 67), "DROP", "INPUT", 0);
    // a TCP segment to port 53 is not a UDP datagram
    EXPECT_VERDICT(rs, frame(Ipv4{}, loader::Tcp{.dport = 53}), "DROP", "INPUT", 0);
}

TEST_F(UdpMatch, RangesAndNegation) {
    Ruleset& rs = ruleset(input_chain({"-p udp -m udp --dport 33434:33534 -j DROP",
                                       "-p udp -m udp ! --sport 1024: -j DROP", "-p udp -j ACCEPT"}));
    EXPECT_VERDICT(rs, udp(40000, 33434), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, udp(40000, 33534), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, udp(40000, 33535), "ACCEPT", "INPUT", 3);
    EXPECT_VERDICT(rs, udp(1023, 53), "DROP", "INPUT", 2);
    EXPECT_VERDICT(rs, udp(0, 53), "DROP", "INPUT", 2);
    EXPECT_VERDICT(rs, udp(1024, 53), "ACCEPT", "INPUT", 3);
}

TEST_F(UdpMatch, TruncatedHeaderIsHotdropped) {
    Ruleset& rs = ruleset(input_chain({"-p udp -m udp --dport 53 -j ACCEPT", "-j ACCEPT"}));
    EXPECT_VERDICT(rs, frame(Ipv4{.proto = 17}, RawL4{{0x9c, 0x40, 0, 53, 0, 8, 0}}), "HOTDROP", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{.proto = 17}, RawL4{{}}), "HOTDROP", "INPUT", 1);
    // exactly 8 bytes is a whole header
    EXPECT_VERDICT(rs, frame(Ipv4{.proto = 17}, RawL4{{0x9c, 0x40, 0, 53, 0, 8, 0, 0}}), "ACCEPT", "INPUT",
                   1);
}

// nf_tables' payload expressions do not match a header cut short (no hotdrop): from an nft ruleset the
// program hands such a packet to the kernel's copy (ir::ShortHeaders::kernel), at the rule that would read
// the header.
TEST_F(UdpMatch, TruncatedHeaderOfAnNftRulesetIsTheKernels) {
    Ruleset& rs = ruleset(
        "table ip filter {\n  chain input {\n    type filter hook input priority 0; policy accept;\n"
        "    ip protocol icmp drop\n    udp dport 53 drop\n  }\n}\n");
    EXPECT_VERDICT(rs, frame(Ipv4{.proto = 17}, RawL4{{0x9c, 0x40, 0, 53, 0, 8, 0}}), "KERNEL", "input", 2);
    EXPECT_VERDICT(rs, frame(Ipv4{.proto = 17}, RawL4{{}}), "KERNEL", "input", 2);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Udp{.dport = 53}), "DROP", "input", 2);
}

// No rule sees a fragment alone (the kernel reassembles before INPUT): every fragment, first or later, is
// handed to the kernel before any rule.
TEST_F(UdpMatch, FragmentsAreHandedToTheKernel) {
    Ruleset& rs =
        ruleset(input_chain({"-p udp -m udp --dport 53 -j DROP", "-p udp -m udp ! --dport 53 -j DROP"}));
    std::vector<uint8_t> payload = {0x9c, 0x40, 0, 53, 0, 16, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
    EXPECT_VERDICT(rs, frame(Ipv4{.frag_off = 100, .proto = 17}, RawL4{payload}), "KERNEL", "INPUT", -1);
    EXPECT_VERDICT(rs, frame(Ipv4{.frag_off = 100, .proto = 17}, RawL4{{1}}), "KERNEL", "INPUT", -1);
    EXPECT_VERDICT(rs, frame(Ipv4{.frag_off = 0x2000}, Udp{.dport = 53}, 100), "KERNEL", "INPUT", -1);
}

}  // namespace
}  // namespace bpftables::test
