#pragma once
// The commands; each takes its own argv (argv[0] is the command name) and returns the exit code:
// 0 success, 1 the ruleset or the kernel refused (iptables-restore's "failed"), 2 bad parameters.
namespace bpftables::cli {

int compile_command(int argc, char** argv);
int run_command(int argc, char** argv);
int example_pcap_command(int argc, char** argv);
int import_command(int argc, char** argv);
int bench_command(int argc, char** argv);  // execs the benchmark harness (cli/bench.cpp)

}  // namespace bpftables::cli
