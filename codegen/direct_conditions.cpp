// The direct back end's matches as conditions, and conditions as jumps (direct_conditions.hpp). Each
// operator() mirrors its twin in match_emitters.cpp: the same fields, tests and short-header checks.
#include "codegen/direct_conditions.hpp"

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
        bool fields = m.proto || m.orig_src || m.orig_dst;
        if (!fields) {
            d.cond = m.state ? state : tracked;
            return d;
        }
        Cond proto = m.proto ? invert_if(m.proto->invert, cmp("proto", JmpOp::eq, m.proto->value)) : yes();
        d.cond = all({state, tracked, proto, orig(m.orig_src, true), orig(m.orig_dst, false)});
        return d;
    }
    std::optional<DirectMatch> operator()(const ir::IpRangeMatch& m) const {
        if (m.src6 || m.dst6) return std::nullopt;
        auto range = [&](const std::optional<ir::Negatable<ir::AddrRange>>& r, const char* name) {
            if (!r) return yes();
            return invert_if(r->invert,
                             all({cmp(name, JmpOp::ge, r->value.lo), cmp(name, JmpOp::le, r->value.hi)}));
        };
        return just(all({range(m.src, "saddr"), range(m.dst, "daddr")}));
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
    // Not emitted yet (limit's token bucket, sets, IPv6, ...): the caller refuses the rule. The C back end
    // emits every kind (match_emitters.cpp, whose visitor has no fallback).
    template <class Other>
    std::optional<DirectMatch> operator()(const Other&) const {
        return std::nullopt;
    }
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

}  // namespace bpftables::codegen::direct
