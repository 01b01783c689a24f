// -m pkttype --pkt-type unicast|broadcast|multicast, from the Ethernet destination (XDP) or the skb's
// pkt_type (TC). BPF_PROG_TEST_RUN runs TC programs on the loopback device, whose address is
// 00:00:00:00:00:00: the kernel marks a unicast frame to any other address PACKET_OTHERHOST, so unicast
// frames here are sent to 00:00:00:00:00:00.
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::Eth;
using loader::frame;
using loader::ip;
using loader::Ipv4;
using loader::Udp;

class PktType : public RuntimeTest {};

std::vector<uint8_t> to_mac(loader::Mac dst, const char* daddr = "198.18.0.2") {
    return frame(Eth{.dst = dst}, Ipv4{.dst = ip(daddr)}, Udp{});
}

const loader::Mac unicast = {0, 0, 0, 0, 0, 0};
const loader::Mac multicast = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
const loader::Mac broadcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

TEST_F(PktType, UnicastAndMulticast) {
    std::string text =
        input_chain({"-m pkttype --pkt-type unicast -j ACCEPT", "-m pkttype --pkt-type multicast -j DROP"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, to_mac(unicast), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, to_mac(multicast, "224.0.0.251"), "DROP", "INPUT", 2);
}

TEST_F(PktType, Broadcast) {
    // at TC the kernel compares with the device's broadcast address, which the loopback device of
    // BPF_PROG_TEST_RUN does not have: only XDP can be checked here
    std::string text =
        input_chain({"-m pkttype --pkt-type broadcast -j DROP", "-m pkttype --pkt-type multicast -j ACCEPT"});
    REQUIRE_PARSER(text);
    EXPECT_VERDICT_ON(ruleset(text), Hook::xdp, to_mac(broadcast, "255.255.255.255"), "DROP", "INPUT", 1);
}

TEST_F(PktType, Negated) {
    std::string text = input_chain({"-m pkttype ! --pkt-type unicast -j DROP"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, to_mac(unicast), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, to_mac(multicast, "224.0.0.251"), "DROP", "INPUT", 1);
}

// A captured frame carries the real interface's address, which the loopback device of BPF_PROG_TEST_RUN marks
// PACKET_OTHERHOST: under the test run it is taken as addressed to the host (bpftables run --pcap of a
// capture, and OUTPUT at tc-egress, where a locally generated packet is PACKET_HOST). Found by the compat
// suite's output mode (-m pkttype --pkt-type unicast in OUTPUT).
TEST_F(PktType, CapturedUnicastAtTc) {
    const loader::Mac real = {0x02, 0x00, 0x00, 0xc6, 0x13, 0x02};
    std::string text =
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A INPUT -m pkttype --pkt-type unicast -j DROP\n"
        "-A OUTPUT -m pkttype --pkt-type unicast -j DROP\nCOMMIT\n";
    REQUIRE_PARSER(text);
    EXPECT_VERDICT(ruleset(text), to_mac(real), "DROP", "INPUT", 1);
    EXPECT_VERDICT_ON(ruleset(text, {.chain = BPFT_CHAIN_OUTPUT}), Hook::tc_egress, to_mac(real), "DROP",
                      "OUTPUT", 1);
}

}  // namespace
}  // namespace bpftables::test
