// ip6tables -m ah: the authentication header's SPI range, length and reserved field. (iptables' own -m ah,
// libipt_ah, is another module: it stays opaque in IPv4 rulesets.)
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

Parsed parse_ah(ir::Match& match, OptionReader& r) {
    auto& m = std::get<ir::AhMatch>(match);
    std::string_view n = r.name();
    if (n == "--ahspi") {
        if (m.spi != ir::U32Range{}) return once_error(r, "ah");
        const parser::Word* w = r.arg();
        if (!w || !parse_u32_range(r, *w, "ah", m.spi)) return Parsed::error;
        return Parsed::ok;
    }
    if (n == "--ahlen") {
        if (m.len) return once_error(r, "ah");
        const parser::Word* w = r.arg();
        uint32_t v;
        if (!w || !parse_u32_option(r, *w, "ah", v)) return Parsed::error;
        m.len = ir::Negatable<uint32_t>{v, r.inverted()};
        return Parsed::ok;
    }
    if (n == "--ahres") {
        if (r.inverted()) return not_invertible(r, "ah");
        if (m.res) return once_error(r, "ah");
        m.res = true;
        return Parsed::ok;
    }
    return Parsed::not_mine;
}

}  // namespace

const MatchModule ah_module{.name = "ah",
                            .make = [] { return ir::Match{ir::AhMatch{}}; },
                            .parse = parse_ah,
                            .finish = finish_nothing,
                            .families = Families::ipv6};

// A length of 0 uninverted is what the kernel sees when --ahlen is not given: ip6tables-save leaves it out.
void print(const ir::AhMatch& m, std::string& out) {
    print_u32_range(m.spi, "--ahspi", out);
    if (m.len && (m.len->value != 0 || m.len->invert)) {
        negatable(m.len->invert, "--ahlen ", out);
        out += std::to_string(m.len->value);
    }
    if (m.res) out += " --ahres";
}

}  // namespace bpftables::xt
