// bpftables run FILE --pcap IN.pcap [--hook HOOK] [--chain INPUT|FORWARD|OUTPUT] [--in IF] [--out IF]
//                   [--ipsets FILE] [--codegen c|direct] [--json]
#include <getopt.h>
#include <sched.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cli/commands.hpp"
#include "cli/common_options.hpp"
#include "cli/input.hpp"
#include "codegen/build.hpp"
#include "loader/loaded_program.hpp"
#include "loader/pcap.hpp"

namespace bpftables::cli {
namespace {

const char* kind_name(uint32_t kind) {
    switch (kind) {
        case BPFT_ACCEPT:
            return "ACCEPT";
        case BPFT_DROP:
        case BPFT_HOTDROP:
            return "DROP";
        case BPFT_REJECT:
            return "REJECT";
        default:
            return "KERNEL";
    }
}

const char* chain_name(uint32_t chain) {
    switch (chain) {
        case BPFT_CHAIN_INPUT:
            return "INPUT";
        case BPFT_CHAIN_FORWARD:
            return "FORWARD";
        case BPFT_CHAIN_OUTPUT:
            return "OUTPUT";
        default:
            return "";
    }
}

const char* retval_name(codegen::Hook hook, uint32_t rv) {
    if (hook == codegen::Hook::xdp) {
        static const char* const names[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT"};
        return rv < 5 ? names[rv] : "XDP_?";
    }
    return rv == 0 ? "TC_ACT_OK" : rv == 2 ? "TC_ACT_SHOT" : "TC_ACT_?";
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += '\\', out += c;
        else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else
            out += c;
    }
    return out + '"';
}

bool set_name(char (&dst)[16], const char* src) {
    if (std::strlen(src) >= sizeof dst) return false;
    std::strncpy(dst, src, sizeof dst - 1);
    return true;
}

}  // namespace

int run_command(int argc, char** argv) {
    static const option long_options[] = {{"pcap", required_argument, nullptr, 'p'},
                                          {"hook", required_argument, nullptr, 'H'},
                                          {"chain", required_argument, nullptr, 'c'},
                                          {"in", required_argument, nullptr, 'i'},
                                          {"out", required_argument, nullptr, 'o'},
                                          kIpsetsOption,
                                          kFormatOption,
                                          {"json", no_argument, nullptr, 'j'},
                                          {"repeat", required_argument, nullptr, 'r'},
                                          kBackendOption,
                                          {"codegen", required_argument, nullptr, 'G'},
                                          kIpv4Option,
                                          kIpv6Option,
                                          {nullptr, 0, nullptr, 0}};
    std::string pcap, codegen_name = "c";
    RulesetOptions ruleset;
    codegen::Hook hook = codegen::Hook::xdp;
    bool json = false;
    uint32_t repeat = 0;  // --repeat N: also time each packet over N runs
    bpft_config config{};
    config.record = 1;
    config.test_run = 1;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "46", long_options, nullptr)) != -1;) {
        OptionRead read = read_ruleset_option("bpftables run", c, ruleset);
        if (read == OptionRead::bad) return 2;
        if (read == OptionRead::read) continue;
        switch (c) {
            case 'p':
                pcap = optarg;
                break;
            case 'H':
                if (!codegen::parse_hook(optarg, hook)) {
                    std::fprintf(stderr, "bpftables run: unknown hook '%s' (xdp, tc-ingress, tc-egress)\n",
                                 optarg);
                    return 2;
                }
                break;
            case 'c':
                if (!std::strcmp(optarg, "INPUT"))
                    config.chain_mode = BPFT_CHAIN_INPUT;
                else if (!std::strcmp(optarg, "FORWARD"))
                    config.chain_mode = BPFT_CHAIN_FORWARD;
                else if (!std::strcmp(optarg, "OUTPUT"))
                    config.chain_mode = BPFT_CHAIN_OUTPUT;
                else {
                    std::fprintf(stderr, "bpftables run: --chain takes INPUT, FORWARD or OUTPUT\n");
                    return 2;
                }
                break;
            case 'i':
            case 'o':
                if (!set_name(c == 'i' ? config.in_name : config.out_name, optarg)) {
                    std::fprintf(stderr, "bpftables run: interface name '%s' is too long\n", optarg);
                    return 2;
                }
                (c == 'i' ? config.in_override : config.out_override) = 1;
                break;
            case 'j':
                json = true;
                break;
            case 'G':
                codegen_name = optarg;
                break;
            case 'r':
                repeat = static_cast<uint32_t>(std::strtoul(optarg, nullptr, 10));
                if (repeat == 0) {
                    std::fprintf(stderr, "bpftables run: --repeat takes a positive count\n");
                    return 2;
                }
                break;
            default:
                return 2;
        }
    }
    if (optind + 1 != argc || pcap.empty() || (codegen_name != "c" && codegen_name != "direct")) {
        std::fputs(
            "usage: bpftables run FILE --pcap IN.pcap [--hook HOOK] [--chain INPUT|FORWARD|OUTPUT] "
            "[--in IF] [--out IF] [--ipsets FILE] [--format nft|nft-json|iptables] [--backend legacy|nft] "
            "[--codegen c|direct] [--json] [--repeat N]\n",
            stderr);
        return 2;
    }
    std::string error;
    auto frames = loader::read_pcap(pcap, error);
    if (!frames) {
        std::fprintf(stderr, "bpftables run: %s\n", error.c_str());
        return 2;
    }
    Diagnostics diags;
    std::optional<ir::Program> program =
        load_ruleset(argv[optind], ruleset.ipsets, diags, ruleset.format, ruleset.family);
    codegen::Options options = codegen::options_from_environment();
    options.semantics = ruleset.backend.value_or(compiler::Backend::legacy);
    std::optional<loader::LoadedProgram> loaded;
    codegen::Layout layout;
    if (codegen_name == "direct") {
        std::optional<codegen::DirectProgram> built;
        if (program) built = codegen::build_direct(*program, hook, diags, options);
        std::fputs(diags.str().c_str(), stderr);
        if (!built) return 1;
        loaded = loader::LoadedProgram::load_direct(*built, hook, config, error);
        layout = std::move(built->layout);
    } else {
        std::optional<codegen::Build> built;
        if (program) built = codegen::build(*program, hook, diags, options);
        std::fputs(diags.str().c_str(), stderr);
        if (!built) return 1;
        loaded =
            loader::LoadedProgram::load(built->object.object, hook, config, *program, built->c.layout, error);
        layout = std::move(built->c.layout);
    }
    if (!loaded) {
        std::fprintf(stderr, "bpftables run: %s\n", error.c_str());
        return 1;
    }
    for (size_t i = 0; i < frames->size(); ++i) {
        auto r = loaded->test_run((*frames)[i].data, error);
        if (!r) {
            std::fprintf(stderr, "bpftables run: packet %zu: %s\n", i + 1, error.c_str());
            return 1;
        }
        uint32_t kind = BPFT_KIND(r->verdict), gid = BPFT_GID(r->verdict);
        std::optional<double> ns;
        if (repeat && !(ns = loaded->time_run((*frames)[i].data, repeat, error))) {
            std::fprintf(stderr, "bpftables run: packet %zu: %s\n", i + 1, error.c_str());
            return 1;
        }
        std::string timing =
            ns ? (json ? ",\"ns\":" : "  ") + std::to_string(std::lround(*ns)) + (json ? "" : " ns")
               : std::string();
        const codegen::GidInfo* info = gid < layout.gids.size() ? &layout.gids[gid] : nullptr;
        std::string table = info ? info->table : "filter";
        std::string chain = info ? info->chain : chain_name(r->chain);
        int rule = info ? info->rule : 0;
        int line = info ? info->loc.line : 0;
        std::string reason = kind == BPFT_NOT_IP            ? "not IPv4"
                             : kind == BPFT_HOTDROP         ? "malformed header (hotdrop)"
                             : kind == BPFT_KERNEL && !info ? "only the kernel can decide"
                                                            : "";
        if (json) {
            std::printf(
                "{\"index\":%zu,\"verdict\":\"%s\",\"table\":%s,\"chain\":%s,\"rule\":%d,\"line\":%d,"
                "\"return\":\"%s\"%s%s%s}\n",
                i + 1, kind_name(kind), json_string(table).c_str(), json_string(chain).c_str(), rule, line,
                retval_name(hook, r->retval),
                reason.empty() ? "" : ",\"reason\":", reason.empty() ? "" : json_string(reason).c_str(),
                timing.c_str());
        } else {
            std::printf("%zu: %-7s %s", i + 1, kind_name(kind), retval_name(hook, r->retval));
            if (info)
                std::printf("  %s %s %s (line %d: %s)", table.c_str(), chain.c_str(),
                            rule                  ? ("rule " + std::to_string(rule)).c_str()
                            : kind == BPFT_KERNEL ? "(not compiled)"
                                                  : "policy",
                            line, info->text.c_str());
            else if (!chain.empty())
                std::printf("  %s %s", table.c_str(), chain.c_str());
            if (!reason.empty()) std::printf("  [%s]", reason.c_str());
            std::printf("%s\n", timing.c_str());
        }
    }
    return 0;
}

}  // namespace bpftables::cli
