#include "codegen/insn/print.hpp"

#include <array>
#include <cstdio>
#include <map>

#include "codegen/insn/encode.hpp"

namespace bpftables::codegen::insn {
namespace {

template <class... F>
struct Overload : F... {
    using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

constexpr std::array<const char*, 13> kAluOps = {
    "+=", "-=", "*=", "/=", "s/=", "%=", "s%=", "|=", "&=", "^=", "<<=", ">>=", "s>>="};
constexpr std::array<const char*, 11> kJmpOps = {
    "==", "!=", ">", ">=", "<", "<=", "s>", "s>=", "s<", "s<=", "&"};
constexpr std::array<const char*, 4> kSizes = {"u8", "u16", "u32", "u64"};
constexpr std::array<const char*, 4> kSignedSizes = {"s8", "s16", "s32", "s64"};
constexpr std::array<const char*, 4> kAtomicOps = {"+=", "|=", "&=", "^="};
constexpr std::array<const char*, 4> kFetchOps = {"add", "or", "and", "xor"};

size_t idx(auto e) {
    return static_cast<size_t>(e);
}

std::string reg(Reg r, Width w = Width::w64) {
    return (w == Width::w64 ? "r" : "w") + std::to_string(static_cast<int>(r));
}

std::string operand(const Operand& o, Width w) {
    if (const Reg* r = std::get_if<Reg>(&o)) return reg(*r, w);
    return std::to_string(std::get<int32_t>(o));
}

// (r6 + 4), (r10 - 4)
std::string address(Reg base, int16_t off) {
    std::string s = "(" + reg(base) + (off < 0 ? " - " : " + ");
    return s + std::to_string(off < 0 ? -static_cast<int32_t>(off) : off) + ")";
}

std::string signed_offset(int64_t off) {
    return (off < 0 ? "" : "+") + std::to_string(off);
}

}  // namespace

std::string to_string(const Insn& insn, int64_t offset) {
    return std::visit(
        Overload{
            [](const Alu& a) {
                return reg(a.dst, a.width) + " " + kAluOps[idx(a.op)] + " " + operand(a.src, a.width);
            },
            [](const Neg& n) { return reg(n.dst, n.width) + " = -" + reg(n.dst, n.width); },
            [](const Mov& m) {
                std::string cast = m.sign_extend_from ? "(s" + std::to_string(m.sign_extend_from) + ")" : "";
                return reg(m.dst, m.width) + " = " + cast + operand(m.src, m.width);
            },
            [](const ByteSwap& b) {
                const char* name = b.order == Endian::to_le   ? "le"
                                   : b.order == Endian::to_be ? "be"
                                                              : "bswap";
                return reg(b.dst) + " = " + name + std::to_string(b.bits) + " " + reg(b.dst);
            },
            [&](const LoadImm64& l) {
                std::string v;
                switch (l.source) {
                    case ImmSource::plain:
                        v = std::to_string(static_cast<int64_t>(l.value()));
                        break;
                    case ImmSource::map_fd:
                        v = "map_fd(" + std::to_string(l.imm) + ")";
                        break;
                    case ImmSource::map_value:
                        v = "map_value(" + std::to_string(l.imm) + ", " + std::to_string(l.next_imm) + ")";
                        break;
                    case ImmSource::btf_id:
                        v = "btf_id(" + std::to_string(l.imm) + ", " + std::to_string(l.next_imm) + ")";
                        break;
                    case ImmSource::func:
                        v = "func(" + signed_offset(offset) + ")";
                        break;
                    case ImmSource::map_idx:
                        v = "map_idx(" + std::to_string(l.imm) + ")";
                        break;
                    case ImmSource::map_idx_value:
                        v = "map_idx_value(" + std::to_string(l.imm) + ", " + std::to_string(l.next_imm) +
                            ")";
                        break;
                }
                return reg(l.dst) + " = " + v + " ll";
            },
            [](const Load& l) {
                const char* size = l.sign_extend ? kSignedSizes[idx(l.size)] : kSizes[idx(l.size)];
                return reg(l.dst) + " = *(" + size + " *)" + address(l.base, l.off);
            },
            [](const Store& s) {
                return std::string("*(") + kSizes[idx(s.size)] + " *)" + address(s.base, s.off) + " = " +
                       operand(s.src, Width::w64);
            },
            [](const Atomic& a) {
                Width w = a.size == Size::u32 ? Width::w32 : Width::w64;
                std::string mem = std::string(kSizes[idx(a.size)]) + " *)" + address(a.base, a.off);
                std::string plain = address(a.base, a.off);  // "(r2 + 0)"
                std::string inner = plain.substr(1, plain.size() - 2);
                switch (a.op) {
                    case AtomicOp::xchg:
                        return reg(a.src, w) + " = xchg" + (w == Width::w32 ? "32_32(" : "_64(") + inner +
                               ", " + reg(a.src, w) + ")";
                    case AtomicOp::cmpxchg:
                        return reg(Reg::r0, w) + " = cmpxchg" + (w == Width::w32 ? "32_32(" : "_64(") +
                               inner + ", " + reg(Reg::r0, w) + ", " + reg(a.src, w) + ")";
                    default:
                        if (a.fetch)
                            return reg(a.src, w) + " = atomic_fetch_" + kFetchOps[idx(a.op)] + "((" + mem +
                                   ", " + reg(a.src, w) + ")";
                        // LLVM 14 prints the register as rN also for 32 bits.
                        return "lock *(" + mem + " " + kAtomicOps[idx(a.op)] + " " + reg(a.src);
                }
            },
            [&](const Jump& j) {
                return "if " + reg(j.dst, j.width) + " " + kJmpOps[idx(j.op)] + " " +
                       operand(j.src, j.width) + " goto " + signed_offset(offset);
            },
            [&](const Goto& g) { return std::string(g.wide ? "gotol " : "goto ") + signed_offset(offset); },
            [](const CallHelper& c) { return "call " + std::to_string(c.id); },
            [](const CallKfunc& c) {
                return "call kfunc(" + std::to_string(c.btf_id) + ", " + std::to_string(c.fd_index) + ")";
            },
            [&](const CallLocal&) { return "call " + std::to_string(offset); },
            [](const Exit&) { return std::string("exit"); },
        },
        insn);
}

std::string listing(const Program& program) {
    std::vector<size_t> starts = slot_starts(program);
    std::multimap<size_t, std::string> labels_at;
    for (const auto& [name, at] : program.labels) labels_at.emplace(at, name);
    auto target_of = [&](const Insn& i) -> const std::string* {
        return std::visit(
            Overload{[](const Jump& j) { return &j.target; }, [](const Goto& g) { return &g.target; },
                     [](const CallLocal& c) { return &c.target; },
                     [](const LoadImm64& l) { return l.source == ImmSource::func ? &l.label : nullptr; },
                     [](const auto&) -> const std::string* { return nullptr; }},
            i);
    };
    std::string out;
    char num[32];
    for (size_t n = 0; n <= program.insns.size(); ++n) {
        for (auto [it, end] = labels_at.equal_range(n); it != end; ++it) out += "<" + it->second + ">:\n";
        if (n == program.insns.size()) break;
        const Insn& i = program.insns[n];
        std::string text;
        if (const std::string* target = target_of(i)) {
            auto it = program.labels.find(*target);
            if (it == program.labels.end() || it->second >= starts.size()) {
                text = to_string(i, 0) + " <" + *target + ": not placed>";
            } else {
                int64_t off = static_cast<int64_t>(starts[it->second]) - static_cast<int64_t>(starts[n] + 1);
                text = to_string(i, off);
                if (!std::holds_alternative<LoadImm64>(i) && !std::holds_alternative<CallLocal>(i))
                    text += " <" + *target + ">";
            }
        } else {
            text = to_string(i);
        }
        std::snprintf(num, sizeof num, "%8zu:\t", starts[n]);
        out += num + text + "\n";
    }
    return out;
}

}  // namespace bpftables::codegen::insn
