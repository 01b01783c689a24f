#include "codegen/classifier.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>

namespace bpftables::codegen {
namespace {

constexpr int fields = 5;             // saddr, daddr, proto, sport, dport
constexpr int max_cut_bits = 8;       // at most 256 children per node
constexpr size_t leaf_target = 24;    // a node with this many rules or fewer is a leaf
constexpr uint64_t space_factor = 2;  // a cut may copy a node's rules into its parts at most this many times
constexpr uint64_t parts_per_rule = 4;  // and make at most one part per four rules
constexpr size_t node_bytes = 16;  // bpft_cls_node (12 bytes) in an array map: elements are rounded up to 8
constexpr size_t rule_bytes = 32;  // bpft_cls_rule (28 bytes)
// An entry of the LPM trie bpft_cls_ids as the kernel counts it (kernel/bpf/lpm_trie.c: a node of 40 bytes,
// the key's 20 bytes of data, the 4-byte value).
constexpr size_t id_bytes = 64;

constexpr uint32_t ones(int bits) {
    return bits >= 32 ? 0xffffffffu : (1u << bits) - 1;
}

bool is_short(const ClassifierPacket& p) {
    return (p.proto == 6 && p.l4_len < 20) || (p.proto == 17 && p.l4_len < 8);
}

// A rule's extent in each field, inclusive.
struct Box {
    uint32_t lo[fields], hi[fields];
};

Box box_of(const bpft_cls_rule& r, bool ports) {
    Box b{{r.src, r.dst, r.proto_lo, ports ? r.sport_lo : 0u, ports ? r.dport_lo : 0u},
          {r.src | ~r.src_mask, r.dst | ~r.dst_mask, r.proto_hi, ports ? r.sport_hi : 0xffffu,
           ports ? r.dport_hi : 0xffffu}};
    return b;
}

// A node's region: in each field, an aligned block [lo, lo + 2^width - 1].
struct Region {
    uint32_t lo[fields];
    int width[fields];
    uint32_t hi(int f) const { return lo[f] + ones(width[f]); }
};

// Builds trees into `out` until they would take more than `max_bytes` of nodes and leaf references in all
// (then fails: the caller gives up on the run, so a failed attempt costs no more than that); with `leaf_only`,
// every tree is one leaf.
class Builder {
  public:
    Builder(ClassifierTrees& out, const std::vector<Box>& boxes, size_t max_bytes, bool leaf_only)
        : out_(out),
          boxes_(boxes),
          max_bytes_(max_bytes),
          leaf_only_(leaf_only),
          nodes0_(out.nodes.size()),
          leaves0_(out.leaves.size()) {}

    bool build(uint32_t node, std::vector<uint32_t> ids, const Region& region, int depth,
               std::string& error) {
        // Nothing after a rule that covers the whole region can decide a packet in it.
        for (size_t i = 0; i < ids.size(); ++i)
            if (covers(boxes_[ids[i]], region)) {
                ids.resize(i + 1);
                break;
            }
        int field = -1, bits = 0;
        if (ids.size() > leaf_target && depth < BPFT_CLS_DEPTH && !leaf_only_)
            choose_cut(ids, region, field, bits);
        if (field < 0) {
            if (ids.size() > BPFT_CLS_LEAF_MAX)
                return error = "a leaf would hold " + std::to_string(ids.size()) + " rules (at most " +
                               std::to_string(BPFT_CLS_LEAF_MAX) + ")",
                       false;
            out_.nodes[node] = {BPFT_CLS_LEAF,
                                0,
                                0,
                                0,
                                static_cast<uint32_t>(out_.leaves.size()),
                                static_cast<uint32_t>(ids.size())};
            out_.leaves.insert(out_.leaves.end(), ids.begin(), ids.end());
            return within_budget(error);
        }
        int shift = region.width[field] - bits;
        size_t children = size_t(1) << bits, base = out_.nodes.size();
        out_.nodes[node] = {static_cast<uint8_t>(field), static_cast<uint8_t>(shift),
                            static_cast<uint8_t>(bits),  0,
                            static_cast<uint32_t>(base), 0};
        out_.nodes.resize(base + children);
        if (!within_budget(error)) return false;
        std::vector<std::vector<uint32_t>> parts(children);
        for (uint32_t id : ids) {
            auto [a, b] = span(boxes_[id], region, field, shift);
            for (uint32_t c = a; c <= b; ++c) parts[c].push_back(id);
        }
        ids = {};
        for (size_t c = 0; c < children; ++c) {
            Region sub = region;
            sub.lo[field] = region.lo[field] + (static_cast<uint32_t>(c) << shift);
            sub.width[field] = shift;
            if (!build(static_cast<uint32_t>(base + c), std::move(parts[c]), sub, depth + 1, error))
                return false;
        }
        return true;
    }

  private:
    bool within_budget(std::string& error) const {
        size_t bytes = (out_.nodes.size() - nodes0_) * node_bytes + (out_.leaves.size() - leaves0_) * 4;
        if (bytes <= max_bytes_) return true;
        return error = "its trees would take more than " + std::to_string(classifier_bytes_per_rule) +
                       " bytes of map memory per rule",
               false;
    }

    static bool covers(const Box& b, const Region& r) {
        for (int f = 0; f < fields; ++f)
            if (b.lo[f] > r.lo[f] || b.hi[f] < r.hi(f)) return false;
        return true;
    }

    // The children of a cut of `field` into parts of 2^shift values that the rule overlaps.
    static std::pair<uint32_t, uint32_t> span(const Box& b, const Region& r, int field, int shift) {
        uint32_t lo = std::max(b.lo[field], r.lo[field]) - r.lo[field];
        uint32_t hi = std::min(b.hi[field], r.hi(field)) - r.lo[field];
        return {lo >> shift, hi >> shift};
    }

    // For each field that some rule does not span, as many parts as the space factor allows (at least two);
    // of those cuts, the one whose largest part holds the fewest rules, then the one that copies rules
    // least. (HiCuts' own choice, the field with the most distinct extents, copied the wide rules of
    // bench/gen_ruleset.py into so many parts that 100k rules needed over 16M nodes.)
    void choose_cut(const std::vector<uint32_t>& ids, const Region& region, int& field, int& bits) const {
        Cost best{ids.size() + 1, 0, 0};  // any cut makes progress: its parts are smaller regions
        for (int f = 0; f < fields; ++f) {
            if (region.width[f] == 0 || std::all_of(ids.begin(), ids.end(), [&](uint32_t id) {
                    return boxes_[id].lo[f] <= region.lo[f] && boxes_[id].hi[f] >= region.hi(f);
                }))
                continue;
            int limit = std::min(region.width[f], max_cut_bits), b = 1;
            while (b < limit && cost(ids, region, f, b + 1).copies <= space_factor * ids.size() &&
                   (uint64_t(2) << b) * parts_per_rule <= ids.size())
                ++b;
            Cost c = cost(ids, region, f, b);
            if (std::tie(c.largest, c.copies, c.parts) < std::tie(best.largest, best.copies, best.parts))
                best = c, field = f, bits = b;
        }
    }

    struct Cost {
        uint64_t largest, copies, parts;  // rules in the largest part, in all parts; parts
    };

    Cost cost(const std::vector<uint32_t>& ids, const Region& region, int field, int bits) const {
        int shift = region.width[field] - bits;
        std::vector<int64_t> delta((size_t(1) << bits) + 1);
        for (uint32_t id : ids) {
            auto [a, b] = span(boxes_[id], region, field, shift);
            ++delta[a], --delta[b + 1];
        }
        Cost c{0, 0, delta.size() - 1};
        int64_t running = 0;
        for (size_t part = 0; part < c.parts; ++part) {
            running += delta[part];
            c.largest = std::max<uint64_t>(c.largest, running);
            c.copies += running;
        }
        return c;
    }

    ClassifierTrees& out_;
    const std::vector<Box>& boxes_;
    size_t max_bytes_;
    bool leaf_only_;
    size_t nodes0_, leaves0_;
};

}  // namespace

namespace {

// The prefix of an ip6tables address, or nullopt when its mask is not a prefix (ip6tables accepts any mask).
std::optional<Prefix6> prefix_of(const ir::Ipv6Net& net) {
    Prefix6 p;
    int len = 0;
    bool ended = false;
    for (int i = 0; i < 16; ++i)
        for (int bit = 7; bit >= 0; --bit) {
            bool one = (net.mask[i] >> bit) & 1;
            if (one && ended) return std::nullopt;
            if (!one) ended = true;
            len += one ? 1 : 0;
        }
    for (int i = 0; i < 16; ++i) p.addr[i / 4] |= uint32_t(net.addr[i]) << (8 * (3 - i % 4));
    p.len = static_cast<uint8_t>(len);
    return p;
}

}  // namespace

std::optional<ClassifierRule> classifier_rule(const ir::Rule& rule, uint32_t gid, ir::Family family) {
    ClassifierRule out;
    out.family = family;
    bpft_cls_rule& r = out.box;
    r.sport_hi = r.dport_hi = 0xffff;
    r.proto_hi = 0xff;
    if (std::holds_alternative<ir::AcceptTarget>(rule.target))
        r.verdict = (BPFT_ACCEPT << 24) | gid;
    else if (std::holds_alternative<ir::DropTarget>(rule.target))
        r.verdict = (BPFT_DROP << 24) | gid;
    else
        return std::nullopt;
    bool src = false, dst = false, proto = false, ports = false;
    uint8_t ports_proto = 0;
    auto set_ports = [&](const auto& m, uint8_t header, uint8_t p) {
        if (ports || (m.sport && m.sport->invert) || (m.dport && m.dport->invert)) return false;
        if (m.sport) r.sport_lo = m.sport->value.lo, r.sport_hi = m.sport->value.hi;
        if (m.dport) r.dport_lo = m.dport->value.lo, r.dport_hi = m.dport->value.hi;
        r.l4hdr = header, ports_proto = p, ports = true;
        return true;
    };
    // Anything not listed here keeps the rule out of the classifier, which is always correct.
    for (const ir::Match& match : rule.matches) {
        if (auto* a = std::get_if<ir::AddressMatch>(&match)) {
            bool& seen = a->dir == ir::Dir::src ? src : dst;
            if (a->invert || seen || family != ir::Family::ipv4) return std::nullopt;
            (a->dir == ir::Dir::src ? r.src : r.dst) = a->net.addr;
            (a->dir == ir::Dir::src ? r.src_mask : r.dst_mask) = a->net.mask;
            seen = true;
        } else if (auto* a6 = std::get_if<ir::Address6Match>(&match)) {
            bool& seen = a6->dir == ir::Dir::src ? src : dst;
            std::optional<Prefix6> prefix = prefix_of(a6->net);
            if (a6->invert || seen || family != ir::Family::ipv6 || !prefix) return std::nullopt;
            (a6->dir == ir::Dir::src ? out.src6 : out.dst6) = *prefix;
            seen = true;
        } else if (auto* p = std::get_if<ir::ProtocolMatch>(&match)) {
            if (p->invert || proto) return std::nullopt;
            r.proto_lo = r.proto_hi = p->proto;
            proto = true;
        } else if (auto* t = std::get_if<ir::TcpMatch>(&match)) {
            if (t->flags || t->option || !set_ports(*t, 20, 6)) return std::nullopt;
        } else if (auto* u = std::get_if<ir::UdpMatch>(&match)) {
            if (!set_ports(*u, 8, 17)) return std::nullopt;
        } else if (!std::holds_alternative<ir::CommentMatch>(match)) {
            return std::nullopt;
        }
    }
    if (ports && !(proto && r.proto_lo == ports_proto)) return std::nullopt;
    return out;
}

uint32_t classifier_rule_verdict(const bpft_cls_rule& r, const ClassifierPacket& p) {
    if ((p.saddr & r.src_mask) != r.src || (p.daddr & r.dst_mask) != r.dst || p.proto < r.proto_lo ||
        p.proto > r.proto_hi)
        return 0;
    if (p.l4_len < r.l4hdr) return (BPFT_HOTDROP << 24) | (r.verdict & 0xffffffu);
    if (p.sport < r.sport_lo || p.sport > r.sport_hi || p.dport < r.dport_lo || p.dport > r.dport_hi)
        return 0;
    return r.verdict;
}

namespace {

// EffiCuts' separation (Vamanan et al., SIGCOMM 2010): a rule that spans much of a field is copied into every
// part when that field is cut, so rules are grouped by the fields they span widely (a quarter of what the
// run's rules cover there, or more) and each group gets a tree of its own. At most BPFT_CLS_TREES groups: the
// largest, and the rest together in the last.
std::vector<std::vector<uint32_t>> separate(const std::vector<Box>& boxes, uint32_t begin, uint32_t end) {
    uint64_t span[fields];
    for (int f = 0; f < fields; ++f) {
        uint32_t lo = UINT32_MAX, hi = 0;
        for (uint32_t id = begin; id < end; ++id)
            lo = std::min(lo, boxes[id].lo[f]), hi = std::max(hi, boxes[id].hi[f]);
        span[f] = uint64_t(hi) - lo + 1;
    }
    std::map<unsigned, std::vector<uint32_t>> by_wide;
    for (uint32_t id = begin; id < end; ++id) {
        unsigned wide = 0;
        for (int f = 0; f < fields; ++f)
            if ((uint64_t(boxes[id].hi[f]) - boxes[id].lo[f] + 1) * 4 >= span[f]) wide |= 1u << f;
        by_wide[wide].push_back(id);
    }
    std::vector<std::vector<uint32_t>> groups;
    groups.reserve(by_wide.size());
    for (auto& [wide, ids] : by_wide) groups.push_back(std::move(ids));
    std::stable_sort(groups.begin(), groups.end(),
                     [](const auto& x, const auto& y) { return x.size() > y.size(); });
    while (groups.size() > BPFT_CLS_TREES) {
        std::vector<uint32_t> last = std::move(groups.back());
        groups.pop_back();
        groups.back().insert(groups.back().end(), last.begin(), last.end());
    }
    for (auto& g : groups) std::sort(g.begin(), g.end());  // the chain's order
    return groups;
}

}  // namespace

size_t classifier_bytes(const ClassifierTrees& trees) {
    size_t refs = (trees.leaves.size() + BPFT_CLS_REFS - 1) / BPFT_CLS_REFS * sizeof(bpft_cls_refs);
    return trees.nodes.size() * node_bytes + refs + trees.rules.size() * rule_bytes +
           trees.ids.size() * id_bytes;
}

namespace {

bool contains(const Prefix6& outer, const std::array<uint32_t, 4>& addr) {
    for (int w = 0; w < 4; ++w) {
        int bits = std::clamp(outer.len - 32 * w, 0, 32);
        uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
        if ((addr[w] & mask) != outer.addr[w]) return false;
    }
    return true;
}

// The address ids of one field of an IPv6 run (ClassifierId): the own id of every prefix in `used` and of
// ::/0 into `own`, the block (base, mask) of every prefix of `used` into `block`; false when the root's block
// would need more than 32 bits.
bool assign_ids(std::vector<Prefix6> prefixes, std::vector<std::pair<Prefix6, uint32_t>>& own,
                std::map<Prefix6, std::pair<uint32_t, uint32_t>>& block) {
    prefixes.emplace_back();  // ::/0
    std::sort(prefixes.begin(), prefixes.end());
    prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
    // Sorted by address, then length: a preorder of the trie (a prefix before the prefixes inside it).
    size_t n = prefixes.size();
    std::vector<std::vector<size_t>> children(n);
    std::vector<size_t> path;  // the prefixes that contain the current one, the longest last
    for (size_t i = 0; i < n; ++i) {
        while (!path.empty() && !contains(prefixes[path.back()], prefixes[i].addr)) path.pop_back();
        if (!path.empty()) children[path.back()].push_back(i);
        path.push_back(i);
    }
    std::vector<uint64_t> size(n);
    for (size_t i = n; i-- > 0;) {
        uint64_t inside = 1;
        for (size_t c : children[i]) inside += size[c];
        uint64_t s = 1;
        while (s < inside) s <<= 1;
        if (s > (uint64_t(1) << 32)) return false;
        size[i] = s;
    }
    std::vector<uint64_t> base(n);
    for (size_t i = 0; i < n; ++i) {
        std::stable_sort(children[i].begin(), children[i].end(),
                         [&](size_t x, size_t y) { return size[x] > size[y]; });
        uint64_t next = base[i];
        for (size_t c : children[i]) base[c] = next, next += size[c];
        own.emplace_back(prefixes[i], static_cast<uint32_t>(next));
        block[prefixes[i]] = {static_cast<uint32_t>(base[i]), ~static_cast<uint32_t>(size[i] - 1)};
    }
    return true;
}

// The boxes of a run's rules: IPv4's as they are; IPv6's with their addresses as blocks of address ids,
// whose prefixes go to `ids` (as run 0). False, with `error`, when the ids would need more than 32 bits.
bool boxes_of(const std::vector<ClassifierRule>& run, std::vector<bpft_cls_rule>& boxes,
              std::vector<ClassifierId>& ids, std::string& error) {
    boxes.reserve(run.size());
    for (const ClassifierRule& r : run) boxes.push_back(r.box);
    if (run.empty() || run.front().family != ir::Family::ipv6) return true;
    for (uint8_t field = 0; field < 2; ++field) {
        std::vector<Prefix6> used;
        used.reserve(run.size());
        for (const ClassifierRule& r : run) used.push_back(field == 0 ? r.src6 : r.dst6);
        std::vector<std::pair<Prefix6, uint32_t>> own;
        std::map<Prefix6, std::pair<uint32_t, uint32_t>> block;
        if (!assign_ids(std::move(used), own, block))
            return error = std::string("its IPv6 ") + (field == 0 ? "source" : "destination") +
                           " prefixes nest too deeply for 32-bit address ids",
                   false;
        for (auto& [prefix, id] : own) ids.push_back({0, field, prefix, id});
        for (size_t i = 0; i < run.size(); ++i) {
            auto [value, mask] = block.at(field == 0 ? run[i].src6 : run[i].dst6);
            (field == 0 ? boxes[i].src : boxes[i].dst) = value;
            (field == 0 ? boxes[i].src_mask : boxes[i].dst_mask) = mask;
        }
    }
    return true;
}

}  // namespace

namespace {

// The trees of one run (its roots 0 to 2 * BPFT_CLS_TREES - 1, its rules 0 to run.size() - 1), or nullopt
// with `error`.
std::optional<ClassifierTrees> build_run(const std::vector<bpft_cls_rule>& run, std::string& error) {
    ClassifierTrees out;
    out.nodes.resize(2 * BPFT_CLS_TREES);
    for (bpft_cls_node& root : out.nodes) root = {BPFT_CLS_LEAF, 0, 0, 0, 0, 0};  // empty until built
    out.rules = run;
    out.run_rules.emplace_back(0, static_cast<uint32_t>(run.size()));
    std::vector<Box> boxes[2];  // whole headers (ports), truncated ones (every rule's ports widened)
    for (bool ports : {true, false}) {
        boxes[ports].reserve(run.size());
        for (const bpft_cls_rule& r : run) boxes[ports].push_back(box_of(r, ports));
    }
    const Region whole{{0, 0, 0, 0, 0}, {32, 32, 8, 16, 16}};
    // The run's share of the budget, less what its rules and roots take anyway.
    uint32_t n = static_cast<uint32_t>(run.size());
    size_t max_bytes = n * (classifier_bytes_per_rule - rule_bytes);
    bool built = false;
    for (bool leaf_only : {false, true}) {  // a short run that cannot be cut well is one leaf per tree
        out.nodes.resize(2 * BPFT_CLS_TREES), out.leaves.clear();
        built = true;
        for (bool ports : {true, false}) {
            Builder builder(out, boxes[ports], max_bytes, leaf_only);
            std::vector<std::vector<uint32_t>> groups = separate(boxes[ports], 0, n);
            for (size_t tree = 0; tree < BPFT_CLS_TREES && built; ++tree) {
                uint32_t root = static_cast<uint32_t>((ports ? 0 : 1) * BPFT_CLS_TREES + tree);
                out.nodes[root] = {BPFT_CLS_LEAF, 0, 0, 0, 0, 0};
                if (tree < groups.size())
                    built = builder.build(root, std::move(groups[tree]), whole, 0, error);
            }
        }
        if (built || n > BPFT_CLS_LEAF_MAX) break;
    }
    if (!built) return std::nullopt;
    return out;
}

// Appends one run's trees (build_run's) to `out` as run `index`, with `rules` (the run's, with the
// verdicts they have here): roots into their slots, the other nodes, leaves and rules after what is there.
void append_run(ClassifierTrees& out, size_t index, const ClassifierTrees& one,
                const std::vector<bpft_cls_rule>& rules) {
    constexpr uint32_t roots = 2 * BPFT_CLS_TREES;
    uint32_t node0 = static_cast<uint32_t>(out.nodes.size()),
             leaf0 = static_cast<uint32_t>(out.leaves.size()),
             rule0 = static_cast<uint32_t>(out.rules.size());
    auto relocated = [&](bpft_cls_node n) {
        n.base = n.field == BPFT_CLS_LEAF ? n.base + leaf0 : n.base - roots + node0;
        return n;
    };
    for (uint32_t r = 0; r < roots; ++r) out.nodes[index * roots + r] = relocated(one.nodes[r]);
    out.nodes.reserve(out.nodes.size() + one.nodes.size() - roots);
    for (size_t i = roots; i < one.nodes.size(); ++i) out.nodes.push_back(relocated(one.nodes[i]));
    out.leaves.reserve(out.leaves.size() + one.leaves.size());
    for (uint32_t id : one.leaves) out.leaves.push_back(id + rule0);
    out.rules.insert(out.rules.end(), rules.begin(), rules.end());
    out.run_rules.emplace_back(rule0, static_cast<uint32_t>(out.rules.size()));
}

}  // namespace

ClassifierCache::Entry ClassifierCache::get(const std::vector<bpft_cls_rule>& run,
                                            const std::function<Entry()>& build) {
    std::string key(run.size() * sizeof(bpft_cls_rule), '\0');
    for (size_t i = 0; i < run.size(); ++i) {
        bpft_cls_rule r = run[i];
        r.verdict = 0, r.pad = 0;
        std::memcpy(key.data() + i * sizeof r, &r, sizeof r);
    }
    std::promise<Entry> promise;
    std::shared_future<Entry> future;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto [it, inserted] = entries_.try_emplace(std::move(key));
        if (inserted)
            it->second = promise.get_future().share(), ++builds_;
        else
            future = it->second;
    }
    if (future.valid()) return future.get();
    Entry e = build();
    promise.set_value(e);
    return e;
}

std::optional<ClassifierTrees> build_classifier(const std::vector<std::vector<ClassifierRule>>& runs,
                                                std::string& error, size_t* failed, ClassifierCache* cache) {
    ClassifierTrees out;
    out.nodes.resize(2 * BPFT_CLS_TREES * runs.size());
    for (size_t run = 0; run < runs.size(); ++run) {
        if (!runs[run].empty()) out.family = runs[run].front().family;
        std::vector<bpft_cls_rule> boxes;
        std::vector<ClassifierId> ids;
        ClassifierCache::Entry e;
        if (boxes_of(runs[run], boxes, ids, e.error)) {
            auto build = [&] {
                ClassifierCache::Entry built;
                if (std::optional<ClassifierTrees> one = build_run(boxes, built.error))
                    built.trees = std::make_shared<const ClassifierTrees>(std::move(*one));
                return built;
            };
            e = cache ? cache->get(boxes, build) : build();
        }
        if (!e.trees) {
            error = e.error;
            if (failed) *failed = run;
            return std::nullopt;
        }
        append_run(out, run, *e.trees, boxes);
        for (ClassifierId& id : ids) id.run = static_cast<uint32_t>(run), out.ids.push_back(id);
    }
    return out;
}

std::optional<ClassifierTrees> build_classifier(const ir::Program& program, const Layout& layout,
                                                std::string& error, ClassifierCache* cache) {
    std::vector<std::vector<ClassifierRule>> runs;
    for (const ClassifierRun& cr : layout.runs) {
        const ir::Table* table = program.find(cr.table);
        const ir::Chain* chain = table ? table->find(cr.chain) : nullptr;
        if (!chain || cr.first + cr.count > static_cast<int>(chain->rules.size()))
            return error = "classifier run in " + cr.table + " " + cr.chain + " is not in the program",
                   std::nullopt;
        std::vector<ClassifierRule>& rules = runs.emplace_back();
        for (int i = cr.first; i < cr.first + cr.count; ++i) {
            int gid = layout.gid(cr.table, cr.chain, i);
            std::optional<ClassifierRule> r =
                classifier_rule(chain->rules[i], static_cast<uint32_t>(gid), program.family);
            if (!r || gid < 0)
                return error = "rule " + std::to_string(i + 1) + " of " + cr.chain + " cannot be classified",
                       std::nullopt;
            rules.push_back(*r);
        }
    }
    size_t failed = 0;
    std::optional<ClassifierTrees> trees = build_classifier(runs, error, &failed, cache);
    if (!trees && failed < layout.runs.size()) {
        const ClassifierRun& cr = layout.runs[failed];
        error = "rules " + std::to_string(cr.first + 1) + " to " + std::to_string(cr.first + cr.count) +
                " of " + cr.table + " " + cr.chain + ": " + error;
    }
    return trees;
}

uint32_t address_id(const ClassifierTrees& trees, uint32_t run, int field,
                    const std::array<uint32_t, 4>& addr) {
    const ClassifierId* best = nullptr;
    for (const ClassifierId& id : trees.ids)
        if (id.run == run && id.field == field && contains(id.prefix, addr) &&
            (!best || id.prefix.len > best->prefix.len))
            best = &id;
    return best ? best->id : 0;
}

uint32_t classify(const ClassifierTrees& trees, uint32_t run, const ClassifierPacket& packet) {
    ClassifierPacket p = packet;
    if (trees.family == ir::Family::ipv6)
        p.saddr = address_id(trees, run, 0, p.saddr6), p.daddr = address_id(trees, run, 1, p.daddr6);
    const uint32_t key[fields] = {p.saddr, p.daddr, p.proto, p.sport, p.dport};
    uint32_t best = UINT32_MAX, verdict = 0;
    for (uint32_t tree = 0; tree < BPFT_CLS_TREES; ++tree) {
        uint32_t index = (2 * run + (is_short(p) ? 1 : 0)) * BPFT_CLS_TREES + tree;
        for (int depth = 0; depth <= BPFT_CLS_DEPTH && index < trees.nodes.size(); ++depth) {
            const bpft_cls_node& n = trees.nodes[index];
            if (n.field != BPFT_CLS_LEAF) {
                if (n.field >= fields) return 0;
                index = n.base + ((key[n.field] >> n.shift) & ones(n.bits));
                continue;
            }
            for (uint32_t i = 0; i < n.count && i < BPFT_CLS_LEAF_MAX; ++i) {
                uint32_t id = trees.leaves[n.base + i];
                if (id >= best) break;
                if (uint32_t v = classifier_rule_verdict(trees.rules[id], p)) {
                    best = id, verdict = v;
                    break;
                }
            }
            break;
        }
    }
    return verdict;
}

}  // namespace bpftables::codegen
