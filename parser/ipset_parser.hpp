#pragma once
// `ipset save` output: "create NAME TYPE [options]" and "add NAME ENTRY [options]" lines. IPv4 hash:ip and
// hash:net sets are read with their members; other types are kept by name and type (so that a rule using one
// gets a clear "not supported" from the compiler).
#include <optional>
#include <string>
#include <vector>

#include "compiler/diagnostics.hpp"
#include "compiler/ir.hpp"

namespace bpftables::parser {

std::optional<std::vector<ir::IpSet>> parse_ipset_save(const std::string& text, const std::string& file,
                                                       Diagnostics& diags);

}  // namespace bpftables::parser
