// nft rulesets: base chains of one hook run in priority order (equal priorities: the one written last first);
// accept ends only its base chain, drop ends everything, a policy applies when a base chain falls off its
// end; jump, goto and return inside a table; inet tables (IPv4 only); base chains bpftables does not compile
// (nat, postrouting) hand the packets that reach them to the kernel, and hooks it does not run at are
// refused.
#include "codegen/build.hpp"
#include "compiler/nft/lower.hpp"
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::Eth;
using loader::frame;
using loader::ip;
using loader::Ipv4;
using loader::Tcp;

class NftBaseChains : public RuntimeTest {};

std::vector<uint8_t> tcp_to(uint16_t dport) {
    return frame(Ipv4{}, Tcp{.dport = dport});
}

// Declared in the opposite order of their priorities: "early" (-10) runs before "late" (10).
const char* const two_input_chains = R"(table ip first {
    chain late {
        type filter hook input priority 10; policy accept;
        tcp dport 22 drop
        tcp dport 25 accept
    }
}
table ip second {
    chain early {
        type filter hook input priority -10; policy accept;
        tcp dport 22 accept
        tcp dport 23 drop
        tcp dport 25 accept
    }
}
)";

TEST_F(NftBaseChains, AcceptInTheFirstDoesNotStopTheSecondsDrop) {
    Ruleset& rs = ruleset(two_input_chains);
    EXPECT_VERDICT(rs, tcp_to(22), "DROP", "first:late", 1);
    EXPECT_VERDICT(rs, tcp_to(25), "ACCEPT", "first:late", 2);
}

TEST_F(NftBaseChains, DropInTheFirstEndsEverything) {
    Ruleset& rs = ruleset(two_input_chains);
    EXPECT_VERDICT(rs, tcp_to(23), "DROP", "second:early", 2);
}

TEST_F(NftBaseChains, LowerPriorityRunsFirst) {
    // Both policies accept: the last base chain to run is the one that decides.
    EXPECT_VERDICT(ruleset(two_input_chains), tcp_to(24), "ACCEPT", "first:late", 0);
}

// The kernel runs the base chain registered last first; `nft -f` registers them in the order written.
TEST_F(NftBaseChains, EqualPrioritiesRunLastWrittenFirst) {
    Ruleset& rs = ruleset(R"(table ip x {
    chain a { type filter hook input priority filter; policy accept; tcp dport 22 drop; }
}
table ip y {
    chain b { type filter hook input priority 0; policy drop; tcp dport 22 accept; tcp dport 23 accept; }
}
)");
    EXPECT_VERDICT(rs, tcp_to(80), "DROP", "y:b", 0);
    EXPECT_VERDICT(rs, tcp_to(23), "ACCEPT", "x:a", 0);
    EXPECT_VERDICT(rs, tcp_to(22), "DROP", "x:a", 1);
}

// As bpftables-restore lowers (its nft rulesets also go whole to the kernel's nf_tables): a statement it does
// not compile hands the packets that reach it to the kernel; the statements before it, and the other rules,
// are the program's.
TEST_F(NftBaseChains, StatementsNotCompiledAreTheKernelsInARestore) {
    Diagnostics diags;
    std::optional<ir::Program> p = parse_and_lower_nft(R"(table ip t {
    chain in {
        type filter hook input priority 0; policy accept;
        tcp dport 22 drop
        tcp dport 23 ct mark 0x2 accept
        tcp dport 24 meta mark set 1 drop
        tcp dport 25 accept
    }
}
)",
                                                       "k.nft", diags, true);
    ASSERT_TRUE(p) << diags.str();
    Ruleset rs(std::move(*p));
    for (Hook hook : {Hook::xdp, Hook::tc_ingress}) {
        EXPECT_VERDICT_ON(rs, hook, tcp_to(22), "DROP", "t:in", 1);
        EXPECT_VERDICT_ON(rs, hook, tcp_to(23), "KERNEL", "t:in", 2);
        EXPECT_VERDICT_ON(rs, hook, tcp_to(24), "KERNEL", "t:in", 3);
        EXPECT_VERDICT_ON(rs, hook, tcp_to(25), "ACCEPT", "t:in", 4);
        EXPECT_VERDICT_ON(rs, hook, tcp_to(26), "ACCEPT", "t:in", 0);
    }
}

TEST_F(NftBaseChains, Policies) {
    Ruleset& rs = ruleset(R"(table ip t {
    chain strict {
        type filter hook input priority 0; policy drop;
        tcp dport 22 accept
    }
    chain after {
        type filter hook input priority 5; policy accept;
        tcp dport 22 counter
    }
}
)");
    EXPECT_VERDICT(rs, tcp_to(80), "DROP", "t:strict", 0);   // drop policy: ends everything
    EXPECT_VERDICT(rs, tcp_to(22), "ACCEPT", "t:after", 0);  // accepted: on to the next base chain
    std::optional<bpft_counter> c = rs.counter(Hook::xdp, "t", "after", 1);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->packets, 1u);  // only tcp 22 reached "after"
}

TEST_F(NftBaseChains, JumpGotoReturn) {
    Ruleset& rs = ruleset(R"(table ip t {
    chain sub {
        tcp dport 80 accept
        tcp dport 81 return
        tcp dport 82 drop
    }
    chain sub2 {
        tcp dport 90 drop
    }
    chain in {
        type filter hook input priority 0; policy drop;
        tcp dport 80-89 jump sub
        tcp dport 81 drop
        tcp dport 90-99 goto sub2
        tcp dport 83 accept
    }
    chain later {
        type filter hook input priority 100; policy accept;
        tcp dport 80 drop
    }
}
)");
    EXPECT_VERDICT(rs, tcp_to(81), "DROP", "t:in", 2);  // return: back in the caller
    EXPECT_VERDICT(rs, tcp_to(82), "DROP", "t:sub", 3);
    EXPECT_VERDICT(rs, tcp_to(83), "ACCEPT", "t:later", 0);  // fell off sub, accepted by in rule 4
    EXPECT_VERDICT(rs, tcp_to(90), "DROP", "t:sub2", 1);
    EXPECT_VERDICT(rs, tcp_to(91), "DROP", "t:in", 0);  // fell off a goto: the base chain's policy
    // accept in a regular chain ends only its base chain: "later" still drops
    EXPECT_VERDICT(rs, tcp_to(80), "DROP", "t:later", 1);
}

TEST_F(NftBaseChains, InetTable) {
    Ruleset& rs = ruleset(R"(table inet f {
    chain input {
        type filter hook input priority 0; policy accept;
        ip saddr 10.0.0.0/8 drop
        meta nfproto ipv4 tcp dport 22 drop
        meta nfproto ipv6 tcp dport 23 drop
        meta nfproto != ipv6 tcp dport 24 drop
        ip6 saddr != ::1 tcp dport 25 drop
    }
}
)");
    EXPECT_VERDICT(rs, frame(Ipv4{.src = ip("10.1.2.3")}, Tcp{}), "DROP", "f:input", 1);
    EXPECT_VERDICT(rs, tcp_to(22), "DROP", "f:input", 2);
    EXPECT_VERDICT(rs, tcp_to(23), "ACCEPT", "f:input", 0);  // never true in the IPv4 program
    EXPECT_VERDICT(rs, tcp_to(24), "DROP", "f:input", 4);
    EXPECT_VERDICT(rs, tcp_to(25), "ACCEPT", "f:input", 0);  // an IPv6 field: never an IPv4 packet's
    EXPECT_VERDICT(rs, tcp_to(80), "ACCEPT", "f:input", 0);
    // IPv6 stays with the kernel
    EXPECT_VERDICT(rs, frame(Eth{.type = 0x86dd}, Ipv4{}, Tcp{}), "NOT_IP", "", -1);
}

// A nat chain at prerouting runs in BPF for the first packet of a connection (here every SYN: the test's
// namespace has no conntrack entry), as the kernel runs it: a nat statement hands the packet over, a walk
// that reaches none goes on to the next base chain; a drop in it drops.
TEST_F(NftBaseChains, NatPreroutingChainRunsForTheFirstPacket) {
    Ruleset& rs = ruleset(R"(table ip nat {
    chain pre {
        type nat hook prerouting priority dstnat; policy accept;
        tcp dport 8080 dnat to 198.18.0.9:80
        tcp dport 8081 jump svc
        tcp dport 24 drop
    }
    chain svc {
        ip daddr 198.18.0.1 dnat to 198.18.0.9:81
    }
}
table ip fw {
    chain early {
        type filter hook prerouting priority raw; policy accept;
        tcp dport 23 drop
    }
    chain input {
        type filter hook input priority 0; policy drop;
        tcp dport 25 accept
    }
}
)");
    EXPECT_VERDICT(rs, tcp_to(23), "DROP", "fw:early", 1);     // decided before the nat chain
    EXPECT_VERDICT(rs, tcp_to(8080), "KERNEL", "nat:pre", 1);  // dnat: the kernel's
    EXPECT_VERDICT(rs, frame(Ipv4{.dst = ip("198.18.0.1")}, Tcp{.dport = 8081}), "KERNEL", "nat:svc", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{.dst = ip("198.18.0.2")}, Tcp{.dport = 8081}), "DROP", "fw:input", 0);
    EXPECT_VERDICT(rs, tcp_to(24), "DROP", "nat:pre", 3);     // a nat chain's drop drops
    EXPECT_VERDICT(rs, tcp_to(25), "ACCEPT", "fw:input", 1);  // no rewrite: the filter chains decide
    EXPECT_VERDICT(rs, tcp_to(22), "DROP", "fw:input", 0);
    // Not a connection's first packet and no entry: conntrack cannot place it, the kernel decides.
    EXPECT_VERDICT(rs, frame(Ipv4{}, Tcp{.dport = 25, .flags = 0x10}), "KERNEL", "nat:pre", 0);
}

// fib daddr type local: what inet_addr_type() says, from the local table's local routes the loader keeps in
// bpft_local (here the test's namespace: lo's 127.0.0.0/8); lo's broadcast address is not local.
TEST_F(NftBaseChains, FibDaddrTypeLocal) {
    Ruleset& rs = ruleset(R"(table ip t {
    chain in {
        type filter hook input priority 0; policy accept;
        fib daddr type local tcp dport 22 drop
        fib daddr type != local tcp dport 23 drop
    }
}
)");
    auto to = [](const char* addr, uint16_t dport) {
        return frame(Ipv4{.dst = ip(addr)}, Tcp{.dport = dport});
    };
    EXPECT_VERDICT(rs, to("127.0.0.1", 22), "DROP", "t:in", 1);
    EXPECT_VERDICT(rs, to("127.1.2.3", 22), "DROP", "t:in", 1);          // the local prefix 127.0.0.0/8
    EXPECT_VERDICT(rs, to("127.255.255.255", 22), "ACCEPT", "t:in", 0);  // broadcast
    EXPECT_VERDICT(rs, to("255.255.255.255", 22), "ACCEPT", "t:in", 0);
    EXPECT_VERDICT(rs, to("198.18.0.2", 22), "ACCEPT", "t:in", 0);
    EXPECT_VERDICT(rs, to("198.18.0.2", 23), "DROP", "t:in", 2);
    EXPECT_VERDICT(rs, to("127.0.0.1", 23), "ACCEPT", "t:in", 0);
}

TEST_F(NftBaseChains, PostroutingHandsForwardedPacketsToTheKernel) {
    std::string text = R"(table ip t {
    chain fwd {
        type filter hook forward priority 0; policy accept;
        tcp dport 22 drop
    }
    chain post {
        type filter hook postrouting priority 0; policy accept;
    }
    chain in {
        type filter hook input priority 0; policy accept;
    }
}
)";
    Ruleset& fwd = ruleset(text, RunOptions{.chain = BPFT_CHAIN_FORWARD});
    EXPECT_VERDICT(fwd, tcp_to(22), "DROP", "t:fwd", 1);
    EXPECT_VERDICT(fwd, tcp_to(80), "KERNEL", "t:post", 0);
    EXPECT_VERDICT(ruleset(text), tcp_to(80), "ACCEPT", "t:in", 0);  // input packets never reach postrouting
}

// A nat chain at postrouting that cannot end a packet (masquerade, snat, jumps, accept) leaves the program's
// verdict standing (the kernel runs it after); one that can (a drop) is the kernel's, as any other.
TEST_F(NftBaseChains, NatPostroutingThatCannotEndAPacket) {
    std::string nat = R"(table ip t {
    chain fwd {
        type filter hook forward priority 0; policy accept;
        tcp dport 22 drop
    }
    chain post {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "eth1" jump masq
        ip saddr 198.18.0.1 snat to 198.19.0.1
    }
    chain masq {
        masquerade
    }
}
)";
    Ruleset& fwd = ruleset(nat, RunOptions{.chain = BPFT_CHAIN_FORWARD});
    EXPECT_VERDICT(fwd, tcp_to(22), "DROP", "t:fwd", 1);
    EXPECT_VERDICT(fwd, tcp_to(80), "ACCEPT", "t:fwd", 0);
    std::string with_drop = nat;
    with_drop.replace(with_drop.find("masquerade"), 10, "tcp dport 81 drop");
    Ruleset& dropping = ruleset(with_drop, RunOptions{.chain = BPFT_CHAIN_FORWARD});
    EXPECT_VERDICT(dropping, tcp_to(80), "KERNEL", "t:post", 0);
}

TEST_F(NftBaseChains, OutputAtTcEgress) {
    Ruleset& rs = ruleset(R"(table ip t {
    chain out1 {
        type filter hook output priority -5; policy accept;
        tcp dport 25 accept
    }
    chain out2 {
        type filter hook output priority 0; policy drop;
        tcp dport 443 accept
    }
}
)",
                          RunOptions{.chain = BPFT_CHAIN_OUTPUT});
    EXPECT_VERDICT_ON(rs, Hook::tc_egress, tcp_to(443), "ACCEPT", "t:out2", 1);
    EXPECT_VERDICT_ON(rs, Hook::tc_egress, tcp_to(25), "DROP", "t:out2", 0);
}

TEST(NftBaseChainsRefused, IngressHookIsAnErrorAtTheChain) {
    Diagnostics diags;
    std::optional<ir::Program> p = parse_and_lower_nft(R"(table inet t {
    chain early {
        type filter hook ingress device "lo" priority 0; policy accept;
    }
}
)",
                                                       "t.nft", diags);
    ASSERT_TRUE(p) << diags.str();
    EXPECT_FALSE(codegen::build(*p, Hook::xdp, diags, false));
    EXPECT_NE(diags.str().find("t.nft:2:5: error: base chain t early (type filter hook ingress"),
              std::string::npos)
        << diags.str();
}

}  // namespace
}  // namespace bpftables::test
