#pragma once
// Between instruction values (insn.hpp) and the kernel's `struct bpf_insn` (linux/bpf.h).
#include <linux/bpf.h>

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "codegen/insn/insn.hpp"

namespace bpftables::codegen::insn {

// Index of each instruction's first slot, plus one past the end (slot_starts(p).back() is the slot count).
std::vector<size_t> slot_starts(const Program& program);

// Encodes `program`, turning labels into offsets. Fails (nullopt, `error` says which instruction and label)
// on a label that is not placed, a label placed past the last instruction, or an offset that does not fit
// its field (16 bits for jumps, 32 for gotol and calls), or fields no encoding expresses (a sign extension
// from an immediate, a byte swap of 8 bits, an atomic on u8, a sign-extending u64 load); these are bugs of the
// code generator.
std::optional<std::vector<bpf_insn>> assemble(const Program& program, std::string& error);

// Decodes instruction slots back into values, naming every jump and call target `L<slot>`. Fails on an
// opcode or field combination outside what insn.hpp supports, a truncated LD_IMM64, or a target outside the
// code.
std::optional<Program> decode(std::span<const bpf_insn> code, std::string& error);

}  // namespace bpftables::codegen::insn
