#include "compiler/xt/modules.hpp"

namespace bpftables::xt {

const MatchModule* find_match_module(std::string_view name) {
    static const MatchModule* const modules[] = {
        &tcp_module, &udp_module,
        &icmp_module, &multiport_module, &iprange_module, &length_module, &ttl_module,
        &mark_module, &comment_module, &dscp_module, &tos_module, &mac_module, &pkttype_module,
        &addrtype_module, &limit_module,
        &state_module, &conntrack_module, &set_module,
    };
    for (const MatchModule* m : modules)
        if (m->name == name) return m;
    return nullptr;
}

const TargetModule* find_target_module(std::string_view name) {
    static const TargetModule* const modules[] = {
        &reject_target, &log_target, &notrack_target, &ct_target,
    };
    for (const TargetModule* t : modules)
        if (t && t->name == name) return t;
    return nullptr;
}

}  // namespace bpftables::xt
