#pragma once
// The tables bpftables does not compile (nat, mangle, security) go to the kernel's own netfilter, through
// iptables-restore of the chosen backend, within the same transaction as the BPF programs.
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "compiler/input_format.hpp"
#include "compiler/ir.hpp"

namespace bpftables::runtime {

// `word` as one word of a shell command line (single-quoted; a quote in it as '\'').
std::string shell_word(const std::string& word);

// The command of `backend` for state_family()'s rulesets: iptables-legacy, ip6tables-nft-restore (`what`
// "-restore"), ...
std::string xtables_command(compiler::Backend backend, const char* what);
// What `iptables -V` says the system's iptables is.
compiler::Backend default_backend();

// Decided once (docs/design-notes.md): the kernel's copy of an iptables ruleset with the handoff's bookkeeping,
// for a `decided_mark` bit (0: the ruleset as it is). Each base chain of the received path in a compiled table
// starts by accepting a packet with the bit (raw PREROUTING; filter INPUT and FORWARD jump to
// BPFTABLES-DECIDED, which clears it and accepts); mark reads (-m mark, CONNMARK --save-mark) lose the bit
// from their masks. What the copy cannot be given (rules that set the bit) the check pass refuses
// (compiler/passes: check_decided_mark). Never stored in the state nor shown by bpftables-save.
inline constexpr const char* kDecidedChain = "BPFTABLES-DECIDED";
ir::Program kernel_copy(const ir::Program& program, uint32_t decided_mark);
// The same for the nf_tables copy of an nft ruleset (`program`: its lowering), as nft commands that follow its
// text: a first rule in each compiled base chain of prerouting, input and forward of ip and inet tables, the
// last of input (forward) clearing the bit; a table `bpftables-decided` clears it where no compiled chain
// does. Empty for a zero bit.
inline constexpr const char* kDecidedTable = "bpftables-decided";
std::string nft_decided_rules(const ir::Program& program, uint32_t decided_mark);

// Replaces the named tables of the namespace's netfilter with their content in `program` (a table `program`
// lacks is flushed to its built-in chains with ACCEPT policies). `test`: iptables-restore --test only. No
// `backend` is an error unless `tables` is empty.
// The rules' and policies' counters of `program` go with them (iptables-restore --counters).
bool netfilter_apply(std::optional<compiler::Backend> backend, const ir::Program& program,
                     const std::vector<std::string>& tables, uint32_t decided_mark, bool test,
                     std::string& error);

// One rule of the kernel's copy changed (inserted, deleted or replaced) as one line of `iptables-restore
// --noflush` instead of the whole table (iptables' single-rule commands, small restores): libiptc keeps the
// counters of every other rule, as the whole-table path carries them. `line` is empty when the copy does not
// change at all (a rule replaced by the same text keeps its counters both ways); `undo` puts the old rule
// back with the counters the kernel had for it.
struct CopyChange {
    std::string table, line, undo;
};
// The change from `old_program`'s copy to `new_program`'s (kernel_copy with `decided_mark`) in `tables`, when
// it is at most one rule of one chain and the whole-table path would give every rule the same counters; none
// otherwise (then that path runs). Reads the counters of a rule that goes from the kernel (for `undo`).
std::optional<CopyChange> copy_change(compiler::Backend backend, const ir::Program& old_program,
                                      const ir::Program& new_program, const std::vector<std::string>& tables,
                                      uint32_t decided_mark);
// Applies `line` (a CopyChange's line or undo) to `table` of the copy.
bool netfilter_apply_line(compiler::Backend backend, const std::string& table, const std::string& line,
                          std::string& error);

// Counted once: what the kernel's copy of an iptables ruleset counted (the packets the programs handed over,
// or that came from interfaces without them, and every packet of the tables bpftables does not compile) is
// added to each rule and policy of `program`, the committed ruleset whose copy (kernel_copy with
// `decided_mark`) the kernel holds. Rules are matched by position, the handoff's bookkeeping left out; a table
// the kernel lacks, or a chain whose listing does not line up with the copy (changed behind bpftables' back),
// adds nothing.
void add_copy_counters(compiler::Backend backend, ir::Program& program, uint32_t decided_mark);
// iptables -L, printed by iptables itself: `table` of `program` (the committed ruleset with the counters to
// show, counted once) with its sets is restored into the private network namespace of a child process, where
// xtables_command(backend) ARGS (ip6tables for the IPv6 family) lists it; its output, messages and exit code are iptables' own. The kernel's copy is
// not listed, since it holds the handoff's bookkeeping (kernel_copy). Names are resolved there as iptables does
// without -n, but with no network: /etc/hosts and /etc/services, no DNS. Returns the exit code (1 when the
// listing could not be made, with the reason on stderr).
int iptables_listing(compiler::Backend backend, const ir::Program& program, const std::string& table,
                     const std::vector<std::string>& args);

// Zeroes the counters of the copy's tables (those of `program`; only `table` when given, only its `chain` when
// given).
bool zero_copy_counters(compiler::Backend backend, const ir::Program& program, const std::string& table,
                        const std::string& chain, std::string& error);

// Counted once for nft rulesets: the values of the counter statements of the kernel's copy of a committed
// nft ruleset (`canonical`, lowered as `program`, its copy holding nft_decided_rules for `decided_mark`), by
// the position of each rule in `canonical`: what the copy judged (the packets the programs handed over, or
// that came from interfaces without them, and every packet of the chains bpftables does not compile). Rules
// are matched by position in their chain, the handoff's first rule left out; a chain whose listing does not
// line up with the text (changed behind bpftables' back) has none. A rule's first counter statement counts.
std::map<std::pair<int, int>, ir::Counters> nft_copy_counters(const std::string& canonical,
                                                              const ir::Program& program,
                                                              uint32_t decided_mark);
// Zeroes every rule counter of the copy's tables (only of the tables named `table`, only of their chain
// `chain`, when given), with NFT_MSG_GETRULE_RESET: nft 1.0.6 has no `reset rules`.
bool nft_zero_copy_counters(const std::string& canonical, const std::string& table, const std::string& chain,
                            std::string& error);

// The tables (family, name) of a committed nft ruleset's canonical text. Every one of them goes whole to the
// kernel's nf_tables of the namespace, in the same transaction as the programs: the compiled ones as the
// backstop for what the programs hand to the kernel (fragments, IP options, statements bpftables does not
// compile, base chains it does not run: nat, route, postrouting; IPv6 packets of inet tables), the others
// (ip6, arp, bridge, netdev) as the only copy.
std::vector<std::pair<std::string, std::string>> nft_tables(const std::string& canonical);

// One `nft -f` transaction on the kernel's nf_tables: deletes the tables `remove` (those that exist), then
// adds `text` (nft ruleset text, may be empty). `test`: `nft -c` only.
bool nft_apply(const std::vector<std::pair<std::string, std::string>>& remove, const std::string& text,
               bool test, std::string& error);

// The namespace's nf_tables base chains at an ingress hook (netdev ingress, inet ingress), by device name:
// "FAMILY TABLE CHAIN" of the first one found on each device. They run after tc ingress, so on those devices
// the programs would hide what they drop from the chain and show it the decided mark: the links there pass
// every packet to the kernel (runtime/commit.cpp). nullopt with `error` when nf_tables cannot be listed.
std::optional<std::map<std::string, std::string>> ingress_chains(std::string& error);

// Destroys the named sets of the kernel's ipset (those it has; a set still referenced stays, with `error`).
bool ipset_destroy(const std::vector<std::string>& names, std::string& error);

}  // namespace bpftables::runtime
