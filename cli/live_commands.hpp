#pragma once
// The live commands (runtime/live.hpp): they act on the pinned state of the caller's network namespace.
// Exit codes as iptables-restore: 0 success, 1 failed, 2 bad parameters, 4 the lock is held.
namespace bpftables::cli {

int restore_command(int argc, char** argv);  // bpftables-restore, bpftables restore
int save_command(int argc, char** argv);     // bpftables-save, bpftables save
int attach_command(int argc, char** argv);
int detach_command(int argc, char** argv);
int status_command(int argc, char** argv);
int stats_command(int argc, char** argv);  // bpftables stats: decided in BPF, handed over and why
int refresh_command(int argc, char** argv);
int gc_command(int argc, char** argv);    // the state of namespaces that are gone
int list_command(int argc, char** argv);  // bpftables -L / -Z
// iptables' command line (-A, -I, -D, -R, -C, -N, -X, -F, -P, -E, -S; -L and -Z go to list_command).
int rule_command(int argc, char** argv);

}  // namespace bpftables::cli
