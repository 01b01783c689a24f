// nftables' tests/py (../shared/corpus/nft-py): each `rule;ok` line of a file with an ip or inet table must
// parse, and each `rule;fail` line must be rejected (by the parser or the lowering). Each rule is wrapped in
// `table <family> t { <the sets declared so far> chain c { type filter hook input priority 0; RULE } }`.
// Rates are printed per file; the test fails only for the files listed in `supported`.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "compiler/nft/lower.hpp"
#include "parser/nft_parser.hpp"

namespace bpftables {
namespace {

namespace fs = std::filesystem;

const fs::path corpus = fs::path(BPFTABLES_CORPUS_DIR) / "nft-py";

// Files of the expressions whose every ok line parses and every fail line is rejected.
const std::set<std::string> supported = {
    "any/counter.t", "any/log.t",   "inet/ct.t",  "inet/icmp.t", "inet/ip_tcp.t", "inet/map.t", "inet/meta.t",
    "inet/reject.t", "inet/sets.t", "inet/tcp.t", "inet/udp.t",  "inet/vmap.t",   "ip/ct.t",    "ip/icmp.t",
    "ip/ip.t",       "ip/ip_tcp.t", "ip/meta.t",  "ip/reject.t", "ip/sets.t",
};

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false;
    for (char c : s) {
        if (c == '"') quoted = !quoted;
        if (c == sep && !quoted) {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    out.push_back(cur);
    return out;
}

struct Rates {
    int ok_total = 0, ok_parsed = 0, ok_lowered = 0, fail_total = 0, fail_rejected = 0, fail_by_parser = 0;
    std::vector<std::string> misses;
};

Rates run_file(const fs::path& file) {
    Rates rates;
    std::ifstream in(file);
    std::string family;
    std::string sets;  // set declarations so far ("!name type ...;ok")
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#' || line[0] == '-' || line[0] == ':' || line[0] == '?' ||
            line[0] == '%')
            continue;
        if (line[0] == '*') {
            std::string fam = split(line.substr(1), ';')[0];
            if (family.empty() && (fam == "ip" || fam == "inet")) family = fam;
            continue;
        }
        if (family.empty()) continue;  // no ip/inet table in this file
        std::vector<std::string> f = split(line, ';');
        if (f.size() < 2) continue;
        bool ok = f[1] == "ok";
        if (line[0] == '!') {  // !name type ...;ok
            std::string decl = f[0].substr(1);
            size_t sp = decl.find(' ');
            if (ok && sp != std::string::npos)
                sets += "set " + decl.substr(0, sp) + " { " + decl.substr(sp + 1) + "; }\n";
            continue;
        }
        std::string text = "table " + family + " t {\n" + sets +
                           "chain c {\ntype filter hook input priority 0;\n" + f[0] + "\n}\n}\n";
        Diagnostics diags;
        std::optional<parser::nft::Script> script = parser::parse_nft(text, file.filename().string(), diags);
        if (ok) {
            ++rates.ok_total;
            if (script) {
                ++rates.ok_parsed;
                Diagnostics lower_diags;
                rates.ok_lowered += lower_nft(*script, lower_diags).has_value();
            } else
                rates.misses.push_back("ok line did not parse: " + f[0] + "\n" + diags.str());
        } else {
            ++rates.fail_total;
            rates.fail_by_parser += !script;
            bool rejected = !script || !lower_nft(*script, diags);
            if (rejected)
                ++rates.fail_rejected;
            else
                rates.misses.push_back("fail line accepted: " + f[0]);
        }
    }
    return rates;
}

TEST(NftPy, RuleLines) {
    if (!fs::exists(corpus)) GTEST_SKIP() << "corpus absent: " << corpus;
    std::vector<fs::path> files;
    for (const char* dir : {"ip", "inet", "any"})
        for (const auto& e : fs::directory_iterator(corpus / dir))
            if (e.path().extension() == ".t") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    Rates total;
    std::ostringstream table;
    for (const fs::path& file : files) {
        std::string name = file.parent_path().filename().string() + "/" + file.filename().string();
        Rates r = run_file(file);
        if (r.ok_total + r.fail_total == 0) continue;
        table << "  " << name << ": ok parsed " << r.ok_parsed << "/" << r.ok_total << " (lowered "
              << r.ok_lowered << "), fail rejected " << r.fail_rejected << "/" << r.fail_total
              << " (by the parser " << r.fail_by_parser << ")"
              << (supported.count(name) ? "  (supported)" : "") << "\n";
        total.ok_total += r.ok_total, total.ok_parsed += r.ok_parsed, total.ok_lowered += r.ok_lowered;
        total.fail_total += r.fail_total, total.fail_rejected += r.fail_rejected;
        total.fail_by_parser += r.fail_by_parser;
        if (supported.count(name))
            for (const std::string& m : r.misses) ADD_FAILURE() << name << ": " << m;
        else if (getenv("NFTPY_VERBOSE"))
            for (const std::string& m : r.misses) std::cout << name << ": " << m << "\n";
    }
    std::cout << "nft-py (ip/inet families):\n"
              << table.str() << "  total: ok parsed " << total.ok_parsed << "/" << total.ok_total
              << " (lowered " << total.ok_lowered << "), fail rejected " << total.fail_rejected << "/"
              << total.fail_total << " (by the parser " << total.fail_by_parser << ")\n";
}

}  // namespace
}  // namespace bpftables
