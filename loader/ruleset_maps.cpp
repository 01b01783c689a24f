#include "loader/ruleset_maps.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <tuple>

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

// Values 0 to values.size() - 1 of an array map, in batches.
template <class T>
bool fill_array(int fd, const char* name, const std::vector<T>& values, std::string& error) {
    std::vector<uint32_t> keys(values.size());
    for (uint32_t i = 0; i < keys.size(); ++i) keys[i] = i;
    for (size_t done = 0; done < values.size();) {
        uint32_t n = static_cast<uint32_t>(std::min<size_t>(values.size() - done, 1 << 16));
        LIBBPF_OPTS(bpf_map_batch_opts, opts);
        if (bpf_map_update_batch(fd, keys.data() + done, values.data() + done, &n, &opts) != 0)
            return error = std::string("cannot fill ") + name + ": " + std::strerror(errno), false;
        done += n;
    }
    return true;
}

}  // namespace

ClassifierSizes classifier_sizes(const codegen::ClassifierTrees& trees) {
    return {trees.nodes.size(), (trees.leaves.size() + BPFT_CLS_REFS - 1) / BPFT_CLS_REFS, trees.rules.size(),
            trees.ids.size()};
}

bool fill_classifier(const int fds[4], const codegen::ClassifierTrees& trees, std::string& error) {
    std::vector<bpft_cls_refs> refs(classifier_sizes(trees).leaves);
    for (size_t i = 0; i < trees.leaves.size(); ++i)
        refs[i / BPFT_CLS_REFS].rule[i % BPFT_CLS_REFS] = trees.leaves[i];
    if (!fill_array(fds[0], "bpft_cls_nodes", trees.nodes, error) ||
        !fill_array(fds[1], "bpft_cls_leaves", refs, error) ||
        !fill_array(fds[2], "bpft_cls_rules", trees.rules, error))
        return false;
    for (const codegen::ClassifierId& id : trees.ids) {  // bpf/abi.h: bpft_cls_key6
        bpft_cls_key6 key{static_cast<uint32_t>(32 + id.prefix.len), {}, {}};
        uint32_t tag = htonl(id.run * 2 + id.field);
        std::memcpy(key.tag, &tag, 4);
        for (int w = 0; w < 4; ++w) {
            uint32_t word = htonl(id.prefix.addr[w]);
            std::memcpy(key.addr + 4 * w, &word, 4);
        }
        if (bpf_map_update_elem(fds[3], &key, &id.id, BPF_ANY) != 0)
            return error = std::string("cannot fill bpft_cls_ids: ") + std::strerror(errno), false;
    }
    return true;
}

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

bool fill_nft_set(int map_fd, const ir::NftSet& set, std::string& error) {
    auto failed = [&] {
        return error = "cannot fill nft set " + set.name + ": " + std::strerror(errno), false;
    };
    if (set.lpm) {
        for (const ir::NftSet::Element& e : set.elements) {
            uint8_t key[8];
            std::memcpy(key, &e.prefix, 4);
            std::memcpy(key + 4, e.key.data(), 4);
            if (bpf_map_update_elem(map_fd, key, &e.value, BPF_ANY) != 0) return failed();
        }
        return true;
    }
    std::vector<uint8_t> keys;
    std::vector<uint32_t> values;
    keys.reserve(set.elements.size() * set.key_size);
    for (const ir::NftSet::Element& e : set.elements) {
        keys.insert(keys.end(), e.key.begin(), e.key.end());
        values.push_back(e.value);
    }
    for (size_t done = 0; done < values.size();) {
        uint32_t n = static_cast<uint32_t>(std::min<size_t>(values.size() - done, 1 << 14));
        LIBBPF_OPTS(bpf_map_batch_opts, opts);
        if (bpf_map_update_batch(map_fd, keys.data() + done * set.key_size, values.data() + done, &n,
                                 &opts) != 0)
            return failed();
        done += n;
    }
    return true;
}

std::optional<Fd> create_nft_set(const ir::NftSet& set, std::string& error) {
    MapSpec spec{set.lpm ? BPF_MAP_TYPE_LPM_TRIE : BPF_MAP_TYPE_HASH,
                 "bpft_nft_set",
                 set.lpm ? 8u : set.key_size,
                 4,
                 set.map_entries(),
                 BPF_F_NO_PREALLOC};
    std::optional<Fd> map = create_map(spec, error);
    if (!map || !fill_nft_set(map->get(), set, error)) return std::nullopt;
    return map;
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
    if (direct.trees) {  // the classifier's maps (bpf/bpftables.bpf.h: bpft_cls_*), sized to its trees
        ClassifierSizes n = classifier_sizes(*direct.trees);
        int fds[4] = {-1, -1, -1, -1};
        for (auto [name, value, size] : {std::tuple{"bpft_cls_nodes", sizeof(bpft_cls_node), n.nodes},
                                         {"bpft_cls_leaves", sizeof(bpft_cls_refs), n.leaves},
                                         {"bpft_cls_rules", sizeof(bpft_cls_rule), n.rules}}) {
            MapSpec spec{BPF_MAP_TYPE_ARRAY, name, 4, static_cast<uint32_t>(value),
                         static_cast<uint32_t>(std::max<size_t>(size, 1))};
            std::optional<Fd> map = create_map(spec, error);
            if (!map) return std::nullopt;
            fds[maps.size() - 1] = map->get();
            maps.push_back(std::move(*map));
        }
        if (n.ids > 0) {
            MapSpec spec{BPF_MAP_TYPE_LPM_TRIE,        "bpft_cls_ids",   sizeof(bpft_cls_key6), 4,
                         static_cast<uint32_t>(n.ids), BPF_F_NO_PREALLOC};
            std::optional<Fd> map = create_map(spec, error);
            if (!map) return std::nullopt;
            fds[3] = map->get();
            maps.push_back(std::move(*map));
        } else {
            maps.emplace_back();
        }
        if (!fill_classifier(fds, *direct.trees, error)) return std::nullopt;
    } else {
        maps.resize(maps.size() + 4);
    }
    for (const std::string& name : direct.layout.sets) {
        if (auto nft = std::find_if(direct.nft_sets.begin(), direct.nft_sets.end(),
                                    [&](const ir::NftSet& s) { return s.name == name; });
            nft != direct.nft_sets.end()) {
            std::optional<Fd> map = create_nft_set(*nft, error);
            if (!map) return std::nullopt;
            maps.push_back(std::move(*map));
            continue;
        }
        auto found = std::find_if(direct.sets.begin(), direct.sets.end(),
                                  [&](const ir::IpSet& s) { return s.name == name; });
        if (found == direct.sets.end()) return error = "set " + name + " has no contents", std::nullopt;
        const ir::IpSet& set = *found;
        MapSpec spec{BPF_MAP_TYPE_LPM_TRIE, "bpft_set", 8, 1, set.map_entries(), BPF_F_NO_PREALLOC};
        std::optional<Fd> map = create_map(spec, error);
        if (!map || !fill_set(map->get(), set, error)) return std::nullopt;
        maps.push_back(std::move(*map));
    }
    return maps;
}

}  // namespace bpftables::loader
