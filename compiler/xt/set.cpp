// -m set: membership of the packet's addresses/ports in an ipset, and the set entry's counters.
//
// --match-set NAME FLAGS, where FLAGS is a comma list of up to six "src"/"dst" (one per dimension of the set
// type); --set is the deprecated spelling. Counter conditions are kept as canonical text ("--packets-gt 5"),
// packets before bytes.
#include <algorithm>
#include <cstdint>

#include "compiler/xt/module.hpp"
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

constexpr size_t max_set_name = 31;  // IPSET_MAXNAMELEN - 1
constexpr size_t max_dims = 6;       // IPSET_DIM_MAX

bool parse_set_flags(OptionReader& r, const parser::Word& w, std::vector<ir::Dir>& out) {
    std::string_view s = w.text;
    out.clear();
    while (true) {
        size_t comma = s.find(',');
        std::string_view item = s.substr(0, comma);
        if (item != "src" && item != "dst")
            return r.error(
                w, "set: flags must be a comma-separated list of 'src' and 'dst', not \"" + w.text + "\"");
        if (out.size() == max_dims) return r.error(w, "set: at most 6 src/dst flags are allowed");
        out.push_back(item == "src" ? ir::Dir::src : ir::Dir::dst);
        if (comma == std::string_view::npos) return true;
        s.remove_prefix(comma + 1);
    }
}

bool has_condition(const ir::SetMatch& m, std::string_view family) {  // family: "--packets-" or "--bytes-"
    for (const std::string& c : m.counter_conditions) {
        std::string_view v = c;
        if (v.substr(0, 2) == "! ") v.remove_prefix(2);
        if (v.substr(0, family.size()) == family) return true;
    }
    return false;
}

Parsed parse_set(ir::Match& match, OptionReader& r) {
    auto& m = std::get<ir::SetMatch>(match);
    std::string_view n = r.name();
    if (n == "--match-set" || n == "--set") {
        if (n == "--set")
            r.diags().warning(r.option().loc, "set: --set is deprecated, use --match-set", r.option().length);
        if (!m.name.empty()) return r.error("set: --match-set can be given only once"), Parsed::error;
        const parser::Word* name = r.arg();
        if (!name) return Parsed::error;
        if (name->text.empty() || name->text.size() > max_set_name)
            return r.error(*name, "set: set name \"" + name->text + "\" must have 1 to 31 characters"),
                   Parsed::error;
        if (!r.has_arg())
            return r.error("set: --match-set requires two args: NAME src|dst[,...]"), Parsed::error;
        const parser::Word* flags = r.arg();
        if (!flags || !parse_set_flags(r, *flags, m.flags)) return Parsed::error;
        m.name = name->text;
        m.invert = r.inverted();
        return Parsed::ok;
    }
    if (n == "--return-nomatch") {
        if (r.inverted()) return r.error("set: --return-nomatch cannot be inverted"), Parsed::error;
        m.return_nomatch = true;
        return Parsed::ok;
    }
    if (n == "--update-counters" || n == "--update-subcounters") {
        (n == "--update-counters" ? m.update_counters : m.update_subcounters) = !r.inverted();
        return Parsed::ok;
    }
    for (std::string_view family : {"--packets-", "--bytes-"}) {
        if (n.substr(0, family.size()) != family) continue;
        std::string_view op = n.substr(family.size());
        if (op != "eq" && op != "lt" && op != "gt") return Parsed::not_mine;
        if (r.inverted() && op != "eq")
            return r.error("set: " + std::string(n) + " cannot be inverted"), Parsed::error;
        std::string family_name(family.substr(2, family.size() - 3));
        if (has_condition(m, family))
            return r.error("set: only one of --" + family_name + "-[eq|lt|gt] is allowed"), Parsed::error;
        const parser::Word* w = r.arg();
        uint64_t v;
        if (!w) return Parsed::error;
        if (!values::parse_number(w->text, v, UINT64_MAX))
            return r.error(*w, "set: cannot parse \"" + w->text + "\" as a counter value"), Parsed::error;
        m.counter_conditions.push_back((r.inverted() ? "! " : "") + std::string(n) + ' ' + std::to_string(v));
        return Parsed::ok;
    }
    return Parsed::not_mine;
}

bool finish_set(ir::Match& match, const parser::Word& module_word, Diagnostics& diags) {
    auto& m = std::get<ir::SetMatch>(match);
    if (m.name.empty()) {
        diags.error(module_word.loc, "set: --match-set NAME src|dst[,...] is required", module_word.length);
        return false;
    }
    std::stable_partition(m.counter_conditions.begin(), m.counter_conditions.end(),
                          [](const std::string& c) { return c.find("--packets-") != std::string::npos; });
    return true;
}

}  // namespace

const MatchModule set_module{"set", [] { return ir::Match{ir::SetMatch{}}; }, parse_set, finish_set};

}  // namespace bpftables::xt
