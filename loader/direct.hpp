#pragma once
// Loading instruction programs (codegen/insn) without clang and without an ELF object: maps created with
// libbpf's bpf_map_create, kfuncs found in the kernel's BTF (vmlinux, then modules), BTF for the program's
// functions and source lines built with libbpf's btf__new_empty/btf__add_*, and bpf_prog_load with fd_array.
#include <linux/bpf.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/fd.hpp"
#include "codegen/insn/insn.hpp"

struct btf;

namespace bpftables::loader {

using bpftables::Fd;

struct MapSpec {
    bpf_map_type type = BPF_MAP_TYPE_ARRAY;
    std::string name;  // at most 15 characters reach the kernel
    uint32_t key_size = 4, value_size = 0, max_entries = 1, flags = 0;
    int btf_fd = 0;  // the value's type, when the kernel needs it (a bpf_spin_lock in the value)
    uint32_t btf_key_type_id = 0, btf_value_type_id = 0;
};

// Creates a map (bpf_map_create); on failure `error` says why.
std::optional<Fd> create_map(const MapSpec& spec, std::string& error);

// The kernel's BTF, for kfunc ids: vmlinux first, then each module's BTF (loaded once, kept open).
class KernelBtf {
  public:
    KernelBtf();
    ~KernelBtf();
    KernelBtf(const KernelBtf&) = delete;
    KernelBtf& operator=(const KernelBtf&) = delete;

    // The call of kernel function `name`. A function of a module needs the module's BTF fd in the program's
    // fd_array: it is appended to `fd_array` (once per module; index 0 is never used for it, the kernel
    // reading 0 as vmlinux) and the call carries its index.
    std::optional<codegen::insn::CallKfunc> kfunc(const std::string& name, std::vector<int>& fd_array,
                                                  std::string& error);

  private:
    struct Module;
    btf* vmlinux_ = nullptr;
    std::vector<std::unique_ptr<Module>> modules_;
    bool modules_loaded_ = false;
};

// How a program's functions look in its BTF. The main function is at instruction 0; every label that a
// CallLocal (or a LoadImm64 of a function) targets starts another. A function not named here gets
// `int NAME(void *ctx)` style defaults: static linkage, one pointer argument for the main function, none
// for the others.
enum class BtfArg { u32, u64, ctx };  // ctx: a pointer to the hook's context struct (xdp_md, __sk_buff)

struct FunctionSpec {
    std::vector<BtfArg> args;
    bool global = false;  // verified on its own (BTF_FUNC_GLOBAL)
};

struct DirectLoadOptions {
    bpf_prog_type type = BPF_PROG_TYPE_XDP;
    bpf_attach_type expected_attach_type = static_cast<bpf_attach_type>(0);
    std::string name = "bpftables";  // the main function's name (and the program's)
    std::string license = "GPL";
    std::vector<int> fd_array;  // maps loaded as map_idx / map_idx_value, module BTF of kfuncs
    std::map<std::string, FunctionSpec> functions;  // by label ("" for the main function)
    // freplace (BPF_PROG_TYPE_EXT): the program whose global function this one replaces, and its BTF id.
    int attach_prog_fd = 0;
    uint32_t attach_btf_id = 0;
    bool log_on_success = false;  // keep the verifier's statistics line (verified instructions)
};

struct DirectProgram {
    Fd prog;
    Fd btf;                   // the program's BTF (functions and lines), kept for the program's lifetime
    std::string log;          // the verifier's log when log_on_success was set
    uint32_t insn_count = 0;  // instruction slots loaded
};

// Assembles and loads `program`. On failure, `error` holds the reason with the tail of the verifier's log,
// which quotes each instruction's source line and names its file:line.
std::optional<DirectProgram> load_direct(const codegen::insn::Program& program,
                                         const DirectLoadOptions& options, std::string& error);

}  // namespace bpftables::loader
