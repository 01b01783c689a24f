// bpftables_bench: the BPF pieces of the benchmark, driven by bench/run_bench.py.
//
//   bpftables_bench send --ns NS --dev IF --src-mac MAC --dst-mac MAC --flows FILE --seconds S
//                        --max-packets N [--cpu C]
//       The traffic generator: bench_gen (bench_gen6 for IPv6 flows; bench.bpf.c) run with BPF_PROG_TEST_RUN in
//       live-frames mode inside NS, XDP_TX out of IF, round robin over the flows. Bounded by packets and seconds.
//       Prints "sent PACKETS seconds S".
//   bpftables_bench dut --ns NS --dev IF --mode pass|drop|bpftables-xdp|bpftables-tc [--ruleset FILE]
//                       [--family 4|6]
//       Loads and attaches the DUT's program to IF inside NS (bpf links: they go when this process goes),
//       prints "ready k=v ...", then answers one command per stdin line until EOF:
//         count               -> "count VERDICTS ARRIVED" (the program's counters, summed over CPUs)
//         nspp REPEAT FLOWS   -> "nspp NS" the mean ns per packet of the program alone over the flows
//                                (BPF_PROG_TEST_RUN with repeat, not live, a copy loaded for test runs)
//         rules               -> "rules P1 ... Pn POLICY" packets per rule of filter INPUT, then its policy
//                                (bpftables modes; "rules" alone otherwise): which rule decided
//
// Flow files: one flow a line, "tcp|udp SADDR DADDR SPORT DPORT"; IPv4 or IPv6 addresses, one family a file.
// --family 6 reads the DUT's ruleset as ip6tables-save text.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/input.hpp"
#include "codegen/build.hpp"
#include "loader/loaded_program.hpp"

namespace bpftables::bench {
namespace {

constexpr size_t kFrameLen = 64;
constexpr size_t kFrame6Len = kFrameLen - 20 + 40;  // the same 30 bytes of TCP or UDP behind an IPv6 header

struct Fd {
    int fd = -1;
    Fd() = default;
    explicit Fd(int f) : fd(f) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
    ~Fd() {
        if (fd >= 0) close(fd);
    }
};

struct ObjectCloser {
    void operator()(bpf_object* o) const { bpf_object__close(o); }
};
using Object = std::unique_ptr<bpf_object, ObjectCloser>;

// Mirrors struct bench_flow in bench.bpf.c (network byte order).
struct Flow {
    uint32_t saddr[4] = {};  // IPv4: saddr[0]
    uint32_t daddr[4] = {};
    uint16_t sport = 0;
    uint16_t dport = 0;
    uint8_t proto = 0;
    uint8_t pad[3] = {};
};

using Args = std::map<std::string, std::string>;

// --key value pairs into a map; false on anything else.
bool parse_args(int argc, char** argv, Args& args) {
    for (int i = 0; i < argc; i += 2) {
        if (std::strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc) {
            std::fprintf(stderr, "bpftables_bench: bad argument '%s'\n", argv[i]);
            return false;
        }
        args[argv[i] + 2] = argv[i + 1];
    }
    return true;
}

bool enter_netns(const std::string& name) {
    Fd ns(open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
    if (ns.fd < 0 || setns(ns.fd, CLONE_NEWNET) != 0) {
        std::fprintf(stderr, "bpftables_bench: cannot enter netns %s: %s\n", name.c_str(),
                     std::strerror(errno));
        return false;
    }
    return true;
}

struct Flows {
    std::vector<Flow> flows;
    bool ipv6 = false;
};

// The flows of a file, all of one family (the first flow's).
std::optional<Flows> read_flows(const std::string& file) {
    std::ifstream in(file);
    if (!in) return std::nullopt;
    Flows out;
    std::string proto, src, dst;
    unsigned sport, dport;
    while (in >> proto >> src >> dst >> sport >> dport) {
        if (out.flows.empty()) out.ipv6 = src.find(':') != std::string::npos;
        int af = out.ipv6 ? AF_INET6 : AF_INET;
        Flow f;
        f.proto = proto == "tcp" ? IPPROTO_TCP : IPPROTO_UDP;
        if (inet_pton(af, src.c_str(), f.saddr) != 1 || inet_pton(af, dst.c_str(), f.daddr) != 1)
            return std::nullopt;
        f.sport = htons(static_cast<uint16_t>(sport));
        f.dport = htons(static_cast<uint16_t>(dport));
        out.flows.push_back(f);
    }
    if (out.flows.empty()) return std::nullopt;
    return out;
}

bool parse_mac(const std::string& text, uint8_t (&mac)[6]) {
    unsigned b[6];
    if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
        return false;
    for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(b[i]);
    return true;
}

uint16_t ip_checksum(const uint8_t* header) {
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += static_cast<uint32_t>(header[i] << 8 | header[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

// The L4 checksum (TCP, or UDP over IPv6) over the pseudo-header and the segment, in network order.
uint16_t l4_checksum(const uint8_t* src, const uint8_t* dst, size_t addr_len, uint8_t proto,
                     const uint8_t* l4, size_t len) {
    uint32_t sum = proto + static_cast<uint32_t>(len);
    auto add = [&](const uint8_t* p, size_t n) {
        for (size_t i = 0; i < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    };
    add(src, addr_len);
    add(dst, addr_len);
    add(l4, len);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    uint16_t check = static_cast<uint16_t>(~sum);
    return check ? check : 0xffff;
}

// A 64-byte Ethernet/IPv4/TCP-or-UDP frame for `flow` (84 bytes, Ethernet/IPv6, with `ipv6`), the same bytes
// bench_gen (bench_gen6) writes.
std::vector<uint8_t> build_frame(const Flow& flow, const uint8_t (&src_mac)[6], const uint8_t (&dst_mac)[6],
                                 bool ipv6 = false) {
    const size_t len = ipv6 ? kFrame6Len : kFrameLen, l3 = ipv6 ? 40 : 20;
    std::vector<uint8_t> frame(len, 0);
    std::memcpy(&frame[0], dst_mac, 6);
    std::memcpy(&frame[6], src_mac, 6);
    uint8_t* ip = &frame[14];
    uint8_t* l4 = ip + l3;
    const size_t l4_len = len - 14 - l3;
    if (ipv6) {
        frame[12] = 0x86, frame[13] = 0xdd;
        ip[0] = 0x60;
        ip[5] = static_cast<uint8_t>(l4_len);
        ip[6] = flow.proto;
        ip[7] = 64;
        std::memcpy(&ip[8], flow.saddr, 16);
        std::memcpy(&ip[24], flow.daddr, 16);
    } else {
        frame[12] = 0x08;
        ip[0] = 0x45;
        ip[3] = static_cast<uint8_t>(len - 14);
        ip[8] = 64;
        ip[9] = flow.proto;
        std::memcpy(&ip[12], flow.saddr, 4);
        std::memcpy(&ip[16], flow.daddr, 4);
        uint16_t check = ip_checksum(ip);
        ip[10] = static_cast<uint8_t>(check >> 8);
        ip[11] = static_cast<uint8_t>(check);
    }
    std::memcpy(&l4[0], &flow.sport, 2);
    std::memcpy(&l4[2], &flow.dport, 2);
    if (flow.proto == IPPROTO_UDP) {
        l4[5] = static_cast<uint8_t>(l4_len);
        if (ipv6) {
            uint16_t check = l4_checksum(&ip[8], &ip[24], 16, flow.proto, l4, l4_len);
            l4[6] = static_cast<uint8_t>(check >> 8), l4[7] = static_cast<uint8_t>(check);
        }
    } else {
        l4[7] = 1;
        l4[12] = 5 << 4;
        l4[13] = 0x02;
        l4[14] = 0x04;
        uint16_t check = ipv6 ? l4_checksum(&ip[8], &ip[24], 16, flow.proto, l4, l4_len)
                              : l4_checksum(&ip[12], &ip[16], 4, flow.proto, l4, l4_len);
        l4[16] = static_cast<uint8_t>(check >> 8), l4[17] = static_cast<uint8_t>(check);
    }
    return frame;
}

// bench.bpf.o lies beside this executable, in the build tree (build/bench/) as where it is installed
// (libexec/bpftables/bench/).
std::string bench_object_path() {
    std::error_code ec;
    std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::string("bench.bpf.o") : (self.parent_path() / "bench.bpf.o").string();
}

std::optional<Object> open_bench_object(uint32_t nflows) {
    const std::string path = bench_object_path();
    Object obj(bpf_object__open_file(path.c_str(), nullptr));
    if (!obj) {
        std::fprintf(stderr, "bpftables_bench: cannot open %s\n", path.c_str());
        return std::nullopt;
    }
    bpf_map* rodata = nullptr;
    for (bpf_map* m = bpf_object__next_map(obj.get(), nullptr); m; m = bpf_object__next_map(obj.get(), m))
        if (std::strstr(bpf_map__name(m), ".rodata")) rodata = m;
    if (!rodata || bpf_map__set_initial_value(rodata, &nflows, sizeof nflows) != 0) {
        std::fprintf(stderr, "bpftables_bench: cannot set bench_nflows\n");
        return std::nullopt;
    }
    if (bpf_object__load(obj.get()) != 0) {
        std::fprintf(stderr, "bpftables_bench: cannot load %s: %s\n", path.c_str(), std::strerror(errno));
        return std::nullopt;
    }
    return obj;
}

int prog_fd(const Object& obj, const char* name) {
    bpf_program* p = bpf_object__find_program_by_name(obj.get(), name);
    return p ? bpf_program__fd(p) : -1;
}

uint64_t percpu_sum(int map_fd) {
    int cpus = libbpf_num_possible_cpus();
    std::vector<uint64_t> values(cpus > 0 ? cpus : 1);
    uint32_t zero = 0;
    if (bpf_map_lookup_elem(map_fd, &zero, values.data()) != 0) return 0;
    uint64_t sum = 0;
    for (uint64_t v : values) sum += v;
    return sum;
}

void on_alarm(int) {}

int send_command(const Args& args) {
    for (const char* key : {"ns", "dev", "src-mac", "dst-mac", "flows", "seconds", "max-packets"})
        if (!args.count(key)) return std::fprintf(stderr, "bpftables_bench send: --%s is required\n", key), 2;
    auto read = read_flows(args.at("flows"));
    uint8_t src_mac[6], dst_mac[6];
    if (!read || !parse_mac(args.at("src-mac"), src_mac) || !parse_mac(args.at("dst-mac"), dst_mac))
        return std::fprintf(stderr, "bpftables_bench send: bad flows or MAC\n"), 2;
    std::vector<Flow>* flows = &read->flows;
    if (flows->size() > (1u << 17)) flows->resize(1u << 17);
    const bool ipv6 = read->ipv6;
    const size_t frame_len = ipv6 ? kFrame6Len : kFrameLen;
    double seconds = std::stod(args.at("seconds"));
    uint64_t max_packets = std::stoull(args.at("max-packets"));
    int cpu = args.count("cpu") ? std::stoi(args.at("cpu")) : 0;

    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
    if (!enter_netns(args.at("ns"))) return 1;
    unsigned ifindex = if_nametoindex(args.at("dev").c_str());
    if (!ifindex)
        return std::fprintf(stderr, "bpftables_bench send: no device %s\n", args.at("dev").c_str()), 1;
    auto obj = open_bench_object(static_cast<uint32_t>(flows->size()));
    if (!obj) return 1;
    bpf_map* flow_map = bpf_object__find_map_by_name(obj->get(), "bench_flows");
    for (uint32_t i = 0; i < flows->size(); ++i)
        bpf_map_update_elem(bpf_map__fd(flow_map), &i, &(*flows)[i], BPF_ANY);
    int fd = prog_fd(*obj, ipv6 ? "bench_gen6" : "bench_gen");

    // A hard stop independent of the loop: SIGALRM interrupts a running test run (EINTR).
    struct sigaction sa {};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, nullptr);
    alarm(static_cast<unsigned>(seconds * 2) + 5);

    std::vector<uint8_t> frame = build_frame((*flows)[0], src_mac, dst_mac, ipv6);
    xdp_md ctx{};
    ctx.data_end = static_cast<uint32_t>(frame_len);
    ctx.ingress_ifindex = ifindex;
    const uint64_t chunk = 1u << 18;
    uint64_t sent = 0;
    auto start = std::chrono::steady_clock::now();
    double elapsed = 0;
    while (sent < max_packets && elapsed < seconds) {
        LIBBPF_OPTS(bpf_test_run_opts, opts);
        opts.data_in = frame.data();
        opts.data_size_in = static_cast<uint32_t>(frame_len);
        opts.ctx_in = &ctx;
        opts.ctx_size_in = sizeof ctx;
        opts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
        opts.repeat = static_cast<uint32_t>(std::min(chunk, max_packets - sent));
        int err = bpf_prog_test_run_opts(fd, &opts);
        elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (err != 0) {
            if (errno == EINTR) break;
            std::fprintf(stderr, "bpftables_bench send: BPF_PROG_TEST_RUN: %s\n", std::strerror(errno));
            return 1;
        }
        sent += opts.repeat;
    }
    alarm(0);
    std::printf("sent %llu seconds %.6f\n", static_cast<unsigned long long>(sent), elapsed);
    return 0;
}

// What the DUT runs, and how to read its counters.
struct Dut {
    std::optional<Object> bench;                 // bench_pass / bench_drop
    std::optional<loader::LoadedProgram> rules;  // bpftables
    std::string object;                          // the bpftables object, for the test-run copy
    codegen::Hook hook = codegen::Hook::xdp;
    std::optional<ir::Program> program;
    std::optional<codegen::Layout> layout;
    std::vector<Fd> links;
    int tc_ifindex = 0;  // bpf_tc_hook to destroy at exit (when tcx links are not available)

    ~Dut() {
        if (tc_ifindex) {
            LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = tc_ifindex, .attach_point = BPF_TC_INGRESS);
            bpf_tc_hook_destroy(&hook);
        }
    }
};

bool attach_xdp(Dut& dut, int fd, unsigned ifindex) {
    int link = bpf_link_create(fd, static_cast<int>(ifindex), BPF_XDP, nullptr);
    if (link < 0)
        return std::fprintf(stderr, "bpftables_bench: XDP attach: %s\n", std::strerror(errno)), false;
    dut.links.emplace_back(link);
    return true;
}

bool attach_tc(Dut& dut, int fd, unsigned ifindex) {
    constexpr int kTcxIngress = 46;  // BPF_TCX_INGRESS (kernel 6.6+; not in these uapi headers)
    int link =
        bpf_link_create(fd, static_cast<int>(ifindex), static_cast<bpf_attach_type>(kTcxIngress), nullptr);
    if (link >= 0) return dut.links.emplace_back(link), true;
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = BPF_TC_INGRESS);
    int err = bpf_tc_hook_create(&hook);
    if (err && err != -EEXIST) return std::fprintf(stderr, "bpftables_bench: tc hook: %d\n", err), false;
    dut.tc_ifindex = static_cast<int>(ifindex);
    LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = fd);
    if (bpf_tc_attach(&hook, &opts) != 0)
        return std::fprintf(stderr, "bpftables_bench: tc attach failed\n"), false;
    return true;
}

double nspp(const Dut& dut, uint32_t repeat, const Flows& read) {
    const std::vector<Flow>& flows = read.flows;
    std::optional<loader::LoadedProgram> copy;
    int fd;
    if (dut.rules) {
        bpft_config config{};
        config.chain_mode = BPFT_CHAIN_INPUT;
        config.test_run = 1;
        std::string error;
        copy = loader::LoadedProgram::load(dut.object, dut.hook, config, *dut.program, *dut.layout, error);
        if (!copy) return std::fprintf(stderr, "bpftables_bench: %s\n", error.c_str()), -1;
        fd = copy->prog_fd();
    } else {
        fd = prog_fd(*dut.bench, "bench_drop");
    }
    const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 1};
    size_t step = flows.size() > 32 ? flows.size() / 32 : 1;
    double total = 0;
    int runs = 0;
    for (size_t i = 0; i < flows.size(); i += step) {
        std::vector<uint8_t> frame = build_frame(flows[i], mac, mac, read.ipv6);
        LIBBPF_OPTS(bpf_test_run_opts, opts);
        opts.data_in = frame.data();
        opts.data_size_in = static_cast<uint32_t>(frame.size());
        opts.repeat = repeat;
        if (bpf_prog_test_run_opts(fd, &opts) != 0) return -1;
        total += opts.duration, ++runs;
    }
    return runs ? total / runs : -1;
}

int dut_command(const Args& args) {
    for (const char* key : {"ns", "dev", "mode"})
        if (!args.count(key)) return std::fprintf(stderr, "bpftables_bench dut: --%s is required\n", key), 2;
    const std::string mode = args.at("mode");
    if (!enter_netns(args.at("ns"))) return 1;
    unsigned ifindex = if_nametoindex(args.at("dev").c_str());
    if (!ifindex)
        return std::fprintf(stderr, "bpftables_bench dut: no device %s\n", args.at("dev").c_str()), 1;

    Dut dut;
    std::ostringstream ready;
    ready << "ready mode=" << mode;
    if (mode == "bpftables-xdp" || mode == "bpftables-tc") {
        if (!args.count("ruleset")) return std::fprintf(stderr, "bpftables_bench dut: --ruleset needed\n"), 2;
        dut.hook = mode == "bpftables-xdp" ? codegen::Hook::xdp : codegen::Hook::tc_ingress;
        auto t0 = std::chrono::steady_clock::now();
        Diagnostics diags;
        const bool ipv6 = args.count("family") && args.at("family") == "6";
        if (args.count("family") && !ipv6 && args.at("family") != "4")
            return std::fprintf(stderr, "bpftables_bench dut: --family 4 or 6\n"), 2;
        dut.program =
            cli::load_ruleset(args.at("ruleset"), "", diags, "", ipv6 ? ir::Family::ipv6 : ir::Family::ipv4);
        std::optional<codegen::Build> built;
        if (dut.program)
            built = codegen::build(*dut.program, dut.hook, diags, codegen::options_from_environment());
        if (!built) return std::fprintf(stderr, "%s", diags.str().c_str()), 1;
        auto t1 = std::chrono::steady_clock::now();
        dut.object = built->object.object;
        dut.layout = built->c.layout;
        bpft_config config{};
        config.chain_mode = BPFT_CHAIN_INPUT;  // the DUT receives traffic addressed to itself
        std::string error;
        dut.rules =
            loader::LoadedProgram::load(dut.object, dut.hook, config, *dut.program, *dut.layout, error);
        if (!dut.rules) return std::fprintf(stderr, "bpftables_bench dut: %s\n", error.c_str()), 1;
        auto t2 = std::chrono::steady_clock::now();
        loader::ProgramStats s = dut.rules->stats();
        ready << " compile_s=" << std::chrono::duration<double>(t1 - t0).count()
              << " clang_s=" << built->object.seconds
              << " load_s=" << std::chrono::duration<double>(t2 - t1).count() << " insns=" << s.insns
              << " verified_insns=" << s.verified_insns << " jited_bytes=" << s.jited_bytes
              << " object_bytes=" << dut.object.size() << " c_bytes=" << built->c.source.size()
              << " classifier_bytes=" << s.classifier_bytes;
    }
    if (mode != "bpftables-xdp") {
        dut.bench = open_bench_object(1);
        if (!dut.bench) return 1;
    }
    bool ok = false;
    if (mode == "pass")
        ok = attach_xdp(dut, prog_fd(*dut.bench, "bench_pass"), ifindex);
    else if (mode == "drop")
        ok = attach_xdp(dut, prog_fd(*dut.bench, "bench_drop"), ifindex);
    else if (mode == "bpftables-xdp")
        ok = attach_xdp(dut, dut.rules->prog_fd(), ifindex);
    else if (mode == "bpftables-tc")  // frames reach a veth only through its XDP program: XDP_PASS first
        ok = attach_xdp(dut, prog_fd(*dut.bench, "bench_pass"), ifindex) &&
             attach_tc(dut, dut.rules->prog_fd(), ifindex);
    else
        std::fprintf(stderr, "bpftables_bench dut: unknown mode %s\n", mode.c_str());
    if (!ok) return 1;
    std::printf("%s\n", ready.str().c_str());
    std::fflush(stdout);

    int count_fd =
        dut.bench ? bpf_map__fd(bpf_object__find_map_by_name(dut.bench->get(), "bench_count")) : -1;
    for (std::string line; std::getline(std::cin, line);) {
        std::istringstream in(line);
        std::string cmd;
        in >> cmd;
        if (cmd == "count") {
            uint64_t arrived = count_fd >= 0 ? percpu_sum(count_fd) : 0, verdicts = arrived;
            if (dut.rules) {
                verdicts = 0;
                for (const bpft_counter& c : dut.rules->counters()) verdicts += c.packets;
                if (count_fd < 0) arrived = verdicts;
            }
            std::printf("count %llu %llu\n", static_cast<unsigned long long>(verdicts),
                        static_cast<unsigned long long>(arrived));
        } else if (cmd == "rules") {
            std::ostringstream out;
            out << "rules";
            if (dut.rules) {
                std::vector<bpft_counter> counters = dut.rules->counters();
                auto packets = [&](int gid) {
                    return gid >= 0 && static_cast<size_t>(gid) < counters.size() ? counters[gid].packets : 0;
                };
                int n = 0;
                for (const codegen::GidInfo& g : dut.layout->gids)
                    n += g.table == "filter" && g.chain == "INPUT" && g.rule > 0;
                for (int i = 0; i < n; ++i) out << ' ' << packets(dut.layout->gid("filter", "INPUT", i));
                out << ' ' << packets(dut.layout->gid("filter", "INPUT", -1));
            }
            std::printf("%s\n", out.str().c_str());
        } else if (cmd == "nspp") {
            uint32_t repeat = 0;
            std::string file;
            in >> repeat >> file;
            auto flows = read_flows(file);
            std::printf("nspp %.2f\n", flows ? nspp(dut, repeat, *flows) : -1.0);
        } else {
            std::printf("error unknown command\n");
        }
        std::fflush(stdout);
    }
    return 0;
}

}  // namespace
}  // namespace bpftables::bench

int main(int argc, char** argv) {
    using namespace bpftables::bench;
    libbpf_set_print([](libbpf_print_level level, const char* fmt, va_list ap) {
        return level == LIBBPF_WARN ? std::vfprintf(stderr, fmt, ap) : 0;
    });
    Args args;
    if (argc < 2 || !parse_args(argc - 2, argv + 2, args)) {
        std::fputs("usage: bpftables_bench send|dut --key value ... (see bench/bpftables_bench.cpp)\n",
                   stderr);
        return 2;
    }
    std::string cmd = argv[1];
    if (cmd == "send") return send_command(args);
    if (cmd == "dut") return dut_command(args);
    std::fprintf(stderr, "bpftables_bench: unknown command %s\n", cmd.c_str());
    return 2;
}
