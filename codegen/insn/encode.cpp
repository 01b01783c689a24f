#include "codegen/insn/encode.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>
#include <type_traits>

namespace bpftables::codegen::insn {
namespace {

#ifndef BPF_MEMSX
constexpr uint8_t BPF_MEMSX = 0x80;  // cpu v4 sign-extending load; newer than Debian 12's linux/bpf.h
#endif

template <class... F>
struct Overload : F... {
    using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

constexpr std::array<uint8_t, 13> kAluCodes = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_DIV, BPF_MOD, BPF_MOD,
                                               BPF_OR,  BPF_AND, BPF_XOR, BPF_LSH, BPF_RSH, BPF_ARSH};
constexpr std::array<uint8_t, 11> kJmpCodes = {BPF_JEQ,  BPF_JNE,  BPF_JGT,  BPF_JGE,  BPF_JLT, BPF_JLE,
                                               BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET};
constexpr std::array<uint8_t, 4> kSizeCodes = {BPF_B, BPF_H, BPF_W, BPF_DW};
constexpr std::array<int32_t, 6> kAtomicCodes = {BPF_ADD, BPF_OR, BPF_AND, BPF_XOR, BPF_XCHG, BPF_CMPXCHG};
constexpr std::array<uint8_t, 7> kPseudo = {0,
                                            BPF_PSEUDO_MAP_FD,
                                            BPF_PSEUDO_MAP_VALUE,
                                            BPF_PSEUDO_BTF_ID,
                                            BPF_PSEUDO_FUNC,
                                            BPF_PSEUDO_MAP_IDX,
                                            BPF_PSEUDO_MAP_IDX_VALUE};

uint8_t reg(Reg r) {
    return static_cast<uint8_t>(r);
}
size_t idx(auto e) {
    return static_cast<size_t>(e);
}

bpf_insn make(uint8_t code, uint8_t dst = 0, uint8_t src = 0, int16_t off = 0, int32_t imm = 0) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst;
    i.src_reg = src;
    i.off = off;
    i.imm = imm;
    return i;
}

// The source bit and the fields of an Operand.
struct Src {
    uint8_t bit, reg;
    int32_t imm;
};
Src source(const Operand& o) {
    if (const Reg* r = std::get_if<Reg>(&o)) return {BPF_X, reg(*r), 0};
    return {BPF_K, 0, std::get<int32_t>(o)};
}

uint8_t alu_class(Width w) {
    return w == Width::w64 ? BPF_ALU64 : BPF_ALU;
}
uint8_t jmp_class(Width w) {
    return w == Width::w64 ? BPF_JMP : BPF_JMP32;
}

}  // namespace

std::vector<size_t> slot_starts(const Program& program) {
    std::vector<size_t> starts;
    starts.reserve(program.insns.size() + 1);
    size_t slot = 0;
    for (const Insn& i : program.insns) starts.push_back(slot), slot += slots(i);
    starts.push_back(slot);
    return starts;
}

std::optional<std::vector<bpf_insn>> assemble(const Program& program, std::string& error) {
    std::vector<size_t> starts = slot_starts(program);
    std::vector<bpf_insn> out;
    out.reserve(starts.back());
    size_t n = 0;  // the instruction being encoded
    // The offset from the slot after instruction n's first one to `label`, checked against [lo, hi].
    auto offset = [&](const std::string& label, int64_t lo, int64_t hi) -> std::optional<int64_t> {
        auto it = program.labels.find(label);
        if (it == program.labels.end()) {
            error = "instruction " + std::to_string(n) + ": unknown label '" + label + "'";
            return std::nullopt;
        }
        if (it->second >= program.insns.size()) {
            error =
                "instruction " + std::to_string(n) + ": label '" + label + "' is past the last instruction";
            return std::nullopt;
        }
        int64_t off = static_cast<int64_t>(starts[it->second]) - static_cast<int64_t>(starts[n] + 1);
        if (off < lo || off > hi) {
            error = "instruction " + std::to_string(n) + ": label '" + label + "' is " + std::to_string(off) +
                    " slots away, out of range";
            return std::nullopt;
        }
        return off;
    };
    constexpr int64_t s16min = std::numeric_limits<int16_t>::min(),
                      s16max = std::numeric_limits<int16_t>::max();
    constexpr int64_t s32min = std::numeric_limits<int32_t>::min(),
                      s32max = std::numeric_limits<int32_t>::max();
    // Fields that no encoding expresses: refused here, as decode refuses them.
    auto invalid = [&](const char* why) {
        error = "instruction " + std::to_string(n) + ": " + why;
        return false;
    };
    for (; n < program.insns.size(); ++n) {
        bool ok = std::visit(
            Overload{
                [&](const Alu& a) {
                    Src s = source(a.src);
                    int16_t off = a.op == AluOp::sdiv || a.op == AluOp::smod ? 1 : 0;
                    out.push_back(make(alu_class(a.width) | s.bit | kAluCodes[idx(a.op)], reg(a.dst), s.reg,
                                       off, s.imm));
                    return true;
                },
                [&](const Neg& a) {
                    out.push_back(make(alu_class(a.width) | BPF_NEG | BPF_K, reg(a.dst)));
                    return true;
                },
                [&](const Mov& m) {
                    uint8_t sx = m.sign_extend_from;
                    if (sx && (!std::holds_alternative<Reg>(m.src) || (sx != 8 && sx != 16 && sx != 32) ||
                               (sx == 32 && m.width == Width::w32)))
                        return invalid(
                            "sign extension from 8 or 16 bits (32 for r registers) of a register only");
                    Src s = source(m.src);
                    out.push_back(make(alu_class(m.width) | s.bit | BPF_MOV, reg(m.dst), s.reg,
                                       m.sign_extend_from, s.imm));
                    return true;
                },
                [&](const ByteSwap& b) {
                    if (b.bits != 16 && b.bits != 32 && b.bits != 64)
                        return invalid("byte swap of 16, 32 or 64 bits");
                    uint8_t cls = b.order == Endian::swap ? BPF_ALU64 : BPF_ALU;
                    uint8_t bit = b.order == Endian::to_be ? BPF_TO_BE : BPF_TO_LE;
                    out.push_back(make(cls | BPF_END | bit, reg(b.dst), 0, 0, b.bits));
                    return true;
                },
                [&](const LoadImm64& l) {
                    int32_t imm = l.imm;
                    if (l.source == ImmSource::func) {
                        std::optional<int64_t> off = offset(l.label, s32min, s32max);
                        if (!off) return false;
                        imm = static_cast<int32_t>(*off);
                    }
                    out.push_back(
                        make(BPF_LD | BPF_DW | BPF_IMM, reg(l.dst), kPseudo[idx(l.source)], 0, imm));
                    out.push_back(make(0, 0, 0, 0, l.next_imm));
                    return true;
                },
                [&](const Load& l) {
                    if (l.sign_extend && l.size == Size::u64)
                        return invalid("sign-extending load of 64 bits");
                    uint8_t mode = l.sign_extend ? BPF_MEMSX : BPF_MEM;
                    out.push_back(
                        make(BPF_LDX | mode | kSizeCodes[idx(l.size)], reg(l.dst), reg(l.base), l.off));
                    return true;
                },
                [&](const Store& s) {
                    Src src = source(s.src);
                    uint8_t cls = src.bit == BPF_X ? BPF_STX : BPF_ST;
                    out.push_back(
                        make(cls | BPF_MEM | kSizeCodes[idx(s.size)], reg(s.base), src.reg, s.off, src.imm));
                    return true;
                },
                [&](const Atomic& a) {
                    if (a.size != Size::u32 && a.size != Size::u64)
                        return invalid("atomic operation on 8 or 16 bits");
                    int32_t imm = kAtomicCodes[idx(a.op)];
                    if (a.fetch) imm |= BPF_FETCH;
                    out.push_back(make(BPF_STX | BPF_ATOMIC | kSizeCodes[idx(a.size)], reg(a.base),
                                       reg(a.src), a.off, imm));
                    return true;
                },
                [&](const Jump& j) {
                    std::optional<int64_t> off = offset(j.target, s16min, s16max);
                    if (!off) return false;
                    Src s = source(j.src);
                    out.push_back(make(jmp_class(j.width) | s.bit | kJmpCodes[idx(j.op)], reg(j.dst), s.reg,
                                       static_cast<int16_t>(*off), s.imm));
                    return true;
                },
                [&](const Goto& g) {
                    std::optional<int64_t> off =
                        g.wide ? offset(g.target, s32min, s32max) : offset(g.target, s16min, s16max);
                    if (!off) return false;
                    if (g.wide)
                        out.push_back(make(BPF_JMP32 | BPF_JA, 0, 0, 0, static_cast<int32_t>(*off)));
                    else
                        out.push_back(make(BPF_JMP | BPF_JA, 0, 0, static_cast<int16_t>(*off)));
                    return true;
                },
                [&](const CallHelper& c) {
                    out.push_back(make(BPF_JMP | BPF_CALL, 0, 0, 0, c.id));
                    return true;
                },
                [&](const CallKfunc& c) {
                    out.push_back(make(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, c.fd_index, c.btf_id));
                    return true;
                },
                [&](const CallLocal& c) {
                    std::optional<int64_t> off = offset(c.target, s32min, s32max);
                    if (!off) return false;
                    out.push_back(
                        make(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, static_cast<int32_t>(*off)));
                    return true;
                },
                [&](const Exit&) {
                    out.push_back(make(BPF_JMP | BPF_EXIT));
                    return true;
                },
            },
            program.insns[n]);
        if (!ok) return std::nullopt;
    }
    return out;
}

namespace {

// Decodes one instruction at `slot` (with its second slot for LD_IMM64); the target of a jump or call is
// returned as a slot number in `target` and named by the caller.
class Decoder {
  public:
    Decoder(std::span<const bpf_insn> code, std::string& error) : code_(code), error_(error) {}

    std::optional<Program> run() {
        Program p;
        std::vector<std::pair<size_t, int64_t>> targets;  // (instruction index, target slot)
        std::vector<size_t> starts;
        for (size_t slot = 0; slot < code_.size();) {
            int64_t target = -1;
            std::optional<Insn> i = one(slot, target);
            if (!i) return std::nullopt;
            if (target != -1) targets.emplace_back(p.insns.size(), target);
            starts.push_back(slot);
            slot += slots(*i);
            p.insns.push_back(std::move(*i));
        }
        for (auto [n, target] : targets) {
            auto it = std::lower_bound(starts.begin(), starts.end(), static_cast<size_t>(target));
            if (target < 0 || it == starts.end() || *it != static_cast<size_t>(target)) {
                error_ = "slot " + std::to_string(starts[n]) + ": target " + std::to_string(target) +
                         " is not the start of an instruction";
                return std::nullopt;
            }
            std::string name = "L" + std::to_string(target);
            p.labels.emplace(name, static_cast<size_t>(it - starts.begin()));
            std::visit(Overload{[&](Jump& j) { j.target = name; }, [&](Goto& g) { g.target = name; },
                                [&](CallLocal& c) { c.target = name; }, [&](LoadImm64& l) { l.label = name; },
                                [](auto&) {}},
                       p.insns[n]);
        }
        return p;
    }

  private:
    std::optional<Insn> bad(size_t slot, const char* why) {
        char code[8];
        std::snprintf(code, sizeof code, "0x%02x", code_[slot].code);
        error_ = "slot " + std::to_string(slot) + " (opcode " + code + "): " + why;
        return std::nullopt;
    }

    static std::optional<Reg> reg_of(uint8_t r) {
        if (r > 10) return std::nullopt;
        return static_cast<Reg>(r);
    }

    template <class T, size_t N>
    static std::optional<T> find(const std::array<uint8_t, N>& codes, uint8_t code) {
        for (size_t i = 0; i < N; ++i)
            if (codes[i] == code) return static_cast<T>(i);
        return std::nullopt;
    }

    std::optional<Insn> one(size_t slot, int64_t& target) {
        const bpf_insn& i = code_[slot];
        uint8_t cls = BPF_CLASS(i.code);
        std::optional<Reg> dst = reg_of(i.dst_reg), src = reg_of(i.src_reg);
        if (!dst || !src) return bad(slot, "register out of range");
        bool x = BPF_SRC(i.code) == BPF_X;
        // Operand: register (imm must be 0) or immediate (src_reg must be 0).
        auto operand = [&]() -> std::optional<Operand> {
            if (x) return i.imm == 0 ? std::optional<Operand>(*src) : std::nullopt;
            return i.src_reg == 0 ? std::optional<Operand>(i.imm) : std::nullopt;
        };
        switch (cls) {
            case BPF_ALU:
            case BPF_ALU64: {
                Width w = cls == BPF_ALU64 ? Width::w64 : Width::w32;
                uint8_t op = BPF_OP(i.code);
                if (op == BPF_NEG) {
                    if (x || i.src_reg || i.off || i.imm) return bad(slot, "unexpected fields in neg");
                    return Neg{w, *dst};
                }
                if (op == BPF_END) {
                    if (i.src_reg || i.off || (i.imm != 16 && i.imm != 32 && i.imm != 64))
                        return bad(slot, "bad byte swap");
                    Endian e = cls == BPF_ALU64 ? Endian::swap : x ? Endian::to_be : Endian::to_le;
                    if (cls == BPF_ALU64 && x) return bad(slot, "bad byte swap");
                    return ByteSwap{e, static_cast<uint8_t>(i.imm), *dst};
                }
                std::optional<Operand> s = operand();
                if (!s) return bad(slot, "unexpected fields in ALU operand");
                if (op == BPF_MOV) {
                    bool sx_ok =
                        i.off == 0 || (x && (i.off == 8 || i.off == 16 || (i.off == 32 && w == Width::w64)));
                    if (!sx_ok) return bad(slot, "bad mov offset");
                    return Mov{w, *dst, *s, static_cast<uint8_t>(i.off)};
                }
                std::optional<AluOp> a = find<AluOp>(kAluCodes, op);
                if (!a) return bad(slot, "unknown ALU operation");
                if (i.off == 1 && (*a == AluOp::div || *a == AluOp::mod))
                    a = *a == AluOp::div ? AluOp::sdiv : AluOp::smod;
                else if (i.off != 0)
                    return bad(slot, "unexpected offset in ALU operation");
                return Alu{*a, w, *dst, *s};
            }
            case BPF_LD: {
                if (i.code != (BPF_LD | BPF_DW | BPF_IMM))
                    return bad(slot, "legacy packet loads are not supported");
                if (slot + 1 >= code_.size()) return bad(slot, "LD_IMM64 without its second slot");
                const bpf_insn& n = code_[slot + 1];
                if (n.code || n.dst_reg || n.src_reg || n.off || i.off)
                    return bad(slot, "malformed LD_IMM64");
                std::optional<ImmSource> s = find<ImmSource>(kPseudo, i.src_reg);
                if (!s) return bad(slot, "unknown LD_IMM64 source");
                if (*s == ImmSource::func) {  // the label carries the offset
                    target = static_cast<int64_t>(slot) + 1 + i.imm;
                    return LoadImm64{*dst, *s, 0, n.imm, {}};
                }
                return LoadImm64{*dst, *s, i.imm, n.imm, {}};
            }
            case BPF_LDX: {
                uint8_t mode = BPF_MODE(i.code);
                if ((mode != BPF_MEM && mode != BPF_MEMSX) || i.imm) return bad(slot, "unsupported load");
                Size size = *find<Size>(kSizeCodes, BPF_SIZE(i.code));
                if (mode == BPF_MEMSX && size == Size::u64) return bad(slot, "sign-extending u64 load");
                return Load{size, mode == BPF_MEMSX, *dst, *src, i.off};
            }
            case BPF_ST:
            case BPF_STX: {
                Size size = *find<Size>(kSizeCodes, BPF_SIZE(i.code));
                uint8_t mode = BPF_MODE(i.code);
                if (cls == BPF_STX && mode == BPF_ATOMIC) {
                    if (size != Size::u32 && size != Size::u64) return bad(slot, "atomic of 8 or 16 bits");
                    bool fetch = i.imm & BPF_FETCH;
                    int32_t op = i.imm & ~BPF_FETCH;
                    std::optional<AtomicOp> a;
                    for (size_t k = 0; k < kAtomicCodes.size(); ++k)
                        if ((kAtomicCodes[k] & ~BPF_FETCH) == op) a = static_cast<AtomicOp>(k);
                    if (!a || ((*a == AtomicOp::xchg || *a == AtomicOp::cmpxchg) && !fetch))
                        return bad(slot, "unsupported atomic operation");
                    if (*a == AtomicOp::xchg || *a == AtomicOp::cmpxchg) fetch = false;  // implied by the op
                    return Atomic{*a, fetch, size, *dst, i.off, *src};
                }
                if (mode != BPF_MEM) return bad(slot, "unsupported store");
                if (cls == BPF_STX) {
                    if (i.imm) return bad(slot, "unexpected immediate in store");
                    return Store{size, *dst, i.off, *src};
                }
                if (i.src_reg) return bad(slot, "unexpected source register in store");
                return Store{size, *dst, i.off, i.imm};
            }
            case BPF_JMP:
            case BPF_JMP32: {
                uint8_t op = BPF_OP(i.code);
                if (op == BPF_JA) {
                    if (x || i.dst_reg || i.src_reg) return bad(slot, "malformed goto");
                    if (cls == BPF_JMP32) {
                        if (i.off) return bad(slot, "malformed gotol");
                        target = static_cast<int64_t>(slot) + 1 + i.imm;
                        return Goto{{}, true};
                    }
                    if (i.imm) return bad(slot, "malformed goto");
                    target = static_cast<int64_t>(slot) + 1 + i.off;
                    return Goto{{}, false};
                }
                if (op == BPF_CALL || op == BPF_EXIT) {
                    if (cls != BPF_JMP || x || i.dst_reg) return bad(slot, "malformed call or exit");
                    if (op == BPF_EXIT) {
                        if (i.src_reg || i.off || i.imm) return bad(slot, "malformed exit");
                        return Exit{};
                    }
                    switch (i.src_reg) {
                        case 0:
                            if (i.off) return bad(slot, "malformed helper call");
                            return CallHelper{i.imm};
                        case BPF_PSEUDO_CALL:
                            if (i.off) return bad(slot, "malformed subprogram call");
                            target = static_cast<int64_t>(slot) + 1 + i.imm;
                            return CallLocal{};
                        case BPF_PSEUDO_KFUNC_CALL:
                            return CallKfunc{i.imm, i.off};
                        default:
                            return bad(slot, "unknown call kind");
                    }
                }
                std::optional<JmpOp> j = find<JmpOp>(kJmpCodes, op);
                if (!j) return bad(slot, "unsupported jump");
                std::optional<Operand> s = operand();
                if (!s) return bad(slot, "unexpected fields in jump operand");
                target = static_cast<int64_t>(slot) + 1 + i.off;
                return Jump{*j, cls == BPF_JMP ? Width::w64 : Width::w32, *dst, *s, {}};
            }
        }
        return bad(slot, "unknown instruction class");
    }

    std::span<const bpf_insn> code_;
    std::string& error_;
};

}  // namespace

std::optional<Program> decode(std::span<const bpf_insn> code, std::string& error) {
    return Decoder(code, error).run();
}

}  // namespace bpftables::codegen::insn
