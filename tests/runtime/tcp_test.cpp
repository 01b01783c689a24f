// -m tcp: ports and ranges, negation, --tcp-flags, --syn, --tcp-option; what xt_tcp does with a header it
// cannot read (hotdrop) and with later fragments (never a match; offset 1 is dropped).
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::Ipv4;
using loader::RawL4;
using loader::Tcp;

class TcpMatch : public RuntimeTest {};

constexpr uint8_t FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20;

std::vector<uint8_t> tcp(uint16_t sport, uint16_t dport, uint8_t flags = SYN) {
    return frame(Ipv4{}, Tcp{.sport = sport, .dport = dport, .flags = flags});
}

// A TCP header of 20 bytes with the given data offset (in 32-bit words), and `extra` bytes after it.
std::vector<uint8_t> tcp_with_doff(uint8_t doff, std::vector<uint8_t> extra = {}) {
    std::vector<uint8_t> h = {0x9c, 0x40, 0,    80, 0, 0, 0, 1, 0, 0, 0, 0, static_cast<uint8_t>(doff << 4),
                              SYN,  0xff, 0xff, 0,  0, 0, 0};
    h.insert(h.end(), extra.begin(), extra.end());
    return frame(Ipv4{.proto = 6}, RawL4{h});
}

TEST_F(TcpMatch, DestinationPort) {
    Ruleset& rs =
        ruleset(input_chain({"-p tcp -m tcp --dport 22 -j ACCEPT", "-p tcp -m tcp --dport 80 -j DROP"}));
    EXPECT_VERDICT(rs, tcp(40000, 22), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, tcp(40000, 80), "DROP", "INPUT", 2);
    EXPECT_VERDICT(rs, tcp(80, 443), "ACCEPT", "INPUT", 0);
    // a UDP packet to port 22 is not a TCP one
    EXPECT_VERDICT(rs, frame(Ipv4{}, loader::Udp{.dport = 22}), "ACCEPT", "INPUT", 0);
}

TEST_F(TcpMatch, SourcePortAndBoth) {
    Ruleset& rs = ruleset(input_chain(
        {"-p tcp -m tcp --sport 53 --dport 1053 -j DROP", "-p tcp -m tcp --sport 53 -j ACCEPT"}, "DROP"));
    EXPECT_VERDICT(rs, tcp(53, 1053), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, tcp(53, 1054), "ACCEPT", "INPUT", 2);
    EXPECT_VERDICT(rs, tcp(1053, 53), "DROP", "INPUT", 0);
}

TEST_F(TcpMatch, Ranges) {
    Ruleset& r =
        ruleset(input_chain({"-p tcp -m tcp --dport 1000:2000 -j ACCEPT",
                             "-p tcp -m tcp --dport :99 -j ACCEPT", "-p tcp -m tcp --sport 60000: -j ACCEPT"},
                            "DROP"));
    EXPECT_VERDICT(r, tcp(1, 999), "DROP", "INPUT", 0);
    EXPECT_VERDICT(r, tcp(1, 1000), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(r, tcp(1, 2000), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(r, tcp(1, 2001), "DROP", "INPUT", 0);
    EXPECT_VERDICT(r, tcp(1, 0), "ACCEPT", "INPUT", 2);
    EXPECT_VERDICT(r, tcp(1, 99), "ACCEPT", "INPUT", 2);
    EXPECT_VERDICT(r, tcp(1, 100), "DROP", "INPUT", 0);
    EXPECT_VERDICT(r, tcp(60000, 100), "ACCEPT", "INPUT", 3);
    EXPECT_VERDICT(r, tcp(65535, 100), "ACCEPT", "INPUT", 3);
    EXPECT_VERDICT(r, tcp(59999, 100), "DROP", "INPUT", 0);
}

TEST_F(TcpMatch, NegatedPorts) {
    Ruleset& rs = ruleset(input_chain(
        {"-p tcp -m tcp ! --dport 22 -j DROP", "-p tcp -m tcp ! --sport 1:1023 -j ACCEPT"}, "DROP"));
    EXPECT_VERDICT(rs, tcp(40000, 23), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, tcp(40000, 22), "ACCEPT", "INPUT", 2);
    EXPECT_VERDICT(rs, tcp(0, 22), "ACCEPT", "INPUT", 2);
    EXPECT_VERDICT(rs, tcp(1023, 22), "DROP", "INPUT", 0);
}

TEST_F(TcpMatch, Flags) {
    Ruleset& rs = ruleset(input_chain({"-p tcp -m tcp --tcp-flags FIN,SYN,RST,PSH,ACK,URG NONE -j DROP",
                                       "-p tcp -m tcp --tcp-flags SYN,RST SYN,RST -j DROP",
                                       "-p tcp -m tcp ! --tcp-flags ACK,FIN FIN -j ACCEPT"},
                                      "DROP"));
    EXPECT_VERDICT(rs, tcp(1, 2, 0), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, tcp(1, 2, SYN | RST), "DROP", "INPUT", 2);
    EXPECT_VERDICT(rs, tcp(1, 2, SYN | RST | ACK), "DROP", "INPUT", 2);
    // rule 3 matches unless FIN is set without ACK
    EXPECT_VERDICT(rs, tcp(1, 2, SYN), "ACCEPT", "INPUT", 3);
    EXPECT_VERDICT(rs, tcp(1, 2, FIN | ACK), "ACCEPT", "INPUT", 3);
    EXPECT_VERDICT(rs, tcp(1, 2, FIN), "DROP", "INPUT", 0);
    EXPECT_VERDICT(rs, tcp(1, 2, FIN | PSH | URG), "DROP", "INPUT", 0);
}

TEST_F(TcpMatch, Syn) {
    // --syn is --tcp-flags FIN,SYN,RST,ACK SYN
    Ruleset& rs = ruleset(input_chain({"-p tcp -m tcp --syn -j ACCEPT", "-p tcp -m tcp ! --syn -j DROP"}));
    EXPECT_VERDICT(rs, tcp(1, 2, SYN), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, tcp(1, 2, SYN | PSH | URG), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, tcp(1, 2, SYN | ACK), "DROP", "INPUT", 2);
    EXPECT_VERDICT(rs, tcp(1, 2, SYN | FIN), "DROP", "INPUT", 2);
    EXPECT_VERDICT(rs, tcp(1, 2, ACK), "DROP", "INPUT", 2);
}

TEST_F(TcpMatch, Option) {
    Ruleset& rs = ruleset(
        input_chain({"-p tcp -m tcp --tcp-option 8 -j ACCEPT", "-p tcp -m tcp ! --tcp-option 2 -j DROP"}));
    std::vector<uint8_t> mss = {2, 4, 0x05, 0xb4};
    std::vector<uint8_t> nop_nop_ts = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0};
    std::vector<uint8_t> mss_ts = {2, 4, 0x05, 0xb4, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0};
    EXPECT_VERDICT(rs, frame(Ipv4{}, Tcp{.options = nop_nop_ts}), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Tcp{.options = mss_ts}), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Tcp{.options = mss}), "ACCEPT", "INPUT", 0);
    // without options: no timestamp, no MSS
    EXPECT_VERDICT(rs, frame(Ipv4{}, Tcp{}), "DROP", "INPUT", 2);
    // the kind byte inside another option's data is not an option: the walk skips by length
    std::vector<uint8_t> hidden = {3, 3, 8, 0};  // window scale 8
    EXPECT_VERDICT(rs, frame(Ipv4{}, Tcp{.options = hidden}), "DROP", "INPUT", 2);
    // after end-of-list (kind 0) xt_tcp keeps walking byte by byte, as it does after a NOP
    std::vector<uint8_t> after_eol = {0, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    EXPECT_VERDICT(rs, frame(Ipv4{}, Tcp{.options = after_eol}), "ACCEPT", "INPUT", 1);
}

TEST_F(TcpMatch, OptionHighKind) {
    Ruleset& rs = ruleset(input_chain({"-p tcp -m tcp --tcp-option 254 -j ACCEPT"}, "DROP"));
    EXPECT_VERDICT(rs, frame(Ipv4{}, Tcp{.options = {254, 4, 0xf9, 0x89}}), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Tcp{.options = {253, 4, 0xf9, 0x89}}), "DROP", "INPUT", 0);
}

TEST_F(TcpMatch, OptionWithBadDataOffsetIsHotdropped) {
    Ruleset& rs = ruleset(input_chain({"-p tcp -m tcp --dport 80 --tcp-option 2 -j ACCEPT", "-j ACCEPT"}));
    // doff 4 (16 bytes): shorter than the header itself
    EXPECT_VERDICT(rs, tcp_with_doff(4), "HOTDROP", "INPUT", 1);
    // doff 15 (60 bytes) in a 24-byte segment: the options cannot be read
    EXPECT_VERDICT(rs, tcp_with_doff(15, {2, 4, 5, 0xb4}), "HOTDROP", "INPUT", 1);
    // the ports are compared first: a packet for another port is not dropped by this rule
    std::vector<uint8_t> other = tcp_with_doff(4);
    other[14 + 20 + 3] = 81;
    // (the TCP checksum is not looked at by netfilter's filter table)
    EXPECT_VERDICT(rs, other, "ACCEPT", "INPUT", 2);
}

TEST_F(TcpMatch, BadDataOffsetWithoutOptionMatchIsFine) {
    // xt_tcp reads only the fixed header unless --tcp-option is given
    Ruleset& rs = ruleset(input_chain({"-p tcp -m tcp --dport 80 -j DROP"}));
    EXPECT_VERDICT(rs, tcp_with_doff(4), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, tcp_with_doff(15, {1, 1, 1, 1}), "DROP", "INPUT", 1);
}

TEST_F(TcpMatch, TruncatedHeaderIsHotdropped) {
    Ruleset& rs =
        ruleset(input_chain({"-p udp -j ACCEPT", "-p tcp -m tcp --dport 80 -j ACCEPT", "-j ACCEPT"}));
    std::vector<uint8_t> ten(10, 0);
    ten[3] = 80;
    EXPECT_VERDICT(rs, frame(Ipv4{.proto = 6}, RawL4{ten}), "HOTDROP", "INPUT", 2);
    EXPECT_VERDICT(rs, frame(Ipv4{.proto = 6}, RawL4{{}}), "HOTDROP", "INPUT", 2);
    // 19 bytes: still short of the 20-byte header
    std::vector<uint8_t> nineteen(19, 0);
    EXPECT_VERDICT(rs, frame(Ipv4{.proto = 6}, RawL4{nineteen}), "HOTDROP", "INPUT", 2);
}

TEST_F(TcpMatch, TruncatedHeaderIsMeasuredByTheIpTotalLength) {
    // bytes after the IP total length (Ethernet padding) are not part of the segment
    Ruleset& rs = ruleset(input_chain({"-p tcp -m tcp --dport 80 -j ACCEPT", "-j ACCEPT"}));
    std::vector<uint8_t> f = frame(Ipv4{.tot_len = 20 + 12}, Tcp{.dport = 80});
    EXPECT_VERDICT(rs, f, "HOTDROP", "INPUT", 1);
}

TEST_F(TcpMatch, ProtocolWithoutTcpMatchDoesNotReadTheHeader) {
    Ruleset& rs = ruleset(input_chain({"-p tcp -j DROP"}));
    EXPECT_VERDICT(rs, frame(Ipv4{.proto = 6}, RawL4{{1, 2, 3}}), "DROP", "INPUT", 1);
}

// The kernel reassembles before INPUT (ip_local_deliver, or nf_defrag_ipv4 in PREROUTING with conntrack), so
// no rule sees a fragment alone: bpftables hands every fragment to the kernel before any rule, including
// the offset-1 fragment xt_tcp would drop if it ever saw one.
TEST_F(TcpMatch, FragmentsAreHandedToTheKernel) {
    Ruleset& rs = ruleset(input_chain(
        {"-p tcp -m tcp --dport 80 -j DROP", "-p tcp -m tcp ! --dport 80 -j DROP", "-p tcp -j ACCEPT"}));
    std::vector<uint8_t> payload(24, 0);
    payload[3] = 80;
    EXPECT_VERDICT(rs, frame(Ipv4{.frag_off = 185, .proto = 6}, RawL4{payload}), "KERNEL", "INPUT", -1);
    EXPECT_VERDICT(rs, frame(Ipv4{.frag_off = 2, .proto = 6}, RawL4{{1, 2}}), "KERNEL", "INPUT", -1);
    EXPECT_VERDICT(rs, frame(Ipv4{.frag_off = 1, .proto = 6}, RawL4{std::vector<uint8_t>(16, 0)}), "KERNEL",
                   "INPUT", -1);
    // the first fragment (MF set, offset 0) too
    EXPECT_VERDICT(rs, frame(Ipv4{.frag_off = 0x2000}, Tcp{.dport = 80}, 16), "KERNEL", "INPUT", -1);
}

}  // namespace
}  // namespace bpftables::test
