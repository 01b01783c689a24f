#include "parser/ipset_parser.hpp"

#include <algorithm>
#include <sstream>

namespace bpftables::parser {

std::optional<std::vector<IpSetDecl>> parse_ipset_save(const std::string& text, const std::string& file,
                                                       Diagnostics& diags) {
    diags.add_source(file, text);
    std::vector<IpSetDecl> sets;
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
            sets.push_back({name, arg, loc, family, options, {}});
        } else if (verb == "add" || verb == "-A" || verb == "a") {
            auto it =
                std::find_if(sets.begin(), sets.end(), [&](const IpSetDecl& s) { return s.name == name; });
            if (it == sets.end()) {
                diags.error(loc, "set '" + name + "' is not created before this line");
                continue;
            }
            std::string entry = arg;
            for (std::string w; words >> w;) entry += " " + w;
            it->entries.push_back({arg, entry, {file, lineno, static_cast<int>(line.find(arg)) + 1}});
        } else {
            diags.error(loc, "unknown ipset command '" + verb + "' (expected create or add)",
                        static_cast<int>(verb.size()));
        }
    }
    if (diags.error_count() > errors) return std::nullopt;
    return sets;
}

}  // namespace bpftables::parser
