#include "loader/direct.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <set>

#include "codegen/insn/encode.hpp"

namespace bpftables::loader {

namespace insn = codegen::insn;

std::optional<Fd> create_map(const MapSpec& spec, std::string& error) {
    LIBBPF_OPTS(bpf_map_create_opts, opts, .btf_fd = static_cast<uint32_t>(spec.btf_fd),
                .btf_key_type_id = spec.btf_key_type_id, .btf_value_type_id = spec.btf_value_type_id,
                .map_flags = spec.flags);
    std::string name = spec.name.substr(0, BPF_OBJ_NAME_LEN - 1);
    int fd = bpf_map_create(spec.type, name.c_str(), spec.key_size, spec.value_size, spec.max_entries, &opts);
    if (fd < 0) {
        error = "cannot create map " + spec.name + ": " + std::strerror(errno);
        return std::nullopt;
    }
    return Fd(fd);
}

// ---- kernel BTF

struct KernelBtf::Module {
    std::string name;
    Fd fd;
    btf* types = nullptr;
    int fd_index = -1;  // in the fd_array of the program being built, once used
    ~Module() { btf__free(types); }
};

KernelBtf::KernelBtf() = default;

KernelBtf::~KernelBtf() {
    modules_.clear();  // split BTF, on top of vmlinux's
    btf__free(vmlinux_);
}

std::optional<insn::CallKfunc> KernelBtf::kfunc(const std::string& name, std::vector<int>& fd_array,
                                                std::string& error) {
    if (!vmlinux_) {
        vmlinux_ = btf__load_vmlinux_btf();
        if (!vmlinux_) {
            error = std::string("cannot read the kernel's BTF: ") + std::strerror(errno);
            return std::nullopt;
        }
    }
    int id = btf__find_by_name_kind(vmlinux_, name.c_str(), BTF_KIND_FUNC);
    if (id > 0) return insn::CallKfunc{id, 0};
    if (!modules_loaded_) {
        modules_loaded_ = true;
        for (uint32_t next = 0; bpf_btf_get_next_id(next, &next) == 0;) {
            Fd fd(bpf_btf_get_fd_by_id(next));
            if (!fd) continue;
            char module_name[64] = {};
            bpf_btf_info info{};
            info.name = reinterpret_cast<uintptr_t>(module_name);
            info.name_len = sizeof module_name;
            uint32_t len = sizeof info;
            if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0 || !info.kernel_btf ||
                std::strcmp(module_name, "vmlinux") == 0)
                continue;
            auto m = std::make_unique<Module>();
            m->name = module_name;
            m->fd = std::move(fd);
            m->types = btf__load_from_kernel_by_id_split(next, vmlinux_);
            if (m->types) modules_.push_back(std::move(m));
        }
    }
    for (auto& m : modules_) {
        id = btf__find_by_name_kind(m->types, name.c_str(), BTF_KIND_FUNC);
        if (id <= 0) continue;
        if (m->fd_index < 0 || static_cast<size_t>(m->fd_index) >= fd_array.size() ||
            fd_array[m->fd_index] != m->fd.get()) {
            if (fd_array.empty()) fd_array.push_back(-1);  // index 0 means vmlinux to the kernel
            m->fd_index = static_cast<int>(fd_array.size());
            fd_array.push_back(m->fd.get());
        }
        return insn::CallKfunc{id, static_cast<int16_t>(m->fd_index)};
    }
    error = "kernel function " + name + " not found in the kernel's BTF (vmlinux and " +
            std::to_string(modules_.size()) + " modules)";
    return std::nullopt;
}

// ---- the program's BTF

namespace {

struct BtfDeleter {
    void operator()(btf* b) const { btf__free(b); }
};

std::string identifier(const std::string& s) {
    std::string out = s.empty() ? "f" : s;
    for (char& c : out)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    if (std::isdigit(static_cast<unsigned char>(out[0]))) out = "f" + out;
    return out;
}

const char* ctx_struct(bpf_prog_type type) {
    switch (type) {
        case BPF_PROG_TYPE_XDP:
            return "xdp_md";
        case BPF_PROG_TYPE_SCHED_CLS:
        case BPF_PROG_TYPE_SCHED_ACT:
            return "__sk_buff";
        default:
            return "bpf_ctx";
    }
}

// Builds the BTF of `program`'s functions and lines and loads it; fills func_info and line_info.
struct ProgramBtf {
    std::unique_ptr<btf, BtfDeleter> types;
    std::vector<bpf_func_info> funcs;
    std::vector<bpf_line_info> lines;
};

std::optional<ProgramBtf> build_btf(const insn::Program& program, const std::vector<size_t>& starts,
                                    const DirectLoadOptions& options, std::string& error) {
    ProgramBtf out;
    out.types.reset(btf__new_empty());
    btf* b = out.types.get();
    if (!b) return error = "cannot create BTF", std::nullopt;
    int t_int = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
    int t_u32 = btf__add_int(b, "unsigned int", 4, 0);
    int t_u64 = btf__add_int(b, "unsigned long long", 8, 0);
    int t_ctx = btf__add_ptr(b, btf__add_struct(b, ctx_struct(options.type), 0));

    // Functions: the main one at 0, and each call or function-address target.
    std::map<size_t, std::string> starts_of;  // instruction index -> label
    starts_of[0] = "";
    for (const insn::Insn& i : program.insns) {
        const std::string* target = nullptr;
        if (const auto* c = std::get_if<insn::CallLocal>(&i)) target = &c->target;
        if (const auto* l = std::get_if<insn::LoadImm64>(&i); l && l->source == insn::ImmSource::func)
            target = &l->label;
        if (!target) continue;
        auto it = program.labels.find(*target);
        if (it != program.labels.end() && it->second != 0) starts_of.emplace(it->second, *target);
    }
    for (const auto& [at, label] : starts_of) {
        auto spec = options.functions.find(label);
        FunctionSpec f = spec != options.functions.end() ? spec->second : FunctionSpec{};
        if (spec == options.functions.end() && label.empty()) f.args = {BtfArg::ctx};
        int proto = btf__add_func_proto(b, t_int);
        for (size_t a = 0; a < f.args.size(); ++a) {
            int t = f.args[a] == BtfArg::u32 ? t_u32 : f.args[a] == BtfArg::u64 ? t_u64 : t_ctx;
            btf__add_func_param(b, ("arg" + std::to_string(a)).c_str(), t);
        }
        std::string name = identifier(label.empty() ? options.name : label);
        int func = btf__add_func(b, name.c_str(), f.global ? BTF_FUNC_GLOBAL : BTF_FUNC_STATIC, proto);
        if (proto < 0 || func < 0)
            return error = "cannot describe function " + name + " in BTF", std::nullopt;
        out.funcs.push_back({static_cast<uint32_t>(starts[at]), static_cast<uint32_t>(func)});
    }

    // Lines: every function starts with one (the line before it carries on), the first at instruction 0.
    std::map<size_t, insn::Line> lines(program.lines.begin(), program.lines.end());
    insn::Line current{{options.name, 0, 0}, options.name};
    for (const auto& [at, label] : starts_of) {
        auto it = lines.upper_bound(at);
        if (it != lines.begin() && std::prev(it)->first == at) continue;
        lines[at] = it == lines.begin() ? current : std::prev(it)->second;
    }
    for (const auto& [at, line] : lines) {
        if (at >= program.insns.size()) continue;
        int file = btf__add_str(b, line.loc.file.empty() ? "-" : line.loc.file.c_str());
        int text = btf__add_str(b, line.text.c_str());
        if (file < 0 || text < 0) return error = "cannot add line info to BTF", std::nullopt;
        out.lines.push_back(
            {static_cast<uint32_t>(starts[at]), static_cast<uint32_t>(file), static_cast<uint32_t>(text),
             static_cast<uint32_t>(line.loc.line) << 10 | (static_cast<uint32_t>(line.loc.col) & 0x3ff)});
    }
    if (btf__load_into_kernel(b) != 0) {
        error = std::string("the kernel refused the program's BTF: ") + std::strerror(errno);
        return std::nullopt;
    }
    return out;
}

// The end of a verifier log: where it says why.
std::string log_tail(const std::string& log, size_t max = 6000) {
    size_t end = log.find('\0');
    std::string s = log.substr(0, end);
    if (s.size() > max) s = "...\n" + s.substr(s.size() - max);
    return s;
}

}  // namespace

std::optional<DirectProgram> load_direct(const insn::Program& program, const DirectLoadOptions& options,
                                         std::string& error) {
    std::optional<std::vector<bpf_insn>> code = insn::assemble(program, error);
    if (!code) return error = "internal error: " + error, std::nullopt;
    std::vector<size_t> starts = insn::slot_starts(program);
    std::optional<ProgramBtf> btf = build_btf(program, starts, options, error);
    if (!btf) return std::nullopt;

    DirectProgram out;
    out.btf = Fd(::dup(btf__fd(btf->types.get())));
    out.insn_count = static_cast<uint32_t>(code->size());
    std::string name = identifier(options.name).substr(0, BPF_OBJ_NAME_LEN - 1);
    // The verifier's log is read from its end (the kernel keeps the tail when the buffer is short): a small
    // buffer is enough, and a large one costs page faults (16 MiB took 200 ms on this project's VM).
    auto attempt = [&](uint32_t log_level, std::string* log) {
        LIBBPF_OPTS(bpf_prog_load_opts, opts);
        opts.expected_attach_type = options.expected_attach_type;
        opts.prog_btf_fd = static_cast<uint32_t>(out.btf.get());
        opts.fd_array = options.fd_array.empty() ? nullptr : options.fd_array.data();
        opts.func_info = btf->funcs.data();
        opts.func_info_cnt = static_cast<uint32_t>(btf->funcs.size());
        opts.func_info_rec_size = sizeof(bpf_func_info);
        opts.line_info = btf->lines.data();
        opts.line_info_cnt = static_cast<uint32_t>(btf->lines.size());
        opts.line_info_rec_size = sizeof(bpf_line_info);
        opts.attach_prog_fd = static_cast<uint32_t>(options.attach_prog_fd);
        opts.attach_btf_id = options.attach_btf_id;
        if (log) {
            log->assign(log_level == 1 ? 256u << 10 : 4u << 10, '\0');
            opts.log_buf = log->data();
            opts.log_size = static_cast<uint32_t>(log->size());
            opts.log_level = log_level;
        }
        return bpf_prog_load(options.type, name.c_str(), options.license.c_str(), code->data(), code->size(),
                             &opts);
    };
    std::string log;
    int fd =
        attempt(options.log_on_success ? 4 /* BPF_LOG_STATS */ : 0, options.log_on_success ? &log : nullptr);
    if (fd < 0) {
        int err = errno;
        fd = attempt(1, &log);  // again, for the verifier's reasons
        if (fd < 0) {
            int again = errno;
            error = std::string("the kernel refused program ") + name + ": " + std::strerror(err) +
                    (again != err ? std::string(" (with the log: ") + std::strerror(again) + ")" : "") +
                    "\n" + log_tail(log);
            return std::nullopt;
        }
    }
    out.prog = Fd(fd);
    if (options.log_on_success) out.log = log_tail(log);
    return out;
}

}  // namespace bpftables::loader
