// IPv6 programs (ip6tables rulesets, read with -6): the IPv6 header and the walk of its extension headers in
// bpft_parse, and the matches that read them: -s/-d (prefixes, any mask, negation), -p and ports after the
// extension headers, icmp6, hl, ipv6header, frag/hbh/dst/rt/ah (no match without their header), mh, iprange,
// conntrack with IPv6 tuples (neighbour discovery UNTRACKED, as nf_conntrack_icmpv6_error makes it).
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::ExtHdr;
using loader::frame;
using loader::Icmp;
using loader::ip6;
using loader::Ipv4;
using loader::Ipv6;
using loader::RawL4;
using loader::Tcp;
using loader::Udp;

class Ip6 : public RuntimeTest {};

constexpr uint8_t kRouting = 43, kFragment = 44, kAuth = 51, kDstOpts = 60, kHopByHop = 0;

Ruleset& rules6(const std::vector<std::string>& rules, const std::string& policy = "ACCEPT") {
    return ruleset(input_chain(rules, policy), {.family = ir::Family::ipv6});
}

std::vector<uint8_t> from(const std::string& src, const loader::L4& l4 = Tcp{}) {
    return frame(Ipv6{.src = ip6(src)}, l4);
}

TEST_F(Ip6, Addresses) {
    Ruleset& rs = rules6({"-s 2001:db8:1::/48 -j DROP", "-d 2001:db8::2/128 -s 2001:db8:2::1 -j ACCEPT",
                          "-s 2001:db8::/ffff:ffff::ff -j DROP", "! -s 2001:db8::/32 -j REJECT"},
                         "ACCEPT");
    EXPECT_VERDICT(rs, from("2001:db8:1:ffff::9"), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, from("2001:db8:2::1"), "ACCEPT", "INPUT", 2);
    // a mask that is not a prefix: the last byte must be 0 as well as the first 32 bits
    EXPECT_VERDICT(rs, from("2001:db8:3::100"), "DROP", "INPUT", 3);
    EXPECT_VERDICT(rs, from("2001:db8:3::101"), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, from("2001:db9::1"), "REJECT", "INPUT", 4);
    EXPECT_VERDICT(rs, frame(Ipv6{.src = ip6("2001:db8:2::1"), .dst = ip6("2001:db8::3")}, Tcp{}), "ACCEPT",
                   "INPUT", 0);
}

TEST_F(Ip6, TheOtherFamilyIsNotIp) {
    EXPECT_VERDICT(rules6({"-j DROP"}), frame(Ipv4{}, Tcp{}), "NOT_IP", "INPUT", -1);
    EXPECT_VERDICT(ruleset(input_chain({"-j DROP"})), frame(Ipv6{}, Tcp{}), "NOT_IP", "INPUT", -1);
}

TEST_F(Ip6, ProtocolAndPortsAfterExtensionHeaders) {
    Ruleset& rs =
        rules6({"-p tcp --dport 80 -j ACCEPT", "-p udp -m multiport --dports 53,5000:5010 -j ACCEPT",
                "-p esp -j ACCEPT", "-p ipv6-nonxt -j ACCEPT", "-p tcp -j DROP"},
               "DROP");
    EXPECT_VERDICT(rs, frame(Ipv6{}, Tcp{.dport = 80}), "ACCEPT", "INPUT", 1);
    std::vector<ExtHdr> three{{kDstOpts, {1, 4, 0, 0, 0, 0}}, {kRouting, {0, 0}}, {kAuth, {}}};
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = three}, Tcp{.dport = 80}), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = three}, Tcp{.dport = 81}), "DROP", "INPUT", 5);
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = {{kDstOpts, {}}}}, Udp{.dport = 5005}), "ACCEPT", "INPUT", 2);
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = {{kAuth, std::vector<uint8_t>(10, 0)}}}, Udp{.dport = 54}), "DROP",
                   "INPUT", 0);
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = {{kRouting, {}}}, .proto = 50}, RawL4{{0, 0, 0, 1, 0, 0, 0, 1}}),
                   "ACCEPT", "INPUT", 3);
    EXPECT_VERDICT(rs, frame(Ipv6{.proto = 59}, RawL4{}), "ACCEPT", "INPUT", 4);
    // a TCP header cut short after the extension headers: iptables-legacy's hotdrop
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = {{kDstOpts, {}}}, .proto = 6}, RawL4{{0, 1, 0, 80}}), "HOTDROP",
                   "INPUT", 1);
}

TEST_F(Ip6, WhatTheKernelDecides) {
    Ruleset& rs = rules6({"-j DROP"});
    EXPECT_VERDICT(rs, frame(Ipv6{}, Tcp{}), "DROP", "INPUT", 1);
    // hop-by-hop options (processed before netfilter), fragments, a header cut short, more than 8 headers
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = {{kHopByHop, {}}}}, Tcp{}), "KERNEL", "INPUT", -1);
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = {{kDstOpts, {}}, {kHopByHop, {}}}}, Tcp{}), "KERNEL", "INPUT", -1);
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = {{kFragment, {0, 1, 0, 0, 0, 7}}}}, Tcp{}), "KERNEL", "INPUT", -1);
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = {{kFragment, {0, 8, 0, 0, 0, 7}}}}, Udp{}), "KERNEL", "INPUT", -1);
    EXPECT_VERDICT(rs,
                   frame(Ipv6{.ext = {{kDstOpts, std::vector<uint8_t>(30, 0)}}, .payload_len = 16}, Tcp{}),
                   "KERNEL", "INPUT", -1);
    EXPECT_VERDICT(rs, frame(Ipv6{.proto = kDstOpts}, RawL4{{6}}), "KERNEL", "INPUT", -1);
    std::vector<ExtHdr> eight(8, ExtHdr{kDstOpts, {}}), nine(9, ExtHdr{kDstOpts, {}});
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = eight}, Tcp{}), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = nine}, Tcp{}), "KERNEL", "INPUT", -1);
    // a payload length beyond the frame, a multicast source, the loopback address
    EXPECT_VERDICT(rs, frame(Ipv6{.payload_len = 200}, Tcp{}), "KERNEL", "INPUT", -1);
    EXPECT_VERDICT(rs, from("ff02::1"), "KERNEL", "INPUT", -1);
    EXPECT_VERDICT(rs, frame(Ipv6{.dst = ip6("::1")}, Tcp{}), "KERNEL", "INPUT", -1);
    // an IPv4-mapped source, a unicast packet in a broadcast frame
    EXPECT_VERDICT(rs, from("::ffff:198.18.0.1"), "KERNEL", "INPUT", -1);
    loader::Eth broadcast;
    broadcast.dst = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    EXPECT_VERDICT(rs, frame(broadcast, Ipv6{}, Tcp{}), "KERNEL", "INPUT", -1);
}

TEST_F(Ip6, Icmpv6TypesAndCodes) {
    Ruleset& rs = rules6(
        {"-p ipv6-icmp --icmpv6-type echo-request -j ACCEPT", "-p ipv6-icmp --icmpv6-type 1/4 -j ACCEPT",
         "-p ipv6-icmp --icmpv6-type destination-unreachable -j DROP",
         "-p ipv6-icmp ! --icmpv6-type neighbour-solicitation -j REJECT --reject-with icmp6-adm-prohibited"},
        "ACCEPT");
    EXPECT_VERDICT(rs, frame(Ipv6{}, Icmp{.type = 128}), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv6{}, Icmp{.type = 1, .code = 4}), "ACCEPT", "INPUT", 2);
    EXPECT_VERDICT(rs, frame(Ipv6{}, Icmp{.type = 1, .code = 3}), "DROP", "INPUT", 3);
    EXPECT_VERDICT(rs, frame(Ipv6{}, Icmp{.type = 135}), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, frame(Ipv6{}, Icmp{.type = 129}), "REJECT", "INPUT", 4);
    // the ICMPv6 header is 8 bytes: shorter is a hotdrop
    EXPECT_VERDICT(rs, frame(Ipv6{.proto = 58}, RawL4{{128, 0, 0, 0}}), "HOTDROP", "INPUT", 1);
}

TEST_F(Ip6, HopLimit) {
    Ruleset& rs = rules6({"-m hl --hl-eq 64 -j ACCEPT", "-m hl --hl-lt 2 -j DROP",
                          "-m hl --hl-gt 250 -j DROP", "-m hl ! --hl-eq 100 -j ACCEPT"},
                         "DROP");
    auto hl = [](uint8_t h) { return frame(Ipv6{.hop_limit = h}, Tcp{}); };
    EXPECT_VERDICT(rs, hl(64), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, hl(1), "DROP", "INPUT", 2);
    EXPECT_VERDICT(rs, hl(255), "DROP", "INPUT", 3);
    EXPECT_VERDICT(rs, hl(7), "ACCEPT", "INPUT", 4);
    EXPECT_VERDICT(rs, hl(100), "DROP", "INPUT", 0);
    // ip6_forward decrements the hop limit before FORWARD, and never forwards hop limit <= 1
    std::string fwd_text =
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A FORWARD -m hl --hl-eq 64 -j ACCEPT\nCOMMIT\n";
    Ruleset& fwd = ruleset(fwd_text, {.chain = BPFT_CHAIN_FORWARD, .family = ir::Family::ipv6});
    EXPECT_VERDICT(fwd, hl(65), "ACCEPT", "FORWARD", 1);
    EXPECT_VERDICT(fwd, hl(64), "DROP", "FORWARD", 0);
    EXPECT_VERDICT(fwd, hl(1), "KERNEL", "FORWARD", -1);
}

TEST_F(Ip6, Ipv6header) {
    Ruleset& rs =
        rules6({"-m ipv6header --header dst,route,prot -j ACCEPT",
                "-m ipv6header --soft --header auth -j DROP", "-m ipv6header --header esp -j ACCEPT",
                "-m ipv6header --soft ! --header dst -j REJECT", "-m ipv6header --header prot -j DROP"},
               "ACCEPT");
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = {{kDstOpts, {}}, {kRouting, {}}}}, Tcp{}), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = {{kRouting, {}}, {kDstOpts, {}}}}, Udp{}), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = {{kRouting, {}}, {kAuth, {}}}}, Udp{}), "DROP", "INPUT", 2);
    EXPECT_VERDICT(rs, frame(Ipv6{.proto = 50}, RawL4{{0, 0, 0, 1, 0, 0, 0, 1}}), "ACCEPT", "INPUT", 3);
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = {{kRouting, {}}}}, Udp{}), "REJECT", "INPUT", 4);
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = {{kDstOpts, {}}}}, Udp{}), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, frame(Ipv6{}, Udp{}), "REJECT", "INPUT", 4);
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = {{kDstOpts, {}}}, .proto = 59}, RawL4{}), "ACCEPT", "INPUT", 0);
}

TEST_F(Ip6, HeadersTheRuleLooksUp) {
    Ruleset& rs = rules6(
        {"-m frag --fragid 0:100 -j DROP", "-m hbh ! --hbh-len 8 -j DROP", "-m dst --dst-len 0 -j DROP",
         "-m rt --rt-segsleft 0 -j DROP", "-m ah --ahspi 1 -j DROP", "-j ACCEPT"},
        "DROP");
    // without the header none of them matches, inverted or not
    EXPECT_VERDICT(rs, frame(Ipv6{}, Tcp{}), "ACCEPT", "INPUT", 6);
    // with it, the kernel reads the header's fields
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = {{kDstOpts, {}}}}, Tcp{}), "KERNEL", "INPUT", 3);
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = {{kRouting, {}}}}, Tcp{}), "KERNEL", "INPUT", 4);
    EXPECT_VERDICT(rs, frame(Ipv6{.ext = {{kAuth, {}}}}, Tcp{}), "KERNEL", "INPUT", 5);
}

TEST_F(Ip6, MobilityHeader) {
    Ruleset& rs = rules6(
        {"-p ipv6-mh -m mh --mh-type binding-update -j DROP", "-p ipv6-mh -m mh ! --mh-type 1:4 -j REJECT"},
        "ACCEPT");
    auto mh = [](uint8_t proto, uint8_t type) {
        return frame(Ipv6{.proto = 135}, RawL4{{proto, 0, type, 0, 0, 0, 0, 0}});
    };
    EXPECT_VERDICT(rs, mh(59, 5), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, mh(59, 3), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, mh(59, 9), "REJECT", "INPUT", 2);
    EXPECT_VERDICT(rs, mh(6, 5), "HOTDROP", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv6{.proto = 135}, RawL4{{59, 0, 5, 0}}), "HOTDROP", "INPUT", 1);
}

TEST_F(Ip6, InterfacesTrafficClassAndRanges) {
    std::string text = input_chain({"-i veth+ -m tos --tos 0x20/0xfc -j DROP",
                                    "-m iprange --src-range 2001:db8::10-2001:db8::1:0 -j ACCEPT",
                                    "-m iprange ! --dst-range 2001:db8::1-2001:db8::2 -j REJECT"},
                                   "DROP");
    Ruleset& rs = ruleset(text, {.in = "veth0", .family = ir::Family::ipv6});
    EXPECT_VERDICT(rs, frame(Ipv6{.tclass = 0x21}, Tcp{}), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv6{.src = ip6("2001:db8::ffff")}, Tcp{}), "ACCEPT", "INPUT", 2);
    EXPECT_VERDICT(rs, frame(Ipv6{.src = ip6("2001:db8::1:1")}, Tcp{}), "DROP", "INPUT", 0);
    EXPECT_VERDICT(rs, frame(Ipv6{.src = ip6("2001:db8::f")}, Tcp{}), "DROP", "INPUT", 0);
    EXPECT_VERDICT(rs, frame(Ipv6{.src = ip6("2001:db8::f"), .dst = ip6("2001:db8::3")}, Tcp{}), "REJECT",
                   "INPUT", 3);
}

// BPF_PROG_TEST_RUN packets have no conntrack entry (the IPv6 tuple is looked up all the same): a UDP packet
// or a TCP SYN is NEW, another TCP packet the kernel's; neighbour discovery is UNTRACKED with a right
// checksum (nf_conntrack_icmpv6_error), the kernel's with a wrong one; other ICMPv6 the kernel's.
TEST_F(Ip6, ConntrackWithIpv6Tuples) {
    Ruleset& rs = rules6(
        {"-m conntrack --ctstate UNTRACKED -j ACCEPT", "-m state --state ESTABLISHED,RELATED -j ACCEPT",
         "-m conntrack --ctstate NEW --ctorigsrc 2001:db8:5::/48 -j DROP",
         "-m conntrack --ctstate NEW -j ACCEPT"},
        "DROP");
    auto syn = [](const std::string& src, uint8_t flags) {
        return frame(Ipv6{.src = ip6(src)}, Tcp{.sport = 47005, .dport = 47006, .flags = flags});
    };
    EXPECT_VERDICT(rs, syn("2001:db8:5::1", 0x02), "DROP", "INPUT", 3);
    EXPECT_VERDICT(rs, syn("2001:db8:6::1", 0x02), "ACCEPT", "INPUT", 4);
    EXPECT_VERDICT(rs, syn("2001:db8:6::1", 0x10), "KERNEL", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv6{.src = ip6("2001:db8:6::1")}, Udp{.sport = 47007, .dport = 47008}),
                   "ACCEPT", "INPUT", 4);
    EXPECT_VERDICT(rs, frame(Ipv6{}, Icmp{.type = 135}), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv6{}, Icmp{.type = 136}), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv6{.bad_l4_checksum = true}, Icmp{.type = 135}), "KERNEL", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv6{}, Icmp{.type = 128}), "KERNEL", "INPUT", 1);
    // a wrong TCP checksum is INVALID for conntrack: the kernel decides
    EXPECT_VERDICT(rs, frame(Ipv6{.bad_l4_checksum = true}, Tcp{.sport = 47009, .flags = 0x02}), "KERNEL",
                   "INPUT", 1);
}

}  // namespace
}  // namespace bpftables::test
