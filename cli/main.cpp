// bpftables: one binary, several names (like xtables-multi). The name it is called by, or its first
// argument, picks the command.
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.hpp"

namespace {

void usage(FILE* out) {
    std::fputs(
        "usage: bpftables COMMAND [options]\n"
        "  compile FILE -o OUT [--hook xdp|tc-ingress|tc-egress] [--emit obj|c|ir] [--explain]\n"
        "          [--ipsets FILE] [--stats]\n"
        "      compile an iptables-save ruleset into a BPF object (offline, nothing is attached)\n"
        "  run FILE --pcap IN.pcap [--hook HOOK] [--chain INPUT|FORWARD|OUTPUT] [--in IF] [--out IF]\n"
        "      [--ipsets FILE] [--json]\n"
        "      run every packet of a capture through the compiled program (BPF_PROG_TEST_RUN) and print\n"
        "      the verdict and the rule that decided it\n"
        "  make-example-pcap OUT.pcap\n"
        "      write the capture the built-in example uses\n",
        out);
}

}  // namespace

int main(int argc, char** argv) {
    const char* self = std::strrchr(argv[0], '/');
    self = self ? self + 1 : argv[0];
    (void)self;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    std::string cmd = argv[1];
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
        usage(stdout);
        return 0;
    }
    if (cmd == "compile") return bpftables::cli::compile_command(argc - 1, argv + 1);
    if (cmd == "run") return bpftables::cli::run_command(argc - 1, argv + 1);
    if (cmd == "make-example-pcap") return bpftables::cli::example_pcap_command(argc - 1, argv + 1);
    std::fprintf(stderr, "bpftables: unknown command '%s'\n", cmd.c_str());
    usage(stderr);
    return 2;
}
