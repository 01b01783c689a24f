#include "compiler/ipsets.hpp"

#include "compiler/values.hpp"

namespace bpftables::compiler {

std::optional<std::vector<ir::IpSet>> lower_ipsets(const std::vector<parser::IpSetDecl>& decls,
                                                   Diagnostics& diags) {
    std::vector<ir::IpSet> sets;
    int errors = diags.error_count();
    for (const parser::IpSetDecl& d : decls) {
        ir::IpSet s;
        s.name = d.name, s.type = d.type, s.loc = d.loc, s.options = d.options;
        s.family = d.family == "inet6" ? ir::Family::ipv6 : ir::Family::ipv4;
        if (d.family.empty()) s.options = "family inet" + (d.options.empty() ? "" : " " + d.options);
        for (const parser::IpSetEntry& e : d.entries) {
            s.entries.push_back(e.line);
            if (d.type != "hash:ip" && d.type != "hash:net") continue;  // the kernel's only
            bool ok;
            if (s.family == ir::Family::ipv6) {  // an address, or a net for hash:net
                ir::Ipv6Net net;
                std::string error;
                ok = values::parse_ipv6_net(e.entry, net, error) &&
                     (d.type == "hash:net" || values::ipv6_prefix_len(net.mask) == 128);
                if (ok) s.members6.push_back(net);
            } else {
                ok = values::parse_ipv4_nets(e.entry, s.members);
            }
            if (!ok) diags.error(e.loc, "bad set entry '" + e.entry + "'", static_cast<int>(e.entry.size()));
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
