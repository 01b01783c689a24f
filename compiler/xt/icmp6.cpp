// ip6tables -m icmp6 --icmpv6-type TYPE[/CODE] (also loaded by -p ipv6-icmp, and as -m icmpv6 or -m ipv6-icmp):
// its option, printing (numbers, as ip6tables-save prints them) and protocol.
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

// A name of values::icmpv6_types or any prefix of exactly one ("echo-req"), else "type[/code]" in numbers, as
// libxt_icmp.h reads it (a code range "c:d" is read too; a type range is refused).
bool parse_icmpv6_type(OptionReader& r, const parser::Word& w, ir::Icmp6Match& m) {
    std::string_view s = w.text;
    const values::IcmpName* found = nullptr;
    for (const values::IcmpName& n : values::icmpv6_types) {
        if (!values::starts_with_nocase(n.name, s)) continue;
        if (found)
            return r.error(w, "Ambiguous ICMPv6 type `" + w.text + "': `" + std::string(found->name) +
                                  "' or `" + std::string(n.name) + "'?");
        found = &n;
    }
    if (found) {
        m.type = found->type, m.code_min = found->code_min, m.code_max = found->code_max;
        return true;
    }
    auto range = [](std::string_view t, uint32_t& lo, uint32_t& hi) {
        size_t colon = t.find(':');
        if (!values::parse_number(t.substr(0, colon), lo, 0xff)) return false;
        hi = lo;
        return colon == std::string_view::npos || values::parse_number(t.substr(colon + 1), hi, 0xff);
    };
    size_t slash = s.find('/');
    uint32_t type, type_hi, lo = 0, hi = 0xff;
    if (!range(s.substr(0, slash), type, type_hi)) return r.error(w, "Unknown ICMPv6 type `" + w.text + "'");
    if (type != type_hi) return r.error(w, "ICMPv6 type range not supported");
    if (slash != std::string_view::npos && !range(s.substr(slash + 1), lo, hi))
        return r.error(w, "Unknown ICMPv6 code `" + w.text + "'");
    m.type = static_cast<uint8_t>(type);
    m.code_min = static_cast<uint8_t>(lo), m.code_max = static_cast<uint8_t>(hi);
    return true;
}

// A bare -m icmp6 is an OpaqueMatch until its mandatory --icmpv6-type makes it an Icmp6Match.
Parsed parse_icmp6(ir::Match& match, OptionReader& r) {
    if (r.name() != "--icmpv6-type") return Parsed::not_mine;
    if (!first_use<ir::Icmp6Match>(match, r)) return Parsed::error;
    const parser::Word* w = r.arg();
    ir::Icmp6Match m;
    if (!w || !parse_icmpv6_type(r, *w, m)) return Parsed::error;
    m.invert = r.inverted();
    match = m;
    return Parsed::ok;
}

bool finish_icmp6(ir::Match& match, const parser::Word& word, Diagnostics& diags) {
    return must_be_given<ir::Icmp6Match>(match, word, diags, "--icmpv6-type");
}

constexpr uint8_t icmpv6_protocol[] = {58};

}  // namespace

const MatchModule icmp6_module{.name = "icmp6",
                               .make =
                                   [] {
                                       return ir::Match{ir::OpaqueMatch{"icmp6", {}}};
                                   },
                               .parse = parse_icmp6,
                               .finish = finish_icmp6,
                               .protocols = icmpv6_protocol,
                               .protocol_error = "the icmp6 match requires -p ipv6-icmp",
                               .loaded_by_protocol = true,
                               .families = Families::ipv6};

void print(const ir::Icmp6Match& m, std::string& out) {
    negatable(m.invert, "--icmpv6-type ", out);
    out += std::to_string(m.type);
    if (m.code_min != 0 || m.code_max != 0xff) out += '/' + std::to_string(m.code_min);
}

}  // namespace bpftables::xt
