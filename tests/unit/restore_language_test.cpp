// Every line form of the iptables-restore language, each checked through the canonical printer.
#include <gtest/gtest.h>

#include "compiler/iptables_lower.hpp"
#include "compiler/ir_print.hpp"

namespace bpftables {
namespace {

std::string restore(const std::string& body, ir::PrintOptions print = {}) {
    Diagnostics d;
    auto p = parse_and_lower(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" + body + "COMMIT\n",
        "t.rules", d);
    EXPECT_TRUE(p) << d.str();
    if (!p) return "";
    std::string out = ir::to_save(*p, print);
    return out.substr(out.find(":OUTPUT ACCEPT [0:0]\n") + 21);  // the user chains and the rules
}

std::string error_of(const std::string& body) {
    Diagnostics d;
    auto p = parse_and_lower("*filter\n:INPUT ACCEPT [0:0]\n" + body + "COMMIT\n", "t.rules", d);
    EXPECT_FALSE(p);
    return d.str();
}

TEST(RestoreLanguage, CommentsAndBlankLinesAreIgnored) {
    EXPECT_EQ(restore("# a comment\n\n   \n-A INPUT -j ACCEPT\n"), "-A INPUT -j ACCEPT\nCOMMIT\n");
}

TEST(RestoreLanguage, CountersBeforeARuleAndOnAChain) {
    Diagnostics d;
    auto p =
        parse_and_lower("*filter\n:INPUT DROP [7:420]\n[3:180] -A INPUT -p tcp -j ACCEPT\nCOMMIT\n", "t", d);
    ASSERT_TRUE(p) << d.str();
    EXPECT_EQ(ir::to_save(*p, {.counters = true}),
              "*filter\n:INPUT DROP [7:420]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
              "[3:180] -A INPUT -p tcp -j ACCEPT\nCOMMIT\n");
}

TEST(RestoreLanguage, SetCountersOption) {
    EXPECT_EQ(restore("-A INPUT -c 5 300 -j DROP\n", {.counters = true}),
              "[5:300] -A INPUT -j DROP\nCOMMIT\n");
}

TEST(RestoreLanguage, InsertAtAPositionAndAtTheTop) {
    EXPECT_EQ(restore("-A INPUT -p tcp -j ACCEPT\n-A INPUT -p udp -j ACCEPT\n-I INPUT 2 -p icmp -j DROP\n"
                      "-I INPUT -s 192.0.2.1 -j DROP\n"),
              "-A INPUT -s 192.0.2.1/32 -j DROP\n-A INPUT -p tcp -j ACCEPT\n-A INPUT -p icmp -j DROP\n"
              "-A INPUT -p udp -j ACCEPT\nCOMMIT\n");
}

TEST(RestoreLanguage, DeleteByNumberAndBySpecification) {
    EXPECT_EQ(restore("-A INPUT -p tcp -j ACCEPT\n-A INPUT -p udp -j ACCEPT\n-A INPUT -p icmp -j ACCEPT\n"
                      "-D INPUT 1\n--delete INPUT -p icmp -j ACCEPT\n"),
              "-A INPUT -p udp -j ACCEPT\nCOMMIT\n");
    EXPECT_NE(error_of("-D INPUT -p tcp -j ACCEPT\n").find("bad rule"), std::string::npos);
}

TEST(RestoreLanguage, Replace) {
    EXPECT_EQ(restore("-A INPUT -p tcp -j ACCEPT\n-R INPUT 1 -p udp -j DROP\n"),
              "-A INPUT -p udp -j DROP\nCOMMIT\n");
}

TEST(RestoreLanguage, NewChainRenameFlushAndDelete) {
    EXPECT_EQ(restore("-N OLD\n-A OLD -j RETURN\n-A INPUT -j OLD\n-E OLD NEW\n"),
              ":NEW - [0:0]\n-A INPUT -j NEW\n-A NEW -j RETURN\nCOMMIT\n");
    EXPECT_EQ(restore(":A - [0:0]\n:B - [0:0]\n-A A -j ACCEPT\n-F A\n-X A\n"), ":B - [0:0]\nCOMMIT\n");
    EXPECT_EQ(restore(":A - [0:0]\n:B - [0:0]\n-X\n-A INPUT -j DROP\n"), "-A INPUT -j DROP\nCOMMIT\n");
    EXPECT_EQ(restore("-A INPUT -j DROP\n-A OUTPUT -j DROP\n-F\n"), "COMMIT\n");
    EXPECT_NE(error_of(":A - [0:0]\n-A INPUT -j A\n-X A\n").find("still referenced"), std::string::npos);
}

TEST(RestoreLanguage, PolicyAndZero) {
    Diagnostics d;
    auto p = parse_and_lower(
        "*filter\n:INPUT ACCEPT [9:9]\n[1:1] -A INPUT -j ACCEPT\n-P INPUT DROP\n-Z\nCOMMIT\n", "t", d);
    ASSERT_TRUE(p) << d.str();
    EXPECT_EQ(
        ir::to_save(*p, {.counters = true}),
        "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n[0:0] -A INPUT -j ACCEPT\n"
        "COMMIT\n");
    EXPECT_NE(error_of("-P INPUT REJECT\n").find("bad policy"), std::string::npos);
}

TEST(RestoreLanguage, QuotesLongOptionsAndNegation) {
    EXPECT_EQ(restore("--append INPUT ! --source 10.0.0.0/8 --protocol tcp --jump ACCEPT\n"),
              "-A INPUT ! -s 10.0.0.0/8 -p tcp -j ACCEPT\nCOMMIT\n");
    EXPECT_EQ(restore("-A INPUT -m comment --comment \"two words\" -j ACCEPT\n"),
              "-A INPUT -m comment --comment \"two words\" -j ACCEPT\nCOMMIT\n");
    EXPECT_EQ(restore("-A INPUT -m comment --comment 'single quoted' -j ACCEPT\n"),
              "-A INPUT -m comment --comment \"single quoted\" -j ACCEPT\nCOMMIT\n");
}

TEST(RestoreLanguage, TwoTablesAndMissingCommit) {
    Diagnostics d;
    auto p = parse_and_lower(
        "*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j NOTRACK\nCOMMIT\n*filter\nCOMMIT\n", "t", d);
    ASSERT_TRUE(p) << d.str();
    EXPECT_EQ(p->tables.size(), 2u);
    Diagnostics e;
    EXPECT_FALSE(parse_and_lower("*filter\n-A INPUT -j DROP\n", "t", e));
    EXPECT_NE(e.str().find("COMMIT expected"), std::string::npos);
}

TEST(RestoreLanguage, NoflushEditsTheRunningRuleset) {
    Diagnostics d;
    auto base = parse_and_lower("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -j ACCEPT\nCOMMIT\n", "a", d);
    ASSERT_TRUE(base);
    LowerOptions noflush;
    noflush.noflush = true;
    noflush.base = &*base;
    auto p = parse_and_lower("*filter\n-A INPUT -p udp -j ACCEPT\nCOMMIT\n", "b", d, noflush);
    ASSERT_TRUE(p) << d.str();
    EXPECT_EQ(ir::to_save(*p),
              "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
              "-A INPUT -p tcp -j ACCEPT\n-A INPUT -p udp -j ACCEPT\nCOMMIT\n");
}

}  // namespace
}  // namespace bpftables
