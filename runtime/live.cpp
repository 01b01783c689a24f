#include "runtime/live.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <future>
#include <map>
#include <thread>

#include "codegen/build.hpp"
#include "compiler/ipsets.hpp"
#include "compiler/iptables_lower.hpp"
#include "compiler/ir_print.hpp"
#include "compiler/nft_lower.hpp"
#include "runtime/loaded_program.hpp"
#include "runtime/netfilter.hpp"

namespace bpftables::runtime {
namespace {

// tcx attach types (kernel 6.6); Debian 12's uapi headers predate them.
constexpr int kTcxIngress = 46;
constexpr int kTcxEgress = 47;

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string errno_text() {
    return std::strerror(errno);
}

// The key that identifies a rule across generations: table, chain and rule text (policies: the chain), with
// the occurrence number for identical rules in one chain.
std::string gid_key(const std::string& table, const std::string& chain, int rule, const std::string& text) {
    return table + "\t" + (rule == 0 ? ":" + chain : text);
}

std::map<std::string, std::vector<int>> index_gids(const std::vector<codegen::GidInfo>& gids) {
    std::map<std::string, std::vector<int>> index;
    for (size_t i = 0; i < gids.size(); ++i)
        index[gid_key(gids[i].table, gids[i].chain, gids[i].rule, gids[i].text)].push_back(
            static_cast<int>(i));
    return index;
}

// Calls f(counters&, gid) for every compiled rule and policy of `program`, gid -1 when the layout lacks it.
template <typename F>
void for_each_counted(ir::Program& program, const std::vector<codegen::GidInfo>& gids, F f) {
    auto index = index_gids(gids);
    std::map<std::string, size_t> seen;
    auto lookup = [&](const std::string& key) {
        auto it = index.find(key);
        size_t n = seen[key]++;
        return it != index.end() && n < it->second.size() ? it->second[n] : -1;
    };
    for (ir::Table& t : program.tables) {
        for (ir::Chain& c : t.chains) {
            if (!compiler::is_compiled_chain(t, c)) continue;
            for (ir::Rule& r : c.rules) {
                if (!r.counters) r.counters = ir::Counters{};
                f(*r.counters, lookup(gid_key(t.name, c.name, 1, "-A " + c.name + " " + ir::rule_spec(r))));
            }
            if (c.builtin()) f(c.policy_counters, lookup(gid_key(t.name, c.name, 0, "")));
        }
    }
}

struct ProgMaps {
    Fd counters, ifnames, local;
};

std::optional<ProgMaps> prog_maps(int prog_fd, std::string& error) {
    uint32_t ids[64];
    bpf_prog_info info{};
    info.nr_map_ids = 64;
    info.map_ids = reinterpret_cast<uint64_t>(ids);
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0)
        return error = "cannot read the program's info: " + errno_text(), std::nullopt;
    ProgMaps maps;
    for (uint32_t i = 0; i < std::min<uint32_t>(info.nr_map_ids, 64); ++i) {
        Fd fd(bpf_map_get_fd_by_id(ids[i]));
        bpf_map_info m{};
        uint32_t mlen = sizeof m;
        if (!fd || bpf_obj_get_info_by_fd(fd.get(), &m, &mlen) != 0) continue;
        if (std::strcmp(m.name, "bpft_counters") == 0)
            maps.counters = std::move(fd);
        else if (std::strcmp(m.name, "bpft_ifnames") == 0)
            maps.ifnames = std::move(fd);
        else if (std::strcmp(m.name, "bpft_local") == 0)
            maps.local = std::move(fd);
    }
    // The interface-name map is only bound when a rule matches -i / -o; the counter map only when some rule
    // can be reached (not when an nft nat chain at prerouting hands every packet to the kernel first).
    return maps;
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

int num_cpus() {
    int n = libbpf_num_possible_cpus();
    return n > 0 ? n : 1;
}

std::vector<bpft_counter> read_counters(int map_fd, size_t gids) {
    std::vector<bpft_counter> sums(gids), per_cpu(num_cpus());
    for (uint32_t gid = 0; gid < gids; ++gid) {
        if (bpf_map_lookup_elem(map_fd, &gid, per_cpu.data()) != 0) continue;
        for (const bpft_counter& c : per_cpu) sums[gid].packets += c.packets, sums[gid].bytes += c.bytes;
    }
    return sums;
}

// Writes `values` (per gid) on CPU 0 and zero on the others.
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

// One hook's program of a generation being built.
struct HookProgram {
    codegen::Hook hook;
    LoadedProgram loaded;
    ProgMaps maps;
};

Fd create_link(int prog_fd, const Attachment& a, codegen::Hook hook, std::string& error) {
    int fd = -1;
    if (hook == codegen::Hook::xdp) {
        LIBBPF_OPTS(bpf_link_create_opts, opts);
        opts.flags = a.mode == "generic" ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
        fd = bpf_link_create(prog_fd, a.ifindex, BPF_XDP, &opts);
    } else {
        int type = hook == codegen::Hook::tc_ingress ? kTcxIngress : kTcxEgress;
        fd = bpf_link_create(prog_fd, a.ifindex, static_cast<bpf_attach_type>(type), nullptr);
    }
    if (fd < 0)
        error = std::string("cannot attach to ") + a.iface + " at " + codegen::hook_name(hook) + ": " +
                std::strerror(errno);
    return Fd(fd);
}

// Fails on purpose at the point a test names (BPFTABLES_TEST_FAIL=swap:N fails before the N+1th swap,
// BPFTABLES_TEST_FAIL=state fails before the state is written; BPFTABLES_TEST_FAIL=crash:state exits at once
// there, without rolling back, as a killed process would; BPFTABLES_TEST_FAIL=pause:read waits 3 s once after
// bpftables-save or -L read the state, so that a test can commit in between). Used by the tests only.
bool injected(const std::string& point, size_t count = 0) {
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

uint32_t prog_id(int prog_fd) {
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    return bpf_obj_get_info_by_fd(prog_fd, &info, &len) == 0 ? info.id : 0;
}

}  // namespace

uint32_t link_prog_id(int link_fd) {
    bpf_link_info info{};
    uint32_t len = sizeof info;
    return bpf_obj_get_info_by_fd(link_fd, &info, &len) == 0 ? info.prog_id : 0;
}

uint32_t pinned_prog_id(const std::string& path) {
    Fd fd = open_pin(path);
    return fd ? prog_id(fd.get()) : 0;
}

const char* accept_all_ruleset() {
    return "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
}

std::vector<bpft_counter> live_counters(const State& state) {
    std::vector<bpft_counter> sums(state.gids.size());
    for (codegen::Hook h : state.hooks) {
        Fd fd = open_pin(gen_pin(state.generation, "counters", h));
        if (!fd) continue;
        std::vector<bpft_counter> c = read_counters(fd.get(), sums.size());
        for (size_t i = 0; i < sums.size(); ++i) sums[i].packets += c[i].packets, sums[i].bytes += c[i].bytes;
    }
    for (const auto& [gid, c] : state.offsets)
        if (gid >= 0 && static_cast<size_t>(gid) < sums.size())
            sums[gid].packets += c.packets, sums[gid].bytes += c.bytes;
    return sums;
}

bool zero_counters(State& state, std::string& error) {
    std::vector<bpft_counter> zero(num_cpus());
    for (codegen::Hook h : state.hooks) {
        Fd fd = open_pin(gen_pin(state.generation, "counters", h));
        if (!fd) continue;  // the program has no counter map: no rule of it can be reached
        for (uint32_t gid = 0; gid < state.gids.size(); ++gid)
            if (bpf_map_update_elem(fd.get(), &gid, zero.data(), BPF_ANY) != 0)
                return error = "cannot zero the counters: " + errno_text(), false;
    }
    if (state.offsets.empty()) return true;
    state.offsets.clear();
    return write_state(state, error);
}

bool refresh_ifnames(const State& state, std::string& error) {
    for (codegen::Hook h : state.hooks) {
        Fd fd = open_pin(gen_pin(state.generation, "ifnames", h));
        if (fd && !fill_ifnames(fd.get(), error)) return false;
        Fd local = open_pin(gen_pin(state.generation, "local", h));
        if (local && !fill_local_addresses(local.get(), error)) return false;
    }
    return true;
}

namespace {

// The committed ruleset with `values` (per gid of the state's layout) as its counters.
std::optional<ir::Program> program_with(const State& state, const std::vector<bpft_counter>* values,
                                        std::string& error) {
    Diagnostics diags;
    std::optional<std::vector<ir::IpSet>> sets =
        compiler::read_ipsets(state.ipsets, "<committed sets>", diags);
    if (!sets) return error = "the committed sets do not parse:\n" + diags.str(), std::nullopt;
    // Not checked against the sets: rules of tables in the kernel's netfilter may name the kernel's ipsets.
    std::optional<ir::Program> program = state.format == "nft"
                                             ? parse_and_lower_nft(state.ruleset, "<committed>", diags, true)
                                             : parse_and_lower(state.ruleset, "<committed>", diags);
    if (!program) return error = "the committed ruleset does not parse:\n" + diags.str(), std::nullopt;
    program->sets = std::move(*sets);
    if (values)
        for_each_counted(*program, state.gids, [&](ir::Counters& c, int gid) {
            c = gid >= 0 && static_cast<size_t>(gid) < values->size()
                    ? ir::Counters{(*values)[gid].packets, (*values)[gid].bytes}
                    : ir::Counters{};
        });
    return program;
}

// Counters (per gid of `layout`) of the rules of `target` that also exist in `previous` (same table, chain
// and rule text), taken from there.
std::vector<bpft_counter> carried(const ir::Program& previous, ir::Program target,
                                  const std::vector<codegen::GidInfo>& layout) {
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
    std::vector<bpft_counter> out(layout.size());
    for_each_counted(target, layout, [&](ir::Counters& c, int gid) {
        if (gid >= 0) out[gid] = {c.packets, c.bytes};
    });
    return out;
}

}  // namespace

std::optional<ir::Program> committed_program(const State& state, bool with_counters, std::string& error) {
    if (!with_counters) return program_with(state, nullptr, error);
    std::vector<bpft_counter> live = live_counters(state);
    return program_with(state, &live, error);
}

std::optional<LiveView> read_live(bool with_counters, std::string& error) {
    for (int attempt = 0; attempt < 10; ++attempt) {
        std::optional<State> state = read_state(error);
        if (!state) return std::nullopt;
        injected("read");
        std::optional<ir::Program> program = committed_program(*state, with_counters, error);
        if (!program) return std::nullopt;
        // A commit (or -Z) that landed meanwhile may have removed the maps read, or changed the offsets.
        std::optional<State> again = read_state(error);
        if (!again) return std::nullopt;
        if (serialize(*again) == serialize(*state)) return LiveView{std::move(*state), std::move(*program)};
    }
    return error = "the state kept changing while it was read; try again", std::nullopt;
}

namespace {

bool commit_generation(const State& old, CommitRequest request, CommitReport& report, std::string& error) {
    std::vector<codegen::Hook> hooks;
    for (codegen::Hook h : {codegen::Hook::xdp, codegen::Hook::tc_ingress, codegen::Hook::tc_egress})
        for (const Attachment& a : request.attachments)
            for (codegen::Hook ah : attachment_hooks(a))
                if (ah == h && std::find(hooks.begin(), hooks.end(), h) == hooks.end()) hooks.push_back(h);
    // With nothing attached, the ruleset is still verified in the kernel (at XDP) before it is committed.
    std::vector<codegen::Hook> build_hooks = hooks.empty() ? std::vector{codegen::Hook::xdp} : hooks;

    State next;
    next.generation = old.generation + 1;
    next.attachments = request.attachments;
    next.hooks = hooks;
    next.ruleset = request.nft_text.empty() ? ir::to_save(request.program) : request.nft_text;
    next.format = request.nft_text.empty() ? "" : "nft";
    next.ipsets = ir::to_ipset_save(request.program.sets);
    // The kernel's copy of an iptables ruleset is this restore's backend's (or stays the committed one's).
    // Under iptables-nft a short L4 header is no hotdrop: the programs hand such packets to that copy.
    if (next.format.empty())
        next.backend = !request.backend.empty() ? request.backend : old.format.empty() ? old.backend : "";
    codegen::Options options = codegen::options_from_environment();
    if (next.format.empty()) options.semantics = codegen::semantics_of(next.backend);

    // 1. Build (the hooks in parallel: clang runs as a child process), then load and verify every program of
    // the new generation.
    struct Built {
        ir::Program program;
        Diagnostics diags;
        std::optional<codegen::Build> build;
    };
    auto t = Clock::now();
    std::vector<std::future<Built>> builds;
    for (codegen::Hook h : build_hooks)
        builds.push_back(std::async(std::launch::async, [&request, &options, h] {
            Built b{request.program, {}, std::nullopt};
            b.build = codegen::build(b.program, h, b.diags, options);
            return b;
        }));
    std::vector<Built> built_all;
    for (auto& f : builds) built_all.push_back(f.get());
    report.build_s += since(t);
    std::vector<HookProgram> programs;
    for (size_t i = 0; i < build_hooks.size(); ++i) {
        codegen::Hook h = build_hooks[i];
        ir::Program& copy = built_all[i].program;
        std::optional<codegen::Build>& built = built_all[i].build;
        if (!built)
            return error = std::string("the ruleset does not compile for ") + codegen::hook_name(h) + ":\n" +
                           built_all[i].diags.str(),
                   false;
        t = Clock::now();
        bpft_config config{};
        config.chain_mode = BPFT_CHAIN_ROUTE;
        std::optional<LoadedProgram> loaded =
            LoadedProgram::load(built->object.object, h, config, copy, built->c.layout, error);
        report.load_s += since(t);
        if (!loaded)
            return error = std::string("loading the ") + codegen::hook_name(h) + " program: " + error, false;
        std::optional<ProgMaps> maps = prog_maps(loaded->prog_fd(), error);
        if (!maps) return false;
        if (maps->ifnames && !fill_ifnames(maps->ifnames.get(), error)) return false;
        if (programs.empty())
            next.gids = built->c.layout.gids;
        else if (built->c.layout.gids.size() != next.gids.size())
            return error = "internal: the hooks' programs number their rules differently", false;
        programs.push_back({h, std::move(*loaded), std::move(*maps)});
    }
    report.gids = next.gids.size();
    if (!netfilter_apply(request.backend, request.program, request.netfilter_tables, true, error))
        return false;
    // nft rulesets go whole to the kernel's nf_tables (netfilter.hpp: nft_tables): the
    // tables of the old copy and of the new one are replaced in one `nft -f` transaction.
    std::string old_kernel, new_kernel;
    std::vector<std::pair<std::string, std::string>> kernel_tables;
    if (old.format == "nft") old_kernel = old.ruleset, kernel_tables = nft_tables(old.ruleset);
    if (!request.nft_text.empty()) {
        new_kernel = request.nft_text;
        for (auto& t : nft_tables(request.nft_text))
            if (std::find(kernel_tables.begin(), kernel_tables.end(), t) == kernel_tables.end())
                kernel_tables.push_back(t);
    }
    if (!kernel_tables.empty() && !nft_apply(kernel_tables, new_kernel, true, error)) return false;
    if (request.test_only) {
        report.notes.push_back("--test: built, loaded and verified; nothing changed");
        return true;
    }
    if (!ensure_state_dir(error)) return false;

    // 2. Counters: the input's (-c), or those of the surviving rules of the running generation.
    std::vector<bpft_counter> before = live_counters(old), initial;
    if (request.counters_from_input) {
        ir::Program source = request.program;
        initial.resize(next.gids.size());
        for_each_counted(source, next.gids, [&](ir::Counters& c, int gid) {
            if (gid >= 0) initial[gid] = {c.packets, c.bytes};
        });
    } else {
        std::optional<ir::Program> previous = program_with(old, &before, error);
        if (!previous) return false;
        initial = carried(*previous, request.program, next.gids);
    }
    auto counted = std::find_if(programs.begin(), programs.end(),
                                [](const HookProgram& p) { return static_cast<bool>(p.maps.counters); });
    if (counted != programs.end() && !hooks.empty() &&
        !write_counters(counted->maps.counters.get(), initial, error))
        return false;

    // 3. Pin the new generation (removed again on any failure below).
    std::vector<std::string> new_pins;
    auto unpin_new = [&] {
        for (const std::string& p : new_pins) unpin(p);
    };
    if (!hooks.empty()) {
        for (HookProgram& p : programs) {
            for (auto [what, fd] :
                 {std::pair{"prog", p.loaded.prog_fd()}, std::pair{"counters", p.maps.counters.get()},
                  std::pair{"ifnames", p.maps.ifnames.get()}, std::pair{"local", p.maps.local.get()}}) {
                if (fd < 0) continue;  // no interface-name map
                std::string path = gen_pin(next.generation, what, p.hook);
                unpin(path);  // a leftover of an interrupted command
                if (!pin(fd, path, error)) return unpin_new(), false;
                new_pins.push_back(path);
            }
        }
    }

    // 4. The tables of the kernel's netfilter, then every link: update the existing ones in place, create the
    // new ones.
    std::optional<ir::Program> old_program;
    // With another backend than the committed copy's, that copy leaves the old backend's tables (emptied).
    std::vector<std::string> stale;
    auto put_back_old_copy = [&] {  // on failure: the old copy where it was
        std::string ignored;
        if (!old_program) return;
        netfilter_apply(request.backend, *old_program, request.netfilter_tables, false, ignored);
        netfilter_apply(old.backend, *old_program, stale, false, ignored);
    };
    if (!request.netfilter_tables.empty()) {
        old_program = program_with(old, nullptr, error);
        if (!old_program) return unpin_new(), false;
        if (old.format.empty() && !old.backend.empty() && old.backend != request.backend)
            for (const ir::Table& t : old_program->tables) stale.push_back(t.name);
        if (!netfilter_apply(request.backend, request.program, request.netfilter_tables, false, error))
            return unpin_new(), false;
        report.notes.push_back("applied to the kernel's netfilter (" + request.backend + ")");
        if (!netfilter_apply(old.backend, ir::Program{}, stale, false, error))
            return put_back_old_copy(), unpin_new(), false;
        if (!stale.empty()) report.notes.push_back("emptied the old copy's tables (" + old.backend + ")");
    }
    if (!kernel_tables.empty()) {
        if (!nft_apply(kernel_tables, new_kernel, false, error))
            return put_back_old_copy(), unpin_new(), false;
        report.notes.push_back(new_kernel.empty()
                                   ? "removed the nft ruleset's copy from the kernel's nf_tables"
                                   : "applied the nft ruleset to the kernel's nf_tables (it has "
                                     "chains that bpftables hands to the kernel)");
    }
    t = Clock::now();
    struct Swapped {
        Fd link;
        int old_prog;  // owned by old_progs, or by `running`
        Fd running;    // the program of an interrupted command that the link ran
    };
    std::map<codegen::Hook, Fd> old_progs;
    for (codegen::Hook h : old.hooks) old_progs[h] = open_pin(gen_pin(old.generation, "prog", h));
    std::vector<Swapped> swapped;
    std::vector<std::string> created;
    auto rollback = [&] {
        for (auto it = swapped.rbegin(); it != swapped.rend(); ++it) {
            LIBBPF_OPTS(bpf_link_update_opts, o);
            bpf_link_update(it->link.get(), it->old_prog, &o);
        }
        for (const std::string& p : created) unpin(p);  // the last reference: the link goes
        unpin_new();
        put_back_old_copy();
        std::string ignored;
        if (!kernel_tables.empty()) nft_apply(kernel_tables, old_kernel, false, ignored);
    };
    size_t count = 0;
    for (const Attachment& a : request.attachments) {
        for (codegen::Hook h : attachment_hooks(a)) {
            auto prog = std::find_if(programs.begin(), programs.end(),
                                     [&](const HookProgram& p) { return p.hook == h; });
            int new_fd = prog->loaded.prog_fd();
            std::string path = link_pin(a.ifindex, h);
            if (injected("swap", count)) {
                error = "injected failure before swapping " + a.iface + " at " + codegen::hook_name(h);
                return rollback(), false;
            }
            Fd link = open_pin(path);
            if (link) {
                // The program the link runs: the committed generation's, unless a command was killed between
                // its swaps (or its first links) and its commit; then that one is replaced (and restored on a
                // rollback) instead.
                auto old_prog = old_progs.find(h);
                int expected = old_prog != old_progs.end() && old_prog->second ? old_prog->second.get() : -1;
                Fd running;
                uint32_t running_id = link_prog_id(link.get());
                if (running_id != 0 && (expected < 0 || running_id != prog_id(expected))) {
                    running = Fd(bpf_prog_get_fd_by_id(running_id));
                    if (running) {
                        expected = running.get();
                        report.notes.push_back(a.iface + " at " + codegen::hook_name(h) +
                                               " ran a program of an interrupted command; replaced");
                    }
                }
                if (expected < 0) {
                    error = "the running program of " + std::string(codegen::hook_name(h)) + " is not pinned";
                    return rollback(), false;
                }
                LIBBPF_OPTS(bpf_link_update_opts, o);
                o.flags = BPF_F_REPLACE;
                o.old_prog_fd = expected;
                if (bpf_link_update(link.get(), new_fd, &o) != 0) {
                    error =
                        "cannot swap the program on " + a.iface + " at " + codegen::hook_name(h) + ": " +
                        errno_text() +
                        (errno == ENOLINK ? " (the interface vanished: `bpftables detach " + a.iface + "`)"
                                          : "");
                    return rollback(), false;
                }
                swapped.push_back({std::move(link), expected, std::move(running)});
            } else {
                Fd created_link = create_link(new_fd, a, h, error);
                if (!created_link) return rollback(), false;
                if (!pin(created_link.get(), path, error)) return rollback(), false;
                created.push_back(path);
                report.notes.push_back("attached to " + a.iface + " at " + codegen::hook_name(h));
            }
            ++count;
        }
    }
    report.swap_s = since(t);
    if (!request.counters_from_input && !old.hooks.empty()) {
        // What the old programs counted after their counters were copied, up to the swap, is kept as offsets
        // (writing the live per-CPU map now would race with the new programs). A program that was running
        // when its link was swapped finishes within microseconds.
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        std::vector<bpft_counter> after = live_counters(old), delta(after.size());
        bool any = false;
        for (size_t i = 0; i < after.size() && i < before.size(); ++i) {
            delta[i] = {after[i].packets - before[i].packets, after[i].bytes - before[i].bytes};
            any = any || delta[i].packets != 0;
        }
        std::string ignored;
        if (any)
            if (std::optional<ir::Program> previous = program_with(old, &delta, ignored)) {
                std::vector<bpft_counter> add = carried(*previous, request.program, next.gids);
                for (size_t i = 0; i < add.size(); ++i)
                    if (add[i].packets || add[i].bytes) next.offsets[static_cast<int>(i)] = add[i];
            }
    }
    if (injected("state")) {
        error = "injected failure before writing the state";
        return rollback(), false;
    }
    if (!write_state(next, error)) return rollback(), false;

    // 5. The old generation goes: links of attachments that were removed, then its pins.
    for (const Attachment& a : old.attachments) {
        for (codegen::Hook h : attachment_hooks(a)) {
            bool kept = false;
            for (const Attachment& b : request.attachments)
                for (codegen::Hook bh : attachment_hooks(b))
                    kept = kept || (b.ifindex == a.ifindex && bh == h);
            if (!kept) {
                unpin(link_pin(a.ifindex, h));
                report.notes.push_back("detached from " + a.iface + " at " + codegen::hook_name(h));
            }
        }
    }
    for (codegen::Hook h : old.hooks)
        for (const char* what : {"prog", "counters", "ifnames", "local"})
            unpin(gen_pin(old.generation, what, h));

    report.notes.push_back("generation " + std::to_string(next.generation) +
                           " committed: " + std::to_string(next.gids.size()) + " rules and policies on " +
                           std::to_string(request.attachments.size()) + " interface(s)");
    return true;
}

}  // namespace

bool commit(const State& old, CommitRequest request, CommitReport& report, std::string& error) {
    bool test_only = request.test_only;
    if (commit_generation(old, std::move(request), report, error)) return true;
    // A first commit that failed leaves no empty state directory (or leftover pins) behind.
    std::string ignored;
    if (old.generation == 0 && !test_only) remove_all(ignored);
    return false;
}

std::vector<Attachment> current_attachments(const std::vector<Attachment>& attachments,
                                            std::vector<std::string>& warnings) {
    std::vector<Attachment> out;
    for (Attachment a : attachments) {
        char name[IF_NAMESIZE] = {};
        if (if_indextoname(static_cast<unsigned>(a.ifindex), name)) {
            if (a.iface != name) {
                warnings.push_back(a.iface + " (ifindex " + std::to_string(a.ifindex) + ") was renamed " +
                                   name + "; it stays attached");
                a.iface = name;
            }
            out.push_back(a);
            continue;
        }
        unsigned now = if_nametoindex(a.iface.c_str());
        if (now != 0) {
            warnings.push_back(a.iface + " vanished (ifindex " + std::to_string(a.ifindex) +
                               ") and exists again (ifindex " + std::to_string(now) + "): attached again");
            a.ifindex = static_cast<int>(now);
            out.push_back(a);
        } else {
            warnings.push_back(a.iface + " (ifindex " + std::to_string(a.ifindex) +
                               ") vanished: its attachment is dropped (`bpftables attach " + a.iface +
                               "` when it is back)");
        }
    }
    return out;
}

}  // namespace bpftables::runtime
