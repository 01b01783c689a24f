#include "runtime/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace bpftables::runtime {

std::optional<Lock> Lock::acquire(double wait_seconds, bool& busy, std::string& error) {
    busy = false;
    mkdir("/run/bpftables", 0700);
    std::string dir = state_dir();
    std::string path = "/run/bpftables/" + dir.substr(dir.rfind('/') + 1) + ".lock";
    Lock lock;
    lock.fd_ = Fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!lock.fd_) return error = "cannot open " + path + ": " + std::strerror(errno), std::nullopt;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_seconds);
    for (;;) {
        if (flock(lock.fd_.get(), LOCK_EX | LOCK_NB) == 0) return lock;
        if (errno != EWOULDBLOCK)
            return error = "cannot lock " + path + ": " + std::strerror(errno), std::nullopt;
        if (wait_seconds >= 0 && std::chrono::steady_clock::now() >= deadline) {
            busy = true;
            error = wait_seconds == 0 ? "Another app is currently holding the bpftables lock (" + path +
                                            "). Perhaps you want to use the -w option?"
                                      : "Another app is currently holding the bpftables lock (" + path +
                                            "); stopped waiting after " +
                                            std::to_string(static_cast<int>(wait_seconds)) + " seconds";
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

}  // namespace bpftables::runtime
