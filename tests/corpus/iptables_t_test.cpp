// Conformance against iptables' own extension tests (../shared/corpus/iptables-t/ALL_RULES.jsonl): every OK
// rule must lower and print back as its expected iptables-save text, every FAIL rule must be rejected.
//
// Each family runs the cases upstream's iptables-test.py gives its command: iptables the libipt_* files,
// ip6tables the libip6t_* ones, and both every line of the libxt_* files (the corpus marks each case with the
// families that run it). The IPv6 cases are read as ip6tables reads them (ir::Family::ipv6).
//
// Each case's rule is split into words by the project's own iptables-restore parser (so quoting behaves as
// in a shell), lowered with lower_rule_spec and printed with ir::rule_spec. A table of pass rates per module
// (the .t file) goes to stdout, and to the file named by BPFTABLES_CONFORMANCE_REPORT when that is set. The
// test fails when a case of a supported module fails; the other modules are only reported.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "compiler/iptables_lower.hpp"
#include "compiler/ir_print.hpp"
#include "parser/iptables_parser.hpp"

namespace bpftables {
namespace {

// ---- a JSON-lines reader for flat objects: strings, null, numbers, booleans and arrays of strings
// ----------

struct JsonValue {
    std::optional<std::string> str;  // strings; numbers and booleans as their text; empty for null
    std::vector<std::string> list;   // arrays of strings
    bool is_list = false;
};

using JsonObject = std::map<std::string, JsonValue>;

class JsonLine {
  public:
    explicit JsonLine(const std::string& text) : s_(text) {}

    std::optional<JsonObject> object() {
        JsonObject out;
        if (!eat('{')) return std::nullopt;
        if (eat('}')) return out;
        do {
            std::optional<std::string> key = string();
            if (!key || !eat(':')) return std::nullopt;
            std::optional<JsonValue> v = value();
            if (!v) return std::nullopt;
            out[*key] = std::move(*v);
        } while (eat(','));
        if (!eat('}')) return std::nullopt;
        return out;
    }

  private:
    void blanks() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r' || s_[i_] == '\n')) ++i_;
    }
    bool eat(char c) {
        blanks();
        if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
        return false;
    }
    static void append_utf8(uint32_t cp, std::string& out) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            out += static_cast<char>(0xf0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        }
    }
    bool hex4(uint32_t& out) {
        if (i_ + 4 > s_.size()) return false;
        out = 0;
        for (int k = 0; k < 4; ++k) {
            char c = s_[i_++];
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0) return false;
            out = out * 16 + static_cast<uint32_t>(d);
        }
        return true;
    }
    std::optional<std::string> string() {
        if (!eat('"')) return std::nullopt;
        std::string out;
        while (i_ < s_.size() && s_[i_] != '"') {
            char c = s_[i_++];
            if (c != '\\') {
                out += c;
                continue;
            }
            if (i_ >= s_.size()) return std::nullopt;
            char e = s_[i_++];
            switch (e) {
                case 'n':
                    out += '\n';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'u': {
                    uint32_t cp;
                    if (!hex4(cp)) return std::nullopt;
                    if (cp >= 0xd800 && cp < 0xdc00 && s_.compare(i_, 2, "\\u") == 0) {
                        i_ += 2;
                        uint32_t low;
                        if (!hex4(low)) return std::nullopt;
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                    }
                    append_utf8(cp, out);
                    break;
                }
                default:
                    out += e;  // \" \\ \/
            }
        }
        if (i_ >= s_.size()) return std::nullopt;
        ++i_;
        return out;
    }
    std::optional<JsonValue> value() {
        blanks();
        JsonValue v;
        if (i_ >= s_.size()) return std::nullopt;
        if (s_[i_] == '"') {
            v.str = string();
            if (!v.str) return std::nullopt;
            return v;
        }
        if (eat('[')) {
            v.is_list = true;
            if (eat(']')) return v;
            do {
                std::optional<std::string> item = string();
                if (!item) return std::nullopt;
                v.list.push_back(std::move(*item));
            } while (eat(','));
            if (!eat(']')) return std::nullopt;
            return v;
        }
        size_t start = i_;
        while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ' ') ++i_;
        std::string word = s_.substr(start, i_ - start);
        if (word.empty()) return std::nullopt;
        if (word != "null") v.str = word;
        return v;
    }

    const std::string& s_;
    size_t i_ = 0;
};

// ---- the cases
// ---------------------------------------------------------------------------------------------

struct Case {
    std::string file;
    int line = 0;
    std::string table;
    std::string rule;
    std::string expected;  // the expected iptables-save text (OK cases)
    bool ok = false;       // OK: must round-trip; FAIL: must be rejected
};

// The files of the modules bpftables parses, per family (a libxt_* file is in both).
const std::set<std::string>& supported_modules(ir::Family family) {
    static const std::set<std::string> ipv4{
        "iptables.t",      "libipt_standard.t", "libxt_standard.t",  "libxt_tcp.t",        "libxt_udp.t",
        "libipt_icmp.t",   "libxt_multiport.t", "libxt_conntrack.t", "libipt_conntrack.t", "libxt_state.t",
        "libxt_iprange.t", "libipt_iprange.t",  "libxt_mark.t",      "libxt_comment.t",    "libxt_length.t",
        "libipt_ttl.t",    "libxt_dscp.t",      "libxt_tos.t",       "libxt_mac.t",        "libxt_addrtype.t",
        "libxt_pkttype.t", "libxt_limit.t",     "libxt_set.t",       "libipt_REJECT.t",    "libipt_LOG.t",
        "libxt_NOTRACK.t", "libxt_CT.t"};
    static const std::set<std::string> ipv6{
        "libip6t_standard.t", "libxt_standard.t",  "libxt_tcp.t",          "libxt_udp.t",
        "libip6t_icmp6.t",    "libxt_multiport.t", "libxt_conntrack.t",    "libip6t_conntrack.t",
        "libxt_state.t",      "libxt_iprange.t",   "libip6t_iprange.t",    "libxt_mark.t",
        "libxt_comment.t",    "libxt_length.t",    "libip6t_hl.t",         "libxt_dscp.t",
        "libxt_tos.t",        "libxt_mac.t",       "libxt_addrtype.t",     "libxt_pkttype.t",
        "libxt_limit.t",      "libxt_set.t",       "libip6t_REJECT.t",     "libip6t_LOG.t",
        "libxt_NOTRACK.t",    "libxt_CT.t",        "libip6t_ipv6header.t", "libip6t_frag.t",
        "libip6t_hbh.t",      "libip6t_dst.t",     "libip6t_rt.t",         "libip6t_ah.t",
        "libip6t_mh.t"};
    return family == ir::Family::ipv4 ? ipv4 : ipv6;
}

const char* family_name(ir::Family family) {
    return family == ir::Family::ipv4 ? "ipv4" : "ipv6";
}

const std::string* field(const JsonObject& o, const std::string& key) {
    auto it = o.find(key);
    return it == o.end() || !it->second.str ? nullptr : &*it->second.str;
}

// Reads the rule cases that `family`'s command runs; `files` receives every file named, of that family or not.
std::vector<Case> read_cases(const std::string& path, ir::Family family, std::set<std::string>& files,
                             std::string& error) {
    std::ifstream in(path);
    std::vector<Case> cases;
    std::string text;
    int n = 0;
    while (std::getline(in, text)) {
        ++n;
        if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
        std::optional<JsonObject> o = JsonLine(text).object();
        if (!o) {
            error = path + ":" + std::to_string(n) + ": not a JSON object";
            return {};
        }
        const std::string* file = field(*o, "file");
        if (!file) continue;
        files.insert(*file);
        const std::string* kind = field(*o, "kind");
        if (!kind || *kind != "rule") continue;
        auto fam = o->find("family");
        if (fam != o->end() && fam->second.is_list &&
            std::find(fam->second.list.begin(), fam->second.list.end(), family_name(family)) ==
                fam->second.list.end())
            continue;
        const std::string* variant = field(*o, "variant");
        if (variant && *variant == "NFT") continue;  // iptables-nft only: bpftables follows legacy
        const std::string* rule = field(*o, "rule");
        const std::string* result = field(*o, "result");
        if (!rule || !result) continue;
        Case c;
        c.file = *file;
        const std::string* line = field(*o, "line");
        c.line = line ? std::atoi(line->c_str()) : 0;
        const std::string* table = field(*o, "table");
        c.table = table ? *table : "filter";
        c.rule = *rule;
        c.ok = *result == "OK";
        const std::string* expected = field(*o, "expected_save");
        c.expected = !expected || *expected == "=" ? *rule : *expected;
        cases.push_back(std::move(c));
    }
    return cases;
}

struct Outcome {
    bool passed = false;
    std::string detail;  // what happened, for the failure message
};

Outcome run_case(const Case& c, ir::Family family) {
    Diagnostics diags;
    const std::string file = c.file + ":" + std::to_string(c.line);
    const std::string text = "*" + c.table + "\n-A CHAIN " + c.rule + "\nCOMMIT\n";
    diags.add_source(file, text);
    std::optional<std::vector<ir::Rule>> rules;
    if (auto script = parser::parse_iptables(text, file, diags)) {
        for (const parser::Line& l : script->lines) {
            const auto* cmd = std::get_if<parser::Command>(&l);
            if (!cmd) continue;
            std::vector<parser::Word> words(cmd->words.begin() + std::min<size_t>(2, cmd->words.size()),
                                            cmd->words.end());
            // iptables-test.py runs with no ipset created: every --match-set names a set that does not exist.
            static const std::vector<ir::IpSet> no_sets;
            rules = lower_rule_spec(words, c.table, nullptr, diags, &no_sets, family);
        }
    }
    if (diags.has_errors()) rules.reset();
    if (!c.ok) {
        if (!rules) return {true, {}};
        std::string printed;
        for (const ir::Rule& r : *rules) printed += (printed.empty() ? "" : "\n") + ir::rule_spec(r);
        return {false, "accepted a rule iptables rejects; printed as: " + printed};
    }
    if (!rules) return {false, "rejected:\n" + diags.str()};
    std::string printed;
    for (const ir::Rule& r : *rules) printed += (printed.empty() ? "" : "\n") + ir::rule_spec(r);
    if (printed == c.expected) return {true, {}};
    return {false, "printed  \"" + printed + "\"\nexpected \"" + c.expected + "\""};
}

struct Tally {
    int ok_total = 0, ok_passed = 0, fail_total = 0, fail_passed = 0;
};

std::string percent(int passed, int total) {
    if (total == 0) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%d/%d %5.1f%%", passed, total, 100.0 * passed / total);
    return buf;
}

std::string report(const std::map<std::string, Tally>& tallies, const std::set<std::string>& files,
                   ir::Family family) {
    std::ostringstream out;
    char line[200];
    std::snprintf(line, sizeof line, "%-24s %-9s %-18s %-18s\n", "module", "supported", "OK round-trip",
                  "FAIL rejected");
    out << line;
    Tally all, supported;
    for (const std::string& f : files) {
        auto it = tallies.find(f);
        bool sup = supported_modules(family).count(f) > 0;
        if (it == tallies.end()) {
            std::snprintf(line, sizeof line, "%-24s %-9s %s\n", f.c_str(), sup ? "yes" : "no",
                          family == ir::Family::ipv4 ? "(no IPv4 cases)" : "(no IPv6 cases)");
            out << line;
            continue;
        }
        const Tally& t = it->second;
        std::snprintf(line, sizeof line, "%-24s %-9s %-18s %-18s\n", f.c_str(), sup ? "yes" : "no",
                      percent(t.ok_passed, t.ok_total).c_str(), percent(t.fail_passed, t.fail_total).c_str());
        out << line;
        for (Tally* sum : {&all, sup ? &supported : nullptr}) {
            if (!sum) continue;
            sum->ok_total += t.ok_total, sum->ok_passed += t.ok_passed;
            sum->fail_total += t.fail_total, sum->fail_passed += t.fail_passed;
        }
    }
    for (auto [name, t] :
         {std::pair<const char*, Tally>{"TOTAL (supported)", supported}, {"TOTAL (all)", all}}) {
        std::snprintf(line, sizeof line, "%-24s %-9s %-18s %-18s\n", name, "",
                      percent(t.ok_passed, t.ok_total).c_str(), percent(t.fail_passed, t.fail_total).c_str());
        out << line;
    }
    return out.str();
}

void run_family(ir::Family family) {
    const std::filesystem::path dir = std::filesystem::path(BPFTABLES_CORPUS_DIR) / "iptables-t";
    const std::filesystem::path jsonl = dir / "ALL_RULES.jsonl";
    if (!std::filesystem::exists(jsonl))
        GTEST_SKIP() << "corpus not found at " << jsonl.string()
                     << " (the iptables-t corpus lives beside the checkout in ../shared/corpus)";

    std::set<std::string> files;
    std::string error;
    std::vector<Case> cases = read_cases(jsonl.string(), family, files, error);
    ASSERT_TRUE(error.empty()) << error;
    ASSERT_FALSE(cases.empty()) << "no " << family_name(family) << " rule cases in " << jsonl.string();

    std::map<std::string, Tally> tallies;
    for (const Case& c : cases) {
        Outcome o = run_case(c, family);
        Tally& t = tallies[c.file];
        (c.ok ? t.ok_total : t.fail_total)++;
        if (o.passed) (c.ok ? t.ok_passed : t.fail_passed)++;
        if (!o.passed && supported_modules(family).count(c.file))
            ADD_FAILURE() << c.file << ":" << c.line << " (" << family_name(family) << ", "
                          << (c.ok ? "OK" : "FAIL") << ", table " << c.table << "): " << c.rule << "\n"
                          << o.detail;
    }

    std::string table = report(tallies, files, family);
    std::cout << table;
    // BPFTABLES_CONFORMANCE_REPORT names the IPv4 report; the IPv6 one goes beside it, with ".ipv6" added.
    if (const char* path = std::getenv("BPFTABLES_CONFORMANCE_REPORT"); path && *path) {
        std::string name = std::string(path) + (family == ir::Family::ipv6 ? ".ipv6" : "");
        std::ofstream out(name);
        out << table;
        EXPECT_TRUE(out.good()) << "cannot write the report to " << name;
    }
}

TEST(IptablesT, SupportedModulesRoundTrip) {
    run_family(ir::Family::ipv4);
}

// The ip6tables cases: the libip6t_* files and every libxt_* line.
TEST(IptablesT, Ipv6SupportedModulesRoundTrip) {
    run_family(ir::Family::ipv6);
}

}  // namespace
}  // namespace bpftables
