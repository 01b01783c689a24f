// Matches on one property of the packet or its metadata: -m mark, comment, dscp, tos, mac, pkttype, addrtype
// and limit.
//
// A module whose option is mandatory starts as a bare "-m NAME" (an OpaqueMatch); its option turns it into
// the module's own IR struct, and finish rejects a match that never became one.
#include "compiler/xt/module.hpp"
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

template <class T>
bool must_be_given(const ir::Match& match, const parser::Word& word, Diagnostics& diags,
                   std::string_view what) {
    if (std::holds_alternative<T>(match)) return true;
    diags.error(word.loc, word.text + ": option \"" + std::string(what) + "\" must be specified",
                word.length);
    return false;
}

// Checks for the second use of a once-only option of a module that starts opaque.
template <class T>
bool first_use(const ir::Match& match, OptionReader& r) {
    if (!std::holds_alternative<T>(match)) return true;
    return r.error("multiple " + std::string(r.name()) + " flags not allowed");
}

bool not_inverted(OptionReader& r) {
    if (!r.inverted()) return true;
    return r.error("option \"" + std::string(r.name()) + "\" cannot be inverted");
}

// ---- mark: --mark value[/mask]
// ------------------------------------------------------------------------------

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

// ---- comment: --comment TEXT, at most 255 characters
// --------------------------------------------------------

Parsed parse_comment(ir::Match& match, OptionReader& r) {
    if (r.name() != "--comment") return Parsed::not_mine;
    if (!first_use<ir::CommentMatch>(match, r) || !not_inverted(r)) return Parsed::error;
    const parser::Word* w = r.arg();
    if (!w) return Parsed::error;
    if (w->text.size() > 255)
        return r.error(*w, "comment: may not be longer than 255 characters"), Parsed::error;
    match = ir::CommentMatch{w->text};
    return Parsed::ok;
}

// ---- dscp: --dscp 0..0x3f or --dscp-class NAME ------------------------------------------------------------

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

// ---- tos: --tos value[/mask] or a symbolic name (which compares the low six bits) -------------------------

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

// ---- mac: --mac-source XX:XX:XX:XX:XX:XX ------------------------------------------------------------------

Parsed parse_mac_source(ir::Match& match, OptionReader& r) {
    if (r.name() != "--mac-source") return Parsed::not_mine;
    if (!first_use<ir::MacMatch>(match, r)) return Parsed::error;
    const parser::Word* w = r.arg();
    if (!w) return Parsed::error;
    ir::MacMatch m;
    if (!values::parse_mac(w->text, m.addr))
        return r.error(*w, "mac: bad MAC address \"" + w->text + "\" (XX:XX:XX:XX:XX:XX)"), Parsed::error;
    m.invert = r.inverted();
    match = m;
    return Parsed::ok;
}

// ---- pkttype: --pkt-type unicast|broadcast|multicast ------------------------------------------------------

Parsed parse_pkttype(ir::Match& match, OptionReader& r) {
    if (r.name() != "--pkt-type") return Parsed::not_mine;
    if (!first_use<ir::PktTypeMatch>(match, r)) return Parsed::error;
    const parser::Word* w = r.arg();
    if (!w) return Parsed::error;
    static const std::pair<std::string_view, ir::PktType> names[] = {
        {"unicast", ir::PktType::unicast},     {"broadcast", ir::PktType::broadcast},
        {"multicast", ir::PktType::multicast}, {"host", ir::PktType::unicast},
        {"bcast", ir::PktType::broadcast},     {"mcast", ir::PktType::multicast}};
    for (auto [name, type] : names) {
        if (!values::equal_nocase(name, w->text)) continue;
        match = ir::PktTypeMatch{type, r.inverted()};
        return Parsed::ok;
    }
    if (values::equal_nocase(w->text, "otherhost") || values::equal_nocase(w->text, "outgoing"))
        return r.error(*w, "pkttype: packet type \"" + w->text + "\" is not supported by bpftables"),
               Parsed::error;
    return r.error(*w, "pkttype: bad packet type \"" + w->text + "\" (unicast, broadcast or multicast)"),
           Parsed::error;
}

// ---- addrtype: --src-type/--dst-type TYPE[,TYPE...], --limit-iface-in/--limit-iface-out
// --------------------

bool parse_addr_types(OptionReader& r, const parser::Word& w, uint16_t& out) {
    static const std::string_view names[] = {"UNSPEC",   "UNICAST",   "LOCAL",     "BROADCAST",
                                             "ANYCAST",  "MULTICAST", "BLACKHOLE", "UNREACHABLE",
                                             "PROHIBIT", "THROW",     "NAT",       "XRESOLVE"};
    out = 0;
    std::string_view s = w.text;
    while (true) {
        size_t comma = s.find(',');
        std::string_view item = s.substr(0, comma);
        size_t i = 0;  // as iptables: the first type the item is a prefix of (case-insensitive)
        while (i < std::size(names) && (item.empty() || item.size() > names[i].size() ||
                                        !values::equal_nocase(names[i].substr(0, item.size()), item)))
            ++i;
        if (i == std::size(names))
            return r.error(w, "addrtype: unknown address type \"" + std::string(item) + "\"");
        out |= static_cast<uint16_t>(1u << i);
        if (comma == std::string_view::npos) return true;
        s.remove_prefix(comma + 1);
    }
}

Parsed parse_addrtype(ir::Match& match, OptionReader& r) {
    auto& m = std::get<ir::AddrTypeMatch>(match);
    std::string_view n = r.name();
    if (n == "--src-type" || n == "--dst-type") {
        auto& slot = n == "--src-type" ? m.src : m.dst;
        if (slot) return r.error("multiple " + std::string(n) + " flags not allowed"), Parsed::error;
        const parser::Word* w = r.arg();
        uint16_t types;
        if (!w || !parse_addr_types(r, *w, types)) return Parsed::error;
        slot = ir::Negatable<uint16_t>{types, r.inverted()};
        return Parsed::ok;
    }
    if (n == "--limit-iface-in" || n == "--limit-iface-out") {
        if (!not_inverted(r)) return Parsed::error;
        bool in = n == "--limit-iface-in";
        if (m.limit_iface_in || m.limit_iface_out)
            return r.error("addrtype: you can't specify both --limit-iface-in and --limit-iface-out"),
                   Parsed::error;
        (in ? m.limit_iface_in : m.limit_iface_out) = true;
        return Parsed::ok;
    }
    return Parsed::not_mine;
}

bool finish_addrtype(ir::Match& match, const parser::Word& word, Diagnostics& diags) {
    const auto& m = std::get<ir::AddrTypeMatch>(match);
    if (m.src || m.dst) return true;
    diags.error(word.loc, "addrtype: you must specify --src-type or --dst-type", word.length);
    return false;
}

// ---- limit: --limit N[/second|/minute|/hour|/day] (any prefix of the unit), --limit-burst N --------------

constexpr uint32_t limit_scale = 10000;  // xt_rateinfo: the average is in 1/10000 s per packet

bool parse_rate(std::string_view s, uint32_t& out) {
    size_t slash = s.find('/');
    uint32_t mult = 1;
    if (slash != std::string_view::npos) {
        std::string_view unit = s.substr(slash + 1);
        auto is_prefix_of = [&](std::string_view word) {
            return !unit.empty() && values::starts_with_nocase(word, unit);
        };
        if (is_prefix_of("second"))
            mult = 1;
        else if (is_prefix_of("minute"))
            mult = 60;
        else if (is_prefix_of("hour"))
            mult = 60 * 60;
        else if (is_prefix_of("day"))
            mult = 24 * 60 * 60;
        else
            return false;
    }
    std::string_view num = s.substr(0, slash);
    uint32_t r;
    if (num.find_first_not_of("0123456789") != std::string_view::npos || !values::parse_u32(num, r) || r == 0)
        return false;
    out = limit_scale * mult / r;
    return out != 0;  // faster than the scale can express
}

Parsed parse_limit(ir::Match& match, OptionReader& r) {
    auto& m = std::get<ir::LimitMatch>(match);
    std::string_view n = r.name();
    if (n != "--limit" && n != "--limit-burst") return Parsed::not_mine;
    if (!not_inverted(r)) return Parsed::error;
    const parser::Word* w = r.arg();
    if (!w) return Parsed::error;
    if (n == "--limit") {
        if (!parse_rate(w->text, m.avg))
            return r.error(*w, "limit: bad rate \"" + w->text + "\" (N/sec, N/min, N/hour or N/day)"),
                   Parsed::error;
    } else if (!values::parse_number(w->text, m.burst, 10000) || m.burst == 0) {
        return r.error(*w, "limit: bad --limit-burst \"" + w->text + "\" (1 to 10000)"), Parsed::error;
    }
    return Parsed::ok;
}

bool finish_limit(ir::Match& match, const parser::Word& word, Diagnostics& diags) {
    const auto& m = std::get<ir::LimitMatch>(match);
    if (static_cast<uint64_t>(m.avg) * m.burst <= 0xffffffffu)
        return true;  // the kernel's credit overflow check
    diags.error(word.loc, "limit: rate and burst overflow, try a higher rate or a lower burst", word.length);
    return false;
}

}  // namespace

const MatchModule mark_module{"mark",
                              [] {
                                  return ir::Match{ir::OpaqueMatch{"mark", {}}};
                              },
                              parse_mark,
                              [](ir::Match& m, const parser::Word& w, Diagnostics& d) {
                                  return must_be_given<ir::MarkMatch>(m, w, d, "--mark");
                              }};
const MatchModule comment_module{"comment",
                                 [] {
                                     return ir::Match{ir::OpaqueMatch{"comment", {}}};
                                 },
                                 parse_comment,
                                 [](ir::Match& m, const parser::Word& w, Diagnostics& d) {
                                     return must_be_given<ir::CommentMatch>(m, w, d, "--comment");
                                 }};
const MatchModule dscp_module{"dscp",
                              [] {
                                  return ir::Match{ir::OpaqueMatch{"dscp", {}}};
                              },
                              parse_dscp,
                              [](ir::Match& m, const parser::Word& w, Diagnostics& d) {
                                  return must_be_given<ir::DscpMatch>(m, w, d, "--dscp or --dscp-class");
                              }};
const MatchModule tos_module{"tos",
                             [] {
                                 return ir::Match{ir::OpaqueMatch{"tos", {}}};
                             },
                             parse_tos,
                             [](ir::Match& m, const parser::Word& w, Diagnostics& d) {
                                 return must_be_given<ir::TosMatch>(m, w, d, "--tos");
                             }};
const MatchModule mac_module{"mac",
                             [] {
                                 return ir::Match{ir::OpaqueMatch{"mac", {}}};
                             },
                             parse_mac_source,
                             [](ir::Match& m, const parser::Word& w, Diagnostics& d) {
                                 return must_be_given<ir::MacMatch>(m, w, d, "--mac-source");
                             }};
const MatchModule pkttype_module{"pkttype",
                                 [] {
                                     return ir::Match{ir::OpaqueMatch{"pkttype", {}}};
                                 },
                                 parse_pkttype,
                                 [](ir::Match& m, const parser::Word& w, Diagnostics& d) {
                                     return must_be_given<ir::PktTypeMatch>(m, w, d, "--pkt-type");
                                 }};
const MatchModule addrtype_module{"addrtype", [] { return ir::Match{ir::AddrTypeMatch{}}; }, parse_addrtype,
                                  finish_addrtype};
const MatchModule limit_module{"limit", [] { return ir::Match{ir::LimitMatch{}}; }, parse_limit,
                               finish_limit};

}  // namespace bpftables::xt
