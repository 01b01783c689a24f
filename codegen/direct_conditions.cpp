// The direct back end's matches as conditions, and conditions as jumps (direct_conditions.hpp). Each
// operator() mirrors its twin in match_emitters.cpp: the same fields, tests and short-header checks.
#include "codegen/direct_conditions.hpp"

#include <array>
#include <stdexcept>
#include <type_traits>

namespace bpftables::codegen::direct {
namespace {

using insn::JmpOp;
using Kind = Cond::Kind;

Cond yes() {
    return Cond{Kind::yes};
}
Cond no() {
    return Cond{Kind::no};
}
Cond constant(bool v) {
    return v ? yes() : no();
}

Cond negate(Cond c) {
    if (c.kind == Kind::yes) return no();
    if (c.kind == Kind::no) return yes();
    Cond n{Kind::negate};
    n.parts.push_back(std::move(c));
    return n;
}

Cond invert_if(bool invert, Cond c) {
    return invert ? negate(std::move(c)) : c;
}

Cond combine(Kind kind, std::vector<Cond> parts) {
    Cond c{kind};
    for (Cond& p : parts) {
        if (p.kind == (kind == Kind::all ? Kind::yes : Kind::no)) continue;             // neutral
        if (p.kind == (kind == Kind::all ? Kind::no : Kind::yes)) return std::move(p);  // absorbing
        c.parts.push_back(std::move(p));
    }
    if (c.parts.empty()) return kind == Kind::all ? yes() : no();
    if (c.parts.size() == 1) return std::move(c.parts[0]);
    return c;
}
Cond all(std::vector<Cond> parts) {
    return combine(Kind::all, std::move(parts));
}
Cond any(std::vector<Cond> parts) {
    return combine(Kind::any, std::move(parts));
}

struct Matches {
    const MatchInput& in;

    ScratchField f(const char* name) const { return in.scratch.at(name); }
    // An element of an array field (smac's bytes, tcpopts' words).
    ScratchField element(const char* name, int index, uint8_t size) const {
        ScratchField field = in.scratch.at(name);
        field.off = static_cast<int16_t>(field.off + index * size);
        field.size = size;
        return field;
    }
    Cond cmp(const char* name, JmpOp op, uint32_t value, uint32_t mask = 0xffffffff) const {
        Cond c{Kind::cmp};
        c.field = f(name), c.op = op, c.value = value, c.mask = mask;
        return c;
    }
    Cond in_range(const char* name, uint32_t lo, uint32_t hi) const {
        if (lo == hi) return cmp(name, JmpOp::eq, lo);
        // A bound that the field's width already gives (--sport 1024:65535) is not tested: the verifier knows
        // the test is always true and removes it one instruction at a time, each removal moving the whole
        // program (a third of the load of 10,000 such rules: docs/design-notes.md).
        uint8_t size = f(name).size;
        uint32_t max = size >= 4 ? 0xffffffff : (1u << (8 * size)) - 1;
        if (hi >= max) return lo == 0 ? yes() : cmp(name, JmpOp::ge, lo);
        if (lo == 0) return cmp(name, JmpOp::le, hi);
        return all({cmp(name, JmpOp::ge, lo), cmp(name, JmpOp::le, hi)});
    }
    Cond port(const std::optional<ir::Negatable<ir::PortRange>>& p, const char* name) const {
        if (!p) return yes();
        return invert_if(p->invert, in_range(name, p->value.lo, p->value.hi));
    }
    DirectMatch l4(Cond cond, uint32_t header_bytes) const {
        DirectMatch m;
        m.hotdrop_if = cmp("l4_len", JmpOp::lt, header_bytes);
        m.cond = std::move(cond);
        return m;
    }
    static DirectMatch just(Cond cond) {
        DirectMatch m;
        m.cond = std::move(cond);
        return m;
    }
    // An IPv6 address field (saddr6, daddr6: four host-order words, [0] the most significant) under a mask:
    // one comparison per word the mask has bits in (match_emitters.cpp: net6_cond).
    Cond net6(const char* name, const ir::Ipv6Addr& addr, const ir::Ipv6Addr& mask) const {
        std::array<uint32_t, 4> a = ipv6_words(addr), m = ipv6_words(mask);
        std::vector<Cond> parts;
        for (int i = 0; i < 4; ++i) {
            if (m[i] == 0) continue;
            Cond c{Kind::cmp};
            c.field = element(name, i, 4), c.op = JmpOp::eq, c.value = a[i] & m[i], c.mask = m[i];
            parts.push_back(c);
        }
        return all(std::move(parts));
    }
    // The 128-bit field >= v (ge) or <= v, word by word from the most significant (match_emitters.cpp:
    // cmp128).
    Cond cmp128(const char* name, const ir::Ipv6Addr& value, bool ge) const {
        std::array<uint32_t, 4> v = ipv6_words(value);
        auto word = [&](int i, JmpOp op) {
            Cond c{Kind::cmp};
            c.field = element(name, i, 4), c.op = op, c.value = v[i];
            return c;
        };
        Cond out = word(3, ge ? JmpOp::ge : JmpOp::le);
        for (int i = 2; i >= 0; --i)
            out = any({word(i, ge ? JmpOp::gt : JmpOp::lt), all({word(i, JmpOp::eq), std::move(out)})});
        return out;
    }
    // (p->untracked ? UNTRACKED : ct state) & states != 0; before conntrack the state is INVALID.
    Cond ct_state_has(uint32_t states) const {
        Cond untracked = cmp("untracked", JmpOp::ne, 0);
        Cond state = in.before_conntrack ? constant((ir::ct::invalid & states) != 0)
                                         : cmp("ct_state", JmpOp::ne, 0, states);
        return any(
            {all({untracked, constant((ir::ct::untracked & states) != 0)}), all({negate(untracked), state})});
    }
    Cond ct_unknown() const {
        if (in.before_conntrack) return no();
        return all({cmp("untracked", JmpOp::eq, 0), cmp("ct_state", JmpOp::eq, 0)});
    }

    std::optional<DirectMatch> operator()(const ir::ProtocolMatch& m) const {
        return just(invert_if(m.invert, cmp("proto", JmpOp::eq, m.proto)));
    }
    std::optional<DirectMatch> operator()(const ir::AddressMatch& m) const {
        const char* field = m.dir == ir::Dir::src ? "saddr" : "daddr";
        if (m.net.mask == 0) return just(invert_if(m.invert, yes()));
        return just(invert_if(m.invert, cmp(field, JmpOp::eq, m.net.addr, m.net.mask)));
    }
    std::optional<DirectMatch> operator()(const ir::InterfaceMatch& m) const {
        bool src = m.dir == ir::Dir::src;
        DirectMatch d;
        d.kernel_if = cmp(src ? "in_known" : "out_known", JmpOp::eq, 0);
        Cond words{Kind::words};
        words.field = f(src ? "in" : "out");
        words.name = ifname_words(m);
        d.cond = invert_if(m.invert, words);
        return d;
    }
    std::optional<DirectMatch> operator()(const ir::FragmentMatch& m) const {
        return just(invert_if(m.invert, cmp("frag_off", JmpOp::ne, 0, 0x1fff)));
    }
    std::optional<DirectMatch> operator()(const ir::TcpMatch& m) const {
        Cond flags = yes();
        if (m.flags)
            flags = invert_if(m.flags->invert,
                              cmp("tcp_flags", JmpOp::eq, m.flags->value.cmp, m.flags->value.mask));
        Cond head = all({port(m.sport, "sport"), port(m.dport, "dport"), flags});
        DirectMatch d = l4(head, 20);
        if (m.option) {  // the options the entry program parsed (bpft_parse: tcpopt_ok, tcpopts)
            uint8_t k = m.option->value;
            d.hotdrop_if = any({d.hotdrop_if, all({head, cmp("tcpopt_ok", JmpOp::eq, 0)})});
            Cond bit{Kind::cmp};
            bit.field = element("tcpopts", k >> 5, 4), bit.op = JmpOp::ne, bit.value = 0,
            bit.mask = 1u << (k & 31);
            d.cond = all({head, invert_if(m.option->invert, bit)});
        }
        return d;
    }
    std::optional<DirectMatch> operator()(const ir::UdpMatch& m) const {
        return l4(all({port(m.sport, "sport"), port(m.dport, "dport")}), 8);
    }
    std::optional<DirectMatch> operator()(const ir::IcmpMatch& m) const {
        if (m.type == 0xff) return l4(constant(!m.invert), 8);  // xt_icmp: (any) ^ invert
        return l4(invert_if(m.invert, all({cmp("icmp_type", JmpOp::eq, m.type),
                                           in_range("icmp_code", m.code_min, m.code_max)})),
                  8);
    }
    std::optional<DirectMatch> operator()(const ir::MultiportMatch& m) const {
        std::vector<Cond> terms;
        for (const ir::PortRange& r : m.ports) {
            if (m.kind != ir::MultiportKind::dports) terms.push_back(in_range("sport", r.lo, r.hi));
            if (m.kind != ir::MultiportKind::sports) terms.push_back(in_range("dport", r.lo, r.hi));
        }
        return l4(invert_if(m.invert, any(std::move(terms))), 4);
    }
    std::optional<DirectMatch> operator()(const ir::StateMatch& m) const {
        DirectMatch d;
        d.kernel_if = ct_unknown();
        d.cond = invert_if(m.invert, ct_state_has(m.states));
        return d;
    }
    std::optional<DirectMatch> operator()(const ir::ConntrackMatch& m) const {
        // What emit_match decides in BPF (it hands the rest to the kernel before this is asked).
        DirectMatch d;
        d.kernel_if = ct_unknown();
        Cond state = m.state ? invert_if(m.state->invert, ct_state_has(m.state->value)) : yes();
        // Without a connection (INVALID, UNTRACKED, and always in raw) only --ctstate can match.
        Cond tracked = in.before_conntrack
                           ? no()
                           : all({cmp("untracked", JmpOp::eq, 0), cmp("ct_state", JmpOp::ne, 0, 0xe)});
        // The original direction's addresses: the packet's own, or swapped in the reply direction.
        auto orig = [&](const std::optional<ir::Negatable<ir::Ipv4Net>>& n, bool src) {
            if (!n) return yes();
            const char* forward = src ? "saddr" : "daddr";
            const char* reply = src ? "daddr" : "saddr";
            return invert_if(n->invert, any({all({cmp("ct_reply", JmpOp::ne, 0),
                                                  cmp(reply, JmpOp::eq, n->value.addr, n->value.mask)}),
                                             all({cmp("ct_reply", JmpOp::eq, 0),
                                                  cmp(forward, JmpOp::eq, n->value.addr, n->value.mask)})}));
        };
        auto orig6 = [&](const std::optional<ir::Negatable<ir::Ipv6Net>>& n, bool src) {
            if (!n) return yes();
            const char* forward = src ? "saddr6" : "daddr6";
            const char* reply = src ? "daddr6" : "saddr6";
            return invert_if(
                n->invert,
                any({all({cmp("ct_reply", JmpOp::ne, 0), net6(reply, n->value.addr, n->value.mask)}),
                     all({cmp("ct_reply", JmpOp::eq, 0), net6(forward, n->value.addr, n->value.mask)})}));
        };
        bool fields = m.proto || m.orig_src || m.orig_dst || m.orig_src6 || m.orig_dst6;
        if (!fields) {
            d.cond = m.state ? state : tracked;
            return d;
        }
        Cond proto = m.proto ? invert_if(m.proto->invert, cmp("proto", JmpOp::eq, m.proto->value)) : yes();
        d.cond = all({state, tracked, proto, orig(m.orig_src, true), orig(m.orig_dst, false),
                      orig6(m.orig_src6, true), orig6(m.orig_dst6, false)});
        return d;
    }
    std::optional<DirectMatch> operator()(const ir::IpRangeMatch& m) const {
        auto range = [&](const std::optional<ir::Negatable<ir::AddrRange>>& r, const char* name) {
            if (!r) return yes();
            return invert_if(r->invert,
                             all({cmp(name, JmpOp::ge, r->value.lo), cmp(name, JmpOp::le, r->value.hi)}));
        };
        auto range6 = [&](const std::optional<ir::Negatable<ir::Addr6Range>>& r, const char* name) {
            if (!r) return yes();
            return invert_if(r->invert,
                             all({cmp128(name, r->value.lo, true), cmp128(name, r->value.hi, false)}));
        };
        return just(all({range(m.src, "saddr"), range(m.dst, "daddr"), range6(m.src6, "saddr6"),
                         range6(m.dst6, "daddr6")}));
    }
    std::optional<DirectMatch> operator()(const ir::MarkMatch& m) const {
        return just(invert_if(m.invert, cmp("mark", JmpOp::eq, m.value, m.mask)));
    }
    std::optional<DirectMatch> operator()(const ir::CommentMatch&) const { return DirectMatch{}; }
    std::optional<DirectMatch> operator()(const ir::LengthMatch& m) const {
        return just(invert_if(m.invert, in_range("len", m.min, m.max)));
    }
    std::optional<DirectMatch> operator()(const ir::TtlMatch& m) const {
        static const JmpOp ops[] = {JmpOp::eq, JmpOp::ne, JmpOp::lt, JmpOp::gt};
        return just(cmp("ttl", ops[static_cast<int>(m.op)], m.value));
    }
    std::optional<DirectMatch> operator()(const ir::DscpMatch& m) const {
        return just(invert_if(m.invert, cmp("tos", JmpOp::eq, static_cast<uint32_t>(m.dscp) << 2, 0xfc)));
    }
    std::optional<DirectMatch> operator()(const ir::TosMatch& m) const {
        // as xt_tos: the value is not masked (bits outside the mask never match)
        return just(invert_if(m.invert, cmp("tos", JmpOp::eq, m.value, m.mask)));
    }
    std::optional<DirectMatch> operator()(const ir::MacMatch& m) const {
        std::vector<Cond> bytes;
        for (int i = 0; i < 6; ++i) {
            Cond c{Kind::cmp};
            c.field = element("smac", i, 1), c.op = JmpOp::eq, c.value = m.addr[i];
            bytes.push_back(c);
        }
        return just(invert_if(m.invert, all(std::move(bytes))));
    }
    std::optional<DirectMatch> operator()(const ir::PktTypeMatch& m) const {
        return just(invert_if(m.invert, cmp("pkttype", JmpOp::eq, static_cast<uint32_t>(m.type))));
    }
    // emit_match hands a limit before a verdict to the kernel: this is the bucket before LOG or no target.
    std::optional<DirectMatch> operator()(const ir::LimitMatch& m) const {
        Cond c{Kind::limit};
        c.index = static_cast<uint32_t>(in.layout.limits.at({in.gid, in.match_index}));
        c.cost = static_cast<uint64_t>(m.avg) * 100000;  // ns per packet (avg: 1/10000 s)
        c.cap = c.cost * m.burst;
        return just(c);
    }
    std::optional<DirectMatch> operator()(const ir::NftSetMatch& m) const {
        const ir::NftSet* set = in.program.find_nft_set(m.set);
        NftLookup l =
            nft_lookup(m.key, set && set->lpm,
                       static_cast<uint32_t>(kDirectFirstSetMap + in.layout.set_index(m.set)), in.scratch);
        l.checks.cond = all({l.checks.cond, invert_if(m.invert, l.lookup)});
        return l.checks;
    }
    // What emit_match decides in BPF: hash:ip and hash:net of IPv4 addresses, one direction.
    std::optional<DirectMatch> operator()(const ir::SetMatch& m) const {
        Cond c{Kind::in_set};
        c.field = f(m.flags.at(0) == ir::Dir::src ? "saddr" : "daddr");
        c.index = static_cast<uint32_t>(kDirectFirstSetMap + in.layout.set_index(m.name));
        return just(invert_if(m.invert, c));
    }
    // The IPv6 matches (match_emitters.cpp): the entry object's bpft_parse6 walked the extension headers;
    // proto, the ports and the ICMPv6 fields are those after them, exthdrs names the headers met.
    std::optional<DirectMatch> operator()(const ir::Address6Match& m) const {
        return just(
            invert_if(m.invert, net6(m.dir == ir::Dir::src ? "saddr6" : "daddr6", m.net.addr, m.net.mask)));
    }
    std::optional<DirectMatch> operator()(const ir::HlMatch& m) const {
        static const JmpOp ops[] = {JmpOp::eq, JmpOp::ne, JmpOp::lt, JmpOp::gt};
        return just(cmp("ttl", ops[static_cast<int>(m.op)], m.value));  // the hop limit
    }
    std::optional<DirectMatch> operator()(const ir::Icmp6Match& m) const {
        return l4(invert_if(m.invert, all({cmp("icmp_type", JmpOp::eq, m.type),
                                           in_range("icmp_code", m.code_min, m.code_max)})),
                  8);
    }
    std::optional<DirectMatch> operator()(const ir::Ipv6HeaderMatch& m) const {
        // --soft: ((exthdrs ^ headers ^ inv) & headers) == 0; else exthdrs ==/!= headers
        uint32_t inv = m.invert ? 0xff : 0;
        if (m.soft) return just(cmp("exthdrs", JmpOp::eq, (m.headers ^ inv) & m.headers, m.headers));
        return just(cmp("exthdrs", m.invert ? JmpOp::ne : JmpOp::eq, m.headers));
    }
    // frag, hbh, dst, rt, ah: no match without the header; a packet with it meets the kernel.
    DirectMatch absent_header(uint8_t bit) const {
        DirectMatch d;
        d.kernel_if = cmp("exthdrs", JmpOp::ne, 0, bit);
        d.cond = no();
        return d;
    }
    std::optional<DirectMatch> operator()(const ir::FragMatch&) const {
        return absent_header(ir::ip6h::frag);
    }
    std::optional<DirectMatch> operator()(const ir::HbhMatch&) const { return absent_header(ir::ip6h::hop); }
    std::optional<DirectMatch> operator()(const ir::DstMatch&) const { return absent_header(ir::ip6h::dst); }
    std::optional<DirectMatch> operator()(const ir::RtMatch&) const { return absent_header(ir::ip6h::route); }
    std::optional<DirectMatch> operator()(const ir::AhMatch&) const { return absent_header(ir::ip6h::auth); }
    std::optional<DirectMatch> operator()(const ir::MhMatch& m) const {
        // the mobility header's type is the high byte of dport (its third byte); a hotdrop when it is cut
        // short or its payload proto (icmp_type: the first byte) is not IPPROTO_NONE
        DirectMatch d;
        d.hotdrop_if = any({cmp("l4_len", JmpOp::lt, 6), cmp("icmp_type", JmpOp::ne, 59)});
        Cond type{Kind::cmp};
        type.field = element("dport", 1, 1);  // little-endian host: the high byte of the u16
        std::vector<Cond> range;
        if (m.lo == m.hi) {
            type.op = JmpOp::eq, type.value = m.lo;
            range.push_back(type);
        } else {
            Cond lo = type, hi = type;
            lo.op = JmpOp::ge, lo.value = m.lo;
            hi.op = JmpOp::le, hi.value = m.hi;
            range = {lo, hi};
        }
        d.cond = invert_if(m.invert, all(std::move(range)));
        return d;
    }
    // bpft_addr_local (bpf/bpftables.bpf.h); the other address types are the kernel's (emit_match hands
    // them over before this is asked).
    std::optional<DirectMatch> operator()(const ir::AddrTypeMatch& m) const {
        std::vector<Cond> parts;
        for (const auto& [type, name] : {std::pair{m.src, "saddr"}, std::pair{m.dst, "daddr"}}) {
            if (!type) continue;
            Cond lookup{Kind::local};
            lookup.field = f(name);
            lookup.index = static_cast<uint32_t>(kDirectLocalMap);
            Cond local = all({cmp(name, JmpOp::ne, 0, 0xff000000), cmp(name, JmpOp::ne, 0xffffffff),
                              cmp(name, JmpOp::ne, 0xe0000000, 0xf0000000), lookup});
            parts.push_back(invert_if(type->invert, local));
        }
        return just(all(std::move(parts)));
    }
    std::optional<DirectMatch> operator()(const ir::OpaqueMatch&) const { return std::nullopt; }
};

JmpOp inverse(JmpOp op) {
    switch (op) {
        case JmpOp::eq:
            return JmpOp::ne;
        case JmpOp::ne:
            return JmpOp::eq;
        case JmpOp::gt:
            return JmpOp::le;
        case JmpOp::ge:
            return JmpOp::lt;
        case JmpOp::lt:
            return JmpOp::ge;
        case JmpOp::le:
            return JmpOp::gt;
        default:
            return op;  // not used by conditions
    }
}

insn::Size size_of(const ScratchField& f) {
    switch (f.size) {
        case 1:
            return insn::Size::u8;
        case 2:
            return insn::Size::u16;
        case 8:
            return insn::Size::u64;
        default:
            return insn::Size::u32;
    }
}

}  // namespace

NftLookup nft_lookup(const std::vector<ir::KeyPart>& key, bool lpm, uint32_t map_index,
                     const ScratchLayout& scratch) {
    NftLookup out;
    out.lookup.kind = Kind::lookup;
    out.lookup.index = map_index;
    out.lookup.lpm = lpm;
    std::vector<Cond> kernel, protos;
    auto cmp = [&](const char* name, JmpOp op, uint32_t value) {
        Cond c{Kind::cmp};
        c.field = scratch.at(name), c.op = op, c.value = value;
        return c;
    };
    using How = Cond::KeyLoad::How;
    for (const ir::KeyPart& k : key) {
        switch (k.field) {
            case ir::KeyField::saddr:
            case ir::KeyField::daddr:
                out.lookup.key.push_back(
                    {scratch.at(k.field == ir::KeyField::saddr ? "saddr" : "daddr"), How::addr});
                break;
            case ir::KeyField::l4proto:
                out.lookup.key.push_back({scratch.at("proto"), How::byte});
                break;
            case ir::KeyField::sport:
            case ir::KeyField::dport:
                out.checks.hotdrop_if = cmp("l4_len", JmpOp::lt, 4);
                if (k.proto) protos.push_back(cmp("proto", JmpOp::eq, k.proto));
                out.lookup.key.push_back(
                    {scratch.at(k.field == ir::KeyField::sport ? "sport" : "dport"), How::port});
                break;
            case ir::KeyField::iifname:
            case ir::KeyField::oifname: {
                bool in = k.field == ir::KeyField::iifname;
                kernel.push_back(cmp(in ? "in_known" : "out_known", JmpOp::eq, 0));
                out.lookup.key.push_back({scratch.at(in ? "in" : "out"), How::name});
                break;
            }
        }
    }
    out.checks.kernel_if = any(std::move(kernel));
    out.checks.cond = all(std::move(protos));
    return out;
}

std::optional<DirectMatch> direct_match(const ir::Match& match, const MatchInput& in) {
    return std::visit(Matches{in}, match);
}

std::string CondEmitter::fresh() {
    return prefix_ + "_c" + std::to_string(next_++);
}

void CondEmitter::jump_if(const Cond& c, bool when, const std::string& target) {
    using namespace insn;
    switch (c.kind) {
        case Kind::yes:
        case Kind::no:
            if ((c.kind == Kind::yes) == when) p_.emit(Goto{target});
            return;
        case Kind::negate:
            jump_if(c.parts[0], !when, target);
            return;
        case Kind::cmp: {
            p_.emit(Load{size_of(c.field), false, Reg::r1, Reg::r6, c.field.off});
            if (c.mask != 0xffffffff)
                p_.emit(Alu{AluOp::and_, Width::w32, Reg::r1, static_cast<int32_t>(c.mask)});
            p_.emit(Jump{when ? c.op : inverse(c.op), Width::w32, Reg::r1, static_cast<int32_t>(c.value),
                         target});
            return;
        }
        case Kind::words: {
            // ((w0 ^ word0) & mask0) | ((w1 ^ word1) & mask1) == 0; a word under a zero mask is not read
            // ("eth+" tests one word, "+" none).
            bool first = true;
            for (int i = 0; i < 2; ++i) {
                if (c.name.mask[i] == 0) continue;
                Reg r = first ? Reg::r1 : Reg::r3;
                p_.emit(Load{Size::u64, false, r, Reg::r6, static_cast<int16_t>(c.field.off + 8 * i)});
                p_.emit(LoadImm64::value(Reg::r2, c.name.word[i]));
                p_.emit(Alu{AluOp::xor_, Width::w64, r, Reg::r2});
                p_.emit(LoadImm64::value(Reg::r2, c.name.mask[i]));
                p_.emit(Alu{AluOp::and_, Width::w64, r, Reg::r2});
                if (!first) p_.emit(Alu{AluOp::or_, Width::w64, Reg::r1, Reg::r3});
                first = false;
            }
            if (first) {  // no byte compared: every name matches
                if (when) p_.emit(Goto{target});
                return;
            }
            p_.emit(Jump{when ? JmpOp::eq : JmpOp::ne, Width::w64, Reg::r1, 0, target});
            return;
        }
        case Kind::limit:
            limit(c, when, target);
            return;
        case Kind::in_set:
            in_set(c, when, target);
            return;
        case Kind::local:
            local(c, when, target);
            return;
        case Kind::lookup:
            map_lookup(c);
            p_.emit(Jump{when ? JmpOp::ne : JmpOp::eq, Width::w64, Reg::r0, 0, target});
            return;
        case Kind::all:
        case Kind::any: {
            // all/false and any/true: any part decides; otherwise the last part decides.
            bool each_decides = (c.kind == Kind::all) != when;
            if (each_decides) {
                for (const Cond& part : c.parts) jump_if(part, when, target);
                return;
            }
            std::string skip = fresh();
            for (size_t i = 0; i + 1 < c.parts.size(); ++i) jump_if(c.parts[i], !when, skip);
            jump_if(c.parts.back(), when, target);
            p_.label(skip);
            return;
        }
    }
}

// bpft_limit (bpf/bpftables.bpf.h), xt_limit's arithmetic on nanoseconds: under the state's spin lock, the
// credit grows by the time since the last packet up to the capacity (a first packet finds it full), and a
// packet that finds a packet's cost in it takes it and matches. r7 the state, r8 the time, r9 the result.
void CondEmitter::limit(const Cond& c, bool when, const std::string& target) {
    using namespace insn;
    std::string decided = fresh(), refill = fresh(), have = fresh(), store = fresh();
    p_.emit(Store{Size::u32, Reg::r10, -8, static_cast<int32_t>(c.index)});
    p_.emit(LoadImm64{Reg::r1, ImmSource::map_idx, kDirectLimitsMap, 0, {}});
    p_.emit(Mov{Width::w64, Reg::r2, Reg::r10});
    p_.emit(Alu{AluOp::add, Width::w64, Reg::r2, -8});
    p_.emit(CallHelper{1});  // bpf_map_lookup_elem
    p_.emit(Mov{Width::w64, Reg::r9, 0});
    p_.emit(Jump{JmpOp::eq, Width::w64, Reg::r0, 0, decided});
    p_.emit(Mov{Width::w64, Reg::r7, Reg::r0});
    p_.emit(CallHelper{5});  // bpf_ktime_get_ns
    p_.emit(Mov{Width::w64, Reg::r8, Reg::r0});
    p_.emit(Mov{Width::w64, Reg::r1, Reg::r7});
    p_.emit(CallHelper{93});  // bpf_spin_lock
    p_.emit(Load{Size::u64, false, Reg::r2, Reg::r7, kLimitCreditOff});
    p_.emit(Load{Size::u64, false, Reg::r1, Reg::r7, kLimitLastOff});
    p_.emit(LoadImm64::value(Reg::r3, c.cap));
    p_.emit(Jump{JmpOp::ne, Width::w64, Reg::r1, 0, refill});
    p_.emit(Mov{Width::w64, Reg::r2, Reg::r3});
    p_.emit(Goto{have});
    p_.label(refill);
    p_.emit(Mov{Width::w64, Reg::r4, Reg::r8});
    p_.emit(Alu{AluOp::sub, Width::w64, Reg::r4, Reg::r1});
    p_.emit(Alu{AluOp::add, Width::w64, Reg::r2, Reg::r4});
    p_.emit(Jump{JmpOp::le, Width::w64, Reg::r2, Reg::r3, have});
    p_.emit(Mov{Width::w64, Reg::r2, Reg::r3});
    p_.label(have);
    p_.emit(Store{Size::u64, Reg::r7, kLimitLastOff, Reg::r8});
    p_.emit(LoadImm64::value(Reg::r3, c.cost));
    p_.emit(Jump{JmpOp::lt, Width::w64, Reg::r2, Reg::r3, store});
    p_.emit(Alu{AluOp::sub, Width::w64, Reg::r2, Reg::r3});
    p_.emit(Mov{Width::w64, Reg::r9, 1});
    p_.label(store);
    p_.emit(Store{Size::u64, Reg::r7, kLimitCreditOff, Reg::r2});
    p_.emit(Mov{Width::w64, Reg::r1, Reg::r7});
    p_.emit(CallHelper{94});  // bpf_spin_unlock
    p_.label(decided);
    p_.emit(Jump{when ? JmpOp::ne : JmpOp::eq, Width::w64, Reg::r9, 0, target});
}

// bpft_in_set: the address, network order, under a /32 key of the set's LPM trie.
void CondEmitter::in_set(const Cond& c, bool when, const std::string& target) {
    lookup(c);
    p_.emit(insn::Jump{when ? insn::JmpOp::ne : insn::JmpOp::eq, insn::Width::w64, insn::Reg::r0, 0, target});
}

// bpft_addr_local's lookup: the value of the address's longest local route is 2 (RTN_LOCAL of the local
// table); its checks before the lookup are `cmp` conditions beside this one (direct_match).
void CondEmitter::local(const Cond& c, bool when, const std::string& target) {
    using namespace insn;
    lookup(c);
    std::string skip = when ? fresh() : target;
    p_.emit(Jump{JmpOp::eq, Width::w64, Reg::r0, 0, skip});
    p_.emit(Load{Size::u8, false, Reg::r1, Reg::r0, 0});
    p_.emit(Jump{when ? JmpOp::eq : JmpOp::ne, Width::w32, Reg::r1, 2, target});
    if (when) p_.label(skip);
}

// The key just below the slots of lookup and limit (r10 - 16), 8-byte aligned, so that a function's stack
// grows only by its key (at most ir::max_key_size bytes; the verifier bounds the stack of a call chain): each
// field as match_emitters.cpp's nft_lookup_code writes it (addresses and ports in network order in a 4-byte
// word, a protocol in its first byte, an interface name's two words), or (32, address) for an LPM trie.
void CondEmitter::map_lookup(const Cond& c) {
    using namespace insn;
    using How = Cond::KeyLoad::How;
    int size = c.lpm ? 4 : 0;
    for (const Cond::KeyLoad& k : c.key) size += k.how == How::name ? 16 : 4;
    const auto base = static_cast<int16_t>(-16 - (size + 7) / 8 * 8);
    int16_t off = base;
    if (c.lpm) {
        p_.emit(Store{Size::u32, Reg::r10, off, 32});
        off += 4;
    }
    for (const Cond::KeyLoad& k : c.key) {
        switch (k.how) {
            case How::addr:
                p_.emit(Load{size_of(k.field), false, Reg::r1, Reg::r6, k.field.off});
                p_.emit(ByteSwap{Endian::to_be, 32, Reg::r1});
                p_.emit(Store{Size::u32, Reg::r10, off, Reg::r1});
                off += 4;
                break;
            case How::byte:
                p_.emit(Load{size_of(k.field), false, Reg::r1, Reg::r6, k.field.off});
                p_.emit(Store{Size::u32, Reg::r10, off, Reg::r1});
                off += 4;
                break;
            case How::port:
                p_.emit(Load{size_of(k.field), false, Reg::r1, Reg::r6, k.field.off});
                p_.emit(ByteSwap{Endian::to_be, 16, Reg::r1});
                p_.emit(Store{Size::u32, Reg::r10, off, Reg::r1});
                off += 4;
                break;
            case How::name:
                for (int16_t i = 0; i < 2; ++i) {
                    p_.emit(
                        Load{Size::u64, false, Reg::r1, Reg::r6, static_cast<int16_t>(k.field.off + 8 * i)});
                    p_.emit(Store{Size::u64, Reg::r10, static_cast<int16_t>(off + 8 * i), Reg::r1});
                }
                off += 16;
                break;
        }
    }
    if (off - base > static_cast<int16_t>(ir::max_key_size)) throw std::logic_error("an nft key too long");
    p_.emit(LoadImm64{Reg::r1, ImmSource::map_idx, static_cast<int32_t>(c.index), 0, {}});
    p_.emit(Mov{Width::w64, Reg::r2, Reg::r10});
    p_.emit(Alu{AluOp::add, Width::w64, Reg::r2, base});
    p_.emit(CallHelper{1});  // bpf_map_lookup_elem
}

// r0: the value of the address (network order) under a /32 key of the LPM trie at fd_array index c.index.
void CondEmitter::lookup(const Cond& c) {
    using namespace insn;
    p_.emit(Store{Size::u32, Reg::r10, -16, 32});
    p_.emit(Load{size_of(c.field), false, Reg::r1, Reg::r6, c.field.off});
    p_.emit(ByteSwap{Endian::to_be, 32, Reg::r1});
    p_.emit(Store{Size::u32, Reg::r10, -12, Reg::r1});
    p_.emit(LoadImm64{Reg::r1, ImmSource::map_idx, static_cast<int32_t>(c.index), 0, {}});
    p_.emit(Mov{Width::w64, Reg::r2, Reg::r10});
    p_.emit(Alu{AluOp::add, Width::w64, Reg::r2, -16});
    p_.emit(CallHelper{1});  // bpf_map_lookup_elem
}

}  // namespace bpftables::codegen::direct
