#pragma once
// Hook policy: the hooks a program is built for (XDP, TC ingress, TC egress), netfilter's hooks and the base
// chains on a packet's path, which tables and chains bpftables compiles, and where a table's chains run
// relative to conntrack. The passes check against it; the code generator and the runtime follow it.
#include <map>
#include <string>
#include <vector>

#include "compiler/ir.hpp"

namespace bpftables::compiler {

enum class Hook { xdp, tc_ingress, tc_egress };

const char* hook_name(Hook hook);
bool parse_hook(const std::string& name, Hook& out);

// The iptables tables bpftables compiles into programs (filter, raw); every other one stays in the kernel's
// netfilter.
bool is_compiled_table(const std::string& table);

// Whether a chain becomes BPF code: every chain of iptables' filter and raw; in nft tables (ip, inet) the
// regular chains, the base chains of type filter at prerouting, input, forward and output, and those of type
// nat at prerouting (is_nat_prerouting).
bool is_compiled_chain(const ir::Table& table, const ir::Chain& chain);

// An nft base chain of type nat at prerouting. The kernel runs it only for the first packet of a connection
// (nf_nat_inet_fn: a new conntrack entry without its destination NAT set up), so the program runs it only
// for a packet conntrack has no entry for; one that conntrack places with no NAT binding rewriting its
// destination skips it, and any other (conntrack cannot place it, or the kernel's NAT rewrites it) is handed
// to the kernel. In the chain, a nat statement (dnat, redirect, ...) hands the packet over; a walk that
// reaches none accepts it (no rewrite, the null binding) to the next base chain, as the kernel does.
bool is_nat_prerouting(const ir::Chain& chain);

// The hooks of netfilter's IPv4 path, in the order a packet meets them. prerouting runs at ingress before the
// routing decision (bpft_route), input or forward after it, output at TC egress for locally generated
// packets, postrouting after forward and output.
enum class NfHook { prerouting, input, forward, output, postrouting };
const char* nf_hook_name(NfHook hook);

// Whether an nft base chain's hook is one of netfilter's IPv4 path above (ingress, egress are not).
bool is_path_hook(const std::string& nft_hook);

// A base chain on a packet's path. Not compiled (nat, route, anything at postrouting): the packets that reach
// it are handed to the kernel (verdict KERNEL, gid `kernel_gid` in the layout).
struct BaseChain {
    NfHook hook = NfHook::input;
    int priority = 0;
    std::string table, chain;
    bool compiled = true;
    bool nat = false;    // compiled, is_nat_prerouting: run behind the conntrack guard described there
    bool after = false;  // not compiled, nat_after: the program's verdict stands, the kernel runs it after
};

// An nft base chain of type nat at postrouting that cannot end a packet: no rule of it or of the chains it
// reaches drops, rejects or has a statement bpftables does not compile (only nat statements, accept, return,
// jumps, log, counters), and its policy accepts. Nothing compiled runs after postrouting, so the program's
// verdict stands for a packet that reaches it: the kernel, which runs nat chains whatever the program decided,
// then rewrites the packet as the chain says (or drops it where NAT fails, masquerade on an interface without
// an address: as after an iptables FORWARD accept, whose nat POSTROUTING the kernel runs too).
bool nat_after(const ir::Table& table, const ir::Chain& chain);

// The base chains of a program in the order netfilter runs them: by hook, then priority (lower first); equal
// priorities in the reverse of the order in which the chains first appear in the input (tables, then chains
// within a table), as the kernel runs them after one `nft -f` of that input (checked by compat-tests' nft
// mode). iptables' tables are base chains too: raw PREROUTING and OUTPUT at priority -300, filter INPUT,
// FORWARD and OUTPUT at 0. Base chains at other hooks (ingress, egress) are left out: the passes refuse
// them (passes/check_base_chains.cpp).
std::vector<BaseChain> base_chains(const ir::Program& program);

// Where a table's compiled chains run relative to conntrack (NF_IP_PRI_CONNTRACK, -200): before it there is
// no ct state yet and notrack works (iptables' raw); mixed when an nft table has base chains on both sides.
enum class CtPosition { before, after, mixed };
inline constexpr int conntrack_priority = -200;
CtPosition ct_position(const ir::Table& table);
// Per chain, in an nft table: a compiled base chain by its hook and priority, a user chain by the compiled base
// chains that reach it through jumps and gotos (mixed when chains of both sides do). Chains no compiled base
// chain reaches are absent. iptables tables: every chain at the table's position.
std::map<std::string, CtPosition> chain_ct_positions(const ir::Table& table);
// `from` and the chains of its table it reaches through jumps and gotos (once each, `from` first).
std::vector<const ir::Chain*> chains_reached(const ir::Table& table, const ir::Chain& from);

}  // namespace bpftables::compiler
