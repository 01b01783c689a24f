#pragma once
// Shared by the corpus tests: where ../shared/corpus is, reading a file whole, and an nft program's IR as
// text with what iptables-save printing leaves out (table families, base chains, sets), for comparing two
// front ends' results.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "compiler/ir.hpp"
#include "compiler/ir_print.hpp"

namespace bpftables::test {

namespace fs = std::filesystem;

inline const fs::path corpus = BPFTABLES_CORPUS_DIR;

inline std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The device of a base chain is left out: the text front end keeps it as the words written ("device \"lo\""),
// the JSON one as the name, and nft 1.0.6 does not print it in JSON.
inline std::string nft_ir_text(const ir::Program& p) {
    std::string out = ir::to_save(p);
    for (const ir::Table& t : p.tables) {
        out += "table " + t.family + " " + t.name + "\n";
        for (const ir::Chain& c : t.chains)
            if (c.nft_hook)
                out += "  chain " + c.name + " type " + c.nft_hook->type + " hook " + c.nft_hook->hook +
                       " priority " + std::to_string(c.nft_hook->priority) + " policy " +
                       std::to_string(static_cast<int>(c.policy)) + "\n";
    }
    for (const ir::IpSet& s : p.sets) {
        out += "set " + s.name + " " + s.type;
        for (const ir::Ipv4Net& n : s.members)
            out += " " + std::to_string(n.addr) + "/" + std::to_string(n.mask);
        out += "\n";
    }
    return out;
}

}  // namespace bpftables::test
