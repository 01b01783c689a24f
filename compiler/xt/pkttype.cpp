// -m pkttype --pkt-type unicast|broadcast|multicast: its option and printing.
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

// The names --pkt-type reads; the first three, in PktType order, are how each type prints.
constexpr std::pair<std::string_view, ir::PktType> names[] = {
    {"unicast", ir::PktType::unicast},     {"broadcast", ir::PktType::broadcast},
    {"multicast", ir::PktType::multicast}, {"host", ir::PktType::unicast},
    {"bcast", ir::PktType::broadcast},     {"mcast", ir::PktType::multicast}};

Parsed parse_pkttype(ir::Match& match, OptionReader& r) {
    if (r.name() != "--pkt-type") return Parsed::not_mine;
    if (!first_use<ir::PktTypeMatch>(match, r)) return Parsed::error;
    const parser::Word* w = r.arg();
    if (!w) return Parsed::error;
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

}  // namespace

const MatchModule pkttype_module{
    .name = "pkttype",
    .make =
        [] {
            return ir::Match{ir::OpaqueMatch{"pkttype", {}}};
        },
    .parse = parse_pkttype,
    .finish = [](ir::Match& m, const parser::Word& w,
                 Diagnostics& d) { return must_be_given<ir::PktTypeMatch>(m, w, d, "--pkt-type"); }};

void print(const ir::PktTypeMatch& m, std::string& out) {
    negatable(m.invert, "--pkt-type ", out);
    out += names[static_cast<int>(m.type)].first;
}

}  // namespace bpftables::xt
