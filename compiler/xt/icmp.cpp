// -m icmp --icmp-type (also loaded implicitly by -p icmp).
#include <strings.h>

#include "compiler/xt/module.hpp"
#include "compiler/xt/modules.hpp"
#include "compiler/xt/numbers.hpp"

namespace bpftables::xt {
namespace {

// A number as libxtables reads one (strtoul base 0: decimal, 0x hex, leading-0 octal), at most `max`.
bool number(std::string_view s, uint32_t& out, uint32_t max = 0xffffffff) {
    uint64_t v;
    if (!parse_number(s, v, max)) return false;
    out = static_cast<uint32_t>(v);
    return true;
}

struct IcmpName {
    std::string_view name;
    uint8_t type, code_min, code_max;
};

// The names iptables knows, with the type and code range each stands for.
constexpr IcmpName icmp_names[] = {
    {"any", 0xff, 0, 0xff},
    {"echo-reply", 0, 0, 0xff},
    {"destination-unreachable", 3, 0, 0xff},
    {"network-unreachable", 3, 0, 0},
    {"host-unreachable", 3, 1, 1},
    {"protocol-unreachable", 3, 2, 2},
    {"port-unreachable", 3, 3, 3},
    {"fragmentation-needed", 3, 4, 4},
    {"source-route-failed", 3, 5, 5},
    {"network-unknown", 3, 6, 6},
    {"host-unknown", 3, 7, 7},
    {"network-prohibited", 3, 9, 9},
    {"host-prohibited", 3, 10, 10},
    {"TOS-network-unreachable", 3, 11, 11},
    {"TOS-host-unreachable", 3, 12, 12},
    {"communication-prohibited", 3, 13, 13},
    {"host-precedence-violation", 3, 14, 14},
    {"precedence-cutoff", 3, 15, 15},
    {"source-quench", 4, 0, 0xff},
    {"redirect", 5, 0, 0xff},
    {"network-redirect", 5, 0, 0},
    {"host-redirect", 5, 1, 1},
    {"TOS-network-redirect", 5, 2, 2},
    {"TOS-host-redirect", 5, 3, 3},
    {"echo-request", 8, 0, 0xff},
    {"router-advertisement", 9, 0, 0xff},
    {"router-solicitation", 10, 0, 0xff},
    {"time-exceeded", 11, 0, 0xff},
    {"ttl-exceeded", 11, 0, 0xff},
    {"ttl-zero-during-transit", 11, 0, 0},
    {"ttl-zero-during-reassembly", 11, 1, 1},
    {"parameter-problem", 12, 0, 0xff},
    {"ip-header-bad", 12, 0, 0},
    {"required-option-missing", 12, 1, 1},
    {"timestamp-request", 13, 0, 0xff},
    {"timestamp-reply", 14, 0, 0xff},
    {"address-mask-request", 17, 0, 0xff},
    {"address-mask-reply", 18, 0, 0xff},
};

bool starts_with_nocase(std::string_view name, std::string_view prefix) {
    return prefix.size() <= name.size() && strncasecmp(name.data(), prefix.data(), prefix.size()) == 0;
}

// "echo-request" (or an unambiguous prefix, as iptables allows), or "type[/code[:code]]" in numbers.
bool parse_icmp_type(OptionReader& r, const parser::Word& w, ir::IcmpMatch& m) {
    std::string_view s = w.text;
    if (s.empty()) return r.error(w, "invalid ICMP type \"\"");
    if (!(s[0] >= '0' && s[0] <= '9')) {
        const IcmpName* found = nullptr;
        for (const IcmpName& n : icmp_names) {
            if (n.name.size() == s.size() && starts_with_nocase(n.name, s)) {
                found = &n;
                break;
            }
            if (!starts_with_nocase(n.name, s)) continue;
            if (found) return r.error(w, "ambiguous ICMP type name \"" + w.text + "\"");
            found = &n;
        }
        if (!found) return r.error(w, "invalid ICMP type \"" + w.text + "\" (try iptables -p icmp -h)");
        m.type = found->type, m.code_min = found->code_min, m.code_max = found->code_max;
        return true;
    }
    size_t slash = s.find('/');
    uint32_t type, lo = 0, hi = 0xff;
    if (!number(s.substr(0, slash), type, 0xff))
        return r.error(w, "invalid ICMP type \"" + std::string(s.substr(0, slash)) + "\"");
    if (slash != std::string_view::npos) {
        std::string_view code = s.substr(slash + 1);
        size_t colon = code.find(':');
        if (!number(code.substr(0, colon), lo, 0xff))
            return r.error(w, "invalid ICMP code \"" + std::string(code) + "\"");
        hi = lo;
        if (colon != std::string_view::npos && !number(code.substr(colon + 1), hi, 0xff))
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

}  // namespace

const MatchModule icmp_module{"icmp", make_icmp, parse_icmp, finish_icmp};

}  // namespace bpftables::xt
