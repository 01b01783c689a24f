// -m mac --mac-source XX:XX:XX:XX:XX:XX: its option and printing.
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

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

}  // namespace

const MatchModule mac_module{
    .name = "mac",
    .make =
        [] {
            return ir::Match{ir::OpaqueMatch{"mac", {}}};
        },
    .parse = parse_mac_source,
    .finish = [](ir::Match& m, const parser::Word& w,
                 Diagnostics& d) { return must_be_given<ir::MacMatch>(m, w, d, "--mac-source"); }};

void print(const ir::MacMatch& m, std::string& out) {
    negatable(m.invert, "--mac-source ", out);
    out += values::format_mac(m.addr);
}

}  // namespace bpftables::xt
