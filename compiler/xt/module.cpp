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

std::string quote_if_needed(std::string_view s) {
    bool needs = s.empty() || s.find_first_of(" \t\"'\\") != std::string_view::npos;
    if (!needs) return std::string(s);
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + '"';
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

}  // namespace bpftables::xt
