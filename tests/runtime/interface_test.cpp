// -i / -o: exact names, the '+' wildcard, negation, full-length names; names come from in_override and
// out_override (BPF_PROG_TEST_RUN has no real input interface).
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::Ipv4;
using loader::Tcp;

class Interface : public RuntimeTest {};

std::string chain_with(const std::vector<std::string>& r) {
    return input_chain(r, "DROP");
}

TEST_F(Interface, ExactName) {
    std::string text = chain_with({"-i eth0 -j ACCEPT"});
    EXPECT_VERDICT(ruleset(text, {.in = "eth0"}), frame(Ipv4{}, Tcp{}), "ACCEPT", "INPUT", 1);
    // "eth0" does not match eth00 nor eth
    EXPECT_VERDICT(ruleset(text, {.in = "eth00"}), frame(Ipv4{}, Tcp{}), "DROP", "INPUT", 0);
    EXPECT_VERDICT(ruleset(text, {.in = "eth"}), frame(Ipv4{}, Tcp{}), "DROP", "INPUT", 0);
    EXPECT_VERDICT(ruleset(text, {.in = "eth1"}), frame(Ipv4{}, Tcp{}), "DROP", "INPUT", 0);
}

TEST_F(Interface, WildcardPrefix) {
    std::string text = chain_with({"-i veth+ -j ACCEPT"});
    EXPECT_VERDICT(ruleset(text, {.in = "veth"}), frame(Ipv4{}, Tcp{}), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(ruleset(text, {.in = "veth12ab"}), frame(Ipv4{}, Tcp{}), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(ruleset(text, {.in = "vet"}), frame(Ipv4{}, Tcp{}), "DROP", "INPUT", 0);
    EXPECT_VERDICT(ruleset(text, {.in = "eth0"}), frame(Ipv4{}, Tcp{}), "DROP", "INPUT", 0);
}

TEST_F(Interface, PlusAloneMatchesEveryInterface) {
    std::string text = chain_with({"-i + -j ACCEPT"});
    EXPECT_VERDICT(ruleset(text, {.in = "anything"}), frame(Ipv4{}, Tcp{}), "ACCEPT", "INPUT", 1);
}

TEST_F(Interface, Negated) {
    std::string text = chain_with({"! -i lo -j ACCEPT"});
    EXPECT_VERDICT(ruleset(text, {.in = "lo"}), frame(Ipv4{}, Tcp{}), "DROP", "INPUT", 0);
    EXPECT_VERDICT(ruleset(text, {.in = "lo0"}), frame(Ipv4{}, Tcp{}), "ACCEPT", "INPUT", 1);
    std::string wild = chain_with({"! -i eth+ -j ACCEPT"});
    EXPECT_VERDICT(ruleset(wild, {.in = "eth7"}), frame(Ipv4{}, Tcp{}), "DROP", "INPUT", 0);
    EXPECT_VERDICT(ruleset(wild, {.in = "wlan0"}), frame(Ipv4{}, Tcp{}), "ACCEPT", "INPUT", 1);
}

TEST_F(Interface, FifteenCharacterName) {
    std::string text = chain_with({"-i abcdefghijklmno -j ACCEPT", "-i abcdefghijklmn+ -j DROP"});
    EXPECT_VERDICT(ruleset(text, {.in = "abcdefghijklmno"}), frame(Ipv4{}, Tcp{}), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(ruleset(text, {.in = "abcdefghijklmnp"}), frame(Ipv4{}, Tcp{}), "DROP", "INPUT", 2);
    EXPECT_VERDICT(ruleset(text, {.in = "abcdefghijklmn"}), frame(Ipv4{}, Tcp{}), "DROP", "INPUT", 2);
}

TEST_F(Interface, OutputInterfaceInForward) {
    std::string text =
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A FORWARD -i eth0 -o eth1 -j ACCEPT\n-A FORWARD -o eth+ -j DROP\n-A FORWARD -j ACCEPT\nCOMMIT\n";
    RunOptions fwd{.chain = BPFT_CHAIN_FORWARD, .in = "eth0", .out = "eth1"};
    EXPECT_VERDICT(ruleset(text, fwd), frame(Ipv4{}, Tcp{}), "ACCEPT", "FORWARD", 1);
    fwd.out = "eth2";
    EXPECT_VERDICT(ruleset(text, fwd), frame(Ipv4{}, Tcp{}), "DROP", "FORWARD", 2);
    fwd.out = "wlan0";
    EXPECT_VERDICT(ruleset(text, fwd), frame(Ipv4{}, Tcp{}), "ACCEPT", "FORWARD", 3);
}

TEST_F(Interface, UnknownInputNameIsHandedToTheKernel) {
    // without in_override the test run's interface has no name in bpft_ifnames: the program cannot decide
    // the rule and hands the packet over at that rule
    Ruleset& rs = ruleset(chain_with({"-p udp -j ACCEPT", "-i eth0 -j ACCEPT"}));
    EXPECT_VERDICT(rs, frame(Ipv4{}, loader::Udp{}), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Tcp{}), "KERNEL", "INPUT", 2);
}

}  // namespace
}  // namespace bpftables::test
