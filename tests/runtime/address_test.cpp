// -s / -d: prefixes, dotted masks (also non-contiguous ones), /0, negation, and lists that expand to one rule
// per address.
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::ip;
using loader::Ipv4;
using loader::Tcp;

class Address : public RuntimeTest {};

std::vector<uint8_t> from(const char* src, const char* dst = "198.18.0.2") {
    return frame(Ipv4{.src = ip(src), .dst = ip(dst)}, Tcp{});
}

TEST_F(Address, SourcePrefix) {
    Ruleset& rs = ruleset(input_chain({"-s 10.0.0.0/8 -j DROP", "-s 192.0.2.0/24 -j ACCEPT"}, "DROP"));
    EXPECT_VERDICT(rs, from("10.255.0.1"), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, from("10.0.0.0"), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, from("11.0.0.0"), "DROP", "INPUT", 0);
    EXPECT_VERDICT(rs, from("192.0.2.255"), "ACCEPT", "INPUT", 2);
    EXPECT_VERDICT(rs, from("192.0.3.0"), "DROP", "INPUT", 0);
}

TEST_F(Address, HostAddressWithoutPrefixIsSlash32) {
    Ruleset& rs = ruleset(input_chain({"-s 192.0.2.7 -j ACCEPT"}, "DROP"));
    EXPECT_VERDICT(rs, from("192.0.2.7"), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, from("192.0.2.6"), "DROP", "INPUT", 0);
}

TEST_F(Address, DestinationPrefix) {
    Ruleset& rs = ruleset(input_chain({"-d 198.18.0.0/31 -j ACCEPT"}, "DROP"));
    EXPECT_VERDICT(rs, from("1.2.3.4", "198.18.0.1"), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, from("1.2.3.4", "198.18.0.2"), "DROP", "INPUT", 0);
    // the source address is not looked at
    EXPECT_VERDICT(rs, from("198.18.0.1", "1.2.3.4"), "DROP", "INPUT", 0);
}

TEST_F(Address, DottedMask) {
    Ruleset& rs = ruleset(input_chain({"-s 172.16.0.0/255.240.0.0 -j ACCEPT"}, "DROP"));
    EXPECT_VERDICT(rs, from("172.31.255.255"), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, from("172.32.0.0"), "DROP", "INPUT", 0);
    EXPECT_VERDICT(rs, from("172.15.255.255"), "DROP", "INPUT", 0);
}

TEST_F(Address, NonContiguousDottedMask) {
    // iptables accepts any mask: only the bits set in it are compared
    Ruleset& rs = ruleset(input_chain({"-s 10.0.0.1/255.0.0.255 -j ACCEPT"}, "DROP"));
    EXPECT_VERDICT(rs, from("10.77.88.1"), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, from("10.77.88.2"), "DROP", "INPUT", 0);
    EXPECT_VERDICT(rs, from("11.77.88.1"), "DROP", "INPUT", 0);
}

TEST_F(Address, HostBitsBeyondThePrefixAreIgnored) {
    // "-s 10.1.2.3/8" is stored as 10.0.0.0/8
    Ruleset& rs = ruleset(input_chain({"-s 10.1.2.3/8 -j ACCEPT"}, "DROP"));
    EXPECT_VERDICT(rs, from("10.200.0.1"), "ACCEPT", "INPUT", 1);
}

TEST_F(Address, ZeroPrefixMatchesEverything) {
    Ruleset& rs = ruleset(input_chain({"-s 0.0.0.0/0 -j DROP"}));
    EXPECT_VERDICT(rs, from("203.0.113.9"), "DROP", "INPUT", 1);
}

TEST_F(Address, NegatedSource) {
    Ruleset& rs = ruleset(input_chain({"! -s 10.0.0.0/8 -j DROP"}));
    EXPECT_VERDICT(rs, from("10.1.1.1"), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, from("11.1.1.1"), "DROP", "INPUT", 1);
}

TEST_F(Address, NegatedDestinationWithSource) {
    // both must hold: the source in 10/8 and the destination outside 198.18.0.2
    Ruleset& rs = ruleset(input_chain({"-s 10.0.0.0/8 ! -d 198.18.0.2/32 -j DROP"}));
    EXPECT_VERDICT(rs, from("10.1.1.1", "198.18.0.3"), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, from("10.1.1.1", "198.18.0.2"), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, from("12.1.1.1", "198.18.0.3"), "ACCEPT", "INPUT", 0);
}

TEST_F(Address, ListExpandsToOneRulePerAddress) {
    // iptables -A INPUT -s a,b adds two rules: the second address is rule 2
    Ruleset& rs = ruleset(input_chain({"-s 192.0.2.1,192.0.2.2 -j DROP", "-j ACCEPT"}));
    EXPECT_VERDICT(rs, from("192.0.2.1"), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, from("192.0.2.2"), "DROP", "INPUT", 2);
    EXPECT_VERDICT(rs, from("192.0.2.3"), "ACCEPT", "INPUT", 3);
}

TEST_F(Address, NotIpv4IsHandedToTheKernel) {
    Ruleset& rs = ruleset(input_chain({"-j DROP"}));
    std::vector<uint8_t> arp = frame(loader::Eth{.type = 0x0806}, Ipv4{}, Tcp{});
    EXPECT_VERDICT(rs, arp, "NOT_IP", "INPUT", -1);
}

TEST_F(Address, BadHeaderChecksumIsLeftToTheKernel) {
    // the kernel discards it before netfilter: no rule sees it
    Ruleset& rs = ruleset(input_chain({"-j DROP"}));
    EXPECT_VERDICT(rs, frame(Ipv4{.bad_checksum = true}, Tcp{}), "KERNEL", "INPUT", -1);
}

}  // namespace
}  // namespace bpftables::test
