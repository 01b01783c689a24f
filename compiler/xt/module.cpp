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

bool finish_nothing(ir::Match&, const parser::Word&, Diagnostics&) {
    return true;
}

bool finish_nothing(ir::Target&, const parser::Word&, Diagnostics&) {
    return true;
}

}  // namespace bpftables::xt
