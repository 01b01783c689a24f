// -m tcp and -m udp (also loaded implicitly by -p tcp / -p udp): their options, printing and protocol.
//
// A port option that covers every port ("--sport :") is kept but prints nothing unless inverted, as
// iptables-save does; "--syn" is stored as the flags it stands for (FIN,SYN,RST,ACK SYN).
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

using PortOpt = std::optional<ir::Negatable<ir::PortRange>>;

// --sport/--source-port, --dport/--destination-port, shared by tcp and udp.
Parsed parse_port_option(OptionReader& r, PortOpt& sport, PortOpt& dport, std::string_view proto) {
    std::string_view n = r.name();
    PortOpt* slot = nullptr;
    const char* canonical = nullptr;
    if (n == "--sport" || n == "--source-port") slot = &sport, canonical = "--source-port";
    if (n == "--dport" || n == "--destination-port") slot = &dport, canonical = "--destination-port";
    if (!slot) return Parsed::not_mine;
    if (*slot) return r.error("only one " + std::string(canonical) + " allowed"), Parsed::error;
    const parser::Word* w = r.arg();
    ir::PortRange range;
    if (!w || !parse_port_range(r, *w, range, proto)) return Parsed::error;
    *slot = ir::Negatable<ir::PortRange>{range, r.inverted()};
    return Parsed::ok;
}

bool parse_tcp_flag_list(OptionReader& r, const parser::Word& w, uint8_t& out) {
    uint32_t bits;
    if (!parse_name_list(r, w, values::iptables_tcp_flags, "unknown TCP flag", bits)) return false;
    out = static_cast<uint8_t>(bits);
    return true;
}

Parsed parse_tcp(ir::Match& match, OptionReader& r) {
    auto& m = std::get<ir::TcpMatch>(match);
    if (Parsed p = parse_port_option(r, m.sport, m.dport, "tcp"); p != Parsed::not_mine) return p;
    std::string_view n = r.name();
    if (n == "--syn" || n == "--tcp-flags") {
        if (m.flags) return r.error("only one of --syn or --tcp-flags allowed"), Parsed::error;
        ir::TcpFlags f{0x17, 0x02};  // --syn: SYN set, FIN, RST and ACK clear
        if (n == "--tcp-flags") {
            const parser::Word* mask = r.arg();
            if (!mask || !parse_tcp_flag_list(r, *mask, f.mask)) return Parsed::error;
            if (!r.has_arg()) return r.error("--tcp-flags requires two args"), Parsed::error;
            const parser::Word* cmp = r.arg();
            if (!cmp || !parse_tcp_flag_list(r, *cmp, f.cmp)) return Parsed::error;
        }
        m.flags = ir::Negatable<ir::TcpFlags>{f, r.inverted()};
        return Parsed::ok;
    }
    if (n == "--tcp-option") {
        if (m.option) return r.error("only one --tcp-option allowed"), Parsed::error;
        const parser::Word* w = r.arg();
        uint64_t v;
        if (!w) return Parsed::error;
        if (!values::parse_number(w->text, v, 255) || v == 0)
            return r.error(*w, "bad TCP option \"" + w->text + "\" (1 to 255)"), Parsed::error;
        m.option = ir::Negatable<uint8_t>{static_cast<uint8_t>(v), r.inverted()};
        return Parsed::ok;
    }
    return Parsed::not_mine;
}

Parsed parse_udp(ir::Match& match, OptionReader& r) {
    auto& m = std::get<ir::UdpMatch>(match);
    return parse_port_option(r, m.sport, m.dport, "udp");
}

std::string tcp_flag_list(uint8_t flags) {
    return flags == 0 ? "NONE" : values::format_name_list(flags, values::tcp_flags);
}

constexpr uint8_t tcp_protocol[] = {6};
constexpr uint8_t udp_protocol[] = {17};

}  // namespace

const MatchModule tcp_module{.name = "tcp",
                             .make = [] { return ir::Match{ir::TcpMatch{}}; },
                             .parse = parse_tcp,
                             .finish = finish_nothing,
                             .protocols = tcp_protocol,
                             .protocol_error = "the tcp match requires -p tcp",
                             .loaded_by_protocol = true};
const MatchModule udp_module{.name = "udp",
                             .make = [] { return ir::Match{ir::UdpMatch{}}; },
                             .parse = parse_udp,
                             .finish = finish_nothing,
                             .protocols = udp_protocol,
                             .protocol_error = "the udp match requires -p udp",
                             .loaded_by_protocol = true};

void print(const ir::TcpMatch& m, std::string& out) {
    print_ports(m.sport, "--sport", out, true);
    print_ports(m.dport, "--dport", out, true);
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

void print(const ir::UdpMatch& m, std::string& out) {
    print_ports(m.sport, "--sport", out, true);
    print_ports(m.dport, "--dport", out, true);
}

}  // namespace bpftables::xt
