#pragma once
// The iptables-save / iptables-restore text as parsed: lines with source positions, no meaning yet.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/source_loc.hpp"

namespace bpftables::parser {

struct Counters {  // [packets:bytes]
    uint64_t packets = 0, bytes = 0;
};

struct Word {
    std::string text;  // with quotes removed and escapes resolved
    SourceLoc loc;
    int length = 1;  // columns the word spans in the source
};

struct TableHeader {  // *filter
    std::string name;
    SourceLoc loc;
};

struct ChainDecl {  // :INPUT ACCEPT [0:0]
    std::string name;
    std::string policy;  // "-" for user-defined chains
    std::optional<Counters> counters;
    SourceLoc loc, policy_loc;
};

struct Commit {  // COMMIT
    SourceLoc loc;
};

struct Command {  // [p:b] -A INPUT -p tcp ...
    std::optional<Counters> counters;
    std::vector<Word> words;
    SourceLoc loc;
};

using Line = std::variant<TableHeader, ChainDecl, Commit, Command>;

struct Script {
    std::string file;
    std::vector<Line> lines;
};

}  // namespace bpftables::parser
