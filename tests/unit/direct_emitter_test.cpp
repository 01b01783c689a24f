// The direct back end's emitter without the kernel: what it refuses (with the rule's position), that what it
// emits assembles, and that every rule carries its ruleset line for BTF line info. (What the programs do is
// tests/runtime: every runtime test runs both back ends, and direct_differential_test.cpp.)
#include <gtest/gtest.h>

#include "codegen/build.hpp"
#include "codegen/insn/encode.hpp"
#include "codegen/insn/print.hpp"
#include "compiler/iptables_lower.hpp"

namespace bpftables::codegen {
namespace {

std::optional<DirectProgram> emit(const std::string& rules, Diagnostics& diags, Hook hook = Hook::xdp,
                                  ir::Family family = ir::Family::ipv4) {
    std::string text =
        "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:USER - [0:0]\n" + rules +
        "COMMIT\n";
    LowerOptions lower;
    lower.family = family;
    std::optional<ir::Program> program = parse_and_lower(text, "t.rules", diags, lower);
    if (!program) return std::nullopt;
    return build_direct(*program, hook, diags, Options{});
}

TEST(DirectEmitter, EmitsEverySupportedMatchAndTargetAndAssembles) {
    Diagnostics diags;
    std::optional<DirectProgram> p = emit(
        "-A INPUT -i lo -j ACCEPT\n"
        "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
        "-A INPUT -m state --state INVALID -j DROP\n"
        "-A INPUT ! -s 198.18.0.0/15 -d 198.18.0.1/32 -p tcp -m tcp --sport 1024:65535 --dport 22 -j ACCEPT\n"
        "-A INPUT -p udp -m multiport --dports 53,5353:5354 -j USER\n"
        "-A INPUT -p icmp -m icmp --icmp-type 8 -m comment --comment \"ping\" -j ACCEPT\n"
        "-A INPUT -o eth+ -j LOG\n"
        "-A INPUT -p tcp -j REJECT --reject-with tcp-reset\n"
        "-A INPUT -p tcp -m tcp --tcp-option 2 -m conntrack --ctorigsrc 198.51.100.0/24 -j DROP\n"
        "-A INPUT -p udp -m limit --limit 1/sec -j LOG\n"
        "-A INPUT -g USER\n"
        "-A USER -s 198.18.5.0/24 -j RETURN\n"
        "-A USER -j DROP\n",
        diags);
    ASSERT_TRUE(p) << diags.str();
    std::string error;
    EXPECT_TRUE(insn::assemble(p->code, error)) << error;
    EXPECT_EQ(p->functions.size(), 4u);  // INPUT, FORWARD, OUTPUT, USER
    EXPECT_TRUE(p->needs.ct);
    EXPECT_TRUE(p->needs.ifname);
    EXPECT_EQ(p->layout.limits.size(), 1u);  // the bucket before LOG (its map: loader/ruleset_maps.hpp)
    int rule_lines = 0;
    for (const auto& [at, line] : p->code.lines) rule_lines += line.text.rfind("-A ", 0) == 0;
    EXPECT_EQ(rule_lines, 13) << insn::listing(p->code);
}

// A bound the field's width gives is not tested: the verifier would remove the always-true test one
// instruction at a time, moving the whole program each time.
TEST(DirectEmitter, LeavesOutBoundsTheFieldWidthGives) {
    Diagnostics diags;
    std::optional<DirectProgram> p = emit(
        "-A INPUT -p tcp -m tcp --sport 1024:65535 --dport 0:65535 -j DROP\n"
        "-A INPUT -p udp -m udp --sport 1000:2000 --dport 65535 -j DROP\n",
        diags);
    ASSERT_TRUE(p) << diags.str();
    std::string listing = insn::listing(p->code);
    EXPECT_NE(listing.find("1024"), std::string::npos) << listing;
    EXPECT_NE(listing.find("2000"), std::string::npos) << listing;
    size_t at = 0, count = 0;  // only --dport 65535 (one value) tests 65535
    while ((at = listing.find("65535", at)) != std::string::npos) ++count, ++at;
    EXPECT_EQ(count, 1u) << listing;
}

TEST(DirectEmitter, EmitsIpv6Programs) {
    Diagnostics diags;
    std::optional<DirectProgram> p = emit(
        "-A INPUT -s 2001:db8::/32 -d 2001:db8::1/128 -p tcp --dport 22 -j ACCEPT\n"
        "-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -j ACCEPT\n"
        "-A INPUT -m hl --hl-lt 2 -m ipv6header --soft --header dst -j DROP\n"
        "-A INPUT -m rt --rt-segsleft 0 -j DROP\n"
        "-A INPUT -m iprange --src-range 2001:db8::1-2001:db8::ff -j REJECT --reject-with "
        "icmp6-adm-prohibited\n",
        diags, Hook::xdp, ir::Family::ipv6);
    ASSERT_TRUE(p) << diags.str();
    EXPECT_EQ(p->family, ir::Family::ipv6);
    std::string error;
    EXPECT_TRUE(insn::assemble(p->code, error)) << error;
}

TEST(DirectEmitter, ScratchLayoutComesFromTheEntryObjects) {
    std::string error;
    const ScratchLayout* layout = scratch_layout(error);
    ASSERT_TRUE(layout) << error;
    for (const char* field : {"saddr", "daddr", "len", "l4_len", "sport", "dport", "proto", "ct_state", "in",
                              "out", "route", "verdict", "chain"})
        EXPECT_TRUE(layout->count(field)) << field;
    EXPECT_EQ(layout->at("saddr").off, 0);
    EXPECT_EQ(layout->at("saddr").size, 4);
}

}  // namespace
}  // namespace bpftables::codegen
