#include <gtest/gtest.h>

#include "tests/unit/round_trip.hpp"

namespace bpftables {
namespace {

using testing::round_trip;

// iptables stores a /0 address that is not negated as no match at all: -save and -S print nothing for it, and
// -D/-C of the rule without it find it (found by the compat suite's commands mode).
TEST(XtAddress, ZeroPrefixIsNoMatchUnlessNegated) {
    EXPECT_EQ(round_trip("-s 0.0.0.0/0 -d 198.18.0.1"), "-d 198.18.0.1/32");
    EXPECT_EQ(round_trip("-d 10.0.0.0/0"), "");
    EXPECT_EQ(round_trip("! -s 0.0.0.0/0"), "! -s 0.0.0.0/0");
}

TEST(XtMark, ValueAndMask) {
    EXPECT_EQ(round_trip("-m mark ! --mark 10/0xff"), "-m mark ! --mark 0xa/0xff");
    EXPECT_FALSE(round_trip("-m mark --mark 1/0x100000000"));
    EXPECT_EQ(round_trip("-m mark --mark 010"), "-m mark --mark 0x8");  // numbers are read as strtoul base 0
}

TEST(XtComment, QuotesWhatIptablesSaveQuotes) {
    EXPECT_EQ(round_trip("-m comment --comment \"allow ssh\""), "-m comment --comment \"allow ssh\"");
    EXPECT_EQ(round_trip("-m comment --comment a.b"), "-m comment --comment \"a.b\"");
    EXPECT_EQ(round_trip("-m comment --comment 'say \"hi\"'"), "-m comment --comment \"say \\\"hi\\\"\"");
    EXPECT_FALSE(round_trip("-m comment ! --comment x"));
}

TEST(XtDscp, ClassesAndValues) {
    EXPECT_EQ(round_trip("-m dscp --dscp-class af41"), "-m dscp --dscp 0x22");
    EXPECT_EQ(round_trip("-m dscp ! --dscp 10"), "-m dscp ! --dscp 0x0a");
    EXPECT_FALSE(round_trip("-m dscp --dscp-class AF44"));
}

TEST(XtTos, NamesValuesMasks) {
    EXPECT_EQ(round_trip("-m tos --tos minimize-delay"), "-m tos --tos 0x10/0x3f");
    EXPECT_EQ(round_trip("-m tos --tos 8/0x1c"), "-m tos --tos 0x08/0x1c");
    EXPECT_FALSE(round_trip("-m tos --tos 0x100"));
}

// iptables-legacy-save and iptables-nft-save 1.8.9 print lower case (found by the compat suite's commands mode).
TEST(XtMac, PrintsLowerCase) {
    EXPECT_EQ(round_trip("-m mac ! --mac-source AA:b:cc:dd:ee:ff"),
              "-m mac ! --mac-source aa:0b:cc:dd:ee:ff");
    EXPECT_FALSE(round_trip("-m mac --mac-source aa:bb:cc:dd:ee:fg"));
    EXPECT_FALSE(round_trip("-m mac --mac-source aa:bb:cc:dd:ee:"));
    EXPECT_FALSE(round_trip("-m mac --mac-source aaa:bb:cc:dd:ee:ff"));
}

TEST(XtPktType, AliasesPrintCanonical) {
    EXPECT_EQ(round_trip("-m pkttype ! --pkt-type bcast"), "-m pkttype ! --pkt-type broadcast");
    EXPECT_EQ(round_trip("-m pkttype --pkt-type Host"), "-m pkttype --pkt-type unicast");
    EXPECT_FALSE(round_trip("-m pkttype --pkt-type otherhost"));
}

TEST(XtAddrType, ListsAndInterfaceLimits) {
    EXPECT_EQ(round_trip("-m addrtype ! --dst-type local,broadcast --src-type unicast"),
              "-m addrtype --src-type UNICAST ! --dst-type LOCAL,BROADCAST");
    EXPECT_EQ(round_trip("-m addrtype --src-type loc,U"), "-m addrtype --src-type UNSPEC,LOCAL");
    EXPECT_FALSE(round_trip("-m addrtype --src-type LOCAL,"));
    EXPECT_FALSE(round_trip("-m addrtype --src-type LOCALS"));
    EXPECT_FALSE(round_trip("-m addrtype --src-type LOCAL ! --limit-iface-in"));
}

TEST(XtLimit, RatesInEveryUnit) {
    EXPECT_EQ(round_trip("-m limit"), "-m limit --limit 3/hour");
    EXPECT_EQ(round_trip("-m limit --limit 5"), "-m limit --limit 5/sec");
    EXPECT_EQ(round_trip("-m limit --limit 5/m"), "-m limit --limit 5/min");
    EXPECT_EQ(round_trip("-m limit --limit 2/Minute --limit-burst 10"),
              "-m limit --limit 2/min --limit-burst 10");
    EXPECT_EQ(round_trip("-m limit --limit 120/min"), "-m limit --limit 2/sec");
    EXPECT_FALSE(round_trip("-m limit --limit 0/sec"));
    EXPECT_FALSE(round_trip("-m limit --limit 5/week"));
    EXPECT_FALSE(round_trip("-m limit --limit 5/"));
    EXPECT_FALSE(round_trip("-m limit --limit 20000/sec"));  // faster than 1/10000 s
    EXPECT_FALSE(round_trip("-m limit --limit-burst 0"));
    EXPECT_FALSE(round_trip("-m limit --limit-burst 10001"));
    EXPECT_FALSE(round_trip("-m limit ! --limit 1/sec"));
}

}  // namespace
}  // namespace bpftables
