// -m dscp (--dscp 0..0x3f or --dscp-class NAME) and -m tos (--tos value[/mask] or a symbolic name, which
// compares the low six bits): their options and printing.
#include <cstdio>

#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

std::optional<uint8_t> dscp_class(std::string_view name) {
    static const std::pair<std::string_view, uint8_t> classes[] = {
        {"CS0", 0x00},  {"CS1", 0x08},  {"CS2", 0x10},  {"CS3", 0x18},  {"CS4", 0x20},  {"CS5", 0x28},
        {"CS6", 0x30},  {"CS7", 0x38},  {"BE", 0x00},   {"AF11", 0x0a}, {"AF12", 0x0c}, {"AF13", 0x0e},
        {"AF21", 0x12}, {"AF22", 0x14}, {"AF23", 0x16}, {"AF31", 0x1a}, {"AF32", 0x1c}, {"AF33", 0x1e},
        {"AF41", 0x22}, {"AF42", 0x24}, {"AF43", 0x26}, {"EF", 0x2e}};
    for (auto [n, v] : classes)
        if (values::equal_nocase(n, name)) return v;
    return std::nullopt;
}

Parsed parse_dscp(ir::Match& match, OptionReader& r) {
    std::string_view n = r.name();
    if (n != "--dscp" && n != "--dscp-class") return Parsed::not_mine;
    if (std::holds_alternative<ir::DscpMatch>(match))
        return r.error("dscp: only one of --dscp or --dscp-class may be given"), Parsed::error;
    const parser::Word* w = r.arg();
    if (!w) return Parsed::error;
    ir::DscpMatch m;
    m.invert = r.inverted();
    if (n == "--dscp") {
        uint32_t v;
        if (!values::parse_number(w->text, v, 0x3f))
            return r.error(*w, "dscp: invalid DSCP value \"" + w->text + "\" (0 to 0x3f)"), Parsed::error;
        m.dscp = static_cast<uint8_t>(v);
    } else {
        std::optional<uint8_t> v = dscp_class(w->text);
        if (!v) return r.error(*w, "dscp: unknown DSCP class \"" + w->text + "\""), Parsed::error;
        m.dscp = *v;
    }
    match = m;
    return Parsed::ok;
}

Parsed parse_tos(ir::Match& match, OptionReader& r) {
    if (r.name() != "--tos") return Parsed::not_mine;
    if (!first_use<ir::TosMatch>(match, r)) return Parsed::error;
    const parser::Word* w = r.arg();
    if (!w) return Parsed::error;
    static const std::pair<std::string_view, uint8_t> names[] = {{"Minimize-Delay", 0x10},
                                                                 {"Maximize-Throughput", 0x08},
                                                                 {"Maximize-Reliability", 0x04},
                                                                 {"Minimize-Cost", 0x02},
                                                                 {"Normal-Service", 0x00}};
    ir::TosMatch m;
    m.invert = r.inverted();
    bool named = false;
    for (auto [name, v] : names)
        if (values::equal_nocase(name, w->text)) m.value = v, m.mask = 0x3f, named = true;
    if (!named) {
        std::string_view s = w->text;
        size_t slash = s.find('/');
        uint32_t value, mask = 0xff;
        if (!values::parse_number(s.substr(0, slash), value, 0xff) ||
            (slash != std::string_view::npos && !values::parse_number(s.substr(slash + 1), mask, 0xff)))
            return r.error(*w, "tos: bad value \"" + w->text + "\" (value[/mask] up to 0xff, or a name)"),
                   Parsed::error;
        m.value = static_cast<uint8_t>(value), m.mask = static_cast<uint8_t>(mask);
    }
    match = m;
    return Parsed::ok;
}

std::string hex2(uint8_t v) {  // "0x0f": dscp and tos print two digits
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", v);
    return buf;
}

}  // namespace

const MatchModule dscp_module{
    .name = "dscp",
    .make =
        [] {
            return ir::Match{ir::OpaqueMatch{"dscp", {}}};
        },
    .parse = parse_dscp,
    .finish = [](ir::Match& m, const parser::Word& w,
                 Diagnostics& d) { return must_be_given<ir::DscpMatch>(m, w, d, "--dscp or --dscp-class"); }};
const MatchModule tos_module{
    .name = "tos",
    .make =
        [] {
            return ir::Match{ir::OpaqueMatch{"tos", {}}};
        },
    .parse = parse_tos,
    .finish = [](ir::Match& m, const parser::Word& w,
                 Diagnostics& d) { return must_be_given<ir::TosMatch>(m, w, d, "--tos"); }};

void print(const ir::DscpMatch& m, std::string& out) {
    negatable(m.invert, "--dscp ", out);
    out += hex2(m.dscp);
}

void print(const ir::TosMatch& m, std::string& out) {
    negatable(m.invert, "--tos ", out);
    out += hex2(m.value) + '/' + hex2(m.mask);
}

}  // namespace bpftables::xt
