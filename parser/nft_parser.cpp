#include "parser/nft_parser.hpp"

#include <glob.h>

#include <cctype>
#include <stdexcept>

#include <tao/pegtl/contrib/parse_tree.hpp>

#include "parser/nft_grammar.hpp"

namespace bpftables::parser {
namespace {

namespace pegtl = tao::pegtl;
namespace g = nft_grammar;
using nft::Expr;
using nft::Statement;
using Node = pegtl::parse_tree::node;

// The rules the parse tree keeps; every other rule only shapes the text.
template <typename Rule>
using selector = pegtl::parse_tree::selector<
    Rule,
    pegtl::parse_tree::store_content::on<
        // commands
        g::verb, g::table_cmd, g::chain_cmd, g::rule_cmd, g::set_cmd, g::element_cmd, g::ruleset_cmd,
        g::object_cmd, g::define_cmd, g::include_cmd, g::family, g::table_name, g::chain_name, g::set_name,
        g::object_name, g::object_kind, g::define_name, g::define_value, g::include_path,
        // blocks
        g::chain_block, g::set_block, g::object_block, g::set_kind, g::hook_spec, g::chain_type, g::hook_name,
        g::device_spec, g::priority_value, g::policy_spec, g::policy_value, g::set_type, g::set_typeof,
        g::type_name, g::data_type, g::typeof_key, g::typeof_data, g::set_flag, g::elements_body, g::set_attr,
        // rules and statements
        g::rule, g::verdict, g::verdict_name, g::jump_name, g::chain_ref, g::counter_stmt, g::counter_value,
        g::counter_packets, g::counter_bytes, g::name, g::comment_stmt, g::comment_text, g::log_stmt,
        g::log_option, g::log_option_value, g::reject_stmt, g::reject_kind, g::reject_code, g::other_stmt,
        g::other_keyword, g::other_arg, g::other_expr_arg, g::other_to, g::match_stmt, g::lhs, g::vmap_tail,
        g::set_tail, g::set_value, g::set_list, g::relation_tail, g::relop, g::rhs, g::rhs_mask,
        g::reset_stmt, g::other_slash, g::quoted_range,
        // expressions
        g::quoted, g::variable, g::set_ref, g::word, g::selector, g::anon_set, g::flat_set, g::set_elem,
        g::elem_key, g::elem_value, g::paren, g::concat, g::binop_expr, g::binop, g::expr, g::value_concat,
        g::value_binop, g::value_list, g::mask_list>>;

int first_line_length(std::string_view s) {
    size_t nl = s.find('\n');
    return static_cast<int>(nl == std::string_view::npos ? s.size() : nl);
}

std::string unquote(std::string_view s) {
    if (s.size() < 2 || s.front() != '"') return std::string(s);
    std::string out;
    for (size_t i = 1; i + 1 < s.size(); ++i) {
        if (s[i] == '\\' && i + 2 == s.size() - 1 && s[i + 1] == '*') {
            out += "\\*";  // kept: a final "\*" is a literal star, a final "*" a wildcard
            break;
        }
        if (s[i] == '\\' && i + 2 < s.size()) ++i;
        out += s[i];
    }
    return out;
}

std::string words(std::string_view s) {  // whitespace (and continuations) collapsed to one blank
    std::string out;
    bool blank = false;
    for (char c : s) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\\') {
            blank = true;
            continue;
        }
        if (blank && !out.empty()) out += ' ';
        blank = false;
        out += c;
    }
    return out;
}

// ---- a flat element list (nft_grammar.hpp: flat_set), read by actions into the Exprs the parse tree of
// set_elems would give

struct FlatElements {
    const std::string& file;
    std::vector<Expr>& out;
    std::vector<Expr> parts;  // the words and strings of the key (or value) being read
    Expr key, value, chain;
    bool has_value = false, has_chain = false;

    template <typename Input>
    Expr leaf(const Input& in, Expr::Kind kind, std::string text) const {
        Expr e;
        e.kind = kind;
        e.text = std::move(text);
        auto p = in.position();
        e.loc = {file, static_cast<int>(p.line), static_cast<int>(p.column)};
        e.length = first_line_length(in.string_view());
        return e;
    }

    template <typename Input>
    Expr joined(const Input& in) {  // one part, or their concatenation
        Expr e;
        if (parts.size() == 1) {
            e = std::move(parts.front());
        } else {
            e = leaf(in, Expr::Kind::concat, ".");
            e.args = std::move(parts);
        }
        parts.clear();
        return e;
    }
};

template <typename Rule>
struct flat_action : pegtl::nothing<Rule> {};
template <>
struct flat_action<g::flat_word> {
    template <typename Input>
    static void apply(const Input& in, FlatElements& s) {
        s.parts.push_back(s.leaf(in, Expr::Kind::value, in.string()));
    }
};
template <>
struct flat_action<g::flat_quoted> {
    template <typename Input>
    static void apply(const Input& in, FlatElements& s) {
        s.parts.push_back(s.leaf(in, Expr::Kind::string, unquote(in.string_view())));
    }
};
template <>
struct flat_action<g::flat_key> {
    template <typename Input>
    static void apply(const Input& in, FlatElements& s) {
        s.key = s.joined(in);
    }
};
template <>
struct flat_action<g::flat_options> {
    template <typename Input>
    static void apply(const Input& in, FlatElements& s) {
        s.key.elem_options = words(in.string_view());
    }
};
template <>
struct flat_action<g::flat_value_key> {
    template <typename Input>
    static void apply(const Input& in, FlatElements& s) {
        s.value = s.joined(in);
        s.has_value = true;
    }
};
template <>
struct flat_action<g::flat_chain> {
    template <typename Input>
    static void apply(const Input& in, FlatElements& s) {
        s.chain = s.leaf(in, Expr::Kind::string, unquote(in.string_view()));
        s.has_chain = true;
    }
};
template <>
struct flat_action<g::flat_verdict> {
    template <typename Input>
    static void apply(const Input& in, FlatElements& s) {
        std::string_view text = in.string_view();
        s.value = s.leaf(in, Expr::Kind::verdict, std::string(text.substr(0, text.find_first_of(" \t\\"))));
        if (s.has_chain) s.value.args.push_back(std::move(s.chain));
        s.has_chain = false;
        s.has_value = true;
    }
};
template <>
struct flat_action<g::flat_elem> {
    template <typename Input>
    static void apply(const Input& in, FlatElements& s) {
        if (!s.has_value) {
            s.out.push_back(std::move(s.key));
            return;
        }
        Expr e = s.leaf(in, Expr::Kind::mapping, ":");
        e.args.push_back(std::move(s.key));
        e.args.push_back(std::move(s.value));
        s.out.push_back(std::move(e));
        s.has_value = false;
    }
};

class Converter {
  public:
    explicit Converter(std::string file) : file_(std::move(file)) {}

    SourceLoc loc(const Node& n) const {
        auto p = n.begin();
        return {file_, static_cast<int>(p.line), static_cast<int>(p.column)};
    }

    static int length(const Node& n) { return first_line_length(n.string_view()); }

    // The elements of a flat list (g::flat_set), read again with the actions above from its position.
    std::vector<Expr> flat_elements(const Node& n) const {
        std::vector<Expr> out;
        std::string_view text = n.string_view();
        auto p = n.begin();
        pegtl::memory_input<> in(text.data(), text.data() + text.size(), file_, p.byte, p.line, p.column);
        FlatElements state{file_, out, {}, {}, {}, {}};
        if (!pegtl::parse<g::flat_set, flat_action>(in, state))
            throw std::logic_error("a flat element list does not parse again");
        return out;
    }

    static const Node* child(const Node& n, size_t i = 0) {
        return i < n.children.size() ? n.children[i].get() : nullptr;
    }

    template <typename Rule>
    static const Node* find(const Node& n) {
        for (const auto& c : n.children)
            if (c->is_type<Rule>()) return c.get();
        return nullptr;
    }

    static std::string name_of(const Node* n) { return n ? unquote(n->string_view()) : std::string(); }

    Expr leaf(const Node& n, Expr::Kind kind, std::string text) const {
        Expr e;
        e.kind = kind;
        e.text = std::move(text);
        e.loc = loc(n);
        e.length = length(n);
        return e;
    }

    Expr expr(const Node& n) const {
        using K = Expr::Kind;
        if (n.is_type<g::quoted>()) return leaf(n, K::string, unquote(n.string_view()));
        if (n.is_type<g::variable>()) return leaf(n, K::variable, n.string().substr(1));
        if (n.is_type<g::set_ref>()) return leaf(n, K::set_ref, n.string().substr(1));
        if (n.is_type<g::word>()) return leaf(n, K::value, n.string());
        if (n.is_type<g::selector>()) return leaf(n, K::selector, words(n.string_view()));
        if (n.is_type<g::verdict>()) {
            Expr e = leaf(n, K::verdict, n.children.empty() ? n.string() : child(n)->string());
            if (const Node* c = find<g::chain_ref>(n)) e.args.push_back(leaf(*c, K::string, name_of(c)));
            return e;
        }
        if (n.is_type<g::anon_set>() || n.is_type<g::elements_body>()) {
            const Node& set =
                child(n) && child(n)->is_type<g::anon_set>() ? *child(n) : n;  // elements_body is an anon_set
            Expr e = leaf(n, K::set, "");
            if (const Node* flat = find<g::flat_set>(set)) {
                e.args = flat_elements(*flat);
                return e;
            }
            for (const auto& c : set.children) e.args.push_back(expr(*c));
            return e;
        }
        if (n.is_type<g::set_elem>()) {
            Expr key = expr(*child(n));
            if (n.children.size() < 2) return key;
            Expr e = leaf(n, K::mapping, ":");
            e.args.push_back(std::move(key));
            e.args.push_back(expr(*child(n, 1)));
            return e;
        }
        if (n.is_type<g::elem_key>()) {  // the key, then its options as written
            Expr key = expr(*child(n));
            std::string_view all = n.string_view(), k = child(n)->string_view();
            key.elem_options = words(all.substr(k.data() + k.size() - all.data()));
            return key;
        }
        if (n.is_type<g::paren>()) return expr(*child(n));
        if (n.is_type<g::lhs>())
            return expr(*n.children.back());  // the first child is the at<selector> look-ahead
        if (n.is_type<g::concat>() || n.is_type<g::value_concat>() || n.is_type<g::typeof_key>() ||
            n.is_type<g::value_list>() || n.is_type<g::mask_list>() || n.is_type<g::set_list>()) {
            if (n.children.size() == 1) return expr(*child(n));
            bool is_list =
                n.is_type<g::value_list>() || n.is_type<g::mask_list>() || n.is_type<g::set_list>();
            Expr e = leaf(n, is_list ? K::list : K::concat, is_list ? "," : ".");
            for (const auto& c : n.children) e.args.push_back(expr(*c));
            return e;
        }
        if (n.is_type<g::binop_expr>() || n.is_type<g::value_binop>()) {
            Expr e = expr(*child(n));
            for (size_t i = 1; i + 1 < n.children.size(); i += 2) {
                Expr b = leaf(*child(n, i), K::binop, binop_symbol(child(n, i)->string()));
                b.loc = e.loc;
                b.args.push_back(std::move(e));
                b.args.push_back(expr(*child(n, i + 1)));
                e = std::move(b);
            }
            return e;
        }
        if (n.is_type<g::expr>() || n.is_type<g::set_value>() || n.is_type<g::elem_value>() ||
            n.is_type<g::define_value>() || n.is_type<g::typeof_data>() || n.is_type<g::other_expr_arg>()) {
            if (n.children.size() == 1) return expr(*child(n));
            if (n.children.empty()) return leaf(n, K::value, n.string());  // typeof_data "verdict"
            Expr e = leaf(n, K::map, "map");
            e.args.push_back(expr(*child(n)));
            e.args.push_back(expr(*child(n, 1)));
            return e;
        }
        if (n.is_type<g::other_arg>() && n.children.size() == 1) return expr(*child(n));
        return leaf(n, K::value, n.string());
    }

    static std::string binop_symbol(const std::string& s) {
        if (s == "and") return "&";
        if (s == "or") return "|";
        if (s == "xor") return "^";
        if (s == "lshift") return "<<";
        if (s == "rshift") return ">>";
        return s;
    }

    Statement statement(const Node& n) const {
        Statement s;
        s.loc = loc(n);
        s.length = length(n);
        std::string_view text = n.string_view();
        s.keyword = std::string(text.substr(0, text.find_first_of(" \t")));
        if (n.is_type<g::verdict>()) {
            s.kind = Statement::Kind::verdict;
            s.keyword = child(n)->string();
            if (const Node* c = find<g::chain_ref>(n))
                s.args.push_back(leaf(*c, Expr::Kind::string, name_of(c)));
        } else if (n.is_type<g::counter_stmt>()) {
            s.kind = Statement::Kind::counter;  // args: packets, bytes; or the name
            if (const Node* p = find<g::counter_packets>(n)) {
                s.args.push_back(leaf(*child(*p), Expr::Kind::value, child(*p)->string()));
                const Node* b = find<g::counter_bytes>(n);
                s.args.push_back(leaf(*child(*b), Expr::Kind::value, child(*b)->string()));
            } else if (!n.children.empty()) {
                s.args.push_back(leaf(*child(n), Expr::Kind::value, name_of(child(n))));
            }
        } else if (n.is_type<g::comment_stmt>()) {
            s.kind = Statement::Kind::comment;
            s.args.push_back(leaf(*child(n), Expr::Kind::string, name_of(child(n))));
        } else if (n.is_type<g::log_stmt>()) {
            s.kind = Statement::Kind::log;
            for (const auto& o : n.children) {
                std::string_view ot = o->string_view();
                s.args.push_back(
                    leaf(*o, Expr::Kind::value, std::string(ot.substr(0, ot.find_first_of(" \t")))));
                if (const Node* v = find<g::log_option_value>(*o))
                    s.args.push_back(leaf(*v, Expr::Kind::string, name_of(v)));
            }
        } else if (n.is_type<g::reject_stmt>()) {
            s.kind = Statement::Kind::reject;
            for (const auto& c : n.children)
                s.args.push_back(leaf(*c, Expr::Kind::value, words(c->string_view())));
        } else if (n.is_type<g::reset_stmt>()) {  // reset tcp option KIND
            s.kind = Statement::Kind::other;
            s.keyword = "reset";
            s.args.push_back(expr(*child(n)));
        } else if (n.is_type<g::other_stmt>()) {
            s.kind = Statement::Kind::other;
            s.keyword = child(n)->string();
            for (size_t i = 1; i < n.children.size(); ++i) {
                const Node& a = *child(n, i);
                if (a.is_type<g::other_to>()) {  // "to" then its expression
                    s.args.push_back(leaf(a, Expr::Kind::value, "to"));
                    s.args.push_back(expr(*child(a)));
                } else {
                    s.args.push_back(expr(a));
                }
            }
        } else {  // match_stmt: lhs then a tail
            s.lhs = expr(*child(n));
            const Node& tail = *child(n, 1);
            if (tail.is_type<g::vmap_tail>()) {
                s.kind = Statement::Kind::vmap;
                s.keyword = "vmap";
                s.rhs = expr(*child(tail));
            } else if (tail.is_type<g::set_tail>()) {
                s.kind = Statement::Kind::set;
                s.keyword = "set";
                s.rhs = expr(*child(tail));
            } else {
                s.kind = Statement::Kind::relation;
                s.keyword.clear();
                const Node* rhs = find<g::rhs>(tail);
                if (const Node* op = find<g::relop>(tail)) s.keyword = op->string();
                s.rhs = expr(*child(*rhs));
                if (const Node* m = find<g::rhs_mask>(*rhs)) s.mask = expr(*child(*m));
            }
        }
        return s;
    }

    nft::Rule rule(const Node& n) const {
        nft::Rule r;
        r.loc = loc(n);
        for (const auto& c : n.children) r.statements.push_back(statement(*c));
        return r;
    }

    nft::ChainBody chain_body(const Node& n) const {  // n: a node whose children hold hook_spec/policy/rule
        nft::ChainBody b;
        for (const auto& c : n.children) {
            if (c->is_type<g::hook_spec>()) {
                nft::Hook h;
                h.loc = loc(*c);
                h.type = name_of(find<g::chain_type>(*c));
                h.hook = name_of(find<g::hook_name>(*c));
                if (const Node* d = find<g::device_spec>(*c)) h.device = words(d->string_view());
                const Node* p = find<g::priority_value>(*c);
                h.priority = words(p->string_view());
                h.priority_loc = loc(*p);
                b.hook = std::move(h);
            } else if (c->is_type<g::policy_spec>()) {
                const Node* p = find<g::policy_value>(*c);
                b.policy = p->string();
                b.policy_loc = loc(*p);
            } else if (c->is_type<g::rule>()) {
                b.rules.push_back(rule(*c));
            }
        }
        return b;
    }

    nft::SetBody set_body(const Node& n) const {
        nft::SetBody b;
        for (const auto& c : n.children) {
            if (c->is_type<g::set_type>()) {
                for (const auto& t : c->children) {
                    if (t->is_type<g::type_name>()) b.key_type.push_back(t->string());
                    if (t->is_type<g::data_type>()) b.data_type.push_back(words(t->string_view()));
                }
            } else if (c->is_type<g::set_typeof>()) {
                b.typeof_ = true;
                for (const auto& t : c->children) {
                    if (t->is_type<g::typeof_key>()) b.key_type.push_back(words(t->string_view()));
                    if (t->is_type<g::typeof_data>()) b.data_type.push_back(words(t->string_view()));
                }
            } else if (c->is_type<g::set_flag>()) {
                b.flags.push_back(c->string());
            } else if (c->is_type<g::elements_body>()) {
                b.elements = expr(*c);
            } else if (c->is_type<g::set_attr>()) {
                b.attrs.push_back(words(c->string_view()));  // as written: "size 65535", "auto-merge"
            }
        }
        return b;
    }

    // Fills family and table from a command's table_spec (its family and table_name children).
    void table_spec(const Node& n, nft::Command& cmd) const {
        if (const Node* f = find<g::family>(n)) cmd.family = f->string();
        cmd.table = name_of(find<g::table_name>(n));
    }

    nft::TableBody table_body(const Node& n) const {
        nft::TableBody t;
        for (const auto& c : n.children) {
            if (c->is_type<g::chain_block>()) {
                nft::ChainDef d;
                d.name = name_of(find<g::chain_name>(*c));
                d.loc = loc(*c);
                d.body = chain_body(*c);
                t.chains.push_back(std::move(d));
            } else if (c->is_type<g::set_block>()) {
                nft::SetDef d;
                d.name = name_of(find<g::set_name>(*c));
                d.is_map = find<g::set_kind>(*c)->string() == "map";
                d.loc = loc(*c);
                d.body = set_body(*c);
                t.sets.push_back(std::move(d));
            } else if (c->is_type<g::object_block>()) {
                nft::ObjectDef o{words(find<g::object_kind>(*c)->string_view()),
                                 name_of(find<g::object_name>(*c)), loc(*c)};
                std::string_view text = c->string_view();
                size_t brace = text.find('{');
                o.body = std::string(text.substr(brace));
                o.body_loc = o.loc;
                for (char ch : text.substr(0, brace))
                    ch == '\n' ? (++o.body_loc.line, o.body_loc.col = 1) : ++o.body_loc.col;
                t.objects.push_back(std::move(o));
            }
        }
        return t;
    }

    nft::Script script(const Node& root) const {
        nft::Script s;
        nft::Command cmd;
        for (const auto& c : root.children) {
            if (c->is_type<g::verb>()) {
                cmd.verb = c->string();
                continue;
            }
            cmd.loc = loc(*c);
            using O = nft::Command::Object;
            if (c->is_type<g::define_cmd>() || c->is_type<g::include_cmd>()) {
                define_or_include(*c, s);
                cmd = nft::Command{};
                continue;
            }
            if (c->is_type<g::ruleset_cmd>()) {
                cmd.object = O::ruleset;
            } else {
                table_spec(*c, cmd);
                if (c->is_type<g::table_cmd>()) {
                    // A block's defines (and includes) come first: they are read by the block's rules. They
                    // stay defined after the block, where nft forgets them.
                    for (const auto& item : c->children)
                        if (item->is_type<g::define_cmd>() || item->is_type<g::include_cmd>())
                            define_or_include(*item, s);
                    cmd.object = O::table;
                    if (find<g::chain_block>(*c) || find<g::set_block>(*c) || find<g::object_block>(*c) ||
                        c->string_view().find('{') != std::string_view::npos)
                        cmd.table_body = table_body(*c);
                } else if (c->is_type<g::chain_cmd>()) {
                    cmd.object = O::chain;
                    cmd.name = name_of(find<g::chain_name>(*c));
                    if (c->string_view().find('{') != std::string_view::npos) cmd.chain_body = chain_body(*c);
                } else if (c->is_type<g::rule_cmd>()) {
                    cmd.object = O::rule;
                    cmd.name = name_of(find<g::chain_name>(*c));
                    if (const Node* r = find<g::rule>(*c)) cmd.rule = rule(*r);
                } else if (c->is_type<g::set_cmd>()) {
                    cmd.object = O::set;
                    cmd.name = name_of(find<g::set_name>(*c));
                    cmd.is_map = find<g::set_kind>(*c)->string() == "map";
                    if (c->string_view().find('{') != std::string_view::npos) cmd.set_body = set_body(*c);
                } else if (c->is_type<g::element_cmd>()) {
                    cmd.object = O::element;
                    cmd.name = name_of(find<g::set_name>(*c));
                    cmd.set_body = set_body(*c);
                } else if (c->is_type<g::object_cmd>()) {
                    cmd.object = O::object;
                    cmd.object_kind = words(find<g::object_kind>(*c)->string_view());
                    cmd.name = name_of(find<g::object_name>(*c));
                }
            }
            s.commands.push_back(std::move(cmd));
            cmd = nft::Command{};
        }
        return s;
    }

  private:
    // define NAME = VALUE, or include "PATH": a pattern that names no file includes nothing, as in nft (fw4
    // writes `include "/etc/nftables.d/*.nft"`); other includes are kept, and refused by their readers.
    void define_or_include(const Node& n, nft::Script& s) const {
        nft::Command cmd;
        cmd.loc = loc(n);
        if (n.is_type<g::define_cmd>()) {
            cmd.object = nft::Command::Object::define;
            cmd.name = name_of(find<g::define_name>(n));
            cmd.value = expr(*find<g::define_value>(n));
        } else {
            cmd.object = nft::Command::Object::include;
            cmd.name = name_of(find<g::include_path>(n));
            glob_t found{};
            bool pattern = cmd.name.find_first_of("*?[") != std::string::npos;
            int rc = glob(cmd.name.c_str(), 0, nullptr, &found);
            globfree(&found);
            if (pattern && rc == GLOB_NOMATCH) return;
        }
        s.commands.push_back(std::move(cmd));
    }

    std::string file_;
};

}  // namespace

std::optional<nft::Script> parse_nft(const std::string& text, const std::string& file, Diagnostics& diags) {
    diags.add_source(file, text);
    pegtl::memory_input in(text, file);
    try {
        auto root = pegtl::parse_tree::parse<g::script, selector, pegtl::nothing, g::control>(in);
        if (!root) {
            diags.error({file, 1, 1}, "not an nftables ruleset");
            return std::nullopt;
        }
        return Converter(file).script(*root);
    } catch (const pegtl::parse_error& e) {
        const auto& p = e.positions().front();
        diags.error({file, static_cast<int>(p.line), static_cast<int>(p.column)}, std::string(e.message()));
        return std::nullopt;
    }
}

std::optional<std::string> expand_variables(const std::string& text,
                                            const std::map<std::string, nft::Expr>& vars,
                                            std::string& unknown) {
    std::string out;
    for (size_t i = 0; i < text.size();) {
        size_t j = i + 1;
        while (text[i] == '$' && j < text.size() &&
               (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_' || text[j] == '-'))
            ++j;
        if (text[i] != '$' || j == i + 1) {
            out += text[i++];
            continue;
        }
        auto it = vars.find(text.substr(i + 1, j - i - 1));
        if (it == vars.end()) return unknown = text.substr(i + 1, j - i - 1), std::nullopt;
        out += it->second.text;
        i = j;
    }
    return out;
}

}  // namespace bpftables::parser
