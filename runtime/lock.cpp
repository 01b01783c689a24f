#include "runtime/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "runtime/netns.hpp"

namespace bpftables::runtime {
namespace {

constexpr const char* kLockDir = "/run/bpftables";

// Whether `path` still names the file open as `fd` (the holder before us may have removed it).
bool still_named(int fd, const std::string& path) {
    struct stat open_st {
    }, path_st{};
    if (fstat(fd, &open_st) != 0 || stat(path.c_str(), &path_st) != 0) return false;
    return open_st.st_dev == path_st.st_dev && open_st.st_ino == path_st.st_ino;
}

}  // namespace

std::string Lock::path() {
    return std::string(kLockDir) + "/" + std::to_string(netns_inode()) + ".lock";
}

std::optional<Lock> Lock::acquire(double wait_seconds, bool& busy, std::string& error) {
    busy = false;
    Lock lock;
    lock.path_ = path();
    const std::string& path = lock.path_;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_seconds);
    for (;;) {
        if (mkdir(kLockDir, 0700) != 0 && errno != EEXIST)
            return error = std::string("cannot create ") + kLockDir + ": " + std::strerror(errno),
                   std::nullopt;
        Fd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
        if (!fd) {
            if (errno == ENOENT) continue;  // the holder removed the directory between our mkdir and open
            return error = "cannot open " + path + ": " + std::strerror(errno), std::nullopt;
        }
        for (;;) {
            if (flock(fd.get(), LOCK_EX | LOCK_NB) == 0) break;
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
        if (still_named(fd.get(), path)) {
            lock.fd_ = std::move(fd);
            return lock;
        }
        // We hold a lock on a file the previous holder removed: it protects nothing; lock the path afresh.
    }
}

Lock& Lock::operator=(Lock&& o) noexcept {
    if (this != &o) {
        release();
        fd_ = std::move(o.fd_);
        path_ = std::move(o.path_);
    }
    return *this;
}

Lock::~Lock() {
    release();
}

void Lock::release() {
    if (!fd_) return;
    // Removed while still held, so that nobody locks this file after us without noticing it is gone.
    unlink(path_.c_str());
    rmdir(kLockDir);  // fails, as it should, while another namespace's lock file is in it
    fd_ = Fd();
}

}  // namespace bpftables::runtime
