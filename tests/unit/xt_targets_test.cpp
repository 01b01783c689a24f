// Unit tests of the REJECT, LOG, NOTRACK and CT targets (compiler/xt/targets.cpp) and their canonical
// printing.
#include <gtest/gtest.h>

#include "tests/unit/xt_rule_helper.hpp"

namespace bpftables {
namespace {

using test::Rejected;
using test::RoundTrip;

// Rules and the iptables-save text iptables-legacy 1.8.9 printed for them (filter table unless given).
const RoundTrip round_trips[] = {
    {"-j REJECT --reject-with net-unreach", "-j REJECT --reject-with icmp-net-unreachable"},
    {"-j REJECT --reject-with host-unreach", "-j REJECT --reject-with icmp-host-unreachable"},
    {"-j REJECT --reject-with proto-unreach", "-j REJECT --reject-with icmp-proto-unreachable"},
    {"-j REJECT --reject-with port-unreach", "-j REJECT --reject-with icmp-port-unreachable"},
    {"-j REJECT --reject-with net-prohib", "-j REJECT --reject-with icmp-net-prohibited"},
    {"-j REJECT --reject-with host-prohib", "-j REJECT --reject-with icmp-host-prohibited"},
    {"-j REJECT --reject-with admin-prohib", "-j REJECT --reject-with icmp-admin-prohibited"},
    {"-p tcp -j REJECT --reject-with tcp-reset", "-p tcp -j REJECT --reject-with tcp-reset"},
    {"-p tcp -j REJECT --reject-with tcp-rst", "-p tcp -j REJECT --reject-with tcp-reset"},
    {"-j REJECT --reject-with ICMP-NET-UNREACHABLE", "-j REJECT --reject-with icmp-net-unreachable"},
    {"-j REJECT --reject-with icmp-p", "-j REJECT --reject-with icmp-proto-unreachable"},
    {"-j REJECT --reject-with h", "-j REJECT --reject-with icmp-host-unreachable"},
    {"-j LOG --log-prefix abc", "-j LOG --log-prefix abc"},
    {"-j LOG --log-level 4", "-j LOG"},
    {"-j LOG --log-level warning", "-j LOG"},
    {"-j LOG --log-level emerg", "-j LOG --log-level 0"},
    {"-j LOG --log-level panic", "-j LOG --log-level 0"},
    {"-j LOG --log-level crit", "-j LOG --log-level 2"},
    {"-j LOG --log-level error", "-j LOG --log-level 3"},
    {"-j LOG --log-level notice", "-j LOG --log-level 5"},
    {"-j LOG --log-level info", "-j LOG --log-level 6"},
    {"-j LOG --log-level debug", "-j LOG --log-level 7"},
    {"-j LOG --log-level 0x3", "-j LOG --log-level 3"},
    {"-j LOG --log-uid --log-ip-options --log-tcp-options --log-tcp-sequence --log-macdecode --log-level 0 "
     "--log-prefix 'a\"b'",
     "-j LOG --log-prefix \"a\\\"b\" --log-level 0 --log-tcp-sequence --log-tcp-options --log-ip-options "
     "--log-uid --log-macdecode"},
    {"-j LOG --log-prefix 123456789012345678901234567890",
     "-j LOG --log-prefix 12345678901234567890123456789"},
    {"-j LOG --log-prefix \"a'b\"", "-j LOG --log-prefix \"a\\'b\""},
    {"-j LOG --log-prefix a.b", "-j LOG --log-prefix \"a.b\""},
    {"-j LOG --log-prefix --log-uid", "-j LOG --log-prefix --log-uid"},
    {"-j CT --notrack --zone 5", "-j CT --notrack --zone 5", "raw"},
    {"-j CT --zone 5 --ctevents secmark,natseqinfo,new --expevents new --notrack",
     "-j CT --notrack --ctevents new,natseqinfo,secmark --expevents new --zone 5", "raw"},
    {"-j CT --zone-orig 5", "-j CT --zone-orig 5", "raw"},
    {"-j CT --zone-reply 5", "-j CT --zone-reply 5", "raw"},
    {"-j CT --zone-orig 5 --zone-reply 6", "-j CT --zone 6", "raw"},
    {"-j CT --zone-orig 5 --zone 6", "-j CT --zone-orig 6", "raw"},
    {"-j CT --zone-reply 0", "-j CT", "raw"},
    {"-j CT --zone 0x10", "-j CT --zone 16", "raw"},
    {"-j CT --zone mark", "-j CT --zone mark", "raw"},
    {"-j CT --zone-orig mark", "-j CT --zone-orig mark", "raw"},
    {"-j CT", "-j CT", "raw"},
    {"-j NOTRACK", "-j NOTRACK", "raw"},
    {"-j CT --zone 05", "-j CT --zone 5", "raw"},
    {"-p tcp -j NOTRACK", "-p tcp -j NOTRACK", "raw"},
};

// Rules iptables-legacy 1.8.9 rejects.
const Rejected rejected_rules[] = {
    {"-j REJECT --reject-with tcp-reset"},
    {"! -p tcp -j REJECT --reject-with tcp-reset"},
    {"-j REJECT --reject-with icmp-echo-reply"},
    {"-j REJECT --reject-with echo-reply"},
    {"-j REJECT --reject-with icmp-net-unreachable --reject-with icmp-host-unreachable"},
    {"-j REJECT --reject-with icmp6-port-unreachable"},
    {"-j REJECT --reject-with foo"},
    {"-j REJECT ! --reject-with icmp-net-unreachable"},
    {"-j LOG --log-level warn"},
    {"-j LOG --log-level 8"},
    {"-j LOG --log-level DEBUG"},
    {"-j LOG --log-level 1 --log-level 2"},
    {"-j LOG --log-prefix ''"},
    {"-j LOG --log-prefix a --log-prefix b"},
    {"-j LOG --log-uid --log-uid"},
    {"-j LOG ! --log-uid"},
    {"-j NOTRACK"},
    {"-j CT --notrack"},
    {"-j CT --zone 65536", "raw"},
    {"-j CT --ctevents NEW", "raw"},
    {"-j CT --ctevents destroy,new,natseqinfo,secmark,label", "raw"},
    {"-j CT --ctevents new,,related", "raw"},
    {"-j CT --expevents destroy", "raw"},
    {"-j CT --notrack --notrack", "raw"},
    {"-j CT ! --notrack", "raw"},
    {"-j CT --zone 5 --zone 6", "raw"},
};

TEST(XtTargets, PrintsWhatIptablesSaves) {
    for (const RoundTrip& c : round_trips) EXPECT_EQ(test::save_rule(c.rule, c.table), c.saved) << c.rule;
}

TEST(XtTargets, RejectsWhatIptablesRejects) {
    for (const Rejected& c : rejected_rules)
        EXPECT_TRUE(test::rejected(c.rule, c.table)) << c.rule << " => " << test::save_rule(c.rule, c.table);
}

TEST(XtTargets, RejectDefaultsToPortUnreachable) {
    EXPECT_EQ(test::save_rule("-j REJECT"), "-j REJECT --reject-with icmp-port-unreachable");
    Diagnostics d;
    auto r = test::lower_rule("-j REJECT --reject-with host-prohib", d);
    ASSERT_TRUE(r) << d.str();
    EXPECT_EQ(r->target, ir::Target{ir::RejectTarget{"icmp-host-prohibited"}});
}

TEST(XtTargets, TcpResetNeedsTcp) {
    EXPECT_EQ(test::save_rule("-p udp -j REJECT --reject-with tcp-reset"),
              "error: REJECT --reject-with tcp-reset is only valid with -p tcp");
}

TEST(XtTargets, LogKeepsLevelPrefixAndFlags) {
    Diagnostics d;
    auto r = test::lower_rule("-j LOG --log-level alert --log-prefix \"in: \" --log-uid --log-macdecode", d);
    ASSERT_TRUE(r) << d.str();
    const auto* t = std::get_if<ir::LogTarget>(&r->target);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->level, 1);
    EXPECT_EQ(t->prefix, "in: ");
    EXPECT_EQ(t->flags, 0x08 | 0x20);
}

TEST(XtTargets, LongLogPrefixIsCutWithAWarning) {
    Diagnostics d;
    auto r = test::lower_rule("-j LOG --log-prefix 123456789012345678901234567890", d);
    ASSERT_TRUE(r) << d.str();
    EXPECT_EQ(std::get<ir::LogTarget>(r->target).prefix, "12345678901234567890123456789");
    ASSERT_EQ(d.all().size(), 1u);
    EXPECT_EQ(d.all()[0].severity, Severity::warning);
}

TEST(XtTargets, CtKeepsItsOptionsInSaveOrder) {
    Diagnostics d;
    auto r = test::lower_rule("-j CT --zone-reply 7 --expevents new --helper ftp --notrack", d, "raw");
    ASSERT_TRUE(r) << d.str();
    const auto* t = std::get_if<ir::CtTarget>(&r->target);
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->notrack);
    EXPECT_EQ(t->args,
              (std::vector<std::string>{"--helper", "ftp", "--expevents", "new", "--zone-reply", "7"}));
}

TEST(XtTargets, NotrackAndCtOnlyInRaw) {
    EXPECT_EQ(test::save_rule("-j NOTRACK"),
              "error: the NOTRACK target is only valid in the raw table, not in filter");
    EXPECT_EQ(test::save_rule("-j CT --notrack", "mangle"),
              "error: the CT target is only valid in the raw table, not in mangle");
}

}  // namespace
}  // namespace bpftables
