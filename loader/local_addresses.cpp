// The namespace's local IPv4 destinations, as the kernel's routing knows them: every `local` and `broadcast`
// route (the local table holds one per address and per broadcast address; `ip route add local PREFIX` adds
// whole prefixes, as AnyIP setups do), read with one RTM_GETROUTE dump.
#include <bpf/bpf.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "base/netlink.hpp"
#include "loader/loaded_program.hpp"

namespace bpftables::loader {
namespace {

// The key of bpft_local (bpf/bpftables.bpf.h: struct bpft_lpm_key): prefix length, address in network order.
struct LpmKey {
    uint32_t prefixlen;
    uint32_t addr;
    bool operator<(const LpmKey& o) const {
        return std::pair(prefixlen, addr) < std::pair(o.prefixlen, o.addr);
    }
};

// Every local and broadcast IPv4 route of the current namespace, as LPM keys, each with its value in the
// map: 2 (RTN_LOCAL) for a local route of the local table, which inet_addr_type() reads (`fib daddr type
// local`, `-m addrtype`), else 1.
bool local_routes(std::map<LpmKey, uint8_t>& out, std::string& error) {
    struct {
        nlmsghdr h;
        rtmsg r;
    } req{};
    req.h.nlmsg_len = sizeof(req);
    req.h.nlmsg_type = RTM_GETROUTE;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.r.rtm_family = AF_INET;
    auto route = [&](const nlmsghdr* h) {
        if (h->nlmsg_type != RTM_NEWROUTE) return;
        const auto* r = reinterpret_cast<const rtmsg*>(NLMSG_DATA(h));
        if (r->rtm_family != AF_INET || (r->rtm_type != RTN_LOCAL && r->rtm_type != RTN_BROADCAST)) return;
        LpmKey key{r->rtm_dst_len, 0};
        int attrs = static_cast<int>(RTM_PAYLOAD(h));
        for (auto* a = RTM_RTA(r); RTA_OK(a, attrs); a = RTA_NEXT(a, attrs))
            if (a->rta_type == RTA_DST && RTA_PAYLOAD(a) == 4) std::memcpy(&key.addr, RTA_DATA(a), 4);
        uint32_t table = r->rtm_table;
        attrs = static_cast<int>(RTM_PAYLOAD(h));
        for (auto* a = RTM_RTA(r); RTA_OK(a, attrs); a = RTA_NEXT(a, attrs))
            if (a->rta_type == RTA_TABLE && RTA_PAYLOAD(a) == 4) std::memcpy(&table, RTA_DATA(a), 4);
        uint8_t& value = out[key];
        value = std::max<uint8_t>(value, r->rtm_type == RTN_LOCAL && table == RT_TABLE_LOCAL ? 2 : 1);
    };
    return netlink_dump(NETLINK_ROUTE, &req.h, route, "cannot read the local routes", error);
}

}  // namespace

bool fill_local_addresses(int map_fd, std::string& error) {
    std::map<LpmKey, uint8_t> wanted;
    if (!local_routes(wanted, error)) return false;
    // What the map holds that is no longer local goes (a refresh after an address was removed).
    std::vector<LpmKey> stale;
    LpmKey key{}, next{};
    for (const void* prev = nullptr; bpf_map_get_next_key(map_fd, prev, &next) == 0; prev = &key) {
        if (!wanted.count(next)) stale.push_back(next);
        key = next;
    }
    for (const LpmKey& k : stale) bpf_map_delete_elem(map_fd, &k);
    for (const auto& [k, value] : wanted) {
        if (bpf_map_update_elem(map_fd, &k, &value, BPF_ANY) != 0)
            return error = std::string("cannot fill the local-address map: ") + std::strerror(errno), false;
    }
    return true;
}

}  // namespace bpftables::loader
