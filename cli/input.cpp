#include "cli/input.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "compiler/input_format.hpp"
#include "compiler/ipsets.hpp"
#include "compiler/iptables_lower.hpp"
#include "compiler/nft/lower.hpp"

namespace bpftables::cli {

bool read_text(const std::string& file, std::string& out, std::string& error) {
    std::ostringstream s;
    if (file == "-") {
        s << std::cin.rdbuf();
    } else {
        std::error_code ec;
        if (std::filesystem::is_directory(file, ec))  // opens, and reads as empty: an empty ruleset
            return error = file + ": " + std::strerror(EISDIR), false;
        std::ifstream in(file, std::ios::binary);
        if (!in) return error = file + ": " + std::strerror(errno), false;
        s << in.rdbuf();
    }
    out = s.str();
    return true;
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
                                        Diagnostics& diags, const std::string& format, ir::Family family) {
    std::string text, error;
    if (!read_text(file, text, error)) {
        diags.error({}, error);
        return std::nullopt;
    }
    std::string name = file == "-" ? "<stdin>" : file;

    // nftables input (text or JSON): its own front end; named sets come from the ruleset itself, not from
    // --ipsets.
    std::optional<compiler::InputFormat> given = compiler::parse_input_format(format);
    if (!given && !format.empty()) {
        diags.error({}, "unknown --format \"" + format + "\" (nft, nft-json or iptables)");
        return std::nullopt;
    }
    compiler::InputFormat input = given ? *given : compiler::guess_input_format(text);
    bool json = input == compiler::InputFormat::nft_json;
    if (input != compiler::InputFormat::iptables) {
        if (!ipsets.empty()) {
            diags.error({}, "--ipsets is for iptables input; nft rulesets declare their sets");
            return std::nullopt;
        }
        if (family == ir::Family::ipv6) {
            diags.error({}, "-6 is for ip6tables-save text; nft rulesets name the family of each table");
            return std::nullopt;
        }
        // A statement bpftables does not compile hands the packets that reach it to the kernel (--explain names
        // it), as an iptables match it does not compile does; from nft text only, as bpftables-restore does.
        return json ? parse_and_lower_nft_json(text, name, diags)
                    : parse_and_lower_nft(text, name, diags, /*kernel_decides=*/true);
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
    options.family = family;
    std::optional<ir::Program> program = parse_and_lower(text, name, diags, options);
    if (program && sets) program->sets = std::move(*sets);
    return program;
}

}  // namespace bpftables::cli
