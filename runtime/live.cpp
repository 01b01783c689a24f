// The live transaction (its steps in order: runtime/commit.hpp) and the reads that commands make on the
// running generation.
#include "runtime/live.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "codegen/direct_emitter.hpp"
#include "loader/loaded_program.hpp"
#include "runtime/commit.hpp"
#include "runtime/elements.hpp"
#include "runtime/netfilter.hpp"

namespace bpftables::runtime {
namespace {

// The commit, step by step; on failure the rollback undoes, last first, what the steps before did.
bool commit_generation(const State& old, CommitRequest request, CommitReport& report, std::string& error) {
    Transaction tx{old, std::move(request), report, error};
    // Runs a step and records its wall time under `name`.
    auto step = [&report](const char* name, auto&& run) {
        auto t = std::chrono::steady_clock::now();
        bool ok = run();
        report.steps.emplace_back(
            name, std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count());
        return ok;
    };
    plan(tx);
    // 1. Build, load and verify every program of the new generation, and check the kernel's copy.
    if (!step("build+load", [&] { return build_programs(tx); }) ||
        !step("check copy", [&] { return check_kernel_copy(tx); }))
        return false;
    if (tx.request.test_only) {
        report.notes.emplace_back("--test: built, loaded and verified; nothing changed");
        return true;
    }
    if (!ensure_state_dir(error)) return false;
    // 2. Counters: the input's (-c), or those of the surviving rules of the running generation.
    if (!step("counters", [&] { return set_counters(tx); })) return false;
    Rollback rollback;
    // 3. Pin the new generation; 4. the tables of the kernel's netfilter, then every link: update the existing
    // ones in place, create the new ones; the counts of the old programs up to the swap; the state.
    if (!step("pin", [&] { return pin_generation(tx, rollback); }) ||
        !step("kernel copy", [&] { return apply_kernel_copy(tx, rollback); }) ||
        !step("swap", [&] { return swap_links(tx, rollback); }))
        return false;
    step("carry counters", [&] { return carry_counters(tx), true; });
    if (!step("state", [&] { return write_new_state(tx); })) return false;
    rollback.commit();
    // 5. The old generation goes: links of attachments that were removed, then its pins.
    step("retire", [&] { return retire_old_generation(tx), true; });
    return true;
}

}  // namespace

std::optional<Codegen> parse_codegen(const std::string& name) {
    if (name == "c") return Codegen::c;
    if (name == "direct") return Codegen::direct;
    return std::nullopt;
}

uint32_t link_prog_id(int link_fd) {
    bpf_link_info info{};
    uint32_t len = sizeof info;
    return bpf_obj_get_info_by_fd(link_fd, &info, &len) == 0 ? info.prog_id : 0;
}

uint32_t pinned_prog_id(const std::string& path) {
    Fd fd = open_pin(path);
    return fd ? prog_id(fd.get()) : 0;
}

bool runs_committed_rules(const State& state, codegen::Hook hook) {
    Fd array = open_pin(gen_pin(state.generation, "progs", hook));
    if (!array) return true;
    uint32_t slot = codegen::kDirectSlotRules, running = 0;
    bpf_map_lookup_elem(array.get(), &slot, &running);
    return running == pinned_prog_id(gen_pin(state.generation, "rules", hook));
}

bool runs_committed(const State& state, codegen::Hook hook, uint32_t link_prog) {
    // A device with an nf_tables ingress chain: the pass program is what the commit put there.
    if (link_prog != 0 && link_prog == pinned_prog_id(dispatch_pin("pass", hook))) return true;
    Fd array = open_pin(dispatch_pin("progs", hook));
    uint32_t slot = family_slot(state_family()), running = 0;
    return link_prog == pinned_prog_id(dispatch_pin("prog", hook)) && array &&
           bpf_map_lookup_elem(array.get(), &slot, &running) == 0 &&
           running == pinned_prog_id(gen_pin(state.generation, "prog", hook)) &&
           runs_committed_rules(state, hook);
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

std::vector<InterfaceStats> live_stats(const State& state) {
    std::vector<InterfaceStats> out;
    std::vector<uint64_t> per_cpu(static_cast<size_t>(std::max(libbpf_num_possible_cpus(), 1)));
    for (codegen::Hook h : state.hooks) {
        Fd fd = open_pin(gen_pin(state.generation, "stats", h));
        if (!fd) continue;
        std::map<uint32_t, InterfaceStats> by_ifindex;
        bpft_stat_key key{}, next{};
        for (bool first = true; bpf_map_get_next_key(fd.get(), first ? nullptr : &key, &next) == 0;
             first = false) {
            key = next;
            if (key.stat >= BPFT_STAT_MAX || bpf_map_lookup_elem(fd.get(), &key, per_cpu.data()) != 0)
                continue;
            InterfaceStats& s = by_ifindex[key.ifindex];
            s.ifindex = key.ifindex, s.hook = h;
            for (uint64_t n : per_cpu) s.packets[key.stat] += n;
        }
        for (auto& [ifindex, s] : by_ifindex) out.push_back(s);
    }
    return out;
}

bool zero_counters(State& state, const std::string& table, const std::string& chain, std::string& error) {
    auto chosen = [&](const codegen::GidInfo& g) {
        return (table.empty() || g.table == table) && (chain.empty() || g.chain == chain);
    };
    std::vector<uint32_t> gids;
    for (size_t gid = 0; gid < state.gids.size(); ++gid)
        if (chosen(state.gids[gid])) gids.push_back(static_cast<uint32_t>(gid));
    for (codegen::Hook h : state.hooks) {
        Fd fd = open_pin(gen_pin(state.generation, "counters", h));
        if (!fd) continue;  // the program has no counter map: no rule of it can be reached
        if (!clear_counters(fd.get(), gids, error)) return false;
    }
    if (!is_nft(state) && state.backend) {
        std::optional<ir::Program> committed = program_with(state, nullptr, error);
        if (!committed || !zero_copy_counters(*state.backend, *committed, table, chain, error)) return false;
    }
    if (is_nft(state) && !nft_zero_copy_counters(state.ruleset, table, chain, error)) return false;
    size_t before = state.offsets.size();
    std::erase_if(state.offsets, [&](const auto& o) {
        return o.first >= 0 && static_cast<size_t>(o.first) < state.gids.size() &&
               chosen(state.gids[o.first]);
    });
    return state.offsets.size() == before || write_state(state, error);
}

bool refresh_ifnames(const State& state, std::string& error) {
    for (codegen::Hook h : state.hooks) {
        Fd fd = open_pin(gen_pin(state.generation, "ifnames", h));
        if (fd && !fill_ifnames(fd.get(), error)) return false;
        Fd local = open_pin(gen_pin(state.generation, "local", h));
        if (local && !loader::fill_local_addresses(local.get(), error)) return false;
    }
    return true;
}

std::optional<ir::Program> committed_program(const State& state, bool with_counters, std::string& error) {
    if (!with_counters) return program_with(state, nullptr, error);
    std::vector<bpft_counter> live = live_counters(state);
    std::optional<ir::Program> program = program_with(state, &live, error);
    // Counted once: the programs' counts and the kernel's copy's (what it judged).
    if (program && !is_nft(state) && state.backend)
        add_copy_counters(*state.backend, *program, state.decided_mark);
    return program;
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

bool commit(const State& old, CommitRequest request, CommitReport& report, std::string& error) {
    if (request.elements) {  // set elements only: the running maps change in place where they can
        InPlace in_place = commit_elements(old, request, report, error);
        if (in_place != InPlace::rebuild) return in_place == InPlace::done;
    }
    bool test_only = request.test_only;
    if (commit_generation(old, std::move(request), report, error)) return true;
    // A first commit that failed leaves no empty state directory (or leftover pins) behind.
    std::string ignored;
    if (old.generation == 0 && !test_only) remove_all(ignored);
    return false;
}

bool remove_everything(const State& state, std::string& error) {
    // The interfaces go for both families: IPv6's state (its copy, its pins) first.
    if (state_family() == ir::Family::ipv4) {
        select_family(ir::Family::ipv6);
        std::optional<State> ipv6 = read_state(error);
        bool removed = ipv6 && (ipv6->generation == 0 || remove_everything(*ipv6, error));
        select_family(ir::Family::ipv4);
        if (!removed) return false;
    }
    if (is_nft(state) && !state.ruleset.empty()) {
        std::vector<std::pair<std::string, std::string>> tables = nft_tables(state.ruleset);
        tables.emplace_back("ip", kDecidedTable);
        if (!nft_apply(tables, "", false, error)) return false;
    } else if (state.backend && !state.ruleset.empty()) {
        // A restore put every table there (the accept-all ruleset of an attach alone, none: no backend).
        std::optional<ir::Program> program = program_with(state, nullptr, error);
        if (!program) return false;
        std::vector<std::string> tables, sets;
        for (const ir::Table& t : program->tables) tables.push_back(t.name);
        for (const ir::IpSet& s : program->sets) sets.push_back(s.name);
        if (!netfilter_apply(state.backend, ir::Program{}, tables, 0, false, error)) return false;
        if (!ipset_destroy(sets, error)) return false;
    }
    return remove_all(error);
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
