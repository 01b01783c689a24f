#include "compiler/nft/check.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>

namespace bpftables {
namespace {

using parser::nft::Command;
using parser::nft::Expr;
using parser::nft::Statement;
using K = Expr::Kind;

struct Proto {
    const char* name;
    int number;
};
// The transport protocols nft has header expressions for, by the first word of the selector.
constexpr Proto header_protos[] = {{"tcp", 6},   {"udp", 17},   {"udplite", 136}, {"sctp", 132},
                                   {"dccp", 33}, {"icmp", 1},   {"icmpv6", 58},   {"ah", 51},
                                   {"esp", 50},  {"comp", 108}, {"igmp", 2},      {"gre", 47}};

std::optional<int> proto_number(const std::string& v) {
    if (!v.empty() && std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); }))
        return v.size() <= 3 ? std::optional<int>(std::stoi(v)) : std::nullopt;
    if (v == "ipv6-icmp") return 58;
    for (const Proto& p : header_protos)
        if (v == p.name) return p.number;
    return std::nullopt;
}

std::string proto_name(int n) {
    for (const Proto& p : header_protos)
        if (p.number == n) return p.name;
    return std::to_string(n);
}

// nft's time: seconds as a number, or numbers with units d h m s ms (1d2h, 2m3s, 500ms).
bool time_spec(const std::string& v) {
    if (v.empty()) return false;
    if (std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) return true;
    for (size_t i = 0; i < v.size();) {
        size_t j = i;
        while (j < v.size() && std::isdigit((unsigned char)v[j])) ++j;
        if (j == i || j == v.size()) return false;
        if (v.compare(j, 2, "ms") == 0)
            j += 2;
        else if (std::string_view("dhms").find(v[j]) != std::string_view::npos)
            ++j;
        else
            return false;
        i = j;
    }
    return true;
}

std::string first_word(const std::string& s) {
    return s.substr(0, s.find(' '));
}

// Selectors of an expression (through concatenations and bitwise operations), in order.
void selectors(const Expr& e, std::vector<const Expr*>& out) {
    if (e.kind == K::selector) out.push_back(&e);
    if (e.kind == K::concat || e.kind == K::binop)
        for (const Expr& a : e.args) selectors(a, out);
}

// Why a device name as written (quoted or not) is not one nft takes; empty when it is.
std::string device_name_error(std::string name) {
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
    if (name.empty()) return "empty device name";
    if (name.find('"') != std::string::npos || name.size() > 15) return "bad device name " + name;
    return "";
}

bool looks_like_range(const std::string& v) {  // 1-10, 10.0.0.1-10.0.0.9; not echo-request
    size_t dash = v.find('-');
    return dash != std::string::npos && dash > 0 && dash + 1 < v.size() &&
           std::isdigit((unsigned char)v[0]) &&
           (std::isdigit((unsigned char)v[dash + 1]) || v[dash + 1] == ':');
}

class Checker {
  public:
    explicit Checker(Diagnostics& diags) : diags_(diags) {}

    bool run(const parser::nft::Script& script) {
        for (const Command& c : script.commands) command(c);
        return ok_;
    }

  private:
    void error(const SourceLoc& loc, const std::string& m, int length = 1) {
        diags_.error(loc, m, length);
        ok_ = false;
    }

    void command(const Command& c) {
        family_ = c.family;
        if (c.table_body) {
            for (const auto& s : c.table_body->sets) set(s.loc, s.body, s.is_map);
            for (const auto& ch : c.table_body->chains) chain(ch.body);
            for (const auto& o : c.table_body->objects) object(o);
        }
        if (c.chain_body) chain(*c.chain_body);
        if (c.rule) rule(*c.rule);
        if (c.set_body && c.object == Command::Object::set) set(c.loc, *c.set_body, c.is_map);
    }

    void chain(const parser::nft::ChainBody& b) {
        if (b.hook && !b.hook->device.empty()) devices(b.hook->device, b.hook->loc);
        for (const auto& r : b.rules) rule(r);
    }

    // "device eth0", "devices = { a, b }", "device \"\"" as the parser keeps them.
    void devices(std::string text, const SourceLoc& loc) {
        for (const char* kw : {"devices", "device"})
            if (text.rfind(kw, 0) == 0) {
                text.erase(0, std::string_view(kw).size());
                break;
            }
        size_t b = text.find_first_not_of(" ={");
        size_t e = text.find_last_not_of(" }");
        text = b == std::string::npos || e < b ? std::string() : text.substr(b, e - b + 1);
        size_t start = 0;
        do {
            size_t comma = text.find(',', start);
            std::string name =
                text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
            start = comma == std::string::npos ? std::string::npos : comma + 1;
            name.erase(0, name.find_first_not_of(' '));
            name.erase(name.find_last_not_of(' ') + 1);
            if (std::string why = device_name_error(name); !why.empty()) error(loc, why);
        } while (start != std::string::npos);
    }

    void rule(const parser::nft::Rule& r) {
        std::optional<int> proto;  // the transport protocol the rule's matches so far imply
        for (const Statement& s : r.statements) {
            exprs(s);
            if (s.kind != Statement::Kind::relation && s.kind != Statement::Kind::vmap &&
                s.kind != Statement::Kind::set)
                continue;
            std::vector<const Expr*> sels;
            selectors(s.lhs, sels);
            for (const Expr* sel : sels) {
                std::optional<int> p;
                const std::string by = first_word(sel->text);
                bool l4proto = sel->text == "ip protocol" || sel->text == "ip6 nexthdr" ||
                               sel->text == "meta l4proto" || sel->text == "l4proto";
                if (l4proto && &s.lhs == sel && s.kind == Statement::Kind::relation &&
                    (s.keyword.empty() || s.keyword == "==") && s.rhs.kind == K::value) {
                    p = proto_number(s.rhs.text);
                } else if (!l4proto) {
                    for (const Proto& hp : header_protos)
                        if (by == hp.name) p = hp.number;
                }
                if (!p) continue;
                if (proto && *proto != *p) {
                    error(sel->loc,
                          "conflicting protocols specified: " + proto_name(*proto) + " vs. " + proto_name(*p),
                          sel->length);
                    return;
                }
                proto = p;
            }
        }
    }

    // Map lookups and anonymous sets anywhere in a statement.
    void exprs(const Statement& s) {
        if (s.kind == Statement::Kind::vmap) {
            map_key(s.lhs);
            map_elements(s.rhs);
        }
        if (s.kind == Statement::Kind::relation && s.rhs.kind == K::set)
            for (const Expr& el : s.rhs.args)
                if (el.kind == K::mapping) error(el.loc, "a set element with a value: only maps have values");
        walk(s.lhs);
        walk(s.rhs);
        for (const Expr& a : s.args) walk(a);
    }

    void walk(const Expr& e) {
        if (e.kind == K::map && e.args.size() == 2) {
            map_key(e.args[0]);
            map_elements(e.args[1]);
        }
        for (const Expr& a : e.args) walk(a);
    }

    void map_key(const Expr& key) {
        if (family_ == "ip" || family_ == "ip6") return;
        std::vector<const Expr*> sels;
        selectors(key, sels);
        for (const Expr* sel : sels) {
            const std::string& t = sel->text;
            if (t == "ct saddr" || t == "ct daddr" || t == "ct original saddr" || t == "ct original daddr" ||
                t == "ct reply saddr" || t == "ct reply daddr")
                error(sel->loc,
                      "\"" + t + "\" as a map key in a " + family_ +
                          " table needs its address family (\"ct ip saddr\", \"ct ip6 saddr\")",
                      sel->length);
        }
    }

    void map_elements(const Expr& set) {
        if (set.kind != K::set) return;
        for (const Expr& el : set.args)
            if (el.kind != K::mapping)
                error(el.loc, "a map element without a value (key : value)", el.length);
    }

    void set(const SourceLoc& loc, const parser::nft::SetBody& b, bool is_map) {
        for (const std::string& d : b.data_type) {
            if (d.find(" . ") != std::string::npos && (d.find("verdict") != std::string::npos))
                error(loc, "a verdict cannot be part of a concatenated map value: \"" + d + "\"");
        }
        for (const std::string& k :
             b.key_type)  // typeof ct saddr: the key's type depends on a family it lacks
            if (b.typeof_ &&
                (k.find("ct saddr") != std::string::npos || k.find("ct daddr") != std::string::npos ||
                 k.find("ct original saddr") != std::string::npos ||
                 k.find("ct original daddr") != std::string::npos ||
                 k.find("ct reply saddr") != std::string::npos ||
                 k.find("ct reply daddr") != std::string::npos))
                error(loc, "\"typeof " + k +
                               "\": the key needs its address family (\"ct ip saddr\", \"ct ip6 saddr\")");
        if (!b.elements) return;
        bool interval = std::find(b.flags.begin(), b.flags.end(), "interval") != b.flags.end();
        for (const Expr& el : b.elements->args) {
            if (is_map && el.kind != K::mapping) error(el.loc, "a map element without a value (key : value)");
            if (!is_map && el.kind == K::mapping)
                error(el.loc, "a set element with a value: only maps have values");
            const Expr& key = el.kind == K::mapping && !el.args.empty() ? el.args[0] : el;
            std::vector<const Expr*> parts;
            if (key.kind == K::concat)
                for (const Expr& a : key.args) parts.push_back(&a);
            else
                parts.push_back(&key);
            for (const Expr* part : parts)
                if (!interval && part->kind == K::value && looks_like_range(part->text)) {
                    error(part->loc, "range element " + part->text + " needs \"flags interval\" in its set",
                          part->length);
                    return;
                }
        }
    }

    // ---- objects, from their body text

    struct Token {
        std::string text;
        SourceLoc loc;
    };

    static std::vector<Token> tokens(const parser::nft::ObjectDef& o) {
        std::vector<Token> out;
        SourceLoc at = o.body_loc;
        const std::string& s = o.body;
        for (size_t i = 0; i < s.size();) {
            char c = s[i];
            if (c == '\n') {
                ++at.line, at.col = 1, ++i;
            } else if (c == ' ' || c == '\t' || c == '\r') {
                ++at.col, ++i;
            } else if (c == '#') {
                while (i < s.size() && s[i] != '\n') ++i;
            } else if (std::string_view("{}=:,;").find(c) != std::string_view::npos) {
                out.push_back({std::string(1, c), at});
                ++at.col, ++i;
            } else {
                size_t j = i;
                while (j < s.size() &&
                       std::string_view(" \t\r\n{}=:,;#").find(s[j]) == std::string_view::npos) {
                    if (s[j] == '"') {
                        size_t q = s.find('"', j + 1);
                        j = q == std::string::npos ? s.size() : q + 1;
                    } else {
                        ++j;
                    }
                }
                out.push_back({s.substr(i, j - i), at});
                at.col += static_cast<int>(j - i);
                i = j;
            }
        }
        return out;
    }

    void object(const parser::nft::ObjectDef& o) {
        if (o.body.empty()) return;
        std::vector<Token> t = tokens(o);
        auto find = [&](const std::string& word) {
            for (size_t i = 0; i < t.size(); ++i)
                if (t[i].text == word) return i;
            return t.size();
        };
        if (o.kind == "flowtable") {
            size_t h = find("hook");
            if (h == t.size() || find("priority") == t.size())
                return error(o.loc, "flowtable " + o.name + " needs \"hook ingress priority ...\"");
            if (h + 1 < t.size() && t[h + 1].text != "ingress")
                return error(t[h + 1].loc, "unknown flowtable hook " + t[h + 1].text + " (only ingress)");
            size_t d = find("devices");
            for (size_t i = d + 1; i < t.size() && t[i].text != "}"; ++i) {
                if (t[i].text == "=" || t[i].text == "{" || t[i].text == ",") continue;
                if (std::string why = device_name_error(t[i].text); !why.empty()) return error(t[i].loc, why);
            }
        } else if (o.kind == "ct timeout") {
            size_t p = find("policy");
            size_t proto = find("protocol");
            std::string protocol = proto + 1 < t.size() ? t[proto + 1].text : "";
            static const char* tcp_states[] = {"syn_sent",   "syn_recv", "established",   "fin_wait",
                                               "close_wait", "last_ack", "time_wait",     "close",
                                               "syn_sent2",  "retrans",  "unacknowledged"};
            for (size_t i = p + 1; i + 2 < t.size() && t[i].text != "}"; ++i) {
                if (t[i + 1].text != ":") continue;
                const Token& state = t[i];
                const Token& value = t[i + 2];
                bool known = protocol == "tcp"   ? std::any_of(std::begin(tcp_states), std::end(tcp_states),
                                                               [&](const char* s) { return state.text == s; })
                             : protocol == "udp" ? state.text == "unreplied" || state.text == "replied"
                                                 : true;
                if (!known) return error(state.loc, "unknown " + protocol + " state " + state.text);
                if (!time_spec(value.text))
                    return error(value.loc,
                                 "the timeout of " + state.text + " must be a time (12, 12s, 2m3s)");
            }
        }
    }

    Diagnostics& diags_;
    std::string family_;
    bool ok_ = true;
};

}  // namespace

bool check_nft(const parser::nft::Script& script, Diagnostics& diags) {
    return Checker(diags).run(script);
}

}  // namespace bpftables
