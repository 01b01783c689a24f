// ip6tables -m frag: the fragment header's id range, length, reserved bits and first/more/last flags; each
// option once, --fragmore and --fraglast exclusive.
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

Parsed parse_frag(ir::Match& match, OptionReader& r) {
    auto& m = std::get<ir::FragMatch>(match);
    std::string_view n = r.name();
    bool* flag = n == "--fragres"     ? &m.res
                 : n == "--fragfirst" ? &m.first
                 : n == "--fragmore"  ? &m.more
                 : n == "--fraglast"  ? &m.last
                                      : nullptr;
    if (flag) {
        if (r.inverted()) return not_invertible(r, "frag");
        if (*flag) return once_error(r, "frag");
        if ((n == "--fragmore" && m.last) || (n == "--fraglast" && m.more))
            return r.error("frag: --fragmore and --fraglast cannot be used together"), Parsed::error;
        *flag = true;
        return Parsed::ok;
    }
    if (n == "--fragid") {
        if (m.id != ir::U32Range{}) return once_error(r, "frag");
        const parser::Word* w = r.arg();
        if (!w || !parse_u32_range(r, *w, "frag", m.id)) return Parsed::error;
        return Parsed::ok;
    }
    if (n == "--fraglen") {
        if (m.len) return once_error(r, "frag");
        const parser::Word* w = r.arg();
        uint32_t v;
        if (!w || !parse_u32_option(r, *w, "frag", v)) return Parsed::error;
        m.len = ir::Negatable<uint32_t>{v, r.inverted()};
        return Parsed::ok;
    }
    return Parsed::not_mine;
}

}  // namespace

const MatchModule frag_module{.name = "frag",
                              .make = [] { return ir::Match{ir::FragMatch{}}; },
                              .parse = parse_frag,
                              .finish = finish_nothing,
                              .families = Families::ipv6};

void print(const ir::FragMatch& m, std::string& out) {
    print_u32_range(m.id, "--fragid", out);
    if (m.len) {
        negatable(m.len->invert, "--fraglen ", out);
        out += std::to_string(m.len->value);
    }
    if (m.res) out += " --fragres";
    if (m.first) out += " --fragfirst";
    if (m.more) out += " --fragmore";
    if (m.last) out += " --fraglast";
}

}  // namespace bpftables::xt
