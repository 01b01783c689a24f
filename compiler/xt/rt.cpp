// ip6tables -m rt: the routing header's type, segments left, length, and for type 0 its reserved field and
// address list (--rt-0-res, --rt-0-addrs, --rt-0-not-strict, each after what it needs, as ip6tables checks).
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

constexpr size_t max_addrs = 16;  // IP6T_RT_HOPS

Parsed parse_rt(ir::Match& match, OptionReader& r) {
    auto& m = std::get<ir::RtMatch>(match);
    std::string_view n = r.name();
    auto number = [&](std::optional<ir::Negatable<uint32_t>>& slot) {
        if (slot) return once_error(r, "rt");
        const parser::Word* w = r.arg();
        uint32_t v;
        if (!w || !parse_u32_option(r, *w, "rt", v)) return Parsed::error;
        slot = ir::Negatable<uint32_t>{v, r.inverted()};
        return Parsed::ok;
    };
    if (n == "--rt-type") return number(m.type);
    if (n == "--rt-len") return number(m.len);
    if (n == "--rt-segsleft") {
        if (m.segsleft != ir::U32Range{}) return once_error(r, "rt");
        const parser::Word* w = r.arg();
        if (!w || !parse_u32_range(r, *w, "rt", m.segsleft)) return Parsed::error;
        return Parsed::ok;
    }
    bool type0 = m.type && m.type->value == 0 && !m.type->invert;
    if (n == "--rt-0-res") {
        if (r.inverted()) return not_invertible(r, "rt");
        if (m.res) return once_error(r, "rt");
        if (!type0) return r.error("`--rt-type 0' required before `--rt-0-res'"), Parsed::error;
        m.res = true;
        return Parsed::ok;
    }
    if (n == "--rt-0-addrs") {
        if (r.inverted()) return not_invertible(r, "rt");
        if (m.addrs) return once_error(r, "rt");
        if (!type0) return r.error("`--rt-type 0' required before `--rt-0-addrs'"), Parsed::error;
        const parser::Word* w = r.arg();
        if (!w) return Parsed::error;
        std::vector<ir::Ipv6Addr> addrs;
        std::string_view s = w->text;
        while (true) {
            if (addrs.size() == max_addrs) return r.error(*w, "too many addresses specified"), Parsed::error;
            size_t comma = s.find(',');
            ir::Ipv6Addr a;
            if (!values::parse_ipv6(s.substr(0, comma), a))
                return r.error(*w, "bad address: " + std::string(s.substr(0, comma))), Parsed::error;
            addrs.push_back(a);
            if (comma == std::string_view::npos) break;
            s.remove_prefix(comma + 1);
        }
        m.addrs = std::move(addrs);
        return Parsed::ok;
    }
    if (n == "--rt-0-not-strict") {
        if (r.inverted()) return not_invertible(r, "rt");
        if (m.not_strict) return once_error(r, "rt");
        if (!m.addrs) return r.error("`--rt-0-addr ...' required before `--rt-0-not-strict'"), Parsed::error;
        m.not_strict = true;
        return Parsed::ok;
    }
    return Parsed::not_mine;
}

}  // namespace

const MatchModule rt_module{.name = "rt",
                            .make = [] { return ir::Match{ir::RtMatch{}}; },
                            .parse = parse_rt,
                            .finish = finish_nothing,
                            .families = Families::ipv6};

void print(const ir::RtMatch& m, std::string& out) {
    if (m.type) {
        negatable(m.type->invert, "--rt-type ", out);
        out += std::to_string(m.type->value);
    }
    print_u32_range(m.segsleft, "--rt-segsleft", out);
    if (m.len) {
        negatable(m.len->invert, "--rt-len ", out);
        out += std::to_string(m.len->value);
    }
    if (m.res) out += " --rt-0-res";
    if (m.addrs) {
        out += " --rt-0-addrs";
        for (size_t i = 0; i < m.addrs->size(); ++i)
            out += (i ? ',' : ' ') + values::format_ipv6((*m.addrs)[i]);
    }
    if (m.not_strict) out += " --rt-0-not-strict";
}

}  // namespace bpftables::xt
