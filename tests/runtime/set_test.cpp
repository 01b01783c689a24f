// -m set --match-set NAME src|dst against ipsets of type hash:ip and hash:net (from an `ipset save` text);
// negation.
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::ip;
using loader::Ipv4;
using loader::Tcp;

class Set : public RuntimeTest {};

const std::string ipsets =
    "create hosts hash:ip family inet hashsize 1024 maxelem 65536\nadd hosts 192.0.2.1\nadd hosts 192.0.2.3\n"
    "create nets hash:net family inet hashsize 1024 maxelem 65536\nadd nets 10.0.0.0/8\nadd nets "
    "172.16.5.0/24\n"
    "add nets 203.0.113.77\n";

std::vector<uint8_t> packet(const char* src, const char* dst = "198.18.0.2") {
    return frame(Ipv4{.src = ip(src), .dst = ip(dst)}, Tcp{});
}

TEST_F(Set, HashIpSource) {
    std::string text = input_chain({"-m set --match-set hosts src -j DROP"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text, {.ipsets = ipsets});
    EXPECT_VERDICT(rs, packet("192.0.2.1"), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, packet("192.0.2.3"), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, packet("192.0.2.2"), "ACCEPT", "INPUT", 0);
    // the destination is not looked at
    EXPECT_VERDICT(rs, packet("198.18.0.9", "192.0.2.1"), "ACCEPT", "INPUT", 0);
}

TEST_F(Set, HashNetDestination) {
    std::string text = input_chain({"-m set --match-set nets dst -j DROP"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text, {.ipsets = ipsets});
    EXPECT_VERDICT(rs, packet("1.1.1.1", "10.200.3.4"), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, packet("1.1.1.1", "172.16.5.255"), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, packet("1.1.1.1", "172.16.6.0"), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, packet("1.1.1.1", "203.0.113.77"), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, packet("1.1.1.1", "203.0.113.78"), "ACCEPT", "INPUT", 0);
}

TEST_F(Set, Negated) {
    std::string text = input_chain({"-m set ! --match-set hosts src -j DROP"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text, {.ipsets = ipsets});
    EXPECT_VERDICT(rs, packet("192.0.2.1"), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, packet("192.0.2.2"), "DROP", "INPUT", 1);
}

TEST_F(Set, TwoSetsInOneRuleset) {
    std::string text =
        input_chain({"-m set --match-set hosts src -j ACCEPT", "-m set --match-set nets src -j DROP"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text, {.ipsets = ipsets});
    EXPECT_VERDICT(rs, packet("192.0.2.3"), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, packet("10.0.0.1"), "DROP", "INPUT", 2);
    EXPECT_VERDICT(rs, packet("11.0.0.1"), "ACCEPT", "INPUT", 0);
}

// Sets whose contents change in the kernel (timeouts) or that exclude addresses (nomatch entries of hash:net)
// are the kernel's: the program hands the packets that reach their rule over.
TEST_F(Set, TimeoutAndNomatchSetsAreTheKernels) {
    const std::string sets =
        "create timed hash:ip family inet timeout 600\nadd timed 192.0.2.1 timeout 300\n"
        "create holes hash:net family inet\nadd holes 10.0.0.0/8\nadd holes 10.1.0.0/16 nomatch\n";
    std::string text = input_chain(
        {"-p udp -j ACCEPT", "-m set --match-set timed src -j DROP", "-m set --match-set holes src -j DROP"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text, {.ipsets = sets});
    EXPECT_VERDICT(rs, packet("192.0.2.1"), "KERNEL", "INPUT", 2);
    EXPECT_VERDICT(rs, frame(Ipv4{.src = ip("192.0.2.1")}, loader::Udp{}), "ACCEPT", "INPUT", 1);
    Ruleset& holes = ruleset(input_chain({"-m set --match-set holes src -j DROP"}), {.ipsets = sets});
    EXPECT_VERDICT(holes, packet("10.1.2.3"), "KERNEL", "INPUT", 1);
}

}  // namespace
}  // namespace bpftables::test
