// The namespace's local IPv4 destinations, as the kernel's routing knows them (an IPv6 program's: its `local`
// and `anycast` IPv6 routes): every `local` and `broadcast`
// route (the local table holds one per address and per broadcast address; `ip route add local PREFIX` adds
// whole prefixes, as AnyIP setups do), read with one RTM_GETROUTE dump.
#include <bpf/bpf.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "base/netlink.hpp"
#include "loader/loaded_program.hpp"

namespace bpftables::loader {
namespace {

// The key of bpft_local (bpf/bpftables.bpf.h: struct bpft_lpm_key, or bpft_lpm6_key in an IPv6 program):
// prefix length, address in network order (its first `size` bytes).
struct LpmKey {
    uint32_t prefixlen = 0;
    std::array<uint8_t, 16> addr{};
    bool operator<(const LpmKey& o) const {
        return std::pair(prefixlen, addr) < std::pair(o.prefixlen, o.addr);
    }
};

// Every local and broadcast IPv4 route of the current namespace (`family` AF_INET), or every local and
// anycast IPv6 route (AF_INET6), as LPM keys, each with its value in the map: 2 (RTN_LOCAL) for a local route
// of the local table, which inet_addr_type() reads (`fib daddr type local`, `-m addrtype`), else 1.
bool local_routes(int family, std::map<LpmKey, uint8_t>& out, std::string& error) {
    struct {
        nlmsghdr h;
        rtmsg r;
    } req{};
    req.h.nlmsg_len = sizeof(req);
    req.h.nlmsg_type = RTM_GETROUTE;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.r.rtm_family = static_cast<uint8_t>(family);
    uint8_t other = family == AF_INET ? RTN_BROADCAST : RTN_ANYCAST;
    size_t size = family == AF_INET ? 4 : 16;
    auto route = [&](const nlmsghdr* h) {
        if (h->nlmsg_type != RTM_NEWROUTE) return;
        const auto* r = reinterpret_cast<const rtmsg*>(NLMSG_DATA(h));
        if (r->rtm_family != family || (r->rtm_type != RTN_LOCAL && r->rtm_type != other)) return;
        LpmKey key;
        key.prefixlen = r->rtm_dst_len;
        int attrs = static_cast<int>(RTM_PAYLOAD(h));
        for (auto* a = RTM_RTA(r); RTA_OK(a, attrs); a = RTA_NEXT(a, attrs))
            if (a->rta_type == RTA_DST && RTA_PAYLOAD(a) == size)
                std::memcpy(key.addr.data(), RTA_DATA(a), size);
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
    // An IPv6 program's map has 16-byte addresses; the keys below are laid out as both (prefix length, then
    // the address), so the map reads the first 4 + size bytes of each.
    bpf_map_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(map_fd, &info, &len) != 0)
        return error = std::string("cannot read the local-address map: ") + std::strerror(errno), false;
    std::map<LpmKey, uint8_t> wanted;
    if (!local_routes(info.key_size == sizeof(LpmKey) ? AF_INET6 : AF_INET, wanted, error)) return false;
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
