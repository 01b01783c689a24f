// -m ttl: --ttl-eq, ! --ttl-eq, --ttl-lt, --ttl-gt.
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::Ipv4;
using loader::Tcp;

class Ttl : public RuntimeTest {};

std::vector<uint8_t> with_ttl(uint8_t ttl) {
    return frame(Ipv4{.ttl = ttl}, Tcp{});
}

TEST_F(Ttl, Operators) {
    std::string text = input_chain({"-m ttl --ttl-eq 64 -j ACCEPT", "-m ttl --ttl-lt 2 -j DROP",
                                    "-m ttl --ttl-gt 250 -j DROP", "-m ttl ! --ttl-eq 100 -j ACCEPT"},
                                   "DROP");
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, with_ttl(64), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, with_ttl(1), "DROP", "INPUT", 2);
    EXPECT_VERDICT(rs, with_ttl(0), "DROP", "INPUT", 2);
    EXPECT_VERDICT(rs, with_ttl(2), "ACCEPT", "INPUT", 4);
    EXPECT_VERDICT(rs, with_ttl(250), "ACCEPT", "INPUT", 4);
    EXPECT_VERDICT(rs, with_ttl(251), "DROP", "INPUT", 3);
    EXPECT_VERDICT(rs, with_ttl(100), "DROP", "INPUT", 0);
}

// ip_forward() decrements the ttl before the FORWARD hook, and never forwards ttl <= 1 (the kernel answers
// time exceeded instead): found by the compat suite's forward mode.
TEST_F(Ttl, ForwardSeesTheDecrementedTtl) {
    std::string text =
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A FORWARD -m ttl --ttl-eq 64 -j ACCEPT\n-A FORWARD -m ttl --ttl-eq 63 -j DROP\nCOMMIT\n";
    REQUIRE_PARSER(text);
    Ruleset& fwd = ruleset(text, {.chain = BPFT_CHAIN_FORWARD});
    EXPECT_VERDICT(fwd, with_ttl(65), "ACCEPT", "FORWARD", 1);
    EXPECT_VERDICT(fwd, with_ttl(64), "DROP", "FORWARD", 2);
    EXPECT_VERDICT(fwd, with_ttl(2), "DROP", "FORWARD", 0);
    EXPECT_VERDICT(fwd, with_ttl(1), "KERNEL", "FORWARD", -1);
    EXPECT_VERDICT(fwd, with_ttl(0), "KERNEL", "FORWARD", -1);
}

}  // namespace
}  // namespace bpftables::test
