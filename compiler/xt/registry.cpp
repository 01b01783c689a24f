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
#define XT_TARGET_TWIN(name) &name##_target,
#include "compiler/xt/modules.def"
};

bool listed(std::span<const std::string_view> names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

const MatchModule* find_match_module(std::string_view name, ir::Family family) {
    // libxtables loads icmp6 by any of its three names
    if (family == ir::Family::ipv6 && (name == "icmpv6" || name == "ipv6-icmp")) name = "icmp6";
    for (const MatchModule* m : match_table)
        if (m->name == name && available(*m, family)) return m;
    return nullptr;
}

const TargetModule* find_target_module(std::string_view name, ir::Family family) {
    for (const TargetModule* t : target_table)
        if (t->name == name && available(*t, family)) return t;
    return nullptr;
}

std::span<const MatchModule* const> match_modules() {
    return match_table;
}

bool is_iptables_match(std::string_view name, ir::Family family) {
    static const std::string_view both[] = {
        "addrtype",  "bpf",       "cgroup", "cluster",  "comment",  "connbytes", "connlabel", "connlimit",
        "connmark",  "conntrack", "cpu",    "dccp",     "devgroup", "dscp",      "ecn",       "esp",
        "hashlimit", "helper",    "ipcomp", "iprange",  "ipvs",     "length",    "limit",     "mac",
        "mark",      "multiport", "nfacct", "osf",      "owner",    "physdev",   "pkttype",   "policy",
        "quota",     "rateest",   "recent", "rpfilter", "sctp",     "set",       "socket",    "state",
        "statistic", "string",    "tcp",    "tcpmss",   "time",     "tos",       "u32",       "udp"};
    static const std::string_view ipv4[] = {"ah", "icmp", "realm", "ttl"};  // libipt_*
    static const std::string_view ipv6[] = {"ah",    "dst",        "eui64", "frag", "hbh", "hl",
                                            "icmp6", "ipv6header", "mh",    "rt",   "srh"};  // libip6t_*
    return listed(both, name) ||
           listed(family == ir::Family::ipv4 ? std::span<const std::string_view>(ipv4) : ipv6, name);
}

bool is_iptables_target(std::string_view name, ir::Family family) {
    static const std::string_view both[] = {
        "AUDIT",    "CHECKSUM",  "CLASSIFY",    "CONNMARK", "CONNSECMARK", "CT",         "DNAT",   "DSCP",
        "HMARK",    "IDLETIMER", "LED",         "LOG",      "MARK",        "MASQUERADE", "NETMAP", "NFLOG",
        "NFQUEUE",  "NOTRACK",   "RATEEST",     "REDIRECT", "REJECT",      "SECMARK",    "SET",    "SNAT",
        "SYNPROXY", "TCPMSS",    "TCPOPTSTRIP", "TEE",      "TOS",         "TPROXY",     "TRACE"};
    static const std::string_view ipv4[] = {"CLUSTERIP", "ECN", "TTL", "ULOG"};  // libipt_*
    static const std::string_view ipv6[] = {"DNPT", "HL", "SNPT"};               // libip6t_*
    return listed(both, name) ||
           listed(family == ir::Family::ipv4 ? std::span<const std::string_view>(ipv4) : ipv6, name);
}

}  // namespace bpftables::xt
