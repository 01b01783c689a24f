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
    if (p.saddr6[0] == 0)
        return loader::frame(loader::Ipv4{.src = p.saddr, .dst = p.daddr, .proto = p.proto},
                             loader::RawL4{l4});
    auto bytes = [](const std::array<uint32_t, 4>& a) {
        loader::Ip6Addr out{};
        for (int i = 0; i < 16; ++i) out[i] = static_cast<uint8_t>(a[i / 4] >> (8 * (3 - i % 4)));
        return out;
    };
    return loader::frame(loader::Ipv6{.src = bytes(p.saddr6), .dst = bytes(p.daddr6), .proto = p.proto},
                         loader::RawL4{l4});
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

void compare(Ruleset& tree, Ruleset& flat, Hook hook, std::mt19937& rng, int packets, bool ipv6 = false) {
    for (int i = 0; i < packets; ++i) {
        codegen::ClassifierPacket p = ipv6 ? classifier_packet6(rng) : classifier_packet(rng);
        std::string error;
        std::optional<Verdict> a = tree.run(hook, frame_of(p), error);
        ASSERT_TRUE(a) << error;
        std::optional<Verdict> b = flat.run(hook, frame_of(p), error);
        ASSERT_TRUE(b) << error;
        ASSERT_EQ(to_string(*a), to_string(*b))
            << hook_name(hook) << " packet " << i << ": "
            << (ipv6 ? colon(p.saddr6) + " -> " + colon(p.daddr6)
                     : dotted(p.saddr) + " -> " + dotted(p.daddr))
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

// IPv6: the walk over the runs' address ids (an LPM lookup per address, then IPv4's trees), both back ends
// (the harness runs the direct back end's program beside the C one's and fails unless they agree).
TEST_F(Classifier, Ipv6SameVerdictsAsOneTestPerRule) {
    std::mt19937 rng(14);
    std::string text =
        "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        ":RUNS - [0:0]\n-A INPUT -j RUNS\n";
    for (int i = 0; i < 200; ++i) text += "-A INPUT " + classifier_rule_text6(rng) + "\n";
    for (int i = 0; i < 100; ++i) text += "-A RUNS " + classifier_rule_text6(rng) + "\n";
    text += "COMMIT\n";
    RunOptions options{.family = ir::Family::ipv6};
    for (Hook hook : {Hook::xdp, Hook::tc_ingress}) {
        Ruleset tree(text, options), flat(text, options);
        load_both(tree, flat, hook, 2);
        std::string why;
        EXPECT_TRUE(tree.direct(hook, &why)) << why;
        compare(tree, flat, hook, rng, hook == Hook::xdp ? 2000 : 600, true);
    }
}

// The two fields' ids are distinct: a destination looked up among the sources' prefixes would miss.
TEST_F(Classifier, Ipv6SourceAndDestinationIds) {
    std::vector<std::string> rules;
    for (int port = 1; port <= 40; ++port)
        rules.push_back("-s 2001:db8:a::/48 -d 2001:db8:b::/48 -p udp -m udp --dport " +
                        std::to_string(port) + " -j DROP");
    Ruleset rs(input_chain(rules), {.family = ir::Family::ipv6});
    std::string error;
    ASSERT_TRUE(rs.loaded(Hook::xdp, error)) << error;
    ASSERT_EQ(rs.layout(Hook::xdp)->runs.size(), 1u);
    auto udp = [](const char* src, const char* dst, uint16_t port) {
        return loader::frame(loader::Ipv6{.src = loader::ip6(src), .dst = loader::ip6(dst)},
                             loader::Udp{.dport = port});
    };
    EXPECT_VERDICT(rs, udp("2001:db8:a::1", "2001:db8:b::1", 5), "DROP", "INPUT", 5);
    EXPECT_VERDICT(rs, udp("2001:db8:a:ffff::1", "2001:db8:b:1::", 40), "DROP", "INPUT", 40);
    EXPECT_VERDICT(rs, udp("2001:db8:b::1", "2001:db8:a::1", 5), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, udp("2001:db8:a::1", "2001:db8:c::1", 5), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, udp("2001:db9::1", "2001:db8:b::1", 5), "ACCEPT", "INPUT", 0);
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
