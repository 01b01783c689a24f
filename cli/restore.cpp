// bpftables-restore and bpftables-save: the command lines and what they print; the merge of the input with the
// committed ruleset is runtime/merge.hpp.
#include <getopt.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>

#include "cli/common_options.hpp"
#include "cli/input.hpp"
#include "cli/live_commands.hpp"
#include "cli/live_common.hpp"
#include "cli/version.hpp"
#include "compiler/ipsets.hpp"
#include "compiler/ir_print.hpp"
#include "runtime/merge.hpp"

namespace bpftables::cli {
namespace {

// How bpftables-restore commits: -c, --test, -v, --codegen.
struct CommitFlags {
    bool counters = false, test = false, verbose = false;
    runtime::Codegen codegen = runtime::Codegen::automatic;
};

// The request a merge made (runtime/merge.hpp), committed with the state's current attachments; its
// diagnostics and failure printed.
int commit_merged(const char* cmd, const Locked& locked, std::optional<runtime::CommitRequest> request,
                  const Diagnostics& diags, const std::string& error, const CommitFlags& flags) {
    std::fputs(diags.str().c_str(), stderr);
    if (!request) {
        if (!error.empty()) std::fprintf(stderr, "%s: %s", cmd, error.c_str());
        return 1;
    }
    request->attachments = current_attachments(cmd, locked.state);
    request->counters_from_input = flags.counters;
    request->test_only = flags.test;
    request->codegen = flags.codegen;
    return do_commit(cmd, locked.state, std::move(*request), flags.verbose);
}

std::string now_text() {
    std::time_t t = std::time(nullptr);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", std::localtime(&t));
    return buf;
}

}  // namespace

int restore_command(int argc, char** argv) {
    static const option long_options[] = {{"counters", no_argument, nullptr, 'c'},
                                          {"noflush", no_argument, nullptr, 'n'},
                                          {"test", no_argument, nullptr, 't'},
                                          {"table", required_argument, nullptr, 'T'},
                                          {"verbose", no_argument, nullptr, 'v'},
                                          {"wait", optional_argument, nullptr, 'w'},
                                          {"wait-interval", required_argument, nullptr, 'W'},
                                          {"modprobe", required_argument, nullptr, 'M'},
                                          kBackendOption,
                                          kIpsetsOption,
                                          kFormatOption,
                                          {"decided-mark", required_argument, nullptr, 'D'},
                                          {"codegen", required_argument, nullptr, 'G'},
                                          {"help", no_argument, nullptr, 'h'},
                                          {"version", no_argument, nullptr, 'V'},
                                          {nullptr, 0, nullptr, 0}};
    bool ipv6 = runtime::state_family() == ir::Family::ipv6;
    const char* cmd = ipv6 ? "bpftables6-restore" : "bpftables-restore";
    std::optional<uint32_t> decided_mark;
    RulesetOptions ruleset;
    CommitFlags flags;
    bool noflush = false;
    double wait = 0;
    std::string only_table;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "cntT:vw::W:M:hV", long_options, nullptr)) != -1;) {
        OptionRead read = read_ruleset_option(cmd, c, ruleset, true);
        if (read == OptionRead::bad) return 2;
        if (read == OptionRead::read) continue;
        switch (c) {
            case 'c':
                flags.counters = true;
                break;
            case 'n':
                noflush = true;
                break;
            case 't':
                flags.test = true;
                break;
            case 'T':
                only_table = optarg;
                break;
            case 'v':
                flags.verbose = true;
                break;
            case 'w':
                wait = read_wait(argc, argv);
                break;
            case 'G':
                if (!read_codegen(cmd, optarg, flags.codegen)) return 2;
                break;
            case 'W':
            case 'M':
                break;  // accepted for compatibility
            case 'D': {
                char* end = nullptr;
                errno = 0;
                unsigned long v = std::strtoul(optarg, &end, 0);
                if (*optarg == '\0' || *end != '\0' || errno != 0 || v > 0xffffffffUL || (v & (v - 1)) != 0) {
                    std::fprintf(stderr,
                                 "%s: --decided-mark takes one bit of the packet mark (0x1000000 ...) or 0, "
                                 "not '%s'\n",
                                 cmd, optarg);
                    return 2;
                }
                decided_mark = static_cast<uint32_t>(v);
                break;
            }
            case 'h':
                std::printf(
                    "usage: %s [-c] [-n] [-t] [-T table] [-v] [-w [secs]] [--backend "
                    "legacy|nft] [--ipsets IPSET-SAVE-FILE] [--format nft|nft-json|iptables] [--decided-mark "
                    "BIT] [--codegen c|direct] [FILE]\n",
                    cmd);
                return 0;
            case 'V':
                std::printf("%s v%s\n", cmd, kVersion);
                return 0;
            default:
                return 2;
        }
    }
    if (optind + 1 < argc) {
        std::fprintf(stderr, "%s: too many arguments\n", cmd);
        return 2;
    }
    std::string file = optind < argc ? argv[optind] : "-";
    std::string text, error;
    if (!read_text(file, text, error)) {
        std::fprintf(stderr, "%s: %s\n", cmd, error.c_str());
        return 1;
    }
    compiler::InputFormat format =
        ruleset.format.empty() ? ipv6 ? compiler::InputFormat::iptables : compiler::guess_input_format(text)
                               : *compiler::parse_input_format(ruleset.format);
    if (ipv6 && format != compiler::InputFormat::iptables) {
        std::fprintf(
            stderr,
            "%s: reads ip6tables-save text; nft rulesets (which name the family of each table) go to "
            "bpftables-restore\n",
            cmd);
        return 2;
    }
    const std::string& ipsets = ruleset.ipsets;
    std::string name = file == "-" ? "<stdin>" : file;
    if (format != compiler::InputFormat::iptables) {
        const char* refused = !only_table.empty() ? "-T"
                              : !ipsets.empty()   ? "--ipsets (nft rulesets declare their sets)"
                              : noflush && format == compiler::InputFormat::nft_json
                                  ? "-n with nft JSON (-n takes nft text)"
                                  : nullptr;
        if (refused) {
            std::fprintf(stderr,
                         "%s: %s is not supported with nft input: a restore of an nft ruleset replaces "
                         "the whole committed ruleset, or with -n adds the file's commands to it\n",
                         cmd, refused);
            return 2;
        }
        int code = 0;
        std::optional<Locked> locked = lock_state(cmd, wait, code);
        if (!locked) return code;
        Diagnostics diags;
        std::optional<runtime::CommitRequest> request = runtime::merge_nft(
            locked->state,
            {name, text, format == compiler::InputFormat::nft_json, noflush, ruleset.backend, decided_mark},
            diags, error);
        return commit_merged(cmd, *locked, std::move(request), diags, error, flags);
    }
    Diagnostics diags;
    runtime::IptablesRestore input{name,        text, noflush, only_table, std::nullopt, ruleset.backend,
                                   decided_mark};
    if (!ipsets.empty()) {
        std::string sets_text;
        if (!read_text(ipsets, sets_text, error))
            return std::fprintf(stderr, "%s: %s\n", cmd, error.c_str()), 1;
        input.sets = compiler::read_ipsets(sets_text, ipsets, diags);
        if (!input.sets) return std::fputs(diags.str().c_str(), stderr), 1;
    }
    int code = 0;
    std::optional<Locked> locked = lock_state(cmd, wait, code);
    if (!locked) return code;
    std::optional<runtime::CommitRequest> request =
        runtime::merge_iptables(locked->state, std::move(input), diags, error);
    return commit_merged(cmd, *locked, std::move(request), diags, error, flags);
}

int save_command(int argc, char** argv) {
    static const option long_options[] = {
        {"counters", no_argument, nullptr, 'c'},       {"table", required_argument, nullptr, 't'},
        {"modprobe", required_argument, nullptr, 'M'}, {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},        {nullptr, 0, nullptr, 0}};
    const char* cmd = runtime::state_family() == ir::Family::ipv6 ? "bpftables6-save" : "bpftables-save";
    bool counters = false;
    std::string table;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "ct:M:hV", long_options, nullptr)) != -1;) {
        switch (c) {
            case 'c':
                counters = true;
                break;
            case 't':
                table = optarg;
                break;
            case 'M':
                break;
            case 'h':
                std::printf("usage: %s [-c] [-t table]\n", cmd);
                return 0;
            case 'V':
                std::printf("%s v%s\n", cmd, kVersion);
                return 0;
            default:
                return 2;
        }
    }
    std::string error;
    std::optional<runtime::LiveView> live = runtime::read_live(true, error);
    if (!live) return std::fprintf(stderr, "%s: %s\n", cmd, error.c_str()), 1;
    if (runtime::is_nft(live->state)) {
        if (!table.empty())
            return std::fprintf(
                       stderr, "%s: the committed ruleset is an nft ruleset: -t is for iptables ones\n", cmd),
                   1;
        return save_nft(cmd, *live);
    }
    std::optional<ir::Program> program = std::move(live->program);
    if (!table.empty() && !program->find(table)) {
        std::fprintf(stderr, "%s: table '%s' does not exist\n", cmd, table.c_str());
        return 1;
    }
    ir::PrintOptions print;
    print.counters = counters;
    print.only_table = table;
    if (!counters)  // the chains' own counters print always, as iptables-save does
        for (ir::Table& t : program->tables)
            for (ir::Chain& c : t.chains)
                for (ir::Rule& r : c.rules) r.counters.reset();
    std::string text = ir::to_save(*program, print);
    if (!text.empty())
        std::printf("# Generated by %s on %s\n%s# Completed on %s\n", cmd, now_text().c_str(), text.c_str(),
                    now_text().c_str());
    return 0;
}

}  // namespace bpftables::cli
