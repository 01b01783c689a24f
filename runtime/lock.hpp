#pragma once
// The lock that serialises commands changing one namespace's state (iptables' xtables.lock): an flock on
// /run/bpftables/<netns inode>.lock, held for the owner's lifetime. The owner removes the file (and the
// directory, when it is empty) before it lets go, so nothing is left behind after a command; a waiter that
// then gets the lock on the removed file sees that the path no longer names it and locks afresh.
#include <optional>
#include <string>

#include "runtime/state.hpp"

namespace bpftables::runtime {

class Lock {
  public:
    // wait_seconds < 0: wait as long as needed; 0: fail at once when held; > 0: wait up to that long.
    // On failure `busy` says whether another process holds it (iptables' exit code 4).
    static std::optional<Lock> acquire(double wait_seconds, bool& busy, std::string& error);
    // The path of this namespace's lock file.
    static std::string path();

    Lock(Lock&&) noexcept = default;
    Lock& operator=(Lock&&) noexcept;
    ~Lock();

  private:
    Lock() = default;
    void release();
    Fd fd_;
    std::string path_;
};

}  // namespace bpftables::runtime
