// ip6tables -m hbh and -m dst: the hop-by-hop and destination options headers, which share their options
// (--hbh-len / --dst-len, --hbh-opts / --dst-opts TYPE[:LEN],...) and their reading.
#include <cerrno>
#include <climits>
#include <cstdlib>

#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

constexpr size_t max_opts = 16;  // IP6T_OPTS_OPTSNR

// One number of an option list as libip6t_hbh/dst read it: strtoul base 0 (so a sign and leading blanks pass,
// and "-1" wraps), the whole word, truncated to 8 bits by the caller.
bool opts_number(const std::string& s, unsigned long& out) {
    char* end = nullptr;
    errno = 0;
    out = std::strtoul(s.c_str(), &end, 0);
    return end != s.c_str() && *end == '\0' && !(out == ULONG_MAX && errno == ERANGE);
}

bool parse_opts(OptionReader& r, const parser::Word& w, std::string_view module, std::vector<uint16_t>& out) {
    std::string_view s = w.text;
    out.clear();
    while (true) {
        if (out.size() == max_opts) return r.error(w, std::string(module) + ": too many options specified");
        size_t comma = s.find(',');
        std::string item(s.substr(0, comma));
        size_t colon = item.find(':');
        unsigned long type, len = 0xff;
        if (!opts_number(item.substr(0, colon), type))
            return r.error(w, std::string(module) + ": bad option type `" + item.substr(0, colon) + "'");
        uint16_t opt = static_cast<uint16_t>((type & 0xff) << 8);
        if (colon != std::string::npos) {
            if (out.size() == max_opts - 1)
                return r.error(w, std::string(module) + ": too many options specified");
            if (opt == 0) return r.error(w, std::string(module) + ": PAD0 has not got length");
            if (!opts_number(item.substr(colon + 1), len))
                return r.error(w,
                               std::string(module) + ": bad option length `" + item.substr(colon + 1) + "'");
        }
        out.push_back(static_cast<uint16_t>(opt | (len & 0xff)));
        if (comma == std::string_view::npos) return true;
        s.remove_prefix(comma + 1);
    }
}

template <class T>
Parsed parse_ip6_opts(ir::Match& match, OptionReader& r, std::string_view module) {
    ir::Ip6Opts& o = std::get<T>(match).opts;
    std::string_view n = r.name();
    std::string prefix = "--" + std::string(module) + "-";
    if (n == prefix + "len") {
        if (o.len) return once_error(r, module);
        const parser::Word* w = r.arg();
        uint32_t v;
        if (!w || !parse_u32_option(r, *w, module, v)) return Parsed::error;
        o.len = ir::Negatable<uint32_t>{v, r.inverted()};
        return Parsed::ok;
    }
    if (n == prefix + "opts") {
        if (r.inverted()) return not_invertible(r, module);
        if (o.opts) return once_error(r, module);
        const parser::Word* w = r.arg();
        std::vector<uint16_t> opts;
        if (!w || !parse_opts(r, *w, module, opts)) return Parsed::error;
        o.opts = std::move(opts);
        return Parsed::ok;
    }
    return Parsed::not_mine;
}

void print_ip6_opts(const ir::Ip6Opts& o, std::string_view module, std::string& out) {
    if (o.len) {
        negatable(o.len->invert, "--" + std::string(module) + "-len ", out);
        out += std::to_string(o.len->value);
    }
    if (!o.opts) return;
    out += " --" + std::string(module) + "-opts";
    for (size_t i = 0; i < o.opts->size(); ++i) {
        uint16_t opt = (*o.opts)[i];
        out += (i == 0 ? ' ' : ',') + std::to_string(opt >> 8);
        if ((opt & 0xff) != 0xff) out += ':' + std::to_string(opt & 0xff);
    }
}

}  // namespace

const MatchModule hbh_module{
    .name = "hbh",
    .make = [] { return ir::Match{ir::HbhMatch{}}; },
    .parse = [](ir::Match& m, OptionReader& r) { return parse_ip6_opts<ir::HbhMatch>(m, r, "hbh"); },
    .finish = finish_nothing,
    .families = Families::ipv6};

const MatchModule dst_module{
    .name = "dst",
    .make = [] { return ir::Match{ir::DstMatch{}}; },
    .parse = [](ir::Match& m, OptionReader& r) { return parse_ip6_opts<ir::DstMatch>(m, r, "dst"); },
    .finish = finish_nothing,
    .families = Families::ipv6};

void print(const ir::HbhMatch& m, std::string& out) {
    print_ip6_opts(m.opts, "hbh", out);
}

void print(const ir::DstMatch& m, std::string& out) {
    print_ip6_opts(m.opts, "dst", out);
}

}  // namespace bpftables::xt
