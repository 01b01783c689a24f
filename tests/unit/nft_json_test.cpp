// The nft JSON reader (parser/nft_json.cpp): a ruleset and its `nft -j list ruleset` lower to the same IR,
// errors point into the JSON, and bogus input (truncated, retyped, mutated, deeply nested, unknown
// expressions) is rejected with a diagnostic and never crashes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "compiler/ir_print.hpp"
#include "compiler/nft/lower.hpp"
#include "parser/nft_json.hpp"

namespace bpftables {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

using json = nlohmann::json;

std::string data(const std::string& name) {
    std::ifstream in(std::string(BPFTABLES_SOURCE_DIR) + "/tests/unit/data/" + name, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string canonical(const ir::Program& p) {
    std::string out = ir::to_save(p);
    for (const ir::Table& t : p.tables)
        for (const ir::Chain& c : t.chains)
            if (c.nft_hook)
                out += t.family + " " + c.name + " " + c.nft_hook->hook + " " +
                       std::to_string(c.nft_hook->priority) + " " +
                       std::to_string(static_cast<int>(c.policy)) + "\n";
    for (const ir::IpSet& s : p.sets) out += s.name + " " + std::to_string(s.members.size()) + "\n";
    return out;
}

// Lowers JSON; either a program or an error diagnostic, nothing else.
bool rejected_cleanly_or_lowered(const std::string& text) {
    Diagnostics d;
    std::optional<ir::Program> p = parse_and_lower_nft_json(text, "b.json", d);
    if (p) return true;
    return d.has_errors() && d.str().find("b.json:") != std::string::npos &&
           d.str().find("error:") != std::string::npos;
}

TEST(NftJson, SampleLowersAsItsText) {
    Diagnostics td, jd;
    std::optional<ir::Program> t = parse_and_lower_nft(data("nft_json_sample.nft"), "s.nft", td);
    std::optional<ir::Program> j = parse_and_lower_nft_json(data("nft_json_sample.json"), "s.json", jd);
    ASSERT_TRUE(t) << td.str();
    ASSERT_TRUE(j) << jd.str();
    EXPECT_EQ(canonical(*t), canonical(*j));
    EXPECT_NE(canonical(*j).find("-j REJECT --reject-with tcp-reset"), std::string::npos) << canonical(*j);
}

TEST(NftJson, IntoTheTextAst) {
    Diagnostics d;
    std::optional<parser::nft::Script> s = parser::parse_nft_json(data("nft_json_sample.json"), "s.json", d);
    ASSERT_TRUE(s) << d.str();
    using O = parser::nft::Command::Object;
    ASSERT_GE(s->commands.size(), 6u);
    EXPECT_EQ(s->commands[0].object, O::table);
    EXPECT_EQ(s->commands[1].object, O::set);
    EXPECT_TRUE(s->commands[2].is_map);
    const parser::nft::Command& in = s->commands[3];
    ASSERT_TRUE(in.chain_body && in.chain_body->hook);
    EXPECT_EQ(in.chain_body->hook->priority, "-5");
    EXPECT_EQ(*in.chain_body->policy, "drop");
    const parser::nft::Command& r = s->commands[5];  // ct state established,related accept
    ASSERT_TRUE(r.rule);
    const auto& st = r.rule->statements;
    ASSERT_EQ(st.size(), 2u);
    EXPECT_EQ(st[0].keyword, "");  // "op": "in" is the implicit relation
    EXPECT_EQ(st[0].lhs.text, "ct state");
    EXPECT_EQ(st[0].rhs.kind, parser::nft::Expr::Kind::list);
    EXPECT_EQ(st[1].keyword, "accept");
    EXPECT_EQ(r.loc.line, 7);  // the rule object's line and column
    EXPECT_EQ(r.loc.col, 9);
}

TEST(NftJson, ErrorsPointIntoTheJson) {
    auto first = [](const std::string& text) {
        Diagnostics d;
        EXPECT_FALSE(parse_and_lower_nft_json(text, "e.json", d));
        return d.all().empty() ? std::string("(none)") : d.format(d.all().front());
    };
    const std::string head =
        "{\"nftables\": [\n{\"table\": {\"family\": \"ip\", \"name\": \"t\"}},\n"
        "{\"chain\": {\"family\": \"ip\", \"table\": \"t\", \"name\": \"c\"}},\n";
    auto rule = [&](const std::string& expr) {
        return head +
               "{\"rule\": {\"family\": \"ip\", \"table\": \"t\", \"chain\": \"c\", \"expr\": " + expr +
               "}}\n]}\n";
    };
    EXPECT_EQ(first("{\"nftables\": [\n{\"table\": {\"family\": \"ip\"").substr(0, 30),
              "e.json:2:26: error: bad JSON: ");
    EXPECT_EQ(first("[1, 2]").substr(0, 50), "e.json:1:1: error: expected {\"nftables\": [...]} (n");
    EXPECT_EQ(first(rule("{}")).substr(0, 72),
              "e.json:4:10: error: \"expr\" must be an array of statements, not an object");
    // {"match": ...} starts at column 64 of line 4; the unknown expression inside it at its own column.
    std::string bad = rule("[{\"match\": {\"op\": \"==\", \"left\": {\"frobnicate\": {}}, \"right\": 1}}]");
    EXPECT_EQ(first(bad).substr(0, 57), "e.json:4:95: error: unknown expression \"frobnicate\"\n{\"rul");
    EXPECT_EQ(first(rule("[{\"frobnicate\": null}]")).substr(0, 50),
              "e.json:4:64: error: unknown statement \"frobnicate\"");
    EXPECT_EQ(first(rule("[{\"match\": {\"op\": \"~\", \"left\": 1, \"right\": 1}}]")).substr(0, 50),
              "e.json:4:64: error: unknown match operator \"~\"\n{\"r");
    // Lowering errors keep the object's position too.
    EXPECT_EQ(
        first(rule("[{\"match\": {\"op\": \"==\", \"left\": {\"meta\": {\"key\": \"cpu\"}}, \"right\": 1}}]"))
            .substr(0, 55),
        "e.json:4:95: error: \"meta cpu\" is not supported\n{\"rule\"");
    EXPECT_EQ(first(rule("[{\"jump\": {\"target\": 7}}]")).substr(0, 40),
              "e.json:4:64: error: no chain \"7\" in tabl");
    EXPECT_EQ(first(rule("[{\"jump\": {\"target\": []}}]")).substr(0, 58),
              "e.json:4:64: error: \"target\" must be a string, not an arra");
}

TEST(NftJson, BogusInputIsRejectedCleanly) {
    const std::string good = data("nft_json_sample.json");
    ASSERT_TRUE(rejected_cleanly_or_lowered(good));
    // Every truncation, and every byte replaced by a few that change the structure. Under AddressSanitizer
    // (nft_bogons_asan, where a parse costs about five times as much) a fifth of them: every fifth truncation,
    // each replacement at the positions of its own residue, so that every byte is still replaced at least once.
    const size_t stride = kSanitized ? 5 : 1;
    for (size_t n = 0; n < good.size(); n += stride)
        ASSERT_TRUE(rejected_cleanly_or_lowered(good.substr(0, n))) << "truncated at " << n;
    const char replacements[] = {'{', '[', '"', '1', 'x', ']', '\0', '\xff'};
    for (size_t i = 0; i < good.size(); ++i)
        for (size_t r = 0; r < sizeof replacements; ++r) {
            if (i % stride != r % stride) continue;
            std::string s = good;
            s[i] = replacements[r];
            ASSERT_TRUE(rejected_cleanly_or_lowered(s)) << "byte " << i << " -> " << int(replacements[r]);
        }
    // Every value of the tree replaced by a value of each other type.
    json root = json::parse(good);
    std::vector<std::string> paths;
    json flat = root.flatten();  // leaves; their parents are the objects and arrays
    for (const auto& [k, v] : flat.items())
        for (json::json_pointer p(k); !p.empty(); p = p.parent_pointer()) paths.push_back(p.to_string());
    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
    int variants = 0;
    const json replacement_values[] = {
        json(nullptr),           json(1),        json(-1),   json("x"), json("@x"),
        json::array(),           json::object(), json(true), json(1.5), json::array({1, 2}),
        json::object({{"x", 1}})};
    for (size_t i = 0; i < paths.size(); ++i)
        for (size_t r = 0; r < std::size(replacement_values); ++r) {
            if ((i + r) % stride != 0) continue;  // under AddressSanitizer a fifth, rotating over the types
            const std::string& path = paths[i];
            const json& repl = replacement_values[r];
            json mutated = root;
            mutated[json::json_pointer(path)] = repl;
            ++variants;
            ASSERT_TRUE(rejected_cleanly_or_lowered(mutated.dump())) << path << " = " << repl.dump();
        }
    EXPECT_GT(variants, kSanitized ? 200 : 1000);
    // Deep nesting: arrays, objects, binary operations.
    ASSERT_TRUE(rejected_cleanly_or_lowered(std::string(200000, '[')));
    ASSERT_TRUE(rejected_cleanly_or_lowered(std::string(100000, '[') + std::string(100000, ']')));
    std::string deep = "1";
    for (int i = 0; i < 5000; ++i) deep = "{\"&\": [" + deep + ", 1]}";
    std::string text =
        "{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"t\"}}, {\"chain\": {\"family\": "
        "\"ip\", \"table\": \"t\", \"name\": \"c\"}}, {\"rule\": {\"family\": \"ip\", \"table\": "
        "\"t\", \"chain\": \"c\", \"expr\": [{\"match\": {\"op\": \"==\", \"left\": " +
        deep + ", \"right\": 1}}]}}]}";
    Diagnostics d;
    EXPECT_FALSE(parse_and_lower_nft_json(text, "deep.json", d));
    EXPECT_NE(d.str().find("nests too deeply"), std::string::npos) << d.str().substr(0, 200);
    for (const char* s : {"", "{", "{}", "{\"nftables\": {}}", "{\"nftables\": [1]}", "{\"nftables\": [{}]}",
                          "{\"nftables\": [{\"rule\": null}]}", "{\"nftables\": [{\"add\": {\"rule\": 1}}]}",
                          "{\"nftables\": [{\"flush\": {\"ruleset\": null}}]}", "\"\\ud800\"", "nan"})
        EXPECT_TRUE(rejected_cleanly_or_lowered(s)) << s;
}

TEST(NftJson, FormatGuess) {
    EXPECT_TRUE(parser::looks_like_nft_json(data("nft_json_sample.json")));
    EXPECT_TRUE(parser::looks_like_nft_json("\n  {\"nftables\": []}"));
    EXPECT_FALSE(parser::looks_like_nft_json(data("nft_json_sample.nft")));
    EXPECT_FALSE(
        parser::looks_like_nft_json("*filter\n-A INPUT -m comment --comment \"nftables\"\nCOMMIT\n"));
}

}  // namespace
}  // namespace bpftables
