// -m iprange --src-range / --dst-range a.b.c.d[-e.f.g.h] (IPv6 addresses in an ip6tables ruleset): its options
// and printing.
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

Parsed parse_iprange(ir::Match& match, OptionReader& r) {
    auto& m = std::get<ir::IpRangeMatch>(match);
    std::string_view n = r.name();
    if (n != "--src-range" && n != "--dst-range") return Parsed::not_mine;
    bool src = n == "--src-range";
    if (src ? m.src || m.src6 : m.dst || m.dst6)
        return r.error("multiple " + std::string(n) + " flags not allowed"), Parsed::error;
    const parser::Word* w = r.arg();
    if (!w) return Parsed::error;
    std::string_view s = w->text;
    size_t dash = s.find('-');
    if (r.family() == ir::Family::ipv6) {
        ir::Addr6Range range;
        std::string_view lo = s.substr(0, dash),
                         hi = dash == std::string_view::npos ? lo : s.substr(dash + 1);
        for (auto [text, addr] : {std::pair{lo, &range.lo}, std::pair{hi, &range.hi}})
            if (!values::parse_ipv6(text, *addr))
                return r.error(*w, "iprange: invalid address \"" + std::string(text) + "\""), Parsed::error;
        (src ? m.src6 : m.dst6) = ir::Negatable<ir::Addr6Range>{range, r.inverted()};
        return Parsed::ok;
    }
    std::optional<ir::Negatable<ir::AddrRange>>* slot = src ? &m.src : &m.dst;
    ir::AddrRange range;
    if (!values::parse_ipv4(s.substr(0, dash), range.lo))
        return r.error(*w, "iprange: invalid address \"" + std::string(s.substr(0, dash)) + "\""),
               Parsed::error;
    range.hi = range.lo;  // a single address is the range of one, as iptables reads it
    if (dash != std::string_view::npos && !values::parse_ipv4(s.substr(dash + 1), range.hi))
        return r.error(*w, "iprange: invalid address \"" + std::string(s.substr(dash + 1)) + "\""),
               Parsed::error;
    *slot = ir::Negatable<ir::AddrRange>{range, r.inverted()};
    return Parsed::ok;
}

bool finish_iprange(ir::Match& match, const parser::Word& word, Diagnostics& diags) {
    const auto& m = std::get<ir::IpRangeMatch>(match);
    if (m.src || m.dst || m.src6 || m.dst6) return true;
    diags.error(word.loc, "iprange match: you must specify `--src-range' or `--dst-range'", word.length);
    return false;
}

}  // namespace

const MatchModule iprange_module{.name = "iprange",
                                 .make = [] { return ir::Match{ir::IpRangeMatch{}}; },
                                 .parse = parse_iprange,
                                 .finish = finish_iprange};

void print(const ir::IpRangeMatch& m, std::string& out) {
    auto range = [&](const std::optional<ir::Negatable<ir::AddrRange>>& r, std::string_view option) {
        if (!r) return;
        negatable(r->invert, option, out);
        out += ' ' + values::format_ipv4(r->value.lo) + '-' + values::format_ipv4(r->value.hi);
    };
    auto range6 = [&](const std::optional<ir::Negatable<ir::Addr6Range>>& r, std::string_view option) {
        if (!r) return;
        negatable(r->invert, option, out);
        out += ' ' + values::format_ipv6(r->value.lo) + '-' + values::format_ipv6(r->value.hi);
    };
    range(m.src, "--src-range");
    range6(m.src6, "--src-range");
    range(m.dst, "--dst-range");
    range6(m.dst6, "--dst-range");
}

}  // namespace bpftables::xt
