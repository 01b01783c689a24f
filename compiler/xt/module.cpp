// The OptionReader and the shared helpers of module parsers (module.hpp).
#include "compiler/xt/module.hpp"

namespace bpftables::xt {

const parser::Word* OptionReader::arg() {
    if (next_ >= words_.size()) {
        error("option \"" + option_.text + "\" requires an argument");
        return nullptr;
    }
    return &words_[next_++];
}

bool OptionReader::has_arg() const {
    if (next_ >= words_.size()) return false;
    const std::string& t = words_[next_].text;
    return !(t == "!" || (t.size() > 1 && t[0] == '-' && !(t[1] >= '0' && t[1] <= '9')));
}

bool OptionReader::error(const parser::Word& at, const std::string& message) {
    diags_.error(at.loc, message, at.length);
    return false;
}

bool parse_port_range(OptionReader& r, const parser::Word& w, ir::PortRange& out, std::string_view proto) {
    std::string error;
    if (!values::parse_port_range(w.text, proto, out, error)) return r.error(w, error);
    return true;
}

bool parse_name_list(OptionReader& r, const parser::Word& w, std::span<const values::NamedBits> names,
                     std::string_view what, uint32_t& out) {
    std::string_view bad;
    if (values::parse_name_list(w.text, names, out, bad)) return true;
    return r.error(w, std::string(what) + " \"" + std::string(bad) + "\"");
}

Parsed once_error(OptionReader& r, std::string_view module) {
    r.error(std::string(module) + ": option \"" + std::string(r.name()) + "\" can only be used once");
    return Parsed::error;
}

Parsed not_invertible(OptionReader& r, std::string_view module) {
    r.error(std::string(module) + ": option \"" + std::string(r.name()) + "\" cannot be inverted");
    return Parsed::error;
}

bool not_inverted(OptionReader& r) {
    if (!r.inverted()) return true;
    return r.error("option \"" + std::string(r.name()) + "\" cannot be inverted");
}

bool parse_u32_option(OptionReader& r, const parser::Word& w, std::string_view module, uint32_t& out) {
    if (values::parse_number(w.text, out)) return true;
    return r.error(w, std::string(module) + ": bad value for option \"" + std::string(r.name()) + "\"");
}

bool parse_u32_range(OptionReader& r, const parser::Word& w, std::string_view module, ir::U32Range& out) {
    std::string_view s = w.text;
    size_t colon = s.find(':');
    std::string_view lo = s.substr(0, colon), hi = colon == std::string_view::npos ? lo : s.substr(colon + 1);
    ir::U32Range range;
    bool ok = (lo.empty() && colon != std::string_view::npos) || values::parse_number(lo, range.lo);
    ok = ok && ((hi.empty() && colon != std::string_view::npos) || values::parse_number(hi, range.hi));
    if (!ok || hi.find(':') != std::string_view::npos || range.lo > range.hi)
        return r.error(w, std::string(module) + ": bad value for option \"" + std::string(r.name()) + "\"");
    range.invert = r.inverted();
    out = range;
    return true;
}

void print_u32_range(const ir::U32Range& range, std::string_view option, std::string& out) {
    if (range.lo == 0 && range.hi == 0xffffffff && !range.invert) return;
    negatable(range.invert, option, out);
    out += ' ' + std::to_string(range.lo);
    if (range.hi != range.lo) out += ':' + std::to_string(range.hi);
}

bool finish_nothing(ir::Match&, const parser::Word&, Diagnostics&) {
    return true;
}

bool finish_nothing(ir::Target&, const parser::Word&, Diagnostics&) {
    return true;
}

}  // namespace bpftables::xt
