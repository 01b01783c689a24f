// The classifier in the kernel: the same seeded random rulesets compiled with the classifier (a decision
// tree in maps) and without it (a test per rule) give every packet the same verdict and deciding rule, on
// xdp and tc-ingress, in built-in and user chains, with truncated headers; counters land on the rule that
// decided.
#include <cstdlib>

#include "compiler/iptables_lower.hpp"
#include "tests/common/classifier_gen.hpp"
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

class Classifier : public RuntimeTest {};

std::vector<uint8_t> frame_of(const codegen::ClassifierPacket& p) {
    std::vector<uint8_t> l4(p.l4_len);
    if (l4.size() >= 4)
        l4 = {uint8_t(p.sport >> 8), uint8_t(p.sport), uint8_t(p.dport >> 8), uint8_t(p.dport)};
    l4.resize(p.l4_len);
    if (p.proto == 6 && l4.size() >= 20) l4[12] = 0x50, l4[13] = 0x10;  // ACK, no options
    return loader::frame(loader::Ipv4{.src = p.saddr, .dst = p.daddr, .proto = p.proto}, loader::RawL4{l4});
}

// Loads `text` twice for `hook`: with the classifier (which must take `runs` runs) and without it.
void load_both(Ruleset& tree, Ruleset& flat, Hook hook, size_t runs) {
    std::string error;
    ASSERT_TRUE(tree.loaded(hook, error)) << error;
    ASSERT_EQ(tree.layout(hook)->runs.size(), runs);
    setenv("BPFTABLES_CLASSIFIER_MIN", "0", 1);
    const loader::LoadedProgram* loaded = flat.loaded(hook, error);
    unsetenv("BPFTABLES_CLASSIFIER_MIN");
    ASSERT_TRUE(loaded) << error;
    ASSERT_TRUE(flat.layout(hook)->runs.empty());
}

void compare(Ruleset& tree, Ruleset& flat, Hook hook, std::mt19937& rng, int packets) {
    for (int i = 0; i < packets; ++i) {
        codegen::ClassifierPacket p = classifier_packet(rng);
        std::string error;
        std::optional<Verdict> a = tree.run(hook, frame_of(p), error);
        ASSERT_TRUE(a) << error;
        std::optional<Verdict> b = flat.run(hook, frame_of(p), error);
        ASSERT_TRUE(b) << error;
        ASSERT_EQ(to_string(*a), to_string(*b))
            << hook_name(hook) << " packet " << i << ": " << dotted(p.saddr) << " -> " << dotted(p.daddr)
            << " proto " << int(p.proto) << " ports " << p.sport << ":" << p.dport << " l4 " << p.l4_len;
    }
}

TEST_F(Classifier, SameVerdictsAsOneTestPerRule) {
    std::mt19937 rng(11);
    std::vector<std::string> rules;
    for (int i = 0; i < 400; ++i) rules.push_back(classifier_rule_text(rng));
    std::string text = input_chain(rules, "DROP");
    for (Hook hook : {Hook::xdp, Hook::tc_ingress}) {
        Ruleset tree(text), flat(text);
        load_both(tree, flat, hook, 1);
        compare(tree, flat, hook, rng, hook == Hook::xdp ? 3000 : 1000);
    }
}

// Runs between other rules, in a user chain that falls through and RETURNs, two runs in one chain.
TEST_F(Classifier, RunsAmongOtherRules) {
    std::mt19937 rng(12);
    std::string text =
        "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:RUNS - [0:0]\n"
        "-A INPUT -m ttl --ttl-eq 1 -j DROP\n-A INPUT -j RUNS\n-A INPUT -p icmp -j ACCEPT\n";
    for (int i = 0; i < 150; ++i) text += "-A RUNS " + classifier_rule_text(rng) + "\n";
    text += "-A RUNS -p udp -m udp --dport 53 -j RETURN\n-A RUNS -m ttl --ttl-lt 10 -j ACCEPT\n";
    for (int i = 0; i < 150; ++i) text += "-A RUNS " + classifier_rule_text(rng) + "\n";
    text += "-A RUNS -p tcp -j RETURN\nCOMMIT\n";
    Ruleset tree(text), flat(text);
    load_both(tree, flat, Hook::xdp, 2);
    compare(tree, flat, Hook::xdp, rng, 2000);
}

// Under iptables-nft (ir::ShortHeaders::kernel) a header too short for a rule's ports is handed to the
// kernel, by the tree as by the test per rule.
TEST_F(Classifier, ShortHeadersGoToTheKernelAsWithOneTestPerRule) {
    std::mt19937 rng(13);
    std::vector<std::string> rules = {"-s 198.18.0.0/15 -p udp -m udp --dport 1:65535 -j DROP"};
    for (int i = 0; i < 300; ++i) rules.push_back(classifier_rule_text(rng));
    Diagnostics diags;
    std::optional<ir::Program> program = parse_and_lower(input_chain(rules, "DROP"), "test.rules", diags);
    ASSERT_TRUE(program) << diags.str();
    program->short_headers = ir::ShortHeaders::kernel;
    Ruleset tree(*program), flat(*program);
    load_both(tree, flat, Hook::xdp, 1);
    compare(tree, flat, Hook::xdp, rng, 2000);
    EXPECT_VERDICT_ON(tree, Hook::xdp, loader::frame(loader::Ipv4{.proto = 17}, loader::RawL4{{0, 1, 0, 53}}),
                      "KERNEL", "INPUT", 1);
    EXPECT_VERDICT_ON(tree, Hook::xdp, loader::frame(loader::Ipv4{}, loader::Udp{}), "DROP", "INPUT", 1);
}

TEST_F(Classifier, CountsTheRuleThatDecided) {
    std::vector<std::string> rules;
    for (int i = 0; i < 100; ++i) rules.push_back("-s 198.18.1." + std::to_string(i) + "/32 -p udp -j DROP");
    Ruleset rs(input_chain(rules));
    std::string error;
    ASSERT_TRUE(rs.loaded(Hook::xdp, error)) << error;
    ASSERT_EQ(rs.layout(Hook::xdp)->runs.size(), 1u);
    auto udp_from = [](uint32_t last) {
        return loader::frame(loader::Ipv4{.src = 0xc6120100 | last}, loader::Udp{}, 10);
    };
    for (int i = 0; i < 7; ++i) EXPECT_VERDICT_ON(rs, Hook::xdp, udp_from(42), "DROP", "INPUT", 43);
    EXPECT_VERDICT_ON(rs, Hook::xdp, udp_from(99), "DROP", "INPUT", 100);
    EXPECT_VERDICT_ON(rs, Hook::xdp, udp_from(200), "ACCEPT", "INPUT", 0);
    std::optional<bpft_counter> c = rs.counter(Hook::xdp, "filter", "INPUT", 43);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->packets, 7u);
    EXPECT_EQ(c->bytes, 7u * (20 + 8 + 10));
    EXPECT_EQ(rs.counter(Hook::xdp, "filter", "INPUT", 42)->packets, 0u);
    EXPECT_EQ(rs.counter(Hook::xdp, "filter", "INPUT", 100)->packets, 1u);
}

}  // namespace
}  // namespace bpftables::test
