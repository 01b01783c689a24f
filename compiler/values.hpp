#pragma once
// The values every front end shares, read and printed in one place: IPv4 addresses, prefixes and ranges.
// (Numbers, ports, protocol, conntrack state, TCP flag and ICMP type names join them here.)
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir.hpp"

namespace bpftables::values {

bool parse_ipv4(std::string_view s, uint32_t& out);  // dotted quad, host order
std::string format_ipv4(uint32_t addr);
std::string format_net(const ir::Ipv4Net& net);  // a.b.c.d/len or a.b.c.d/m.m.m.m

uint32_t prefix_mask(int len);  // 0..32 into a host-order mask

// "a.b.c.d", "a.b.c.d/len" or "a.b.c.d-e.f.g.h" (a range becomes its covering prefixes), appended to `out`.
bool parse_ipv4_nets(std::string_view s, std::vector<ir::Ipv4Net>& out);

}  // namespace bpftables::values
