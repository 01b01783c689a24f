#pragma once
// One netlink dump: a request sent on a fresh socket of `protocol` (NETLINK_ROUTE, NETLINK_NETFILTER, ...),
// every answer message handed to a callback until NLMSG_DONE. The routing table's local routes
// (loader/local_addresses.cpp) and the reset of nf_tables rule counters (runtime/nft_copy.cpp) use it.
#include <linux/netlink.h>

#include <functional>
#include <string>

namespace bpftables {

// `request` starts with its nlmsghdr (NLM_F_REQUEST | NLM_F_DUMP set by the caller, nlmsg_len its length).
// False with `error` ("WHAT: reason") when the socket, the send or the kernel fails.
bool netlink_dump(int protocol, nlmsghdr* request, const std::function<void(const nlmsghdr*)>& message,
                  const std::string& what, std::string& error);

}  // namespace bpftables
