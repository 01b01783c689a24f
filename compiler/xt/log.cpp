// -j LOG: its options (level, prefix and flags) and printing.
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

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

}  // namespace

const TargetModule log_target{.name = "LOG",
                              .make = [] { return ir::Target{ir::LogTarget{}}; },
                              .parse = parse_log,
                              .finish = finish_log};

void print(const ir::LogTarget& t, std::string& out) {
    if (!t.prefix.empty()) out += " --log-prefix " + save_string(t.prefix);
    if (t.level != 4) out += " --log-level " + std::to_string(t.level);
    for (const LogFlag& f : log_flags)
        if (t.flags & f.bit) out += ' ' + std::string(f.option);
}

}  // namespace bpftables::xt
