// bpftables: one binary, several names (like xtables-multi). The name it is called by, or its first
// argument, picks the command.
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.hpp"
#include "cli/live_commands.hpp"
#include "cli/version.hpp"
#include "runtime/state.hpp"

namespace {

void usage(FILE* out) {
    std::fputs(
        "usage: bpftables COMMAND [options]\n"
        "  compile FILE -o OUT [--hook xdp|tc-ingress|tc-egress] [--emit obj|c|ir|asm] [--explain]\n"
        "          [--ipsets FILE] [--format nft|nft-json|iptables] [--backend legacy|nft] [--stats]\n"
        "      compile an iptables-save ruleset into a BPF object (offline, nothing is attached; -o - is "
        "stdout);\n"
        "      --emit asm: the instruction listing (llvm-objdump syntax) of the object clang built\n"
        "  run FILE --pcap IN.pcap [--hook HOOK] [--chain INPUT|FORWARD|OUTPUT] [--in IF] [--out IF]\n"
        "      [--ipsets FILE] [--format nft|nft-json|iptables] [--backend legacy|nft] [--json] [--repeat "
        "N]\n"
        "      run every packet of a capture through the compiled program (BPF_PROG_TEST_RUN) and print\n"
        "      the verdict and the rule that decided it; --repeat N also times each packet (ns)\n"
        "      (--backend: the iptables whose semantics the program follows where legacy and nft differ: a\n"
        "      TCP/UDP header cut short is dropped under legacy, the default, and handed to the kernel under "
        "nft)\n"
        "  import --from nft|iptables-legacy [--print iptables|nft|nft-json] [-c] [-o FILE]\n"
        "      read the running ruleset of this network namespace (libnftables or libiptc) and print it\n"
        "      in iptables-save form (canonical, as compile --emit ir), or as nft lists it\n"
        "  make-example-pcap OUT.pcap\n"
        "      write the capture the built-in example uses\n"
        "  attach IFACE [--hook xdp|tc] [--mode native|generic] [-w [SECS]]\n"
        "  detach IFACE | --all\n"
        "  status | refresh\n"
        "      the interfaces of this network namespace that run the committed ruleset (pinned state)\n"
        "  stats [--json]\n"
        "      per interface and hook: packets decided in BPF (accepted, dropped) and handed to the kernel,\n"
        "      by reason, since the last commit\n"
        "  gc [-q]\n"
        "      remove the state that network namespaces deleted without detach left in bpffs\n"
        "  restore [-c] [-n] [-t] [-T TABLE] [-v] [-w [SECS]] [FILE]   (also as bpftables-restore)\n"
        "  save [-c] [-t TABLE]                                       (also as bpftables-save)\n"
        "  [-t TABLE] -A|-C|-D CHAIN RULE-SPEC | -I CHAIN [RULENUM] RULE-SPEC | -R CHAIN RULENUM RULE-SPEC\n"
        "  [-t TABLE] -D CHAIN RULENUM | -N CHAIN | -X [CHAIN] | -F [CHAIN] | -P CHAIN ACCEPT|DROP\n"
        "  [-t TABLE] -E OLD NEW | -S [CHAIN [RULENUM]] [-v]   (also -w [SECS], -c PKTS BYTES)\n"
        "      iptables' single-rule commands on the committed ruleset, committed as a restore is\n"
        "  -L [CHAIN] [-t TABLE] [-v] [-n] [-x] [--line-numbers] | -Z\n"
        "  bpftables6-restore, bpftables6-save, bpftables6 [-t TABLE] -A|-D|...|-S|-L|-Z\n"
        "      the same commands for the ip6tables ruleset, which runs beside the iptables one on the same\n"
        "      interfaces (attach, detach: bpftables')\n"
        "  bench [ARGS]\n"
        "      the benchmark against netfilter (bench/run_bench.py; bpftables bench --help lists ARGS)\n"
        "  -V, --version | -h, --help\n",
        out);
}

}  // namespace

int main(int argc, char** argv) {
    const char* self = std::strrchr(argv[0], '/');
    self = self ? self + 1 : argv[0];
    // bpftables6-restore, bpftables6-save, bpftables6: the same commands on the IPv6 family's state
    // (ip6tables-save text, the kernel's copy in ip6tables), beside the IPv4 one.
    if (std::strncmp(self, "bpftables6", 10) == 0) {
        bpftables::runtime::select_family(bpftables::ir::Family::ipv6);
        self += 10;
    } else if (std::strncmp(self, "bpftables", 9) == 0) {
        self += 9;
    }
    if (std::strcmp(self, "-restore") == 0) return bpftables::cli::restore_command(argc, argv);
    if (std::strcmp(self, "-save") == 0) return bpftables::cli::save_command(argc, argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    std::string cmd = argv[1];
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
        usage(stdout);
        return 0;
    }
    if (cmd == "-V" || cmd == "--version") {
        std::printf("bpftables v%s\n", bpftables::cli::kVersion);
        return 0;
    }
    if (cmd == "compile") return bpftables::cli::compile_command(argc - 1, argv + 1);
    if (cmd == "run") return bpftables::cli::run_command(argc - 1, argv + 1);
    if (cmd == "restore") return bpftables::cli::restore_command(argc - 1, argv + 1);
    if (cmd == "save") return bpftables::cli::save_command(argc - 1, argv + 1);
    if ((cmd == "attach" || cmd == "detach") &&
        bpftables::runtime::state_family() == bpftables::ir::Family::ipv6) {
        std::fprintf(stderr, "bpftables6: %s is bpftables' (the interfaces carry both families' programs)\n",
                     cmd.c_str());
        return 2;
    }
    if (cmd == "attach") return bpftables::cli::attach_command(argc - 1, argv + 1);
    if (cmd == "detach") return bpftables::cli::detach_command(argc - 1, argv + 1);
    if (cmd == "status") return bpftables::cli::status_command(argc - 1, argv + 1);
    if (cmd == "stats") return bpftables::cli::stats_command(argc - 1, argv + 1);
    if (cmd == "refresh") return bpftables::cli::refresh_command(argc - 1, argv + 1);
    if (cmd == "gc") return bpftables::cli::gc_command(argc - 1, argv + 1);
    if (cmd.size() > 1 && cmd[0] == '-')  // iptables' command line: -A, -t nat -I, -nvL, ...
        return bpftables::cli::rule_command(argc, argv);
    if (cmd == "import") return bpftables::cli::import_command(argc - 1, argv + 1);
    if (cmd == "bench") return bpftables::cli::bench_command(argc - 1, argv + 1);
    if (cmd == "make-example-pcap") return bpftables::cli::example_pcap_command(argc - 1, argv + 1);
    std::fprintf(stderr, "bpftables: unknown command '%s'\n", cmd.c_str());
    usage(stderr);
    return 2;
}
