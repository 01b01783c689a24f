#include "compiler/xt/numbers.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <strings.h>

#include <charconv>
#include <string>

namespace bpftables::xt {

bool parse_number(std::string_view s, uint64_t& out, uint64_t max) {
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s.remove_prefix(2), base = 16;
    else if (s.size() > 1 && s[0] == '0')
        s.remove_prefix(1), base = 8;
    if (s.empty()) return false;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (ec != std::errc() || p != s.data() + s.size() || v > max) return false;
    out = v;
    return true;
}

bool parse_port_number(std::string_view s, std::string_view proto, uint16_t& out) {
    if (s.empty()) return false;
    // A number first, as xtables_parse_port: a service name lookup reads /etc/services.
    if (uint64_t v; parse_number(s, v, 0xffff)) {
        out = static_cast<uint16_t>(v);
        return true;
    }
    std::string name(s), p(proto);
    if (const servent* se = getservbyname(name.c_str(), p.empty() ? nullptr : p.c_str())) {
        out = ntohs(static_cast<uint16_t>(se->s_port));
        return true;
    }
    return false;
}

bool parse_ordered_port_range(OptionReader& r, const parser::Word& w, ir::PortRange& out,
                              std::string_view proto) {
    std::string_view s = w.text;
    size_t colon = s.find(':');
    std::string_view lo = s.substr(0, colon);
    std::string_view hi = colon == std::string_view::npos ? lo : s.substr(colon + 1);
    ir::PortRange range{0, 0xffff};
    if ((colon == std::string_view::npos || !lo.empty()) && !parse_port_number(lo, proto, range.lo))
        return r.error(w, "invalid port/service \"" + std::string(lo) + "\" specified");
    if ((colon == std::string_view::npos || !hi.empty()) && !parse_port_number(hi, proto, range.hi))
        return r.error(w, "invalid port/service \"" + std::string(hi) + "\" specified");
    if (range.lo > range.hi)
        return r.error(w, "invalid port range \"" + w.text + "\": the first port is greater than the second");
    out = range;
    return true;
}

bool parse_name_list(OptionReader& r, const parser::Word& w, const NamedBits* names, size_t count,
                     std::string_view what, uint32_t& out) {
    out = 0;
    std::string_view s = w.text;
    while (true) {
        size_t comma = s.find(',');
        std::string_view item = s.substr(0, comma);
        const NamedBits* found = nullptr;
        for (size_t i = 0; i < count && !found; ++i)
            if (!item.empty() && item.size() == names[i].name.size() &&
                strncasecmp(item.data(), names[i].name.data(), item.size()) == 0)
                found = &names[i];
        if (!found) return r.error(w, std::string(what) + " \"" + std::string(item) + "\"");
        out |= found->bits;
        if (comma == std::string_view::npos) return true;
        s.remove_prefix(comma + 1);
    }
}

}  // namespace bpftables::xt
