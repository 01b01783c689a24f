#include "base/netlink.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace bpftables {

bool netlink_dump(int protocol, nlmsghdr* request, const std::function<void(const nlmsghdr*)>& message,
                  const std::string& what, std::string& error) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (fd < 0) return error = what + ": cannot open a netlink socket: " + std::strerror(errno), false;
    auto fail = [&](int err) {
        error = what + ": " + std::strerror(err);
        close(fd);
        return false;
    };
    request->nlmsg_seq = 1;
    if (send(fd, request, request->nlmsg_len, 0) != static_cast<ssize_t>(request->nlmsg_len))
        return fail(errno);
    std::vector<char> buf(1 << 16);
    for (;;) {
        ssize_t n = recv(fd, buf.data(), buf.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(errno);
        auto len = static_cast<unsigned>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_seq != request->nlmsg_seq) continue;
            if (h->nlmsg_type == NLMSG_DONE) return close(fd), true;
            if (h->nlmsg_type == NLMSG_ERROR) {
                int err = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
                if (err != 0) return fail(err);
                continue;  // an acknowledgement
            }
            message(h);
        }
    }
}

}  // namespace bpftables
