// The instruction layer (codegen/insn): every kind and every field edge goes through assemble -> decode and
// comes back equal, with the exact bits linux/bpf.h defines; labels are fixed up and range-checked.
#include "codegen/insn/encode.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "codegen/insn/print.hpp"

namespace bpftables::test {
namespace {

using namespace codegen::insn;

// Assembles `p`, decodes the result, and checks that the decoded program is `p` again (its labels renamed to
// decode's `L<slot>`, which the caller's labels already are) and encodes to the same bits.
std::vector<bpf_insn> round_trip(const Program& p) {
    std::string error;
    std::optional<std::vector<bpf_insn>> code = assemble(p, error);
    EXPECT_TRUE(code) << error;
    if (!code) return {};
    std::optional<Program> back = decode(*code, error);
    EXPECT_TRUE(back) << error;
    if (!back) return {};
    EXPECT_EQ(back->insns.size(), p.insns.size());
    for (size_t i = 0; i < p.insns.size() && i < back->insns.size(); ++i)
        EXPECT_TRUE(back->insns[i] == p.insns[i]) << "instruction " << i << ": " << to_string(p.insns[i])
                                                  << " came back as " << to_string(back->insns[i]);
    std::optional<std::vector<bpf_insn>> again = assemble(*back, error);
    EXPECT_TRUE(again) << error;
    if (again) {
        EXPECT_EQ(again->size(), code->size());
        EXPECT_EQ(0, std::memcmp(again->data(), code->data(), code->size() * sizeof(bpf_insn)));
    }
    return *code;
}

std::vector<bpf_insn> one(const Insn& i) {
    Program p;
    p.emit(i);
    return round_trip(p);
}

constexpr Reg kRegs[] = {Reg::r0, Reg::r1, Reg::r5, Reg::r9, Reg::r10};
constexpr int32_t kImms[] = {0, 1, -1, 0x7fffffff, INT32_MIN, 4096, -4096};
constexpr int16_t kOffs[] = {0, 4, -4, INT16_MAX, INT16_MIN};
constexpr Width kWidths[] = {Width::w32, Width::w64};

TEST(Insn, AluEveryOpWidthAndOperand) {
    for (int op = 0; op <= static_cast<int>(AluOp::arsh); ++op)
        for (Width w : kWidths)
            for (Reg d : kRegs) {
                for (Reg s : kRegs) one(Alu{static_cast<AluOp>(op), w, d, s});
                for (int32_t imm : kImms) one(Alu{static_cast<AluOp>(op), w, d, imm});
            }
    // The exact bits of a few.
    bpf_insn i = one(Alu{AluOp::add, Width::w64, Reg::r1, Reg::r2})[0];
    EXPECT_EQ(i.code, BPF_ALU64 | BPF_ADD | BPF_X);
    EXPECT_EQ(i.dst_reg, 1);
    EXPECT_EQ(i.src_reg, 2);
    i = one(Alu{AluOp::sdiv, Width::w32, Reg::r3, -7})[0];
    EXPECT_EQ(i.code, BPF_ALU | BPF_DIV | BPF_K);
    EXPECT_EQ(i.off, 1);
    EXPECT_EQ(i.imm, -7);
    i = one(Alu{AluOp::smod, Width::w64, Reg::r3, Reg::r4})[0];
    EXPECT_EQ(i.code, BPF_ALU64 | BPF_MOD | BPF_X);
    EXPECT_EQ(i.off, 1);
    i = one(Alu{AluOp::arsh, Width::w32, Reg::r1, 3})[0];
    EXPECT_EQ(i.code, BPF_ALU | BPF_ARSH | BPF_K);
}

TEST(Insn, NegMovAndByteSwap) {
    for (Width w : kWidths)
        for (Reg d : kRegs) {
            EXPECT_EQ(one(Neg{w, d})[0].code, (w == Width::w64 ? BPF_ALU64 : BPF_ALU) | BPF_NEG);
            for (Reg s : kRegs) one(Mov{w, d, s, 0});
            for (int32_t imm : kImms) one(Mov{w, d, imm, 0});
            one(Mov{w, d, Reg::r2, 8});
            one(Mov{w, d, Reg::r2, 16});
        }
    bpf_insn i = one(Mov{Width::w64, Reg::r1, Reg::r2, 32})[0];  // r1 = (s32)r2
    EXPECT_EQ(i.code, BPF_ALU64 | BPF_MOV | BPF_X);
    EXPECT_EQ(i.off, 32);
    for (uint8_t bits : {16, 32, 64}) {
        EXPECT_EQ(one(ByteSwap{Endian::to_be, bits, Reg::r7})[0].code, BPF_ALU | BPF_END | BPF_TO_BE);
        EXPECT_EQ(one(ByteSwap{Endian::to_le, bits, Reg::r7})[0].code, BPF_ALU | BPF_END | BPF_TO_LE);
        i = one(ByteSwap{Endian::swap, bits, Reg::r7})[0];
        EXPECT_EQ(i.code, BPF_ALU64 | BPF_END);
        EXPECT_EQ(i.imm, bits);
    }
}

TEST(Insn, LoadImm64EverySource) {
    for (uint64_t v : {0ULL, 1ULL, 0xffffffffULL, 0x100000000ULL, 0x8000000000000000ULL,
                       0xffffffffffffffffULL, 0x123456789abcdef0ULL}) {
        std::vector<bpf_insn> code = one(LoadImm64::value(Reg::r3, v));
        ASSERT_EQ(code.size(), 2u);
        EXPECT_EQ(code[0].code, BPF_LD | BPF_DW | BPF_IMM);
        EXPECT_EQ(static_cast<uint32_t>(code[0].imm), static_cast<uint32_t>(v));
        EXPECT_EQ(static_cast<uint32_t>(code[1].imm), static_cast<uint32_t>(v >> 32));
        EXPECT_EQ(LoadImm64::value(Reg::r3, v).value(), v);
    }
    struct {
        ImmSource source;
        uint8_t src_reg;
    } sources[] = {{ImmSource::map_fd, BPF_PSEUDO_MAP_FD},
                   {ImmSource::map_value, BPF_PSEUDO_MAP_VALUE},
                   {ImmSource::btf_id, BPF_PSEUDO_BTF_ID},
                   {ImmSource::map_idx, BPF_PSEUDO_MAP_IDX},
                   {ImmSource::map_idx_value, BPF_PSEUDO_MAP_IDX_VALUE}};
    for (auto [source, src_reg] : sources) {
        std::vector<bpf_insn> code = one(LoadImm64{Reg::r1, source, 17, -8, {}});
        EXPECT_EQ(code[0].src_reg, src_reg);
        EXPECT_EQ(code[0].imm, 17);
        EXPECT_EQ(code[1].imm, -8);
    }
    // The address of a subprogram: relative like a call.
    Program p;
    p.emit(LoadImm64{Reg::r2, ImmSource::func, 0, 0, "L3"});  // slots 0 and 1
    p.emit(Exit{});
    p.label("L3");
    p.emit(Exit{});
    std::vector<bpf_insn> code = round_trip(p);
    EXPECT_EQ(code[0].src_reg, BPF_PSEUDO_FUNC);
    EXPECT_EQ(code[0].imm, 2);
}

TEST(Insn, LoadsAndStoresEverySizeAndOffset) {
    for (int size = 0; size < 4; ++size)
        for (int16_t off : kOffs)
            for (Reg d : kRegs) {
                Size sz = static_cast<Size>(size);
                one(Load{sz, false, d, Reg::r10, off});
                if (sz != Size::u64) {
                    EXPECT_EQ(BPF_MODE(one(Load{sz, true, d, Reg::r6, off})[0].code), 0x80);  // BPF_MEMSX
                }
                EXPECT_EQ(BPF_CLASS(one(Store{sz, d, off, Reg::r3})[0].code), BPF_STX);
                for (int32_t imm : kImms) EXPECT_EQ(BPF_CLASS(one(Store{sz, d, off, imm})[0].code), BPF_ST);
            }
    bpf_insn i = one(Load{Size::u16, false, Reg::r1, Reg::r6, -2})[0];
    EXPECT_EQ(i.code, BPF_LDX | BPF_MEM | BPF_H);
    EXPECT_EQ(i.off, -2);
}

TEST(Insn, Atomics) {
    for (Size size : {Size::u32, Size::u64})
        for (int16_t off : kOffs) {
            for (AtomicOp op : {AtomicOp::add, AtomicOp::or_, AtomicOp::and_, AtomicOp::xor_}) {
                one(Atomic{op, false, size, Reg::r2, off, Reg::r1});
                one(Atomic{op, true, size, Reg::r2, off, Reg::r1});
            }
            EXPECT_EQ(one(Atomic{AtomicOp::xchg, false, size, Reg::r2, off, Reg::r1})[0].imm, BPF_XCHG);
            EXPECT_EQ(one(Atomic{AtomicOp::cmpxchg, false, size, Reg::r2, off, Reg::r1})[0].imm, BPF_CMPXCHG);
        }
    EXPECT_EQ(one(Atomic{AtomicOp::add, true, Size::u64, Reg::r2, 0, Reg::r1})[0].imm, BPF_ADD | BPF_FETCH);
}

TEST(Insn, JumpsEveryOpWidthAndOperand) {
    for (int op = 0; op <= static_cast<int>(JmpOp::set); ++op)
        for (Width w : kWidths) {
            for (Reg s : kRegs) {
                Program p;
                p.label("L0");
                p.emit(Jump{static_cast<JmpOp>(op), w, Reg::r1, s, "L0"});  // offset -1
                EXPECT_EQ(round_trip(p)[0].off, -1);
            }
            for (int32_t imm : kImms) {
                Program p;
                p.emit(Jump{static_cast<JmpOp>(op), w, Reg::r1, imm, "L2"});
                p.emit(Exit{});
                p.label("L2");
                p.emit(Exit{});
                std::vector<bpf_insn> code = round_trip(p);
                EXPECT_EQ(code[0].off, 1);
                EXPECT_EQ(code[0].imm, imm);
                EXPECT_EQ(BPF_CLASS(code[0].code), w == Width::w64 ? BPF_JMP : BPF_JMP32);
            }
        }
}

// A jump over `n` slots of padding, forwards and backwards.
Program jump_over(size_t n, bool wide) {
    Program p;
    p.label("L0");
    p.emit(Goto{"L" + std::to_string(n + 2), wide});
    for (size_t i = 0; i < n; ++i) p.emit(Mov{Width::w64, Reg::r0, 0, 0});
    p.emit(Goto{"L0", wide});
    p.label("L" + std::to_string(n + 2));
    p.emit(Exit{});
    return p;
}

TEST(Insn, GotoAtTheEdgesOfItsRange) {
    std::vector<bpf_insn> code = round_trip(jump_over(32766, false));  // +32767 and -32768
    EXPECT_EQ(code.front().off, 32767);
    EXPECT_EQ(code[32767].off, -32768);
    std::string error;
    EXPECT_FALSE(assemble(jump_over(32767, false), error));
    EXPECT_NE(error.find("out of range"), std::string::npos) << error;
    code = round_trip(jump_over(40000, true));  // gotol: a 32-bit offset
    EXPECT_EQ(code.front().code, BPF_JMP32 | BPF_JA);
    EXPECT_EQ(code.front().imm, 40001);
    EXPECT_EQ(code.front().off, 0);
}

TEST(Insn, LoadImm64CountsTwoSlotsInOffsets) {
    Program p;
    p.emit(Jump{JmpOp::eq, Width::w64, Reg::r1, 0, "L4"});
    p.emit(LoadImm64::value(Reg::r0, 1));
    p.emit(Exit{});
    p.label("L4");
    p.emit(Exit{});
    EXPECT_EQ(round_trip(p)[0].off, 3);
}

TEST(Insn, Calls) {
    for (int32_t id : {1, 0, 211, INT32_MAX}) EXPECT_EQ(one(CallHelper{id})[0].imm, id);
    for (int16_t fd_index : {0, 1, INT16_MAX, -1}) {
        bpf_insn i = one(CallKfunc{63462, fd_index})[0];
        EXPECT_EQ(i.src_reg, BPF_PSEUDO_KFUNC_CALL);
        EXPECT_EQ(i.off, fd_index);
        EXPECT_EQ(i.imm, 63462);
    }
    Program p;
    p.emit(CallLocal{"L2"});  // slot 0
    p.emit(Exit{});
    p.label("L2");
    p.emit(LoadImm64::value(Reg::r0, 0));  // slots 2 and 3
    p.emit(CallLocal{"L2"});               // slot 4: back 3
    p.emit(Exit{});
    std::vector<bpf_insn> code = round_trip(p);
    EXPECT_EQ(code[0].src_reg, BPF_PSEUDO_CALL);
    EXPECT_EQ(code[0].imm, 1);
    EXPECT_EQ(code[4].imm, -3);
    EXPECT_EQ(one(Exit{})[0].code, BPF_JMP | BPF_EXIT);
}

TEST(Insn, LabelErrors) {
    std::string error;
    Program p;
    p.emit(Goto{"nowhere", false});
    EXPECT_FALSE(assemble(p, error));
    EXPECT_EQ(error, "instruction 0: unknown label 'nowhere'");
    p.label("end");
    p.insns[0] = Goto{"end", false};
    EXPECT_FALSE(assemble(p, error));
    EXPECT_EQ(error, "instruction 0: label 'end' is past the last instruction");
    EXPECT_FALSE(p.label("end"));  // placed once only
}

TEST(Insn, AssembleRefusesFieldsNoEncodingExpresses) {
    std::string error;
    auto refuses = [&](const Insn& i) {
        Program p;
        p.emit(i);
        EXPECT_FALSE(assemble(p, error)) << to_string(i);
        return error;
    };
    EXPECT_EQ(refuses(Mov{Width::w64, Reg::r1, 5, 8}),
              "instruction 0: sign extension from 8 or 16 bits (32 for r registers) of a register only");
    refuses(Mov{Width::w32, Reg::r1, Reg::r2, 32});
    refuses(Mov{Width::w64, Reg::r1, Reg::r2, 24});
    EXPECT_EQ(refuses(ByteSwap{Endian::to_be, 8, Reg::r1}), "instruction 0: byte swap of 16, 32 or 64 bits");
    EXPECT_EQ(refuses(Load{Size::u64, true, Reg::r1, Reg::r2, 0}),
              "instruction 0: sign-extending load of 64 bits");
    EXPECT_EQ(refuses(Atomic{AtomicOp::add, false, Size::u16, Reg::r1, 0, Reg::r2}),
              "instruction 0: atomic operation on 8 or 16 bits");
}

TEST(Insn, DecodeRefusesWhatItDoesNotSupport) {
    std::string error;
    auto refuses = [&](bpf_insn i) {
        std::vector<bpf_insn> code = {i};
        EXPECT_FALSE(decode(code, error)) << "opcode " << int(i.code);
        return error;
    };
    bpf_insn i{};
    i.code = BPF_LD | BPF_ABS | BPF_W;
    EXPECT_NE(refuses(i).find("legacy"), std::string::npos);
    i = {};
    i.code = BPF_LD | BPF_DW | BPF_IMM;  // no second slot
    EXPECT_NE(refuses(i).find("second slot"), std::string::npos);
    i = {};
    i.code = BPF_JMP | BPF_EXIT;
    i.dst_reg = 11;
    EXPECT_NE(refuses(i).find("register"), std::string::npos);
    i = {};
    i.code = BPF_JMP | BPF_JA;
    i.off = 5;  // past the end
    EXPECT_NE(refuses(i).find("not the start"), std::string::npos);
    i = {};
    i.code = BPF_STX | BPF_ATOMIC | BPF_W;
    i.imm = BPF_XCHG & ~BPF_FETCH;  // xchg without fetch
    EXPECT_NE(refuses(i).find("atomic"), std::string::npos);
    // A jump into the second slot of an LD_IMM64.
    std::vector<bpf_insn> code(3);
    code[0].code = BPF_JMP | BPF_JA;
    code[0].off = 1;
    code[1].code = BPF_LD | BPF_DW | BPF_IMM;
    EXPECT_FALSE(decode(code, error));
}

TEST(Insn, ToStringInLlvmSyntax) {
    EXPECT_EQ(to_string(Load{Size::u32, false, Reg::r1, Reg::r6, 4}), "r1 = *(u32 *)(r6 + 4)");
    EXPECT_EQ(to_string(Store{Size::u32, Reg::r10, -4, Reg::r1}), "*(u32 *)(r10 - 4) = r1");
    EXPECT_EQ(to_string(Jump{JmpOp::ne, Width::w64, Reg::r1, 6, "x"}, 5), "if r1 != 6 goto +5");
    EXPECT_EQ(to_string(Jump{JmpOp::slt, Width::w32, Reg::r1, -3, "x"}, -2), "if w1 s< -3 goto -2");
    EXPECT_EQ(to_string(LoadImm64::value(Reg::r2, 0xffffffff00000000ULL)), "r2 = -4294967296 ll");
    EXPECT_EQ(to_string(Atomic{AtomicOp::cmpxchg, false, Size::u64, Reg::r2, 0, Reg::r1}),
              "r0 = cmpxchg_64(r2 + 0, r0, r1)");
    EXPECT_EQ(to_string(Atomic{AtomicOp::or_, true, Size::u64, Reg::r2, 8, Reg::r3}),
              "r3 = atomic_fetch_or((u64 *)(r2 + 8), r3)");
    EXPECT_EQ(to_string(ByteSwap{Endian::to_be, 32, Reg::r1}), "r1 = be32 r1");
    EXPECT_EQ(to_string(Mov{Width::w64, Reg::r1, Reg::r2, 8}), "r1 = (s8)r2");
    EXPECT_EQ(to_string(Alu{AluOp::arsh, Width::w32, Reg::r1, 3}), "w1 s>>= 3");
    EXPECT_EQ(to_string(Neg{Width::w64, Reg::r4}), "r4 = -r4");
    EXPECT_EQ(to_string(CallHelper{1}), "call 1");
}

}  // namespace
}  // namespace bpftables::test
