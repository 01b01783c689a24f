// Unit tests of -m state and -m conntrack (compiler/xt/conntrack.cpp) and their canonical printing.
#include <gtest/gtest.h>

#include "tests/unit/xt_rule_helper.hpp"

namespace bpftables {
namespace {

using test::Rejected;
using test::RoundTrip;

// Rules and the iptables-save text iptables-legacy 1.8.9 printed for them (filter table unless given).
const RoundTrip round_trips[] = {
    {"-m conntrack ! --ctstate NEW ! --ctproto udp ! --ctorigsrc 1.2.3.4 ! --ctreplsrc 1.0.0.0/8 ! "
     "--ctrepldst 2.2.2.2/32 ! --ctorigsrcport 1 ! --ctorigdstport 2:3 ! --ctreplsrcport 4 ! --ctrepldstport "
     "5 ! --ctstatus NONE ! --ctexpire 4 --ctdir ORIGINAL",
     "-m conntrack ! --ctstate NEW ! --ctproto 17 ! --ctorigsrc 1.2.3.4 ! --ctreplsrc 1.0.0.0/8 ! "
     "--ctrepldst 2.2.2.2 ! --ctorigsrcport 1 ! --ctorigdstport 2:3 ! --ctreplsrcport 4 ! --ctrepldstport 5 "
     "! --ctstatus NONE ! --ctexpire 4 --ctdir ORIGINAL"},
    {"-m conntrack --ctorigdst 10.0.0.0/255.0.0.0", "-m conntrack --ctorigdst 10.0.0.0/8"},
    {"-m conntrack --ctorigsrcport ssh", "-m conntrack --ctorigsrcport 22"},
    {"-m conntrack --ctstate new,Established", "-m conntrack --ctstate NEW,ESTABLISHED"},
    {"-m conntrack --ctstate NEW,NEW", "-m conntrack --ctstate NEW"},
    {"-m conntrack --ctstatus expected,confirmed", "-m conntrack --ctstatus EXPECTED,CONFIRMED"},
    {"-m conntrack --ctstatus NONE,ASSURED", "-m conntrack --ctstatus ASSURED"},
    {"-m conntrack --ctexpire 0x10:020", "-m conntrack --ctexpire 16"},
    {"-m conntrack --ctexpire :5", "-m conntrack --ctexpire 0:5"},
    {"-m conntrack --ctexpire 5:", "-m conntrack --ctexpire 5:4294967295"},
    {"-m conntrack --ctdir reply", "-m conntrack --ctdir REPLY"},
    {"-m conntrack --ctproto TCP", "-m conntrack --ctproto 6"},
    {"-m conntrack --ctproto udplite", "-m conntrack --ctproto 136"},
    {"-m conntrack --ctorigsrc 1.2.3.0/24", "-m conntrack --ctorigsrc 1.2.3.0/24"},
    {"-m conntrack --ctorigsrc 0.0.0.0/0", "-m conntrack --ctorigsrc 0.0.0.0/0"},
    {"-m conntrack --ctstate DNAT,SNAT,UNTRACKED,ESTABLISHED,RELATED,NEW,INVALID",
     "-m conntrack --ctstate INVALID,NEW,RELATED,ESTABLISHED,UNTRACKED,SNAT,DNAT"},
    {"-m state --state UNTRACKED,ESTABLISHED,RELATED,NEW,INVALID",
     "-m state --state INVALID,NEW,RELATED,ESTABLISHED,UNTRACKED"},
    {"-m state ! --state new", "-m state ! --state NEW"},
    {"-m state --state ESTABLISHED,RELATED -m conntrack --ctstate NEW",
     "-m state --state RELATED,ESTABLISHED -m conntrack --ctstate NEW"},
    {"-p tcp --dport 22 -m conntrack --ctstate NEW -j LOG --log-prefix \"SSH: \" --log-level info",
     "-p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j LOG --log-prefix \"SSH: \" --log-level 6"},
};

// Rules iptables-legacy 1.8.9 rejects.
const Rejected rejected_rules[] = {
    {"-m conntrack --ctstate ''"},
    {"-m conntrack --ctstate NEW,"},
    {"-m conntrack --ctstate NEW --ctstate INVALID"},
    {"-m conntrack --ctstatus FOO"},
    {"-m conntrack ! --ctdir REPLY"},
    {"-m conntrack --ctdir FOO"},
    {"-m conntrack --ctproto 256"},
    {"-m conntrack --ctorigsrc foo.invalid"},
    {"-m conntrack --ctstate ALL"},
    {"-m state --state SNAT"},
    {"-m state --state NEW --state INVALID"},
    {"-m state --state NEW,"},
};

TEST(XtConntrack, PrintsWhatIptablesSaves) {
    for (const RoundTrip& c : round_trips) EXPECT_EQ(test::save_rule(c.rule, c.table), c.saved) << c.rule;
}

TEST(XtConntrack, RejectsWhatIptablesRejects) {
    for (const Rejected& c : rejected_rules)
        EXPECT_TRUE(test::rejected(c.rule, c.table)) << c.rule << " => " << test::save_rule(c.rule, c.table);
}

TEST(XtConntrack, StatesAreXtConntrackBits) {
    Diagnostics d;
    auto r = test::lower_rule("-m conntrack --ctstate related,SNAT --ctstatus NONE --ctexpire 7", d);
    const auto* m = test::last_match<ir::ConntrackMatch>(r);
    ASSERT_TRUE(m) << d.str();
    EXPECT_EQ(m->state, (ir::Negatable<uint32_t>{ir::ct::related | ir::ct::snat, false}));
    EXPECT_EQ(m->status, (ir::Negatable<uint32_t>{0, false}));
    EXPECT_EQ(m->expire, (ir::Negatable<ir::AddrRange>{{7, 7}, false}));
}

TEST(XtConntrack, TupleAddressesAreMasked) {
    Diagnostics d;
    auto r = test::lower_rule("-m conntrack ! --ctrepldst 10.1.2.3/16", d);
    const auto* m = test::last_match<ir::ConntrackMatch>(r);
    ASSERT_TRUE(m) << d.str();
    EXPECT_EQ(m->repl_dst, (ir::Negatable<ir::Ipv4Net>{{0x0a010000, 0xffff0000}, true}));
}

TEST(XtConntrack, MessagesNameTheProblem) {
    EXPECT_EQ(test::save_rule("-m conntrack"), "error: conntrack: at least one option is required");
    EXPECT_EQ(test::save_rule("-m state"), "error: state: option \"--state\" must be specified");
    EXPECT_EQ(test::save_rule("-m conntrack --ctproto 0"),
              "error: conntrack: --ctproto needs a protocol other than 0 (all)");
    EXPECT_EQ(test::save_rule("-m conntrack --ctstate NEW,wrong"), "error: bad ctstate \"wrong\"");
    EXPECT_EQ(test::save_rule("-m conntrack --ctexpire 4:3"),
              "error: conntrack: --ctexpire range \"4:3\" has its minimum above its maximum");
}

}  // namespace
}  // namespace bpftables
