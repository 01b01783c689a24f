#pragma once
// Number and range readers shared by the xt modules that follow libxtables' conventions: numbers are read as
// strtoul(3) reads them with base 0 (decimal, 0x hex, leading-0 octal), port ranges are "lo:hi" with either
// side optional and lo <= hi.
#include <cstdint>
#include <string_view>

#include "compiler/ir.hpp"
#include "compiler/xt/module.hpp"

namespace bpftables::xt {

// An unsigned number in C notation (base 0); false when it is not one or exceeds `max`.
bool parse_number(std::string_view s, uint64_t& out, uint64_t max);

// One port: a number up to 65535 or a service name from /etc/services for `proto` ("" for any).
bool parse_port_number(std::string_view s, std::string_view proto, uint16_t& out);

// "p", "lo:hi", ":hi", "lo:" or ":"; diagnoses at `w` and returns false on a bad port or lo > hi.
bool parse_ordered_port_range(OptionReader& r, const parser::Word& w, ir::PortRange& out,
                              std::string_view proto);

// A comma-separated list of names (case-insensitive) from `names`, OR-ed together. Diagnoses the first
// unknown (or empty) item as `what` + " \"item\"" and returns false.
struct NamedBits {
    std::string_view name;
    uint32_t bits;
};
bool parse_name_list(OptionReader& r, const parser::Word& w, const NamedBits* names, size_t count,
                     std::string_view what, uint32_t& out);

}  // namespace bpftables::xt
