// -m limit: a token bucket per rule as xt_limit: the first --limit-burst packets pass, then one per
// 1/--limit of time, and the credit never exceeds the burst. Each test loads its own program (fresh bucket).
// The program keeps the bucket only where the verdict does not depend on it (before LOG, which hands the
// packets that pass to the kernel, verdict KERNEL at the rule): a limit before a verdict is the kernel's.
#include <chrono>
#include <thread>

#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::Ipv4;
using loader::Tcp;
using loader::Udp;

class Limit : public RuntimeTest {};

const Hook ingress_hooks[] = {Hook::xdp, Hook::tc_ingress};

TEST_F(Limit, BurstThenNothingAtALowRate) {
    std::string text = input_chain({"-m limit --limit 1/hour --limit-burst 3 -j LOG", "-j DROP"});
    REQUIRE_PARSER(text);
    for (Hook hook : ingress_hooks) {
        Ruleset rs(text);
        for (int i = 0; i < 3; ++i) EXPECT_VERDICT_ON(rs, hook, frame(Ipv4{}, Udp{}), "KERNEL", "INPUT", 1);
        for (int i = 0; i < 3; ++i) EXPECT_VERDICT_ON(rs, hook, frame(Ipv4{}, Udp{}), "DROP", "INPUT", 2);
    }
}

TEST_F(Limit, DefaultBurstIsFive) {
    std::string text = input_chain({"-m limit --limit 1/hour -j LOG", "-j DROP"});
    REQUIRE_PARSER(text);
    Ruleset rs(text);
    for (int i = 0; i < 5; ++i) EXPECT_VERDICT_ON(rs, Hook::xdp, frame(Ipv4{}, Udp{}), "KERNEL", "INPUT", 1);
    EXPECT_VERDICT_ON(rs, Hook::xdp, frame(Ipv4{}, Udp{}), "DROP", "INPUT", 2);
}

TEST_F(Limit, CreditComesBackAtTheRateUpToTheBurst) {
    // 100/s: one packet per 10 ms; after 60 ms the credit is capped at the burst of 2
    std::string text = input_chain({"-m limit --limit 100/sec --limit-burst 2 -j LOG", "-j DROP"});
    REQUIRE_PARSER(text);
    for (Hook hook : ingress_hooks) {
        Ruleset rs(text);
        EXPECT_VERDICT_ON(rs, hook, frame(Ipv4{}, Udp{}), "KERNEL", "INPUT", 1);
        EXPECT_VERDICT_ON(rs, hook, frame(Ipv4{}, Udp{}), "KERNEL", "INPUT", 1);
        EXPECT_VERDICT_ON(rs, hook, frame(Ipv4{}, Udp{}), "DROP", "INPUT", 2);
        std::this_thread::sleep_for(std::chrono::milliseconds(60));
        EXPECT_VERDICT_ON(rs, hook, frame(Ipv4{}, Udp{}), "KERNEL", "INPUT", 1);
        EXPECT_VERDICT_ON(rs, hook, frame(Ipv4{}, Udp{}), "KERNEL", "INPUT", 1);
        EXPECT_VERDICT_ON(rs, hook, frame(Ipv4{}, Udp{}), "DROP", "INPUT", 2);
    }
}

TEST_F(Limit, EachRuleHasItsOwnBucket) {
    std::string text = input_chain({"-p udp -m limit --limit 1/hour --limit-burst 1 -j LOG",
                                    "-m limit --limit 1/hour --limit-burst 1 -j LOG", "-j DROP"});
    REQUIRE_PARSER(text);
    Ruleset rs(text);
    EXPECT_VERDICT_ON(rs, Hook::xdp, frame(Ipv4{}, Udp{}), "KERNEL", "INPUT", 1);
    EXPECT_VERDICT_ON(rs, Hook::xdp, frame(Ipv4{}, Udp{}), "KERNEL", "INPUT", 2);
    EXPECT_VERDICT_ON(rs, Hook::xdp, frame(Ipv4{}, Udp{}), "DROP", "INPUT", 3);
}

// Regression case limit-bucket-split-by-kernel-hand-off: with the verdict behind the limit, every packet that
// reaches it goes to the kernel (whose bucket also sees the packets handed over before any rule); packets the
// rule's other matches reject never touch a bucket.
TEST_F(Limit, BeforeAVerdictTheKernelsBucketDecides) {
    std::string text = input_chain({"-p tcp -m limit --limit 1/hour --limit-burst 1 -j ACCEPT", "-j DROP"});
    REQUIRE_PARSER(text);
    for (Hook hook : ingress_hooks) {
        Ruleset rs(text);
        for (int i = 0; i < 3; ++i) EXPECT_VERDICT_ON(rs, hook, frame(Ipv4{}, Tcp{}), "KERNEL", "INPUT", 1);
        EXPECT_VERDICT_ON(rs, hook, frame(Ipv4{}, Udp{}), "DROP", "INPUT", 2);
    }
}

}  // namespace
}  // namespace bpftables::test
