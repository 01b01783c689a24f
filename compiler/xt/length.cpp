// -m length --length min[:max], either end may be left out: its option and printing.
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

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

}  // namespace

const MatchModule length_module{.name = "length",
                                .make =
                                    [] {
                                        return ir::Match{ir::OpaqueMatch{"length", {}}};
                                    },
                                .parse = parse_length,
                                .finish = finish_length};

void print(const ir::LengthMatch& m, std::string& out) {
    negatable(m.invert, "--length ", out);
    out += std::to_string(m.min);
    if (m.max != m.min) out += ':' + std::to_string(m.max);
}

}  // namespace bpftables::xt
