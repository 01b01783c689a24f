#include "parser/iptables_parser.hpp"

#include <charconv>

#include "parser/iptables_grammar.hpp"

namespace bpftables::parser {
namespace {

namespace pegtl = tao::pegtl;

// What the actions of one line record.
struct LineState {
    std::string file;
    int line = 0;
    std::string first, second;  // table / chain name, policy
    int first_col = 0, second_col = 0;
    std::optional<Counters> counters;
    uint64_t packets = 0;
    std::vector<Word> words;

    SourceLoc at(int col) const { return {file, line, col}; }
};

std::string unquote(std::string_view raw) {
    std::string out;
    char quote = 0;
    for (size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        if (quote == '\'') {
            if (c == '\'')
                quote = 0;
            else
                out += c;
        } else if (c == '\\' && i + 1 < raw.size()) {
            out += raw[++i];
        } else if (quote == '"') {
            if (c == '"')
                quote = 0;
            else
                out += c;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else {
            out += c;
        }
    }
    return out;
}

uint64_t to_u64(std::string_view s) {
    uint64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

template <typename Rule>
struct action : pegtl::nothing<Rule> {};

template <>
struct action<grammar::table_name> {
    template <typename Input>
    static void apply(const Input& in, LineState& st) {
        st.first = in.string();
        st.first_col = static_cast<int>(in.position().column);
    }
};
template <>
struct action<grammar::chain_name> : action<grammar::table_name> {};
template <>
struct action<grammar::policy_name> {
    template <typename Input>
    static void apply(const Input& in, LineState& st) {
        st.second = in.string();
        st.second_col = static_cast<int>(in.position().column);
    }
};
template <>
struct action<grammar::packet_count> {
    template <typename Input>
    static void apply(const Input& in, LineState& st) {
        st.packets = to_u64(in.string_view());
    }
};
template <>
struct action<grammar::byte_count> {
    template <typename Input>
    static void apply(const Input& in, LineState& st) {
        st.counters = Counters{st.packets, to_u64(in.string_view())};
    }
};
template <>
struct action<grammar::word> {
    template <typename Input>
    static void apply(const Input& in, LineState& st) {
        int col = static_cast<int>(in.position().column);
        st.words.push_back({unquote(in.string_view()), st.at(col), static_cast<int>(in.size())});
    }
};

template <typename Rule>
bool parse_line(std::string_view text, LineState& st, Diagnostics& diags) {
    pegtl::memory_input<> in(text.data(), text.size(), st.file);
    try {
        if (pegtl::parse<Rule, action, grammar::control>(in, st)) return true;
        diags.error(st.at(1), "cannot parse this line");
    } catch (const pegtl::parse_error& e) {
        const auto& pos = e.positions().front();
        diags.error(st.at(static_cast<int>(pos.column)), std::string(e.message()));
    }
    return false;
}

}  // namespace

std::optional<Script> parse_iptables(const std::string& text, const std::string& file, Diagnostics& diags) {
    diags.add_source(file, text);
    Script script{file, {}};
    int errors_before = diags.error_count();
    size_t pos = 0;
    for (int lineno = 1; pos < text.size(); ++lineno) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string_view line(text.data() + pos, end - pos);
        pos = end + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

        size_t first = line.find_first_not_of(" \t");
        if (first == std::string_view::npos || line[first] == '#') continue;

        LineState st;
        st.file = file;
        st.line = lineno;
        SourceLoc loc{file, lineno, static_cast<int>(first) + 1};
        if (line[0] == '*') {
            if (parse_line<grammar::table_line>(line, st, diags))
                script.lines.emplace_back(TableHeader{st.first, loc});
        } else if (line[0] == ':') {
            if (parse_line<grammar::chain_line>(line, st, diags))
                script.lines.emplace_back(
                    ChainDecl{st.first, st.second, st.counters, loc, st.at(st.second_col)});
        } else if (line.substr(first).starts_with("COMMIT") &&
                   line.find_first_not_of(" \t", first + 6) == std::string_view::npos) {
            script.lines.emplace_back(Commit{loc});
        } else {
            if (parse_line<grammar::command_line>(line, st, diags))
                script.lines.emplace_back(Command{st.counters, std::move(st.words), loc});
        }
    }
    if (diags.error_count() > errors_before) return std::nullopt;
    return script;
}

}  // namespace bpftables::parser
