// -m state and -m conntrack: connection tracking state, tuple, status, expiry and direction; their options
// and printing.
//
// Every option may be given once. Lists are case-insensitive ("new,Established"); numbers follow strtoul's
// base-0 notation. Tuple addresses are of the ruleset's family (IPv4, or IPv6 in an ip6tables ruleset) with an
// optional /len or /mask (no name resolution).
#include <algorithm>
#include <cctype>

#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

// ---- -m state

Parsed parse_state(ir::Match& match, OptionReader& r) {
    auto& m = std::get<ir::StateMatch>(match);
    if (r.name() != "--state") return Parsed::not_mine;
    if (m.states) return once_error(r, "state");
    const parser::Word* w = r.arg();
    if (!w) return Parsed::error;
    if (!parse_name_list(r, *w, values::state_match_states, "bad state", m.states)) return Parsed::error;
    m.invert = r.inverted();
    return Parsed::ok;
}

bool finish_state(ir::Match& match, const parser::Word& module_word, Diagnostics& diags) {
    if (std::get<ir::StateMatch>(match).states) return true;
    diags.error(module_word.loc, "state: option \"--state\" must be specified", module_word.length);
    return false;
}

// ---- -m conntrack

// a.b.c.d[/len|/mask]; the address is stored masked.
bool parse_ct_net(OptionReader& r, const parser::Word& w, ir::Ipv4Net& out) {
    std::string_view s = w.text;
    size_t slash = s.find('/');
    uint32_t addr = 0, mask = 0xffffffff;
    if (!values::parse_ipv4(s.substr(0, slash), addr))
        return r.error(w, "host/network \"" + std::string(s.substr(0, slash)) + "\" is not an IPv4 address");
    if (slash != std::string_view::npos) {
        std::string_view m = s.substr(slash + 1);
        uint64_t len;
        if (m.find('.') != std::string_view::npos) {
            if (!values::parse_ipv4(m, mask))
                return r.error(w, "invalid mask \"" + std::string(m) + "\" specified");
        } else if (!m.empty() && std::all_of(m.begin(), m.end(), ::isdigit) &&
                   values::parse_number(m, len, 32)) {
            mask = values::prefix_mask(static_cast<int>(len));
        } else {
            return r.error(w, "invalid mask \"" + std::string(m) + "\" specified");
        }
    }
    out = {addr & mask, mask};
    return true;
}

// An IPv6 tuple address as libxt_conntrack reads it (XTTYPE_HOSTMASK): kept as written, not masked (the
// kernel masks both sides); a /len of 0..128, or a mask in address form, which counts only when it is a
// prefix (ip6tables 1.8.9 keeps all 128 bits for any other mask).
bool parse_ct_net6(OptionReader& r, const parser::Word& w, ir::Ipv6Net& out) {
    std::string_view s = w.text;
    size_t slash = s.find('/');
    ir::Ipv6Net net{{}, values::ipv6_prefix_mask(128)};
    if (!values::parse_ipv6(s.substr(0, slash), net.addr))
        return r.error(w, "host/network `" + std::string(s.substr(0, slash)) + "' not found");
    if (slash != std::string_view::npos) {
        std::string_view m = s.substr(slash + 1);
        uint64_t len;
        ir::Ipv6Addr mask;
        if (values::parse_number(m, len, 128))
            net.mask = values::ipv6_prefix_mask(static_cast<int>(len));
        else if (!values::parse_ipv6(m, mask))
            return r.error(w, "conntrack: bad value for option \"" + std::string(r.name()) +
                                  "\", neither a valid network mask nor valid CIDR (0-128).");
        else if (values::ipv6_prefix_len(mask) >= 0)
            net.mask = mask;
    }
    out = net;
    return true;
}

// --ctexpire lo[:hi], seconds.
bool parse_ct_expire(OptionReader& r, const parser::Word& w, ir::AddrRange& out) {
    std::string_view s = w.text;
    size_t colon = s.find(':');
    std::string_view lo = s.substr(0, colon);
    std::string_view hi = colon == std::string_view::npos ? lo : s.substr(colon + 1);
    uint64_t a = 0, b = 0xffffffff;
    if ((colon == std::string_view::npos || !lo.empty()) && !values::parse_number(lo, a, 0xffffffff))
        return r.error(w, "conntrack: bad value for --ctexpire \"" + w.text + "\" (0 to 4294967295)");
    if ((colon == std::string_view::npos || !hi.empty()) && !values::parse_number(hi, b, 0xffffffff))
        return r.error(w, "conntrack: bad value for --ctexpire \"" + w.text + "\" (0 to 4294967295)");
    if (a > b)
        return r.error(w, "conntrack: --ctexpire range \"" + w.text + "\" has its minimum above its maximum");
    out = {static_cast<uint32_t>(a), static_cast<uint32_t>(b)};
    return true;
}

template <class T>
using Opt = std::optional<ir::Negatable<T>>;

Parsed parse_conntrack(ir::Match& match, OptionReader& r) {
    auto& m = std::get<ir::ConntrackMatch>(match);
    std::string_view n = r.name();
    auto begin = [&](bool given) -> const parser::Word* {
        if (given) {
            once_error(r, "conntrack");
            return nullptr;
        }
        return r.arg();
    };

    if (n == "--ctstate" || n == "--ctstatus") {
        bool state = n == "--ctstate";
        Opt<uint32_t>& slot = state ? m.state : m.status;
        const parser::Word* w = begin(slot.has_value());
        uint32_t bits;
        if (!w) return Parsed::error;
        bool ok = state ? parse_name_list(r, *w, values::ct_states, "bad ctstate", bits)
                        : parse_name_list(r, *w, values::ct_statuses, "bad ctstatus", bits);
        if (!ok) return Parsed::error;
        slot = ir::Negatable<uint32_t>{bits, r.inverted()};
        return Parsed::ok;
    }
    if (n == "--ctproto") {
        const parser::Word* w = begin(m.proto.has_value());
        if (!w) return Parsed::error;
        std::string name = w->text;
        std::transform(name.begin(), name.end(), name.begin(), ::tolower);
        uint64_t num;
        std::optional<uint8_t> p = values::parse_number(name, num, 255)
                                       ? std::optional<uint8_t>(static_cast<uint8_t>(num))
                                       : values::protocol_by_name(name);
        if (!p) return r.error(*w, "unknown protocol \"" + w->text + "\" specified"), Parsed::error;
        if (*p == 0)
            return r.error(*w, "conntrack: --ctproto needs a protocol other than 0 (all)"), Parsed::error;
        m.proto = ir::Negatable<uint8_t>{*p, r.inverted()};
        return Parsed::ok;
    }
    if (r.family() == ir::Family::ipv6) {
        Opt<ir::Ipv6Net>* net6 = n == "--ctorigsrc"   ? &m.orig_src6
                                 : n == "--ctorigdst" ? &m.orig_dst6
                                 : n == "--ctreplsrc" ? &m.repl_src6
                                 : n == "--ctrepldst" ? &m.repl_dst6
                                                      : nullptr;
        if (net6) {
            const parser::Word* w = begin(net6->has_value());
            ir::Ipv6Net value;
            if (!w || !parse_ct_net6(r, *w, value)) return Parsed::error;
            *net6 = ir::Negatable<ir::Ipv6Net>{value, r.inverted()};
            return Parsed::ok;
        }
    }
    Opt<ir::Ipv4Net>* net = n == "--ctorigsrc"   ? &m.orig_src
                            : n == "--ctorigdst" ? &m.orig_dst
                            : n == "--ctreplsrc" ? &m.repl_src
                            : n == "--ctrepldst" ? &m.repl_dst
                                                 : nullptr;
    if (net) {
        const parser::Word* w = begin(net->has_value());
        ir::Ipv4Net value;
        if (!w || !parse_ct_net(r, *w, value)) return Parsed::error;
        *net = ir::Negatable<ir::Ipv4Net>{value, r.inverted()};
        return Parsed::ok;
    }
    Opt<ir::PortRange>* port = n == "--ctorigsrcport"   ? &m.orig_src_port
                               : n == "--ctorigdstport" ? &m.orig_dst_port
                               : n == "--ctreplsrcport" ? &m.repl_src_port
                               : n == "--ctrepldstport" ? &m.repl_dst_port
                                                        : nullptr;
    if (port) {
        const parser::Word* w = begin(port->has_value());
        ir::PortRange value;
        if (!w || !parse_port_range(r, *w, value, "")) return Parsed::error;
        *port = ir::Negatable<ir::PortRange>{value, r.inverted()};
        return Parsed::ok;
    }
    if (n == "--ctexpire") {
        const parser::Word* w = begin(m.expire.has_value());
        ir::AddrRange value;
        if (!w || !parse_ct_expire(r, *w, value)) return Parsed::error;
        m.expire = ir::Negatable<ir::AddrRange>{value, r.inverted()};
        return Parsed::ok;
    }
    if (n == "--ctdir") {
        if (r.inverted()) return r.error("conntrack: option \"--ctdir\" cannot be inverted"), Parsed::error;
        const parser::Word* w = begin(m.direction.has_value());
        if (!w) return Parsed::error;
        std::string v = w->text;
        std::transform(v.begin(), v.end(), v.begin(), ::toupper);
        if (v != "ORIGINAL" && v != "REPLY")
            return r.error(*w,
                           "conntrack: bad value for \"--ctdir\": \"" + w->text + "\" (ORIGINAL or REPLY)"),
                   Parsed::error;
        m.direction = v == "ORIGINAL" ? ir::CtDir::original : ir::CtDir::reply;
        return Parsed::ok;
    }
    return Parsed::not_mine;
}

bool finish_conntrack(ir::Match& match, const parser::Word& module_word, Diagnostics& diags) {
    if (std::get<ir::ConntrackMatch>(match) != ir::ConntrackMatch{}) return true;
    diags.error(module_word.loc, "conntrack: at least one option is required", module_word.length);
    return false;
}

}  // namespace

const MatchModule state_module{"state", [] { return ir::Match{ir::StateMatch{}}; }, parse_state,
                               finish_state};
const MatchModule conntrack_module{"conntrack", [] { return ir::Match{ir::ConntrackMatch{}}; },
                                   parse_conntrack, finish_conntrack};

void print(const ir::StateMatch& m, std::string& out) {
    negatable(m.invert, "--state ", out);
    out += values::format_name_list(m.states, values::state_match_states);
}

void print(const ir::ConntrackMatch& m, std::string& out) {
    if (m.state) {
        negatable(m.state->invert, "--ctstate ", out);
        out += values::format_name_list(m.state->value, values::ct_states);
    }
    if (m.proto) {
        negatable(m.proto->invert, "--ctproto ", out);
        out += std::to_string(m.proto->value);
    }
    auto net = [&](const std::optional<ir::Negatable<ir::Ipv4Net>>& n, std::string_view option) {
        if (!n) return;
        negatable(n->invert, option, out);
        out += ' ' + (n->value.mask == 0xffffffff ? values::format_ipv4(n->value.addr)
                                                  : values::format_net(n->value));
    };
    // IPv6 as libxt_conntrack prints it: the address as given, then no "/128", else the prefix length.
    auto net6 = [&](const std::optional<ir::Negatable<ir::Ipv6Net>>& n, std::string_view option) {
        if (!n) return;
        negatable(n->invert, option, out);
        int len = values::ipv6_prefix_len(n->value.mask);
        out += ' ' + values::format_ipv6(n->value.addr) + (len == 128 ? "" : '/' + std::to_string(len));
    };
    net(m.orig_src, "--ctorigsrc");
    net6(m.orig_src6, "--ctorigsrc");
    net(m.orig_dst, "--ctorigdst");
    net6(m.orig_dst6, "--ctorigdst");
    net(m.repl_src, "--ctreplsrc");
    net6(m.repl_src6, "--ctreplsrc");
    net(m.repl_dst, "--ctrepldst");
    net6(m.repl_dst6, "--ctrepldst");
    print_ports(m.orig_src_port, "--ctorigsrcport", out);
    print_ports(m.orig_dst_port, "--ctorigdstport", out);
    print_ports(m.repl_src_port, "--ctreplsrcport", out);
    print_ports(m.repl_dst_port, "--ctrepldstport", out);
    if (m.status) {
        negatable(m.status->invert, "--ctstatus ", out);
        out += m.status->value == 0 ? "NONE" : values::format_name_list(m.status->value, values::ct_statuses);
    }
    if (m.expire) {
        negatable(m.expire->invert, "--ctexpire ", out);
        out += std::to_string(m.expire->value.lo);
        if (m.expire->value.hi != m.expire->value.lo) out += ':' + std::to_string(m.expire->value.hi);
    }
    if (m.direction) out += m.direction == ir::CtDir::original ? " --ctdir ORIGINAL" : " --ctdir REPLY";
}

}  // namespace bpftables::xt
