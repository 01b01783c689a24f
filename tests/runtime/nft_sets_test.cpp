// nft named sets and verdict maps as BPF maps (issue 16): "ip saddr @s" (an LPM trie: prefixes, ranges split
// into prefixes), "!=", concatenations ("ip daddr . tcp dport @s": a hash of the key's bytes, tcp's protocol
// dependency), elements added after the rule; verdict maps, named and anonymous, keyed by an interface name or
// a concatenation with meta l4proto and th dport: jump, goto, accept, drop, return, continue, and a key not in
// the map going on with the next rule; the rule counts every packet that reaches the lookup.
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::Icmp;
using loader::ip;
using loader::Ipv4;
using loader::Tcp;
using loader::Udp;

class NftSets : public RuntimeTest {};

std::vector<uint8_t> tcp(const char* src, const char* dst, uint16_t dport) {
    return frame(Ipv4{.src = ip(src), .dst = ip(dst)}, Tcp{.dport = dport});
}
std::vector<uint8_t> udp(const char* dst, uint16_t dport) {
    return frame(Ipv4{.dst = ip(dst)}, Udp{.dport = dport});
}

const char* const sets = R"(table ip t {
    set blocklist { type ipv4_addr; flags interval; elements = { 198.18.5.0/24, 198.18.7.3-198.18.7.9 } }
    set svc { type ipv4_addr . inet_service; }
    set allowed { type ipv4_addr; elements = { 198.18.0.1 } }
    chain input {
        type filter hook input priority 0; policy accept;
        ip saddr @blocklist counter drop
        ip daddr . tcp dport @svc accept
        tcp dport 9 ip saddr != @allowed drop
    }
}
add element ip t svc { 198.18.0.2 . 22, 198.18.0.2 . 80 }
)";

TEST_F(NftSets, LookupsInSetMaps) {
    Ruleset& rs = ruleset(sets);
    // the interval set: a prefix, a range's ends and inside, just outside both
    EXPECT_VERDICT(rs, tcp("198.18.5.77", "198.18.0.2", 1), "DROP", "t:input", 1);
    EXPECT_VERDICT(rs, tcp("198.18.7.3", "198.18.0.2", 1), "DROP", "t:input", 1);
    EXPECT_VERDICT(rs, tcp("198.18.7.8", "198.18.0.2", 1), "DROP", "t:input", 1);
    EXPECT_VERDICT(rs, tcp("198.18.7.9", "198.18.0.2", 1), "DROP", "t:input", 1);
    EXPECT_VERDICT(rs, tcp("198.18.7.2", "198.18.0.2", 1), "ACCEPT", "t:input", 0);
    EXPECT_VERDICT(rs, tcp("198.18.7.10", "198.18.0.2", 1), "ACCEPT", "t:input", 0);
    // the concatenation, with elements added after the rule; udp to the same port is not tcp
    EXPECT_VERDICT(rs, tcp("198.18.0.1", "198.18.0.2", 22), "ACCEPT", "t:input", 2);
    EXPECT_VERDICT(rs, tcp("198.18.0.1", "198.18.0.2", 80), "ACCEPT", "t:input", 2);
    EXPECT_VERDICT(rs, tcp("198.18.0.1", "198.18.0.2", 23), "ACCEPT", "t:input", 0);
    EXPECT_VERDICT(rs, tcp("198.18.0.1", "198.18.0.3", 22), "ACCEPT", "t:input", 0);
    EXPECT_VERDICT(rs, udp("198.18.0.2", 22), "ACCEPT", "t:input", 0);
    // "!=": not in the set
    EXPECT_VERDICT(rs, tcp("198.18.0.1", "198.18.0.2", 9), "ACCEPT", "t:input", 0);
    EXPECT_VERDICT(rs, tcp("198.18.0.5", "198.18.0.2", 9), "DROP", "t:input", 3);
}

const char* const vmaps = R"(table ip t {
    map services {
        type ipv4_addr . inet_proto . inet_service : verdict
        elements = { 198.18.0.2 . tcp . 80 : goto web, 198.18.0.2 . udp . 53 : accept,
                     198.18.0.2 . tcp . 25 : drop, 198.18.0.2 . tcp . 26 : continue,
                     198.18.0.2 . tcp . 27 : jump web, 198.18.0.2 . tcp . 28 : return }
    }
    chain web {
        ip saddr 198.18.0.9 drop
    }
    chain input {
        type filter hook input priority 0; policy drop;
        ip daddr . meta l4proto . th dport vmap @services
        tcp dport 26 accept
        tcp dport { 27, 28 } accept
        ip daddr . meta l4proto . th dport vmap { 198.18.0.3 . tcp . 80 : accept }
    }
}
)";

TEST_F(NftSets, VerdictMaps) {
    Ruleset& rs = ruleset(vmaps);
    // goto: the chain decides, or its end ends the base chain (its policy)
    EXPECT_VERDICT(rs, tcp("198.18.0.9", "198.18.0.2", 80), "DROP", "t:web", 1);
    EXPECT_VERDICT(rs, tcp("198.18.0.1", "198.18.0.2", 80), "DROP", "t:input", 0);
    EXPECT_VERDICT(rs, udp("198.18.0.2", 53), "ACCEPT", "t:input", 1);
    EXPECT_VERDICT(rs, tcp("198.18.0.1", "198.18.0.2", 25), "DROP", "t:input", 1);
    // continue, and jump's return: the next rule decides; return: the policy
    EXPECT_VERDICT(rs, tcp("198.18.0.1", "198.18.0.2", 26), "ACCEPT", "t:input", 2);
    EXPECT_VERDICT(rs, tcp("198.18.0.1", "198.18.0.2", 27), "ACCEPT", "t:input", 3);
    EXPECT_VERDICT(rs, tcp("198.18.0.9", "198.18.0.2", 27), "DROP", "t:web", 1);
    EXPECT_VERDICT(rs, tcp("198.18.0.1", "198.18.0.2", 28), "DROP", "t:input", 0);
    // not in the map: the next rules; the anonymous map
    EXPECT_VERDICT(rs, udp("198.18.0.2", 54), "DROP", "t:input", 0);
    EXPECT_VERDICT(rs, tcp("198.18.0.1", "198.18.0.3", 80), "ACCEPT", "t:input", 4);
    // th dport of ICMP is its checksum's bytes: no element has icmp
    EXPECT_VERDICT(rs, frame(Ipv4{.dst = ip("198.18.0.2")}, Icmp{}), "DROP", "t:input", 0);
}

TEST_F(NftSets, VerdictMapOfInterfaces) {
    const std::string text = R"(table ip t {
    map jumps { type ifname : verdict; elements = { "veth0" : jump from_veth, "lo" : accept } }
    chain from_veth { tcp dport 443 drop; }
    chain input {
        type filter hook input priority 0; policy accept;
        counter iifname vmap @jumps
        tcp dport 443 reject
    }
}
)";
    EXPECT_VERDICT(ruleset(text, {.in = "veth0"}), tcp("198.18.0.1", "198.18.0.2", 443), "DROP",
                   "t:from_veth", 1);
    EXPECT_VERDICT(ruleset(text, {.in = "veth0"}), tcp("198.18.0.1", "198.18.0.2", 80), "ACCEPT", "t:input",
                   0);
    EXPECT_VERDICT(ruleset(text, {.in = "lo"}), tcp("198.18.0.1", "198.18.0.2", 443), "ACCEPT", "t:input", 1);
    // not in the map: the next rule; the counter counts every packet that reached the lookup, in the map or not
    Ruleset rs(text, {.in = "veth00"});
    EXPECT_VERDICT(rs, tcp("198.18.0.1", "198.18.0.2", 80), "ACCEPT", "t:input", 0);
    std::optional<bpft_counter> c = rs.counter(Hook::xdp, "t", "input", 1);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->packets, 1u);
    EXPECT_VERDICT(rs, tcp("198.18.0.1", "198.18.0.2", 443), "REJECT", "t:input", 2);
}

}  // namespace
}  // namespace bpftables::test
