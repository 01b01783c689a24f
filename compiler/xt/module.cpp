#include "compiler/xt/module.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <charconv>

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

bool parse_u32(std::string_view s, uint32_t& out, uint32_t max) {
    if (s.empty()) return false;
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2), base = 16;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (ec != std::errc() || p != s.data() + s.size() || v > max) return false;
    out = static_cast<uint32_t>(v);
    return true;
}

void print_port_range(const ir::PortRange& r, std::string& out, char sep) {
    out += std::to_string(r.lo);
    if (r.lo != r.hi) out += sep + std::to_string(r.hi);
}

}  // namespace bpftables::xt
