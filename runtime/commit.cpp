// The steps of a commit and its rollback (runtime/commit.hpp).
#include "runtime/commit.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <thread>

#include "bpf/entry_objects.hpp"
#include "codegen/build.hpp"
#include "compiler/hooks.hpp"
#include "compiler/ir_print.hpp"
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

Fd create_link(int prog_fd, const Attachment& a, codegen::Hook hook, std::string& error) {
    int fd = -1;
    if (hook == codegen::Hook::xdp) {
        LIBBPF_OPTS(bpf_link_create_opts, opts);
        opts.flags = a.mode == XdpMode::generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
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

// The committed ruleset as a program: the state's text parsed on first use (null, with `error`, when it does
// not parse).
const ir::Program* committed_ir(Transaction& tx, std::string& error) {
    if (!tx.committed)
        tx.committed =
            tx.request.committed ? std::move(tx.request.committed) : program_with(tx.old, nullptr, error);
    return tx.committed ? &*tx.committed : nullptr;
}

// On failure: the old copy in the kernel's netfilter where it was.
void put_back_old_copy(const Transaction& tx) {
    std::string ignored;
    if (tx.copy_change) {
        netfilter_apply_line(*tx.request.backend, tx.copy_change->table, tx.copy_change->undo, ignored);
        return;
    }
    if (!tx.old_program) return;
    netfilter_apply(tx.request.backend, *tx.old_program, tx.request.netfilter_tables, tx.old.decided_mark,
                    false, ignored);
    netfilter_apply(tx.old.backend, *tx.old_program, tx.stale, tx.old.decided_mark, false, ignored);
}

// One hook's program as built: the direct back end's instructions, or the C back end's object and the
// program its passes rewrote (its sets and classifier runs are loaded from it).
struct HookBuild {
    codegen::Hook hook;
    std::optional<codegen::DirectProgram> direct;
    std::optional<codegen::Build> c;
    ir::Program program;
    Diagnostics diags;
    std::string refused;  // why the direct back end did not make it (the C back end did)
};

HookBuild build_c(const Transaction& tx, codegen::Hook hook, std::string refused) {
    HookBuild b{hook, std::nullopt, std::nullopt, tx.request.program, {}, std::move(refused)};
    b.c = codegen::build(b.program, hook, b.diags, tx.options);
    return b;
}

// The request's program through the direct back end's passes, once for every hook (codegen::prepare_direct):
// at 100,000 rules each hook's copy of the program and run of the passes was a tenth of a restore.
struct Prepared {
    ir::Program program;
    Diagnostics diags;
    bool ok = false;
};

// The direct back end's program, or (Codegen::c, or automatic where direct refuses the ruleset) the C one's.
HookBuild build_hook(const Transaction& tx, codegen::Hook hook, const Prepared& prepared) {
    if (tx.codegen == Codegen::c) return build_c(tx, hook, "");
    HookBuild b{hook, std::nullopt, std::nullopt, {}, prepared.diags, {}};
    if (prepared.ok) b.direct = codegen::emit_direct(prepared.program, hook, b.diags, tx.options);
    if (b.direct || tx.codegen == Codegen::direct) return b;
    std::string why = b.diags.all().empty() ? "failed" : b.diags.format(b.diags.all().front());
    return build_c(tx, hook, "does not make it: " + why.substr(0, why.find('\n')));
}

// The running generation's entry program at `hook` when the new direct program's would be the same one (its
// key in the state), else none.
Fd reusable_entry(const Transaction& tx, codegen::Hook hook, const std::string& key) {
    auto old = tx.old.entries.find(hook);
    if (old == tx.old.entries.end() || old->second != key || tx.hooks.empty()) return Fd();
    return open_pin(gen_pin(tx.old.generation, "prog", hook));
}

// The running generation's exit program at `hook` (in the rules program's own prog array when its entry
// program was kept, else in the entry's), none when it has none.
Fd running_exit(const Transaction& tx, codegen::Hook hook) {
    Fd array = open_pin(gen_pin(tx.old.generation, "rprogs", hook));
    if (!array) array = open_pin(gen_pin(tx.old.generation, "progs", hook));
    uint32_t slot = codegen::kDirectSlotExit, id = 0;
    if (!array || bpf_map_lookup_elem(array.get(), &slot, &id) != 0 || id == 0) return Fd();
    return Fd(bpf_prog_get_fd_by_id(id));
}

// The rules numbered as the running generation's (same tables, chains, positions and texts, in the same
// order): each count stays where it is, so the running exit programs and counters maps can be kept.
bool same_gids(const std::vector<codegen::GidInfo>& a, const std::vector<codegen::GidInfo>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
        return x.table == y.table && x.chain == y.chain && x.rule == y.rule && x.text == y.text;
    });
}

// The configuration every hook's program is loaded with.
bpft_config hook_config(const Transaction& tx) {
    bpft_config config{};
    config.chain_mode = BPFT_CHAIN_ROUTE;
    config.decided_mark = tx.next.decided_mark;  // the copy's first rules: netfilter.hpp
    return config;
}

// A hook's program loaded and verified, and what that tells the commit.
struct HookLoad {
    std::optional<loader::LoadedProgram> loaded;
    std::string error, note;
    std::string key;  // a direct program's entry key (loader::LoadedProgram::entry_key)
    double seconds = 0;
};

// Loads and verifies a hook's program, with the configuration of the running generation's programs. A direct
// program keeps the running entry program where it can (then only its rules program is swapped).
HookLoad load_hook(const Transaction& tx, const HookBuild& built) {
    HookLoad l;
    const char* hook = codegen::hook_name(built.hook);
    if (!built.direct && !built.c) {
        l.error = std::string("the ruleset does not compile for ") + hook + ":\n" + built.diags.str();
        return l;
    }
    auto t = Clock::now();
    bpft_config config = hook_config(tx);
    // The running program's statistics at this hook go on in the new one's (bpftables stats counts from the
    // attachment on, not from the last commit).
    Fd stats = tx.hooks.empty() ? Fd() : open_pin(gen_pin(tx.old.generation, "stats", built.hook));
    if (built.direct) {
        l.key = loader::LoadedProgram::entry_key(*built.direct, built.hook, config);
        if (Fd running = reusable_entry(tx, built.hook, l.key)) {
            Fd exit = tx.keep_counters ? running_exit(tx, built.hook) : Fd();
            Fd counters = exit ? open_pin(gen_pin(tx.old.generation, "counters", built.hook)) : Fd();
            l.loaded = loader::LoadedProgram::load_direct(*built.direct, built.hook, config, l.error,
                                                          running.get(), -1, {exit.get(), counters.get()});
            l.note = std::string(hook) +
                     (!l.loaded ? ": cannot keep the running entry program: " +
                                      l.error.substr(0, l.error.find('\n'))
                                : std::string(": kept the running entry program, swapped the rules program") +
                                      (l.loaded->keeps_exit() ? "; kept its exit program and counters" : ""));
        }
        if (!l.loaded)
            l.loaded = loader::LoadedProgram::load_direct(*built.direct, built.hook, config, l.error, -1,
                                                          stats.get());
    } else {
        l.loaded = loader::LoadedProgram::load(built.c->object.object, built.hook, config, built.program,
                                               built.c->c.layout, l.error, stats.get());
    }
    l.seconds = since(t);
    if (!l.loaded) l.error = std::string("loading the ") + hook + " program: " + l.error;
    return l;
}

// A hook's load as the commit keeps it: its note and entry key, its time; `error` when it failed.
std::optional<loader::LoadedProgram> take_load(Transaction& tx, HookLoad& l, codegen::Hook hook) {
    tx.report.load_s += l.seconds;
    if (!l.note.empty()) tx.report.notes.push_back(l.note);
    if (!l.loaded) return tx.error = l.error, std::nullopt;
    if (!l.key.empty() && !tx.hooks.empty()) tx.next.entries[hook] = l.key;
    return std::move(l.loaded);
}

// Puts program `prog` (none: -1) into `slot` of prog array `array`.
bool put_slot(int array, uint32_t slot, const Fd& prog) {
    int fd = prog.get();
    return fd >= 0 ? bpf_map_update_elem(array, &slot, &fd, BPF_ANY) == 0
                   : bpf_map_delete_elem(array, &slot) == 0 || errno == ENOENT;
}

// Replaces the program in `slot` of prog array `array` (one atomic update) and records the old one for the
// rollback.
bool swap_slot(Transaction& tx, int array, uint32_t slot, int prog, const char* what) {
    uint32_t old_id = 0;
    Fd old(bpf_map_lookup_elem(array, &slot, &old_id) == 0 ? bpf_prog_get_fd_by_id(old_id) : -1);
    if (old_id != 0 && old_id == prog_id(prog)) return true;  // a kept entry program
    if (bpf_map_update_elem(array, &slot, &prog, BPF_ANY) != 0)
        return tx.error = std::string("cannot swap the program at ") + what + ": " + errno_text(), false;
    tx.slots.push_back({array, slot, std::move(old)});
    return true;
}

// What a command killed between its swaps and its commit left running at `hook` is replaced: -v says so.
void note_interrupted(Transaction& tx, codegen::Hook hook) {
    for (const Attachment& a : tx.request.attachments)
        for (codegen::Hook h : attachment_hooks(a))
            if (h == hook)
                tx.report.notes.push_back(a.iface + " at " + codegen::hook_name(h) +
                                          " ran a program of an interrupted command; replaced");
}

// The hook's dispatcher: the pinned one, or the embedded object loaded and pinned (the pins go on a rollback).
// Its pass program too (pinned apart: a dispatcher pinned by an older bpftables has none).
std::optional<Dispatcher> open_dispatcher(Transaction& tx, codegen::Hook hook) {
    std::string prog_path = dispatch_pin("prog", hook), progs_path = dispatch_pin("progs", hook),
                pass_path = dispatch_pin("pass", hook);
    Dispatcher d{open_pin(prog_path), open_pin(progs_path), open_pin(pass_path)};
    if (d.prog && d.progs && d.pass) return d;
    const bpf::EmbeddedObject& embedded = bpf::dispatch_objects[static_cast<int>(hook)];
    std::unique_ptr<bpf_object, void (*)(bpf_object*)> obj(
        bpf_object__open_mem(embedded.data, embedded.size, nullptr), bpf_object__close);
    bpf_program* prog = obj ? bpf_object__find_program_by_name(obj.get(), "bpftables_dispatch") : nullptr;
    bpf_program* pass = obj ? bpf_object__find_program_by_name(obj.get(), "bpftables_pass") : nullptr;
    bpf_map* progs = obj ? bpf_object__find_map_by_name(obj.get(), "bpft_families") : nullptr;
    if (!prog || !pass || !progs || bpf_object__load(obj.get()) != 0)
        return tx.error = std::string("cannot load the dispatcher at ") + codegen::hook_name(hook) + ": " +
                          errno_text(),
               std::nullopt;
    std::vector<std::pair<int, std::string>> pins;
    if (!d.prog || !d.progs) {
        d.prog = Fd(dup(bpf_program__fd(prog)));
        d.progs = Fd(dup(bpf_map__fd(progs)));
        pins = {{d.progs.get(), progs_path}, {d.prog.get(), prog_path}};
    }
    d.pass = Fd(dup(bpf_program__fd(pass)));
    pins.emplace_back(d.pass.get(), pass_path);
    for (const auto& [fd, path] : pins) {
        unpin(path);  // a leftover of an interrupted command
        if (!pin(fd, path, tx.error)) return std::nullopt;
        tx.created.push_back(path);
    }
    return d;
}

// The embedded dispatcher object's pass program, loaded alone (for `bpftables refresh`).
Fd load_pass(codegen::Hook hook, std::string& error) {
    const bpf::EmbeddedObject& embedded = bpf::dispatch_objects[static_cast<int>(hook)];
    std::unique_ptr<bpf_object, void (*)(bpf_object*)> obj(
        bpf_object__open_mem(embedded.data, embedded.size, nullptr), bpf_object__close);
    bpf_program* pass = obj ? bpf_object__find_program_by_name(obj.get(), "bpftables_pass") : nullptr;
    if (!pass || bpf_object__load(obj.get()) != 0)
        return error = std::string("cannot load the pass program at ") + codegen::hook_name(hook) + ": " +
                       errno_text(),
               Fd();
    return Fd(dup(bpf_program__fd(pass)));
}

}  // namespace

Rollback::~Rollback() {
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) (*it)();
}

void plan(Transaction& tx) {
    const State& old = tx.old;
    CommitRequest& request = tx.request;
    State& next = tx.next;
    for (codegen::Hook h : {codegen::Hook::xdp, codegen::Hook::tc_ingress, codegen::Hook::tc_egress})
        for (const Attachment& a : request.attachments)
            for (codegen::Hook ah : attachment_hooks(a))
                if (ah == h && std::find(tx.hooks.begin(), tx.hooks.end(), h) == tx.hooks.end())
                    tx.hooks.push_back(h);
    next.generation = old.generation + 1;
    next.attachments = request.attachments;
    next.hooks = tx.hooks;
    next.ruleset = request.nft_text.empty() ? ir::to_save(request.program) : request.nft_text;
    next.format = request.nft_text.empty() ? compiler::InputFormat::iptables : compiler::InputFormat::nft;
    next.ipsets = ir::to_ipset_save(request.program.sets);
    next.decided_mark = request.decided_mark.value_or(old.decided_mark);
    // The kernel's copy of an iptables ruleset is this restore's backend's (or stays the committed one's).
    // Under iptables-nft a short L4 header is no hotdrop: the programs hand such packets to that copy.
    if (!is_nft(next))
        next.backend = request.backend ? request.backend : !is_nft(old) ? old.backend : std::nullopt;
    tx.options = codegen::options_from_environment();
    tx.codegen = request.codegen;
    if (const char* env = std::getenv("BPFTABLES_CODEGEN"); env && tx.codegen == Codegen::automatic)
        tx.codegen = parse_codegen(env).value_or(Codegen::automatic);
    if (!is_nft(next)) tx.options.semantics = next.backend.value_or(compiler::Backend::legacy);
}

// Whether every hook can keep the running generation's counters (and exit programs): each hook's program
// direct and its entry program kept, the rules numbered as the running ones, the same hooks, no -c.
template <typename Made>
bool keeps_counters(const Transaction& tx, const std::vector<Made>& made) {
    if (tx.request.counters_from_input || tx.hooks.empty() || tx.hooks != tx.old.hooks || tx.keep_failed)
        return false;
    for (const Made& m : made) {
        const auto& direct = m.built.direct;
        if (!direct || !same_gids(direct->layout.gids, tx.old.gids)) return false;
        bpft_config config = hook_config(tx);
        auto old = tx.old.entries.find(m.built.hook);
        if (old == tx.old.entries.end() ||
            old->second != loader::LoadedProgram::entry_key(*direct, m.built.hook, config))
            return false;
    }
    return true;
}

bool build_programs(Transaction& tx) {
    // With nothing attached, the ruleset is still verified in the kernel (at XDP) before it is committed.
    std::vector<codegen::Hook> build_hooks = tx.hooks.empty() ? std::vector{codegen::Hook::xdp} : tx.hooks;
    // Each hook's program built in a thread of its own (clang runs as a child process), then loaded one by
    // one: loading in parallel too gained little on 2 busy cores and raised the peak memory of the README
    // example's restore from 19 to 29-30 MiB (libbpf reads the kernel's BTF, 5.5 MB, once per object).
    struct Made {
        HookBuild built;
        double build_s = 0;
    };
    auto t0 = Clock::now();
    Prepared prepared;
    if (tx.codegen != Codegen::c) {
        prepared.program = tx.request.program;
        prepared.ok = codegen::prepare_direct(prepared.program, prepared.diags, tx.options);
    }
    double prepare_s = since(t0);
    std::vector<std::future<Made>> futures;
    futures.reserve(build_hooks.size());
    for (codegen::Hook h : build_hooks)
        futures.push_back(std::async(std::launch::async, [&tx, &prepared, prepare_s, h] {
            auto t = Clock::now();
            Made m{build_hook(tx, h, prepared), prepare_s};
            m.build_s += since(t);
            return m;
        }));
    std::vector<Made> made;
    made.reserve(futures.size());
    for (auto& f : futures) made.push_back(f.get());
    std::string& error = tx.error;
    tx.keep_counters = keeps_counters(tx, made);
    for (Made& m : made) {
        HookBuild& built = m.built;
        codegen::Hook h = built.hook;
        tx.report.build_s = std::max(tx.report.build_s, m.build_s);
        HookLoad first = load_hook(tx, built);
        std::optional<loader::LoadedProgram> loaded = take_load(tx, first, h);
        if (!loaded && built.direct && tx.codegen == Codegen::automatic) {
            // What the verifier refuses of the direct back end's program (too many instructions) the C back
            // end may still make.
            built.refused = "the kernel refused its program: " + error.substr(0, error.find('\n'));
            auto t = Clock::now();
            built = build_c(tx, h, std::move(built.refused));
            tx.report.build_s += since(t);
            HookLoad again = load_hook(tx, built);
            loaded = take_load(tx, again, h);
        }
        if (!loaded) return false;
        if (tx.keep_counters && !loaded->keeps_exit()) {
            // A hook that could not keep its counters: none does (each count lives in one hook's map, the
            // carrying reads them all), so every hook loads again with its own.
            tx.report.notes.emplace_back("the running counters maps could not all be kept: loaded again");
            tx.keep_counters = false;
            tx.keep_failed = true;
            tx.programs.clear();
            tx.next.entries = {};
            return build_programs(tx);
        }
        if (!built.refused.empty())
            tx.report.notes.push_back(std::string(codegen::hook_name(h)) +
                                      ": built by the C back end (clang): the direct back end " +
                                      built.refused);
        std::optional<ProgMaps> maps = prog_maps(loaded->prog_fd(), error);
        if (!maps) return false;
        if (loaded->exit_fd() >= 0) {  // direct: the counters are the exit program's (a kept entry's are old)
            std::optional<ProgMaps> exit_maps = prog_maps(loaded->exit_fd(), error);
            if (!exit_maps) return false;
            maps->counters = std::move(exit_maps->counters);
        }
        if (maps->ifnames && !fill_ifnames(maps->ifnames.get(), error)) return false;
        const codegen::Layout& layout = built.direct ? built.direct->layout : built.c->c.layout;
        if (tx.programs.empty())
            tx.next.gids = layout.gids;
        else if (layout.gids.size() != tx.next.gids.size())
            return error = "internal: the hooks' programs number their rules differently", false;
        tx.programs.push_back({h, std::move(*loaded), std::move(*maps), layout.sets});
    }
    tx.report.gids = tx.next.gids.size();
    return true;
}

bool check_kernel_copy(Transaction& tx) {
    const CommitRequest& request = tx.request;
    // A restore of one table (iptables-legacy commits each table on its own), or of any tables under
    // iptables-nft (one transaction), changes all or nothing: apply_kernel_copy's failure then leaves the copy
    // as it was, and its check here would only run the restore twice (half of a single-rule command's copy
    // work, which is iptables-restore parsing the whole table).
    bool atomic = request.netfilter_tables.size() <= 1 || request.backend == compiler::Backend::nft;
    // One rule changed, or none, in the same backend's copy (a single-rule command, a small restore -n, the
    // same tables restored again): that rule alone goes (apply_kernel_copy), in one table, all or nothing.
    if (!request.netfilter_tables.empty() && request.backend && !is_nft(tx.old) &&
        tx.old.backend == request.backend && !request.counters_from_input &&
        tx.old.decided_mark == tx.next.decided_mark) {
        const ir::Program* committed = committed_ir(tx, tx.error);
        if (!committed) return false;
        tx.copy_change = copy_change(*request.backend, *committed, request.program, request.netfilter_tables,
                                     tx.next.decided_mark);
        atomic = atomic || tx.copy_change.has_value();
    }
    if ((!atomic || request.test_only) &&
        !netfilter_apply(request.backend, request.program, request.netfilter_tables, tx.next.decided_mark,
                         true, tx.error))
        return false;
    // nft rulesets go whole to the kernel's nf_tables (netfilter.hpp: nft_tables): the
    // tables of the old copy and of the new one are replaced in one `nft -f` transaction, with the handoff's
    // rules (nft_decided_rules) and its table.
    if (is_nft(tx.old)) {
        const ir::Program* committed = committed_ir(tx, tx.error);
        if (!committed) return false;
        tx.old_kernel = tx.old.ruleset + nft_decided_rules(*committed, tx.old.decided_mark);
        tx.kernel_tables = nft_tables(tx.old.ruleset);
    }
    if (is_nft(tx.old) || !request.nft_text.empty()) tx.kernel_tables.emplace_back("ip", kDecidedTable);
    if (!request.nft_text.empty()) {
        tx.new_kernel = request.nft_text + nft_decided_rules(request.program, tx.next.decided_mark);
        for (auto& t : nft_tables(request.nft_text))
            if (std::find(tx.kernel_tables.begin(), tx.kernel_tables.end(), t) == tx.kernel_tables.end())
                tx.kernel_tables.push_back(t);
    }
    return tx.kernel_tables.empty() || nft_apply(tx.kernel_tables, tx.new_kernel, true, tx.error);
}

bool set_counters(Transaction& tx) {
    // The input's (-c), or those of the surviving rules of the running generation: with the running counters
    // maps kept, they are already there (and the offsets with them).
    if (tx.keep_counters) return tx.next.offsets = tx.old.offsets, true;
    std::vector<bpft_counter> initial;
    tx.before = live_counters(tx.old);
    if (tx.request.counters_from_input) {
        ir::Program source = tx.request.program;
        initial.resize(tx.next.gids.size());
        for_each_counted(source, tx.next.gids, [&](ir::Counters& c, int gid) {
            if (gid >= 0) initial[gid] = {c.packets, c.bytes};
        });
    } else {
        const ir::Program* committed = committed_ir(tx, tx.error);
        if (!committed) return false;
        initial = carried(*committed, tx.old.gids, tx.before, tx.next.gids);
    }
    auto counted = std::find_if(tx.programs.begin(), tx.programs.end(),
                                [](const HookProgram& p) { return static_cast<bool>(p.maps.counters); });
    return counted == tx.programs.end() || tx.hooks.empty() ||
           write_counters(counted->maps.counters.get(), initial, tx.error);
}

bool pin_generation(Transaction& tx, Rollback& rollback) {
    rollback.on_failure([&tx] {
        for (const std::string& p : tx.new_pins) unpin(p);
    });
    if (tx.hooks.empty()) return true;
    for (HookProgram& p : tx.programs) {
        for (auto [what, fd] :
             {std::pair{"prog", p.loaded.prog_fd()}, std::pair{"counters", p.maps.counters.get()},
              std::pair{"ifnames", p.maps.ifnames.get()}, std::pair{"local", p.maps.local.get()},
              std::pair{"stats", p.maps.stats.get()}, std::pair{"progs", p.loaded.entry_prog_array_fd()},
              std::pair{"rprogs", p.loaded.reuses_entry() ? p.loaded.prog_array_fd() : -1},
              std::pair{"rules", p.loaded.rules_fd()}}) {
            // No interface-name map; the C back end's program (no prog array); a rules program's own prog
            // array (holding its exit program) apart from the entry's only when the entry program was kept.
            if (fd < 0) continue;
            std::string path = gen_pin(tx.next.generation, what, p.hook);
            unpin(path);  // a leftover of an interrupted command
            if (!pin(fd, path, tx.error)) return false;
            tx.new_pins.push_back(path);
        }
        // The maps of its sets, which `add element` changes in place (runtime/elements.hpp).
        for (size_t i = 0; i < p.sets.size(); ++i) {
            int fd = p.loaded.set_map_fd(i);
            if (fd < 0) continue;
            std::string path = set_pin(tx.next.generation, tx.next.set_maps.size(), p.hook);
            unpin(path);
            if (!pin(fd, path, tx.error)) return false;
            tx.new_pins.push_back(path);
            tx.next.set_maps.emplace_back(p.hook, p.sets[i]);
        }
    }
    tx.next.set_maps_pinned = true;
    return true;
}

bool apply_kernel_copy(Transaction& tx, Rollback& rollback) {
    const State& old = tx.old;
    const CommitRequest& request = tx.request;
    std::string& error = tx.error;
    const ir::Program* committed = nullptr;
    if (!request.netfilter_tables.empty()) {
        committed = committed_ir(tx, error);
        if (!committed) return false;
    }
    if (tx.copy_change) {
        const std::string& line = tx.copy_change->line;
        if (!netfilter_apply_line(*request.backend, tx.copy_change->table, line, error)) return false;
        // "-R INPUT 500" of the line
        size_t chain_end = line.find(' ', 3),
               end = line.find(' ', chain_end == std::string::npos ? 0 : chain_end + 1);
        tx.report.notes.push_back(line.empty() ? "the kernel's netfilter copy is unchanged"
                                               : "applied one rule to the kernel's netfilter (" +
                                                     std::string(compiler::backend_name(*request.backend)) +
                                                     "): " + line.substr(0, end));
    } else if (committed) {
        // Counted once: the old copy's counters (what it judged) go back with it on failure, and carry over
        // to the rules that stay in the new copy; with -c the input's counters are the programs' in compiled
        // tables and the copy's in the others (all the copy's when no interface runs a program).
        tx.old_program = *committed;
        if (old.backend && !is_nft(old)) add_copy_counters(*old.backend, *tx.old_program, old.decided_mark);
        ir::Program copy = request.program;
        if (request.counters_from_input) {
            for (ir::Table& t : copy.tables)
                if (compiler::is_compiled_table(t.name) && !tx.hooks.empty())
                    for (ir::Chain& c : t.chains) {
                        for (ir::Rule& r : c.rules) r.counters.reset();
                        c.policy_counters = {};
                    }
        } else {
            carry_counters(*tx.old_program, copy);
        }
        if (!is_nft(old) && old.backend && old.backend != request.backend)
            for (const ir::Table& t : tx.old_program->tables) tx.stale.push_back(t.name);
        if (!netfilter_apply(request.backend, copy, request.netfilter_tables, tx.next.decided_mark, false,
                             error))
            return false;
        tx.report.notes.push_back("applied to the kernel's netfilter (" +
                                  std::string(compiler::backend_name(*request.backend)) + ")");
        if (!netfilter_apply(old.backend, ir::Program{}, tx.stale, 0, false, error))
            return put_back_old_copy(tx), false;
        if (!tx.stale.empty())
            tx.report.notes.push_back("emptied the old copy's tables (" +
                                      std::string(compiler::backend_name(*old.backend)) + ")");
    }
    if (!tx.kernel_tables.empty()) {
        if (!nft_apply(tx.kernel_tables, tx.new_kernel, false, error)) return put_back_old_copy(tx), false;
        tx.report.notes.emplace_back(tx.new_kernel.empty()
                                         ? "removed the nft ruleset's copy from the kernel's nf_tables"
                                         : "applied the nft ruleset to the kernel's nf_tables (it has "
                                           "chains that bpftables hands to the kernel)");
    }
    rollback.on_failure([&tx] {
        put_back_old_copy(tx);
        std::string ignored;
        if (!tx.kernel_tables.empty()) nft_apply(tx.kernel_tables, tx.old_kernel, false, ignored);
    });
    return true;
}

bool swap_links(Transaction& tx, Rollback& rollback) {
    std::string& error = tx.error;
    auto t = Clock::now();
    rollback.on_failure([&tx] {
        for (auto it = tx.swapped.rbegin(); it != tx.swapped.rend(); ++it) {
            LIBBPF_OPTS(bpf_link_update_opts, o);
            bpf_link_update(it->link.get(), it->old_prog, &o);
        }
        for (const std::string& p : tx.created) unpin(p);  // the last reference: the link goes
        for (auto it = tx.slots.rbegin(); it != tx.slots.rend(); ++it) put_slot(it->array, it->slot, it->old);
    });
    // Each hook's program into its dispatcher's slot of this family (every attached interface runs it at once).
    uint32_t family = family_slot(state_family());
    size_t count = 0;
    for (HookProgram& p : tx.programs) {
        if (std::find(tx.hooks.begin(), tx.hooks.end(), p.hook) == tx.hooks.end()) continue;
        std::optional<Dispatcher> d = open_dispatcher(tx, p.hook);
        if (!d) return false;
        int array = d->progs.get();
        tx.dispatchers.emplace(p.hook, std::move(*d));
        uint32_t old_id = 0;
        if (bpf_map_lookup_elem(array, &family, &old_id) == 0 &&
            old_id != pinned_prog_id(gen_pin(tx.old.generation, "prog", p.hook)))
            note_interrupted(tx, p.hook);
        if (!swap_slot(tx, array, family, p.loaded.prog_fd(), codegen::hook_name(p.hook))) return false;
    }
    // Every link runs its hook's dispatcher: the existing ones already do (or ran a program directly, as a state
    // written before the dispatcher has them: that program, the IPv4 one, goes into its slot, unless that slot
    // has one); the new ones are created.
    std::string listing;
    std::map<std::string, std::string> ingress =
        ingress_chains(listing).value_or(std::map<std::string, std::string>{});
    if (!listing.empty()) tx.report.notes.push_back(listing + ": no nf_tables ingress chain assumed");
    for (const Attachment& a : tx.request.attachments) {
        for (codegen::Hook h : attachment_hooks(a)) {
            const Dispatcher& d = tx.dispatchers.at(h);
            std::string chain = pass_reason(ingress, a.iface, h);
            int want = chain.empty() ? d.prog.get() : d.pass.get();
            uint32_t dispatcher_id = prog_id(d.prog.get()), want_id = prog_id(want),
                     pass_id = prog_id(d.pass.get());
            if (!chain.empty())
                tx.report.notes.push_back(a.iface + " at " + codegen::hook_name(h) +
                                          ": nf_tables ingress chain " + chain +
                                          " runs on it after tc ingress: every packet is left to the kernel");
            std::string path = link_pin(a.ifindex, h);
            if (injected("swap", count)) {
                error = "injected failure before swapping " + a.iface + " at " + codegen::hook_name(h);
                return false;
            }
            ++count;
            Fd link = open_pin(path);
            if (!link) {
                Fd created_link = create_link(want, a, h, error);
                if (!created_link) return false;
                if (!pin(created_link.get(), path, error)) return false;
                tx.created.push_back(path);
                tx.report.notes.push_back("attached to " + a.iface + " at " + codegen::hook_name(h));
                continue;
            }
            uint32_t running_id = link_prog_id(link.get());
            if (running_id == want_id) continue;
            Fd running(running_id ? bpf_prog_get_fd_by_id(running_id) : -1);
            if (!running)
                return error = "the program that " + a.iface + " runs at " + codegen::hook_name(h) +
                               " is gone: " + errno_text(),
                       false;
            uint32_t ipv4 = family_slot(ir::Family::ipv4), held = 0;
            bool ours = running_id == dispatcher_id || running_id == pass_id;
            if (!ours && family != ipv4 && bpf_map_lookup_elem(d.progs.get(), &ipv4, &held) != 0 &&
                !swap_slot(tx, d.progs.get(), ipv4, running.get(), codegen::hook_name(h)))
                return false;
            LIBBPF_OPTS(bpf_link_update_opts, o);
            o.flags = BPF_F_REPLACE;
            o.old_prog_fd = running.get();
            if (bpf_link_update(link.get(), want, &o) != 0) {
                error =
                    "cannot swap the program on " + a.iface + " at " + codegen::hook_name(h) + ": " +
                    errno_text() +
                    (errno == ENOLINK ? " (the interface vanished: `bpftables detach " + a.iface + "`)" : "");
                return false;
            }
            int old_fd = running.get();
            tx.swapped.push_back({std::move(link), old_fd, std::move(running)});
        }
    }
    // Kept entry programs: their rules program swapped in their prog array (one atomic slot update).
    for (HookProgram& p : tx.programs) {
        if (!p.loaded.reuses_entry()) continue;
        if (injected("swap", count++)) {
            error = std::string("injected failure before swapping the rules program at ") +
                    codegen::hook_name(p.hook);
            return false;
        }
        uint32_t slot = codegen::kDirectSlotRules, old_id = 0;
        int array = p.loaded.entry_prog_array_fd();
        if (bpf_map_lookup_elem(array, &slot, &old_id) != 0)
            return error = std::string("the running rules program at ") + codegen::hook_name(p.hook) +
                           " is gone: " + errno_text(),
                   false;
        if (old_id != pinned_prog_id(gen_pin(tx.old.generation, "rules", p.hook)))
            note_interrupted(tx, p.hook);
        std::string what = std::string("rules program at ") + codegen::hook_name(p.hook);
        if (!swap_slot(tx, array, slot, p.loaded.rules_fd(), what.c_str())) return false;
    }
    tx.report.swap_s = since(t);
    return true;
}

void carry_counters(Transaction& tx) {
    if (tx.request.counters_from_input || tx.old.hooks.empty() || tx.keep_counters) return;
    // What the old programs counted after their counters were copied, up to the swap, is kept as offsets
    // (writing the live per-CPU map now would race with the new programs). A program that was running
    // when its link was swapped finishes within microseconds.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::vector<bpft_counter> after = live_counters(tx.old), delta(after.size());
    bool any = false;
    for (size_t i = 0; i < after.size() && i < tx.before.size(); ++i) {
        delta[i] = {after[i].packets - tx.before[i].packets, after[i].bytes - tx.before[i].bytes};
        any = any || delta[i].packets != 0;
    }
    std::string ignored;
    if (any)
        if (const ir::Program* committed = committed_ir(tx, ignored)) {
            std::vector<bpft_counter> add = carried(*committed, tx.old.gids, delta, tx.next.gids);
            for (size_t i = 0; i < add.size(); ++i)
                if (add[i].packets || add[i].bytes) tx.next.offsets[static_cast<int>(i)] = add[i];
        }
}

bool write_new_state(Transaction& tx) {
    if (injected("state")) {
        tx.error = "injected failure before writing the state";
        return false;
    }
    return write_state(tx.next, tx.error);
}

void retire_old_generation(Transaction& tx) {
    // Links of attachments that were removed (and those of hooks an attachment no longer has: tc-egress, which
    // earlier versions attached), then the old generation's pins.
    for (const Attachment& a : tx.old.attachments) {
        for (codegen::Hook h : {codegen::Hook::xdp, codegen::Hook::tc_ingress, codegen::Hook::tc_egress}) {
            bool kept = false;
            for (const Attachment& b : tx.request.attachments)
                for (codegen::Hook bh : attachment_hooks(b))
                    kept = kept || (b.ifindex == a.ifindex && bh == h);
            if (!kept && open_pin(link_pin(a.ifindex, h))) {
                unpin(link_pin(a.ifindex, h));
                tx.report.notes.push_back("detached from " + a.iface + " at " + codegen::hook_name(h));
            }
        }
    }
    for (codegen::Hook h : tx.old.hooks)
        for (const char* what : {"prog", "counters", "ifnames", "local", "stats", "progs", "rprogs", "rules"})
            unpin(gen_pin(tx.old.generation, what, h));
    for (size_t k = 0; k < tx.old.set_maps.size(); ++k)
        unpin(set_pin(tx.old.generation, k, tx.old.set_maps[k].first));
    tx.report.notes.push_back("generation " + std::to_string(tx.next.generation) + " committed: " +
                              std::to_string(tx.next.gids.size()) + " rules and policies on " +
                              std::to_string(tx.request.attachments.size()) + " interface(s)");
}

bool relink_ingress(const State& state, std::vector<std::string>& notes, std::string& error) {
    std::optional<std::map<std::string, std::string>> ingress = ingress_chains(error);
    if (!ingress) return false;
    for (const Attachment& a : state.attachments)
        for (codegen::Hook h : attachment_hooks(a)) {
            std::string chain = pass_reason(*ingress, a.iface, h);
            Fd link = open_pin(link_pin(a.ifindex, h)), prog = open_pin(dispatch_pin("prog", h));
            Fd pass = open_pin(dispatch_pin("pass", h));
            if (!link || !prog) continue;  // `bpftables status` says so; a restore repairs it
            if (!chain.empty() && !pass) {
                pass = load_pass(h, error);
                if (!pass || !pin(pass.get(), dispatch_pin("pass", h), error)) return false;
            }
            int want = chain.empty() ? prog.get() : pass.get();
            uint32_t running = link_prog_id(link.get());
            if (running == prog_id(want)) continue;
            // Only the dispatcher and the pass program are switched; anything else is an interrupted command's
            // (a restore repairs it).
            if (running != prog_id(prog.get()) && (!pass || running != prog_id(pass.get()))) continue;
            Fd old(bpf_prog_get_fd_by_id(running));
            LIBBPF_OPTS(bpf_link_update_opts, o);
            o.flags = BPF_F_REPLACE;
            o.old_prog_fd = old.get();
            if (!old || bpf_link_update(link.get(), want, &o) != 0)
                return error = "cannot swap the program on " + a.iface + " at " + codegen::hook_name(h) +
                               ": " + errno_text(),
                       false;
            notes.push_back(a.iface + " at " + codegen::hook_name(h) +
                            (chain.empty()
                                 ? ": no nf_tables ingress chain runs on it: the programs decide again"
                                 : ": nf_tables ingress chain " + chain +
                                       " runs on it after tc ingress: every packet is left to the kernel"));
        }
    return true;
}

std::string pass_reason(const std::map<std::string, std::string>& ingress, const std::string& iface,
                        codegen::Hook hook) {
    if (hook != codegen::Hook::xdp && hook != codegen::Hook::tc_ingress) return "";
    auto it = ingress.find(iface);
    return it == ingress.end() ? "" : it->second;
}

}  // namespace bpftables::runtime
