// -m ttl --ttl-eq / --ttl-lt / --ttl-gt N (only --ttl-eq can be negated): its options and printing.
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

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

const MatchModule ttl_module{.name = "ttl",
                             .make =
                                 [] {
                                     return ir::Match{ir::OpaqueMatch{"ttl", {}}};
                                 },
                             .parse = parse_ttl,
                             .finish = finish_ttl,
                             .families = Families::ipv4};

void print(const ir::TtlMatch& m, std::string& out) {
    static const char* const ops[] = {" --ttl-eq ", " ! --ttl-eq ", " --ttl-lt ", " --ttl-gt "};
    out += ops[static_cast<int>(m.op)] + std::to_string(m.value);
}

}  // namespace bpftables::xt
