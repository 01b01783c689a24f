#include "loader/loaded_program.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdarg>
#include <cstring>

#include "codegen/c_emitter.hpp"
#include "codegen/classifier.hpp"
#include "codegen/direct_emitter.hpp"
#include "loader/ruleset_maps.hpp"

namespace bpftables::loader {
namespace {

// libbpf prints through this; the verifier's log is kept so that a refusal can be explained.
thread_local std::string* libbpf_log = nullptr;

int print_to_log(enum libbpf_print_level level, const char* fmt, va_list args) {
    if (!libbpf_log || level == LIBBPF_DEBUG) return 0;
    char buf[4096];
    int n = vsnprintf(buf, sizeof buf, fmt, args);
    if (libbpf_log->size() < (1 << 20))
        libbpf_log->append(buf, n > 0 ? std::min<size_t>(n, sizeof buf - 1) : 0);
    return n;
}

// Writes `size` bytes at the variable `name` of the object's .rodata image (before the load).
bool set_rodata(bpf_object* obj, const char* name, const void* value, size_t value_size, std::string& error) {
    const btf* b = bpf_object__btf(obj);
    bpf_map* rodata = nullptr;
    bpf_map* map;
    bpf_object__for_each_map(map, obj) {
        std::string map_name = bpf_map__name(map);
        if (bpf_map__is_internal(map) && map_name.size() >= 7 &&
            map_name.compare(map_name.size() - 7, 7, ".rodata") == 0)
            rodata = map;
    }
    if (!b || !rodata) return error = std::string("the object has no .rodata with ") + name, false;
    int sec = btf__find_by_name_kind(b, ".rodata", BTF_KIND_DATASEC);
    if (sec < 0) return error = "the object's BTF has no .rodata section", false;
    const btf_type* t = btf__type_by_id(b, sec);
    const btf_var_secinfo* v = btf_var_secinfos(t);
    for (int i = 0; i < btf_vlen(t); ++i, ++v) {
        const btf_type* var = btf__type_by_id(b, v->type);
        if (std::strcmp(btf__name_by_offset(b, var->name_off), name) != 0) continue;
        size_t size = 0;
        auto* image = static_cast<char*>(const_cast<void*>(bpf_map__initial_value(rodata, &size)));
        if (!image || v->offset + value_size > size) break;
        std::memcpy(image + v->offset, value, value_size);
        return true;
    }
    return error = std::string(name) + " not found in .rodata", false;
}

// Where bpft_cfg lives inside the object's .rodata image.
bool set_config(bpf_object* obj, const bpft_config& config, std::string& error) {
    return set_rodata(obj, "bpft_cfg", &config, sizeof(config), error);
}

bool fill_sets(bpf_object* obj, const ir::Program& program, const codegen::Layout& layout,
               std::string& error) {
    for (size_t i = 0; i < layout.sets.size(); ++i) {
        std::string name = "bpft_set_" + std::to_string(i);
        bpf_map* map = bpf_object__find_map_by_name(obj, name.c_str());
        if (const ir::NftSet* nft = program.find_nft_set(layout.sets[i])) {
            if (!map) return error = "set " + layout.sets[i] + " has no map", false;
            if (!fill_nft_set(bpf_map__fd(map), *nft, error)) return false;
            continue;
        }
        const ir::IpSet* set = program.find_set(layout.sets[i]);
        if (!set || !map) return error = "set " + layout.sets[i] + " has no map", false;
        if (!fill_set(bpf_map__fd(map), *set, error)) return false;
    }
    return true;
}

// Classifier maps: sized to the trees before the load, filled after it (ruleset_maps.hpp).
bool size_classifier(bpf_object* obj, const codegen::ClassifierTrees& trees, std::string& error) {
    ClassifierSizes n = classifier_sizes(trees);
    for (auto [name, size] :
         {std::pair{"bpft_cls_nodes", n.nodes}, {"bpft_cls_leaves", n.leaves}, {"bpft_cls_rules", n.rules}}) {
        bpf_map* map = bpf_object__find_map_by_name(obj, name);
        if (!map) return error = std::string("the object has no map ") + name, false;
        if (bpf_map__set_max_entries(map, static_cast<uint32_t>(std::max<size_t>(size, 1))) != 0)
            return error = std::string("cannot size ") + name, false;
    }
    if (n.ids == 0) return true;
    bpf_map* ids = bpf_object__find_map_by_name(obj, "bpft_cls_ids");
    if (!ids) return error = "the object has no map bpft_cls_ids", false;
    if (bpf_map__set_max_entries(ids, static_cast<uint32_t>(n.ids)) != 0)
        return error = "cannot size bpft_cls_ids", false;
    return true;
}

bool fill_classifier(bpf_object* obj, const codegen::ClassifierTrees& trees, std::string& error) {
    int fds[4] = {-1, -1, -1, -1};
    const char* names[] = {"bpft_cls_nodes", "bpft_cls_leaves", "bpft_cls_rules", "bpft_cls_ids"};
    for (int i = 0; i < (trees.ids.empty() ? 3 : 4); ++i) {
        bpf_map* map = bpf_object__find_map_by_name(obj, names[i]);
        if (!map) return error = std::string("the object has no map ") + names[i], false;
        fds[i] = bpf_map__fd(map);
    }
    return loader::fill_classifier(fds, trees, error);
}

// Makes an opened object's bpft_stats the map `stats` (when it is one: >= 0).
bool count_stats_in(bpf_object* obj, int stats, std::string& error) {
    bpf_map* map = stats >= 0 ? bpf_object__find_map_by_name(obj, "bpft_stats") : nullptr;
    if (map && bpf_map__reuse_fd(map, stats) != 0)
        return error =
                   std::string("cannot count in the running program's statistics: ") + std::strerror(errno),
               false;
    return true;
}

}  // namespace

void LoadedProgram::Closer::operator()(bpf_object* obj) const {
    bpf_object__close(obj);
}

LoadedProgram::LoadedProgram(LoadedProgram&&) noexcept = default;
LoadedProgram& LoadedProgram::operator=(LoadedProgram&&) noexcept = default;
LoadedProgram::~LoadedProgram() = default;

std::optional<LoadedProgram> LoadedProgram::load(const std::string& object, codegen::Hook hook,
                                                 const bpft_config& config, const ir::Program& program,
                                                 const codegen::Layout& layout, std::string& error,
                                                 int stats) {
    std::string log;
    libbpf_log = &log;
    libbpf_set_print(print_to_log);
    LoadedProgram p;
    p.hook_ = hook;
    p.handoff_ = config.decided_mark != 0;
    p.gids_ = layout.gids.size();
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "bpftables");
    p.obj_.reset(bpf_object__open_mem(object.data(), object.size(), &opts));
    if (!p.obj_) {
        error = "cannot open the BPF object: " + std::string(std::strerror(errno)) + "\n" + log;
        libbpf_log = nullptr;
        return std::nullopt;
    }
    if (!set_config(p.obj_.get(), config, error) || !count_stats_in(p.obj_.get(), stats, error))
        return libbpf_log = nullptr, std::nullopt;
    std::optional<codegen::ClassifierTrees> trees;
    if (!layout.runs.empty()) {
        trees = codegen::build_classifier(program, layout, error);
        if (!trees || !size_classifier(p.obj_.get(), *trees, error)) {
            error = "cannot build the classifier: " + error;
            libbpf_log = nullptr;
            return std::nullopt;
        }
    }
    if (bpf_object__load(p.obj_.get()) != 0) {
        error = "the kernel refused the program: " + std::string(std::strerror(errno)) + "\n" + log;
        libbpf_log = nullptr;
        return std::nullopt;
    }
    libbpf_log = nullptr;
    bpf_program* prog = bpf_object__find_program_by_name(p.obj_.get(), codegen::entry_point(hook));
    p.prog_fd_ = prog ? bpf_program__fd(prog) : -1;
    bpf_map* results = bpf_object__find_map_by_name(p.obj_.get(), "bpft_results");
    bpf_map* counters = bpf_object__find_map_by_name(p.obj_.get(), "bpft_counters");
    p.results_fd_ = results ? bpf_map__fd(results) : -1;
    p.counters_fd_ = counters ? bpf_map__fd(counters) : -1;
    if (p.prog_fd_ < 0 || p.results_fd_ < 0 || p.counters_fd_ < 0) {
        error = "the BPF object lacks its entry point or maps";
        return std::nullopt;
    }
    if (!fill_sets(p.obj_.get(), program, layout, error)) return std::nullopt;
    if (trees) {
        if (!fill_classifier(p.obj_.get(), *trees, error)) return std::nullopt;
        p.classifier_nodes_ = trees->nodes.size();
        p.classifier_leaves_ = trees->leaves.size();
        p.classifier_bytes_ = codegen::classifier_bytes(*trees);
    }
    if (bpf_map* local = bpf_object__find_map_by_name(p.obj_.get(), "bpft_local"))
        if (!fill_local_addresses(bpf_map__fd(local), error)) return std::nullopt;
    return p;
}

std::map<std::string, Fd> maps_by_name(int prog_fd) {
    std::map<std::string, Fd> out;
    uint32_t ids[64];
    bpf_prog_info info{};
    info.nr_map_ids = 64;
    info.map_ids = reinterpret_cast<uint64_t>(ids);
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) return out;
    for (uint32_t i = 0; i < std::min<uint32_t>(info.nr_map_ids, 64); ++i) {
        Fd fd(bpf_map_get_fd_by_id(ids[i]));
        bpf_map_info m{};
        uint32_t mlen = sizeof m;
        if (fd && bpf_obj_get_info_by_fd(fd.get(), &m, &mlen) == 0) out[m.name] = std::move(fd);
    }
    return out;
}

namespace {

// The maps a rules program and its exit program share with a reused entry program: what the entry program
// writes for them (the scratch value) and what the runtime reads or fills per namespace, not per ruleset.
// Everything else (counters, sets, limit states, the prog arrays) is the load's own.
constexpr const char* kSharedWithEntry[] = {"bpft_scratch", "bpft_results", "bpft_stats", "bpft_ifnames",
                                            "bpft_local"};

}  // namespace

std::string LoadedProgram::entry_key(const codegen::DirectProgram& direct, codegen::Hook hook,
                                     const bpft_config& config) {
    std::string key = std::string(codegen::hook_name(hook)) + (direct.needs.ct ? "-ct" : "") +
                      (direct.needs.ifname ? "-ifname" : "") + "-";
    const auto* bytes = reinterpret_cast<const unsigned char*>(&config);
    for (size_t i = 0; i < sizeof config; ++i) {
        static const char hex[] = "0123456789abcdef";
        key += hex[bytes[i] >> 4];
        key += hex[bytes[i] & 15];
    }
    return key;
}

std::optional<LoadedProgram> LoadedProgram::load_direct(const codegen::DirectProgram& direct,
                                                        codegen::Hook hook, const bpft_config& config,
                                                        std::string& error, int reuse_entry, int stats,
                                                        KeptExit keep_exit) {
    if (reuse_entry >= 0 && keep_exit.exit >= 0 && keep_exit.counters >= 0)
        return load_rules_only(direct, hook, config, error, reuse_entry, keep_exit);
    std::string log;
    libbpf_log = &log;
    libbpf_set_print(print_to_log);
    struct Reset {
        ~Reset() { libbpf_log = nullptr; }
    } reset;
    LoadedProgram p;
    p.hook_ = hook;
    p.handoff_ = config.decided_mark != 0;
    p.gids_ = direct.layout.gids.size();
    // Keeping the running entry program, only the exit program is loaded: from the object that holds it
    // alone, which libbpf loads without reading the kernel's BTF (most of a small restore's time).
    const bpf::EmbeddedObject& object = reuse_entry >= 0
                                            ? codegen::exit_object(hook, direct.family)
                                            : codegen::entry_object(hook, direct.family, direct.needs.ct);
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "bpftables");
    p.obj_.reset(bpf_object__open_mem(object.data, object.size, &opts));
    if (!p.obj_)
        return error = "cannot open the entry object: " + std::string(std::strerror(errno)) + "\n" + log,
               std::nullopt;
    uint32_t need_ifname = direct.needs.ifname ? 1 : 0;
    if (!set_config(p.obj_.get(), config, error) ||
        !set_rodata(p.obj_.get(), "bpft_need_ifname", &need_ifname, sizeof need_ifname, error) ||
        (reuse_entry < 0 && !count_stats_in(p.obj_.get(), stats, error)))
        return std::nullopt;
    bpf_map* counters = bpf_object__find_map_by_name(p.obj_.get(), "bpft_counters");
    if (!counters ||
        bpf_map__set_max_entries(counters, static_cast<uint32_t>(std::max<size_t>(p.gids_, 1))) != 0)
        return error = "cannot size the entry object's counters", std::nullopt;
    bpf_program* entry = bpf_object__find_program_by_name(p.obj_.get(), codegen::entry_point(hook));
    if (!entry && reuse_entry < 0) return error = "the entry object lacks its entry program", std::nullopt;
    if (reuse_entry >= 0) {
        std::map<std::string, Fd> running = maps_by_name(reuse_entry);
        for (const char* name : kSharedWithEntry) {
            bpf_map* map = bpf_object__find_map_by_name(p.obj_.get(), name);
            auto it = running.find(name);
            if (map && it != running.end() && bpf_map__reuse_fd(map, it->second.get()) != 0)
                return error = std::string("cannot share ") + name +
                               " with the running entry program: " + std::strerror(errno),
                       std::nullopt;
        }
        auto progs = running.find("bpft_progs");
        if (progs == running.end())
            return error = "the running entry program has no prog array", std::nullopt;
        p.reused_progs_ = std::move(progs->second);
        p.reused_entry_ = Fd(fcntl(reuse_entry, F_DUPFD_CLOEXEC, 0));
    }
    if (bpf_object__load(p.obj_.get()) != 0)
        return error =
                   "the kernel refused the entry program: " + std::string(std::strerror(errno)) + "\n" + log,
               std::nullopt;
    bpf_program* exit = bpf_object__find_program_by_name(p.obj_.get(), codegen::exit_point(hook));
    bpf_map* scratch = bpf_object__find_map_by_name(p.obj_.get(), "bpft_scratch");
    bpf_map* progs = bpf_object__find_map_by_name(p.obj_.get(), "bpft_progs");
    bpf_map* results = bpf_object__find_map_by_name(p.obj_.get(), "bpft_results");
    if (!exit || !scratch || !progs || !results)
        return error = "the entry object lacks its programs or maps", std::nullopt;
    p.prog_fd_ = p.reused_entry_ ? p.reused_entry_.get() : bpf_program__fd(entry);
    p.results_fd_ = bpf_map__fd(results);
    p.counters_fd_ = bpf_map__fd(counters);
    p.progs_fd_ = bpf_map__fd(progs);
    p.exit_fd_ = bpf_program__fd(exit);

    bpf_map* local = bpf_object__find_map_by_name(p.obj_.get(), "bpft_local");
    if (!p.load_rules(direct, bpf_map__fd(scratch), bpf_map__fd(counters), local ? bpf_map__fd(local) : -1,
                      error))
        return std::nullopt;
    return p;
}

bool LoadedProgram::load_rules(const codegen::DirectProgram& direct, int scratch, int counters, int local,
                               std::string& error) {
    DirectLoadOptions o;
    o.type = hook_ == codegen::Hook::xdp ? BPF_PROG_TYPE_XDP : BPF_PROG_TYPE_SCHED_CLS;
    // A prog array takes programs of its owner's type and expected attach type (libbpf loads SEC("xdp") with
    // BPF_XDP).
    o.expected_attach_type = hook_ == codegen::Hook::xdp ? BPF_XDP : static_cast<bpf_attach_type>(0);
    o.name = "bpftables_rules";
    std::optional<std::vector<Fd>> maps = create_ruleset_maps(direct, error);
    if (!maps) return false;
    ruleset_maps_ = std::move(*maps);
    if (direct.trees) {
        classifier_nodes_ = direct.trees->nodes.size();
        classifier_leaves_ = direct.trees->leaves.size();
        classifier_bytes_ = codegen::classifier_bytes(*direct.trees);
    }
    o.fd_array.resize(codegen::kDirectLimitsMap + ruleset_maps_.size());
    o.fd_array[codegen::kDirectScratchMap] = scratch;
    o.fd_array[codegen::kDirectCountersMap] = counters;
    o.fd_array[codegen::kDirectProgsMap] = progs_fd_;
    o.fd_array[codegen::kDirectLocalMap] = local;
    for (size_t i = 0; i < ruleset_maps_.size(); ++i)
        o.fd_array[codegen::kDirectLimitsMap + i] = ruleset_maps_[i].get();
    for (const std::string& f : direct.functions) o.functions[f] = FunctionSpec{{}, true};
    if (!direct.layout.runs.empty())
        o.functions[codegen::kClassifyFunction] = FunctionSpec{{BtfArg::u32}, true};
    rules_ = loader::load_direct(direct.code, o, error);
    if (!rules_) return false;
    // With a reused entry program, the rules slot of the entry's array changes at swap time (the runtime's
    // swap); this load's own array holds both.
    int rules_fd = rules_->prog.get();
    for (auto [slot, fd] :
         {std::pair{codegen::kDirectSlotRules, rules_fd}, {codegen::kDirectSlotExit, exit_fd_}})
        if (bpf_map_update_elem(progs_fd_, &slot, &fd, BPF_ANY) != 0)
            return error = std::string("cannot fill the prog array: ") + std::strerror(errno), false;
    return local < 0 || fill_local_addresses(local, error);
}

std::optional<LoadedProgram> LoadedProgram::load_rules_only(const codegen::DirectProgram& direct,
                                                            codegen::Hook hook, const bpft_config& config,
                                                            std::string& error, int reuse_entry,
                                                            KeptExit keep_exit) {
    LoadedProgram p;
    p.hook_ = hook;
    p.handoff_ = config.decided_mark != 0;
    p.gids_ = direct.layout.gids.size();
    p.entry_maps_ = maps_by_name(reuse_entry);
    auto shared = [&p](const char* name) {
        auto it = p.entry_maps_.find(name);
        return it == p.entry_maps_.end() ? -1 : it->second.get();
    };
    auto progs = p.entry_maps_.find("bpft_progs");
    if (progs == p.entry_maps_.end() || shared("bpft_scratch") < 0 || shared("bpft_results") < 0)
        return error = "the running entry program lacks its maps", std::nullopt;
    bpf_map_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(progs->second.get(), &info, &len) != 0)
        return error = std::string("cannot read the running prog array: ") + std::strerror(errno),
               std::nullopt;
    p.made_progs_ = Fd(bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "bpft_progs", sizeof(uint32_t),
                                      sizeof(uint32_t), info.max_entries, nullptr));
    p.reused_entry_ = Fd(fcntl(reuse_entry, F_DUPFD_CLOEXEC, 0));
    p.reused_progs_ = Fd(fcntl(progs->second.get(), F_DUPFD_CLOEXEC, 0));
    p.kept_exit_ = Fd(fcntl(keep_exit.exit, F_DUPFD_CLOEXEC, 0));
    p.kept_counters_ = Fd(fcntl(keep_exit.counters, F_DUPFD_CLOEXEC, 0));
    if (!p.made_progs_ || !p.reused_entry_ || !p.reused_progs_ || !p.kept_exit_ || !p.kept_counters_)
        return error = std::string("cannot keep the running exit program: ") + std::strerror(errno),
               std::nullopt;
    p.prog_fd_ = p.reused_entry_.get();
    p.results_fd_ = shared("bpft_results");
    p.counters_fd_ = p.kept_counters_.get();
    p.progs_fd_ = p.made_progs_.get();
    p.exit_fd_ = p.kept_exit_.get();
    if (!p.load_rules(direct, shared("bpft_scratch"), p.counters_fd_, shared("bpft_local"), error))
        return std::nullopt;
    return p;
}

int LoadedProgram::prog_fd() const {
    return prog_fd_;
}

int LoadedProgram::prog_array_fd() const {
    return progs_fd_;
}

int LoadedProgram::entry_prog_array_fd() const {
    return reused_progs_ ? reused_progs_.get() : progs_fd_;
}

int LoadedProgram::rules_fd() const {
    return rules_ ? rules_->prog.get() : -1;
}

int LoadedProgram::exit_fd() const {
    return exit_fd_;
}

int LoadedProgram::set_map_fd(size_t i) const {
    if (rules_) {
        size_t at = codegen::kDirectFirstSetMap - codegen::kDirectLimitsMap + i;
        return at < ruleset_maps_.size() ? ruleset_maps_[at].get() : -1;
    }
    bpf_map* map =
        obj_ ? bpf_object__find_map_by_name(obj_.get(), ("bpft_set_" + std::to_string(i)).c_str()) : nullptr;
    return map ? bpf_map__fd(map) : -1;
}

std::optional<RunResult> LoadedProgram::test_run(const std::vector<uint8_t>& frame, std::string& error,
                                                 uint32_t mark) const {
    uint32_t zero = 0;
    bpft_result before{}, after{};
    bpf_map_lookup_elem(results_fd_, &zero, &before);
    std::vector<uint8_t> out(frame.size() + 256);
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<uint32_t>(frame.size());
    opts.data_out = out.data();
    opts.data_size_out = static_cast<uint32_t>(out.size());
    opts.repeat = 1;
    __sk_buff skb{};  // only the mark is given (the kernel refuses most other fields)
    skb.mark = mark;
    if (handoff_ && hook_ != codegen::Hook::xdp) {
        opts.ctx_in = &skb;
        opts.ctx_size_in = sizeof(skb);
        opts.ctx_out = &skb;
        opts.ctx_size_out = sizeof(skb);
    }
    if (bpf_prog_test_run_opts(prog_fd_, &opts) != 0) {
        error = "BPF_PROG_TEST_RUN failed: " + std::string(std::strerror(errno));
        return std::nullopt;
    }
    bpf_map_lookup_elem(results_fd_, &zero, &after);
    if (after.packets == before.packets) {
        error = "the program recorded no verdict (was it loaded with record set?)";
        return std::nullopt;
    }
    RunResult r{after.verdict, after.chain, opts.retval, {}, 0};
    if (handoff_) {
        out.resize(opts.data_size_out);
        r.data = std::move(out);
        r.mark = skb.mark;
    }
    return r;
}

std::optional<double> LoadedProgram::time_run(const std::vector<uint8_t>& frame, uint32_t repeat,
                                              std::string& error) const {
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<uint32_t>(frame.size());
    opts.repeat = repeat;
    if (bpf_prog_test_run_opts(prog_fd_, &opts) != 0) {
        error = "BPF_PROG_TEST_RUN failed: " + std::string(std::strerror(errno));
        return std::nullopt;
    }
    return static_cast<double>(opts.duration);  // the kernel reports the mean per run
}

std::vector<bpft_counter> LoadedProgram::counters() const {
    int cpus = libbpf_num_possible_cpus();
    std::vector<bpft_counter> sums(gids_), per_cpu(cpus > 0 ? cpus : 1);
    for (uint32_t gid = 0; gid < gids_; ++gid) {
        if (bpf_map_lookup_elem(counters_fd_, &gid, per_cpu.data()) != 0) continue;
        for (const bpft_counter& c : per_cpu) sums[gid].packets += c.packets, sums[gid].bytes += c.bytes;
    }
    return sums;
}

ProgramStats LoadedProgram::stats() const {
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    ProgramStats s;
    int fd = rules_ ? rules_->prog.get() : prog_fd_;  // direct: the emitted program
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
        s.insns = info.xlated_prog_len / 8;
        s.verified_insns = info.verified_insns;
        s.jited_bytes = info.jited_prog_len;
    }
    s.classifier_nodes = classifier_nodes_;
    s.classifier_bytes = classifier_bytes_;
    s.classifier_leaves = classifier_leaves_;
    return s;
}

}  // namespace bpftables::loader
