// -m icmp --icmp-type (also loaded implicitly by -p icmp): its option, printing and protocol.
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

// "echo-request" (or an unambiguous prefix, as iptables allows), or "type[/code[:code]]" in numbers.
bool parse_icmp_type(OptionReader& r, const parser::Word& w, ir::IcmpMatch& m) {
    std::string_view s = w.text;
    if (s.empty()) return r.error(w, "invalid ICMP type \"\"");
    if (!(s[0] >= '0' && s[0] <= '9')) {
        const values::IcmpName* found = nullptr;
        for (const values::IcmpName& n : values::icmp_types) {
            if (n.name.size() == s.size() && values::starts_with_nocase(n.name, s)) {
                found = &n;
                break;
            }
            if (!values::starts_with_nocase(n.name, s)) continue;
            if (found) return r.error(w, "ambiguous ICMP type name \"" + w.text + "\"");
            found = &n;
        }
        if (!found) return r.error(w, "invalid ICMP type \"" + w.text + "\" (try iptables -p icmp -h)");
        m.type = found->type, m.code_min = found->code_min, m.code_max = found->code_max;
        return true;
    }
    size_t slash = s.find('/');
    uint32_t type, lo = 0, hi = 0xff;
    if (!values::parse_number(s.substr(0, slash), type, 0xff))
        return r.error(w, "invalid ICMP type \"" + std::string(s.substr(0, slash)) + "\"");
    if (slash != std::string_view::npos) {
        std::string_view code = s.substr(slash + 1);
        size_t colon = code.find(':');
        if (!values::parse_number(code.substr(0, colon), lo, 0xff))
            return r.error(w, "invalid ICMP code \"" + std::string(code) + "\"");
        hi = lo;
        if (colon != std::string_view::npos && !values::parse_number(code.substr(colon + 1), hi, 0xff))
            return r.error(w, "invalid ICMP code \"" + std::string(code) + "\"");
        if (lo > hi) return r.error(w, "invalid ICMP code range \"" + std::string(code) + "\"");
    }
    m.type = static_cast<uint8_t>(type);
    m.code_min = static_cast<uint8_t>(lo), m.code_max = static_cast<uint8_t>(hi);
    return true;
}

// Until --icmp-type is given the match is a bare "-m icmp" (an OpaqueMatch); the option makes it an
// IcmpMatch, and finish rejects a match that never became one, as the option is mandatory.
ir::Match make_icmp() {
    return ir::OpaqueMatch{"icmp", {}};
}

Parsed parse_icmp(ir::Match& match, OptionReader& r) {
    if (r.name() != "--icmp-type") return Parsed::not_mine;
    if (std::holds_alternative<ir::IcmpMatch>(match))
        return r.error("multiple --icmp-type flags not allowed"), Parsed::error;
    const parser::Word* w = r.arg();
    ir::IcmpMatch m;
    if (!w || !parse_icmp_type(r, *w, m)) return Parsed::error;
    m.invert = r.inverted();
    match = m;
    return Parsed::ok;
}

bool finish_icmp(ir::Match& match, const parser::Word& word, Diagnostics& diags) {
    if (std::holds_alternative<ir::IcmpMatch>(match)) return true;
    diags.error(word.loc, "icmp: option \"--icmp-type\" must be specified", word.length);
    return false;
}

constexpr uint8_t icmp_protocol[] = {1};

}  // namespace

const MatchModule icmp_module{.name = "icmp",
                              .make = make_icmp,
                              .parse = parse_icmp,
                              .finish = finish_icmp,
                              .protocols = icmp_protocol,
                              .protocol_error = "the icmp match requires -p icmp",
                              .loaded_by_protocol = true,
                              .families = Families::ipv4};

void print(const ir::IcmpMatch& m, std::string& out) {
    negatable(m.invert, "--icmp-type ", out);
    if (m.type == 0xff && m.code_min == 0 && m.code_max == 0xff) {
        out += "any";
        return;
    }
    out += std::to_string(m.type);
    if (m.code_min != 0 || m.code_max != 0xff) {
        out += '/' + std::to_string(m.code_min);
        if (m.code_max != m.code_min) out += ':' + std::to_string(m.code_max);
    }
}

}  // namespace bpftables::xt
