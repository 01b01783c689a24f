// What the commit and the reads of the running generation share (runtime/generation.hpp).
#include "runtime/generation.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <unordered_map>
#include <utility>

#include "compiler/ipsets.hpp"
#include "compiler/iptables_lower.hpp"
#include "compiler/nft/lower.hpp"
#include "loader/loaded_program.hpp"

namespace bpftables::runtime {
namespace {

std::string errno_text() {
    return std::strerror(errno);
}

int num_cpus() {
    int n = libbpf_num_possible_cpus();
    return n > 0 ? n : 1;
}

}  // namespace

std::optional<ProgMaps> prog_maps(int prog_fd, std::string& error) {
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0)
        return error = "cannot read the program's info: " + errno_text(), std::nullopt;
    std::map<std::string, Fd> maps = loader::maps_by_name(prog_fd);
    auto take = [&](const char* name) {
        auto it = maps.find(name);
        return it == maps.end() ? Fd() : std::move(it->second);
    };
    // The interface-name map is only bound when a rule matches -i / -o; the counter map only when some rule
    // can be reached (not when a base chain bpftables does not compile hands every packet to the kernel first).
    return ProgMaps{take("bpft_counters"), take("bpft_ifnames"), take("bpft_local"), take("bpft_stats")};
}

bool fill_ifnames(int map_fd, std::string& error) {
    struct if_nameindex* names = if_nameindex();
    if (!names) return error = "cannot list the interfaces: " + errno_text(), false;
    bool ok = true;
    for (struct if_nameindex* n = names; n->if_index != 0; ++n) {
        char value[16] = {};
        std::strncpy(value, n->if_name, sizeof value - 1);
        uint32_t key = n->if_index;
        if (bpf_map_update_elem(map_fd, &key, value, BPF_ANY) != 0) {
            error =
                std::string("cannot fill the interface-name map with ") + n->if_name + ": " + errno_text();
            ok = false;
            break;
        }
    }
    if_freenameindex(names);
    return ok;
}

uint32_t prog_id(int prog_fd) {
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    return bpf_obj_get_info_by_fd(prog_fd, &info, &len) == 0 ? info.id : 0;
}

std::vector<bpft_counter> read_counters(int map_fd, size_t gids) {
    std::vector<bpft_counter> sums(gids), per_cpu(num_cpus());
    // In batches (one system call per 4,096 rules instead of one per rule: 100,000 lookups were ~0.1 s of
    // a restore); one by one where the kernel cannot.
    std::vector<uint32_t> keys(4096);
    std::vector<bpft_counter> values(keys.size() * per_cpu.size());
    uint32_t next = 0, done = 0;
    bool batched = true;
    for (void* in = nullptr; done < gids;) {
        uint32_t count = static_cast<uint32_t>(std::min<size_t>(keys.size(), gids - done));
        LIBBPF_OPTS(bpf_map_batch_opts, opts);
        int rc = bpf_map_lookup_batch(map_fd, in, &next, keys.data(), values.data(), &count, &opts);
        if (rc != 0 && errno != ENOENT) {
            batched = false;
            break;
        }
        for (uint32_t i = 0; i < count; ++i)
            if (keys[i] < gids)
                for (size_t cpu = 0; cpu < per_cpu.size(); ++cpu) {
                    const bpft_counter& c = values[i * per_cpu.size() + cpu];
                    sums[keys[i]].packets += c.packets, sums[keys[i]].bytes += c.bytes;
                }
        done += count;
        in = &next;
        if (rc != 0 || count == 0) break;  // ENOENT: the map's end
    }
    if (batched) return sums;
    std::fill(sums.begin(), sums.end(), bpft_counter{});
    for (uint32_t gid = 0; gid < gids; ++gid) {
        if (bpf_map_lookup_elem(map_fd, &gid, per_cpu.data()) != 0) continue;
        for (const bpft_counter& c : per_cpu) sums[gid].packets += c.packets, sums[gid].bytes += c.bytes;
    }
    return sums;
}

bool write_counters(int map_fd, const std::vector<bpft_counter>& values, std::string& error) {
    std::vector<bpft_counter> per_cpu(num_cpus());
    for (uint32_t gid = 0; gid < values.size(); ++gid) {
        if (values[gid].packets == 0 && values[gid].bytes == 0) continue;
        std::fill(per_cpu.begin(), per_cpu.end(), bpft_counter{});
        per_cpu[0] = values[gid];
        if (bpf_map_update_elem(map_fd, &gid, per_cpu.data(), BPF_ANY) != 0)
            return error = "cannot write the counters: " + errno_text(), false;
    }
    return true;
}

bool clear_counters(int map_fd, const std::vector<uint32_t>& gids, std::string& error) {
    std::vector<bpft_counter> zero(num_cpus());
    for (uint32_t gid : gids)
        if (bpf_map_update_elem(map_fd, &gid, zero.data(), BPF_ANY) != 0)
            return error = "cannot zero the counters: " + errno_text(), false;
    return true;
}

std::string gid_key(const std::string& table, const std::string& chain, int rule, const std::string& text) {
    return table + "\t" + (rule == 0 ? ":" + chain : text);
}

std::optional<ir::Program> program_with(const State& state, const std::vector<bpft_counter>* values,
                                        std::string& error) {
    Diagnostics diags;
    std::optional<std::vector<ir::IpSet>> sets =
        compiler::read_ipsets(state.ipsets, "<committed sets>", diags);
    if (!sets) return error = "the committed sets do not parse:\n" + diags.str(), std::nullopt;
    // Not checked against the sets: rules of tables in the kernel's netfilter may name the kernel's ipsets.
    std::optional<ir::Program> program =
        is_nft(state) ? parse_and_lower_nft(state.ruleset, "<committed>", diags, true)
                      : parse_and_lower(state.ruleset, "<committed>", diags, {.family = state_family()});
    if (!program) return error = "the committed ruleset does not parse:\n" + diags.str(), std::nullopt;
    program->sets = std::move(*sets);
    if (values) set_counted(*program, state.gids, *values);
    return program;
}

void set_counted(ir::Program& program, const std::vector<codegen::GidInfo>& gids,
                 const std::vector<bpft_counter>& values) {
    for_each_counted(program, gids, [&](ir::Counters& c, int gid) {
        c = gid >= 0 && static_cast<size_t>(gid) < values.size()
                ? ir::Counters{values[gid].packets, values[gid].bytes}
                : ir::Counters{};
    });
}

bool same_rule(const ir::Rule& a, const ir::Rule& b) {
    return a.matches == b.matches && a.target == b.target;
}

void carry_counters(const ir::Program& previous, ir::Program& target) {
    std::map<std::string, std::vector<ir::Counters>> by_key;
    for (const ir::Table& t : previous.tables)
        for (const ir::Chain& c : t.chains) {
            for (const ir::Rule& r : c.rules)
                by_key[gid_key(t.name, c.name, 1, "-A " + c.name + " " + ir::rule_spec(r))].push_back(
                    r.counters.value_or(ir::Counters{}));
            if (c.builtin()) by_key[gid_key(t.name, c.name, 0, "")].push_back(c.policy_counters);
        }
    std::map<std::string, size_t> used;
    for (ir::Table& t : target.tables)
        for (ir::Chain& c : t.chains) {
            auto take = [&](const std::string& key) {
                auto it = by_key.find(key);
                size_t n = used[key]++;
                return it != by_key.end() && n < it->second.size() ? it->second[n] : ir::Counters{};
            };
            for (ir::Rule& r : c.rules)
                r.counters = take(gid_key(t.name, c.name, 1, "-A " + c.name + " " + ir::rule_spec(r)));
            if (c.builtin()) c.policy_counters = take(gid_key(t.name, c.name, 0, ""));
        }
}

namespace {

// Whether gid `g` is a rule or a policy (not the kernel's handoff of a base chain bpftables does not compile).
bool counted(const codegen::GidInfo& g) {
    return g.rule != 0 || g.text.rfind(':', 0) == 0;
}

}  // namespace

std::vector<bpft_counter> carried(const ir::Program& previous,
                                  const std::vector<codegen::GidInfo>& previous_gids,
                                  const std::vector<bpft_counter>& values,
                                  const std::vector<codegen::GidInfo>& layout) {
    // The counters of every rule and policy of `previous` by key (gid_key), in the chains' order: the
    // compiled ones from `values` through the gids (which list them in that order, with their text), the
    // others as `previous` has them.
    std::unordered_map<std::string, std::vector<ir::Counters>> by_key;
    for (size_t i = 0; i < previous_gids.size(); ++i) {
        const codegen::GidInfo& g = previous_gids[i];
        if (!counted(g)) continue;
        by_key[gid_key(g.table, g.chain, g.rule, g.text)].push_back(
            i < values.size() ? ir::Counters{values[i].packets, values[i].bytes} : ir::Counters{});
    }
    for (const ir::Table& t : previous.tables)
        for (const ir::Chain& c : t.chains) {
            if (compiler::is_compiled_chain(t, c)) continue;
            for (const ir::Rule& r : c.rules)
                by_key[gid_key(t.name, c.name, 1, "-A " + c.name + " " + ir::rule_spec(r))].push_back(
                    r.counters.value_or(ir::Counters{}));
            if (c.builtin()) by_key[gid_key(t.name, c.name, 0, "")].push_back(c.policy_counters);
        }
    // The n-th rule (or policy) of the layout with a key takes the n-th counters of that key.
    std::unordered_map<std::string, size_t> used;
    std::vector<bpft_counter> out(layout.size());
    for (size_t i = 0; i < layout.size(); ++i) {
        const codegen::GidInfo& g = layout[i];
        if (!counted(g)) continue;
        std::string key = gid_key(g.table, g.chain, g.rule, g.text);
        auto it = by_key.find(key);
        size_t n = used[key]++;
        if (it != by_key.end() && n < it->second.size())
            out[i] = {it->second[n].packets, it->second[n].bytes};
    }
    return out;
}

bool injected(const std::string& point, size_t count) {
    const char* v = std::getenv("BPFTABLES_TEST_FAIL");
    if (!v) return false;
    std::string s = v;
    if (s == "crash:" + point) std::_Exit(137);
    if (s == "pause:" + point) {
        static bool paused = false;
        if (!paused) std::this_thread::sleep_for(std::chrono::seconds(3));
        paused = true;
        return false;
    }
    if (point == "swap") return s.rfind("swap:", 0) == 0 && count >= std::stoul(s.substr(5));
    return s == point;
}

}  // namespace bpftables::runtime
