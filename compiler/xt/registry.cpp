// The lookup tables of the modules bpftables parses (built from modules.def), and the names of every
// extension iptables ships.
#include <algorithm>
#include <iterator>

#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

const MatchModule* const match_table[] = {
#define XT_MATCH(name, type) &name##_module,
#include "compiler/xt/modules.def"
};

const TargetModule* const target_table[] = {
#define XT_TARGET(name, type) &name##_target,
#include "compiler/xt/modules.def"
};

}  // namespace

const MatchModule* find_match_module(std::string_view name) {
    for (const MatchModule* m : match_table)
        if (m->name == name) return m;
    return nullptr;
}

const TargetModule* find_target_module(std::string_view name) {
    for (const TargetModule* t : target_table)
        if (t->name == name) return t;
    return nullptr;
}

std::span<const MatchModule* const> match_modules() {
    return match_table;
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
