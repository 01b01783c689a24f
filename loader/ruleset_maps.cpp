#include "loader/ruleset_maps.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace bpftables::loader {
namespace {

struct BtfDeleter {
    void operator()(btf* b) const { btf__free(b); }
};

// The limits map: an array of struct bpft_limit_state, whose bpf_spin_lock the kernel finds in the value's
// BTF (a map without it refuses bpf_spin_lock).
std::optional<Fd> create_limits(size_t count, std::string& error) {
    std::unique_ptr<btf, BtfDeleter> b(btf__new_empty());
    if (!b) return error = "cannot create BTF for the limit states", std::nullopt;
    btf* t = b.get();
    int u32 = btf__add_int(t, "unsigned int", 4, 0);
    int u64 = btf__add_int(t, "unsigned long long", 8, 0);
    int lock = btf__add_struct(t, "bpf_spin_lock", 4);
    btf__add_field(t, "val", u32, 0, 0);
    int state = btf__add_struct(t, "bpft_limit_state", codegen::kLimitStateSize);
    btf__add_field(t, "lock", lock, 0, 0);
    btf__add_field(t, "credit", u64, codegen::kLimitCreditOff * 8, 0);
    btf__add_field(t, "last", u64, codegen::kLimitLastOff * 8, 0);
    if (u32 < 0 || u64 < 0 || lock < 0 || state < 0 || btf__load_into_kernel(t) != 0)
        return error = std::string("the kernel refused the limit states' BTF: ") + std::strerror(errno),
               std::nullopt;
    MapSpec spec{BPF_MAP_TYPE_ARRAY,
                 "bpft_limits",
                 4,
                 codegen::kLimitStateSize,
                 static_cast<uint32_t>(count),
                 0,
                 btf__fd(t),
                 static_cast<uint32_t>(u32),
                 static_cast<uint32_t>(state)};
    return create_map(spec, error);  // the map keeps its own reference to the BTF
}

}  // namespace

bool fill_set(int map_fd, const ir::IpSet& set, std::string& error) {
    for (const ir::Ipv4Net& n : set.members) {
        struct {
            uint32_t prefixlen;
            uint32_t addr;
        } key{static_cast<uint32_t>(__builtin_popcount(n.mask)), htonl(n.addr)};
        uint8_t one = 1;
        if (bpf_map_update_elem(map_fd, &key, &one, BPF_ANY) != 0)
            return error = "cannot fill set " + set.name + ": " + std::strerror(errno), false;
    }
    return true;
}

std::optional<std::vector<Fd>> create_ruleset_maps(const codegen::DirectProgram& direct, std::string& error) {
    std::vector<Fd> maps;
    if (!direct.layout.limits.empty()) {
        std::optional<Fd> limits = create_limits(direct.layout.limits.size(), error);
        if (!limits) return std::nullopt;
        maps.push_back(std::move(*limits));
    } else {
        maps.emplace_back();
    }
    for (const ir::IpSet& set : direct.sets) {
        MapSpec spec{BPF_MAP_TYPE_LPM_TRIE,
                     "bpft_set",
                     8,
                     1,
                     static_cast<uint32_t>(std::max<size_t>(set.members.size(), 1)),
                     BPF_F_NO_PREALLOC};
        std::optional<Fd> map = create_map(spec, error);
        if (!map || !fill_set(map->get(), set, error)) return std::nullopt;
        maps.push_back(std::move(*map));
    }
    return maps;
}

}  // namespace bpftables::loader
