// Matches on a range of one header field: -m iprange, -m length, -m ttl.
#include "compiler/xt/module.hpp"
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

// ---- iprange: --src-range / --dst-range a.b.c.d[-e.f.g.h] ------------------------------------------------

Parsed parse_iprange(ir::Match& match, OptionReader& r) {
    auto& m = std::get<ir::IpRangeMatch>(match);
    std::string_view n = r.name();
    std::optional<ir::Negatable<ir::AddrRange>>* slot = nullptr;
    if (n == "--src-range") slot = &m.src;
    if (n == "--dst-range") slot = &m.dst;
    if (!slot) return Parsed::not_mine;
    if (*slot) return r.error("multiple " + std::string(n) + " flags not allowed"), Parsed::error;
    const parser::Word* w = r.arg();
    if (!w) return Parsed::error;
    std::string_view s = w->text;
    size_t dash = s.find('-');
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
    if (m.src || m.dst) return true;
    diags.error(word.loc, "iprange match: you must specify `--src-range' or `--dst-range'", word.length);
    return false;
}

// ---- length: --length min[:max], either end may be left out ----------------------------------------------

// Until --length is given the match is a bare "-m length" (an OpaqueMatch); finish rejects that.
Parsed parse_length(ir::Match& match, OptionReader& r) {
    if (r.name() != "--length") return Parsed::not_mine;
    if (std::holds_alternative<ir::LengthMatch>(match))
        return r.error("multiple --length flags not allowed"), Parsed::error;
    const parser::Word* w = r.arg();
    if (!w) return Parsed::error;
    std::string_view s = w->text;
    size_t colon = s.find(':');
    uint32_t lo = 0, hi = 0xffff;
    std::string_view a = s.substr(0, colon);
    std::string_view b = colon == std::string_view::npos ? a : s.substr(colon + 1);
    bool ok = true;
    if (colon == std::string_view::npos || !a.empty()) ok = values::parse_number(a, lo, 0xffff);
    if (colon == std::string_view::npos)
        hi = lo;
    else if (!b.empty())
        ok = ok && values::parse_number(b, hi, 0xffff);
    if (!ok) return r.error(*w, "length: invalid length \"" + w->text + "\" (0 to 65535)"), Parsed::error;
    if (lo > hi)
        return r.error(*w, "length: minimum is greater than maximum in \"" + w->text + "\""), Parsed::error;
    match = ir::LengthMatch{static_cast<uint16_t>(lo), static_cast<uint16_t>(hi), r.inverted()};
    return Parsed::ok;
}

bool finish_length(ir::Match& match, const parser::Word& word, Diagnostics& diags) {
    if (std::holds_alternative<ir::LengthMatch>(match)) return true;
    diags.error(word.loc, "length: option \"--length\" must be specified", word.length);
    return false;
}

// ---- ttl: --ttl-eq / --ttl-lt / --ttl-gt N; only --ttl-eq can be negated ---------------------------------

Parsed parse_ttl(ir::Match& match, OptionReader& r) {
    std::string_view n = r.name();
    ir::TtlOp op;
    if (n == "--ttl-eq")
        op = r.inverted() ? ir::TtlOp::ne : ir::TtlOp::eq;
    else if (n == "--ttl-lt")
        op = ir::TtlOp::lt;
    else if (n == "--ttl-gt")
        op = ir::TtlOp::gt;
    else
        return Parsed::not_mine;
    if (std::holds_alternative<ir::TtlMatch>(match))
        return r.error("ttl: can't specify a TTL option twice"), Parsed::error;
    if (r.inverted() && n != "--ttl-eq")
        return r.error("ttl: unexpected `!' before " + std::string(n)), Parsed::error;
    const parser::Word* w = r.arg();
    uint32_t v;
    if (!w) return Parsed::error;
    if (!values::parse_number(w->text, v, 0xff))
        return r.error(*w, "ttl: invalid TTL value \"" + w->text + "\" (0 to 255)"), Parsed::error;
    match = ir::TtlMatch{op, static_cast<uint8_t>(v)};
    return Parsed::ok;
}

bool finish_ttl(ir::Match& match, const parser::Word& word, Diagnostics& diags) {
    if (std::holds_alternative<ir::TtlMatch>(match)) return true;
    diags.error(word.loc, "ttl: one of --ttl-eq, --ttl-lt or --ttl-gt must be specified", word.length);
    return false;
}

}  // namespace

const MatchModule iprange_module{"iprange", [] { return ir::Match{ir::IpRangeMatch{}}; }, parse_iprange,
                                 finish_iprange};
const MatchModule length_module{"length",
                                [] {
                                    return ir::Match{ir::OpaqueMatch{"length", {}}};
                                },
                                parse_length, finish_length};
const MatchModule ttl_module{"ttl",
                             [] {
                                 return ir::Match{ir::OpaqueMatch{"ttl", {}}};
                             },
                             parse_ttl, finish_ttl};

}  // namespace bpftables::xt
