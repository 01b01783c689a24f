#pragma once
// eBPF instructions as values: one small struct per instruction kind, all in one std::variant (`Insn`).
// Consumers (encode, decode, the listing) use std::visit with one handler per kind and no catch-all, so a new
// kind fails to compile until every consumer handles it.
//
// Jumps and calls to subprograms name their target by a symbolic label; `Program::label` places a label
// before the next instruction, and `assemble` (encode.hpp) turns labels into 16-bit (32-bit for `gotol` and
// calls) offsets at the end. `decode` gives the labels back as `L<slot>`, slot being the target's index in
// 8-byte instruction slots (an LD_IMM64 takes two).
//
// Supported: everything clang 14 (-mcpu=v3) emits, plus ST (store immediate) and the cpu v4 additions the
// kernel accepts (signed div/mod, movsx, bswap, sign-extending loads, gotol). Not supported: the legacy packet
// loads LD_ABS/LD_IND, load-acquire/store-release, may_goto (decode refuses them).
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "base/source_loc.hpp"

namespace bpftables::codegen::insn {

enum class Reg : uint8_t { r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10 };

// The source operand of ALU, MOV, ST and conditional jumps: a register or a 32-bit immediate (sign-extended
// to 64 bits by the 64-bit forms).
using Operand = std::variant<Reg, int32_t>;

enum class Width : uint8_t { w32, w64 };  // BPF_ALU / BPF_JMP32 or BPF_ALU64 / BPF_JMP

// Binary ALU operations, `dst op= src` (BPF_MOV and BPF_NEG are Mov and Neg). sdiv/smod are BPF_DIV/BPF_MOD
// with offset 1 (cpu v4).
enum class AluOp : uint8_t { add, sub, mul, div, sdiv, mod, smod, or_, and_, xor_, lsh, rsh, arsh };

struct Alu {  // r1 += r2, w1 <<= 3
    AluOp op = AluOp::add;
    Width width = Width::w64;
    Reg dst = Reg::r0;
    Operand src = Reg::r0;
    bool operator==(const Alu&) const = default;
};

struct Neg {  // r1 = -r1
    Width width = Width::w64;
    Reg dst = Reg::r0;
    bool operator==(const Neg&) const = default;
};

struct Mov {  // r1 = r2, w1 = 5; with sign_extend_from 8, 16 or 32 (cpu v4, register source): r1 = (s8)r2
    Width width = Width::w64;
    Reg dst = Reg::r0;
    Operand src = Reg::r0;
    uint8_t sign_extend_from = 0;
    bool operator==(const Mov&) const = default;
};

// Byte order: to_le/to_be (BPF_ALU | BPF_END: r1 = be16 r1) and the unconditional swap (BPF_ALU64 | BPF_END,
// cpu v4: r1 = bswap16 r1).
enum class Endian : uint8_t { to_le, to_be, swap };

struct ByteSwap {
    Endian order = Endian::to_be;
    uint8_t bits = 16;  // 16, 32, 64
    Reg dst = Reg::r0;
    bool operator==(const ByteSwap&) const = default;
};

// What the immediate of a 64-bit load (BPF_LD | BPF_IMM | BPF_DW) means: linux/bpf.h's BPF_PSEUDO_*.
enum class ImmSource : uint8_t {
    plain,          // the 64-bit value
    map_fd,         // imm: a map's fd
    map_value,      // imm: a map's fd, next_imm: an offset into its value
    btf_id,         // imm: a kernel variable's BTF id, next_imm: its module BTF's fd (0: vmlinux)
    func,           // the address of subprogram `label` (callbacks)
    map_idx,        // imm: an index into fd_array
    map_idx_value,  // imm: an index into fd_array, next_imm: an offset into the value
};

struct LoadImm64 {  // r1 = 5 ll; takes two instruction slots
    Reg dst = Reg::r0;
    ImmSource source = ImmSource::plain;
    int32_t imm = 0;       // low 32 bits of a plain value
    int32_t next_imm = 0;  // high 32 bits of a plain value
    std::string label;     // ImmSource::func only
    bool operator==(const LoadImm64&) const = default;

    static LoadImm64 value(Reg dst, uint64_t v) {
        return {dst,
                ImmSource::plain,
                static_cast<int32_t>(static_cast<uint32_t>(v)),
                static_cast<int32_t>(static_cast<uint32_t>(v >> 32)),
                {}};
    }
    static LoadImm64 map(Reg dst, int fd) { return {dst, ImmSource::map_fd, fd, 0, {}}; }
    uint64_t value() const {
        return static_cast<uint64_t>(static_cast<uint32_t>(next_imm)) << 32 | static_cast<uint32_t>(imm);
    }
};

enum class Size : uint8_t { u8, u16, u32, u64 };  // BPF_B, BPF_H, BPF_W, BPF_DW

struct Load {  // r1 = *(u32 *)(r6 + 4); sign_extend (BPF_MEMSX, cpu v4, not u64): r1 = *(s32 *)(r6 + 4)
    Size size = Size::u64;
    bool sign_extend = false;
    Reg dst = Reg::r0;
    Reg base = Reg::r0;
    int16_t off = 0;
    bool operator==(const Load&) const = default;
};

struct Store {  // *(u32 *)(r10 - 4) = r1 (BPF_STX) or = 5 (BPF_ST)
    Size size = Size::u64;
    Reg base = Reg::r0;
    int16_t off = 0;
    Operand src = Reg::r0;
    bool operator==(const Store&) const = default;
};

// BPF_ATOMIC on u32 or u64: add/or/and/xor with or without BPF_FETCH (the old value back in src), xchg and
// cmpxchg (compares with r0, the old value back in r0), which always fetch.
enum class AtomicOp : uint8_t { add, or_, and_, xor_, xchg, cmpxchg };

struct Atomic {  // lock *(u64 *)(r2 + 0) += r1; r0 = cmpxchg_64(r2 + 0, r0, r1)
    AtomicOp op = AtomicOp::add;
    bool fetch = false;  // implied (and true) for xchg and cmpxchg
    Size size = Size::u64;
    Reg base = Reg::r0;
    int16_t off = 0;
    Reg src = Reg::r0;
    bool operator==(const Atomic&) const = default;
};

enum class JmpOp : uint8_t { eq, ne, gt, ge, lt, le, sgt, sge, slt, sle, set };

struct Jump {  // if r1 != 6 goto LABEL; width w32 (BPF_JMP32): if w1 != 6 goto LABEL
    JmpOp op = JmpOp::eq;
    Width width = Width::w64;
    Reg dst = Reg::r0;
    Operand src = Reg::r0;
    std::string target;
    bool operator==(const Jump&) const = default;
};

struct Goto {  // goto LABEL (BPF_JA, 16-bit offset); wide: gotol (BPF_JMP32 | BPF_JA, 32-bit, cpu v4)
    std::string target;
    bool wide = false;
    bool operator==(const Goto&) const = default;
};

struct CallHelper {  // call 1 (bpf_map_lookup_elem)
    int32_t id = 0;
    bool operator==(const CallHelper&) const = default;
};

struct
    CallKfunc {  // a kernel function: its BTF id, in vmlinux (fd_index 0) or in the module BTF at fd_array[i]
    int32_t btf_id = 0;
    int16_t fd_index = 0;
    bool operator==(const CallKfunc&) const = default;
};

struct CallLocal {  // a subprogram of the same program (BPF_PSEUDO_CALL)
    std::string target;
    bool operator==(const CallLocal&) const = default;
};

struct Exit {
    bool operator==(const Exit&) const = default;
};

using Insn = std::variant<Alu, Neg, Mov, ByteSwap, LoadImm64, Load, Store, Atomic, Jump, Goto, CallHelper,
                          CallKfunc, CallLocal, Exit>;

// Instruction slots (8 bytes each) an instruction takes.
inline int slots(const Insn& i) {
    return std::holds_alternative<LoadImm64>(i) ? 2 : 1;
}

// A source line that the code from one instruction on implements: BTF line info, so that the verifier's
// messages quote `text` and name `loc` (the ruleset line).
struct Line {
    SourceLoc loc;
    std::string text;
    bool operator==(const Line&) const = default;
};

// A program under construction: instructions, the labels placed between them, and source lines.
struct Program {
    std::vector<Insn> insns;
    std::map<std::string, size_t> labels;  // label -> index into insns of the instruction it precedes
    std::map<size_t, Line> lines;          // index into insns -> the line the code from there on implements

    void emit(Insn i) { insns.push_back(std::move(i)); }
    // Places `name` before the next instruction; false if the name is taken.
    bool label(const std::string& name) { return labels.emplace(name, insns.size()).second; }
    void line(const SourceLoc& loc, std::string text) { lines[insns.size()] = {loc, std::move(text)}; }
};

}  // namespace bpftables::codegen::insn
