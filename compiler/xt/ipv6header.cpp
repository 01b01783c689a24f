// ip6tables -m ipv6header [!] --header NAMES [--soft]: which extension headers a packet has. Names are read
// and printed through /etc/protocols first, as libip6t_ipv6header does (getprotobyname / getprotobynumber),
// then its own short names and numbers.
#include <netdb.h>

#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

struct HeaderName {
    std::string_view name;
    uint8_t proto;
};

// libip6t_ipv6header's own names, in its order (the first of a number is the one printed when
// /etc/protocols has none).
constexpr HeaderName header_names[] = {
    {"hop-by-hop", 0}, {"protocol", 255}, {"hop", 0},   {"dst", 60},   {"route", 43}, {"frag", 44},
    {"auth", 51},      {"esp", 50},       {"none", 59}, {"prot", 255}, {"0", 0},      {"60", 60},
    {"43", 43},        {"44", 44},        {"51", 51},   {"50", 50},    {"59", 59},    {"255", 255}};

// The headers in the order of their bits (ir::ip6h, highest first).
constexpr std::pair<uint8_t, uint8_t> header_bits[] = {
    {0, ir::ip6h::hop},   {60, ir::ip6h::dst}, {43, ir::ip6h::route}, {44, ir::ip6h::frag},
    {51, ir::ip6h::auth}, {50, ir::ip6h::esp}, {59, ir::ip6h::none},  {255, ir::ip6h::proto}};

bool parse_headers(OptionReader& r, const parser::Word& w, uint8_t& out) {
    out = 0;
    std::string_view s = w.text;
    while (!s.empty()) {
        size_t comma = s.find(',');
        std::string item(s.substr(0, comma));
        s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
        if (item.empty()) continue;  // strtok skips empty items
        int proto = -1;
        if (const protoent* pe = getprotobyname(item.c_str())) proto = pe->p_proto;
        for (const HeaderName& n : header_names)
            if (proto < 0 && n.name == item) proto = n.proto;
        if (proto < 0) return r.error(w, "unknown header `" + item + "' specified");
        uint8_t bit = 0;
        for (auto [p, b] : header_bits)
            if (p == proto) bit = b;
        if (!bit) return r.error(w, "unknown header `" + std::to_string(proto) + "' specified");
        out |= bit;
    }
    if (!out) return r.error(w, "ip6t_ipv6header: cannot parse header names");
    return true;
}

Parsed parse_ipv6header(ir::Match& match, OptionReader& r) {
    std::string_view n = r.name();
    if (n == "--soft") {
        if (r.inverted()) return not_invertible(r, "ipv6header");
        auto* m = std::get_if<ir::Ipv6HeaderMatch>(&match);
        if (m && m->soft) return once_error(r, "ipv6header");
        if (!m) match = ir::Ipv6HeaderMatch{};
        std::get<ir::Ipv6HeaderMatch>(match).soft = true;
        return Parsed::ok;
    }
    if (n != "--header") return Parsed::not_mine;
    auto* m = std::get_if<ir::Ipv6HeaderMatch>(&match);
    if (m && m->headers) return once_error(r, "ipv6header");
    const parser::Word* w = r.arg();
    uint8_t headers;
    if (!w || !parse_headers(r, *w, headers)) return Parsed::error;
    if (!m) match = ir::Ipv6HeaderMatch{};
    auto& h = std::get<ir::Ipv6HeaderMatch>(match);
    h.headers = headers;
    h.invert = r.inverted();
    return Parsed::ok;
}

bool finish_ipv6header(ir::Match& match, const parser::Word& word, Diagnostics& diags) {
    auto* m = std::get_if<ir::Ipv6HeaderMatch>(&match);
    if (m && m->headers) return true;
    diags.error(word.loc, "ipv6header: option \"--header\" must be specified", word.length);
    return false;
}

std::string header_name(uint8_t proto) {
    if (proto != 0)
        if (const protoent* pe = getprotobynumber(proto)) return pe->p_name;
    for (const HeaderName& n : header_names)
        if (n.proto == proto) return std::string(n.name);
    return std::to_string(proto);
}

}  // namespace

// A bare -m ipv6header starts as an OpaqueMatch: --header (mandatory) or --soft makes it an Ipv6HeaderMatch.
const MatchModule ipv6header_module{.name = "ipv6header",
                                    .make =
                                        [] {
                                            return ir::Match{ir::OpaqueMatch{"ipv6header", {}}};
                                        },
                                    .parse = parse_ipv6header,
                                    .finish = finish_ipv6header,
                                    .families = Families::ipv6};

void print(const ir::Ipv6HeaderMatch& m, std::string& out) {
    negatable(m.invert, "--header ", out);
    std::string names;
    for (auto [proto, bit] : header_bits)
        if (m.headers & bit) names += (names.empty() ? "" : ",") + header_name(proto);
    out += names.empty() ? "NONE" : names;
    if (m.soft) out += " --soft";
}

}  // namespace bpftables::xt
