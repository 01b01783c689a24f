// bpftables import --from nft|iptables-legacy [--print iptables|nft|nft-json] [-c] [-o FILE]
// Reads the running ruleset of this network namespace (cli/import_sources.hpp) and prints it: in
// iptables-save form through the IR (the same text `bpftables compile FILE --emit ir` prints), or for nft as
// libnftables lists it.
#include <getopt.h>

#include <cstdio>

#include "cli/commands.hpp"
#include "cli/import_sources.hpp"
#include "cli/input.hpp"
#include "compiler/input_format.hpp"
#include "compiler/iptables_lower.hpp"
#include "compiler/ir_print.hpp"
#include "compiler/nft/lower.hpp"
#include "compiler/passes/pass.hpp"

namespace bpftables::cli {
namespace {

const char* const usage_text =
    "usage: bpftables import --from nft|iptables-legacy [--print iptables|nft|nft-json] [-c] [-o FILE]\n"
    "  -c (iptables-legacy): the counters of every rule and policy, as iptables-save -c\n";

// The IR's iptables-save form, after the same checks `compile --emit ir` runs; the diagnostics go to stderr.
// Only when everything lowered: the front ends warn about what they skip (tables of other families, stateful
// objects), and an import printed without it would lose it.
std::optional<std::string> to_iptables(std::optional<ir::Program> program, Diagnostics& diags,
                                       bool counters = false) {
    bool skipped = false;
    for (const Diagnostic& d : diags.all()) skipped |= d.severity == Severity::warning;
    bool ok = program && !skipped && passes::run_pipeline(*program, diags);
    std::fputs(diags.str().c_str(), stderr);
    if (program && skipped)
        std::fputs("bpftables import: not everything in the ruleset lowers (see the warnings)\n", stderr);
    if (!ok) return std::nullopt;
    ir::PrintOptions options;
    options.counters = counters;
    return ir::to_save(*program, options);
}

}  // namespace

int import_command(int argc, char** argv) {
    static const option long_options[] = {{"from", required_argument, nullptr, 'f'},
                                          {"print", required_argument, nullptr, 'p'},
                                          {"output", required_argument, nullptr, 'o'},
                                          {"counters", no_argument, nullptr, 'c'},
                                          {nullptr, 0, nullptr, 0}};
    std::string from, print, out;
    bool counters = false;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "co:", long_options, nullptr)) != -1;) {
        switch (c) {
            case 'f':
                from = optarg;
                break;
            case 'p':
                print = optarg;
                break;
            case 'o':
                out = optarg;
                break;
            case 'c':
                counters = true;
                break;
            default:
                std::fputs(usage_text, stderr);
                return 2;
        }
    }
    bool nft = from == "nft";
    std::optional<compiler::InputFormat> as = compiler::parse_input_format(print);  // none: no --print
    bool as_nft = as && *as != compiler::InputFormat::iptables;
    if (optind != argc || (!nft && from != "iptables-legacy") || (!print.empty() && !as) ||
        (!nft && as_nft) || (nft && counters)) {
        std::fputs(usage_text, stderr);
        if (!nft && as_nft)
            std::fputs("bpftables import: --from iptables-legacy prints iptables-save form only\n", stderr);
        return 2;
    }

    Diagnostics diags;
    std::string text, error, result;
    if (nft) {
        // The JSON listing is what lowers; the text listing is printed as libnftables gives it.
        if (!list_nft_ruleset(as != compiler::InputFormat::nft, text, error)) {
            std::fprintf(stderr, "bpftables import: %s\n", error.c_str());
            return 1;
        }
        if (as_nft) {
            result = text;
        } else {
            std::optional<std::string> save =
                to_iptables(parse_and_lower_nft_json(text, "<nft list ruleset>", diags), diags);
            if (save) {
                result = *save;
            } else if (as == compiler::InputFormat::iptables) {
                return 1;
            } else {  // no --print: the nft text, which keeps everything
                std::fputs(
                    "bpftables import: the nf_tables ruleset does not lower to iptables-save form; printing "
                    "it as nft text\n",
                    stderr);
                if (!list_nft_ruleset(false, result, error)) {
                    std::fprintf(stderr, "bpftables import: %s\n", error.c_str());
                    return 1;
                }
            }
        }
    } else {
        if (!save_iptables_legacy(counters, text, error)) {
            std::fprintf(stderr, "bpftables import: iptables-legacy: %s\n", error.c_str());
            return 1;
        }
        std::optional<std::string> save =
            to_iptables(parse_and_lower(text, "<iptables-legacy>", diags), diags, counters);
        if (!save) return 1;
        result = *save;
    }

    return write_text("bpftables import", out.empty() ? "-" : out, result);
}

}  // namespace bpftables::cli
