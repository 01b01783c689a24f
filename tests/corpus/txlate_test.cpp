// iptables-translate pairs (../shared/corpus/iptables-txlate/ALL_XLATE.jsonl): the iptables rule, lowered by
// the iptables front end, and its nft translation, lowered by the nft front end, give equal IR rules
// (matches compared as multisets, -m state and ct state compared as the same conntrack state match; the
// target compared exactly; counters ignored; tautologies -s 0/0 and --sport 0:65535, which the translation
// drops, removed). Rates are printed per file; a mismatch fails the test only in the files listed in
// `supported`. TXLATE_VERBOSE=1 prints every mismatch and the nft front end's errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "compiler/iptables_lower.hpp"
#include "compiler/ir_print.hpp"
#include "compiler/nft/lower.hpp"

namespace bpftables {
namespace {

namespace fs = std::filesystem;

const std::set<std::string> supported = {
    "libxt_tcp.txlate",     "libxt_udp.txlate",  "libxt_multiport.txlate", "libxt_comment.txlate",
    "libxt_length.txlate",  "libxt_mark.txlate", "libxt_mac.txlate",       "libipt_LOG.txlate",
    "libipt_REJECT.txlate", "libipt_ttl.txlate"};

// The value of "key": "..." in one JSON line, unescaped.
std::optional<std::string> json_string(const std::string& line, const std::string& key) {
    size_t k = line.find("\"" + key + "\": \"");
    if (k == std::string::npos) return std::nullopt;
    std::string out;
    for (size_t i = k + key.size() + 5; i < line.size(); ++i) {
        char c = line[i];
        if (c == '"') return out;
        if (c == '\\' && i + 1 < line.size()) {
            char e = line[++i];
            out += e == 'n' ? '\n' : e == 't' ? '\t' : e;
        } else {
            out += c;
        }
    }
    return std::nullopt;
}

// A port range 0-65535 matches every packet of its protocol: iptables keeps it, nft's translation drops it.
bool full_range(const std::optional<ir::Negatable<ir::PortRange>>& p) {
    return p && !p->invert && p->value == ir::PortRange{0, 0xffff};
}

std::vector<ir::Match> normalized(std::vector<ir::Match> ms) {
    std::erase_if(ms, [](ir::Match& m) {
        if (auto* t = std::get_if<ir::TcpMatch>(&m)) {
            if (full_range(t->sport)) t->sport.reset();
            if (full_range(t->dport)) t->dport.reset();
            return !t->sport && !t->dport && !t->flags && !t->option;
        }
        if (auto* u = std::get_if<ir::UdpMatch>(&m)) {
            if (full_range(u->sport)) u->sport.reset();
            if (full_range(u->dport)) u->dport.reset();
            return !u->sport && !u->dport;
        }
        if (auto* a = std::get_if<ir::AddressMatch>(&m)) return a->net.mask == 0 && !a->invert;  // -s 0/0
        return false;
    });
    for (ir::Match& m : ms)
        if (const auto* s = std::get_if<ir::StateMatch>(&m)) {
            ir::ConntrackMatch c;
            c.state = ir::Negatable<uint32_t>{s->states, s->invert};
            m = c;
        }
    std::sort(ms.begin(), ms.end());
    return ms;
}

std::string describe(const std::vector<ir::Rule>& rules) {
    std::ostringstream s;
    for (const ir::Rule& r : rules) {
        for (const ir::Match& m : normalized(r.matches)) s << m.index() << " ";
        s << "-> " << r.target.index() << "; ";
    }
    return s.str();
}

const char* chains_preamble = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
const char* nft_preamble =
    "table ip filter {\n"
    " chain INPUT { type filter hook input priority 0; }\n"
    " chain FORWARD { type filter hook forward priority 0; }\n"
    " chain OUTPUT { type filter hook output priority 0; }\n"
    "}\n";

struct Rate {
    int pairs = 0, equal = 0, ipt_failed = 0, ipt_kernel = 0, nft_failed = 0, different = 0;
};

TEST(Txlate, SameIr) {
    fs::path file = fs::path(BPFTABLES_CORPUS_DIR) / "iptables-txlate" / "ALL_XLATE.jsonl";
    if (!fs::exists(file)) GTEST_SKIP() << "corpus absent: " << file;
    std::ifstream in(file);
    std::map<std::string, Rate> rates;
    Rate total;
    for (std::string line; std::getline(in, line);) {
        std::optional<std::string> name = json_string(line, "file"), source = json_string(line, "source"),
                                   expected = json_string(line, "expected");
        if (!name || !source || !expected) continue;
        const std::string prefix = "iptables-translate ";
        if (source->rfind(prefix, 0) != 0 || source->find(" -t ") != std::string::npos) continue;
        if (expected->find('\n') != std::string::npos || expected->rfind("nft '", 0) != 0) continue;
        std::string nft_cmd = expected->substr(5, expected->size() - 6);
        if (nft_cmd.find(" ip filter ") == std::string::npos) continue;
        Rate& r = rates[*name];
        ++r.pairs;

        Diagnostics ipt_diags, nft_diags;
        std::string ipt_text = std::string(chains_preamble) + source->substr(prefix.size()) + "\nCOMMIT\n";
        std::optional<ir::Program> ipt = parse_and_lower(ipt_text, "iptables", ipt_diags);
        std::optional<ir::Program> nft = parse_and_lower_nft(nft_preamble + nft_cmd + "\n", "nft", nft_diags);
        if (!ipt) {
            ++r.ipt_failed;
            continue;
        }
        if (!nft) {
            if (getenv("TXLATE_VERBOSE")) std::cout << *name << ": " << nft_cmd << "\n" << nft_diags.str();
            ++r.nft_failed;
            continue;
        }
        std::vector<ir::Rule> a, b;
        for (const ir::Chain& c : ipt->find("filter")->chains)
            a.insert(a.end(), c.rules.begin(), c.rules.end());
        // A module bpftables hands to the kernel (-m ah, -m ecn ...) has no IR to compare with the
        // translation.
        if (std::any_of(a.begin(), a.end(), [](const ir::Rule& rule) {
                return std::any_of(rule.matches.begin(), rule.matches.end(), [](const ir::Match& m) {
                    return std::holds_alternative<ir::OpaqueMatch>(m);
                });
            })) {
            ++r.ipt_kernel;
            continue;
        }
        for (const ir::Chain& c : nft->find("filter")->chains)
            b.insert(b.end(), c.rules.begin(), c.rules.end());
        bool same = a.size() == b.size();
        for (size_t i = 0; same && i < a.size(); ++i)
            same = normalized(a[i].matches) == normalized(b[i].matches) && a[i].target == b[i].target;
        if (same) {
            ++r.equal;
        } else {
            ++r.different;
            ADD_FAILURE() << *name << ": " << *source << "\n  vs " << nft_cmd
                          << "\n  iptables: " << describe(a) << "\n  nft:      " << describe(b);
        }
    }
    std::cout
        << "iptables-txlate (filter-table pairs; equal / iptables rejected / iptables module not compiled / "
           "nft rejected / different):\n";
    auto print = [](const std::string& name, const Rate& r, bool supported) {
        std::cout << "  " << name << ": " << r.equal << "/" << r.pairs << " equal, " << r.ipt_failed << " / "
                  << r.ipt_kernel << " / " << r.nft_failed << " / " << r.different
                  << (supported ? "  (supported)" : "") << "\n";
    };
    for (const auto& [name, r] : rates) {
        print(name, r, supported.count(name));
        total.pairs += r.pairs, total.equal += r.equal, total.ipt_failed += r.ipt_failed;
        total.ipt_kernel += r.ipt_kernel, total.nft_failed += r.nft_failed, total.different += r.different;
    }
    print("total", total, false);
}

}  // namespace
}  // namespace bpftables
