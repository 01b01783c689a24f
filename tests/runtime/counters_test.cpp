// Per-rule counters (LoadedProgram::counters): a rule counts each packet whose matches all matched, with the
// IP total length as its bytes (what netfilter's counters add: skb->len at the IP layer); policies count the
// packets they decide. Each test loads its own program so that counts start at zero.
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::Ipv4;
using loader::RawL4;
using loader::Tcp;
using loader::Udp;

class Counters : public RuntimeTest {
  protected:
    // Runs `frame` n times on `hook`, each time expecting `kind`.
    void run_n(Ruleset& rs, Hook hook, const std::vector<uint8_t>& f, int n, const std::string& kind) {
        for (int i = 0; i < n; ++i) {
            std::string error;
            auto v = rs.run(hook, f, error);
            ASSERT_TRUE(v) << error;
            EXPECT_EQ(v->kind, kind);
        }
    }
    void expect_count(Ruleset& rs, Hook hook, const std::string& chain, int rule, uint64_t packets,
                      uint64_t bytes) {
        auto c = rs.counter(hook, "filter", chain, rule);
        ASSERT_TRUE(c) << "no counter for " << chain << " rule " << rule;
        EXPECT_EQ(c->packets, packets) << codegen::hook_name(hook) << " " << chain << " rule " << rule;
        EXPECT_EQ(c->bytes, bytes) << codegen::hook_name(hook) << " " << chain << " rule " << rule;
    }
};

const Hook ingress_hooks[] = {Hook::xdp, Hook::tc_ingress};

TEST_F(Counters, MatchingRuleCountsPacketsAndIpBytes) {
    for (Hook hook : ingress_hooks) {
        Ruleset rs(input_chain({"-p udp -j DROP", "-p tcp -m tcp --dport 80 -j ACCEPT", "-j ACCEPT"}));
        std::vector<uint8_t> f = frame(Ipv4{}, Tcp{.dport = 80}, 10);  // 20 + 20 + 10 bytes of IP
        run_n(rs, hook, f, 3, "ACCEPT");
        expect_count(rs, hook, "INPUT", 1, 0, 0);
        expect_count(rs, hook, "INPUT", 2, 3, 150);
        expect_count(rs, hook, "INPUT", 3, 0, 0);
        expect_count(rs, hook, "INPUT", 0, 0, 0);
    }
}

TEST_F(Counters, BytesAreTheIpTotalLengthNotTheFrame) {
    for (Hook hook : ingress_hooks) {
        Ruleset rs(input_chain({"-p udp -j ACCEPT"}));
        // 8 bytes of Ethernet padding after a 32-byte datagram
        std::vector<uint8_t> f = frame(Ipv4{.tot_len = 32}, Udp{}, 12);
        run_n(rs, hook, f, 2, "ACCEPT");
        expect_count(rs, hook, "INPUT", 1, 2, 64);
    }
}

TEST_F(Counters, RulesWithoutTargetJumpsReturnsAndPoliciesCount) {
    for (Hook hook : ingress_hooks) {
        Ruleset rs(
            "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:U - [0:0]\n"
            "-A INPUT -p tcp\n-A INPUT -j U\n-A INPUT -p tcp -j RETURN\n-A INPUT -j ACCEPT\n"
            "-A U -p udp -j RETURN\n-A U -p tcp -m tcp --dport 9 -j DROP\nCOMMIT\n");
        std::vector<uint8_t> t = frame(Ipv4{}, Tcp{.dport = 80});  // 40 bytes
        std::vector<uint8_t> u = frame(Ipv4{}, Udp{});             // 28 bytes
        run_n(rs, hook, t, 2, "DROP");    // INPUT 1, 2 (U falls off), 3 RETURN -> policy
        run_n(rs, hook, u, 1, "ACCEPT");  // INPUT 2, U 1 RETURN, INPUT 4
        expect_count(rs, hook, "INPUT", 1, 2, 80);
        expect_count(rs, hook, "INPUT", 2, 3, 108);
        expect_count(rs, hook, "INPUT", 3, 2, 80);
        expect_count(rs, hook, "INPUT", 4, 1, 28);
        expect_count(rs, hook, "INPUT", 0, 2, 80);
        expect_count(rs, hook, "U", 1, 1, 28);
        expect_count(rs, hook, "U", 2, 0, 0);
    }
}

TEST_F(Counters, HotdroppedPacketIsNotCountedOnTheRule) {
    // netfilter adds to a rule's counters only when all its matches matched
    for (Hook hook : ingress_hooks) {
        Ruleset rs(input_chain({"-p tcp", "-p tcp -m tcp --dport 80 -j ACCEPT"}));
        run_n(rs, hook, frame(Ipv4{.proto = 6}, RawL4{{0, 1, 0, 80}}), 2, "HOTDROP");
        expect_count(rs, hook, "INPUT", 1, 2, 48);
        expect_count(rs, hook, "INPUT", 2, 0, 0);
        expect_count(rs, hook, "INPUT", 0, 0, 0);
    }
}

// Counted once (issue 13): a packet the program hands to the kernel is judged, and counted, by the kernel's
// copy from its first rule, so the program counts nothing of it, not even the rules it went through.
TEST_F(Counters, HandedOverPacketsAreCountedByTheKernelCopyAlone) {
    for (Hook hook : ingress_hooks) {
        Ruleset rs(input_chain({"-p udp", "-p udp -m udp --dport 7 -j REJECT",
                                "-p udp -m limit --limit 1/s -j ACCEPT", "-p tcp -j ACCEPT"}));
        run_n(rs, hook, frame(Ipv4{}, Udp{.dport = 7}), 2, "REJECT");
        run_n(rs, hook, frame(Ipv4{}, Udp{.dport = 9}), 1, "KERNEL");
        expect_count(rs, hook, "INPUT", 1, 0, 0);
        expect_count(rs, hook, "INPUT", 2, 0, 0);
        expect_count(rs, hook, "INPUT", 3, 0, 0);
        run_n(rs, hook, frame(Ipv4{}, Tcp{}), 1, "ACCEPT");  // decided here: counted here
        expect_count(rs, hook, "INPUT", 4, 1, 40);
    }
}

// The program keeps a packet's counts pending until it decides: a packet that counted more rules than the
// pending list holds (BPFT_PEND, 16) is handed to the kernel, which counts it exactly.
TEST_F(Counters, MoreCountedRulesThanThePendingListHoldsAreTheKernels) {
    for (Hook hook : ingress_hooks) {
        std::vector<std::string> rules(15, "-p udp");
        rules.push_back("-p udp -j DROP");  // 16 counted rules: the list is full
        Ruleset full(input_chain(rules));
        run_n(full, hook, frame(Ipv4{}, Udp{}), 1, "DROP");
        expect_count(full, hook, "INPUT", 1, 1, 28);
        expect_count(full, hook, "INPUT", 16, 1, 28);
        rules.insert(rules.begin(), "-p udp");  // 17: one too many
        Ruleset over(input_chain(rules));
        run_n(over, hook, frame(Ipv4{}, Udp{}), 1, "KERNEL");
        expect_count(over, hook, "INPUT", 1, 0, 0);
        expect_count(over, hook, "INPUT", 17, 0, 0);
    }
}

TEST_F(Counters, EachBackEndCountsItsOwnPackets) {
    Ruleset rs(input_chain({"-j ACCEPT"}));
    run_n(rs, Hook::xdp, frame(Ipv4{}, Udp{}), 4, "ACCEPT");
    run_n(rs, Hook::tc_ingress, frame(Ipv4{}, Udp{}), 1, "ACCEPT");
    expect_count(rs, Hook::xdp, "INPUT", 1, 4, 112);
    expect_count(rs, Hook::tc_ingress, "INPUT", 1, 1, 28);
}

}  // namespace
}  // namespace bpftables::test
