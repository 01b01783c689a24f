// -m comment: always matches; the rule decides as if it were not there.
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::Ipv4;
using loader::Tcp;
using loader::Udp;

class Comment : public RuntimeTest {};

TEST_F(Comment, AlwaysMatches) {
    std::string text = input_chain({"-p udp -m comment --comment \"allow dns */ /*\" -j ACCEPT",
                                    "-m comment --comment only-a-comment", "-m comment --comment x -j DROP"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Udp{}), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Tcp{}), "DROP", "INPUT", 3);
}

}  // namespace
}  // namespace bpftables::test
