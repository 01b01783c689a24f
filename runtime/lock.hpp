#pragma once
// The lock that serialises commands changing one namespace's state (iptables' xtables.lock): an flock on
// /run/bpftables/<netns inode>.lock, held for the owner's lifetime.
#include <optional>
#include <string>

#include "runtime/state.hpp"

namespace bpftables::runtime {

class Lock {
  public:
    // wait_seconds < 0: wait as long as needed; 0: fail at once when held; > 0: wait up to that long.
    // On failure `busy` says whether another process holds it (iptables' exit code 4).
    static std::optional<Lock> acquire(double wait_seconds, bool& busy, std::string& error);

  private:
    Lock() = default;
    Fd fd_;
};

}  // namespace bpftables::runtime
