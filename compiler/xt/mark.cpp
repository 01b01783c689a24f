// -m mark --mark value[/mask]: its option and printing.
#include <cstdio>

#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

Parsed parse_mark(ir::Match& match, OptionReader& r) {
    if (r.name() != "--mark") return Parsed::not_mine;
    if (!first_use<ir::MarkMatch>(match, r)) return Parsed::error;
    const parser::Word* w = r.arg();
    if (!w) return Parsed::error;
    std::string_view s = w->text;
    size_t slash = s.find('/');
    ir::MarkMatch m;
    if (!values::parse_number(s.substr(0, slash), m.value) ||
        (slash != std::string_view::npos && !values::parse_number(s.substr(slash + 1), m.mask)))
        return r.error(*w, "mark: bad value \"" + w->text + "\" (value[/mask], 32 bits each)"), Parsed::error;
    m.invert = r.inverted();
    match = m;
    return Parsed::ok;
}

std::string hex(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%x", v);
    return buf;
}

}  // namespace

const MatchModule mark_module{
    .name = "mark",
    .make =
        [] {
            return ir::Match{ir::OpaqueMatch{"mark", {}}};
        },
    .parse = parse_mark,
    .finish = [](ir::Match& m, const parser::Word& w,
                 Diagnostics& d) { return must_be_given<ir::MarkMatch>(m, w, d, "--mark"); }};

void print(const ir::MarkMatch& m, std::string& out) {
    negatable(m.invert, "--mark ", out);
    out += hex(m.value);
    if (m.mask != 0xffffffff) out += '/' + hex(m.mask);
}

}  // namespace bpftables::xt
