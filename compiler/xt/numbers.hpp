#pragma once
// Transitional: the names compiler/nft_lower.cpp still reads numbers, ports and protocols by. They live in
// compiler/values.hpp now; delete this header once nft_lower.cpp calls values:: directly.
#include <cstdint>
#include <string_view>

#include "compiler/values.hpp"

namespace bpftables::xt {

using values::parse_number;

inline bool parse_port_number(std::string_view s, std::string_view proto, uint16_t& out) {
    return values::parse_port(s, proto, out);
}

}  // namespace bpftables::xt

namespace bpftables::ir {

using values::protocol_by_name;

}  // namespace bpftables::ir
