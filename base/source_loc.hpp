#pragma once
#include <compare>
#include <string>

namespace bpftables {

// A position in an input file, 1-based; carried from the parser through the IR into codegen and diagnostics.
struct SourceLoc {
    std::string file;
    int line = 0;
    int col = 0;
    auto operator<=>(const SourceLoc&) const = default;
};

}  // namespace bpftables
