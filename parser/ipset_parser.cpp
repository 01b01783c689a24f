#include "parser/ipset_parser.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <sstream>

namespace bpftables::parser {
namespace {

bool parse_addr(const std::string& s, uint32_t& out) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
    out = ntohl(a.s_addr);
    return true;
}

// "a.b.c.d", "a.b.c.d/len" or "a.b.c.d-e.f.g.h" into networks (a range becomes its covering prefixes).
bool parse_entry(const std::string& s, std::vector<ir::Ipv4Net>& out) {
    size_t dash = s.find('-'), slash = s.find('/');
    uint32_t lo, hi;
    if (dash != std::string::npos) {
        if (!parse_addr(s.substr(0, dash), lo) || !parse_addr(s.substr(dash + 1), hi) || lo > hi)
            return false;
    } else {
        if (!parse_addr(s.substr(0, slash), lo)) return false;
        int len = 32;
        if (slash != std::string::npos) {
            try {
                len = std::stoi(s.substr(slash + 1));
            } catch (...) {
                return false;
            }
            if (len < 0 || len > 32) return false;
        }
        uint32_t mask = len == 0 ? 0 : 0xffffffffu << (32 - len);
        out.push_back({lo & mask, mask});
        return true;
    }
    for (uint64_t a = lo; a <= hi;) {
        int len = 32;
        while (len > 0) {
            uint32_t mask = 0xffffffffu << (33 - len);
            uint64_t size = 1ull << (33 - len);
            if ((a & ~static_cast<uint64_t>(mask) & 0xffffffffu) != 0 || a + size - 1 > hi) break;
            --len;
        }
        uint32_t mask = len == 0 ? 0 : 0xffffffffu << (32 - len);
        out.push_back({static_cast<uint32_t>(a), mask});
        a += 1ull << (32 - len);
    }
    return true;
}

}  // namespace

std::optional<std::vector<ir::IpSet>> parse_ipset_save(const std::string& text, const std::string& file,
                                                       Diagnostics& diags) {
    diags.add_source(file, text);
    std::vector<ir::IpSet> sets;
    std::istringstream in(text);
    int errors = diags.error_count();
    std::string line;
    for (int lineno = 1; std::getline(in, line); ++lineno) {
        std::istringstream words(line);
        std::string verb, name, arg;
        words >> verb;
        if (verb == "ipset") words >> verb;  // "ipset add ..." as written in shell scripts
        words >> name >> arg;
        SourceLoc loc{file, lineno, 1};
        if (verb.empty() || verb[0] == '#') continue;
        if (verb == "create" || verb == "-N" || verb == "n") {
            if (name.empty() || arg.empty()) {
                diags.error(loc, "expected 'create NAME TYPE'");
                continue;
            }
            std::string family, options;
            for (std::string w; words >> w;) {
                options += (options.empty() ? "" : " ") + w;
                if (w == "family" && words >> family) options += " " + family;
            }
            if (family == "inet6") {
                diags.error(loc, "set '" + name + "' is IPv6; only IPv4 sets are supported");
                continue;
            }
            if (family.empty()) options = "family inet" + (options.empty() ? "" : " " + options);
            sets.push_back({name, arg, loc, {}, options, {}});
        } else if (verb == "add" || verb == "-A" || verb == "a") {
            auto it =
                std::find_if(sets.begin(), sets.end(), [&](const ir::IpSet& s) { return s.name == name; });
            if (it == sets.end()) {
                diags.error(loc, "set '" + name + "' is not created before this line");
                continue;
            }
            std::string entry = arg;
            for (std::string w; words >> w;) entry += " " + w;
            it->entries.push_back(entry);
            if (it->type != "hash:ip" && it->type != "hash:net") continue;  // the kernel's only
            if (!parse_entry(arg, it->members))
                diags.error({file, lineno, static_cast<int>(line.find(arg)) + 1},
                            "bad set entry '" + arg + "'", static_cast<int>(arg.size()));
        } else {
            diags.error(loc, "unknown ipset command '" + verb + "' (expected create or add)",
                        static_cast<int>(verb.size()));
        }
    }
    if (diags.error_count() > errors) return std::nullopt;
    return sets;
}

}  // namespace bpftables::parser
