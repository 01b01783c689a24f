// Unit tests of -m tcp and -m udp (compiler/xt/tcp_udp.cpp) and their canonical printing.
#include <gtest/gtest.h>

#include "tests/unit/xt_rule_helper.hpp"

namespace bpftables {
namespace {

using test::Rejected;
using test::RoundTrip;

// Rules and the iptables-save text iptables-legacy 1.8.9 printed for them (filter table unless given).
const RoundTrip round_trips[] = {
    {"-p tcp --tcp-flags ALL NONE", "-p tcp -m tcp --tcp-flags FIN,SYN,RST,PSH,ACK,URG NONE"},
    {"-p tcp --tcp-flags ALL ALL",
     "-p tcp -m tcp --tcp-flags FIN,SYN,RST,PSH,ACK,URG FIN,SYN,RST,PSH,ACK,URG"},
    {"-p tcp --tcp-option 3 --dport 5 --sport 7 ! --syn",
     "-p tcp -m tcp --sport 7 --dport 5 --tcp-option 3 ! --tcp-flags FIN,SYN,RST,ACK SYN"},
    {"-p tcp --tcp-flags syn,fin SYN", "-p tcp -m tcp --tcp-flags FIN,SYN SYN"},
    {"-p tcp --tcp-flags NONE NONE", "-p tcp -m tcp"},
    {"-p tcp ! --tcp-flags NONE NONE", "-p tcp -m tcp ! --tcp-flags NONE NONE"},
    {"-p tcp --tcp-option 255", "-p tcp -m tcp --tcp-option 255"},
    {"-p tcp ! --tcp-option 0x10", "-p tcp -m tcp ! --tcp-option 16"},
    {"-p tcp --sport ssh --dport http:https", "-p tcp -m tcp --sport 22 --dport 80:443"},
    {"-p tcp --sport 0:0", "-p tcp -m tcp --sport 0"},
    {"-p tcp --sport 0x10", "-p tcp -m tcp --sport 16"},
    {"-p tcp --sport 010", "-p tcp -m tcp --sport 8"},
    {"-p udp --dport 0:65535", "-p udp -m udp"},
    {"-p udp ! --dport 0:65535", "-p udp -m udp ! --dport 0:65535"},
    {"-p tcp --source-port 4 --destination-port 5", "-p tcp -m tcp --sport 4 --dport 5"},
    {"-p tcp --sport=4", "-p tcp -m tcp --sport 4"},
    {"-p tcp --sport :ssh", "-p tcp -m tcp --sport 0:22"},
};

// Rules iptables-legacy 1.8.9 rejects.
const Rejected rejected_rules[] = {
    {"-p tcp --dport 80:22"},
    {"-p tcp --tcp-flags SYN,FIN,ECE SYN"},
    {"-p tcp --tcp-flags FIN"},
    {"-p tcp --tcp-option 0"},
    {"-p tcp --tcp-option 256"},
    {"-p tcp --sport 1 --sport 2"},
    {"-p tcp --sport 1 --source-port 2"},
    {"-p tcp --syn --tcp-flags SYN SYN"},
    {"-p tcp --sport 4::5"},
    {"-p tcp --sport ''"},
    {"-p udp --sport bogusservice"},
    {"-p udp --tcp-flags SYN SYN"},
};

TEST(XtTcpUdp, PrintsWhatIptablesSaves) {
    for (const RoundTrip& c : round_trips) EXPECT_EQ(test::save_rule(c.rule, c.table), c.saved) << c.rule;
}

TEST(XtTcpUdp, RejectsWhatIptablesRejects) {
    for (const Rejected& c : rejected_rules)
        EXPECT_TRUE(test::rejected(c.rule, c.table)) << c.rule << " => " << test::save_rule(c.rule, c.table);
}

TEST(XtTcpUdp, FullPortRangePrintsOnlyWhenInverted) {  // as iptables 1.8.11's libxt_tcp.t and libxt_udp.t
    EXPECT_EQ(test::save_rule("-p tcp -m tcp --sport :"), "-p tcp -m tcp");
    EXPECT_EQ(test::save_rule("-p tcp -m tcp ! --dport :"), "-p tcp -m tcp ! --dport 0:65535");
    EXPECT_EQ(test::save_rule("-p udp -m udp --dport 4:"), "-p udp -m udp --dport 4:65535");
}

TEST(XtTcpUdp, SynIsTheFlagsItStandsFor) {
    Diagnostics d;
    auto r = test::lower_rule("-p tcp ! --syn", d);
    const auto* m = test::last_match<ir::TcpMatch>(r);
    ASSERT_TRUE(m) << d.str();
    ASSERT_TRUE(m->flags);
    EXPECT_EQ(m->flags->value, (ir::TcpFlags{0x17, 0x02}));
    EXPECT_TRUE(m->flags->invert);
}

TEST(XtTcpUdp, ReversedRangeSaysWhy) {
    EXPECT_EQ(test::save_rule("-p udp -m udp --sport 4:3"),
              "error: invalid port range \"4:3\": the first port is greater than the second");
    EXPECT_EQ(test::save_rule("-p tcp --tcp-flags SYN,ECE SYN"), "error: unknown TCP flag \"ECE\"");
}

}  // namespace
}  // namespace bpftables
