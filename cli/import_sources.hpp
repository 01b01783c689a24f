#pragma once
// Reading the running rulesets of the current network namespace for `bpftables import`: nf_tables through
// libnftables (netlink, no nft binary) and the legacy iptables tables through libiptc and libxtables.
#include <string>

namespace bpftables::cli {

// `list ruleset` through libnftables: JSON (as `nft -j list ruleset`) when `json`, else nft text.
bool list_nft_ruleset(bool json, std::string& out, std::string& error);

// The legacy tables filter, raw, nat, mangle and security that exist, in iptables-save form (policies with
// their counters; rules with theirs as "[p:b]" when `counters`, as iptables-save -c), each rule written as
// iptables-legacy-save writes it: the standard part from the entry, matches and targets by their extension's
// own save function (libxtables).
bool save_iptables_legacy(bool counters, std::string& out, std::string& error);

}  // namespace bpftables::cli
