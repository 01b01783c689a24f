// -j REJECT --reject-with TYPE: its option, printing and the -p tcp that tcp-reset needs, in iptables
// (icmp-* types) and in ip6tables (icmp6-* types, a module of its own: reject6). The target stores the
// canonical name of its reply type.
#include <span>
#include <string_view>

#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

struct RejectType {
    std::string_view name, alias;
};

// One family's --reject-with: its types in the order the extension tries them (an abbreviation, "icmp-p" or
// "host", means the first type it begins), whether the empty word is such an abbreviation (ip6tables) or
// unknown (iptables), the retired names it refuses as such, and its message for an unknown word.
struct RejectFamily {
    std::span<const RejectType> types;
    bool empty_is_first;
    std::span<const std::string_view> retired;
    std::string_view unknown;
};

constexpr RejectType reject_types[] = {{"icmp-net-unreachable", "net-unreach"},
                                       {"icmp-host-unreachable", "host-unreach"},
                                       {"icmp-proto-unreachable", "proto-unreach"},
                                       {"icmp-port-unreachable", "port-unreach"},
                                       {"icmp-net-prohibited", "net-prohib"},
                                       {"icmp-host-prohibited", "host-prohib"},
                                       {"tcp-reset", "tcp-rst"},
                                       {"icmp-admin-prohibited", "admin-prohib"}};
constexpr std::string_view retired_types[] = {"echo-reply", "icmp-echo-reply"};
constexpr RejectFamily ipv4{reject_types, false, retired_types,
                            "REJECT: unknown reject type \"%\" (icmp-net-unreachable, icmp-host-unreachable, "
                            "icmp-port-unreachable, icmp-proto-unreachable, icmp-net-prohibited, "
                            "icmp-host-prohibited, icmp-admin-prohibited or tcp-reset)"};

// ip6tables' types (libip6t_REJECT).
constexpr RejectType reject6_types[] = {{"icmp6-no-route", "no-route"},
                                        {"icmp6-adm-prohibited", "adm-prohibited"},
                                        {"icmp6-addr-unreachable", "addr-unreach"},
                                        {"icmp6-port-unreachable", "port-unreach"},
                                        {"tcp-reset", "tcp-reset"},
                                        {"icmp6-policy-fail", "policy-fail"},
                                        {"icmp6-reject-route", "reject-route"}};
constexpr RejectFamily ipv6{reject6_types,
                            true,
                            {},
                            "unknown reject type \"%\" (icmp6-no-route, icmp6-adm-prohibited, "
                            "icmp6-addr-unreachable, icmp6-port-unreachable, icmp6-policy-fail, "
                            "icmp6-reject-route or tcp-reset)"};

Parsed parse_reject_with(ir::Target& target, OptionReader& r, const RejectFamily& family) {
    auto& t = std::get<ir::RejectTarget>(target);
    if (r.name() != "--reject-with") return Parsed::not_mine;
    if (r.inverted()) return not_invertible(r, "REJECT");
    // The default type is only ever set by make(); a second --reject-with finds a marker left by the first.
    if (!t.with.empty() && t.with.back() == '!') return once_error(r, "REJECT");
    const parser::Word* w = r.arg();
    if (!w) return Parsed::error;
    if (!w->text.empty() || family.empty_is_first)
        for (const RejectType& type : family.types)
            if (values::starts_with_nocase(type.name, w->text) ||
                values::starts_with_nocase(type.alias, w->text)) {
                t.with = std::string(type.name) + '!';
                return Parsed::ok;
            }
    for (std::string_view retired : family.retired)
        if (w->text == retired)
            return r.error(*w, "REJECT: --reject-with " + w->text + " is no longer supported"), Parsed::error;
    std::string message(family.unknown);
    message.replace(message.find('%'), 1, w->text);
    r.error(*w, message);
    return Parsed::error;
}

Parsed parse_reject(ir::Target& target, OptionReader& r) {
    return parse_reject_with(target, r, ipv4);
}

Parsed parse_reject6(ir::Target& target, OptionReader& r) {
    return parse_reject_with(target, r, ipv6);
}

bool finish_reject(ir::Target& target, const parser::Word&, Diagnostics&) {
    auto& t = std::get<ir::RejectTarget>(target);
    if (!t.with.empty() && t.with.back() == '!') t.with.pop_back();
    return true;
}

bool check_reject(const ir::Target& target, std::string_view, const ir::ProtocolMatch* proto,
                  const parser::Word& target_word, Diagnostics& diags) {
    if (std::get<ir::RejectTarget>(target).with != "tcp-reset" ||
        (proto && proto->proto == 6 && !proto->invert))
        return true;
    diags.error(target_word.loc, "REJECT --reject-with tcp-reset is only valid with -p tcp",
                target_word.length);
    return false;
}

}  // namespace

const TargetModule reject_target{.name = "REJECT",
                                 .make = [] { return ir::Target{ir::RejectTarget{}}; },
                                 .parse = parse_reject,
                                 .finish = finish_reject,
                                 .check = check_reject,
                                 .families = Families::ipv4};

const TargetModule reject6_target{
    .name = "REJECT",
    .make = [] { return ir::Target{ir::RejectTarget{"icmp6-port-unreachable"}}; },
    .parse = parse_reject6,
    .finish = finish_reject,
    .check = check_reject,
    .families = Families::ipv6};

void print(const ir::RejectTarget& t, std::string& out) {
    out += " --reject-with " + t.with;
}

}  // namespace bpftables::xt
