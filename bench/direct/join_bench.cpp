// How per-ruleset code joins the prebuilt BPF (issue 14, item 2): measured, not guessed.
//
//   join_bench RULES [--repeat N] [--runs K] [--no-c]
//
// RULES is an iptables-save text whose filter INPUT rules use only -s/-d prefixes, -p and TCP/UDP port ranges
// with ACCEPT or DROP (bench/gen_ruleset.py writes such rulesets). The chain is emitted as eBPF instructions
// (codegen/insn; a prototype emitter, one test after the other, as the C back end does without its classifier)
// and loaded without clang (loader/direct) in three ways:
//   tail:  a BPF_PROG_TYPE_XDP program in proto_jmp[0], tail-called by join.bpf.c's prebuilt entry_tail;
//   ext:   a BPF_PROG_TYPE_EXT program replacing join.bpf.c's global bpft_rules, called by entry_ext;
//   whole: one XDP program, the parse emitted as instructions too (no prebuilt code);
//   call:  as whole, with the rules in a global function that the entry calls: freplace's per-packet cost,
//          for kernels that refuse EXT programs (this project's VM does).
// Then, unless --no-c, the same ruleset through the C back end (codegen::build, clang, libbpf) with the
// classifier off, as `BPFTABLES_CLASSIFIER_MIN=0 bpftables compile --stats` builds it.
// It prints, per way, the load time (front end, emission, assemble+BTF+verifier; the median of 5 loads) and the verifier's count,
// and ns/packet (BPF_PROG_TEST_RUN, repeat N, median of K runs) for a packet the first rule decides and one
// that no rule matches (every rule is tested). Last, what freplace allows when the rules change under a
// running entry program. Needs root.
//
// Knobs for the experiments of the notes: JOIN_SEGMENT=N rules per global function (default 1,000; a chain of
// at most N rules stays inline in one function), JOIN_PAD=P instructions of padding in front of the tail-called
// program, JOIN_NO_LINES (no BTF line info), JOIN_NO_STATS (no verifier statistics), JOIN_DUMP (the listing of
// the tail-called program to stderr).
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/diagnostics.hpp"
#include "codegen/build.hpp"
#include "codegen/insn/insn.hpp"
#include "codegen/insn/print.hpp"
#include "compiler/iptables_lower.hpp"
#include "loader/direct.hpp"
#include "loader/loaded_program.hpp"
#include "loader/packet.hpp"

using namespace bpftables;
using namespace bpftables::codegen::insn;
using loader::DirectLoadOptions;
using loader::DirectProgram;

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// struct proto_pkt of join.bpf.c
constexpr int16_t kSaddr = 0, kDaddr = 4, kSport = 8, kDport = 10, kProto = 12;

// r6 = the per-CPU scratch value (XDP_PASS when the lookup fails). Clobbers r1-r5. Every exit is emitted
// next to its test: a jump to one shared exit after 10,000 rules would not fit a 16-bit offset.
void emit_scratch(Program& p, int scratch_fd, const std::string& prefix = "") {
    p.emit(Store{Size::u32, Reg::r10, -4, 0});
    p.emit(LoadImm64::map(Reg::r1, scratch_fd));
    p.emit(Mov{Width::w64, Reg::r2, Reg::r10, 0});
    p.emit(Alu{AluOp::add, Width::w64, Reg::r2, -4});
    p.emit(CallHelper{BPF_FUNC_map_lookup_elem});
    p.emit(Jump{JmpOp::ne, Width::w64, Reg::r0, 0, prefix + "scratch"});  // jumps stay short: no far exit
    p.emit(Mov{Width::w64, Reg::r0, XDP_PASS, 0});
    p.emit(Exit{});
    p.label(prefix + "scratch");
    p.emit(Mov{Width::w64, Reg::r6, Reg::r0, 0});
}

// join.bpf.c's parse(), as instructions: ctx in r9, the scratch value in r6.
void emit_parse(Program& p) {
    p.emit(Load{Size::u32, false, Reg::r2, Reg::r9, 0});  // data
    p.emit(Load{Size::u32, false, Reg::r3, Reg::r9, 4});  // data_end
    p.emit(Mov{Width::w64, Reg::r4, Reg::r2, 0});
    p.emit(Alu{AluOp::add, Width::w64, Reg::r4, 34});
    p.emit(Jump{JmpOp::gt, Width::w64, Reg::r4, Reg::r3, "not_ipv4"});
    p.emit(Load{Size::u16, false, Reg::r5, Reg::r2, 12});
    p.emit(Jump{JmpOp::ne, Width::w32, Reg::r5, 0x0008, "not_ipv4"});  // htons(ETH_P_IP) read little-endian
    p.emit(Load{Size::u8, false, Reg::r5, Reg::r2, 14});
    p.emit(Alu{AluOp::and_, Width::w32, Reg::r5, 0xf});
    p.emit(Jump{JmpOp::ne, Width::w32, Reg::r5, 5, "not_ipv4"});
    auto field = [&](Size size, int16_t from, int16_t to, int bits) {
        p.emit(Load{size, false, Reg::r5, Reg::r2, from});
        if (bits) p.emit(ByteSwap{Endian::to_be, static_cast<uint8_t>(bits), Reg::r5});
        p.emit(Store{size, Reg::r6, to, Reg::r5});
    };
    field(Size::u32, 26, kSaddr, 32);
    field(Size::u32, 30, kDaddr, 32);
    field(Size::u8, 23, kProto, 0);
    p.emit(Alu{AluOp::add, Width::w64, Reg::r4, 4});
    p.emit(Jump{JmpOp::gt, Width::w64, Reg::r4, Reg::r3, "no_ports"});
    field(Size::u16, 34, kSport, 16);
    field(Size::u16, 36, kDport, 16);
    p.emit(Goto{"rules", false});
    p.label("no_ports");
    p.emit(Store{Size::u32, Reg::r6, kSport, 0});
    p.emit(Goto{"rules", false});
    p.label("not_ipv4");
    p.emit(Mov{Width::w64, Reg::r0, XDP_PASS, 0});
    p.emit(Exit{});
    p.label("rules");
}

// Emits rules [first, last) of `chain` (reading the scratch value in r6); each rule jumps to its own "next"
// label when a test fails, so that the verifier's pending states stay one deep. Falls through past the last
// rule. Returns false on a match this prototype does not emit.
bool emit_rule_range(Program& p, const ir::Chain& chain, size_t first, size_t last,
                     const std::vector<std::string>& lines, std::string& error, const std::string& prefix) {
    for (size_t n = first; n < last; ++n) {
        const ir::Rule& r = chain.rules[n];
        std::string next = prefix + "next" + std::to_string(n);
        if (!getenv("JOIN_NO_LINES"))
            p.line(r.loc, r.loc.line > 0 && static_cast<size_t>(r.loc.line) <= lines.size()
                              ? lines[r.loc.line - 1]
                              : "");
        auto range = [&](int16_t off, const ir::PortRange& pr) {
            p.emit(Load{Size::u16, false, Reg::r1, Reg::r6, off});
            if (pr.lo == pr.hi) {
                p.emit(Jump{JmpOp::ne, Width::w32, Reg::r1, pr.lo, next});
                return;
            }
            if (pr.lo > 0) p.emit(Jump{JmpOp::lt, Width::w32, Reg::r1, pr.lo, next});
            if (pr.hi < 0xffff) p.emit(Jump{JmpOp::gt, Width::w32, Reg::r1, pr.hi, next});
        };
        for (const ir::Match& m : r.matches) {
            bool ok = std::visit(
                [&](const auto& v) {
                    using T = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<T, ir::AddressMatch>) {
                        if (v.invert) return false;
                        p.emit(Load{Size::u32, false, Reg::r1, Reg::r6,
                                    v.dir == ir::Dir::src ? kSaddr : kDaddr});
                        if (v.net.mask != 0xffffffff)
                            p.emit(Alu{AluOp::and_, Width::w32, Reg::r1, static_cast<int32_t>(v.net.mask)});
                        p.emit(Jump{JmpOp::ne, Width::w32, Reg::r1, static_cast<int32_t>(v.net.addr), next});
                        return true;
                    } else if constexpr (std::is_same_v<T, ir::ProtocolMatch>) {
                        if (v.invert) return false;
                        p.emit(Load{Size::u8, false, Reg::r1, Reg::r6, kProto});
                        p.emit(Jump{JmpOp::ne, Width::w32, Reg::r1, v.proto, next});
                        return true;
                    } else if constexpr (std::is_same_v<T, ir::TcpMatch> || std::is_same_v<T, ir::UdpMatch>) {
                        if constexpr (std::is_same_v<T, ir::TcpMatch>)
                            if (v.flags || v.option) return false;
                        if ((v.sport && v.sport->invert) || (v.dport && v.dport->invert)) return false;
                        if (v.sport) range(kSport, v.sport->value);
                        if (v.dport) range(kDport, v.dport->value);
                        return true;
                    } else {
                        return false;
                    }
                },
                m);
            if (!ok)
                return error =
                           r.loc.file + ":" + std::to_string(r.loc.line) + ": not emitted by this prototype",
                       false;
        }
        if (std::holds_alternative<ir::AcceptTarget>(r.target))
            p.emit(Mov{Width::w64, Reg::r0, XDP_PASS, 0});
        else if (std::holds_alternative<ir::DropTarget>(r.target))
            p.emit(Mov{Width::w64, Reg::r0, XDP_DROP, 0});
        else
            return error = r.loc.file + ":" + std::to_string(r.loc.line) +
                           ": target not emitted by this prototype",
                   false;
        p.emit(Exit{});
        p.label(next);
    }
    return true;
}

// Rules per segment: one function holding 1,813 or more of gen_ruleset.py's rules is refused on this kernel
// (EFAULT, no verifier message; docs/design-notes.md), and a segment is verified once, on its own, as the C
// back end's global functions are.
size_t segment_rules() {
    const char* s = getenv("JOIN_SEGMENT");
    return s ? std::strtoul(s, nullptr, 10) : 1000;
}
constexpr int32_t kContinue = 0xff;  // a segment that decided nothing

// Emits the rules of `chain` and its policy, the scratch value in r6. Up to segment_rules() rules are emitted
// inline; more become global functions (each looking the scratch value up itself) called in order, each
// returning kContinue when no rule of it decided.
bool emit_rules(Program& p, const ir::Chain& chain, const std::vector<std::string>& lines, std::string& error,
                const std::string& prefix = "", DirectLoadOptions* functions = nullptr, int scratch_fd = -1) {
    size_t per = segment_rules();
    auto policy = [&] {
        p.emit(Mov{Width::w64, Reg::r0, chain.policy == ir::Policy::drop ? XDP_DROP : XDP_PASS, 0});
        p.emit(Exit{});
    };
    if (chain.rules.size() <= per || !functions) {
        if (!emit_rule_range(p, chain, 0, chain.rules.size(), lines, error, prefix)) return false;
        policy();
        return true;
    }
    size_t segments = (chain.rules.size() + per - 1) / per;
    for (size_t s = 0; s < segments; ++s) {
        p.emit(Mov{Width::w64, Reg::r1, 0, 0});
        p.emit(CallLocal{prefix + "seg" + std::to_string(s)});
        p.emit(Jump{JmpOp::eq, Width::w64, Reg::r0, kContinue, prefix + "after" + std::to_string(s)});
        p.emit(Exit{});
        p.label(prefix + "after" + std::to_string(s));
    }
    policy();
    for (size_t s = 0; s < segments; ++s) {
        std::string seg = prefix + "seg" + std::to_string(s);
        p.label(seg);
        functions->functions[seg] = {{loader::BtfArg::u32}, true};
        emit_scratch(p, scratch_fd, seg + "_");
        if (!emit_rule_range(p, chain, s * per, std::min(chain.rules.size(), (s + 1) * per), lines, error,
                             seg + "_"))
            return false;
        p.emit(Mov{Width::w64, Reg::r0, kContinue, 0});
        p.emit(Exit{});
    }
    return true;
}

// "processed N insns" of a verifier log with BPF_LOG_STATS.
long processed(const std::string& log) {
    size_t at = log.rfind("processed ");
    return at == std::string::npos ? -1 : std::atol(log.c_str() + at + 10);
}

struct Timing {
    double hit = 0, miss = 0;
    uint32_t hit_ret = 0, miss_ret = 0;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

Timing time_prog(int fd, const std::vector<uint8_t>& hit, const std::vector<uint8_t>& miss, int repeat,
                 int runs) {
    Timing t;
    for (int which = 0; which < 2; ++which) {
        const std::vector<uint8_t>& f = which ? miss : hit;
        std::vector<double> ns;
        for (int k = 0; k < runs; ++k) {
            LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f.data(),
                        .data_size_in = static_cast<uint32_t>(f.size()), .repeat = repeat);
            if (bpf_prog_test_run_opts(fd, &opts) != 0) {
                std::fprintf(stderr, "test run: %s\n", std::strerror(errno));
                std::exit(1);
            }
            ns.push_back(opts.duration);
            (which ? t.miss_ret : t.hit_ret) = opts.retval;
        }
        (which ? t.miss : t.hit) = median(ns);
    }
    return t;
}

// The BTF id of function `name` in the BTF the kernel holds for program `prog_fd`.
uint32_t prog_func_btf_id(int prog_fd, const char* name) {
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0 || !info.btf_id) return 0;
    btf* b = btf__load_from_kernel_by_id(info.btf_id);
    if (!b) return 0;
    int id = btf__find_by_name_kind(b, name, BTF_KIND_FUNC);
    btf__free(b);
    return id > 0 ? static_cast<uint32_t>(id) : 0;
}

struct Prebuilt {
    bpf_object* obj = nullptr;
    int tail = -1, ext = -1, parse = -1, scratch = -1, jmp = -1;
};

Prebuilt open_prebuilt(double* ms = nullptr) {
    auto start = Clock::now();
    Prebuilt p;
    p.obj = bpf_object__open_file(JOIN_BPF_OBJECT, nullptr);
    if (!p.obj || bpf_object__load(p.obj) != 0) {
        std::fprintf(stderr, "cannot load %s: %s\n", JOIN_BPF_OBJECT, std::strerror(errno));
        std::exit(1);
    }
    p.tail = bpf_program__fd(bpf_object__find_program_by_name(p.obj, "entry_tail"));
    p.ext = bpf_program__fd(bpf_object__find_program_by_name(p.obj, "entry_ext"));
    p.parse = bpf_program__fd(bpf_object__find_program_by_name(p.obj, "entry_parse"));
    p.scratch = bpf_object__find_map_fd_by_name(p.obj, "proto_scratch");
    p.jmp = bpf_object__find_map_fd_by_name(p.obj, "proto_jmp");
    if (ms) *ms = ms_since(start);
    return p;
}

std::optional<DirectProgram> load_or_die(const Program& p, const DirectLoadOptions& o) {
    std::string error;
    std::optional<DirectProgram> prog = loader::load_direct(p, o, error);
    if (!prog) {
        std::fprintf(stderr, "%s: %s\n", o.name.c_str(), error.c_str());
        std::exit(1);
    }
    return prog;
}

// Loads `p` `times` times (keeping the last) and reports the median load time in `ms`.
std::optional<DirectProgram> load_timed(const Program& p, const DirectLoadOptions& o, double& ms,
                                        int times = 5) {
    std::vector<double> t;
    std::optional<DirectProgram> prog;
    for (int i = 0; i < times; ++i) {
        prog.reset();
        auto start = Clock::now();
        prog = load_or_die(p, o);
        t.push_back(ms_since(start));
    }
    ms = median(t);
    return prog;
}

int link_ext(int ext_fd, int target_fd, uint32_t btf_id) {
    LIBBPF_OPTS(bpf_link_create_opts, opts, .target_btf_id = btf_id);
    return bpf_link_create(ext_fd, target_fd, static_cast<bpf_attach_type>(0), &opts);
}

uint32_t run_once(int fd, const std::vector<uint8_t>& f) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f.data(),
                .data_size_in = static_cast<uint32_t>(f.size()));
    return bpf_prog_test_run_opts(fd, &opts) == 0 ? opts.retval : 0xffffffff;
}

int run(int argc, char** argv) {
    if (argc < 2) {
        std::fputs("usage: join_bench RULES [--repeat N] [--runs K] [--no-c]\n", stderr);
        return 2;
    }
    int repeat = 100000, runs = 5;
    bool with_c = true;
    for (int i = 2; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--no-c"))
            with_c = false;
    }
    std::ifstream in(argv[1]);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    std::vector<std::string> lines;
    std::istringstream line_stream(text);
    for (std::string l; std::getline(line_stream, l);) lines.push_back(l);

    // Front end, as every back end has it.
    auto t0 = Clock::now();
    Diagnostics diags;
    std::optional<ir::Program> program = parse_and_lower(text, argv[1], diags);
    if (!program) return std::fputs(diags.str().c_str(), stderr), 1;
    double front_ms = ms_since(t0);
    const ir::Chain* input = program->find("filter") ? program->find("filter")->find("INPUT") : nullptr;
    if (!input) return std::fputs("no filter INPUT chain\n", stderr), 1;
    size_t n = input->rules.size();

    double prebuilt_ms = 0;
    Prebuilt pre = open_prebuilt(&prebuilt_ms);
    std::printf(
        "rules %zu  front_end_ms %.1f  prebuilt_object_load_ms %.1f (join.bpf.o, once per generation or "
        "boot)\n",
        n, front_ms, prebuilt_ms);

    // Frames: the first rule's packet (inside its prefixes and ports) and one no rule matches.
    loader::Ipv4 hit_ip, miss_ip;
    loader::Tcp hit_tcp;
    uint8_t proto = 6;
    for (const ir::Match& m : input->rules.front().matches) {
        if (const auto* a = std::get_if<ir::AddressMatch>(&m))
            (a->dir == ir::Dir::src ? hit_ip.src : hit_ip.dst) = a->net.addr | (~a->net.mask & 0x01010101);
        if (const auto* pm = std::get_if<ir::ProtocolMatch>(&m)) proto = pm->proto;
        auto ports = [&](const auto& v) {
            if (v.sport) hit_tcp.sport = v.sport->value.lo;
            if (v.dport) hit_tcp.dport = v.dport->value.lo;
        };
        if (const auto* t = std::get_if<ir::TcpMatch>(&m)) ports(*t);
        if (const auto* u = std::get_if<ir::UdpMatch>(&m)) ports(*u);
    }
    std::vector<uint8_t> hit = proto == 17 ? loader::frame(hit_ip, loader::Udp{hit_tcp.sport, hit_tcp.dport})
                                           : loader::frame(hit_ip, hit_tcp);
    miss_ip.src = loader::ip("192.0.2.1");  // TEST-NET-1: outside every generated prefix
    std::vector<uint8_t> miss = loader::frame(miss_ip, loader::Tcp{});

    auto report = [&](const char* way, double emit_ms, double load_ms, long verified, uint32_t insns,
                      int fd) {
        Timing t = time_prog(fd, hit, miss, repeat, runs);
        std::printf(
            "%-6s emit_ms %8.1f  load_ms %8.1f  insns %7u  verified %8ld  ns_hit %6.1f (ret %u)  ns_miss "
            "%8.1f (ret %u)\n",
            way, emit_ms, load_ms, insns, verified, t.hit, t.hit_ret, t.miss, t.miss_ret);
        return t;
    };
    std::string error;

    // (a) tail call
    DirectLoadOptions o;
    auto t = Clock::now();
    Program tail;
    for (long i = 0, pad = getenv("JOIN_PAD") ? std::atol(getenv("JOIN_PAD")) : 0; i < pad; ++i)
        tail.emit(Mov{Width::w64, Reg::r2, 0, 0});  // JOIN_PAD: probes the size limit below
    emit_scratch(tail, pre.scratch);
    if (!emit_rules(tail, *input, lines, error, "", &o, pre.scratch))
        return std::fprintf(stderr, "%s\n", error.c_str()), 1;
    double emit_ms = ms_since(t);
    o.name = "rules_tail";
    o.expected_attach_type = BPF_XDP;  // as libbpf loads SEC("xdp"): a prog array takes only its owner's kind
    o.log_on_success = !getenv("JOIN_NO_STATS");
    if (getenv("JOIN_DUMP")) std::fputs(listing(tail).c_str(), stderr);
    double load_ms = 0;
    std::optional<DirectProgram> tail_prog = load_timed(tail, o, load_ms);
    int zero = 0, fd = tail_prog->prog.get();
    if (bpf_map_update_elem(pre.jmp, &zero, &fd, BPF_ANY) != 0) return std::perror("prog array"), 1;
    Timing ta = report("tail", emit_ms, load_ms, processed(tail_prog->log), tail_prog->insn_count, pre.tail);

    // (b) freplace
    t = Clock::now();
    Program ext;
    emit_scratch(ext, pre.scratch);
    emit_rules(ext, *input, lines, error, "", &o, pre.scratch);
    emit_ms = ms_since(t);
    uint32_t btf_id = prog_func_btf_id(pre.ext, "bpft_rules");
    if (!btf_id) return std::fputs("bpft_rules not found in entry_ext's BTF\n", stderr), 1;
    o.name = "bpft_rules";
    o.type = BPF_PROG_TYPE_EXT;
    o.expected_attach_type = static_cast<bpf_attach_type>(0);
    o.attach_prog_fd = pre.ext;
    o.attach_btf_id = btf_id;
    o.functions[""] = {{loader::BtfArg::u32}, true};
    t = Clock::now();
    std::optional<DirectProgram> ext_prog = loader::load_direct(ext, o, error);
    load_ms = ms_since(t);
    loader::Fd ext_link;
    Timing tb;
    if (!ext_prog) {
        std::printf("ext    refused: %s\n", error.substr(0, error.find('\n')).c_str());
    } else {
        ext_link = loader::Fd(link_ext(ext_prog->prog.get(), pre.ext, btf_id));
        if (!ext_link) {
            std::printf("ext    loaded, but its link was refused: %s\n", std::strerror(errno));
            ext_prog.reset();
        } else {
            tb = report("ext", emit_ms, load_ms, processed(ext_prog->log), ext_prog->insn_count, pre.ext);
        }
    }

    // (c) everything emitted
    DirectLoadOptions ow;
    t = Clock::now();
    Program whole;
    whole.emit(Mov{Width::w64, Reg::r9, Reg::r1, 0});
    emit_scratch(whole, pre.scratch);
    emit_parse(whole);
    emit_rules(whole, *input, lines, error, "", &ow, pre.scratch);
    emit_ms = ms_since(t);
    ow.name = "rules_whole";
    ow.expected_attach_type = BPF_XDP;
    ow.log_on_success = !getenv("JOIN_NO_STATS");
    std::optional<DirectProgram> whole_prog = load_timed(whole, ow, load_ms);
    Timing tc = report("whole", emit_ms, load_ms, processed(whole_prog->log), whole_prog->insn_count,
                       whole_prog->prog.get());

    // (b') what freplace costs per packet, where freplace cannot load: the rules as a global function that the
    // entry calls (BPF-to-BPF call, as the prebuilt entry_ext calls bpft_rules; an attached EXT program adds
    // one direct jump at that function's entry).
    DirectLoadOptions oc = ow;
    t = Clock::now();
    Program call;
    call.emit(Mov{Width::w64, Reg::r9, Reg::r1, 0});
    emit_scratch(call, pre.scratch);
    emit_parse(call);
    call.emit(Mov{Width::w64, Reg::r1, 1, 0});
    call.emit(CallLocal{"bpft_rules"});
    call.emit(Exit{});
    call.label("bpft_rules");
    emit_scratch(call, pre.scratch, "f_");
    emit_rules(call, *input, lines, error, "f_", &oc, pre.scratch);
    emit_ms = ms_since(t);
    oc.name = "rules_call";
    oc.functions["bpft_rules"] = {{loader::BtfArg::u32}, true};
    std::optional<DirectProgram> call_prog = load_timed(call, oc, load_ms);
    Timing td = report("call", emit_ms, load_ms, processed(call_prog->log), call_prog->insn_count,
                       call_prog->prog.get());

    Timing tp = time_prog(pre.parse, hit, miss, repeat, runs);
    std::printf(
        "parse  (prebuilt entry_parse alone: the floor)                                   ns_hit %6.1f       "
        "     ns_miss %8.1f\n",
        tp.hit, tp.miss);
    bool agree = ta.hit_ret == tc.hit_ret && ta.miss_ret == tc.miss_ret && ta.hit_ret == td.hit_ret &&
                 ta.miss_ret == td.miss_ret &&
                 (!ext_prog || (ta.hit_ret == tb.hit_ret && ta.miss_ret == tb.miss_ret));
    std::printf("verdicts agree across the ways that loaded: %s\n", agree ? "yes" : "NO");

    // The C back end on the same ruleset, classifier off (one test per rule, like the emitted code).
    if (with_c) {
        codegen::Options copts;
        copts.classifier_min = 0;
        ir::Program cprog = *program;
        Diagnostics cd;
        t = Clock::now();
        std::optional<codegen::Build> built = codegen::build(cprog, codegen::Hook::xdp, cd, copts);
        double build_ms = ms_since(t);
        if (!built) return std::fputs(cd.str().c_str(), stderr), 1;
        bpft_config config{};
        config.chain_mode = BPFT_CHAIN_INPUT;  // as `bpftables run --chain INPUT`: every packet meets INPUT
        config.test_run = 1;
        t = Clock::now();
        auto loaded = loader::LoadedProgram::load(built->object.object, codegen::Hook::xdp, config, cprog,
                                                  built->c.layout, error);
        double cload_ms = ms_since(t);
        if (!loaded) return std::fprintf(stderr, "C path: %s\n", error.c_str()), 1;
        loader::ProgramStats s = loaded->stats();
        Timing tcc = time_prog(loaded->prog_fd(), hit, miss, repeat, runs);
        std::printf(
            "C      build_ms %7.1f (clang %.1f)  load_ms %8.1f  insns %7u  verified %8u  ns_hit %6.1f (ret "
            "%u)  ns_miss %8.1f (ret %u)  [full bpft_parse, counters]\n",
            build_ms, built->object.seconds * 1e3, cload_ms, s.insns, s.verified_insns, tcc.hit, tcc.hit_ret,
            tcc.miss, tcc.miss_ret);
    }

    // freplace under a running entry program: can the rules be swapped in place?
    std::printf("-- freplace swap\n");
    if (!ext_prog) {
        std::printf("not tried: this kernel refused the EXT program\n");
    } else {
        std::optional<DirectProgram> ext2 = loader::load_direct(ext, o, error);  // a second generation
        if (!ext2) {
            std::printf("a second EXT program was refused: %s\n", error.substr(0, error.find('\n')).c_str());
            return agree ? 0 : 1;
        }
        loader::Fd second(link_ext(ext2->prog.get(), pre.ext, btf_id));
        std::printf("second EXT attached to the same function while the first is: %s\n",
                    second ? "yes" : (std::string("refused: ") + std::strerror(errno)).c_str());
        int rc = bpf_link_update(ext_link.get(), ext2->prog.get(), nullptr);
        std::printf("bpf_link_update of the freplace link to the second EXT: %s\n",
                    rc == 0 ? "ok" : (std::string("refused: ") + std::strerror(errno)).c_str());
        uint32_t with = run_once(pre.ext, miss);
        ext_link = loader::Fd();
        uint32_t without = run_once(pre.ext, miss);
        t = Clock::now();
        loader::Fd relinked(link_ext(ext2->prog.get(), pre.ext, btf_id));
        double relink_ms = ms_since(t);
        std::printf(
            "detach then attach: miss packet returns %u with the EXT, %u in the window without it (the "
            "prebuilt default), %u after; attach took %.2f ms\n",
            with, without, run_once(pre.ext, miss), relink_ms);
        // A fresh entry program per generation, the old EXT program attached to it too, then the hook's link swapped.
        double fresh_ms = 0;
        Prebuilt fresh = open_prebuilt(&fresh_ms);
        t = Clock::now();
        loader::Fd fresh_link(
            link_ext(ext2->prog.get(), fresh.ext, prog_func_btf_id(fresh.ext, "bpft_rules")));
        std::printf(
            "fresh entry program: loaded in %.1f ms; the same EXT attached to it as well: %s (%.2f ms); its "
            "miss packet returns %u\n",
            fresh_ms, fresh_link ? "yes" : (std::string("refused: ") + std::strerror(errno)).c_str(),
            ms_since(t), run_once(fresh.ext, miss));
        bpf_object__close(fresh.obj);
    }
    // Tail calls: the slot swaps atomically.
    t = Clock::now();
    int rc = bpf_map_update_elem(pre.jmp, &zero, &fd, BPF_ANY);
    std::printf("-- tail call swap: prog array update %s in %.3f ms\n", rc == 0 ? "ok" : "failed",
                ms_since(t));
    bpf_object__close(pre.obj);
    return agree ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "join_bench: %s\n", e.what());
        return 1;
    }
}
