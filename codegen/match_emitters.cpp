#include "codegen/match_emitters.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <sstream>

#include "codegen/hook_ops.hpp"
#include "compiler/xt/module.hpp"

namespace bpftables::codegen {
namespace {

std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llxu", static_cast<unsigned long long>(v));
    return buf;
}

std::string num(uint64_t v) {
    return std::to_string(v) + "u";
}

std::string invert_if(bool invert, const std::string& cond) {
    return invert ? "!(" + cond + ")" : "(" + cond + ")";
}

std::string in_range(const std::string& field, uint32_t lo, uint32_t hi) {
    if (lo == hi) return field + " == " + num(lo);
    if (lo == 0) return field + " <= " + num(hi);
    return field + " >= " + num(lo) + " && " + field + " <= " + num(hi);
}

std::string port_cond(const std::optional<ir::Negatable<ir::PortRange>>& p, const char* field) {
    if (!p) return {};
    return invert_if(p->invert, in_range(field, p->value.lo, p->value.hi));
}

std::string all_of(std::initializer_list<std::string> parts) {
    std::string out;
    for (const std::string& s : parts) {
        if (s.empty()) continue;
        if (!out.empty()) out += " && ";
        out += s;
    }
    return out.empty() ? "1" : out;
}

MatchCode kernel(std::string why) {
    MatchCode c;
    c.kernel_if = "1";
    c.kernel_why = std::move(why);
    return c;
}

// A packet too short for the header is dropped, as netfilter's hotdrop, or handed to the kernel when its copy
// of the ruleset is nf_tables' (ir::ShortHeaders: BPFT_SHORT_HEADER). (No fragment reaches a chain:
// bpft_parse hands every fragment to the kernel, so the "later fragment never matches" case cannot arise.)
MatchCode l4_match(const std::string& cond, uint32_t header_bytes) {
    MatchCode c;
    c.hotdrop_if = "p->l4_len < " + num(header_bytes);
    c.cond = cond;
    return c;
}

std::string ifname_cond(const ir::InterfaceMatch& m) {
    IfnameWords k = ifname_words(m);
    const char* field = m.dir == ir::Dir::src ? "&p->in" : "&p->out";
    return invert_if(m.invert, std::string("bpft_ifname_match(") + field + ", " + hex(k.word[0]) + ", " +
                                   hex(k.word[1]) + ", " + hex(k.mask[0]) + ", " + hex(k.mask[1]) + ")");
}

// `field` (p->saddr6, p->daddr6 or a conditional of both) under an IPv6 mask, prefix or not: one comparison per
// word the mask has bits in.
std::string net6_cond(const std::string& field, const ir::Ipv6Addr& addr, const ir::Ipv6Addr& mask) {
    std::array<uint32_t, 4> a = ipv6_words(addr), m = ipv6_words(mask);
    std::string out;
    for (int i = 0; i < 4; ++i) {
        if (m[i] == 0) continue;
        std::string w = field + "[" + std::to_string(i) + "]";
        out += (out.empty() ? "" : " && ") + (m[i] == 0xffffffffu ? w : "(" + w + " & " + hex(m[i]) + ")") +
               " == " + hex(a[i] & m[i]);
    }
    return out.empty() ? "1" : out;
}

// `field` >= v (ge) or <= v, as 128-bit numbers compared word by word.
std::string cmp128(const std::string& field, const ir::Ipv6Addr& value, bool ge) {
    std::array<uint32_t, 4> v = ipv6_words(value);
    auto w = [&](int i) { return field + "[" + std::to_string(i) + "]"; };
    std::string out = w(3) + (ge ? " >= " : " <= ") + hex(v[3]);
    for (int i = 2; i >= 0; --i)
        out = w(i) + (ge ? " > " : " < ") + hex(v[i]) + " || (" + w(i) + " == " + hex(v[i]) + " && (" + out +
              "))";
    return "(" + out + ")";
}

bool table_has_rules(const ir::Program& program, const std::string& table) {
    const ir::Table* t = program.find(table);
    if (!t) return false;
    for (const ir::Chain& c : t->chains)
        if (!c.rules.empty()) return true;
    return false;
}

// NAT rewrites addresses the conntrack original tuple then differs from: iptables' nat table, or nft base
// chains of type nat.
bool has_nat(const ir::Program& program) {
    for (const ir::Table& t : program.tables)
        for (const ir::Chain& c : t.chains)
            if (c.nft_hook && c.nft_hook->type == "nat") return true;
    return table_has_rules(program, "nat");
}

struct Emitter {
    MatchContext& ctx;

    std::optional<MatchCode> unsupported(const std::string& what) {
        ctx.diags.error(ctx.loc, what);
        return std::nullopt;
    }

    // The conntrack state bits netfilter sees in this table: none yet in raw (conntrack runs after it).
    std::string ct_state_expr() const {
        if (ctx.before_conntrack)
            return "(p->untracked ? " + num(ir::ct::untracked) + " : " + num(ir::ct::invalid) + ")";
        return "(p->untracked ? " + num(ir::ct::untracked) + " : p->ct_state)";
    }
    std::string ct_unknown() const {
        return ctx.before_conntrack ? std::string() : "!p->untracked && p->ct_state == 0";
    }

    std::optional<MatchCode> operator()(const ir::ProtocolMatch& m) {
        MatchCode c;
        c.cond = invert_if(m.invert, "p->proto == " + num(m.proto));
        return c;
    }
    std::optional<MatchCode> operator()(const ir::AddressMatch& m) {
        MatchCode c;
        const char* field = m.dir == ir::Dir::src ? "p->saddr" : "p->daddr";
        c.cond = m.net.mask == 0 ? invert_if(m.invert, "1")
                                 : invert_if(m.invert, std::string("(") + field + " & " + hex(m.net.mask) +
                                                           ") == " + hex(m.net.addr));
        return c;
    }
    std::optional<MatchCode> operator()(const ir::InterfaceMatch& m) {
        ctx.needs.ifname = true;
        MatchCode c;
        c.kernel_if = m.dir == ir::Dir::src ? "!p->in_known" : "!p->out_known";
        c.cond = ifname_cond(m);
        return c;
    }
    std::optional<MatchCode> operator()(const ir::FragmentMatch& m) {
        MatchCode c;
        c.cond = invert_if(m.invert, "(p->frag_off & 0x1fff) != 0");
        return c;
    }
    std::optional<MatchCode> operator()(const ir::TcpMatch& m) {
        std::string flags;
        if (m.flags)
            flags = invert_if(m.flags->invert, "(p->tcp_flags & " + hex(m.flags->value.mask) +
                                                   ") == " + hex(m.flags->value.cmp));
        std::string head = all_of({port_cond(m.sport, "p->sport"), port_cond(m.dport, "p->dport"), flags});
        MatchCode c = l4_match(head, 20);
        if (m.option) {
            ctx.needs.tcpopt = true;
            uint8_t k = m.option->value;
            c.hotdrop_if += " || (" + head + " && !p->tcpopt_ok)";
            c.cond += " && " + invert_if(m.option->invert, "(p->tcpopts[" + std::to_string(k >> 5) + "] & " +
                                                               hex(1u << (k & 31)) + ") != 0");
        }
        return c;
    }
    std::optional<MatchCode> operator()(const ir::UdpMatch& m) {
        return l4_match(all_of({port_cond(m.sport, "p->sport"), port_cond(m.dport, "p->dport")}), 8);
    }
    std::optional<MatchCode> operator()(const ir::IcmpMatch& m) {
        if (m.type == 0xff) return l4_match(m.invert ? "0" : "1", 8);  // xt_icmp: (any) ^ invert
        std::string c =
            "p->icmp_type == " + num(m.type) + " && " + in_range("p->icmp_code", m.code_min, m.code_max);
        return l4_match(invert_if(m.invert, c), 8);
    }
    std::optional<MatchCode> operator()(const ir::MultiportMatch& m) {
        std::string any;
        for (const ir::PortRange& r : m.ports) {
            auto one = [&](const char* f) { return "(" + in_range(f, r.lo, r.hi) + ")"; };
            std::string term = m.kind == ir::MultiportKind::sports ? one("p->sport")
                               : m.kind == ir::MultiportKind::dports
                                   ? one("p->dport")
                                   : one("p->sport") + " || " + one("p->dport");
            any += (any.empty() ? "" : " || ") + term;
        }
        return l4_match(invert_if(m.invert, any.empty() ? "0" : any), 4);
    }
    std::optional<MatchCode> operator()(const ir::StateMatch& m) {
        ctx.needs.ct = true;
        MatchCode c;
        c.kernel_if = ct_unknown();
        c.cond = invert_if(m.invert, "(" + ct_state_expr() + " & " + hex(m.states) + ") != 0");
        return c;
    }
    std::optional<MatchCode> operator()(const ir::ConntrackMatch& m) {
        ctx.needs.ct = true;
        if (m.orig_src_port || m.orig_dst_port || m.repl_src_port || m.repl_dst_port || m.repl_src ||
            m.repl_dst || m.repl_src6 || m.repl_dst6 || m.status || m.expire || m.direction)
            return kernel(
                "conntrack reply tuple, ports, status, expiry and direction are decided by the kernel");
        if ((m.orig_src || m.orig_dst || m.orig_src6 || m.orig_dst6) && has_nat(ctx.program))
            return kernel("--ctorigsrc/--ctorigdst with NAT rules are decided by the kernel");
        MatchCode c;
        c.kernel_if = ct_unknown();
        std::string state;
        if (m.state)
            state =
                invert_if(m.state->invert, "(" + ct_state_expr() + " & " + hex(m.state->value) + ") != 0");
        // Without a connection (INVALID, UNTRACKED, and always in raw) only --ctstate can match.
        std::string tracked = ctx.before_conntrack ? "0" : "(!p->untracked && (p->ct_state & 0xe) != 0)";
        std::string fields;
        if (m.proto) fields = invert_if(m.proto->invert, "p->proto == " + num(m.proto->value));
        auto orig = [&](const std::optional<ir::Negatable<ir::Ipv4Net>>& n, bool src) {
            if (!n) return std::string();
            std::string addr =
                src ? "(p->ct_reply ? p->daddr : p->saddr)" : "(p->ct_reply ? p->saddr : p->daddr)";
            return invert_if(n->invert,
                             "(" + addr + " & " + hex(n->value.mask) + ") == " + hex(n->value.addr));
        };
        auto orig6 = [&](const std::optional<ir::Negatable<ir::Ipv6Net>>& n, bool src) {
            if (!n) return std::string();
            // the address as written, compared under its mask (xt_conntrack's conntrack_addrcmp)
            std::string addr =
                src ? "(p->ct_reply ? p->daddr6 : p->saddr6)" : "(p->ct_reply ? p->saddr6 : p->daddr6)";
            return invert_if(n->invert, net6_cond(addr, n->value.addr, n->value.mask));
        };
        fields = all_of({fields, orig(m.orig_src, true), orig(m.orig_dst, false), orig6(m.orig_src6, true),
                         orig6(m.orig_dst6, false)});
        if (fields == "1")
            c.cond = state.empty() ? tracked : state;
        else
            c.cond = all_of({state, tracked, fields});
        return c;
    }
    std::optional<MatchCode> operator()(const ir::IpRangeMatch& m) {
        auto range = [](const std::optional<ir::Negatable<ir::AddrRange>>& r, const char* f) {
            if (!r) return std::string();
            return invert_if(r->invert, std::string(f) + " >= " + hex(r->value.lo) + " && " + f +
                                            " <= " + hex(r->value.hi));
        };
        auto range6 = [](const std::optional<ir::Negatable<ir::Addr6Range>>& r, const char* f) {
            if (!r) return std::string();
            return invert_if(r->invert,
                             cmp128(f, r->value.lo, true) + " && " + cmp128(f, r->value.hi, false));
        };
        MatchCode c;
        c.cond = all_of({range(m.src, "p->saddr"), range(m.dst, "p->daddr"), range6(m.src6, "p->saddr6"),
                         range6(m.dst6, "p->daddr6")});
        return c;
    }
    std::optional<MatchCode> operator()(const ir::MarkMatch& m) {
        if (const char* why = hook_ops(ctx.hook).no_mark) return kernel(why);
        if (table_has_rules(ctx.program, "mangle")) return kernel("the mangle table may set the mark first");
        MatchCode c;
        c.cond = invert_if(m.invert, "(p->mark & " + hex(m.mask) + ") == " + hex(m.value));
        return c;
    }
    std::optional<MatchCode> operator()(const ir::CommentMatch&) { return MatchCode{}; }
    std::optional<MatchCode> operator()(const ir::LengthMatch& m) {
        MatchCode c;
        c.cond = invert_if(m.invert, in_range("p->len", m.min, m.max));
        return c;
    }
    std::optional<MatchCode> operator()(const ir::TtlMatch& m) {
        static const char* const ops[] = {" == ", " != ", " < ", " > "};
        MatchCode c;
        c.cond = "p->ttl" + std::string(ops[static_cast<int>(m.op)]) + num(m.value);
        return c;
    }
    std::optional<MatchCode> operator()(const ir::DscpMatch& m) {
        MatchCode c;
        c.cond = invert_if(m.invert, "(p->tos >> 2) == " + num(m.dscp));
        return c;
    }
    std::optional<MatchCode> operator()(const ir::TosMatch& m) {
        MatchCode c;
        // as xt_tos: the value is not masked (bits outside the mask never match)
        c.cond = invert_if(m.invert, "(p->tos & " + hex(m.mask) + ") == " + hex(m.value));
        return c;
    }
    std::optional<MatchCode> operator()(const ir::MacMatch& m) const {
        if (const char* why = hook_ops(ctx.hook).no_mac_source) return kernel(why);
        std::string c;
        for (int i = 0; i < 6; ++i)
            c += (i ? " && " : "") + std::string("p->smac[") + std::to_string(i) + "] == " + hex(m.addr[i]);
        MatchCode code;
        code.cond = invert_if(m.invert, c);
        return code;
    }
    // LOCAL, with no interface, of an IPv4 address: bpft_addr_local, from the local routes the runtime keeps
    // in bpft_local (loader/local_addresses.cpp), as inet_addr_type() reads the local table. Any other type,
    // or an interface: the kernel's.
    std::optional<MatchCode> operator()(const ir::AddrTypeMatch& m) const {
        auto local = [](const std::optional<ir::Negatable<uint16_t>>& t) {
            return !t || t->value == ir::addrtype::local;
        };
        if (!local(m.src) || !local(m.dst) || m.limit_iface_in || m.limit_iface_out ||
            ctx.program.family != ir::Family::ipv4)
            return kernel(
                "address types other than local, or with an interface, come from the kernel's "
                "routing tables");
        MatchCode c;
        for (const auto& [type, field] : {std::pair{m.src, "saddr"}, std::pair{m.dst, "daddr"}})
            if (type)
                c.cond += (c.cond.empty() ? "" : " && ") +
                          invert_if(type->invert, std::string("bpft_addr_local(p->") + field + ")");
        return c;
    }
    std::optional<MatchCode> operator()(const ir::PktTypeMatch& m) {
        MatchCode c;
        c.cond = invert_if(m.invert, "p->pkttype == " + num(static_cast<uint32_t>(m.type)));
        return c;
    }
    std::optional<MatchCode> operator()(const ir::LimitMatch& m) {
        // The program's token bucket and xt_limit's are two buckets: packets handed to the kernel (fragments,
        // IP options, matches only it decides) take tokens from the kernel's alone. Where the verdict
        // depends on the limit, the kernel's bucket decides; before LOG or a bare counter the program's may.
        if (ctx.target_decides) {
            MatchCode c;
            c.kernel_why = "-m limit before a verdict: the kernel's own token bucket decides";
            return c;
        }
        ctx.needs.limit = true;
        int index = ctx.layout.limits.at({ctx.gid, ctx.match_index});
        MatchCode c;
        c.cond = "bpft_limit(" + num(index) + ", " + num(m.avg) + ", " + num(m.burst) + ")";
        return c;
    }
    std::optional<MatchCode> operator()(const ir::SetMatch& m) {
        if (ctx.program.family == ir::Family::ipv6) {  // the set maps hold IPv4 keys
            MatchCode c;
            c.kernel_why = "-m set in an IPv6 ruleset is not compiled yet: the kernel decides it";
            return c;
        }
        const ir::IpSet* set = ctx.program.find_set(m.name);
        if (!set)
            return unsupported("set '" + m.name +
                               "' is not loaded: give its 'ipset save' file with --ipsets");
        // Other set types, more dimensions, --return-nomatch and counter conditions: the kernel's copy
        // decides.
        auto has_word = [](const std::string& text, const std::string& word) {
            std::istringstream words(text);
            for (std::string w; words >> w;)
                if (w == word) return true;
            return false;
        };
        std::string why;
        if (set->type != "hash:ip" && set->type != "hash:net")
            why = "set type " + set->type + " (compiled: hash:ip, hash:net)";
        else if (has_word(set->options, "timeout"))
            why = "set " + m.name + " has timeouts (its entries come and go in the kernel)";
        else if (std::any_of(set->entries.begin(), set->entries.end(),
                             [&](const std::string& e) { return has_word(e, "nomatch"); }))
            why = "set " + m.name + " has nomatch entries";
        else if (m.flags.size() != 1)
            why = "set " + m.name + " matched in " + std::to_string(m.flags.size()) + " directions";
        else if (m.return_nomatch || !m.counter_conditions.empty())
            why = "--return-nomatch and set counter conditions";
        if (!why.empty()) {
            MatchCode c;
            c.kernel_why = why + ": the kernel decides it";
            return c;
        }
        MatchCode c;
        int index = ctx.layout.set_index(m.name);
        c.cond = invert_if(m.invert, "bpft_in_set(&bpft_set_" + std::to_string(index) + ", " +
                                         (m.flags[0] == ir::Dir::src ? "p->saddr" : "p->daddr") + ")");
        return c;
    }
    std::optional<MatchCode> operator()(const ir::NftSetMatch& m) {
        std::optional<NftLookupCode> l = nft_lookup_code(m.set, m.key, ctx);
        if (!l) return std::nullopt;
        MatchCode c = l->checks;
        c.cond = all_of({c.cond == "1" ? "" : c.cond, invert_if(m.invert, l->lookup + " != 0")});
        return c;
    }
    // The IPv6 matches (ip6tables rulesets). bpft_parse has walked the extension headers as ipv6_find_hdr
    // does: p->proto, the ports and the ICMPv6 fields are those after them, p->exthdrs names the headers met.
    std::optional<MatchCode> operator()(const ir::Address6Match& m) {
        MatchCode c;
        c.cond = invert_if(
            m.invert, net6_cond(m.dir == ir::Dir::src ? "p->saddr6" : "p->daddr6", m.net.addr, m.net.mask));
        return c;
    }
    std::optional<MatchCode> operator()(const ir::HlMatch& m) {
        static const char* const ops[] = {" == ", " != ", " < ", " > "};
        MatchCode c;
        c.cond = "p->ttl" + std::string(ops[static_cast<int>(m.op)]) + num(m.value);  // the hop limit
        return c;
    }
    std::optional<MatchCode> operator()(const ir::Icmp6Match& m) {  // icmp6_match: 8 bytes or a hotdrop
        std::string c =
            "p->icmp_type == " + num(m.type) + " && " + in_range("p->icmp_code", m.code_min, m.code_max);
        return l4_match(invert_if(m.invert, c), 8);
    }
    std::optional<MatchCode> operator()(const ir::Ipv6HeaderMatch& m) {
        // ip6t_ipv6header: --soft, every named header present (or, inverted, absent); else exactly the named
        // ones (or anything else). The inversion flips all eight bits, as libip6t_ipv6header sets invflags.
        MatchCode c;
        std::string h = hex(m.headers), inv = m.invert ? hex(0xff) : hex(0);
        if (m.soft)
            c.cond = "((p->exthdrs ^ " + h + " ^ " + inv + ") & " + h + ") == 0";
        else
            c.cond = std::string("p->exthdrs ") + (m.invert ? "!= " : "== ") + h;
        return c;
    }
    // frag, hbh, dst, rt and ah look their header up (ipv6_find_hdr) and never match a packet without it,
    // inverted or not. A packet with a hop-by-hop or fragment header never reaches a chain (bpft_parse hands it
    // over); one with a routing, destination options or authentication header meets the kernel at these
    // matches, which read the header's fields.
    static MatchCode absent_header(uint8_t bit) {
        MatchCode c;
        c.kernel_if = "(p->exthdrs & " + hex(bit) + ") != 0";
        c.cond = "0";
        return c;
    }
    std::optional<MatchCode> operator()(const ir::FragMatch&) { return absent_header(ir::ip6h::frag); }
    std::optional<MatchCode> operator()(const ir::HbhMatch&) { return absent_header(ir::ip6h::hop); }
    std::optional<MatchCode> operator()(const ir::DstMatch&) { return absent_header(ir::ip6h::dst); }
    std::optional<MatchCode> operator()(const ir::RtMatch&) { return absent_header(ir::ip6h::route); }
    std::optional<MatchCode> operator()(const ir::AhMatch&) { return absent_header(ir::ip6h::auth); }
    std::optional<MatchCode> operator()(const ir::MhMatch& m) {
        // mh_mt6: the 6-byte mobility header (proto, length, type, reserved, checksum) after the extension
        // headers, a hotdrop when it is cut short or its payload proto is not IPPROTO_NONE (59).
        MatchCode c;
        c.hotdrop_if = "p->l4_len < 6u || p->icmp_type != 59u";
        c.cond = invert_if(m.invert, in_range("(p->dport >> 8)", m.lo, m.hi));
        return c;
    }

    std::optional<MatchCode> operator()(const ir::OpaqueMatch& m) {  // the kernel's copy decides it
        MatchCode c;
        c.kernel_why = m.module == "nft" && !m.args.empty()
                           ? "nft statement \"" + m.args.back() + "\" is not compiled: the kernel decides it"
                           : "-m " + m.module + " is not compiled: the kernel decides it";
        return c;
    }
};

}  // namespace

std::array<uint32_t, 4> ipv6_words(const ir::Ipv6Addr& a) {
    std::array<uint32_t, 4> w{};
    for (int i = 0; i < 16; ++i) w[i / 4] = (w[i / 4] << 8) | a[i];
    return w;
}

IfnameWords ifname_words(const ir::InterfaceMatch& m) {
    uint8_t name[16] = {}, mask[16] = {};
    std::string n = m.name;
    bool wildcard = !n.empty() && n.back() == '+';
    if (wildcard) n.pop_back();
    for (size_t i = 0; i < n.size() && i < 16; ++i) name[i] = static_cast<uint8_t>(n[i]), mask[i] = 0xff;
    if (!wildcard && n.size() < 16) mask[n.size()] = 0xff;
    IfnameWords k;
    for (int i = 0; i < 16; ++i) {
        k.word[i / 8] |= static_cast<uint64_t>(name[i]) << (8 * (i % 8));
        k.mask[i / 8] |= static_cast<uint64_t>(mask[i]) << (8 * (i % 8));
    }
    return k;
}

std::optional<NftLookupCode> nft_lookup_code(const std::string& name, const std::vector<ir::KeyPart>& key,
                                             MatchContext& ctx) {
    const ir::NftSet* set = ctx.program.find_nft_set(name);
    int index = ctx.layout.set_index(name);
    if (!set || index < 0) {
        ctx.diags.error(ctx.loc, "nft set @" + name + " has no map");
        return std::nullopt;
    }
    NftLookupCode out;
    std::vector<std::string> kernel, conds, words;
    bool short_ports = false;
    uint32_t size = 0;
    for (const ir::KeyPart& k : key) {
        std::string w = "k_[" + std::to_string(size / 4) + "] = ";
        switch (k.field) {
            case ir::KeyField::saddr:
            case ir::KeyField::daddr:
                words.push_back(w + "bpf_htonl(" +
                                (k.field == ir::KeyField::saddr ? "p->saddr" : "p->daddr") + ");");
                break;
            case ir::KeyField::l4proto:
                words.push_back(w + "p->proto;");
                break;
            case ir::KeyField::sport:
            case ir::KeyField::dport:
                short_ports = true;
                if (k.proto) conds.push_back("p->proto == " + num(k.proto));
                words.push_back(w + "bpf_htons(" +
                                (k.field == ir::KeyField::sport ? "p->sport" : "p->dport") + ");");
                break;
            case ir::KeyField::iifname:
            case ir::KeyField::oifname: {
                ctx.needs.ifname = true;
                bool in = k.field == ir::KeyField::iifname;
                kernel.emplace_back(in ? "!p->in_known" : "!p->out_known");
                std::string f = in ? "p->in.w[" : "p->out.w[";
                for (int i = 0; i < 4; ++i)
                    words.push_back("k_[" + std::to_string(size / 4 + i) + "] = (__u32)(" + f +
                                    std::to_string(i / 2) + "]" + (i % 2 ? " >> 32" : "") + ");");
                break;
            }
        }
        size += ir::key_part_size(k.field);
    }
    if (set->lpm) {  // one address: (prefix length 32, address) in the trie
        out.lookup = "({ __u32 k_[2] = {32, 0}; k_[1] = " + words[0].substr(words[0].find('=') + 2) +
                     " (__u32 *)bpf_map_lookup_elem(&bpft_set_" + std::to_string(index) + ", k_); })";
    } else {
        std::string body;
        for (const std::string& w : words) body += w + " ";
        out.lookup = "({ __u32 k_[" + std::to_string(size / 4) + "] = {}; " + body +
                     "(__u32 *)bpf_map_lookup_elem(&bpft_set_" + std::to_string(index) + ", k_); })";
    }
    for (const std::string& k : kernel)
        out.checks.kernel_if += (out.checks.kernel_if.empty() ? "" : " || ") + k;
    if (short_ports) out.checks.hotdrop_if = "p->l4_len < 4";
    for (const std::string& c : conds)
        out.checks.cond = out.checks.cond == "1" ? c : out.checks.cond + " && " + c;
    return out;
}

std::optional<MatchCode> emit_match(const ir::Match& match, MatchContext& ctx) {
    return std::visit(Emitter{ctx}, match);
}

}  // namespace bpftables::codegen
