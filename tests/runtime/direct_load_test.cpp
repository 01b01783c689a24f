// Instruction programs (codegen/insn) loaded without clang (loader/direct.hpp) and run with
// BPF_PROG_TEST_RUN: a map read through its fd and through fd_array, an atomic counter in a map, a helper
// call, a kfunc found in the kernel's BTF, a subprogram, and a refused program whose verifier log names the
// source line given as BTF line info.
#include "loader/direct.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

#include "loader/packet.hpp"

namespace bpftables::test {
namespace {

using namespace codegen::insn;
using loader::DirectLoadOptions;
using loader::DirectProgram;

class DirectLoad : public ::testing::Test {
  protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "loading BPF programs needs root";
    }
};

const std::vector<uint8_t> kFrame = loader::frame(loader::Ipv4{}, loader::Udp{}, 13);

// Runs `prog` once on kFrame and returns what it returned.
uint32_t run(const DirectProgram& prog, uint32_t repeat = 1) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = kFrame.data(),
                .data_size_in = static_cast<uint32_t>(kFrame.size()), .repeat = static_cast<int>(repeat));
    EXPECT_EQ(bpf_prog_test_run_opts(prog.prog.get(), &opts), 0) << std::strerror(errno);
    return opts.retval;
}

std::optional<DirectProgram> load(const Program& p, DirectLoadOptions options = {}) {
    std::string error;
    std::optional<DirectProgram> prog = loader::load_direct(p, options, error);
    EXPECT_TRUE(prog) << error;
    return prog;
}

// r0 = the u32 at key 0 of the map `map` (XDP_ABORTED when the lookup fails), and one more count in the
// value's second u32 (an atomic add).
Program read_map(const LoadImm64& map) {
    Program p;
    p.emit(Store{Size::u32, Reg::r10, -4, 0});  // key
    p.emit(map);
    p.emit(Mov{Width::w64, Reg::r2, Reg::r10, 0});
    p.emit(Alu{AluOp::add, Width::w64, Reg::r2, -4});
    p.emit(CallHelper{BPF_FUNC_map_lookup_elem});
    p.emit(Jump{JmpOp::eq, Width::w64, Reg::r0, 0, "missing"});
    p.emit(Mov{Width::w64, Reg::r1, 1, 0});
    p.emit(Atomic{AtomicOp::add, false, Size::u32, Reg::r0, 4, Reg::r1});
    p.emit(Load{Size::u32, false, Reg::r0, Reg::r0, 0});
    p.emit(Exit{});
    p.label("missing");
    p.emit(Mov{Width::w64, Reg::r0, XDP_ABORTED, 0});
    p.emit(Exit{});
    return p;
}

TEST_F(DirectLoad, ReadsAMapByFdAndByFdArrayIndex) {
    std::string error;
    std::optional<loader::Fd> map =
        loader::create_map({BPF_MAP_TYPE_ARRAY, "direct_test", 4, 8, 1, 0}, error);
    ASSERT_TRUE(map) << error;
    uint32_t key = 0, value[2] = {XDP_TX, 0};
    ASSERT_EQ(bpf_map_update_elem(map->get(), &key, value, BPF_ANY), 0);

    std::optional<DirectProgram> by_fd = load(read_map(LoadImm64::map(Reg::r1, map->get())));
    ASSERT_TRUE(by_fd);
    EXPECT_EQ(run(*by_fd), XDP_TX);

    DirectLoadOptions options;
    options.fd_array = {-1, -1, map->get()};
    std::optional<DirectProgram> by_index =
        load(read_map(LoadImm64{Reg::r1, ImmSource::map_idx, 2, 0, {}}), options);
    ASSERT_TRUE(by_index);
    value[0] = XDP_PASS;
    ASSERT_EQ(bpf_map_update_elem(map->get(), &key, value, BPF_ANY), 0);
    EXPECT_EQ(run(*by_index), XDP_PASS);
    EXPECT_EQ(run(*by_fd, 100), XDP_PASS);  // the same map

    ASSERT_EQ(bpf_map_lookup_elem(map->get(), &key, value), 0);
    EXPECT_EQ(value[1], 101u);  // the atomic add, once per run (the update above reset it)
}

TEST_F(DirectLoad, CallsAHelper) {
    Program p;  // r0 = bpf_xdp_get_buff_len(ctx): the frame's length
    p.emit(CallHelper{BPF_FUNC_xdp_get_buff_len});
    p.emit(Exit{});
    std::optional<DirectProgram> prog = load(p);
    ASSERT_TRUE(prog);
    EXPECT_EQ(run(*prog), kFrame.size());
}

// Offset of `member` in the kernel's `struct name`, from vmlinux BTF.
int member_offset(const char* name, const char* member) {
    btf* vmlinux = btf__load_vmlinux_btf();
    if (!vmlinux) return -1;
    int off = -1;
    int id = btf__find_by_name_kind(vmlinux, name, BTF_KIND_STRUCT);
    if (id > 0) {
        const btf_type* t = btf__type_by_id(vmlinux, id);
        const btf_member* m = btf_members(t);
        for (int i = 0; i < btf_vlen(t); ++i, ++m)
            if (std::strcmp(btf__name_by_offset(vmlinux, m->name_off), member) == 0)
                off = static_cast<int>(btf_member_bit_offset(t, i) / 8);
    }
    btf__free(vmlinux);
    return off;
}

TEST_F(DirectLoad, CallsAKfuncFoundInKernelBtf) {
    // r0 = bpf_cast_to_kern_ctx(ctx), the struct xdp_buff behind the xdp_md; return data_end - data.
    int data = member_offset("xdp_buff", "data"), data_end = member_offset("xdp_buff", "data_end");
    ASSERT_GE(data, 0);
    ASSERT_GE(data_end, 0);
    loader::KernelBtf kernel;
    DirectLoadOptions options;
    std::string error;
    std::optional<CallKfunc> cast = kernel.kfunc("bpf_cast_to_kern_ctx", options.fd_array, error);
    ASSERT_TRUE(cast) << error;
    EXPECT_GT(cast->btf_id, 0);
    EXPECT_EQ(cast->fd_index, 0);  // vmlinux
    EXPECT_FALSE(kernel.kfunc("bpftables_no_such_kfunc", options.fd_array, error));
    EXPECT_NE(error.find("not found"), std::string::npos) << error;

    Program p;
    p.emit(*cast);
    p.emit(Load{Size::u64, false, Reg::r1, Reg::r0, static_cast<int16_t>(data_end)});
    p.emit(Load{Size::u64, false, Reg::r2, Reg::r0, static_cast<int16_t>(data)});
    p.emit(Mov{Width::w64, Reg::r0, Reg::r1, 0});
    p.emit(Alu{AluOp::sub, Width::w64, Reg::r0, Reg::r2});
    p.emit(Exit{});
    std::optional<DirectProgram> prog = load(p, options);
    ASSERT_TRUE(prog);
    EXPECT_EQ(run(*prog), kFrame.size());
}

TEST_F(DirectLoad, CallsASubprogram) {
    Program p;  // main: r1 = 20; r0 = twice_plus_one(r1) = 41
    p.emit(Mov{Width::w64, Reg::r1, 20, 0});
    p.emit(CallLocal{"twice_plus_one"});
    p.emit(Exit{});
    p.label("twice_plus_one");
    p.emit(Mov{Width::w64, Reg::r0, Reg::r1, 0});
    p.emit(Alu{AluOp::lsh, Width::w64, Reg::r0, 1});
    p.emit(Alu{AluOp::add, Width::w32, Reg::r0, 1});
    p.emit(Exit{});
    DirectLoadOptions options;
    options.functions["twice_plus_one"] = {{loader::BtfArg::u64}, true};  // a global function
    std::optional<DirectProgram> prog = load(p, options);
    ASSERT_TRUE(prog);
    EXPECT_EQ(run(*prog), 41u);
}

TEST_F(DirectLoad, VerifierErrorsNameTheSourceLine) {
    Program p;
    p.line({"rules.v4", 3, 1}, "-A INPUT -s 198.18.0.0/15 -j ACCEPT");
    p.emit(Mov{Width::w64, Reg::r0, XDP_PASS, 0});
    p.line({"rules.v4", 7, 1}, "-A INPUT -p tcp --dport 22 -j DROP");
    p.emit(Load{Size::u32, false, Reg::r0, Reg::r3, 0});  // r3 was never set
    p.emit(Exit{});
    std::string error;
    EXPECT_FALSE(loader::load_direct(p, {}, error));
    EXPECT_NE(error.find("-A INPUT -p tcp --dport 22 -j DROP @ rules.v4:7"), std::string::npos) << error;
    EXPECT_NE(error.find("R3 !read_ok"), std::string::npos) << error;

    p.insns[1] = Goto{"nowhere", false};
    EXPECT_FALSE(loader::load_direct(p, {}, error));
    EXPECT_EQ(error, "internal error: instruction 1: unknown label 'nowhere'");
}

}  // namespace
}  // namespace bpftables::test
