#include <gtest/gtest.h>

#include "tests/unit/round_trip.hpp"

namespace bpftables {
namespace {

using testing::round_trip;

TEST(XtMultiport, OptionsAndTheirLongNames) {
    EXPECT_EQ(round_trip("-p tcp -m multiport --source-ports 1,2"), "-p tcp -m multiport --sports 1,2");
    EXPECT_EQ(round_trip("-p tcp -m multiport --destination-ports 1,2:3"),
              "-p tcp -m multiport --dports 1,2:3");
    EXPECT_EQ(round_trip("-p udp -m multiport ! --ports 53"), "-p udp -m multiport ! --ports 53");
}

TEST(XtMultiport, FifteenSlotsARangeTakingTwo) {
    EXPECT_TRUE(round_trip("-p tcp -m multiport --ports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15"));
    EXPECT_FALSE(round_trip("-p tcp -m multiport --ports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16"));
    EXPECT_TRUE(round_trip("-p tcp -m multiport --ports 1,2,3,4,5,6,7,8,9,10,11,12,13,14:15"));
    EXPECT_FALSE(round_trip("-p tcp -m multiport --ports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15:16"));
}

TEST(XtMultiport, ServiceNamesAndOctal) {
    EXPECT_EQ(round_trip("-p tcp -m multiport --dports ssh,010:0x10"),
              "-p tcp -m multiport --dports 22,8:16");
}

TEST(XtMultiport, Rejects) {
    EXPECT_FALSE(round_trip("-p tcp -m multiport --dports 90:80"));
    EXPECT_FALSE(round_trip("-p tcp -m multiport --dports 80:"));
    EXPECT_FALSE(round_trip("-p tcp -m multiport --dports 1,,2"));
    EXPECT_FALSE(round_trip("-p tcp -m multiport --sports 1 --dports 2"));
    EXPECT_FALSE(round_trip("-p icmp -m multiport --dports 1"));
    EXPECT_FALSE(round_trip("! -p tcp -m multiport --dports 1"));
    EXPECT_FALSE(round_trip("-m multiport --dports 1"));
}

}  // namespace
}  // namespace bpftables
