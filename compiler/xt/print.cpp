// Canonical iptables-save text of every match and target option set: one handler per IR alternative.
#include <cstdio>

#include "compiler/xt/module.hpp"

namespace bpftables::xt {
namespace {

std::string hex(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%x", v);
    return buf;
}

std::string hex2(uint8_t v) {  // "0x0f": dscp and tos print two digits
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", v);
    return buf;
}

void negatable(bool invert, std::string_view option, std::string& out) {
    out += invert ? " ! " : " ";
    out += option;
}

// A port option. tcp and udp leave out a range that covers every port (iptables-save does); conntrack
// prints it.
void ports(const std::optional<ir::Negatable<ir::PortRange>>& p, std::string_view option, std::string& out,
           bool omit_every_port = false) {
    if (!p) return;
    if (omit_every_port && !p->invert && p->value == ir::PortRange{0, 0xffff}) return;
    negatable(p->invert, option, out);
    out += ' ' + values::format_port_range(p->value);
}

std::string tcp_flag_list(uint8_t flags) {
    return flags == 0 ? "NONE" : values::format_name_list(flags, values::tcp_flags);
}

void addr_types(uint16_t types, std::string& out) {
    static const char* const names[] = {"UNSPEC",   "UNICAST",   "LOCAL",     "BROADCAST",
                                        "ANYCAST",  "MULTICAST", "BLACKHOLE", "UNREACHABLE",
                                        "PROHIBIT", "THROW",     "NAT",       "XRESOLVE"};
    bool first = true;
    for (int i = 0; i < 12; ++i) {
        if (!(types & (1u << i))) continue;
        if (!first) out += ',';
        out += names[i];
        first = false;
    }
}

void rate(uint32_t period, std::string& out) {  // as iptables' print_rate
    static const std::pair<const char*, uint32_t> rates[] = {
        {"day", 10000u * 24 * 60 * 60}, {"hour", 10000u * 60 * 60}, {"min", 10000u * 60}, {"sec", 10000u}};
    if (period == 0) {
        out += " inf";
        return;
    }
    size_t i = 1;
    for (; i < std::size(rates); ++i)
        if (period > rates[i].second || rates[i].second / period < rates[i].second % period) break;
    out += ' ' + std::to_string(rates[i - 1].second / period) + '/' + rates[i - 1].first;
}

// As iptables-save prints a free-text value: bare when it is only letters, digits, '_' and '-'; otherwise in
// double quotes with '"', '\'' and '\\' escaped by a backslash.
std::string save_string(std::string_view s) {
    bool bare = !s.empty() &&
                s.find_first_not_of("_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") ==
                    std::string_view::npos;
    if (bare) return std::string(s);
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + '"';
}

struct MatchPrinter {
    std::string& out;

    void operator()(const ir::ProtocolMatch& m) {
        negatable(m.invert, "-p ", out);
        out += values::protocol_name(m.proto);
    }
    void operator()(const ir::AddressMatch& m) {
        negatable(m.invert, m.dir == ir::Dir::src ? "-s " : "-d ", out);
        out += values::format_net(m.net);
    }
    void operator()(const ir::InterfaceMatch& m) {
        negatable(m.invert, m.dir == ir::Dir::src ? "-i " : "-o ", out);
        out += m.name;
    }
    void operator()(const ir::FragmentMatch& m) { negatable(m.invert, "-f", out); }
    void operator()(const ir::TcpMatch& m) {
        ports(m.sport, "--sport", out, true);
        ports(m.dport, "--dport", out, true);
        if (m.option) {
            negatable(m.option->invert, "--tcp-option ", out);
            out += std::to_string(m.option->value);
        }
        // A mask of NONE prints nothing, unless inverted.
        if (m.flags && (m.flags->value.mask != 0 || m.flags->invert)) {
            negatable(m.flags->invert, "--tcp-flags ", out);
            out += tcp_flag_list(m.flags->value.mask) + ' ' + tcp_flag_list(m.flags->value.cmp);
        }
    }
    void operator()(const ir::UdpMatch& m) {
        ports(m.sport, "--sport", out, true);
        ports(m.dport, "--dport", out, true);
    }
    void operator()(const ir::IcmpMatch& m) {
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
    void operator()(const ir::MultiportMatch& m) {
        static const char* const kinds[] = {"--sports ", "--dports ", "--ports "};
        negatable(m.invert, kinds[static_cast<int>(m.kind)], out);
        for (size_t i = 0; i < m.ports.size(); ++i) {
            if (i) out += ',';
            out += values::format_port_range(m.ports[i]);
        }
    }
    void operator()(const ir::StateMatch& m) {
        negatable(m.invert, "--state ", out);
        out += values::format_name_list(m.states, values::state_match_states);
    }
    void operator()(const ir::ConntrackMatch& m) {
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
        net(m.orig_src, "--ctorigsrc");
        net(m.orig_dst, "--ctorigdst");
        net(m.repl_src, "--ctreplsrc");
        net(m.repl_dst, "--ctrepldst");
        ports(m.orig_src_port, "--ctorigsrcport", out);
        ports(m.orig_dst_port, "--ctorigdstport", out);
        ports(m.repl_src_port, "--ctreplsrcport", out);
        ports(m.repl_dst_port, "--ctrepldstport", out);
        if (m.status) {
            negatable(m.status->invert, "--ctstatus ", out);
            out += m.status->value == 0 ? "NONE"
                                        : values::format_name_list(m.status->value, values::ct_statuses);
        }
        if (m.expire) {
            negatable(m.expire->invert, "--ctexpire ", out);
            out += std::to_string(m.expire->value.lo);
            if (m.expire->value.hi != m.expire->value.lo) out += ':' + std::to_string(m.expire->value.hi);
        }
        if (m.direction) out += m.direction == ir::CtDir::original ? " --ctdir ORIGINAL" : " --ctdir REPLY";
    }
    void operator()(const ir::IpRangeMatch& m) {
        auto range = [&](const std::optional<ir::Negatable<ir::AddrRange>>& r, std::string_view option) {
            if (!r) return;
            negatable(r->invert, option, out);
            out += ' ' + values::format_ipv4(r->value.lo) + '-' + values::format_ipv4(r->value.hi);
        };
        range(m.src, "--src-range");
        range(m.dst, "--dst-range");
    }
    void operator()(const ir::MarkMatch& m) {
        negatable(m.invert, "--mark ", out);
        out += hex(m.value);
        if (m.mask != 0xffffffff) out += '/' + hex(m.mask);
    }
    void operator()(const ir::CommentMatch& m) { out += " --comment " + save_string(m.text); }
    void operator()(const ir::LengthMatch& m) {
        negatable(m.invert, "--length ", out);
        out += std::to_string(m.min);
        if (m.max != m.min) out += ':' + std::to_string(m.max);
    }
    void operator()(const ir::TtlMatch& m) {
        static const char* const ops[] = {" --ttl-eq ", " ! --ttl-eq ", " --ttl-lt ", " --ttl-gt "};
        out += ops[static_cast<int>(m.op)] + std::to_string(m.value);
    }
    void operator()(const ir::DscpMatch& m) {
        negatable(m.invert, "--dscp ", out);
        out += hex2(m.dscp);
    }
    void operator()(const ir::TosMatch& m) {
        negatable(m.invert, "--tos ", out);
        out += hex2(m.value) + '/' + hex2(m.mask);
    }
    void operator()(const ir::MacMatch& m) {
        negatable(m.invert, "--mac-source ", out);
        out += values::format_mac(m.addr);
    }
    void operator()(const ir::AddrTypeMatch& m) {
        if (m.src) {
            negatable(m.src->invert, "--src-type ", out);
            addr_types(m.src->value, out);
        }
        if (m.dst) {
            negatable(m.dst->invert, "--dst-type ", out);
            addr_types(m.dst->value, out);
        }
        if (m.limit_iface_in) out += " --limit-iface-in";
        if (m.limit_iface_out) out += " --limit-iface-out";
    }
    void operator()(const ir::PktTypeMatch& m) {
        static const char* const names[] = {"unicast", "broadcast", "multicast"};
        negatable(m.invert, "--pkt-type ", out);
        out += names[static_cast<int>(m.type)];
    }
    void operator()(const ir::LimitMatch& m) {
        out += " --limit";
        rate(m.avg, out);
        if (m.burst != 5) out += " --limit-burst " + std::to_string(m.burst);
    }
    void operator()(const ir::SetMatch& m) {
        negatable(m.invert, "--match-set ", out);
        out += m.name + ' ';
        for (size_t i = 0; i < m.flags.size(); ++i) {
            if (i) out += ',';
            out += m.flags[i] == ir::Dir::src ? "src" : "dst";
        }
        if (m.return_nomatch) out += " --return-nomatch";
        if (!m.update_counters) out += " ! --update-counters";
        if (!m.update_subcounters) out += " ! --update-subcounters";
        for (const std::string& c : m.counter_conditions) out += ' ' + c;
    }
    void operator()(const ir::OpaqueMatch& m) {
        for (const std::string& a : m.args) out += ' ' + quote_if_needed(a);
    }
};

struct TargetPrinter {
    std::string& out;

    void operator()(const ir::NoTarget&) {}
    void operator()(const ir::AcceptTarget&) {}
    void operator()(const ir::DropTarget&) {}
    void operator()(const ir::ReturnTarget&) {}
    void operator()(const ir::JumpTarget&) {}
    void operator()(const ir::GotoTarget&) {}
    void operator()(const ir::RejectTarget& t) { out += " --reject-with " + t.with; }
    void operator()(const ir::LogTarget& t) {
        if (!t.prefix.empty()) out += " --log-prefix " + save_string(t.prefix);
        if (t.level != 4) out += " --log-level " + std::to_string(t.level);
        if (t.flags & 0x01) out += " --log-tcp-sequence";
        if (t.flags & 0x02) out += " --log-tcp-options";
        if (t.flags & 0x04) out += " --log-ip-options";
        if (t.flags & 0x08) out += " --log-uid";
        if (t.flags & 0x20) out += " --log-macdecode";
    }
    void operator()(const ir::NotrackTarget&) {}
    void operator()(const ir::CtTarget& t) {
        if (t.notrack) out += " --notrack";
        for (const std::string& a : t.args) out += ' ' + quote_if_needed(a);
    }
    void operator()(const ir::OpaqueTarget& t) {
        for (const std::string& a : t.args) out += ' ' + quote_if_needed(a);
    }
};

struct ModuleName {
    std::string operator()(const ir::ProtocolMatch&) { return {}; }
    std::string operator()(const ir::AddressMatch&) { return {}; }
    std::string operator()(const ir::InterfaceMatch&) { return {}; }
    std::string operator()(const ir::FragmentMatch&) { return {}; }
    std::string operator()(const ir::TcpMatch&) { return "tcp"; }
    std::string operator()(const ir::UdpMatch&) { return "udp"; }
    std::string operator()(const ir::IcmpMatch&) { return "icmp"; }
    std::string operator()(const ir::MultiportMatch&) { return "multiport"; }
    std::string operator()(const ir::StateMatch&) { return "state"; }
    std::string operator()(const ir::ConntrackMatch&) { return "conntrack"; }
    std::string operator()(const ir::IpRangeMatch&) { return "iprange"; }
    std::string operator()(const ir::MarkMatch&) { return "mark"; }
    std::string operator()(const ir::CommentMatch&) { return "comment"; }
    std::string operator()(const ir::LengthMatch&) { return "length"; }
    std::string operator()(const ir::TtlMatch&) { return "ttl"; }
    std::string operator()(const ir::DscpMatch&) { return "dscp"; }
    std::string operator()(const ir::TosMatch&) { return "tos"; }
    std::string operator()(const ir::MacMatch&) { return "mac"; }
    std::string operator()(const ir::AddrTypeMatch&) { return "addrtype"; }
    std::string operator()(const ir::PktTypeMatch&) { return "pkttype"; }
    std::string operator()(const ir::LimitMatch&) { return "limit"; }
    std::string operator()(const ir::SetMatch&) { return "set"; }
    std::string operator()(const ir::OpaqueMatch& m) { return m.module; }
};

}  // namespace

std::string module_name(const ir::Match& m) {
    return std::visit(ModuleName{}, m);
}

void print_options(const ir::Match& m, std::string& out) {
    std::visit(MatchPrinter{out}, m);
}

void print_options(const ir::Target& t, std::string& out) {
    std::visit(TargetPrinter{out}, t);
}

}  // namespace bpftables::xt
