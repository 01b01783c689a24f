// -m tcp and -m udp (also loaded implicitly by -p tcp / -p udp).
//
// A port option that covers every port ("--sport :") is kept but prints nothing unless inverted, as
// iptables-save does; "--syn" is stored as the flags it stands for (FIN,SYN,RST,ACK SYN).
#include "compiler/xt/module.hpp"
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

bool finish_nothing(ir::Match&, const parser::Word&, Diagnostics&) {
    return true;
}

}  // namespace

const MatchModule tcp_module{"tcp", [] { return ir::Match{ir::TcpMatch{}}; }, parse_tcp, finish_nothing};
const MatchModule udp_module{"udp", [] { return ir::Match{ir::UdpMatch{}}; }, parse_udp, finish_nothing};

}  // namespace bpftables::xt
