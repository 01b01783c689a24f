#include <gtest/gtest.h>
#include <tao/pegtl/contrib/analyze.hpp>

#include "compiler/iptables_lower.hpp"
#include "compiler/ir_print.hpp"
#include "parser/iptables_grammar.hpp"
#include "parser/iptables_parser.hpp"

namespace bpftables {
namespace {

TEST(Grammar, AnalyzeFindsNoProblems) {
    namespace g = parser::grammar;
    EXPECT_EQ(tao::pegtl::analyze<g::table_line>(), 0u);
    EXPECT_EQ(tao::pegtl::analyze<g::chain_line>(), 0u);
    EXPECT_EQ(tao::pegtl::analyze<g::command_line>(), 0u);
}

TEST(Grammar, RoundTripsASmallRuleset) {
    const std::string text =
        "*filter\n:INPUT DROP [1:2]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:USER - [0:0]\n"
        "-A INPUT -s 10.0.0.0/8 -i eth0 -p tcp -m tcp --dport 22 -j ACCEPT\n"
        "-A INPUT -j USER\n-A USER ! -d 192.0.2.1/32 -p udp -m udp --sport 53 -j RETURN\nCOMMIT\n";
    Diagnostics d;
    auto p = parse_and_lower(text, "t.rules", d);
    ASSERT_TRUE(p) << d.str();
    EXPECT_EQ(ir::to_save(*p),
              text.substr(0, text.find("[1:2]")) + "[0:0]" + text.substr(text.find("[1:2]") + 5));
}

}  // namespace
}  // namespace bpftables
