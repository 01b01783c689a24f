// -m mark: at XDP the packet has no mark yet (handed to the kernel); at TC the skb mark is compared, and in
// BPF_PROG_TEST_RUN it is 0. With rules in mangle (which may set the mark first) the kernel decides.
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::Ipv4;
using loader::Tcp;
using loader::Udp;

class Mark : public RuntimeTest {};

TEST_F(Mark, XdpHandsTheRuleToTheKernel) {
    std::string text = input_chain({"-p udp -j ACCEPT", "-m mark --mark 0x1 -j DROP"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT_ON(rs, Hook::xdp, frame(Ipv4{}, Udp{}), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT_ON(rs, Hook::xdp, frame(Ipv4{}, Tcp{}), "KERNEL", "INPUT", 2);
}

TEST_F(Mark, TcComparesTheSkbMark) {
    std::string text =
        input_chain({"-m mark --mark 0x1 -j DROP", "-m mark --mark 0x0/0xff -j ACCEPT"}, "DROP");
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT_ON(rs, Hook::tc_ingress, frame(Ipv4{}, Tcp{}), "ACCEPT", "INPUT", 2);
}

TEST_F(Mark, NegatedOnTc) {
    std::string text =
        input_chain({"-m mark ! --mark 0x0 -j DROP", "-m mark ! --mark 0x5/0x7 -j ACCEPT"}, "DROP");
    REQUIRE_PARSER(text);
    EXPECT_VERDICT_ON(ruleset(text), Hook::tc_ingress, frame(Ipv4{}, Tcp{}), "ACCEPT", "INPUT", 2);
}

TEST_F(Mark, ValueOutsideTheMaskNeverMatches) {
    // xt_mark compares (mark & mask) == value: a value with bits outside the mask cannot match
    std::string text = input_chain({"-m mark --mark 0x100/0xff -j DROP"});
    REQUIRE_PARSER(text);
    EXPECT_VERDICT_ON(ruleset(text), Hook::tc_ingress, frame(Ipv4{}, Tcp{}), "ACCEPT", "INPUT", 0);
}

TEST_F(Mark, MangleRulesHandTheRuleToTheKernel) {
    std::string mangle =
        "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
        ":OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n";
    // A mangle rule that may change the packet (here its mark): the packet is the kernel's before any filter
    // rule (codegen/entry_emitter.cpp: kernel_tables_before).
    std::string marks = mangle + "-A PREROUTING -p tcp -j MARK --set-xmark 0x1/0xffffffff\nCOMMIT\n" +
                        input_chain({"-m mark --mark 0x1 -j DROP"});
    REQUIRE_PARSER(marks);
    EXPECT_VERDICT_ON(ruleset(marks), Hook::tc_ingress, frame(Ipv4{}, Tcp{}), "KERNEL", "INPUT", -1);
    // Rules that change nothing (a counter) let the packet on; a mark match still defers to the kernel, where
    // mangle's chains may have set the mark.
    std::string counts =
        mangle + "-A PREROUTING -p tcp\nCOMMIT\n" + input_chain({"-m mark --mark 0x1 -j DROP"});
    REQUIRE_PARSER(counts);
    EXPECT_VERDICT_ON(ruleset(counts), Hook::tc_ingress, frame(Ipv4{}, Tcp{}), "KERNEL", "INPUT", 1);
}

}  // namespace
}  // namespace bpftables::test
