#include "codegen/insn/object_text.hpp"

#include "codegen/insn/encode.hpp"
#include "codegen/insn/print.hpp"

#include <elf.h>

#include <algorithm>
#include <cstring>

namespace bpftables::codegen::insn {
namespace {

template <class T>
bool read_at(const std::string& elf, uint64_t off, T& out) {
    if (off > elf.size() || elf.size() - off < sizeof(T)) return false;
    std::memcpy(&out, elf.data() + off, sizeof(T));
    return true;
}

}  // namespace

std::optional<std::vector<ObjectSection>> object_text(const std::string& elf, std::string& error) {
    Elf64_Ehdr eh;
    if (!read_at(elf, 0, eh) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_BPF ||
        eh.e_shentsize != sizeof(Elf64_Shdr)) {
        error = "not a 64-bit little-endian BPF ELF object";
        return std::nullopt;
    }
    std::vector<Elf64_Shdr> sh(eh.e_shnum);
    for (size_t i = 0; i < sh.size(); ++i)
        if (!read_at(elf, eh.e_shoff + i * sizeof(Elf64_Shdr), sh[i])) {
            error = "truncated section headers";
            return std::nullopt;
        }
    auto str = [&](size_t table, uint64_t off) -> std::string {
        if (table >= sh.size() || off >= sh[table].sh_size || sh[table].sh_offset + off >= elf.size())
            return {};
        const char* s = elf.data() + sh[table].sh_offset + off;
        return std::string(s, strnlen(s, elf.size() - (sh[table].sh_offset + off)));
    };
    std::vector<ObjectSection> out;
    std::vector<size_t> index_of(sh.size(), SIZE_MAX);  // section index -> position in out
    for (size_t i = 0; i < sh.size(); ++i) {
        if (sh[i].sh_type != SHT_PROGBITS || !(sh[i].sh_flags & SHF_EXECINSTR)) continue;
        if (sh[i].sh_offset > elf.size() || elf.size() - sh[i].sh_offset < sh[i].sh_size ||
            sh[i].sh_size % sizeof(bpf_insn)) {
            error = "malformed executable section " + std::to_string(i);
            return std::nullopt;
        }
        ObjectSection s;
        s.name = str(eh.e_shstrndx, sh[i].sh_name);
        s.code.resize(sh[i].sh_size / sizeof(bpf_insn));
        std::memcpy(s.code.data(), elf.data() + sh[i].sh_offset, sh[i].sh_size);
        index_of[i] = out.size();
        out.push_back(std::move(s));
    }
    for (const Elf64_Shdr& symtab : sh) {
        if (symtab.sh_type != SHT_SYMTAB) continue;
        for (uint64_t off = 0; off + sizeof(Elf64_Sym) <= symtab.sh_size; off += sizeof(Elf64_Sym)) {
            Elf64_Sym sym;
            if (!read_at(elf, symtab.sh_offset + off, sym)) break;
            if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx >= sh.size() ||
                index_of[sym.st_shndx] == SIZE_MAX)
                continue;
            out[index_of[sym.st_shndx]].functions.emplace_back(sym.st_value / sizeof(bpf_insn),
                                                               str(symtab.sh_link, sym.st_name));
        }
    }
    for (ObjectSection& s : out) std::sort(s.functions.begin(), s.functions.end());
    return out;
}

std::optional<std::string> object_listing(const std::string& elf, std::string& error) {
    std::optional<std::vector<ObjectSection>> sections = object_text(elf, error);
    if (!sections) return std::nullopt;
    std::string out;
    for (const ObjectSection& s : *sections) {
        std::optional<Program> p = decode(s.code, error);
        if (!p) return error = s.name + ": " + error, std::nullopt;
        // Function symbols become labels, unless decode already named that slot.
        std::vector<size_t> starts = slot_starts(*p);
        for (const auto& [slot, name] : s.functions) {
            auto it = std::lower_bound(starts.begin(), starts.end(), slot);
            if (it != starts.end() && *it == slot)
                p->labels.emplace(name, static_cast<size_t>(it - starts.begin()));
        }
        out += "\nDisassembly of section " + s.name + ":\n\n" + listing(*p);
    }
    return out;
}

}  // namespace bpftables::codegen::insn
