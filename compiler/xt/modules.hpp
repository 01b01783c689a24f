#pragma once
// Every module bpftables parses, one definition each in the compiler/xt/ file of its family; the registry
// (registry.cpp) lists them. Add a module here, define it in its file, list it in the registry.
#include "compiler/xt/module.hpp"

namespace bpftables::xt {

extern const MatchModule tcp_module, udp_module;
extern const MatchModule icmp_module, multiport_module, iprange_module, length_module, ttl_module;
extern const MatchModule mark_module, comment_module, dscp_module, tos_module, mac_module, pkttype_module,
    addrtype_module, limit_module;

}  // namespace bpftables::xt
