// -m multiport --sports/--dports/--ports: up to 15 ports or ranges (a range takes two of the 15 slots).
#include "compiler/xt/module.hpp"
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

constexpr size_t max_port_slots = 15;

// "53,1024:65535": each item a port (number or service name) or a lo:hi range with both ends given.
bool parse_port_list(OptionReader& r, const parser::Word& w, std::vector<ir::PortRange>& out) {
    std::string_view s = w.text;
    size_t slots = 0;
    while (true) {
        size_t comma = s.find(',');
        std::string_view item = s.substr(0, comma);
        size_t colon = item.find(':');
        std::string_view lo = item.substr(0, colon);
        std::string_view hi = colon == std::string_view::npos ? lo : item.substr(colon + 1);
        ir::PortRange range;
        if (!values::parse_port(lo, "", range.lo) || !values::parse_port(hi, "", range.hi))
            return r.error(w, "invalid port/service \"" + std::string(item) + "\" specified");
        if (range.lo > range.hi)
            return r.error(w, "invalid port range \"" + std::string(item) + "\" specified");
        slots += colon == std::string_view::npos ? 1 : 2;
        if (slots > max_port_slots)
            return r.error(w, "too many ports specified (at most 15, a range counts 2)");
        out.push_back(range);
        if (comma == std::string_view::npos) return true;
        s.remove_prefix(comma + 1);
    }
}

// Until one of its options is given the match is a bare "-m multiport" (an OpaqueMatch); finish rejects that.
ir::Match make_multiport() {
    return ir::OpaqueMatch{"multiport", {}};
}

Parsed parse_multiport(ir::Match& match, OptionReader& r) {
    std::string_view n = r.name();
    ir::MultiportKind kind;
    if (n == "--sports" || n == "--source-ports")
        kind = ir::MultiportKind::sports;
    else if (n == "--dports" || n == "--destination-ports")
        kind = ir::MultiportKind::dports;
    else if (n == "--ports")
        kind = ir::MultiportKind::ports;
    else
        return Parsed::not_mine;
    if (std::holds_alternative<ir::MultiportMatch>(match))
        return r.error("multiport can only have one option"), Parsed::error;
    const parser::Word* w = r.arg();
    ir::MultiportMatch m{kind, {}, r.inverted()};
    if (!w || !parse_port_list(r, *w, m.ports)) return Parsed::error;
    match = std::move(m);
    return Parsed::ok;
}

bool finish_multiport(ir::Match& match, const parser::Word& word, Diagnostics& diags) {
    if (std::holds_alternative<ir::MultiportMatch>(match)) return true;
    diags.error(word.loc, "multiport: one of --sports, --dports or --ports must be specified", word.length);
    return false;
}

}  // namespace

const MatchModule multiport_module{"multiport", make_multiport, parse_multiport, finish_multiport};

}  // namespace bpftables::xt
