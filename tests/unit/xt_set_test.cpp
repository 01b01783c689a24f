// Unit tests of -m set (compiler/xt/set.cpp) and its canonical printing. The rules name the set "foo";
// iptables itself needs the set to exist (the expectations come from a run with "ipset create foo hash:ip").
#include <gtest/gtest.h>

#include "tests/unit/xt_rule_helper.hpp"

namespace bpftables {
namespace {

using test::Rejected;
using test::RoundTrip;

// Rules and the iptables-save text iptables-legacy 1.8.9 printed for them (filter table unless given).
const RoundTrip round_trips[] = {
    {"-m set --match-set foo src,dst,src,dst,src,dst", "-m set --match-set foo src,dst,src,dst,src,dst"},
    {"-m set --match-set foo src --update-counters", "-m set --match-set foo src"},
    {"-m set ! --match-set foo src,dst --return-nomatch ! --update-counters ! --update-subcounters "
     "--packets-gt 5 ! --bytes-eq 7",
     "-m set ! --match-set foo src,dst --return-nomatch ! --update-counters ! --update-subcounters "
     "--packets-gt 5 ! --bytes-eq 7"},
    {"-m set --match-set foo src --bytes-gt 5 --packets-eq 3",
     "-m set --match-set foo src --packets-eq 3 --bytes-gt 5"},
    {"-m set --match-set foo src --packets-eq 0x10", "-m set --match-set foo src --packets-eq 16"},
    {"-m set --match-set foo src --packets-eq 18446744073709551615",
     "-m set --match-set foo src --packets-eq 18446744073709551615"},
    {"-m set --match-set foo src ! --packets-eq 5 --bytes-lt 9",
     "-m set --match-set foo src ! --packets-eq 5 --bytes-lt 9"},
};

// Rules iptables-legacy 1.8.9 rejects.
const Rejected rejected_rules[] = {
    {"-m set --match-set foo"},
    {"-m set --match-set foo src,dst,src,dst,src,dst,src"},
    {"-m set --match-set foo SRC"},
    {"-m set --match-set foo src,,dst"},
    {"-m set --match-set foo src --match-set foo dst"},
    {"-m set --match-set foo src ! --return-nomatch"},
    {"-m set --match-set foo src --packets-lt 5 --packets-gt 3"},
    {"-m set --match-set foo src --packets-eq -1"},
    {"-m set --match-set foo src --packets-eq 18446744073709551616"},
    {"-m set --return-nomatch"},
    {"-m set --match-set foo src ! --packets-lt 5"},
};

TEST(XtSet, PrintsWhatIptablesSaves) {
    for (const RoundTrip& c : round_trips) EXPECT_EQ(test::save_rule(c.rule, c.table), c.saved) << c.rule;
}

TEST(XtSet, RejectsWhatIptablesRejects) {
    for (const Rejected& c : rejected_rules)
        EXPECT_TRUE(test::rejected(c.rule, c.table)) << c.rule << " => " << test::save_rule(c.rule, c.table);
}

TEST(XtSet, KeepsNameFlagsAndCounterConditions) {
    Diagnostics d;
    auto r = test::lower_rule(
        "-m set --match-set foo dst,src ! --update-subcounters --bytes-lt 10 --packets-gt 1", d);
    const auto* m = test::last_match<ir::SetMatch>(r);
    ASSERT_TRUE(m) << d.str();
    EXPECT_EQ(m->name, "foo");
    EXPECT_EQ(m->flags, (std::vector<ir::Dir>{ir::Dir::dst, ir::Dir::src}));
    EXPECT_TRUE(m->update_counters);
    EXPECT_FALSE(m->update_subcounters);
    EXPECT_EQ(m->counter_conditions, (std::vector<std::string>{"--packets-gt 1", "--bytes-lt 10"}));
}

TEST(XtSet, DeprecatedSpellingWarns) {
    Diagnostics d;
    auto r = test::lower_rule("-m set --set foo src", d);
    ASSERT_TRUE(r) << d.str();
    EXPECT_EQ(ir::rule_spec(*r), "-m set --match-set foo src");
    ASSERT_EQ(d.all().size(), 1u);
    EXPECT_EQ(d.all()[0].severity, Severity::warning);
}

TEST(XtSet, MessagesNameTheProblem) {
    EXPECT_EQ(test::save_rule("-m set --match-set foo"),
              "error: set: --match-set requires two args: NAME src|dst[,...]");
    EXPECT_EQ(test::save_rule("-m set"), "error: set: --match-set NAME src|dst[,...] is required");
    EXPECT_EQ(test::save_rule("-m set --match-set abcdefghijklmnopqrstuvwxyz0123456 src"),
              "error: set: set name \"abcdefghijklmnopqrstuvwxyz0123456\" must have 1 to 31 characters");
}

}  // namespace
}  // namespace bpftables
