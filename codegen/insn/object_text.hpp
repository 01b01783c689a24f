#pragma once
// The executable sections of a BPF ELF object (what clang wrote), as instruction slots: what
// `bpftables compile --emit asm` lists and what the listing test compares with llvm-objdump. Reading only;
// relocations are not applied (map loads read `r1 = 0 ll`, calls to subprograms and kfuncs `call -1`, as
// llvm-objdump -d shows them).
#include <linux/bpf.h>

#include <optional>
#include <string>
#include <vector>

namespace bpftables::codegen::insn {

struct ObjectSection {
    std::string name;                                       // "xdp", ".text", ...
    std::vector<std::pair<size_t, std::string>> functions;  // (slot, name) of the function symbols in it
    std::vector<bpf_insn> code;
};

// In section header order. Fails on anything but a 64-bit little-endian ELF for BPF.
std::optional<std::vector<ObjectSection>> object_text(const std::string& elf, std::string& error);

// Every executable section decoded and listed (print.hpp), each under "Disassembly of section NAME:" with
// its functions' names as labels, as llvm-objdump -d --no-show-raw-insn lays it out.
std::optional<std::string> object_listing(const std::string& elf, std::string& error);

}  // namespace bpftables::codegen::insn
