// -j CT and -j NOTRACK: their options, printing and the raw table they need.
//
// CT stores its --notrack flag and every other option as canonical text in the order iptables-save prints
// them (helper, timeout, events, zone). NOTRACK has no options.
#include <algorithm>

#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

Parsed parse_notrack(ir::Target&, OptionReader&) {
    return Parsed::not_mine;
}

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
    t.args.emplace_back(n);
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

// CT and NOTRACK act on the connection tracking that the raw table's hooks come before.
bool check_raw_table(const ir::Target& target, std::string_view table, const ir::ProtocolMatch*,
                     const parser::Word& target_word, Diagnostics& diags) {
    if (table == "raw") return true;
    diags.error(target_word.loc,
                "the " + std::string(std::holds_alternative<ir::CtTarget>(target) ? "CT" : "NOTRACK") +
                    " target is only valid in the raw table, not in " + std::string(table),
                target_word.length);
    return false;
}

}  // namespace

const TargetModule notrack_target{.name = "NOTRACK",
                                  .make = [] { return ir::Target{ir::NotrackTarget{}}; },
                                  .parse = parse_notrack,
                                  .finish = finish_nothing,
                                  .check = check_raw_table};
const TargetModule ct_target{.name = "CT",
                             .make = [] { return ir::Target{ir::CtTarget{}}; },
                             .parse = parse_ct,
                             .finish = finish_ct,
                             .check = check_raw_table};

void print(const ir::NotrackTarget&, std::string&) {}

void print(const ir::CtTarget& t, std::string& out) {
    if (t.notrack) out += " --notrack";
    for (const std::string& a : t.args) out += ' ' + quote_if_needed(a);
}

}  // namespace bpftables::xt
