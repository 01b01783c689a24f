#include "compiler/xt/modules.hpp"

#include <algorithm>
#include <iterator>

namespace bpftables::xt {

const MatchModule* find_match_module(std::string_view name) {
    static const MatchModule* const modules[] = {
        &tcp_module,    &udp_module,       &icmp_module,    &multiport_module, &iprange_module,
        &length_module, &ttl_module,       &mark_module,    &comment_module,   &dscp_module,
        &tos_module,    &mac_module,       &pkttype_module, &addrtype_module,  &limit_module,
        &state_module,  &conntrack_module, &set_module,
    };
    for (const MatchModule* m : modules)
        if (m->name == name) return m;
    return nullptr;
}

const TargetModule* find_target_module(std::string_view name) {
    static const TargetModule* const modules[] = {
        &reject_target,
        &log_target,
        &notrack_target,
        &ct_target,
    };
    for (const TargetModule* t : modules)
        if (t && t->name == name) return t;
    return nullptr;
}

bool is_iptables_match(std::string_view name) {
    static const std::string_view names[] = {
        "addrtype",  "ah",        "bpf",       "cgroup",    "cluster", "comment",  "connbytes", "connlabel",
        "connlimit", "connmark",  "conntrack", "cpu",       "dccp",    "devgroup", "dscp",      "ecn",
        "esp",       "hashlimit", "helper",    "icmp",      "ipcomp",  "iprange",  "ipvs",      "length",
        "limit",     "mac",       "mark",      "multiport", "nfacct",  "osf",      "owner",     "physdev",
        "pkttype",   "policy",    "quota",     "rateest",   "realm",   "recent",   "rpfilter",  "sctp",
        "set",       "socket",    "state",     "statistic", "string",  "tcp",      "tcpmss",    "time",
        "tos",       "ttl",       "u32",       "udp"};
    return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

bool is_iptables_target(std::string_view name) {
    static const std::string_view names[] = {
        "AUDIT",       "CHECKSUM",   "CLASSIFY", "CLUSTERIP", "CONNMARK",  "CONNSECMARK", "CT",
        "DNAT",        "DSCP",       "ECN",      "HMARK",     "IDLETIMER", "LED",         "LOG",
        "MARK",        "MASQUERADE", "NETMAP",   "NFLOG",     "NFQUEUE",   "NOTRACK",     "RATEEST",
        "REDIRECT",    "REJECT",     "SECMARK",  "SET",       "SNAT",      "SYNPROXY",    "TCPMSS",
        "TCPOPTSTRIP", "TEE",        "TOS",      "TPROXY",    "TRACE",     "TTL",         "ULOG"};
    return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

}  // namespace bpftables::xt
