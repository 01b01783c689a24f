#include "cli/input.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "compiler/ipsets.hpp"
#include "compiler/iptables_lower.hpp"
#include "compiler/nft/lower.hpp"
#include "parser/nft_json.hpp"

namespace bpftables::cli {

bool read_text(const std::string& file, std::string& out, std::string& error) {
    std::ostringstream s;
    if (file == "-") {
        s << std::cin.rdbuf();
    } else {
        std::ifstream in(file, std::ios::binary);
        if (!in) return error = file + ": " + std::strerror(errno), false;
        s << in.rdbuf();
    }
    out = s.str();
    return true;
}

bool read_backend(const char* cmd, const char* arg, std::string& backend) {
    backend = arg;
    if (backend == "legacy" || backend == "nft") return true;
    std::fprintf(stderr, "%s: --backend is legacy or nft\n", cmd);
    return false;
}

int write_text(const char* cmd, const std::string& file, const std::string& data) {
    if (file == "-") {
        std::fwrite(data.data(), 1, data.size(), stdout);
        return std::fflush(stdout) == 0 ? 0 : 1;
    }
    std::ofstream f(file, std::ios::binary);
    f << data;
    if (!f) return std::fprintf(stderr, "%s: cannot write %s\n", cmd, file.c_str()), 1;
    return 0;
}

std::optional<ir::Program> load_ruleset(const std::string& file, const std::string& ipsets,
                                        Diagnostics& diags, const std::string& format) {
    std::string text, error;
    if (!read_text(file, text, error)) {
        diags.error({}, error);
        return std::nullopt;
    }
    std::string name = file == "-" ? "<stdin>" : file;

    // nftables input (text or JSON): its own front end; named sets come from the ruleset itself, not from
    // --ipsets.
    if (format != "nft" && format != "nft-json" && format != "iptables" && !format.empty()) {
        diags.error({}, "unknown --format \"" + format + "\" (nft, nft-json or iptables)");
        return std::nullopt;
    }
    bool json = format == "nft-json" || (format.empty() && parser::looks_like_nft_json(text));
    if (json || format == "nft" || (format.empty() && looks_like_nft(text))) {
        if (!ipsets.empty()) {
            diags.error({}, "--ipsets is for iptables input; nft rulesets declare their sets");
            return std::nullopt;
        }
        return json ? parse_and_lower_nft_json(text, name, diags) : parse_and_lower_nft(text, name, diags);
    }

    std::optional<std::vector<ir::IpSet>> sets;
    if (!ipsets.empty()) {
        std::string sets_text;
        if (!read_text(ipsets, sets_text, error)) {
            diags.error({}, error);
            return std::nullopt;
        }
        sets = compiler::read_ipsets(sets_text, ipsets, diags);
        if (!sets) return std::nullopt;
    }
    LowerOptions options;
    options.sets = sets ? &*sets : nullptr;
    std::optional<ir::Program> program = parse_and_lower(text, name, diags, options);
    if (program && sets) program->sets = std::move(*sets);
    return program;
}

}  // namespace bpftables::cli
