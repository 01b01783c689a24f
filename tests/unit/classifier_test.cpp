// The classifier's trees against the rules they stand for: for seeded random rulesets, the tree walk
// (the same walk as the BPF program's) gives the verdict of the first rule that decides each packet.
#include "codegen/classifier.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "base/diagnostics.hpp"
#include "codegen/build.hpp"
#include "compiler/iptables_lower.hpp"
#include "tests/common/classifier_gen.hpp"

namespace bpftables::test {
namespace {

ir::Program lower(const std::string& text) {
    Diagnostics diags;
    std::optional<ir::Program> p = parse_and_lower(text, "test.rules", diags);
    EXPECT_TRUE(p) << diags.str();
    return p ? *p : ir::Program{};
}

// The layout after the code generator's passes, with the knobs of the environment.
codegen::Layout layout_of(ir::Program& program) {
    Diagnostics diags;
    codegen::run_transforms(program, diags, codegen::options_from_environment());
    return codegen::make_layout(program);
}

std::string input_rules(const std::vector<std::string>& rules) {
    std::string s = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
    for (const std::string& r : rules) s += "-A INPUT " + r + "\n";
    return s + "COMMIT\n";
}

uint32_t linear(const codegen::ClassifierTrees& t, uint32_t run, const codegen::ClassifierPacket& p) {
    for (uint32_t i = t.run_rules[run].first; i < t.run_rules[run].second; ++i)
        if (uint32_t v = codegen::classifier_rule_verdict(t.rules[i], p)) return v;
    return 0;
}

class Classifier : public ::testing::TestWithParam<int> {};

TEST_P(Classifier, TreeWalkIsFirstMatch) {
    std::mt19937 rng(GetParam());
    std::vector<std::string> rules;
    size_t n = GetParam() % 3 == 0 ? 3000 : 200;
    for (size_t i = 0; i < n; ++i) rules.push_back(classifier_rule_text(rng));
    ir::Program program = lower(input_rules(rules));
    codegen::Layout layout = layout_of(program);
    ASSERT_EQ(layout.runs.size(), 1u);
    EXPECT_EQ(layout.runs[0].count, static_cast<int>(n));
    std::string error;
    std::optional<codegen::ClassifierTrees> trees = codegen::build_classifier(program, layout, error);
    ASSERT_TRUE(trees) << error;
    for (int i = 0; i < 20000; ++i) {
        codegen::ClassifierPacket p = classifier_packet(rng);
        uint32_t want = linear(*trees, 0, p), got = codegen::classify(*trees, 0, p);
        ASSERT_EQ(got, want) << "seed " << GetParam() << " packet " << i << ": " << dotted(p.saddr) << " -> "
                             << dotted(p.daddr) << " proto " << int(p.proto) << " ports " << p.sport << ":"
                             << p.dport << " l4 " << p.l4_len;
    }
}

INSTANTIATE_TEST_SUITE_P(Seeds, Classifier, ::testing::Range(1, 7));

// Firewall-style rules, as ClassBench's fw sets (wide, overlapping prefixes and port ranges, drawn from a few
// bases so that they nest): the runs the HiCuts trees cannot bound are split or left as rules of their own,
// never refused, every run stays within its memory budget, and its walk is still the first match.
std::string wide_rule_text(std::mt19937& rng) {
    static constexpr int lens[] = {0, 4, 8, 12, 16, 20, 24, 28, 32};
    std::string r;
    for (const char* opt : {"-s ", "-d "}) {
        int len = lens[pick(rng, 9)];
        uint32_t a = (pick(rng, 4) << 30) | (pick(rng, 4) << 20) | (pick(rng, 4) << 8) | pick(rng, 4);
        if (len) r += opt + dotted(a & (0xffffffffu << (32 - len))) + "/" + std::to_string(len) + " ";
    }
    r += pick(rng, 2) ? "-p tcp -m tcp " : "-p udp -m udp ";
    for (const char* opt : {"--sport ", "--dport "}) {
        uint16_t a = gen_ports[pick(rng, 10)], b = gen_ports[pick(rng, 10)];
        if (a > b) std::swap(a, b);
        r += opt + std::to_string(a) + ":" + std::to_string(b) + " ";
    }
    return r + (pick(rng, 2) ? "-j ACCEPT" : "-j DROP");
}

TEST(ClassifierRuns, WideOverlappingRulesAreNeverRefused) {
    std::mt19937 rng(17);
    std::vector<std::string> rules;
    rules.reserve(4000);
    for (int i = 0; i < 4000; ++i) rules.push_back(wide_rule_text(rng));
    ir::Program program = lower(input_rules(rules));
    codegen::Layout layout = layout_of(program);
    ASSERT_FALSE(layout.runs.empty());
    std::string error;
    std::optional<codegen::ClassifierTrees> trees = codegen::build_classifier(program, layout, error);
    ASSERT_TRUE(trees) << error;
    size_t roots = 2 * BPFT_CLS_TREES * layout.runs.size() * sizeof(bpft_cls_node);
    EXPECT_LE(codegen::classifier_bytes(*trees),
              codegen::classifier_bytes_per_rule * trees->rules.size() + roots);
    const ir::ChainPlan& plan = program.find("filter")->find("INPUT")->plan;
    if (layout.runs.size() > 1 || layout.runs[0].count < 4000) {
        EXPECT_FALSE(plan.classifier_notes.empty());
    }
    for (int i = 0; i < 20000; ++i) {
        codegen::ClassifierPacket p;
        p.saddr = (pick(rng, 4) << 30) | (pick(rng, 4) << 20) | (pick(rng, 4) << 8) | pick(rng, 4);
        p.daddr = (pick(rng, 4) << 30) | (pick(rng, 4) << 20) | (pick(rng, 4) << 8) | pick(rng, 4);
        p.proto = pick(rng, 2) ? 6 : 17;
        p.sport = gen_ports[pick(rng, 10)], p.dport = gen_ports[pick(rng, 10)];
        p.l4_len = pick(rng, 50) ? 20 : 4;
        for (uint32_t run = 0; run < layout.runs.size(); ++run) {
            ASSERT_EQ(codegen::classify(*trees, run, p), linear(*trees, run, p))
                << "run " << run << " packet " << i;
        }
    }
}

// Trees built once (codegen::ClassifierCache): the classifier-runs pass builds every run it tries, split
// halves included; the emitter of the same program and a second hook's pass and emitter (a restore builds
// XDP and TC) build nothing more, and the trees are those of a build without the cache.
TEST(ClassifierRuns, TreesAreBuiltOncePerCache) {
    std::mt19937 rng(23);
    std::vector<std::string> rules;
    rules.reserve(4000);
    for (int i = 0; i < 4000; ++i) rules.push_back(wide_rule_text(rng));
    ir::Program input = lower(input_rules(rules));
    codegen::Options options = codegen::options_from_environment();
    ASSERT_TRUE(options.classifier_cache);
    ir::Program first = input, second = input;
    Diagnostics diags;
    codegen::run_transforms(first, diags, options);
    codegen::Layout layout = codegen::make_layout(first);
    ASSERT_GT(layout.runs.size(), 1u);  // some run was split: the pass tried more runs than it kept
    size_t tried = options.classifier_cache->builds();
    EXPECT_GT(tried, layout.runs.size());
    std::string error;
    std::optional<codegen::ClassifierTrees> cached =
        codegen::build_classifier(first, layout, error, options.classifier_cache.get());
    ASSERT_TRUE(cached) << error;
    codegen::run_transforms(second, diags, options);
    ASSERT_TRUE(codegen::build_classifier(second, codegen::make_layout(second), error,
                                          options.classifier_cache.get()));
    EXPECT_EQ(options.classifier_cache->builds(), tried);
    std::optional<codegen::ClassifierTrees> fresh = codegen::build_classifier(first, layout, error);
    ASSERT_TRUE(fresh) << error;
    ASSERT_EQ(cached->nodes.size(), fresh->nodes.size());
    for (size_t i = 0; i < fresh->nodes.size(); ++i)
        ASSERT_EQ(std::memcmp(&cached->nodes[i], &fresh->nodes[i], sizeof(bpft_cls_node)), 0) << "node " << i;
    EXPECT_EQ(cached->leaves, fresh->leaves);
    EXPECT_EQ(cached->run_rules, fresh->run_rules);
    ASSERT_EQ(cached->rules.size(), fresh->rules.size());
    EXPECT_EQ(
        std::memcmp(cached->rules.data(), fresh->rules.data(), fresh->rules.size() * sizeof(bpft_cls_rule)),
        0);
}

// IPv6: the walk over address ids (one LPM lookup per field, then IPv4's trees) against a linear scan of the
// rules' own 128-bit prefixes, which knows nothing of ids.
bool in_prefix(const codegen::Prefix6& p, const std::array<uint32_t, 4>& addr) {
    for (int w = 0; w < 4; ++w) {
        int bits = std::clamp(p.len - 32 * w, 0, 32);
        if ((addr[w] & (bits == 0 ? 0 : 0xffffffffu << (32 - bits))) != p.addr[w]) return false;
    }
    return true;
}

uint32_t linear6(const std::vector<codegen::ClassifierRule>& rules, const codegen::ClassifierPacket& p) {
    for (const codegen::ClassifierRule& r : rules) {
        if (!in_prefix(r.src6, p.saddr6) || !in_prefix(r.dst6, p.daddr6)) continue;
        bpft_cls_rule box = r.box;
        box.src = box.src_mask = box.dst = box.dst_mask = 0;
        if (uint32_t v = codegen::classifier_rule_verdict(box, p)) return v;
    }
    return 0;
}

class Classifier6 : public ::testing::TestWithParam<int> {};

TEST_P(Classifier6, TreeWalkOnAddressIdsIsFirstMatch) {
    std::mt19937 rng(GetParam());
    std::vector<std::string> rules;
    size_t n = GetParam() % 3 == 0 ? 3000 : 300;
    for (size_t i = 0; i < n; ++i) rules.push_back(classifier_rule_text6(rng));
    Diagnostics diags;
    std::optional<ir::Program> program =
        parse_and_lower(input_rules(rules), "test.rules", diags, {.family = ir::Family::ipv6});
    ASSERT_TRUE(program) << diags.str();
    codegen::Layout layout = layout_of(*program);
    ASSERT_FALSE(layout.runs.empty());
    std::string error;
    std::optional<codegen::ClassifierTrees> trees = codegen::build_classifier(*program, layout, error);
    ASSERT_TRUE(trees) << error;
    EXPECT_EQ(trees->family, ir::Family::ipv6);
    const ir::Chain& input = *program->find("filter")->find("INPUT");
    std::vector<std::vector<codegen::ClassifierRule>> runs;
    for (const codegen::ClassifierRun& run : layout.runs) {
        std::vector<codegen::ClassifierRule>& rs = runs.emplace_back();
        for (int i = run.first; i < run.first + run.count; ++i)
            rs.push_back(*codegen::classifier_rule(
                input.rules[i], static_cast<uint32_t>(layout.gid("filter", "INPUT", i)), ir::Family::ipv6));
    }
    for (int i = 0; i < 20000; ++i) {
        codegen::ClassifierPacket p = classifier_packet6(rng);
        for (uint32_t run = 0; run < runs.size(); ++run) {
            uint32_t want = linear6(runs[run], p), got = codegen::classify(*trees, run, p);
            ASSERT_EQ(got, want) << "seed " << GetParam() << " packet " << i << " run " << run << ": "
                                 << colon(p.saddr6) << " -> " << colon(p.daddr6) << " proto " << int(p.proto)
                                 << " ports " << p.sport << ":" << p.dport << " l4 " << p.l4_len;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Seeds, Classifier6, ::testing::Range(1, 5));

// Ids of a run: a prefix's block holds exactly the ids of the prefixes inside it; 32 prefixes nested in one
// another (under ::/0) take all 2^32 ids, 33 need more: such a run is split, then left as rules of their
// own with a note, never refused.
TEST(ClassifierRuns, DeeplyNestedIpv6PrefixesAreLeftAsRules) {
    std::vector<std::string> rules;
    for (int len = 1; len <= 66; ++len) rules.push_back("-s 8000::/" + std::to_string(len) + " -j DROP");
    Diagnostics diags;
    std::optional<ir::Program> program =
        parse_and_lower(input_rules(rules), "test.rules", diags, {.family = ir::Family::ipv6});
    ASSERT_TRUE(program) << diags.str();
    codegen::Layout layout = layout_of(*program);
    EXPECT_TRUE(layout.runs.empty());
    const ir::ChainPlan& plan = program->find("filter")->find("INPUT")->plan;
    ASSERT_FALSE(plan.classifier_notes.empty());
    EXPECT_NE(plan.classifier_notes[0].second.find("nest too deeply for 32-bit address ids"),
              std::string::npos)
        << plan.classifier_notes[0].second;
    // /1 to /32: the innermost owns id 0, /1 the block [0, 2^31) and id 2^30, ::/0 id 2^31
    std::vector<codegen::ClassifierRule> run;
    for (int len = 1; len <= 32; ++len) {
        codegen::ClassifierRule r;
        r.family = ir::Family::ipv6;
        r.src6 = {{0x80000000u, 0, 0, 0}, static_cast<uint8_t>(len)};
        r.box.proto_hi = 0xff, r.box.sport_hi = r.box.dport_hi = 0xffff;
        r.box.verdict = (BPFT_DROP << 24) | len;
        run.push_back(r);
    }
    std::string error;
    std::optional<codegen::ClassifierTrees> trees = codegen::build_classifier({run}, error);
    ASSERT_TRUE(trees) << error;
    codegen::ClassifierPacket p;
    p.saddr6 = {0x80000000u, 0, 0, 1};
    EXPECT_EQ(codegen::address_id(*trees, 0, 0, p.saddr6), 0u);
    p.saddr6 = {0, 0, 0, 1};
    EXPECT_EQ(codegen::address_id(*trees, 0, 0, p.saddr6), 0x80000000u);
    EXPECT_EQ(trees->rules[0].src_mask, 0x80000000u);   // /1: half the ids
    EXPECT_EQ(trees->rules[30].src_mask, 0xfffffffeu);  // /31: its own id and /32's
    EXPECT_EQ(trees->rules[31].src_mask, 0xffffffffu);
    EXPECT_EQ(codegen::classify(*trees, 0, p), 0u);
    p.saddr6 = {0xc0000000u, 0, 0, 0};  // in /1 only
    EXPECT_EQ(codegen::address_id(*trees, 0, 0, p.saddr6), 0x40000000u);
    EXPECT_EQ(codegen::classify(*trees, 0, p), run[0].box.verdict);
    run.push_back(run.back());
    run.back().src6.len = 33;  // 33 prefixes under ::/0: 2^33 ids
    EXPECT_FALSE(codegen::build_classifier({run}, error));
    EXPECT_NE(error.find("nest too deeply"), std::string::npos) << error;
}

TEST(ClassifierRuns, OnlySimpleRulesAndLongEnough) {
    setenv("BPFTABLES_CLASSIFIER_MIN", "3", 1);
    ir::Program program = lower(input_rules({
        "-s 198.18.0.0/24 -j DROP",
        "-p tcp -m tcp --dport 22 -j ACCEPT",
        "-d 198.18.1.1/32 -j ACCEPT",
        "! -s 198.18.0.1/32 -j DROP",  // negation: not classified
        "-p udp -j ACCEPT",
        "-p udp -m udp --sport 53 -j DROP",              // a run of two: too short
        "-m conntrack --ctstate ESTABLISHED -j ACCEPT",  // other match
        "-s 198.18.0.1/32 -j DROP",
        "-s 198.18.0.2/32 -j DROP",
        "-s 198.18.0.3/32 -j RETURN",  // other target
        "-s 198.18.0.4/32 -j DROP",
        "-p tcp -m tcp --syn -j DROP",  // tcp flags
        "-s 198.18.0.5/32",
        "-p icmp -j ACCEPT",
        "-p icmp -j DROP",
        "-p 47 -j DROP",
    }));
    codegen::Layout layout = layout_of(program);
    unsetenv("BPFTABLES_CLASSIFIER_MIN");
    ASSERT_EQ(layout.runs.size(), 2u);
    EXPECT_EQ(layout.runs[0].first, 0);
    EXPECT_EQ(layout.runs[0].count, 3);
    EXPECT_EQ(layout.runs[1].first, 13);
    EXPECT_EQ(layout.runs[1].count, 3);
}

TEST(ClassifierRuns, OffWhenMinIsZero) {
    setenv("BPFTABLES_CLASSIFIER_MIN", "0", 1);
    ir::Program program = lower(input_rules(std::vector<std::string>(100, "-s 198.18.0.0/24 -j DROP")));
    EXPECT_TRUE(layout_of(program).runs.empty());
    unsetenv("BPFTABLES_CLASSIFIER_MIN");
}

}  // namespace
}  // namespace bpftables::test
