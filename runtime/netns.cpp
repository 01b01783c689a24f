// Network namespaces that come and go (runtime/netns.hpp).
#include "runtime/netns.hpp"

#include <bpf/bpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "runtime/state.hpp"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

namespace bpftables::runtime {
namespace {

constexpr const char* kLockDir = "/run/bpftables";  // runtime/lock.cpp
constexpr uint32_t kLinkTypeXdp = 6;                // BPF_LINK_TYPE_XDP
constexpr uint32_t kLinkTypeTcx = 11;  // BPF_LINK_TYPE_TCX (kernel 6.6; Debian 12's headers predate it)

uint64_t cookie_here() {
    Fd sock(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    uint64_t cookie = 0;
    socklen_t len = sizeof cookie;
    if (!sock || getsockopt(sock.get(), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0) return 0;
    return cookie;
}

std::string link_target(const std::string& path) {
    char buf[256];
    ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

std::vector<std::string> entries(const std::string& dir) {
    std::vector<std::string> out;
    DIR* d = opendir(dir.c_str());
    if (!d) return out;
    while (dirent* e = readdir(d))
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
            out.emplace_back(e->d_name);
    closedir(d);
    return out;
}

bool is_pid(const std::string& name) {
    return !name.empty() &&
           std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The paths through which the network namespaces that exist can be opened (several per namespace).
std::vector<std::string> netns_paths() {
    std::vector<std::string> paths;
    for (const char* dir : {"/run/netns", "/var/run/netns"})
        for (const std::string& n : entries(dir)) paths.push_back(std::string(dir) + "/" + n);
    std::set<std::string> mount_namespaces;
    for (const std::string& pid : entries("/proc")) {
        if (!is_pid(pid)) continue;
        std::string proc = "/proc/" + pid;
        paths.push_back(proc + "/ns/net");
        for (const std::string& fd : entries(proc + "/fd"))
            if (link_target(proc + "/fd/" + fd).rfind("net:[", 0) == 0) paths.push_back(proc + "/fd/" + fd);
        // Namespace files bind-mounted elsewhere (ip netns keeps them in /run/netns; others, anywhere), once
        // per mount namespace.
        std::string mnt = link_target(proc + "/ns/mnt");
        if (mnt.empty() || !mount_namespaces.insert(mnt).second) continue;
        std::ifstream mountinfo(proc + "/mountinfo");
        for (std::string line; std::getline(mountinfo, line);) {
            std::istringstream words(line);
            std::string id, parent, devno, root, point;
            words >> id >> parent >> devno >> root >> point;
            if (root.rfind("net:[", 0) == 0 && line.find(" - nsfs ") != std::string::npos)
                paths.push_back(proc + "/root" + point);
        }
    }
    return paths;
}

// Whether a pinned link still has its device (the kernel detaches the links of a device that is gone).
bool link_has_device(const std::string& path) {
    Fd fd = open_pin(path);
    if (!fd) return false;
    bpf_link_info info{};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return true;  // cannot tell: assume it has
    if (info.type != kLinkTypeXdp && info.type != kLinkTypeTcx) return true;
    return info.xdp.ifindex != 0;  // tcx's ifindex is at the same place
}

}  // namespace

uint64_t netns_cookie() {
    static const uint64_t cookie = cookie_here();
    return cookie;
}

uint64_t netns_inode() {
    struct stat st {};
    return stat("/proc/self/ns/net", &st) == 0 ? st.st_ino : 0;
}

bool private_mount_namespace() {
    std::string self = link_target("/proc/self/ns/mnt");
    if (self.empty()) return false;
    for (const std::string& other :
         {link_target("/proc/" + std::to_string(getppid()) + "/ns/mnt"), link_target("/proc/1/ns/mnt")})
        if (!other.empty() && other != self) return true;
    return false;
}

Reachable reachable_netns() {
    // Each namespace once (by device and inode); its cookie read in a thread of our own that enters it
    // (setns of a network namespace is per thread).
    std::vector<Fd> namespaces;
    std::set<std::pair<dev_t, ino_t>> seen;
    Reachable out;
    for (const std::string& p : netns_paths()) {
        Fd fd(open(p.c_str(), O_RDONLY | O_CLOEXEC));
        struct stat st {};
        if (!fd || fstat(fd.get(), &st) != 0 || !seen.insert({st.st_dev, st.st_ino}).second) continue;
        out.inodes.push_back(st.st_ino);
        namespaces.push_back(std::move(fd));
    }
    std::thread([&] {
        for (const Fd& ns : namespaces)
            if (setns(ns.get(), CLONE_NEWNET) == 0)
                if (uint64_t c = cookie_here()) out.cookies.push_back(c);
    }).join();
    for (std::vector<uint64_t>* v : {&out.cookies, &out.inodes}) {
        std::sort(v->begin(), v->end());
        v->erase(std::unique(v->begin(), v->end()), v->end());
    }
    return out;
}

void adopt_inode_keyed_state() {
    static bool done = false;
    if (done) return;
    done = true;
    std::string old_dir = state_root() + "/" + std::to_string(netns_inode()), dir = state_dir();
    struct stat st {};
    if (netns_cookie() == 0 || stat(dir.c_str(), &st) == 0 || stat(old_dir.c_str(), &st) != 0) return;
    std::vector<std::string> pins = entries(old_dir);
    bool links = false, all_live = true;
    for (const std::string& p : pins)
        if (p.rfind("link_", 0) == 0) links = true, all_live = all_live && link_has_device(old_dir + "/" + p);
    if (links && all_live) rename(old_dir.c_str(), dir.c_str());
}

bool collect_garbage(GarbageReport& report, std::string& error) {
    if (!check_bpffs(error)) return false;
    std::string root = state_root();
    std::string own = state_dir();
    // First the directories that run nothing (every link without its device); only when there are any, the
    // namespaces that exist, which takes a walk over /proc.
    std::vector<std::string> candidates, running;
    for (const std::string& name : entries(root)) {
        std::string dir = root + "/" + name;
        if (dir == own) continue;
        std::vector<std::string> pins = entries(dir);
        bool runs = std::any_of(pins.begin(), pins.end(), [&](const std::string& p) {
            return p.rfind("link_", 0) == 0 && link_has_device(dir + "/" + p);
        });
        (runs ? running : candidates).push_back(name);
    }
    // Lock files of other namespaces: a command was killed while it held the lock (or one runs now).
    std::string own_lock = std::to_string(netns_inode()) + ".lock";
    std::vector<std::string> locks;
    for (const std::string& name : entries(kLockDir))
        if (name != own_lock && name.size() > 5 && name.substr(name.size() - 5) == ".lock")
            locks.push_back(name);
    if (candidates.empty() && locks.empty()) return true;
    Reachable found = reachable_netns();
    const std::vector<uint64_t>& alive = found.cookies;
    for (const std::string& name : locks) {
        std::string number = name.substr(0, name.size() - 5);
        if (is_pid(number) && number.size() < 20 &&
            std::binary_search(found.inodes.begin(), found.inodes.end(), std::stoull(number)))
            continue;
        // Removed only while we hold it, as its holders do (runtime/lock.cpp).
        std::string path = std::string(kLockDir) + "/" + name;
        Fd fd(open(path.c_str(), O_RDWR | O_CLOEXEC));
        if (fd && flock(fd.get(), LOCK_EX | LOCK_NB) == 0 && unlink(path.c_str()) == 0)
            report.removed.push_back(path);
    }
    rmdir(kLockDir);  // only when empty
    auto reachable = [&](const std::string& name) {
        return is_pid(name) && name.size() < 20 &&
               std::binary_search(alive.begin(), alive.end(), std::stoull(name));
    };
    for (const std::string& name : running)
        if (!reachable(name))
            report.kept.push_back(root + "/" + name +
                                  ": no namespace with this cookie was found, but links of it still run on a "
                                  "device; kept");
    for (const std::string& name : candidates) {
        if (reachable(name)) continue;
        std::string dir = root + "/" + name;
        for (const std::string& p : entries(dir)) unlink((dir + "/" + p).c_str());
        if (rmdir(dir.c_str()) != 0 && errno != ENOENT) {
            report.kept.push_back(dir + ": " + std::strerror(errno));
            continue;
        }
        report.removed.push_back(dir);
    }
    rmdir(root.c_str());  // only when no namespace has state left
    return true;
}

}  // namespace bpftables::runtime
