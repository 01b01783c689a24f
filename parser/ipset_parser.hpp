#pragma once
// `ipset save` output: "create NAME TYPE [options]" and "add NAME ENTRY [options]" lines, as written (also as
// `ipset add ...` shell commands). No meaning yet: compiler/ipsets.cpp reads the members and checks the family.
#include <optional>
#include <string>
#include <vector>

#include "base/diagnostics.hpp"

namespace bpftables::parser {

struct IpSetEntry {     // add NAME ENTRY [options]
    std::string entry;  // ENTRY alone
    std::string line;   // ENTRY with its options, as the kernel's copy gets it
    SourceLoc loc;      // of ENTRY
};

struct IpSetDecl {  // create NAME TYPE [options]
    std::string name, type;
    SourceLoc loc;
    std::string family;   // as written after "family", empty when absent
    std::string options;  // the create line after the type
    std::vector<IpSetEntry> entries;
};

std::optional<std::vector<IpSetDecl>> parse_ipset_save(const std::string& text, const std::string& file,
                                                       Diagnostics& diags);

}  // namespace bpftables::parser
