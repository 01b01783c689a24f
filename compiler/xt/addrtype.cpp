// -m addrtype --src-type/--dst-type TYPE[,TYPE...], --limit-iface-in/--limit-iface-out: its options and
// printing.
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

// The route types (RTN_*), bit i of a type set standing for names[i].
constexpr std::string_view names[] = {"UNSPEC",   "UNICAST",   "LOCAL",     "BROADCAST",
                                      "ANYCAST",  "MULTICAST", "BLACKHOLE", "UNREACHABLE",
                                      "PROHIBIT", "THROW",     "NAT",       "XRESOLVE"};

bool parse_addr_types(OptionReader& r, const parser::Word& w, uint16_t& out) {
    out = 0;
    std::string_view s = w.text;
    while (true) {
        size_t comma = s.find(',');
        std::string_view item = s.substr(0, comma);
        size_t i = 0;  // as iptables: the first type the item is a prefix of (case-insensitive)
        while (i < std::size(names) && (item.empty() || item.size() > names[i].size() ||
                                        !values::equal_nocase(names[i].substr(0, item.size()), item)))
            ++i;
        if (i == std::size(names))
            return r.error(w, "addrtype: unknown address type \"" + std::string(item) + "\"");
        out |= static_cast<uint16_t>(1u << i);
        if (comma == std::string_view::npos) return true;
        s.remove_prefix(comma + 1);
    }
}

Parsed parse_addrtype(ir::Match& match, OptionReader& r) {
    auto& m = std::get<ir::AddrTypeMatch>(match);
    std::string_view n = r.name();
    if (n == "--src-type" || n == "--dst-type") {
        auto& slot = n == "--src-type" ? m.src : m.dst;
        if (slot) return r.error("multiple " + std::string(n) + " flags not allowed"), Parsed::error;
        const parser::Word* w = r.arg();
        uint16_t types;
        if (!w || !parse_addr_types(r, *w, types)) return Parsed::error;
        slot = ir::Negatable<uint16_t>{types, r.inverted()};
        return Parsed::ok;
    }
    if (n == "--limit-iface-in" || n == "--limit-iface-out") {
        if (!not_inverted(r)) return Parsed::error;
        bool in = n == "--limit-iface-in";
        if (m.limit_iface_in || m.limit_iface_out)
            return r.error("addrtype: you can't specify both --limit-iface-in and --limit-iface-out"),
                   Parsed::error;
        (in ? m.limit_iface_in : m.limit_iface_out) = true;
        return Parsed::ok;
    }
    return Parsed::not_mine;
}

bool finish_addrtype(ir::Match& match, const parser::Word& word, Diagnostics& diags) {
    const auto& m = std::get<ir::AddrTypeMatch>(match);
    if (m.src || m.dst) return true;
    diags.error(word.loc, "addrtype: you must specify --src-type or --dst-type", word.length);
    return false;
}

void addr_types(uint16_t types, std::string& out) {
    bool first = true;
    for (size_t i = 0; i < std::size(names); ++i) {
        if (!(types & (1u << i))) continue;
        if (!first) out += ',';
        out += names[i];
        first = false;
    }
}

}  // namespace

const MatchModule addrtype_module{.name = "addrtype",
                                  .make = [] { return ir::Match{ir::AddrTypeMatch{}}; },
                                  .parse = parse_addrtype,
                                  .finish = finish_addrtype};

void print(const ir::AddrTypeMatch& m, std::string& out) {
    if (m.src) {
        negatable(m.src->invert, "--src-type ", out);
        addr_types(m.src->value, out);
    }
    if (m.dst) {
        negatable(m.dst->invert, "--dst-type ", out);
        addr_types(m.dst->value, out);
    }
    if (m.limit_iface_in) out += " --limit-iface-in";
    if (m.limit_iface_out) out += " --limit-iface-out";
}

}  // namespace bpftables::xt
