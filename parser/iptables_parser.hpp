#pragma once
#include <optional>
#include <string>

#include "base/diagnostics.hpp"
#include "parser/iptables_ast.hpp"

namespace bpftables::parser {

// Splits iptables-save / iptables-restore text into lines and words. Syntax errors are reported with their
// position; the result is empty when there was any.
std::optional<Script> parse_iptables(const std::string& text, const std::string& file, Diagnostics& diags);

}  // namespace bpftables::parser
