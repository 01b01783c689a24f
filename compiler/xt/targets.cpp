// Targets with options: -j REJECT, -j LOG, -j NOTRACK and -j CT.
//
// REJECT stores the canonical name of its reply type; LOG its level, prefix and flags; CT its --notrack flag
// and every other option as canonical text in the order iptables-save prints them (helper, timeout, events,
// zone).
#include <algorithm>

#include "compiler/xt/module.hpp"
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

Parsed once_error(OptionReader& r, std::string_view target) {
    r.error(std::string(target) + ": option \"" + std::string(r.name()) + "\" can only be used once");
    return Parsed::error;
}

Parsed not_invertible(OptionReader& r, std::string_view target) {
    r.error(std::string(target) + ": option \"" + std::string(r.name()) + "\" cannot be inverted");
    return Parsed::error;
}

bool finish_target_nothing(ir::Target&, const parser::Word&, Diagnostics&) {
    return true;
}

// ---- REJECT
// ------------------------------------------------------------------------------------------------

struct RejectType {
    std::string_view name, alias;
};

// In the order iptables tries them: an abbreviation ("icmp-p", "host") means the first type it begins.
constexpr RejectType reject_types[] = {{"icmp-net-unreachable", "net-unreach"},
                                       {"icmp-host-unreachable", "host-unreach"},
                                       {"icmp-proto-unreachable", "proto-unreach"},
                                       {"icmp-port-unreachable", "port-unreach"},
                                       {"icmp-net-prohibited", "net-prohib"},
                                       {"icmp-host-prohibited", "host-prohib"},
                                       {"tcp-reset", "tcp-rst"},
                                       {"icmp-admin-prohibited", "admin-prohib"}};

Parsed parse_reject(ir::Target& target, OptionReader& r) {
    auto& t = std::get<ir::RejectTarget>(target);
    if (r.name() != "--reject-with") return Parsed::not_mine;
    if (r.inverted()) return not_invertible(r, "REJECT");
    // The default type is only ever set by make(); a second --reject-with finds a marker left by the first.
    if (!t.with.empty() && t.with.back() == '!') return once_error(r, "REJECT");
    const parser::Word* w = r.arg();
    if (!w) return Parsed::error;
    if (!w->text.empty())
        for (const RejectType& type : reject_types)
            if (values::starts_with_nocase(type.name, w->text) ||
                values::starts_with_nocase(type.alias, w->text)) {
                t.with = std::string(type.name) + '!';
                return Parsed::ok;
            }
    if (w->text == "echo-reply" || w->text == "icmp-echo-reply")
        return r.error(*w, "REJECT: --reject-with " + w->text + " is no longer supported"), Parsed::error;
    r.error(*w,
            "REJECT: unknown reject type \"" + w->text +
                "\" (icmp-net-unreachable, icmp-host-unreachable, icmp-port-unreachable, "
                "icmp-proto-unreachable, icmp-net-prohibited, icmp-host-prohibited, icmp-admin-prohibited "
                "or tcp-reset)");
    return Parsed::error;
}

bool finish_reject(ir::Target& target, const parser::Word&, Diagnostics&) {
    auto& t = std::get<ir::RejectTarget>(target);
    if (!t.with.empty() && t.with.back() == '!') t.with.pop_back();
    return true;
}

// ---- LOG
// ---------------------------------------------------------------------------------------------------

constexpr size_t max_log_prefix = 29;  // the kernel's buffer is 30 bytes with the terminating NUL
constexpr uint8_t level_given = 0x80;  // while parsing only: --log-level was seen (cleared by finish)

struct LogFlag {
    std::string_view option;
    uint8_t bit;
};
constexpr LogFlag log_flags[] = {{"--log-tcp-sequence", 0x01},
                                 {"--log-tcp-options", 0x02},
                                 {"--log-ip-options", 0x04},
                                 {"--log-uid", 0x08},
                                 {"--log-macdecode", 0x20}};

// syslog(3) level names as iptables accepts them (lower case; "panic" is emerg).
constexpr std::pair<std::string_view, uint8_t> log_levels[] = {{"emerg", 0}, {"alert", 1},   {"crit", 2},
                                                               {"error", 3}, {"warning", 4}, {"notice", 5},
                                                               {"info", 6},  {"debug", 7},   {"panic", 0}};

Parsed parse_log(ir::Target& target, OptionReader& r) {
    auto& t = std::get<ir::LogTarget>(target);
    std::string_view n = r.name();
    for (const LogFlag& f : log_flags) {
        if (n != f.option) continue;
        if (r.inverted()) return not_invertible(r, "LOG");
        if (t.flags & f.bit) return once_error(r, "LOG");
        t.flags |= f.bit;
        return Parsed::ok;
    }
    if (n == "--log-level") {
        if (r.inverted()) return not_invertible(r, "LOG");
        if (t.flags & level_given) return once_error(r, "LOG");
        const parser::Word* w = r.arg();
        if (!w) return Parsed::error;
        uint64_t v;
        std::optional<uint8_t> level;
        if (values::parse_number(w->text, v, 7)) level = static_cast<uint8_t>(v);
        for (auto [name, value] : log_levels)
            if (w->text == name) level = value;
        if (!level)
            return r.error(*w, "LOG: log level \"" + w->text +
                                   "\" unknown (0 to 7, or emerg, alert, crit, error, "
                                   "warning, notice, info, debug)"),
                   Parsed::error;
        t.level = *level;
        t.flags |= level_given;
        return Parsed::ok;
    }
    if (n == "--log-prefix") {
        if (r.inverted()) return not_invertible(r, "LOG");
        if (!t.prefix.empty()) return once_error(r, "LOG");
        const parser::Word* w = r.arg();
        if (!w) return Parsed::error;
        if (w->text.empty()) return r.error(*w, "LOG: --log-prefix must not be empty"), Parsed::error;
        if (w->text.find('\n') != std::string::npos)
            return r.error(*w, "LOG: newlines are not allowed in --log-prefix"), Parsed::error;
        t.prefix = w->text;
        if (t.prefix.size() > max_log_prefix) {  // iptables truncates silently; say so
            t.prefix.resize(max_log_prefix);
            r.diags().warning(
                w->loc, "LOG: --log-prefix is longer than 29 characters and is cut to \"" + t.prefix + "\"",
                w->length);
        }
        return Parsed::ok;
    }
    return Parsed::not_mine;
}

bool finish_log(ir::Target& target, const parser::Word&, Diagnostics&) {
    std::get<ir::LogTarget>(target).flags &= static_cast<uint8_t>(~level_given);
    return true;
}

// ---- NOTRACK
// -----------------------------------------------------------------------------------------------

Parsed parse_notrack(ir::Target&, OptionReader&) {
    return Parsed::not_mine;
}

// ---- CT
// ----------------------------------------------------------------------------------------------------
//
// While parsing, CtTarget::args holds (option, value) pairs as given, values already checked and normalised;
// finish() rewrites them into iptables-save's order and drops what prints nothing (an empty helper, zone 0).

constexpr values::NamedBits ct_event_names[] = {
    {"new", 1 << 0},        {"related", 1 << 1},   {"destroy", 1 << 2}, {"reply", 1 << 3},
    {"assured", 1 << 4},    {"protoinfo", 1 << 5}, {"helper", 1 << 6},  {"mark", 1 << 7},
    {"natseqinfo", 1 << 8}, {"secmark", 1 << 9}};
constexpr values::NamedBits ct_expevent_names[] = {{"new", 1 << 0}};

// Event lists are case-sensitive in iptables, unlike most name lists.
bool parse_events(OptionReader& r, const parser::Word& w, const values::NamedBits* names, size_t count,
                  std::string& out) {
    uint32_t bits = 0;
    std::string_view s = w.text;
    while (true) {
        size_t comma = s.find(',');
        std::string_view item = s.substr(0, comma);
        const values::NamedBits* found =
            std::find_if(names, names + count, [&](const values::NamedBits& b) { return b.name == item; });
        if (found == names + count) return r.error(w, "CT: unknown event type \"" + std::string(item) + "\"");
        bits |= found->bits;
        if (comma == std::string_view::npos) break;
        s.remove_prefix(comma + 1);
    }
    out.clear();
    for (size_t i = 0; i < count; ++i)
        if (bits & names[i].bits) out += (out.empty() ? "" : ",") + std::string(names[i].name);
    return true;
}

const std::string* ct_arg(const ir::CtTarget& t, std::string_view option) {
    for (size_t i = 0; i + 1 < t.args.size(); i += 2)
        if (t.args[i] == option) return &t.args[i + 1];
    return nullptr;
}

Parsed parse_ct(ir::Target& target, OptionReader& r) {
    auto& t = std::get<ir::CtTarget>(target);
    std::string_view n = r.name();
    if (n == "--notrack") {
        if (r.inverted()) return not_invertible(r, "CT");
        if (t.notrack) return once_error(r, "CT");
        t.notrack = true;
        return Parsed::ok;
    }
    bool events = n == "--ctevents" || n == "--expevents";
    bool zone = n == "--zone" || n == "--zone-orig" || n == "--zone-reply";
    if (!events && !zone && n != "--helper" && n != "--timeout") return Parsed::not_mine;
    if (r.inverted()) return not_invertible(r, "CT");
    if (ct_arg(t, n)) return once_error(r, "CT");
    const parser::Word* w = r.arg();
    if (!w) return Parsed::error;
    std::string value = w->text;
    if (n == "--ctevents" && !parse_events(r, *w, ct_event_names, std::size(ct_event_names), value))
        return Parsed::error;
    if (n == "--expevents" && !parse_events(r, *w, ct_expevent_names, std::size(ct_expevent_names), value))
        return Parsed::error;
    if (zone && value != "mark") {
        uint64_t id;
        if (!values::parse_number(value, id, 0xffff))
            return r.error(*w, "CT: cannot parse \"" + w->text + "\" as a zone ID (0 to 65535, or mark)"),
                   Parsed::error;
        value = std::to_string(id);
    }
    if (n == "--helper" && value.size() > 15)
        return r.error(*w, "CT: helper name \"" + value + "\" is longer than 15 characters"), Parsed::error;
    if (n == "--timeout" && value.size() > 31)
        return r.error(*w, "CT: timeout policy name \"" + value + "\" is longer than 31 characters"),
               Parsed::error;
    t.args.push_back(std::string(n));
    t.args.push_back(value);
    return Parsed::ok;
}

bool finish_ct(ir::Target& target, const parser::Word&, Diagnostics&) {
    auto& t = std::get<ir::CtTarget>(target);
    // The zone: --zone-orig and --zone-reply say which direction's tuple it applies to; the last value given
    // wins; "--zone" with both directions or none.
    bool orig = false, reply = false;
    std::string zone;
    for (size_t i = 0; i + 1 < t.args.size(); i += 2) {
        if (t.args[i] == "--zone-orig") orig = true;
        if (t.args[i] == "--zone-reply") reply = true;
        if (t.args[i].rfind("--zone", 0) == 0) zone = t.args[i + 1];
    }
    std::vector<std::string> out;
    for (std::string_view option : {"--helper", "--timeout", "--ctevents", "--expevents"})
        if (const std::string* v = ct_arg(t, option); v && !v->empty())
            out.insert(out.end(), {std::string(option), *v});
    if (!zone.empty() && zone != "0")
        out.insert(out.end(), {orig == reply ? "--zone" : orig ? "--zone-orig" : "--zone-reply", zone});
    t.args = std::move(out);
    return true;
}

}  // namespace

const TargetModule reject_target{"REJECT", [] { return ir::Target{ir::RejectTarget{}}; }, parse_reject,
                                 finish_reject};
const TargetModule log_target{"LOG", [] { return ir::Target{ir::LogTarget{}}; }, parse_log, finish_log};
const TargetModule notrack_target{"NOTRACK", [] { return ir::Target{ir::NotrackTarget{}}; }, parse_notrack,
                                  finish_target_nothing};
const TargetModule ct_target{"CT", [] { return ir::Target{ir::CtTarget{}}; }, parse_ct, finish_ct};

bool check_target_context(const ir::Target& target, std::string_view table, const ir::ProtocolMatch* proto,
                          const parser::Word& target_word, Diagnostics& diags) {
    if (auto* reject = std::get_if<ir::RejectTarget>(&target); reject && reject->with == "tcp-reset") {
        if (!proto || proto->proto != 6 || proto->invert) {
            diags.error(target_word.loc, "REJECT --reject-with tcp-reset is only valid with -p tcp",
                        target_word.length);
            return false;
        }
    }
    bool raw_only =
        std::holds_alternative<ir::NotrackTarget>(target) || std::holds_alternative<ir::CtTarget>(target);
    if (raw_only && table != "raw") {
        diags.error(target_word.loc,
                    "the " + std::string(std::holds_alternative<ir::CtTarget>(target) ? "CT" : "NOTRACK") +
                        " target is only valid in the raw table, not in " + std::string(table),
                    target_word.length);
        return false;
    }
    return true;
}

}  // namespace bpftables::xt
