// Targets and chain traversal: ACCEPT, DROP, RETURN, -j CHAIN, -g CHAIN, rules without a target, policies,
// REJECT (handed to the kernel, which builds the reply) and LOG (handed to the kernel, which logs and goes
// on).
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::ip;
using loader::Ipv4;
using loader::Tcp;
using loader::Udp;

class Targets : public RuntimeTest {};

std::vector<uint8_t> tcp_to(uint16_t dport) {
    return frame(Ipv4{}, Tcp{.dport = dport});
}

std::string filter(const std::string& input_policy, const std::string& user_chains,
                   const std::string& rules) {
    return "*filter\n:INPUT " + input_policy + " [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" +
           user_chains + rules + "COMMIT\n";
}

TEST_F(Targets, FirstMatchingTerminalRuleDecides) {
    Ruleset& rs = ruleset(input_chain({"-p tcp -j ACCEPT", "-p tcp -j DROP"}, "DROP"));
    EXPECT_VERDICT(rs, tcp_to(80), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Udp{}), "DROP", "INPUT", 0);
}

TEST_F(Targets, PolicyAccept) {
    EXPECT_VERDICT(input_chain({"-p udp -j DROP"}, "ACCEPT"), tcp_to(80), "ACCEPT", "INPUT", 0);
}

TEST_F(Targets, EmptyChainPolicy) {
    EXPECT_VERDICT(input_chain({}, "DROP"), tcp_to(80), "DROP", "INPUT", 0);
    EXPECT_VERDICT(input_chain({}, "ACCEPT"), tcp_to(80), "ACCEPT", "INPUT", 0);
}

TEST_F(Targets, RuleWithoutTargetFallsThrough) {
    Ruleset& rs = ruleset(input_chain({"-p tcp", "-p tcp -m tcp --dport 80", "-j DROP"}));
    EXPECT_VERDICT(rs, tcp_to(80), "DROP", "INPUT", 3);
}

TEST_F(Targets, JumpAndFallOffReturnsToTheCaller) {
    Ruleset& rs = ruleset(filter("ACCEPT", ":USER - [0:0]\n",
                                 "-A INPUT -p tcp -j USER\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"
                                 "-A INPUT -j DROP\n-A USER -p tcp -m tcp --dport 80 -j ACCEPT\n"
                                 "-A USER -p tcp -m tcp --dport 81 -j DROP\n"));
    EXPECT_VERDICT(rs, tcp_to(80), "ACCEPT", "USER", 1);
    EXPECT_VERDICT(rs, tcp_to(81), "DROP", "USER", 2);
    // fell off USER: INPUT goes on after the jump
    EXPECT_VERDICT(rs, tcp_to(22), "ACCEPT", "INPUT", 2);
    EXPECT_VERDICT(rs, tcp_to(23), "DROP", "INPUT", 3);
}

TEST_F(Targets, ReturnFromUserChain) {
    Ruleset& rs = ruleset(filter("DROP", ":USER - [0:0]\n",
                                 "-A INPUT -j USER\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"
                                 "-A USER -p tcp -m tcp --dport 22 -j RETURN\n-A USER -p tcp -j ACCEPT\n"));
    EXPECT_VERDICT(rs, tcp_to(22), "ACCEPT", "INPUT", 2);
    EXPECT_VERDICT(rs, tcp_to(80), "ACCEPT", "USER", 2);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Udp{}), "DROP", "INPUT", 0);
}

TEST_F(Targets, ReturnInBuiltinChainAppliesThePolicy) {
    Ruleset& rs = ruleset(input_chain({"-p tcp -m tcp --dport 22 -j RETURN", "-p tcp -j ACCEPT"}, "DROP"));
    EXPECT_VERDICT(rs, tcp_to(22), "DROP", "INPUT", 0);
    EXPECT_VERDICT(rs, tcp_to(80), "ACCEPT", "INPUT", 2);
}

TEST_F(Targets, NestedJumps) {
    Ruleset& rs =
        ruleset(filter("ACCEPT", ":A - [0:0]\n:B - [0:0]\n",
                       "-A INPUT -j A\n-A INPUT -j DROP\n"
                       "-A A -j B\n-A A -p tcp -m tcp --dport 2 -j ACCEPT\n"
                       "-A B -p tcp -m tcp --dport 1 -j DROP\n-A B -p tcp -m tcp --dport 2 -j RETURN\n"
                       "-A B -p tcp -m tcp --dport 3 -j ACCEPT\n"));
    EXPECT_VERDICT(rs, tcp_to(1), "DROP", "B", 1);
    // RETURN in B goes back to A, after its jump
    EXPECT_VERDICT(rs, tcp_to(2), "ACCEPT", "A", 2);
    EXPECT_VERDICT(rs, tcp_to(3), "ACCEPT", "B", 3);
    // fell off B then A: INPUT rule 2
    EXPECT_VERDICT(rs, tcp_to(4), "DROP", "INPUT", 2);
}

TEST_F(Targets, SameChainJumpedFromTwoPlaces) {
    Ruleset& rs = ruleset(filter("DROP", ":U - [0:0]\n",
                                 "-A INPUT -p tcp -j U\n-A INPUT -p tcp -m tcp --dport 5 -j ACCEPT\n"
                                 "-A INPUT -p udp -j U\n-A INPUT -p udp -j ACCEPT\n"
                                 "-A U -p udp -m udp --dport 53 -j DROP\n"));
    EXPECT_VERDICT(rs, tcp_to(5), "ACCEPT", "INPUT", 2);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Udp{.dport = 53}), "DROP", "U", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Udp{.dport = 54}), "ACCEPT", "INPUT", 4);
}

TEST_F(Targets, GotoFromBuiltinChainFallsOffToThePolicy) {
    Ruleset& rs = ruleset(filter("DROP", ":G - [0:0]\n",
                                 "-A INPUT -p tcp -g G\n-A INPUT -p tcp -j ACCEPT\n"
                                 "-A G -p tcp -m tcp --dport 80 -j ACCEPT\n"));
    EXPECT_VERDICT(rs, tcp_to(80), "ACCEPT", "G", 1);
    // G falls off: there is no caller to return to, so INPUT's policy decides (rule 2 is not reached)
    EXPECT_VERDICT(rs, tcp_to(81), "DROP", "INPUT", 0);
}

TEST_F(Targets, GotoThenFallOffReturnsToTheCallersCaller) {
    Ruleset& rs = ruleset(filter("DROP", ":A - [0:0]\n:G - [0:0]\n",
                                 "-A INPUT -j A\n-A INPUT -p tcp -m tcp --dport 81 -j ACCEPT\n"
                                 "-A A -p tcp -g G\n-A A -j DROP\n"
                                 "-A G -p tcp -m tcp --dport 80 -j ACCEPT\n"));
    EXPECT_VERDICT(rs, tcp_to(80), "ACCEPT", "G", 1);
    // G falls off: back to INPUT (A's caller), not to A's rule 2
    EXPECT_VERDICT(rs, tcp_to(81), "ACCEPT", "INPUT", 2);
    EXPECT_VERDICT(rs, tcp_to(82), "DROP", "INPUT", 0);
    // a packet the goto does not take goes on in A
    EXPECT_VERDICT(rs, frame(Ipv4{}, Udp{}), "DROP", "A", 2);
}

TEST_F(Targets, ReturnInGotoTargetReturnsToTheCallersCaller) {
    Ruleset& rs = ruleset(filter("ACCEPT", ":A - [0:0]\n:G - [0:0]\n",
                                 "-A INPUT -j A\n-A INPUT -j DROP\n"
                                 "-A A -g G\n-A A -j ACCEPT\n"
                                 "-A G -j RETURN\n-A G -j ACCEPT\n"));
    EXPECT_VERDICT(rs, tcp_to(1), "DROP", "INPUT", 2);
}

TEST_F(Targets, GotoChain) {
    // goto inside a goto target: falling off the last returns to the last -j
    Ruleset& rs = ruleset(filter("ACCEPT", ":A - [0:0]\n:G1 - [0:0]\n:G2 - [0:0]\n",
                                 "-A INPUT -j A\n-A INPUT -j DROP\n"
                                 "-A A -g G1\n-A G1 -g G2\n-A G2 -p udp -j ACCEPT\n"));
    EXPECT_VERDICT(rs, frame(Ipv4{}, Udp{}), "ACCEPT", "G2", 1);
    EXPECT_VERDICT(rs, tcp_to(1), "DROP", "INPUT", 2);
}

TEST_F(Targets, RejectIsHandedToTheKernel) {
    std::string text = input_chain(
        {"-p tcp -m tcp --dport 113 -j REJECT --reject-with tcp-reset", "-p udp -j REJECT", "-j ACCEPT"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, tcp_to(113), "REJECT", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Udp{}), "REJECT", "INPUT", 2);
    EXPECT_VERDICT(rs, tcp_to(114), "ACCEPT", "INPUT", 3);
}

TEST_F(Targets, RejectInUserChain) {
    std::string text = filter("ACCEPT", ":U - [0:0]\n",
                              "-A INPUT -j U\n-A U -p udp -j REJECT --reject-with icmp-host-prohibited\n");
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Udp{}), "REJECT", "U", 1);
    EXPECT_VERDICT(rs, tcp_to(1), "ACCEPT", "INPUT", 0);
}

TEST_F(Targets, LogIsHandedToTheKernel) {
    std::string text = input_chain({"-p tcp -j LOG --log-prefix \"in: \"", "-j DROP"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, tcp_to(1), "KERNEL", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Udp{}), "DROP", "INPUT", 2);
}

// A module or target bpftables has no compiler for is the kernel's: the packets that reach it (the rule's
// other matches true) are handed over, the rules before it still decide in the program.
TEST_F(Targets, ExtensionsWithoutACompilerAreHandedToTheKernel) {
    std::string text =
        input_chain({"-p udp -j DROP", "-p tcp -m tcp --dport 1 -m recent --name x --rcheck -j ACCEPT",
                     "-p tcp -m tcp --dport 2 -j MARK --set-mark 1", "-j ACCEPT"},
                    "DROP");
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Udp{}), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, tcp_to(1), "KERNEL", "INPUT", 2);
    EXPECT_VERDICT(rs, tcp_to(2), "KERNEL", "INPUT", 3);
    EXPECT_VERDICT(rs, tcp_to(3), "ACCEPT", "INPUT", 4);
}

// SET writes the ipsets the program holds copies of; the nat targets are the nat table's.
TEST_F(Targets, SetAndNatTargetsAreRefused) {
    for (const char* rule : {"-j SET --add-set s src", "-j DNAT --to-destination 198.18.0.1"}) {
        std::string text = input_chain({"-p tcp", rule});
        REQUIRE_PARSER(text);
        std::string error;
        EXPECT_FALSE(Ruleset(text).run(Hook::xdp, tcp_to(1), error)) << rule;
        EXPECT_NE(error.find("target '"), std::string::npos) << error;
    }
}

TEST_F(Targets, RejectAndLogFromTheIr) {
    // the same, with the targets set in the IR (independent of their parsers)
    ir::Program p = program_of(input_chain({"-p tcp -j ACCEPT", "-p udp -j ACCEPT", "-j ACCEPT"}));
    rule_of(p, "INPUT", 1).target = ir::RejectTarget{};
    rule_of(p, "INPUT", 2).target = ir::LogTarget{};
    Ruleset rs(std::move(p));
    EXPECT_VERDICT(rs, tcp_to(1), "REJECT", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Udp{}), "KERNEL", "INPUT", 2);
    EXPECT_VERDICT(rs, frame(Ipv4{}, loader::Icmp{}), "ACCEPT", "INPUT", 3);
}

TEST_F(Targets, ChainsThatAreNotJumpedToDoNotRun) {
    Ruleset& rs = ruleset(filter("ACCEPT", ":UNUSED - [0:0]\n", "-A UNUSED -j DROP\n"));
    EXPECT_VERDICT(rs, tcp_to(1), "ACCEPT", "INPUT", 0);
}

TEST_F(Targets, ForwardAndOutputChainsAreSeparate) {
    std::string text =
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A INPUT -p udp -j DROP\n-A FORWARD -p tcp -j ACCEPT\n-A OUTPUT -p tcp -j DROP\nCOMMIT\n";
    EXPECT_VERDICT(ruleset(text), frame(Ipv4{}, Udp{}), "DROP", "INPUT", 1);
    Ruleset& fwd = ruleset(text, {.chain = BPFT_CHAIN_FORWARD});
    EXPECT_VERDICT(fwd, tcp_to(1), "ACCEPT", "FORWARD", 1);
    EXPECT_VERDICT(fwd, frame(Ipv4{}, Udp{}), "DROP", "FORWARD", 0);
    Ruleset& out = ruleset(text, {.chain = BPFT_CHAIN_OUTPUT});
    EXPECT_VERDICT_ON(out, Hook::tc_egress, tcp_to(1), "DROP", "OUTPUT", 1);
    EXPECT_VERDICT_ON(out, Hook::tc_egress, frame(Ipv4{}, Udp{}), "ACCEPT", "OUTPUT", 0);
}

TEST_F(Targets, RawPreroutingRunsFirst) {
    std::string text =
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -s 192.0.2.0/24 -j "
        "DROP\nCOMMIT\n"
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -j "
        "ACCEPT\nCOMMIT\n";
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, frame(Ipv4{.src = ip("192.0.2.1")}, Tcp{}), "DROP", "raw:PREROUTING", 1);
    // raw's policy ACCEPT only ends raw: filter INPUT still runs
    EXPECT_VERDICT(rs, frame(Ipv4{.src = ip("192.0.3.1")}, Tcp{}), "ACCEPT", "INPUT", 1);
}

}  // namespace
}  // namespace bpftables::test
