#include "runtime/state.hpp"

#include <bpf/bpf.h>
#include <dirent.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "runtime/netns.hpp"

namespace bpftables::runtime {
namespace {

constexpr const char* kBpffs = "/sys/fs/bpf";
constexpr uint32_t kChunk = 4096;  // value size of the state map
constexpr const char* kIpv6Prefix = "v6_";

ir::Family selected_family = ir::Family::ipv4;

// The pins both families share.
bool shared_pin(const std::string& name) {
    return name.rfind("link_", 0) == 0 || name.rfind("dispatch_", 0) == 0;
}

bool ipv6_pin(const std::string& name) {
    return name.rfind(kIpv6Prefix, 0) == 0;
}

std::string errno_text() {
    return std::strerror(errno);
}

}  // namespace

const char* attach_hook_name(AttachHook hook) {
    return hook == AttachHook::xdp ? "xdp" : "tc";
}

std::optional<AttachHook> parse_attach_hook(std::string_view name) {
    if (name == "xdp") return AttachHook::xdp;
    if (name == "tc") return AttachHook::tc;
    return std::nullopt;
}

const char* xdp_mode_name(XdpMode mode) {
    switch (mode) {
        case XdpMode::none:
            return "";
        case XdpMode::native:
            return "native";
        case XdpMode::generic:
            return "generic";
    }
    return "";
}

std::optional<XdpMode> parse_xdp_mode(std::string_view name) {
    for (XdpMode m : {XdpMode::none, XdpMode::native, XdpMode::generic})
        if (name == xdp_mode_name(m)) return m;
    return std::nullopt;
}

std::vector<codegen::Hook> attachment_hooks(const Attachment& a) {
    if (a.hook == AttachHook::xdp) return {codegen::Hook::xdp, codegen::Hook::tc_ingress};
    return {codegen::Hook::tc_ingress};
}

ir::Family state_family() {
    return selected_family;
}

void select_family(ir::Family family) {
    selected_family = family;
}

uint32_t family_slot(ir::Family family) {
    return family == ir::Family::ipv6 ? 1 : 0;
}

bool is_nft(const State& state) {
    return state.format == compiler::InputFormat::nft;
}

std::string serialize(const State& s) {
    std::string out = "bpftables-state 1\ngeneration " + std::to_string(s.generation) + "\n";
    out += "hooks";
    for (codegen::Hook h : s.hooks) out += std::string(" ") + codegen::hook_name(h);
    out += "\n";
    for (const Attachment& a : s.attachments)
        out += "attach " + a.iface + " " + std::to_string(a.ifindex) + " " + attach_hook_name(a.hook) + " " +
               (a.mode == XdpMode::none ? "-" : xdp_mode_name(a.mode)) + "\n";
    for (const codegen::GidInfo& g : s.gids)
        out += "gid\t" + g.table + "\t" + g.chain + "\t" + std::to_string(g.rule) + "\t" + g.text + "\n";
    for (const auto& [gid, c] : s.offsets)
        out += "offset " + std::to_string(gid) + " " + std::to_string(c.packets) + " " +
               std::to_string(c.bytes) + "\n";
    if (is_nft(s)) out += "format nft\n";
    if (s.backend) out += std::string("backend ") + compiler::backend_name(*s.backend) + "\n";
    out += "decided-mark " + std::to_string(s.decided_mark) + "\n";
    for (const auto& [hook, key] : s.entries)
        out += std::string("entry ") + codegen::hook_name(hook) + " " + key + "\n";
    if (s.set_maps_pinned) out += "set-maps\n";
    for (const auto& [hook, name] : s.set_maps)
        out += std::string("set-map ") + codegen::hook_name(hook) + " " + name + "\n";
    std::istringstream sets(s.ipsets);
    for (std::string line; std::getline(sets, line);)
        if (!line.empty()) out += "ipset " + line + "\n";
    out += "ruleset\n" + s.ruleset;
    return out;
}

std::optional<State> parse_state(const std::string& text, std::string& error) {
    State s;
    std::istringstream in(text);
    std::string line;
    if (!std::getline(in, line) || line != "bpftables-state 1")
        return error = "the pinned state has an unknown format", std::nullopt;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string key;
        words >> key;
        if (key == "generation") {
            words >> s.generation;
        } else if (key == "hooks") {
            for (std::string h; words >> h;) {
                codegen::Hook hook;
                if (!codegen::parse_hook(h, hook))
                    return error = "the pinned state names hook " + h, std::nullopt;
                s.hooks.push_back(hook);
            }
        } else if (key == "attach") {
            Attachment a;
            std::string hook, mode;
            words >> a.iface >> a.ifindex >> hook >> mode;
            std::optional<AttachHook> h = parse_attach_hook(hook);
            std::optional<XdpMode> m = mode == "-" ? XdpMode::none : parse_xdp_mode(mode);
            if (!h || !m || mode.empty())
                return error = "the pinned state has a bad attach line", std::nullopt;
            a.hook = *h, a.mode = *m;
            s.attachments.push_back(a);
        } else if (key == "offset") {
            int gid = 0;
            bpft_counter c{};
            words >> gid >> c.packets >> c.bytes;
            s.offsets[gid] = c;
        } else if (key == "gid") {
            codegen::GidInfo g;
            size_t p1 = line.find('\t'), p2 = line.find('\t', p1 + 1), p3 = line.find('\t', p2 + 1),
                   p4 = line.find('\t', p3 + 1);
            if (p4 == std::string::npos) return error = "the pinned state has a bad gid line", std::nullopt;
            g.table = line.substr(p1 + 1, p2 - p1 - 1);
            g.chain = line.substr(p2 + 1, p3 - p2 - 1);
            g.rule = std::stoi(line.substr(p3 + 1, p4 - p3 - 1));
            g.text = line.substr(p4 + 1);
            s.gids.push_back(g);
        } else if (key == "format") {
            std::string format;
            words >> format;
            if (format != "nft") return error = "the pinned state has format " + format, std::nullopt;
            s.format = compiler::InputFormat::nft;
        } else if (key == "backend") {
            std::string backend;
            words >> backend;
            s.backend = compiler::parse_backend(backend);
            if (!s.backend) return error = "the pinned state has backend " + backend, std::nullopt;
        } else if (key == "decided-mark") {
            if (!(words >> s.decided_mark) || (s.decided_mark & (s.decided_mark - 1)) != 0)
                return error = "the pinned state has a bad decided-mark line", std::nullopt;
        } else if (key == "entry") {
            std::string hook, entry;
            codegen::Hook h;
            if (!(words >> hook >> entry) || !codegen::parse_hook(hook, h))
                return error = "the pinned state has a bad entry line", std::nullopt;
            s.entries[h] = entry;
        } else if (key == "set-maps") {
            s.set_maps_pinned = true;
        } else if (key == "set-map") {
            std::string hook;
            codegen::Hook h;
            if (!(words >> hook) || !codegen::parse_hook(hook, h) || line.size() <= 9 + hook.size())
                return error = "the pinned state has a bad set-map line", std::nullopt;
            s.set_maps.emplace_back(h, line.substr(9 + hook.size()));
        } else if (key == "ipset") {
            s.ipsets += line.substr(6) + "\n";
        } else if (key == "ruleset") {
            std::ostringstream rest;
            rest << in.rdbuf();
            s.ruleset = rest.str();
            break;
        }
    }
    return s;
}

std::string state_root() {
    return std::string(kBpffs) + "/bpftables";
}

std::string state_dir() {
    // Kernels before 5.14 have no cookie: the inode, as bpftables before the cookie keyed its state.
    uint64_t cookie = netns_cookie();
    return state_root() + "/" + (cookie ? std::to_string(cookie) : "ino-" + std::to_string(netns_inode()));
}

bool bpffs_mounted() {
    struct statfs fs {};
    return statfs(kBpffs, &fs) == 0 && fs.f_type == BPF_FS_MAGIC;
}

std::string bpffs_missing() {
    if (private_mount_namespace())
        return std::string("bpffs is not mounted at ") + kBpffs +
               " in this private mount namespace (as `ip netns exec` makes, with a /sys of its own): the "
               "pinned state is not visible here, and what would be pinned here would vanish with the "
               "command; enter only the network namespace instead: `nsenter --net=/run/netns/NAME bpftables "
               "...`";
    return std::string("bpffs is not mounted at ") + kBpffs +
           ", so the pinned state of this network namespace cannot be read or kept (`mount -t bpf bpf " +
           kBpffs + "`; `bpftables attach` mounts it)";
}

bool check_bpffs(std::string& error, bool mount_if_missing) {
    if (bpffs_mounted()) return true;
    // In a private mount namespace, bpffs mounted here would go with it, and every pin in it.
    if (!mount_if_missing || private_mount_namespace()) return error = bpffs_missing(), false;
    if (mount("bpf", kBpffs, "bpf", 0, "mode=0700") != 0)
        return error = std::string("bpffs is not mounted at ") + kBpffs +
                       " and mounting it failed: " + errno_text(),
               false;
    return true;
}

bool ensure_state_dir(std::string& error) {
    if (!check_bpffs(error, false)) return false;
    std::string base = state_root();
    if (mkdir(base.c_str(), 0700) != 0 && errno != EEXIST)
        return error = "cannot create " + base + ": " + errno_text(), false;
    std::string dir = state_dir();
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        return error = "cannot create " + dir + ": " + errno_text(), false;
    return true;
}

std::string pin_path(const std::string& name) {
    return state_dir() + "/" + name;
}

std::string family_pin(const std::string& name) {
    return pin_path(selected_family == ir::Family::ipv6 ? kIpv6Prefix + name : name);
}

std::string gen_pin(uint64_t generation, const char* what, codegen::Hook hook) {
    return family_pin("g" + std::to_string(generation) + "_" + what + "_" + codegen::hook_name(hook));
}

std::string set_pin(uint64_t generation, size_t k, codegen::Hook hook) {
    return gen_pin(generation, ("set" + std::to_string(k)).c_str(), hook);
}

std::string dispatch_pin(const char* what, codegen::Hook hook) {
    return pin_path(std::string("dispatch_") + what + "_" + codegen::hook_name(hook));
}

std::string link_pin(int ifindex, codegen::Hook hook) {
    return pin_path("link_" + std::to_string(ifindex) + "_" + codegen::hook_name(hook));
}

Fd open_pin(const std::string& path) {
    return Fd(bpf_obj_get(path.c_str()));
}

bool pin(int fd, const std::string& path, std::string& error) {
    if (bpf_obj_pin(fd, path.c_str()) != 0) return error = "cannot pin " + path + ": " + errno_text(), false;
    return true;
}

void unpin(const std::string& path) {
    unlink(path.c_str());
}

namespace {

// The state pinned at `path`; a default State when there is none.
std::optional<State> read_state_pin(const std::string& path, std::string& error) {
    Fd fd = open_pin(path);
    if (!fd) {
        if (errno == ENOENT) return State{};
        return error = "cannot open the pinned state " + path + ": " + errno_text(), std::nullopt;
    }
    bpf_map_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0 || info.value_size != kChunk)
        return error = "the pinned state is not a state map", std::nullopt;
    std::string text;
    std::vector<char> chunk(kChunk);
    for (uint32_t i = 0; i < info.max_entries; ++i) {
        if (bpf_map_lookup_elem(fd.get(), &i, chunk.data()) != 0)
            return error = "cannot read the pinned state: " + errno_text(), std::nullopt;
        size_t n = strnlen(chunk.data(), kChunk);
        text.append(chunk.data(), n);
        if (n < kChunk) break;
    }
    return parse_state(text, error);
}

}  // namespace

std::optional<State> read_state(std::string& error) {
    if (!bpffs_mounted()) return error = bpffs_missing(), std::nullopt;
    adopt_inode_keyed_state();
    std::optional<State> state = read_state_pin(family_pin("state"), error);
    if (state && selected_family == ir::Family::ipv6) {
        std::optional<State> ipv4 = read_state_pin(pin_path("state"), error);
        if (!ipv4) return std::nullopt;
        state->attachments = std::move(ipv4->attachments);
    }
    return state;
}

bool write_state(const State& state, std::string& error) {
    std::string text = serialize(state);
    uint32_t entries = static_cast<uint32_t>(text.size() / kChunk + 1);
    LIBBPF_OPTS(bpf_map_create_opts, opts);
    Fd fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "bpft_state", sizeof(uint32_t), kChunk, entries, &opts));
    if (!fd) return error = "cannot create the state map: " + errno_text(), false;
    std::vector<char> chunk(kChunk);
    for (uint32_t i = 0; i < entries; ++i) {
        std::fill(chunk.begin(), chunk.end(), 0);
        size_t off = size_t{i} * kChunk;
        if (off < text.size())
            std::memcpy(chunk.data(), text.data() + off, std::min<size_t>(kChunk, text.size() - off));
        if (bpf_map_update_elem(fd.get(), &i, chunk.data(), BPF_ANY) != 0)
            return error = "cannot write the state map: " + errno_text(), false;
    }
    std::string tmp = family_pin("state_new"), final_path = family_pin("state");
    unpin(tmp);
    if (!pin(fd.get(), tmp, error)) return false;
    if (rename(tmp.c_str(), final_path.c_str()) != 0) {
        error = "cannot replace " + final_path + ": " + errno_text();
        unpin(tmp);
        return false;
    }
    return true;
}

bool remove_all(std::string& error) {
    std::string dir = state_dir();
    DIR* d = opendir(dir.c_str());
    if (!d) return errno == ENOENT ? true : (error = "cannot open " + dir + ": " + errno_text(), false);
    std::vector<std::string> names;
    while (dirent* e = readdir(d))
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
            names.emplace_back(e->d_name);
    closedir(d);
    bool ipv6 = selected_family == ir::Family::ipv6;
    if (ipv6) {  // its programs out of the dispatchers first: IPv6 frames go to the IPv4 program again
        uint32_t slot = family_slot(ir::Family::ipv6);
        for (codegen::Hook h : {codegen::Hook::xdp, codegen::Hook::tc_ingress, codegen::Hook::tc_egress})
            if (Fd array = open_pin(dispatch_pin("progs", h))) bpf_map_delete_elem(array.get(), &slot);
    }
    bool other_state = false;
    for (const std::string& n : names) {
        if (shared_pin(n)) continue;
        if (ipv6_pin(n) == ipv6)
            unpin(dir + "/" + n);
        else if (n == (ipv6 ? std::string("state") : kIpv6Prefix + std::string("state")))
            other_state = true;
    }
    if (other_state) return true;
    for (const std::string& n : names)
        if (shared_pin(n)) unpin(dir + "/" + n);
    if (rmdir(dir.c_str()) != 0) return error = "cannot remove " + dir + ": " + errno_text(), false;
    rmdir(state_root().c_str());  // only when no other namespace has state
    return true;
}

}  // namespace bpftables::runtime
