#pragma once
// Instructions as text, in the syntax of `llvm-objdump -d --no-show-raw-insn` (LLVM 14, as Debian 12 ships):
//
//        0:	r1 = *(u32 *)(r6 + 4)
//        1:	if r1 != 6 goto +5 <L7>
//
// Each line is the instruction's slot number and its text; a jump names its target label after the offset,
// and a label placed before an instruction prints as a line `<name>:`. Where LLVM 14 prints `<unknown>` (ST
// with an immediate, 32-bit fetching atomics, the cpu v4 additions) this prints the syntax of later LLVMs:
// `*(u32 *)(r1 + 0) = 5`, `w1 = atomic_fetch_add((u32 *)(r2 + 0), w1)`, `r1 s/= r2`, `r1 = (s8)r2`,
// `r1 = bswap16 r1`, `r1 = *(s8 *)(r2 + 0)`, `gotol +N`. A 64-bit load of a pseudo source, which llvm-objdump
// never sees (clang leaves them to relocations), prints by name: `r1 = map_fd(5) ll`,
// `r1 = map_value(5, 8) ll`, `r1 = btf_id(7, 0) ll`, `r1 = func(+3) ll`, `r1 = map_idx(1) ll`,
// `r1 = map_idx_value(1, 8) ll`. A kfunc call prints as `call kfunc(BTF_ID, FD_INDEX)`.
#include <string>

#include "codegen/insn/insn.hpp"

namespace bpftables::codegen::insn {

// One instruction's text, `offset` being its jump or call offset (ignored by other kinds).
std::string to_string(const Insn& insn, int64_t offset = 0);

// The whole program, one line per instruction and per label. A target label that is not placed prints as
// offset 0 followed by `<NAME: not placed>` (assemble() refuses such a program).
std::string listing(const Program& program);

}  // namespace bpftables::codegen::insn
