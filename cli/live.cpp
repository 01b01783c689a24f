// The live commands besides restore and save: attach, detach, status, refresh, -L / -Z.
#include <getopt.h>
#include <net/if.h>

#include <bpf/bpf.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cli/live_commands.hpp"
#include "cli/live_common.hpp"
#include "codegen/layout.hpp"
#include "compiler/hooks.hpp"
#include "compiler/ir_print.hpp"
#include "runtime/commit.hpp"
#include "runtime/netfilter.hpp"
#include "runtime/netns.hpp"

namespace bpftables::cli {
namespace {

// After an attach (the IPv4 state committed with the new attachment `a`): the IPv6 generation's programs for
// the hooks of `a` that it lacks (an `xdp` attachment when IPv6 had only tc-ingress), so that the interface's
// IPv6 frames meet the IPv6 ruleset at once rather than the IPv4 program's handover. The committed IPv6
// ruleset is committed again with the attachments, as bpftables6-restore of the same ruleset would: counters
// carry over, the kernel's ip6tables copy is not touched. IPv4 never lacks a hook here: attach commits it.
int commit_missing_ipv6_hooks(const char* cmd, const runtime::Attachment& a, runtime::Codegen codegen,
                              bool verbose) {
    runtime::select_family(ir::Family::ipv6);
    struct Ipv4Again {
        ~Ipv4Again() { runtime::select_family(ir::Family::ipv4); }
    } ipv4_again;
    std::string error;
    std::optional<runtime::State> ipv6 = runtime::read_state(error);  // with the attachments just committed
    if (!ipv6) return std::fprintf(stderr, "%s: IPv6: %s\n", cmd, error.c_str()), 1;
    if (ipv6->generation == 0) return 0;
    std::vector<codegen::Hook> hooks = runtime::attachment_hooks(a);
    if (std::all_of(hooks.begin(), hooks.end(), [&](codegen::Hook h) {
            return std::find(ipv6->hooks.begin(), ipv6->hooks.end(), h) != ipv6->hooks.end();
        }))
        return 0;
    std::optional<ir::Program> program = runtime::committed_program(*ipv6, false, error);
    if (program) {
        runtime::CommitRequest request{std::move(*program), ipv6->attachments, false, false};
        request.codegen = codegen;
        if (runtime::is_nft(*ipv6)) request.nft_text = ipv6->ruleset;
        if (do_commit(cmd, *ipv6, std::move(request), verbose) == 0) return 0;
    } else {
        std::fprintf(stderr, "%s: IPv6: %s\n", cmd, error.c_str());
    }
    std::fprintf(
        stderr,
        "%s: %s is attached, but the IPv6 ruleset has no %s program: its IPv6 frames go to the kernel's "
        "ip6tables copy until bpftables6-restore\n",
        cmd, a.iface.c_str(), runtime::attach_hook_name(a.hook));
    return 1;
}

}  // namespace

int attach_command(int argc, char** argv) {
    static const option long_options[] = {
        {"hook", required_argument, nullptr, 'H'},    {"mode", required_argument, nullptr, 'm'},
        {"wait", optional_argument, nullptr, 'w'},    {"verbose", no_argument, nullptr, 'v'},
        {"codegen", required_argument, nullptr, 'G'}, {nullptr, 0, nullptr, 0}};
    const char* cmd = "bpftables attach";
    runtime::Codegen codegen = runtime::Codegen::automatic;
    runtime::Attachment a;
    std::optional<runtime::AttachHook> hook = runtime::AttachHook::xdp;
    std::optional<runtime::XdpMode> mode = runtime::XdpMode::none;
    bool verbose = false;
    double wait = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "w::v", long_options, nullptr)) != -1;) {
        switch (c) {
            case 'H':
                hook = runtime::parse_attach_hook(optarg);
                break;
            case 'm':
                mode = runtime::parse_xdp_mode(optarg);
                if (mode == runtime::XdpMode::none) mode.reset();  // --mode ''
                break;
            case 'w':
                wait = read_wait(argc, argv);
                break;
            case 'v':
                verbose = true;
                break;
            case 'G':
                if (!read_codegen(cmd, optarg, codegen)) return 2;
                break;
            default:
                return 2;
        }
    }
    if (optind + 1 != argc || !hook || !mode ||
        (hook == runtime::AttachHook::tc && mode != runtime::XdpMode::none)) {
        std::fputs(
            "usage: bpftables attach IFACE [--hook xdp|tc] [--mode native|generic] [--codegen c|direct]\n",
            stderr);
        return 2;
    }
    a.hook = *hook, a.mode = *mode;
    if (a.hook == runtime::AttachHook::xdp && a.mode == runtime::XdpMode::none)
        a.mode = runtime::XdpMode::native;
    a.iface = argv[optind];
    a.ifindex = static_cast<int>(if_nametoindex(a.iface.c_str()));
    if (a.ifindex == 0) {
        std::fprintf(stderr, "%s: no interface %s in this network namespace\n", cmd, a.iface.c_str());
        return 1;
    }
    int code = 0;
    std::optional<Locked> locked = lock_state(cmd, wait, code, true);
    if (!locked) return code;
    std::vector<runtime::Attachment> attachments = current_attachments(cmd, locked->state);
    for (const runtime::Attachment& b : attachments)
        if (b.ifindex == a.ifindex) {
            std::fprintf(stderr, "%s: %s is already attached (%s); detach it first\n", cmd, a.iface.c_str(),
                         runtime::attach_hook_name(b.hook));
            return 1;
        }
    runtime::State& old = locked->state;
    std::string error;
    if (old.generation == 0) {
        // A namespace's first attach also removes the state that deleted namespaces left (bpftables gc).
        runtime::GarbageReport garbage;
        std::string ignored;  // bpftables gc says what fails
        if (runtime::collect_garbage(garbage, ignored) && verbose)
            for (const std::string& d : garbage.removed)
                std::printf("removed %s (its network namespace is gone)\n", d.c_str());
    }
    runtime::State base = old;
    if (base.ruleset.empty()) base.ruleset = runtime::accept_all_ruleset();
    std::optional<ir::Program> program = runtime::committed_program(base, false, error);
    if (!program) return std::fprintf(stderr, "%s: %s\n", cmd, error.c_str()), 1;
    attachments.push_back(a);
    runtime::CommitRequest request{std::move(*program), attachments, false, false};
    request.codegen = codegen;
    if (runtime::is_nft(old)) request.nft_text = old.ruleset;
    if (int rc = do_commit(cmd, old, std::move(request), verbose); rc != 0) return rc;
    return commit_missing_ipv6_hooks(cmd, a, codegen, verbose);
}

int gc_command(int argc, char** argv) {
    const char* cmd = "bpftables gc";
    bool quiet = argc == 2 && std::string(argv[1]) == "-q";
    if (argc > 2 || (argc == 2 && !quiet)) {
        std::fputs("usage: bpftables gc [-q]\n", stderr);
        return 2;
    }
    runtime::GarbageReport report;
    std::string error;
    if (!runtime::collect_garbage(report, error))
        return std::fprintf(stderr, "%s: %s\n", cmd, error.c_str()), 1;
    for (const std::string& d : report.removed)
        if (!quiet) std::printf("removed %s (its network namespace is gone)\n", d.c_str());
    for (const std::string& k : report.kept) std::fprintf(stderr, "%s: %s\n", cmd, k.c_str());
    return 0;
}

int detach_command(int argc, char** argv) {
    const char* cmd = "bpftables detach";
    double wait = 0;
    bool all = false;
    static const option long_options[] = {{"wait", optional_argument, nullptr, 'w'},
                                          {"all", no_argument, nullptr, 'a'},
                                          {nullptr, 0, nullptr, 0}};
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "w::", long_options, nullptr)) != -1;) {
        if (c == 'w')
            wait = read_wait(argc, argv);
        else if (c == 'a')
            all = true;
        else
            return 2;
    }
    if ((optind + 1 != argc) == !all) {
        std::fputs("usage: bpftables detach IFACE | --all\n", stderr);
        return 2;
    }
    int code = 0;
    std::optional<Locked> locked = lock_state(cmd, wait, code);
    if (!locked) return code;
    runtime::State next = locked->state;
    std::string error;
    if (!all) {
        std::string iface = argv[optind];
        auto it = std::find_if(next.attachments.begin(), next.attachments.end(),
                               [&](const runtime::Attachment& a) { return a.iface == iface; });
        if (it == next.attachments.end()) {
            std::fprintf(stderr, "%s: %s is not attached\n", cmd, iface.c_str());
            return 1;
        }
        runtime::Attachment gone = *it;
        next.attachments.erase(it);
        if (!next.attachments.empty()) {
            // The programs stay (other interfaces run them); this interface's links go.
            if (!runtime::write_state(next, error))
                return std::fprintf(stderr, "%s: %s\n", cmd, error.c_str()), 1;
            // Every hook: a tc-egress link of an earlier version goes too.
            for (codegen::Hook h :
                 {codegen::Hook::xdp, codegen::Hook::tc_ingress, codegen::Hook::tc_egress}) {
                bool shared = false;
                for (const runtime::Attachment& b : next.attachments)
                    shared = shared || b.ifindex == gone.ifindex;
                if (!shared) runtime::unpin(runtime::link_pin(gone.ifindex, h));
            }
            return 0;
        }
    }
    // Nothing stays attached: the namespace's state goes entirely (the kernel's copy, links, programs, maps,
    // ruleset).
    if (!runtime::remove_everything(locked->state, error))
        return std::fprintf(stderr, "%s: %s\n", cmd, error.c_str()), 1;
    return 0;
}

namespace {

// `bpftables status`: the IPv6 ruleset's generation beside the IPv4 one's (`bpftables6 status` has the rest).
void print_ipv6_status(const runtime::State& ipv4) {
    runtime::select_family(ir::Family::ipv6);
    std::string error;
    std::optional<runtime::State> state = runtime::read_state(error);
    if (state && state->generation != 0) {
        std::printf(
            "IPv6 (bpftables6-restore; `bpftables6 status`): generation %llu: %zu rules and policies; "
            "programs:",
            (unsigned long long)state->generation, state->gids.size());
        for (codegen::Hook h : state->hooks) {
            bool runs = true;
            for (const runtime::Attachment& a : ipv4.attachments)
                if (runtime::Fd link = runtime::open_pin(runtime::link_pin(a.ifindex, h)))
                    runs = runs && runtime::runs_committed(*state, h, runtime::link_prog_id(link.get()));
            std::printf(" %s (%s)%s", codegen::hook_name(h),
                        runtime::open_pin(runtime::gen_pin(state->generation, "progs", h)) ? "direct" : "C",
                        runs ? "" : " (not running everywhere: a restore repairs it)");
        }
        std::printf("; copy in the kernel's netfilter (%s)\n",
                    state->backend ? runtime::xtables_command(*state->backend, "-restore").c_str()
                                   : "ip6tables-restore");
    }
    runtime::select_family(ir::Family::ipv4);
}

}  // namespace

int status_command(int argc, char** argv) {
    (void)argc, (void)argv;
    std::string error;
    std::optional<runtime::State> state = runtime::read_state(error);
    if (!state) return std::fprintf(stderr, "bpftables status: %s\n", error.c_str()), 1;
    std::printf("state %s\n", runtime::state_dir().c_str());
    if (state->generation == 0) {
        std::puts("nothing attached, no ruleset committed");
        return 0;
    }
    std::printf("generation %llu: %zu rules and policies; programs:", (unsigned long long)state->generation,
                state->gids.size());
    for (codegen::Hook h : state->hooks)  // the direct back end's generation pins its prog array
        std::printf(" %s (%s)", codegen::hook_name(h),
                    runtime::open_pin(runtime::gen_pin(state->generation, "progs", h)) ? "direct" : "C");
    std::printf("\n");
    std::set<std::string> in_bpf, in_kernel;
    std::optional<ir::Program> program = runtime::committed_program(*state, false, error);
    if (program && runtime::is_nft(*state)) {
        // nft tables: compiled (their chains that are not run at the kernel's hooks), and the whole ruleset
        // in the kernel's nf_tables too when it needs it there.
        std::vector<std::pair<std::string, std::string>> tables = runtime::nft_tables(state->ruleset);
        std::printf("nft ruleset; tables:");
        for (const auto& [family, name] : tables) std::printf(" %s %s", family.c_str(), name.c_str());
        std::printf("; copy in the kernel's nf_tables: %s\n", tables.empty() ? "no" : "yes");
    } else if (program) {
        for (const ir::Table& t : program->tables)
            (compiler::is_compiled_table(t.name) ? in_bpf : in_kernel).insert(t.name);
    }
    if (!runtime::is_nft(*state)) {  // every table goes to netfilter: the compiled ones as the backstop
        std::printf("tables in BPF:");
        for (const std::string& t : in_bpf) std::printf(" %s", t.c_str());
        std::printf("%s; in the kernel's netfilter only:", in_bpf.empty() ? " none" : "");
        for (const std::string& t : in_kernel) std::printf(" %s", t.c_str());
        std::string restore =
            !state->backend
                ? runtime::state_family() == ir::Family::ipv6 ? "ip6tables-restore" : "iptables-restore"
                : runtime::xtables_command(*state->backend, "-restore");
        std::printf("%s; every table is also in the kernel's netfilter (%s)%s\n",
                    in_kernel.empty() ? " none" : "", restore.c_str(),
                    in_bpf.empty() ? "" : ", the compiled ones as the backstop");
        if (state->backend == compiler::Backend::nft)
            std::printf("short TCP/UDP headers: handed to the kernel (iptables-nft does not hotdrop them)\n");
    }
    if (state->decided_mark)
        std::printf(
            "decided once: what the programs accept reaches the kernel's copy with mark bit 0x%x, which "
            "its first rule accepts (bpftables-restore --decided-mark)\n",
            state->decided_mark);
    else
        std::printf("decided once: off (--decided-mark 0): what the programs accept meets the whole copy\n");
    if (program && !program->sets.empty()) {
        std::printf("ipsets (bpftables-restore --ipsets):");
        for (const ir::IpSet& set : program->sets)
            std::printf(" %s (%s, %zu entries)", set.name.c_str(), set.type.c_str(), set.members.size());
        std::printf("\n");
    }
    std::string listing;
    std::map<std::string, std::string> ingress =
        runtime::ingress_chains(listing).value_or(std::map<std::string, std::string>{});
    for (const runtime::Attachment& a : state->attachments) {
        std::printf("%s (ifindex %d) %s%s%s:", a.iface.c_str(), a.ifindex, runtime::attach_hook_name(a.hook),
                    a.mode == runtime::XdpMode::none ? "" : " ", runtime::xdp_mode_name(a.mode));
        unsigned idx = if_nametoindex(a.iface.c_str());
        for (codegen::Hook h : runtime::attachment_hooks(a)) {
            runtime::Fd link = runtime::open_pin(runtime::link_pin(a.ifindex, h));
            bpf_link_info info{};
            uint32_t len = sizeof info;
            if (!link || bpf_obj_get_info_by_fd(link.get(), &info, &len) != 0) {
                std::printf(" %s link MISSING;", codegen::hook_name(h));
                continue;
            }
            std::string chain = runtime::pass_reason(ingress, a.iface, h);
            std::string what;
            if (info.prog_id == runtime::pinned_prog_id(runtime::dispatch_pin("pass", h)))
                what = " (passes every packet to the kernel: " +
                       (chain.empty() ? std::string("no nf_tables ingress chain runs on it now: `bpftables "
                                                    "refresh` puts the programs back")
                                      : "nf_tables ingress chain " + chain + " runs on this device") +
                       ")";
            else if (!chain.empty())
                what = " (nf_tables ingress chain " + chain +
                       " runs on this device after tc ingress and sees what the programs decide: `bpftables "
                       "refresh` leaves its packets to the kernel)";
            else if (!runtime::runs_committed(*state, h, info.prog_id))
                what = info.prog_id == runtime::pinned_prog_id(runtime::gen_pin(state->generation, "prog", h))
                           ? " (the committed program without the dispatcher, as an older bpftables attached "
                             "it; "
                             "the next restore puts the dispatcher there)"
                           : " (not the committed program: a command was interrupted; a restore repairs it)";
            std::printf(" %s link %u prog %u%s;", codegen::hook_name(h), info.id, info.prog_id, what.c_str());
        }
        std::printf("%s\n", static_cast<int>(idx) == a.ifindex ? "" : " interface vanished or renamed");
    }
    if (runtime::state_family() == ir::Family::ipv4) print_ipv6_status(*state);
    std::puts(
        "note: -i/-o names are known for the interfaces that existed at the last restore/attach/refresh; "
        "packets of interfaces created later are handed to the kernel until `bpftables refresh`");
    return 0;
}

int refresh_command(int argc, char** argv) {
    (void)argc, (void)argv;
    int code = 0;
    std::optional<Locked> locked = lock_state("bpftables refresh", 0, code);
    if (!locked) return code;
    std::string error;
    if (!runtime::refresh_ifnames(locked->state, error))
        return std::fprintf(stderr, "bpftables refresh: %s\n", error.c_str()), 1;
    // The other family's programs too (the lock is the namespace's, held for both).
    ir::Family own = runtime::state_family();
    runtime::select_family(own == ir::Family::ipv4 ? ir::Family::ipv6 : ir::Family::ipv4);
    std::optional<runtime::State> other = runtime::read_state(error);
    bool refreshed = other && runtime::refresh_ifnames(*other, error);
    runtime::select_family(own);
    if (!refreshed) return std::fprintf(stderr, "bpftables refresh: %s\n", error.c_str()), 1;
    // The links: the pass program where an nf_tables ingress chain runs now (the links are both families').
    std::vector<std::string> notes;
    if (!runtime::relink_ingress(locked->state, notes, error))
        return std::fprintf(stderr, "bpftables refresh: %s\n", error.c_str()), 1;
    for (const std::string& n : notes) std::printf("%s\n", n.c_str());
    return 0;
}

// bpftables -L [CHAIN] [-t TABLE] [-v] [-n] [-x] [--line-numbers]; bpftables -Z.
int list_command(int argc, char** argv) {
    static const option long_options[] = {{"list", optional_argument, nullptr, 'L'},
                                          {"zero", optional_argument, nullptr, 'Z'},
                                          {"table", required_argument, nullptr, 't'},
                                          {"verbose", no_argument, nullptr, 'v'},
                                          {"numeric", no_argument, nullptr, 'n'},
                                          {"exact", no_argument, nullptr, 'x'},
                                          {"line-numbers", no_argument, nullptr, 'N'},
                                          {"wait", optional_argument, nullptr, 'w'},
                                          {nullptr, 0, nullptr, 0}};
    bool list = false, zero = false, verbose = false, numeric = false, exact = false, numbers = false,
         table_given = false;
    std::string table = "filter", chain;
    double wait = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "LZt:vnxw::", long_options, nullptr)) != -1;) {
        switch (c) {
            case 'L':
                list = true;
                break;
            case 'Z':
                zero = true;
                break;
            case 't':
                table = optarg;
                table_given = true;
                break;
            case 'v':
                verbose = true;
                break;
            case 'n':
                numeric = true;
                break;
            case 'x':
                exact = true;
                break;
            case 'N':
                numbers = true;
                break;
            case 'w':
                wait = read_wait(argc, argv);
                break;
            default:
                return 2;
        }
    }
    if (optind < argc) chain = argv[optind++];
    std::string error;
    // As iptables -Z: the table's counters (filter by default; every table of an nft ruleset without -t), or
    // one chain's.
    auto zero_counters = [&] {
        int code = 0;
        std::optional<Locked> locked = lock_state("bpftables -Z", wait, code);
        if (!locked) return code;
        bool nft = runtime::is_nft(locked->state);
        std::string scope = nft && !table_given ? "" : table;
        if (!chain.empty()) {
            std::optional<ir::Program> committed = runtime::committed_program(locked->state, false, error);
            bool found = false;
            for (const ir::Table& t : committed ? committed->tables : std::vector<ir::Table>{})
                found |= (scope.empty() || t.name == scope) && t.find(chain);
            if (!found) return std::fprintf(stderr, "iptables: No chain/target/match by that name.\n"), 1;
        }
        if (!runtime::zero_counters(locked->state, scope, chain, error))
            return std::fprintf(stderr, "bpftables -Z: %s\n", error.c_str()), 1;
        return 0;
    };
    if (zero && !list) return zero_counters();
    std::optional<runtime::LiveView> live = runtime::read_live(true, error);
    if (!live) return std::fprintf(stderr, "bpftables -L: %s\n", error.c_str()), 1;
    if (runtime::is_nft(live->state)) {  // as nft list ruleset / table / chain, with the live counters
        int code = save_nft("bpftables -L", *live, table_given ? table : "", chain);
        return code != 0 || !zero ? code : zero_counters();
    }
    // iptables' own listing of the committed ruleset with the counters counted once.
    std::vector<std::string> args{"-t", table, "-L"};
    if (!chain.empty()) args.push_back(chain);
    for (const auto& [given, flag] : {std::pair{verbose, "-v"}, std::pair{numeric, "-n"},
                                      std::pair{exact, "-x"}, std::pair{numbers, "--line-numbers"}})
        if (given) args.emplace_back(flag);
    int code = runtime::iptables_listing(live->state.backend.value_or(runtime::default_backend()),
                                         live->program, table, args);
    if (code != 0) return code;
    return zero ? zero_counters() : 0;
}

}  // namespace bpftables::cli