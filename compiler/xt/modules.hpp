#pragma once
// Every module bpftables parses, one definition each in the compiler/xt/ file of its family; the registry
// (registry.cpp) lists them. Add a module here, define it in its file, list it in the registry.
#include "compiler/xt/module.hpp"

namespace bpftables::xt {

extern const MatchModule tcp_module, udp_module;
extern const MatchModule icmp_module, multiport_module, iprange_module, length_module, ttl_module;
extern const MatchModule mark_module, comment_module, dscp_module, tos_module, mac_module, pkttype_module,
    addrtype_module, limit_module;
extern const MatchModule state_module, conntrack_module;
extern const MatchModule set_module;
extern const TargetModule reject_target, log_target, notrack_target, ct_target;

// Target checks that need the rest of the rule (compiler/xt/targets.cpp): REJECT --reject-with tcp-reset only
// with -p tcp; CT and NOTRACK only in the raw table. `proto` is the rule's -p, if any.
bool check_target_context(const ir::Target& target, std::string_view table, const ir::ProtocolMatch* proto,
                          const parser::Word& target_word, Diagnostics& diags);

}  // namespace bpftables::xt
