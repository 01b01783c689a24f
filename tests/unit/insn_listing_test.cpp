// The decoder and the listing against llvm-objdump: real BPF objects (the programs clang builds for a few
// rulesets at every hook, and a C file that uses the instruction kinds rulesets do not) are decoded with
// codegen/insn and listed; every instruction line must equal `llvm-objdump -d --no-show-raw-insn`'s, once
// what is cosmetic (label names and lines, section headers) is set aside. clang and llvm-objdump run here as
// tools, as CI has them (scripts/install-deps); they are not part of the direct back end.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "base/diagnostics.hpp"
#include "codegen/build.hpp"
#include "codegen/insn/encode.hpp"
#include "codegen/insn/object_text.hpp"
#include "codegen/insn/print.hpp"
#include "compiler/iptables_lower.hpp"

namespace bpftables::test {
namespace {

namespace fs = std::filesystem;
using namespace codegen::insn;

std::string run(const std::string& command) {
    std::string out;
    if (FILE* f = popen(command.c_str(), "r")) {
        char buf[4096];
        for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
        pclose(f);
    }
    return out;
}

// section name -> (slot -> instruction text), from "  12:\tTEXT" lines; a trailing " <label>" is cosmetic.
using Listing = std::map<std::string, std::map<size_t, std::string>>;

void add_lines(const std::string& text, std::map<size_t, std::string>& into) {
    static const std::regex line(R"(^\s*(\d+):\t(.*?)(?: <[^>]*>)?$)");
    std::istringstream in(text);
    std::smatch m;
    for (std::string l; std::getline(in, l);)
        if (std::regex_match(l, m, line)) into[std::stoul(m[1])] = m[2];
}

Listing objdump(const std::string& object) {
    fs::path file = fs::temp_directory_path() / ("bpftables-insn-" + std::to_string(getpid()) + ".o");
    std::ofstream(file, std::ios::binary) << object;
    std::string text = run("llvm-objdump -d --no-show-raw-insn " + file.string() + " 2>&1");
    fs::remove(file);
    Listing out;
    std::istringstream in(text);
    std::string section, body;
    auto flush = [&] {
        if (!section.empty()) add_lines(body, out[section]);
        body.clear();
    };
    for (std::string l; std::getline(in, l);) {
        if (l.rfind("Disassembly of section ", 0) == 0) {
            flush();
            section = l.substr(23, l.size() - 24);  // without the colon
        } else {
            body += l + "\n";
        }
    }
    flush();
    return out;
}

Listing ours(const std::string& object) {
    std::string error;
    std::optional<std::vector<ObjectSection>> sections = object_text(object, error);
    EXPECT_TRUE(sections) << error;
    Listing out;
    if (!sections) return out;
    for (const ObjectSection& s : *sections) {
        std::optional<Program> p = decode(s.code, error);
        EXPECT_TRUE(p) << s.name << ": " << error;
        if (!p) continue;
        add_lines(listing(*p), out[s.name]);
        // Decoding then encoding gives back the section's bytes.
        std::optional<std::vector<bpf_insn>> again = assemble(*p, error);
        EXPECT_TRUE(again) << error;
        if (again) {
            EXPECT_EQ(again->size(), s.code.size());
            EXPECT_EQ(0, std::memcmp(again->data(), s.code.data(), s.code.size() * sizeof(bpf_insn)))
                << s.name;
        }
    }
    return out;
}

// What llvm-objdump 14 prints as <unknown>: ST with an immediate, 32-bit fetching atomics, cpu v4 forms.
bool unknown_to_llvm14(const std::string& text) {
    static const std::regex re(
        R"(^\*\(u\d+ \*\)\(r\d+ [+-] \d+\) = -?\d+$|^w\d+ = (atomic_fetch_|xchg32_32|cmpxchg32_32)|s/=|s%=|\(s\d+\)|bswap|gotol)");
    return std::regex_search(text, re);
}

// LLVM 14 prints a 32-bit fetching add (BPF_ADD | BPF_FETCH on u32) as the non-fetching `lock` form: its
// XADDW decoder does not look at the fetch bit. What it prints for our text, where that differs.
std::string as_llvm14_prints(const std::string& text) {
    static const std::regex fetch_add32(
        R"(^w(\d+) = atomic_fetch_add\(\(u32 \*\)(\(r\d+ [+-] \d+\)), w\1\)$)");
    return std::regex_replace(text, fetch_add32, "lock *(u32 *)$2 += r$1");
}

// Compares the two listings line by line; returns the number of instructions compared.
size_t compare(const std::string& object, const std::string& what) {
    Listing theirs = objdump(object), mine = ours(object);
    EXPECT_FALSE(theirs.empty()) << "llvm-objdump printed nothing for " << what;
    size_t compared = 0;
    for (const auto& [section, lines] : theirs) {
        auto it = mine.find(section);
        if (it == mine.end()) {
            ADD_FAILURE() << what << ": section " << section << " not decoded";
            continue;
        }
        EXPECT_EQ(lines.size(), it->second.size()) << what << " " << section;
        for (const auto& [slot, text] : lines) {
            auto m = it->second.find(slot);
            if (m == it->second.end()) {
                ADD_FAILURE() << what << " " << section << " slot " << slot << ": missing, objdump has "
                              << text;
                continue;
            }
            if (text == "<unknown>")
                EXPECT_TRUE(unknown_to_llvm14(m->second))
                    << what << " " << section << " slot " << slot << ": " << m->second;
            else
                EXPECT_EQ(as_llvm14_prints(m->second), text) << what << " " << section << " slot " << slot;
            ++compared;
        }
    }
    return compared;
}

std::string ruleset_object(const std::string& rules, codegen::Hook hook) {
    Diagnostics diags;
    std::optional<ir::Program> p = parse_and_lower(rules, "test.rules", diags);
    EXPECT_TRUE(p) << diags.str();
    if (!p) return {};
    std::optional<codegen::Build> built = codegen::build(*p, hook, diags);
    EXPECT_TRUE(built) << diags.str();
    return built ? built->object.object : std::string();
}

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(InsnListing, RulesetProgramsMatchLlvmObjdump) {
    // The README's example (conntrack, user chains, REJECT), and a run of 40 rules that the classifier takes.
    std::string example = read(fs::path(BPFTABLES_SOURCE_DIR) / "examples/example.rules");
    std::string run = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
    for (int i = 0; i < 40; ++i)
        run += "-A INPUT -s 198.18." + std::to_string(i) + ".0/24 -p tcp --dport " +
               std::to_string(1000 + i) + " -j DROP\n";
    run += "-A INPUT -i veth0 -m mark --mark 0x5/0xff -m ttl --ttl-lt 9 -j DROP\nCOMMIT\n";
    size_t total = 0;
    for (codegen::Hook hook : {codegen::Hook::xdp, codegen::Hook::tc_ingress, codegen::Hook::tc_egress}) {
        total +=
            compare(ruleset_object(example, hook), "example.rules " + std::string(codegen::hook_name(hook)));
        total +=
            compare(ruleset_object(run, hook), "classifier run " + std::string(codegen::hook_name(hook)));
    }
    EXPECT_GT(total, 1000u);
}

// What rulesets' programs do not use: atomics, byte swaps, 32-bit division, negation, signed comparisons.
TEST(InsnListing, OtherInstructionKindsMatchLlvmObjdump) {
    const char* source = R"(
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } m SEC(".maps");
volatile __u64 g;
__attribute__((noinline)) int f(int x) { return x * 7 - (x >> 3); }
SEC("xdp") int prog(struct xdp_md *ctx) {
  __u32 k = ctx->rx_queue_index & 3; __u64 *v = bpf_map_lookup_elem(&m, &k);
  if (!v) return 1;
  __u32 *v32 = (__u32 *)v;
  __sync_fetch_and_add(v, 1); __sync_fetch_and_add(v32, 1);
  __u64 old = __sync_val_compare_and_swap(v, 5, 7);
  old ^= __sync_fetch_and_or(v, 2); old ^= __sync_lock_test_and_set(v, 3);
  old ^= __sync_fetch_and_add(v, 4); old ^= __sync_fetch_and_xor(v, 4); old ^= __sync_fetch_and_and(v, 4);
  old ^= __sync_fetch_and_add(v32, 4); old ^= __sync_lock_test_and_set(v32, 3);
  old ^= __sync_val_compare_and_swap(v32, 5, 7);
  __sync_fetch_and_and(v, 8); __sync_fetch_and_xor(v, 9); __sync_fetch_and_or(v, 9);
  __s64 s = (__s64)(__s32)ctx->data_end;
  __u32 a = ctx->data, b = ctx->data_meta;
  if ((int)a < -3 || (__s64)s >= 77 || (int)b > (int)a) return 2;
  if (a > 100000000000ULL / (b | 1) || a % (b | 1) == 4 || (a & b)) return 3;
  __u8 c = *(volatile __u8 *)v; __u16 d = *(volatile __u16 *)v;
  *(volatile __u16 *)v = 0xabcd; *(volatile __u8 *)v = c; *(volatile __u32 *)v = 0xfffffff0;
  g = 0x123456789abcULL; g = -5; g = 0xffffffff00000000ULL;
  return f(a + s + d + (old % 13) + (b << 2) + (s >> 4) + (-b) + __builtin_bswap32(a) +
           __builtin_bswap16(b) + __builtin_bswap64(old) + (-(__s64)old));
}
char _l[] SEC("license") = "GPL";
)";
    fs::path dir = fs::temp_directory_path() / ("bpftables-insn-c-" + std::to_string(getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "t.c") << source;
    std::string out = run("clang -O2 -g -target bpf -mcpu=v3 -I/usr/include/x86_64-linux-gnu -c " +
                          (dir / "t.c").string() + " -o " + (dir / "t.o").string() + " 2>&1");
    std::string object = read(dir / "t.o");
    fs::remove_all(dir);
    ASSERT_FALSE(object.empty()) << out;
    EXPECT_GT(compare(object, "t.c"), 60u);
}

}  // namespace
}  // namespace bpftables::test
