#include <gtest/gtest.h>

#include "tests/unit/round_trip.hpp"

namespace bpftables {
namespace {

using testing::round_trip;

TEST(XtIpRange, BothDirections) {
    EXPECT_EQ(round_trip("-m iprange --src-range 10.0.0.1-10.0.0.9 ! --dst-range 1.2.3.4-1.2.3.5"),
              "-m iprange --src-range 10.0.0.1-10.0.0.9 ! --dst-range 1.2.3.4-1.2.3.5");
    EXPECT_EQ(round_trip("-m iprange --dst-range 1.1.1.1"), "-m iprange --dst-range 1.1.1.1-1.1.1.1");
    EXPECT_FALSE(round_trip("-m iprange --src-range 1.1.1.1-1.1.1"));
    EXPECT_FALSE(round_trip("-m iprange --src-range 1.1.1.1 --src-range 1.1.1.2"));
}

TEST(XtLength, Ranges) {
    EXPECT_EQ(round_trip("-m length --length 0x10:100"), "-m length --length 16:100");
    EXPECT_FALSE(round_trip("-m length --length 1 --length 2"));
    EXPECT_FALSE(round_trip("-m length --length a"));
}

TEST(XtTtl, OnlyEqualityNegates) {
    EXPECT_EQ(round_trip("-m ttl --ttl-lt 5"), "-m ttl --ttl-lt 5");
    EXPECT_EQ(round_trip("-m ttl ! --ttl-eq 5"), "-m ttl ! --ttl-eq 5");
    EXPECT_FALSE(round_trip("-m ttl ! --ttl-lt 5"));
    EXPECT_FALSE(round_trip("-m ttl --ttl-lt 5 --ttl-gt 1"));
}

}  // namespace
}  // namespace bpftables
