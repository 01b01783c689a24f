// ip6tables -m hl --hl-eq / --hl-lt / --hl-gt N (and --hl, an old name of --hl-eq; only --hl-eq can be
// negated): the hop limit, ttl's IPv6 twin. One option per match.
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

Parsed parse_hl(ir::Match& match, OptionReader& r) {
    std::string_view n = r.name();
    ir::TtlOp op;
    if (n == "--hl-eq")
        op = r.inverted() ? ir::TtlOp::ne : ir::TtlOp::eq;
    else if (n == "--hl")
        op = ir::TtlOp::eq;
    else if (n == "--hl-lt")
        op = ir::TtlOp::lt;
    else if (n == "--hl-gt")
        op = ir::TtlOp::gt;
    else
        return Parsed::not_mine;
    if (std::holds_alternative<ir::HlMatch>(match))
        return r.error("hl: only one of --hl-eq, --hl-lt or --hl-gt may be given"), Parsed::error;
    if (r.inverted() && n != "--hl-eq") return not_invertible(r, "hl");
    const parser::Word* w = r.arg();
    uint32_t v;
    if (!w) return Parsed::error;
    if (!values::parse_number(w->text, v, 0xff))
        return r.error(*w, "hl: invalid hop limit \"" + w->text + "\" (0 to 255)"), Parsed::error;
    match = ir::HlMatch{op, static_cast<uint8_t>(v)};
    return Parsed::ok;
}

bool finish_hl(ir::Match& match, const parser::Word& word, Diagnostics& diags) {
    if (std::holds_alternative<ir::HlMatch>(match)) return true;
    diags.error(word.loc, "HL match: You must specify one of `--hl-eq', `--hl-lt', `--hl-gt'", word.length);
    return false;
}

}  // namespace

const MatchModule hl_module{.name = "hl",
                            .make =
                                [] {
                                    return ir::Match{ir::OpaqueMatch{"hl", {}}};
                                },
                            .parse = parse_hl,
                            .finish = finish_hl,
                            .families = Families::ipv6};

void print(const ir::HlMatch& m, std::string& out) {
    static const char* const ops[] = {" --hl-eq ", " ! --hl-eq ", " --hl-lt ", " --hl-gt "};
    out += ops[static_cast<int>(m.op)] + std::to_string(m.value);
}

}  // namespace bpftables::xt
