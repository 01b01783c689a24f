// Unit tests of the pinned state's text (runtime/state.cpp) and of the sets it keeps in `ipset save` form
// (ir::to_ipset_save, read back by compiler::read_ipsets): what bpftables-restore --ipsets commits must
// come back the same for bpftables-save and later restores.
#include <gtest/gtest.h>

#include "compiler/ipsets.hpp"
#include "compiler/ir_print.hpp"
#include "runtime/netfilter.hpp"
#include "runtime/state.hpp"

namespace bpftables {
namespace {

// Table and chain names go to iptables through the shell: one word each, whatever they hold.
TEST(LiveState, ShellWordsKeepQuotes) {
    EXPECT_EQ(runtime::shell_word("INPUT"), "'INPUT'");
    EXPECT_EQ(runtime::shell_word("it's"), "'it'\\''s'");
    std::string out;
    FILE* p = popen(("printf %s " + runtime::shell_word("a 'b' $c;d")).c_str(), "r");
    ASSERT_NE(p, nullptr);
    char buf[64];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    pclose(p);
    EXPECT_EQ(out, "a 'b' $c;d");
}

TEST(LiveState, SetsPrintAsIpsetSaveAndReadBack) {
    const std::string text =
        "create blocked hash:ip family inet hashsize 1024 maxelem 65536\n"
        "add blocked 198.19.0.7\n"
        "add blocked 198.19.1.0-198.19.1.3\n"
        "create nets hash:net family inet\n"
        "add nets 198.19.8.0/24\n"
        "create ports hash:ip,port family inet\n"
        "add ports 198.19.0.1,tcp:80\n"
        "ipset create timed hash:ip timeout 60\n"
        "ipset add timed 198.19.0.9 timeout 30\n";
    Diagnostics diags;
    auto sets = compiler::read_ipsets(text, "sets", diags);
    ASSERT_TRUE(sets) << diags.str();
    std::string printed = ir::to_ipset_save(*sets);
    // as the file gave them (the kernel's copy gets every option and entry), the family made explicit
    EXPECT_EQ(printed,
              "create blocked hash:ip family inet hashsize 1024 maxelem 65536\n"
              "add blocked 198.19.0.7\n"
              "add blocked 198.19.1.0-198.19.1.3\n"
              "create nets hash:net family inet\n"
              "add nets 198.19.8.0/24\n"
              "create ports hash:ip,port family inet\n"
              "add ports 198.19.0.1,tcp:80\n"
              "create timed hash:ip family inet timeout 60\n"
              "add timed 198.19.0.9 timeout 30\n");
    EXPECT_EQ((*sets)[0].members.size(), 2u);  // the program's: 198.19.0.7/32 and 198.19.1.0/30
    EXPECT_TRUE((*sets)[2].members.empty());
    auto again = compiler::read_ipsets(printed, "printed", diags);
    ASSERT_TRUE(again) << diags.str();
    ASSERT_EQ(again->size(), sets->size());
    for (size_t i = 0; i < sets->size(); ++i) {
        EXPECT_EQ((*again)[i].name, (*sets)[i].name);
        EXPECT_EQ((*again)[i].type, (*sets)[i].type);
        EXPECT_EQ((*again)[i].members, (*sets)[i].members);
    }
}

TEST(LiveState, StateTextRoundTripsWithSets) {
    runtime::State s;
    s.generation = 7;
    s.attachments.push_back({"va", 3, runtime::AttachHook::xdp, runtime::XdpMode::native});
    s.attachments.push_back({"vb", 5, runtime::AttachHook::tc, runtime::XdpMode::none});
    s.hooks = {codegen::Hook::xdp, codegen::Hook::tc_ingress, codegen::Hook::tc_egress};
    s.offsets[2] = {4, 120};
    s.ipsets = "create blocked hash:ip family inet\nadd blocked 198.19.0.7\n";
    s.ruleset = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m set --match-set blocked src -j DROP\nCOMMIT\n";
    s.backend = compiler::Backend::nft;
    s.set_maps = {{codegen::Hook::xdp, "blocked"}, {codegen::Hook::tc_ingress, "my set"}};
    s.set_maps_pinned = true;
    std::string error;
    auto back = runtime::parse_state(runtime::serialize(s), error);
    ASSERT_TRUE(back) << error;
    EXPECT_EQ(back->generation, 7u);
    ASSERT_EQ(back->attachments.size(), 2u);
    EXPECT_EQ(back->attachments[1].iface, "vb");
    EXPECT_EQ(back->attachments[1].mode, runtime::XdpMode::none);
    EXPECT_EQ(back->hooks, s.hooks);
    EXPECT_EQ(back->offsets[2].packets, 4u);
    EXPECT_EQ(back->ipsets, s.ipsets);
    EXPECT_EQ(back->ruleset, s.ruleset);
    EXPECT_EQ(back->backend, compiler::Backend::nft);
    EXPECT_EQ(back->set_maps, s.set_maps);  // the pins of its set maps, by set name (with blanks)
    EXPECT_TRUE(back->set_maps_pinned);
    EXPECT_FALSE(runtime::parse_state("bpftables-state 1\nbackend iptables\nruleset\n", error));
}

TEST(LiveState, StateWithoutSetsStillReads) {  // states written before sets were kept
    std::string error;
    auto s =
        runtime::parse_state("bpftables-state 1\ngeneration 2\nhooks xdp\nruleset\n*filter\nCOMMIT\n", error);
    ASSERT_TRUE(s) << error;
    EXPECT_EQ(s->ipsets, "");
    EXPECT_EQ(s->backend, std::nullopt);
    EXPECT_EQ(s->ruleset, "*filter\nCOMMIT\n");
}

}  // namespace
}  // namespace bpftables
