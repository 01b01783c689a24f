#pragma once
// ipsets as the IR holds them: the members of hash:ip and hash:net sets for the program, every set's create
// options and entries for the kernel's copy.
#include <optional>
#include <string>
#include <vector>

#include "base/diagnostics.hpp"
#include "compiler/ir.hpp"
#include "parser/ipset_parser.hpp"

namespace bpftables::compiler {

std::optional<std::vector<ir::IpSet>> lower_ipsets(const std::vector<parser::IpSetDecl>& decls,
                                                   Diagnostics& diags);

// parser::parse_ipset_save, then lower_ipsets.
std::optional<std::vector<ir::IpSet>> read_ipsets(const std::string& text, const std::string& file,
                                                  Diagnostics& diags);

}  // namespace bpftables::compiler
