#pragma once
// Network namespaces that come and go. The state of a namespace is keyed by its cookie (SO_NETNS_COOKIE,
// kernel 5.14): a 64-bit number the kernel never hands out twice while it runs, where the inode number of a
// deleted namespace is soon given to a new one, which would inherit the dead one's pins. The state of a
// namespace that was deleted without `detach` is garbage: `collect_garbage` finds and removes it.
#include <cstdint>
#include <string>
#include <vector>

namespace bpftables::runtime {

// The cookie of this process's network namespace (0 when the kernel cannot say: before 5.14).
uint64_t netns_cookie();
// The inode number of this process's network namespace (the name of its lock file: a lock needs to be unique
// only among the namespaces that exist, and a leftover lock file of a dead one is no obstacle to a new one).
uint64_t netns_inode();

// Whether this process runs in a mount namespace of its own, not its parent's nor PID 1's (where they can
// be read): `ip netns exec` makes one, with a fresh /sys, so that bpffs mounted there (and every pin in it)
// vanishes when the command exits.
bool private_mount_namespace();

// Every network namespace that can still be reached: those of the processes (/proc/PID/ns/net), of the open
// namespace files (/proc/PID/fd) and of the bind mounts of namespace files (/run/netns, and the nsfs mounts
// of each process's mount namespace); their cookies and inode numbers, each sorted.
struct Reachable {
    std::vector<uint64_t> cookies, inodes;
};
Reachable reachable_netns();

// State that bpftables before the cookie pinned under the namespace's inode number becomes this namespace's
// (renamed to its cookie) when it is this namespace's for sure: it has links and every one still has its
// device (a deleted namespace's links have none, and no two living namespaces share an inode number). Once a
// process; nothing happens when the cookie's directory exists.
void adopt_inode_keyed_state();

struct GarbageReport {
    std::vector<std::string> removed;  // the state directories (and lock files) removed
    std::vector<std::string> kept;     // "DIR: why" for the directories of unreachable namespaces kept
};

// Removes the state of every namespace that is gone: a state directory under bpftables/ in bpffs whose
// cookie no reachable namespace has, and none of whose links still has a device (a link of a deleted
// namespace's device is detached by the kernel). A directory whose namespace cannot be found but which
// still has a link on a device is kept: the namespace may be held by something not visible in /proc (a
// socket), and removing it would take its firewall away. The current namespace's state is never touched.
// Also the lock files that killed commands left (runtime/lock.hpp) of namespaces that are gone, when no one
// holds them.
bool collect_garbage(GarbageReport& report, std::string& error);

}  // namespace bpftables::runtime
