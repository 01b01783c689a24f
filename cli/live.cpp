// The live commands: bpftables-restore, bpftables-save, attach, detach, status, refresh, -L / -Z.
#include <getopt.h>
#include <net/if.h>

#include <bpf/bpf.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <set>

#include "cli/input.hpp"
#include "cli/live_commands.hpp"
#include "codegen/hook.hpp"
#include "codegen/layout.hpp"
#include "compiler/ipsets.hpp"
#include "compiler/iptables_lower.hpp"
#include "compiler/ir_print.hpp"
#include "compiler/nft_canonical.hpp"
#include "compiler/nft_lower.hpp"
#include "parser/nft_json.hpp"
#include "parser/nft_parser.hpp"
#include "runtime/live.hpp"
#include "runtime/lock.hpp"
#include "runtime/netfilter.hpp"

namespace bpftables::cli {
namespace {

// The state of the namespace, read under its lock. `code` is the exit code on failure.
struct Locked {
    runtime::Lock lock;
    runtime::State state;
};

std::optional<Locked> lock_state(const char* cmd, double wait, int& code, bool mount_bpffs = false) {
    std::string error;
    if (!runtime::check_bpffs(error, mount_bpffs)) {
        std::fprintf(stderr, "%s: %s\n", cmd, error.c_str());
        return code = 1, std::nullopt;
    }
    bool busy = false;
    std::optional<runtime::Lock> lock = runtime::Lock::acquire(wait, busy, error);
    if (!lock) {
        std::fprintf(stderr, "%s: %s\n", cmd, error.c_str());
        return code = busy ? 4 : 1, std::nullopt;
    }
    std::optional<runtime::State> state = runtime::read_state(error);
    if (!state) {
        std::fprintf(stderr, "%s: %s\n", cmd, error.c_str());
        return code = 1, std::nullopt;
    }
    return Locked{std::move(*lock), std::move(*state)};
}

// The state's attachments as the namespace has them now (see runtime::current_attachments), with a warning
// for each one that changed.
std::vector<runtime::Attachment> current_attachments(const char* cmd, const runtime::State& state) {
    std::vector<std::string> warnings;
    std::vector<runtime::Attachment> out = runtime::current_attachments(state.attachments, warnings);
    for (const std::string& w : warnings) std::fprintf(stderr, "%s: warning: %s\n", cmd, w.c_str());
    return out;
}

// -w [SECS] as iptables reads it: the seconds may follow as the next word.
double read_wait(int argc, char** argv) {
    if (optarg) return std::atof(optarg);
    if (optind < argc && argv[optind][0] >= '0' && argv[optind][0] <= '9') return std::atof(argv[optind++]);
    return -1;  // wait as long as needed
}

int do_commit(const char* cmd, const runtime::State& old, runtime::CommitRequest request, bool verbose) {
    runtime::CommitReport report;
    std::string error;
    bool test = request.test_only;
    if (!runtime::commit(old, std::move(request), report, error)) {
        std::fprintf(stderr, "%s: %s\n%s: nothing was changed; the previous generation keeps running\n", cmd,
                     error.c_str(), cmd);
        return 1;
    }
    if (verbose) {
        for (const std::string& n : report.notes) std::printf("%s\n", n.c_str());
        std::printf("%zu rules and policies; build %.3fs, load %.3fs, swap %.6fs%s\n", report.gids,
                    report.build_s, report.load_s, report.swap_s, test ? " (test only)" : "");
    }
    return 0;
}

// bpftables-restore of an nft ruleset (text or JSON): the whole ruleset replaces the committed one, as
// `nft -f` of a file that starts with `flush ruleset` does (with or without that line). With -n (text only)
// the file's commands apply on top of the committed nft ruleset instead, as `nft -f` of a file without it
// does: tables and chains named again gain what the file adds, `flush` and `delete` commands remove. The
// state keeps the result in the canonical text of compiler/nft_canonical.hpp; the program committed is the
// lowering of that text.
int restore_nft(const char* cmd, const std::string& file, const std::string& text, bool json, bool noflush,
                double wait, bool counters, bool test, bool verbose, const std::string& backend) {
    int code = 0;
    std::optional<Locked> locked = lock_state(cmd, wait, code);
    if (!locked) return code;
    if (noflush && locked->state.format != "nft" && !locked->state.ruleset.empty())
        return std::fprintf(
                   stderr,
                   "%s: the committed ruleset is an iptables ruleset: -n cannot add nft tables to it "
                   "(a restore without -n replaces it)\n",
                   cmd),
               1;
    std::string name = file == "-" ? "<stdin>" : file;
    Diagnostics diags;
    diags.add_source(name, text);
    std::optional<parser::nft::Script> script =
        json ? parser::parse_nft_json(text, name, diags) : parser::parse_nft(text, name, diags);
    if (script && noflush && locked->state.format == "nft" && !locked->state.ruleset.empty()) {
        std::optional<parser::nft::Script> committed =
            parser::parse_nft(locked->state.ruleset, "<committed>", diags);
        if (!committed) return std::fputs(diags.str().c_str(), stderr), 1;
        committed->commands.insert(committed->commands.end(), script->commands.begin(),
                                   script->commands.end());
        script = std::move(committed);
    }
    std::optional<std::string> canonical;
    // Statements bpftables does not compile go to the kernel's copy, which checks and runs them; from nft
    // text only (the JSON reader keeps some statements by their keyword alone, which the copy would lose).
    if (script && lower_nft(*script, diags, !json) && !diags.has_errors())
        canonical = canonical_nft(*script, diags, json);
    std::fputs(diags.str().c_str(), stderr);
    if (!canonical || diags.has_errors()) return 1;
    Diagnostics again;
    std::optional<ir::Program> program = parse_and_lower_nft(*canonical, "<committed>", again, true);
    if (!program) {
        std::fprintf(stderr, "%s: internal: the canonical form of the ruleset does not lower:\n%s%s", cmd,
                     again.str().c_str(), canonical->c_str());
        return 1;
    }
    runtime::CommitRequest request{std::move(*program), current_attachments(cmd, locked->state), counters,
                                   test};
    request.nft_text = std::move(*canonical);
    // The tables that a committed iptables ruleset had in the kernel's netfilter go (to empty built-in
    // chains). A restore put all of them there, the compiled ones as the backstop (the state names its
    // backend); the accept-all ruleset of a first attach has none.
    if (locked->state.format != "nft" && !locked->state.ruleset.empty()) {
        std::string error;
        std::optional<ir::Program> committed = runtime::committed_program(locked->state, false, error);
        if (!committed) return std::fprintf(stderr, "%s: %s\n", cmd, error.c_str()), 1;
        for (const ir::Table& t : committed->tables)
            if (!locked->state.backend.empty() || !compiler::is_compiled_table(t.name))
                request.netfilter_tables.push_back(t.name);
        if (!request.netfilter_tables.empty())  // where the committed copy is
            request.backend = !locked->state.backend.empty() ? locked->state.backend
                              : backend.empty()              ? runtime::default_backend()
                                                             : backend;
    }
    return do_commit(cmd, locked->state, std::move(request), verbose);
}

// bpftables-save of a committed nft ruleset: its canonical text, each `counter` statement with the live
// counters of the rules lowered from its rule (summed: `{ a, b }` lowers to one rule per element), as
// `nft list ruleset` prints them. With `table` (and `chain`): only that table (chain), as `nft list table`
// (`nft list chain`) prints it; bpftables -L of an nft ruleset.
int save_nft(const char* cmd, const runtime::LiveView& live, const std::string& table = "",
             const std::string& chain = "") {
    Diagnostics diags;
    std::optional<parser::nft::Script> script = parser::parse_nft(live.state.ruleset, "<committed>", diags);
    if (!script)
        return std::fprintf(stderr, "%s: the committed ruleset does not parse:\n%s", cmd,
                            diags.str().c_str()),
               1;
    if (!table.empty()) {
        std::erase_if(script->commands, [&](const parser::nft::Command& c) { return c.table != table; });
        if (script->commands.empty())
            return std::fprintf(stderr, "%s: table '%s' does not exist\n", cmd, table.c_str()), 1;
    }
    if (!chain.empty()) {
        bool found = false;
        for (parser::nft::Command& c : script->commands) {
            if (!c.table_body) continue;
            c.table_body->sets.clear();
            c.table_body->objects.clear();
            std::erase_if(c.table_body->chains,
                          [&](const parser::nft::ChainDef& d) { return d.name != chain; });
            found |= !c.table_body->chains.empty();
        }
        if (!found) return std::fprintf(stderr, "%s: chain '%s' does not exist\n", cmd, chain.c_str()), 1;
    }
    std::map<std::pair<int, int>, ir::Counters> sums;
    for (const ir::Table& t : live.program.tables)
        for (const ir::Chain& c : t.chains) {
            if (!compiler::is_compiled_chain(t, c)) continue;
            for (const ir::Rule& r : c.rules) {
                ir::Counters& sum = sums[{r.loc.line, r.loc.col}];
                ir::Counters rc = r.counters.value_or(ir::Counters{});
                sum.packets += rc.packets, sum.bytes += rc.bytes;
            }
        }
    std::string text = print_nft(*script, [&](const SourceLoc& loc) -> std::optional<ir::Counters> {
        auto it = sums.find({loc.line, loc.col});
        if (it == sums.end()) return std::nullopt;
        return it->second;
    });
    std::fputs(text.c_str(), stdout);
    return 0;
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
                                          {"backend", required_argument, nullptr, 'B'},
                                          {"ipsets", required_argument, nullptr, 'S'},
                                          {"format", required_argument, nullptr, 'F'},
                                          {"help", no_argument, nullptr, 'h'},
                                          {nullptr, 0, nullptr, 0}};
    const char* cmd = "bpftables-restore";
    std::string backend, ipsets, format;
    bool counters = false, noflush = false, test = false, verbose = false;
    double wait = 0;
    std::string only_table;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "cntT:vw::W:M:h", long_options, nullptr)) != -1;) {
        switch (c) {
            case 'c':
                counters = true;
                break;
            case 'n':
                noflush = true;
                break;
            case 't':
                test = true;
                break;
            case 'T':
                only_table = optarg;
                break;
            case 'v':
                verbose = true;
                break;
            case 'w':
                wait = read_wait(argc, argv);
                break;
            case 'W':
            case 'M':
                break;  // accepted for compatibility
            case 'B':
                if (!read_backend(cmd, optarg, backend)) return 2;
                break;
            case 'S':
                ipsets = optarg;
                break;
            case 'F':
                format = optarg;
                if (format != "nft" && format != "nft-json" && format != "iptables") {
                    std::fprintf(stderr, "%s: --format is nft, nft-json or iptables\n", cmd);
                    return 2;
                }
                break;
            case 'h':
                std::puts(
                    "usage: bpftables-restore [-c] [-n] [-t] [-T table] [-v] [-w [secs]] [--backend "
                    "legacy|nft] [--ipsets IPSET-SAVE-FILE] [--format nft|nft-json|iptables] [FILE]");
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
    if (format.empty())
        format = parser::looks_like_nft_json(text) ? "nft-json" : looks_like_nft(text) ? "nft" : "iptables";
    if (format != "iptables") {
        const char* refused = !only_table.empty()               ? "-T"
                              : !ipsets.empty()                 ? "--ipsets (nft rulesets declare their sets)"
                              : noflush && format == "nft-json" ? "-n with nft JSON (-n takes nft text)"
                                                                : nullptr;
        if (refused) {
            std::fprintf(stderr,
                         "%s: %s is not supported with nft input: a restore of an nft ruleset replaces "
                         "the whole committed ruleset, or with -n adds the file's commands to it\n",
                         cmd, refused);
            return 2;
        }
        return restore_nft(cmd, file, text, format == "nft-json", noflush, wait, counters, test, verbose,
                           backend);
    }
    Diagnostics diags;
    std::optional<std::vector<ir::IpSet>> new_sets;
    if (!ipsets.empty()) {
        std::string sets_text;
        if (!read_text(ipsets, sets_text, error))
            return std::fprintf(stderr, "%s: %s\n", cmd, error.c_str()), 1;
        new_sets = compiler::read_ipsets(sets_text, ipsets, diags);
        if (!new_sets) return std::fputs(diags.str().c_str(), stderr), 1;
    }
    int code = 0;
    std::optional<Locked> locked = lock_state(cmd, wait, code);
    if (!locked) return code;
    std::optional<ir::Program> committed = runtime::committed_program(locked->state, false, error);
    if (!committed) return std::fprintf(stderr, "%s: %s\n", cmd, error.c_str()), 1;
    if (locked->state.format == "nft") {
        // iptables input replaces a committed nft ruleset entirely (the two cannot be kept in one text).
        if (noflush || !only_table.empty())
            return std::fprintf(stderr,
                                "%s: the committed ruleset is an nft ruleset: -n and -T cannot add iptables "
                                "tables to it (a restore without them replaces it)\n",
                                cmd),
                   1;
        committed = ir::Program{};
    }
    // The committed sets stay (as ipsets stay in the kernel across iptables-restore); --ipsets adds sets and
    // replaces those of the same name.
    std::vector<ir::IpSet> sets = committed->sets;
    if (new_sets)
        for (ir::IpSet& s : *new_sets) {
            auto it =
                std::find_if(sets.begin(), sets.end(), [&](const ir::IpSet& o) { return o.name == s.name; });
            if (it != sets.end())
                *it = std::move(s);
            else
                sets.push_back(std::move(s));
        }

    diags.add_source(file == "-" ? "<stdin>" : file, text);
    LowerOptions options;
    options.sets = new_sets ? &sets : nullptr;  // with --ipsets, every --match-set must name a known set
    options.noflush = noflush;
    options.base = &*committed;
    options.only_table = only_table;
    std::optional<ir::Program> input = parse_and_lower(text, file == "-" ? "<stdin>" : file, diags, options);
    std::fputs(diags.str().c_str(), stderr);
    if (!input) return 1;
    // Every table the input names goes to the kernel's netfilter too: the tables bpftables does not compile
    // run there alone; the compiled ones are the backstop for every packet a program hands to the kernel
    // (fragments, IP options, matches a hook cannot decide), which must meet the same rules there.
    std::vector<std::string> netfilter_tables;
    for (const ir::Table& t : input->tables)
        if (only_table.empty() || t.name == only_table) netfilter_tables.push_back(t.name);
    // Tables the input names replace (or, with --noflush, are) the committed ones; the others stay.
    ir::Program next = *committed;
    for (ir::Table& t : input->tables) {
        if (!only_table.empty() && t.name != only_table)
            continue;  // -T: the input's other tables are ignored
        if (ir::Table* existing = next.find(t.name))
            *existing = std::move(t);
        else
            next.tables.push_back(std::move(t));
    }
    next.sets = std::move(sets);
    runtime::CommitRequest request{std::move(next), current_attachments(cmd, locked->state), counters, test};
    request.netfilter_tables = std::move(netfilter_tables);
    if (!request.netfilter_tables.empty())
        request.backend = backend.empty() ? runtime::default_backend() : backend;
    return do_commit(cmd, locked->state, std::move(request), verbose);
}

int save_command(int argc, char** argv) {
    static const option long_options[] = {{"counters", no_argument, nullptr, 'c'},
                                          {"table", required_argument, nullptr, 't'},
                                          {"modprobe", required_argument, nullptr, 'M'},
                                          {"help", no_argument, nullptr, 'h'},
                                          {nullptr, 0, nullptr, 0}};
    const char* cmd = "bpftables-save";
    bool counters = false;
    std::string table;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "ct:M:h", long_options, nullptr)) != -1;) {
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
                std::puts("usage: bpftables-save [-c] [-t table]");
                return 0;
            default:
                return 2;
        }
    }
    std::string error;
    std::optional<runtime::LiveView> live = runtime::read_live(true, error);
    if (!live) return std::fprintf(stderr, "%s: %s\n", cmd, error.c_str()), 1;
    if (live->state.format == "nft") {
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
        std::printf("# Generated by bpftables-save on %s\n%s# Completed on %s\n", now_text().c_str(),
                    text.c_str(), now_text().c_str());
    return 0;
}

int attach_command(int argc, char** argv) {
    static const option long_options[] = {{"hook", required_argument, nullptr, 'H'},
                                          {"mode", required_argument, nullptr, 'm'},
                                          {"wait", optional_argument, nullptr, 'w'},
                                          {"verbose", no_argument, nullptr, 'v'},
                                          {nullptr, 0, nullptr, 0}};
    const char* cmd = "bpftables attach";
    runtime::Attachment a;
    a.hook = "xdp";
    bool verbose = false;
    double wait = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "w::v", long_options, nullptr)) != -1;) {
        switch (c) {
            case 'H':
                a.hook = optarg;
                break;
            case 'm':
                a.mode = optarg;
                break;
            case 'w':
                wait = read_wait(argc, argv);
                break;
            case 'v':
                verbose = true;
                break;
            default:
                return 2;
        }
    }
    if (optind + 1 != argc || (a.hook != "xdp" && a.hook != "tc") ||
        (!a.mode.empty() && a.mode != "native" && a.mode != "generic") ||
        (a.hook == "tc" && !a.mode.empty())) {
        std::fputs("usage: bpftables attach IFACE [--hook xdp|tc] [--mode native|generic]\n", stderr);
        return 2;
    }
    if (a.hook == "xdp" && a.mode.empty()) a.mode = "native";
    a.iface = argv[optind];
    a.ifindex = static_cast<int>(if_nametoindex(a.iface.c_str()));
    if (a.ifindex == 0) {
        std::fprintf(stderr, "%s: no interface %s in this network namespace\n", cmd, a.iface.c_str());
        return 1;
    }
    int code = 0;
    std::optional<Locked> locked = lock_state(cmd, wait, code, true);
    if (!locked) return code;
    std::vector<runtime::Attachment> attachments = current_attachments(cmd, locked->state);
    for (const runtime::Attachment& b : attachments)
        if (b.ifindex == a.ifindex) {
            std::fprintf(stderr, "%s: %s is already attached (%s); detach it first\n", cmd, a.iface.c_str(),
                         b.hook.c_str());
            return 1;
        }
    runtime::State& old = locked->state;
    std::string error;
    runtime::State base = old;
    if (base.ruleset.empty()) base.ruleset = runtime::accept_all_ruleset();
    std::optional<ir::Program> program = runtime::committed_program(base, false, error);
    if (!program) return std::fprintf(stderr, "%s: %s\n", cmd, error.c_str()), 1;
    attachments.push_back(a);
    runtime::CommitRequest request{std::move(*program), attachments, false, false};
    if (old.format == "nft") request.nft_text = old.ruleset;
    return do_commit(cmd, old, std::move(request), verbose);
}

int detach_command(int argc, char** argv) {
    const char* cmd = "bpftables detach";
    double wait = 0;
    bool all = false;
    static const option long_options[] = {{"wait", optional_argument, nullptr, 'w'},
                                          {"all", no_argument, nullptr, 'a'},
                                          {nullptr, 0, nullptr, 0}};
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "w::", long_options, nullptr)) != -1;) {
        if (c == 'w')
            wait = read_wait(argc, argv);
        else if (c == 'a')
            all = true;
        else
            return 2;
    }
    if ((optind + 1 != argc) == !all) {
        std::fputs("usage: bpftables detach IFACE | --all\n", stderr);
        return 2;
    }
    int code = 0;
    std::optional<Locked> locked = lock_state(cmd, wait, code);
    if (!locked) return code;
    runtime::State next = locked->state;
    std::string error;
    if (!all) {
        std::string iface = argv[optind];
        auto it = std::find_if(next.attachments.begin(), next.attachments.end(),
                               [&](const runtime::Attachment& a) { return a.iface == iface; });
        if (it == next.attachments.end()) {
            std::fprintf(stderr, "%s: %s is not attached\n", cmd, iface.c_str());
            return 1;
        }
        runtime::Attachment gone = *it;
        next.attachments.erase(it);
        if (!next.attachments.empty()) {
            // The programs stay (other interfaces run them); this interface's links go.
            if (!runtime::write_state(next, error))
                return std::fprintf(stderr, "%s: %s\n", cmd, error.c_str()), 1;
            for (codegen::Hook h : runtime::attachment_hooks(gone)) {
                bool shared = false;
                for (const runtime::Attachment& b : next.attachments)
                    shared = shared || b.ifindex == gone.ifindex;
                if (!shared) runtime::unpin(runtime::link_pin(gone.ifindex, h));
            }
            return 0;
        }
    }
    // Nothing stays attached: the namespace's state goes entirely (links, programs, maps, ruleset).
    if (!runtime::remove_all(error)) return std::fprintf(stderr, "%s: %s\n", cmd, error.c_str()), 1;
    return 0;
}

int status_command(int argc, char** argv) {
    (void)argc, (void)argv;
    std::string error;
    std::optional<runtime::State> state = runtime::read_state(error);
    if (!state) return std::fprintf(stderr, "bpftables status: %s\n", error.c_str()), 1;
    std::printf("state %s\n", runtime::state_dir().c_str());
    if (state->generation == 0) {
        std::puts("nothing attached, no ruleset committed");
        return 0;
    }
    std::printf("generation %llu: %zu rules and policies; programs:", (unsigned long long)state->generation,
                state->gids.size());
    for (codegen::Hook h : state->hooks) std::printf(" %s", codegen::hook_name(h));
    std::printf("\n");
    std::set<std::string> in_bpf, in_kernel;
    std::optional<ir::Program> program = runtime::committed_program(*state, false, error);
    if (program && state->format == "nft") {
        // nft tables: compiled (their chains that are not run at the kernel's hooks), and the whole ruleset
        // in the kernel's nf_tables too when it needs it there.
        std::vector<std::pair<std::string, std::string>> tables = runtime::nft_tables(state->ruleset);
        std::printf("nft ruleset; tables:");
        for (const auto& [family, name] : tables) std::printf(" %s %s", family.c_str(), name.c_str());
        std::printf("; copy in the kernel's nf_tables: %s\n", tables.empty() ? "no" : "yes");
    } else if (program) {
        for (const ir::Table& t : program->tables)
            (compiler::is_compiled_table(t.name) ? in_bpf : in_kernel).insert(t.name);
    }
    if (state->format != "nft") {  // every table goes to netfilter: the compiled ones as the backstop
        std::printf("tables in BPF:");
        for (const std::string& t : in_bpf) std::printf(" %s", t.c_str());
        std::printf("%s; in the kernel's netfilter only:", in_bpf.empty() ? " none" : "");
        for (const std::string& t : in_kernel) std::printf(" %s", t.c_str());
        std::string restore =
            state->backend.empty() ? "iptables-restore" : "iptables-" + state->backend + "-restore";
        std::printf("%s; every table is also in the kernel's netfilter (%s)%s\n",
                    in_kernel.empty() ? " none" : "", restore.c_str(),
                    in_bpf.empty() ? "" : ", the compiled ones as the backstop");
        if (state->backend == "nft")
            std::printf("short TCP/UDP headers: handed to the kernel (iptables-nft does not hotdrop them)\n");
    }
    if (program && !program->sets.empty()) {
        std::printf("ipsets (bpftables-restore --ipsets):");
        for (const ir::IpSet& set : program->sets)
            std::printf(" %s (%s, %zu entries)", set.name.c_str(), set.type.c_str(), set.members.size());
        std::printf("\n");
    }
    for (const runtime::Attachment& a : state->attachments) {
        std::printf("%s (ifindex %d) %s%s%s:", a.iface.c_str(), a.ifindex, a.hook.c_str(),
                    a.mode.empty() ? "" : " ", a.mode.c_str());
        unsigned idx = if_nametoindex(a.iface.c_str());
        for (codegen::Hook h : runtime::attachment_hooks(a)) {
            runtime::Fd link = runtime::open_pin(runtime::link_pin(a.ifindex, h));
            bpf_link_info info{};
            uint32_t len = sizeof info;
            if (link && bpf_obj_get_info_by_fd(link.get(), &info, &len) == 0)
                std::printf(
                    " %s link %u prog %u%s;", codegen::hook_name(h), info.id, info.prog_id,
                    info.prog_id == runtime::pinned_prog_id(runtime::gen_pin(state->generation, "prog", h))
                        ? ""
                        : " (not the committed program: a command was interrupted; a restore repairs it)");
            else
                std::printf(" %s link MISSING;", codegen::hook_name(h));
        }
        std::printf("%s\n", static_cast<int>(idx) == a.ifindex ? "" : " interface vanished or renamed");
    }
    std::puts(
        "note: -i/-o names are known for the interfaces that existed at the last restore/attach/refresh; "
        "packets of interfaces created later are handed to the kernel until `bpftables refresh`");
    return 0;
}

int refresh_command(int argc, char** argv) {
    (void)argc, (void)argv;
    int code = 0;
    std::optional<Locked> locked = lock_state("bpftables refresh", 0, code);
    if (!locked) return code;
    std::string error;
    if (!runtime::refresh_ifnames(locked->state, error))
        return std::fprintf(stderr, "bpftables refresh: %s\n", error.c_str()), 1;
    return 0;
}

// bpftables -L [CHAIN] [-t TABLE] [-v] [-n] [-x] [--line-numbers]; bpftables -Z.
int list_command(int argc, char** argv) {
    static const option long_options[] = {{"list", optional_argument, nullptr, 'L'},
                                          {"zero", optional_argument, nullptr, 'Z'},
                                          {"table", required_argument, nullptr, 't'},
                                          {"verbose", no_argument, nullptr, 'v'},
                                          {"numeric", no_argument, nullptr, 'n'},
                                          {"exact", no_argument, nullptr, 'x'},
                                          {"line-numbers", no_argument, nullptr, 'N'},
                                          {"wait", optional_argument, nullptr, 'w'},
                                          {nullptr, 0, nullptr, 0}};
    bool list = false, zero = false, verbose = false, numbers = false, table_given = false;
    std::string table = "filter", chain;
    double wait = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "LZt:vnxw::", long_options, nullptr)) != -1;) {
        switch (c) {
            case 'L':
                list = true;
                break;
            case 'Z':
                zero = true;
                break;
            case 't':
                table = optarg;
                table_given = true;
                break;
            case 'v':
                verbose = true;
                break;
            case 'n':
            case 'x':
                break;  // always numeric and exact
            case 'N':
                numbers = true;
                break;
            case 'w':
                wait = read_wait(argc, argv);
                break;
            default:
                return 2;
        }
    }
    if (optind < argc) chain = argv[optind++];
    std::string error;
    auto zero_counters = [&] {
        int code = 0;
        std::optional<Locked> locked = lock_state("bpftables -Z", wait, code);
        if (!locked) return code;
        if (!runtime::zero_counters(locked->state, error))
            return std::fprintf(stderr, "bpftables -Z: %s\n", error.c_str()), 1;
        return 0;
    };
    if (zero && !list) return zero_counters();
    std::optional<runtime::LiveView> live = runtime::read_live(true, error);
    if (!live) return std::fprintf(stderr, "bpftables -L: %s\n", error.c_str()), 1;
    if (live->state.format == "nft") {  // as nft list ruleset / table / chain, with the live counters
        int code = save_nft("bpftables -L", *live, table_given ? table : "", chain);
        return code != 0 || !zero ? code : zero_counters();
    }
    std::optional<ir::Program> program = std::move(live->program);
    const ir::Table* t = program->find(table);
    if (!t) return std::fprintf(stderr, "bpftables -L: table '%s' does not exist\n", table.c_str()), 1;
    bool first = true;
    for (const ir::Chain& c : t->chains) {
        if (!chain.empty() && c.name != chain) continue;
        if (!first) std::puts("");
        first = false;
        if (c.builtin())
            std::printf("Chain %s (policy %s %llu packets, %llu bytes)\n", c.name.c_str(),
                        c.policy == ir::Policy::drop ? "DROP" : "ACCEPT",
                        (unsigned long long)c.policy_counters.packets,
                        (unsigned long long)c.policy_counters.bytes);
        else
            std::printf("Chain %s (user-defined)\n", c.name.c_str());
        std::printf("%s%s%s\n", numbers ? "num  " : "", verbose ? "    pkts      bytes " : "", "rule");
        for (size_t i = 0; i < c.rules.size(); ++i) {
            const ir::Rule& r = c.rules[i];
            ir::Counters rc = r.counters.value_or(ir::Counters{});
            if (numbers) std::printf("%-4zu ", i + 1);
            if (verbose)
                std::printf("%8llu %10llu ", (unsigned long long)rc.packets, (unsigned long long)rc.bytes);
            std::printf("%s\n", ir::rule_spec(r).c_str());
        }
    }
    return zero ? zero_counters() : 0;
}

}  // namespace bpftables::cli
