#include <gtest/gtest.h>

#include "tests/unit/round_trip.hpp"

namespace bpftables {
namespace {

using testing::round_trip;

TEST(XtIcmp, NamesPrintAsNumbersWithTheirCodes) {
    EXPECT_EQ(round_trip("-p icmp -m icmp --icmp-type echo-request"), "-p icmp -m icmp --icmp-type 8");
    EXPECT_EQ(round_trip("-p icmp -m icmp --icmp-type port-unreachable"), "-p icmp -m icmp --icmp-type 3/3");
    EXPECT_EQ(round_trip("-p icmp -m icmp --icmp-type ECHO-REPLY"), "-p icmp -m icmp --icmp-type 0");
    EXPECT_EQ(round_trip("-p icmp -m icmp --icmp-type echo-req"),
              "-p icmp -m icmp --icmp-type 8");  // a prefix
    EXPECT_EQ(round_trip("-p icmp -m icmp ! --icmp-type any"), "-p icmp -m icmp ! --icmp-type any");
}

TEST(XtIcmp, NumbersAndCodeRanges) {
    EXPECT_EQ(round_trip("-p icmp -m icmp --icmp-type 3/1"), "-p icmp -m icmp --icmp-type 3/1");
    EXPECT_EQ(round_trip("-p icmp -m icmp --icmp-type 3/0:255"), "-p icmp -m icmp --icmp-type 3");
    EXPECT_EQ(round_trip("-p icmp -m icmp --icmp-type 3/1:4"), "-p icmp -m icmp --icmp-type 3/1:4");
    EXPECT_EQ(round_trip("-p icmp -m icmp --icmp-type 255/255"), "-p icmp -m icmp --icmp-type 255/255");
}

TEST(XtIcmp, LoadedImplicitlyByProtocol) {
    EXPECT_EQ(round_trip("-p icmp --icmp-type 8 -j ACCEPT"), "-p icmp -m icmp --icmp-type 8 -j ACCEPT");
}

TEST(XtIcmp, Rejects) {
    EXPECT_FALSE(round_trip("-p icmp -m icmp --icmp-type echo"));  // ambiguous: echo-reply, echo-request
    EXPECT_FALSE(round_trip("-p icmp -m icmp --icmp-type bogus"));
    EXPECT_FALSE(round_trip("-p icmp -m icmp --icmp-type 256"));
    EXPECT_FALSE(round_trip("-p icmp -m icmp --icmp-type 3/4:1"));
    EXPECT_FALSE(round_trip("-p icmp -m icmp"));  // --icmp-type is mandatory
    EXPECT_FALSE(round_trip("-p icmp -m icmp --icmp-type 8 --icmp-type 0"));
    EXPECT_FALSE(round_trip("-p tcp -m icmp --icmp-type 8"));
    EXPECT_FALSE(round_trip("! -p icmp -m icmp --icmp-type 8"));
}

}  // namespace
}  // namespace bpftables
