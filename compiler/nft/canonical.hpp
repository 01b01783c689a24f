#pragma once
// The form in which bpftables-restore keeps an nft ruleset: the commands of an `nft -f` script (text or JSON,
// parser/nft_ast.hpp) folded into the tables they leave, printed as `nft list ruleset` lays them out:
//
//   add table ip t                       table ip t {
//   add chain ip t in { type filter      	chain in {
//     hook input priority 0; }      ->   		type filter hook input priority 0; policy accept;
//   define p = 22                        		tcp dport 22 accept
//   add rule ip t in tcp dport $p accept 	}
//                                        }
//
// Tables, chains, sets and rules keep the order of the script; `define`d variables are substituted;
// statements print from the AST with single blanks (so the listing is the input's words, not nft's own
// re-rendering of them: `ip saddr 10.0.0.1/32` stays as written). The text is what the state keeps, what
// `bpftables-save` prints and what goes to the kernel's nf_tables (`nft -f`) when the ruleset needs it there.
//
// Folded: flush ruleset, add/create table, chain, set, map, element, add/insert rule, delete/destroy table,
// delete/destroy element, flush table/chain, define. Kept for the kernel's copy (their only one): tables of
// the families bpftables does not compile (ip6, arp, bridge, netdev) and named stateful objects (counter,
// quota, ...) as written. Refused, each with an error at its position: include, replace, list, reset, delete
// of anything but a table or elements, object commands outside a table block, and from JSON (whose reader
// keeps some statements by their keyword alone) other families and stateful objects.
#include <functional>
#include <optional>
#include <string>

#include "base/diagnostics.hpp"
#include "compiler/ir.hpp"
#include "parser/nft_ast.hpp"

namespace bpftables {

// The canonical text of `script`; empty on errors (reported to `diags`). `json`: the script comes from nft
// JSON, whose reader keeps the arguments of snat/dnat/redirect/... only as their keyword, so rules with
// those are refused rather than printed without their arguments.
std::optional<std::string> canonical_nft(const parser::nft::Script& script, Diagnostics& diags,
                                         bool json = false);

// Prints a canonical text's script again, with each `counter` statement's values from `counters` (called
// with the rule's position; no value: the values as written).
using NftCounters = std::function<std::optional<ir::Counters>(const SourceLoc& rule)>;
std::string print_nft(const parser::nft::Script& canonical, const NftCounters& counters);

// One statement as the canonical text prints it (single blanks, `define`s as written): the text of an nft
// statement bpftables does not compile, kept in the IR for the kernel's copy to decide.
std::string nft_statement_text(const parser::nft::Statement& s);

// What identifies a set element: its key as the canonical text prints it (a map's without its value, and
// without the element's options). `add element` of a key the set has adds nothing; `delete element` removes
// the element with that key.
std::string nft_element_key(const parser::nft::Expr& element);

// A chain priority: a number, or a name (raw, mangle, dstnat, filter, security, srcnat) with an optional
// " + N" or " - N"; nullopt when it is neither.
std::optional<int> nft_priority(const std::string& text);

}  // namespace bpftables
