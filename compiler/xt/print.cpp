// Canonical iptables-save text of every match and target: the builtins' own (-p, -s/-d, -i/-o, -f, the
// standard targets, the opaque extensions), and the dispatch to each module's `print`, one handler per IR
// alternative. The shared printing helpers (module.hpp) live here too.
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

// An nft lookup's key as nft writes it: "ip daddr . meta l4proto . th dport", without spaces.
std::string key_text(const std::vector<ir::KeyPart>& key) {
    std::string out;
    for (const ir::KeyPart& k : key) {
        if (!out.empty()) out += '.';
        const char* port_proto = k.proto == 6 ? "tcp" : k.proto == 17 ? "udp" : "th";
        switch (k.field) {
            case ir::KeyField::saddr:
                out += "saddr";
                break;
            case ir::KeyField::daddr:
                out += "daddr";
                break;
            case ir::KeyField::l4proto:
                out += "l4proto";
                break;
            case ir::KeyField::sport:
                out += std::string(port_proto) + "-sport";
                break;
            case ir::KeyField::dport:
                out += std::string(port_proto) + "-dport";
                break;
            case ir::KeyField::iifname:
                out += "iifname";
                break;
            case ir::KeyField::oifname:
                out += "oifname";
                break;
        }
    }
    return out;
}

struct MatchPrinter {
    std::string& out;

    void operator()(const ir::ProtocolMatch& m) {
        negatable(m.invert, "-p ", out);
        out += values::protocol_name(m.proto);
    }
    void operator()(const ir::AddressMatch& m) {
        negatable(m.invert, m.dir == ir::Dir::src ? "-s " : "-d ", out);
        out += values::format_net(m.net);
    }
    void operator()(const ir::Address6Match& m) {  // ip6tables-save: always "/len" (or "/mask")
        negatable(m.invert, m.dir == ir::Dir::src ? "-s " : "-d ", out);
        out += values::format_net6(m.net);
    }
    void operator()(const ir::InterfaceMatch& m) {
        negatable(m.invert, m.dir == ir::Dir::src ? "-i " : "-o ", out);
        out += m.name;
    }
    void operator()(const ir::FragmentMatch& m) { negatable(m.invert, "-f", out); }
    void operator()(const ir::OpaqueMatch& m) {
        for (const std::string& a : m.args) out += ' ' + quote_if_needed(a);
    }
    void operator()(const ir::NftSetMatch& m) {  // nft's "KEY @set", which has no iptables form
        out += m.invert ? " ! --lookup " : " --lookup ";
        out += key_text(m.key) + " @" + quote_if_needed(m.set);
    }
#define XT_MATCH(name, type)             \
    void operator()(const ir::type& m) { \
        print(m, out);                   \
    }
#include "compiler/xt/modules.def"
};

struct TargetPrinter {
    std::string& out;

    void operator()(const ir::NoTarget&) {}
    void operator()(const ir::AcceptTarget&) {}
    void operator()(const ir::DropTarget&) {}
    void operator()(const ir::ReturnTarget&) {}
    void operator()(const ir::JumpTarget&) {}
    void operator()(const ir::GotoTarget&) {}
    void operator()(const ir::OpaqueTarget& t) {
        for (const std::string& a : t.args) out += ' ' + quote_if_needed(a);
    }
    void operator()(const ir::VmapTarget& t) {  // nft's "KEY vmap @m", which has no iptables form
        out += " --key " + key_text(t.key) + " --map @" + quote_if_needed(t.map);
    }
#define XT_TARGET(name, type)            \
    void operator()(const ir::type& t) { \
        print(t, out);                   \
    }
#include "compiler/xt/modules.def"
};

struct ModuleName {
    std::string operator()(const ir::ProtocolMatch&) { return {}; }
    std::string operator()(const ir::AddressMatch&) { return {}; }
    std::string operator()(const ir::Address6Match&) { return {}; }
    std::string operator()(const ir::InterfaceMatch&) { return {}; }
    std::string operator()(const ir::FragmentMatch&) { return {}; }
    std::string operator()(const ir::OpaqueMatch& m) { return m.module; }
    std::string operator()(const ir::NftSetMatch&) { return "nftset"; }
#define XT_MATCH(name, type)                  \
    std::string operator()(const ir::type&) { \
        return #name;                         \
    }
#include "compiler/xt/modules.def"
};

}  // namespace

std::string module_name(const ir::Match& m) {
    return std::visit(ModuleName{}, m);
}

void print_options(const ir::Match& m, std::string& out) {
    std::visit(MatchPrinter{out}, m);
}

void print_options(const ir::Target& t, std::string& out) {
    std::visit(TargetPrinter{out}, t);
}

void negatable(bool invert, std::string_view option, std::string& out) {
    out += invert ? " ! " : " ";
    out += option;
}

void print_ports(const std::optional<ir::Negatable<ir::PortRange>>& p, std::string_view option,
                 std::string& out, bool omit_every_port) {
    if (!p) return;
    if (omit_every_port && !p->invert && p->value == ir::PortRange{0, 0xffff}) return;
    negatable(p->invert, option, out);
    out += ' ' + values::format_port_range(p->value);
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

std::string save_string(std::string_view s) {
    bool bare = !s.empty() &&
                s.find_first_not_of("_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") ==
                    std::string_view::npos;
    if (bare) return std::string(s);
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + '"';
}

}  // namespace bpftables::xt
