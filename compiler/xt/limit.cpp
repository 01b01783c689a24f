// -m limit --limit N[/second|/minute|/hour|/day] (any prefix of the unit), --limit-burst N: its options and
// printing.
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

constexpr uint32_t limit_scale = 10000;  // xt_rateinfo: the average is in 1/10000 s per packet

bool parse_rate(std::string_view s, uint32_t& out) {
    size_t slash = s.find('/');
    uint32_t mult = 1;
    if (slash != std::string_view::npos) {
        std::string_view unit = s.substr(slash + 1);
        auto is_prefix_of = [&](std::string_view word) {
            return !unit.empty() && values::starts_with_nocase(word, unit);
        };
        if (is_prefix_of("second"))
            mult = 1;
        else if (is_prefix_of("minute"))
            mult = 60;
        else if (is_prefix_of("hour"))
            mult = 60 * 60;
        else if (is_prefix_of("day"))
            mult = 24 * 60 * 60;
        else
            return false;
    }
    std::string_view num = s.substr(0, slash);
    uint32_t r;
    if (num.find_first_not_of("0123456789") != std::string_view::npos || !values::parse_u32(num, r) || r == 0)
        return false;
    out = limit_scale * mult / r;
    return out != 0;  // faster than the scale can express
}

Parsed parse_limit(ir::Match& match, OptionReader& r) {
    auto& m = std::get<ir::LimitMatch>(match);
    std::string_view n = r.name();
    if (n != "--limit" && n != "--limit-burst") return Parsed::not_mine;
    if (!not_inverted(r)) return Parsed::error;
    const parser::Word* w = r.arg();
    if (!w) return Parsed::error;
    if (n == "--limit") {
        if (!parse_rate(w->text, m.avg))
            return r.error(*w, "limit: bad rate \"" + w->text + "\" (N/sec, N/min, N/hour or N/day)"),
                   Parsed::error;
    } else if (!values::parse_number(w->text, m.burst, 10000) || m.burst == 0) {
        return r.error(*w, "limit: bad --limit-burst \"" + w->text + "\" (1 to 10000)"), Parsed::error;
    }
    return Parsed::ok;
}

bool finish_limit(ir::Match& match, const parser::Word& word, Diagnostics& diags) {
    const auto& m = std::get<ir::LimitMatch>(match);
    if (static_cast<uint64_t>(m.avg) * m.burst <= 0xffffffffu)
        return true;  // the kernel's credit overflow check
    diags.error(word.loc, "limit: rate and burst overflow, try a higher rate or a lower burst", word.length);
    return false;
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

}  // namespace

const MatchModule limit_module{.name = "limit",
                               .make = [] { return ir::Match{ir::LimitMatch{}}; },
                               .parse = parse_limit,
                               .finish = finish_limit};

void print(const ir::LimitMatch& m, std::string& out) {
    out += " --limit";
    rate(m.avg, out);
    if (m.burst != 5) out += " --limit-burst " + std::to_string(m.burst);
}

}  // namespace bpftables::xt
