// nft JSON read into the nft AST (parser/nft_json.hpp): the entry points, where each JSON object starts
// (Positions) and the reader's helpers for JSON members. What the objects mean is read in
// nft_json_commands.cpp, nft_json_statements.cpp and nft_json_expressions.cpp.
#include "parser/nft_json.hpp"

#include <algorithm>
#include <unordered_map>

#include "parser/nft_json_reader.hpp"

namespace bpftables::parser {
namespace nft_json {

// Where each JSON object starts. nlohmann keeps no positions, so the text is scanned for the '{' that open
// objects (outside strings) and the parser's callback numbers the objects in the same order.
class Positions {
  public:
    explicit Positions(const std::string& text) {
        line_starts_.push_back(0);
        bool in_string = false;
        for (size_t i = 0; i < text.size(); ++i) {
            char c = text[i];
            if (c == '\n') line_starts_.push_back(i + 1);
            if (in_string) {
                if (c == '\\')
                    ++i;
                else if (c == '"')
                    in_string = false;
            } else if (c == '"') {
                in_string = true;
            } else if (c == '{') {
                opens_.push_back(i);
            }
        }
    }

    json::parser_callback_t callback() {
        return [this](int, json::parse_event_t event, json& parsed) {
            if (event == json::parse_event_t::object_start) {
                stack_.push_back(next_++);
            } else if (event == json::parse_event_t::object_end && !stack_.empty()) {
                size_t n = stack_.back();
                stack_.pop_back();
                if (const auto* o = parsed.get_ptr<const json::object_t*>(); o && n < opens_.size())
                    offsets_[o] = opens_[n];
            }
            return true;
        };
    }

    // Line and column (1-based) of a byte offset.
    std::pair<int, int> line_col(size_t offset) const {
        auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
        size_t line = static_cast<size_t>(it - line_starts_.begin());
        return {static_cast<int>(line), static_cast<int>(offset - line_starts_[line - 1] + 1)};
    }

    std::optional<size_t> offset(const json& j) const {
        const auto* o = j.get_ptr<const json::object_t*>();
        if (!o) return std::nullopt;
        auto it = offsets_.find(o);
        if (it == offsets_.end()) return std::nullopt;
        return it->second;
    }

  private:
    std::vector<size_t> line_starts_, opens_, stack_;
    size_t next_ = 0;
    std::unordered_map<const json::object_t*, size_t> offsets_;
};

std::string type_name(const json& j) {
    if (j.is_string()) return "a string";
    if (j.is_boolean()) return "a boolean";
    if (j.is_number()) return "a number";
    if (j.is_array()) return "an array";
    if (j.is_object()) return "an object";
    return "null";
}

SourceLoc Reader::loc(const json& j, const SourceLoc& fallback) const {
    std::optional<size_t> o = pos_.offset(j);
    if (!o) return fallback;
    auto [line, col] = pos_.line_col(*o);
    return {file_, line, col};
}

std::nullopt_t Reader::fail(const SourceLoc& l, const std::string& msg) {
    failed_ = true;
    diags_.error(l, msg);
    return std::nullopt;
}

// The value of an object of exactly one key ({"rule": {...}}), its key in KEY.
const json* Reader::single(const json& j, const SourceLoc& l, const std::string& what, std::string& key) {
    if (!j.is_object() || j.size() != 1) {
        fail(l, "expected " + what + ": an object of one key, not " +
                    (j.is_object() ? std::to_string(j.size()) + " keys" : type_name(j)));
        return nullptr;
    }
    key = j.begin().key();
    return &j.begin().value();
}

// A string member; REQUIRED members that are absent are an error, others give "".
std::optional<std::string> Reader::str(const json& obj, const char* key, const SourceLoc& l, bool required) {
    if (!obj.is_object() || !obj.contains(key)) {
        if (required) return fail(l, std::string("missing \"") + key + "\"");
        return std::string();
    }
    const json& v = obj[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return number(v);
    return fail(l, std::string("\"") + key + "\" must be a string, not " + type_name(v));
}

std::string Reader::number(const json& v) {
    return v.is_number_unsigned() ? std::to_string(v.get<uint64_t>()) : std::to_string(v.get<int64_t>());
}

// A string or an array of strings ("flags": "interval" or ["interval", "timeout"]); absent: none.
std::optional<std::vector<std::string>> Reader::strings(const json& obj, const char* key,
                                                        const SourceLoc& l) {
    std::vector<std::string> out;
    if (!obj.contains(key)) return out;
    const json& v = obj[key];
    if (v.is_string()) return std::vector<std::string>{v.get<std::string>()};
    if (v.is_array()) {
        for (const json& x : v) {
            if (!x.is_string())
                return fail(l, std::string("\"") + key + "\" must hold strings, not " + type_name(x));
            out.push_back(x.get<std::string>());
        }
        return out;
    }
    return fail(l, std::string("\"") + key + "\" must be a string or an array, not " + type_name(v));
}

std::string Reader::join(const std::vector<std::string>& v, const std::string& sep) {
    std::string out;
    for (const std::string& s : v) out += (out.empty() ? "" : sep) + s;
    return out;
}

Expr Reader::leaf(K kind, std::string text, const SourceLoc& l) {
    Expr e;
    e.kind = kind;
    e.text = std::move(text);
    e.loc = l;
    return e;
}

}  // namespace nft_json

using nft_json::json;
using nft_json::Positions;
using nft_json::Reader;

std::optional<nft::Script> parse_nft_json(const std::string& text, const std::string& file,
                                          Diagnostics& diags) {
    diags.add_source(file, text);
    Positions pos(text);
    try {
        json root = json::parse(text, pos.callback());
        return Reader(file, pos, diags).script(root);
    } catch (const json::parse_error& e) {
        std::string msg = e.what();
        if (size_t c = msg.find("column "); c != std::string::npos && msg.find(": ", c) != std::string::npos)
            msg = msg.substr(msg.find(": ", c) + 2);
        size_t offset = e.byte == 0 ? 0 : std::min<size_t>(e.byte - 1, text.size());
        auto [line, col] = pos.line_col(offset);
        diags.error({file, line, col}, "bad JSON: " + msg);
    } catch (const json::exception& e) {  // a type error the reader did not check first: a bug, reported
        diags.error({file, 1, 1}, std::string("bad nftables JSON: ") + e.what());
    }
    return std::nullopt;
}

bool looks_like_nft_json(const std::string& text) {
    size_t b = text.find_first_not_of(" \t\r\n");
    return b != std::string::npos && text[b] == '{' && text.find("\"nftables\"") != std::string::npos;
}

}  // namespace bpftables::parser
