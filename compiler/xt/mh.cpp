// ip6tables -m mh [!] --mh-type TYPE[:TYPE]: the mobility header's type, by number or name (libip6t_mh's
// names and aliases, any prefix); needs -p mobility-header (or ipv6-mh, mh, 135).
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

struct MhName {
    std::string_view name;
    uint8_t type;
};

constexpr MhName mh_names[] = {{"binding-refresh-request", 0},
                               {"brr", 0},
                               {"home-test-init", 1},
                               {"hoti", 1},
                               {"careof-test-init", 2},
                               {"coti", 2},
                               {"home-test", 3},
                               {"hot", 3},
                               {"careof-test", 4},
                               {"cot", 4},
                               {"binding-update", 5},
                               {"bu", 5},
                               {"binding-acknowledgement", 6},
                               {"ba", 6},
                               {"binding-error", 7},
                               {"be", 7}};

// As libip6t_mh: the first name the word begins, unless a later one is exactly the word; else a number.
bool mh_type(std::string_view s, uint8_t& out) {
    const MhName* found = nullptr;
    for (const MhName& n : mh_names)
        if (values::starts_with_nocase(n.name, s) && (!found || n.name.size() == s.size())) found = &n;
    if (found) return out = found->type, true;
    uint32_t v;
    if (!values::parse_number(s, v, 0xff)) return false;
    out = static_cast<uint8_t>(v);
    return true;
}

Parsed parse_mh(ir::Match& match, OptionReader& r) {
    auto& m = std::get<ir::MhMatch>(match);
    if (r.name() != "--mh-type") return Parsed::not_mine;
    if (m != ir::MhMatch{}) return once_error(r, "mh");
    const parser::Word* w = r.arg();
    if (!w) return Parsed::error;
    std::string_view s = w->text;
    size_t colon = s.find(':');
    ir::MhMatch v;
    if (colon == std::string_view::npos) {
        if (!mh_type(s, v.lo)) return r.error(*w, "Invalid MH type `" + w->text + "'"), Parsed::error;
        v.hi = v.lo;
    } else {
        std::string_view lo = s.substr(0, colon), hi = s.substr(colon + 1);
        if ((!lo.empty() && !mh_type(lo, v.lo)) || (!hi.empty() && !mh_type(hi, v.hi)))
            return r.error(*w, "Invalid MH type `" + w->text + "'"), Parsed::error;
        if (v.lo > v.hi) return r.error(*w, "Invalid MH type range (min > max)"), Parsed::error;
    }
    v.invert = r.inverted();
    m = v;
    return Parsed::ok;
}

constexpr uint8_t mh_protocol[] = {135};

}  // namespace

const MatchModule mh_module{.name = "mh",
                            .make = [] { return ir::Match{ir::MhMatch{}}; },
                            .parse = parse_mh,
                            .finish = finish_nothing,
                            .protocols = mh_protocol,
                            .protocol_error = "the mh match requires -p mobility-header",
                            .families = Families::ipv6};

void print(const ir::MhMatch& m, std::string& out) {
    if (m.lo == 0 && m.hi == 0xff && !m.invert) return;
    negatable(m.invert, "--mh-type ", out);
    out += std::to_string(m.lo);
    if (m.hi != m.lo) out += ':' + std::to_string(m.hi);
}

}  // namespace bpftables::xt
