#include "compiler/ipsets.hpp"

#include "compiler/values.hpp"

namespace bpftables::compiler {

std::optional<std::vector<ir::IpSet>> lower_ipsets(const std::vector<parser::IpSetDecl>& decls,
                                                   Diagnostics& diags) {
    std::vector<ir::IpSet> sets;
    int errors = diags.error_count();
    for (const parser::IpSetDecl& d : decls) {
        if (d.family == "inet6") {
            diags.error(d.loc, "set '" + d.name + "' is IPv6; only IPv4 sets are supported");
            continue;
        }
        ir::IpSet s{d.name, d.type, d.loc, {}, d.options, {}};
        if (d.family.empty()) s.options = "family inet" + (d.options.empty() ? "" : " " + d.options);
        for (const parser::IpSetEntry& e : d.entries) {
            s.entries.push_back(e.line);
            if (d.type != "hash:ip" && d.type != "hash:net") continue;  // the kernel's only
            if (!values::parse_ipv4_nets(e.entry, s.members))
                diags.error(e.loc, "bad set entry '" + e.entry + "'", static_cast<int>(e.entry.size()));
        }
        sets.push_back(std::move(s));
    }
    if (diags.error_count() > errors) return std::nullopt;
    return sets;
}

std::optional<std::vector<ir::IpSet>> read_ipsets(const std::string& text, const std::string& file,
                                                  Diagnostics& diags) {
    auto decls = parser::parse_ipset_save(text, file, diags);
    if (!decls) return std::nullopt;
    return lower_ipsets(*decls, diags);
}

}  // namespace bpftables::compiler
