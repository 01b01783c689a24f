// bpftables compile FILE -o OUT [--hook HOOK] [--emit obj|c|ir|asm] [--codegen c|direct] [--explain]
//                   [--ipsets FILE] [-4|-6] [--stats] [--dump-after PASS] [-v]
#include <getopt.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/common_options.hpp"
#include "cli/input.hpp"
#include "codegen/build.hpp"
#include "codegen/insn/object_text.hpp"
#include "codegen/insn/print.hpp"
#include "compiler/ir_print.hpp"
#include "compiler/passes/pass.hpp"
#include "loader/loaded_program.hpp"

namespace bpftables::cli {
namespace {

// --codegen direct: the instructions (--emit asm), what is handed to the kernel (--explain: the C back end's
// account, which follows the same decisions), the load (--stats).
int compile_direct(ir::Program& program, codegen::Hook hook, Diagnostics& diags,
                   const codegen::Options& options, bool explain, bool stats, std::string& listing) {
    ir::Program copy = program;
    std::optional<codegen::DirectProgram> built = codegen::build_direct(program, hook, diags, options);
    if (!built) return 1;
    listing = codegen::insn::listing(built->code);
    if (explain) {
        Diagnostics ignored;
        std::optional<codegen::Build> c = codegen::build(copy, hook, ignored, options, false);
        if (c) {
            std::printf("hook %s: %zu rules and policies compiled\n", codegen::hook_name(hook),
                        c->c.layout.gids.size());
            for (const codegen::Explanation& e : c->c.explain)
                std::printf("%s:%d: %s\n", e.loc.file.c_str(), e.loc.line, e.text.c_str());
            if (c->c.explain.empty()) std::puts("every rule is decided in BPF");
        }
    }
    if (stats) {
        bpft_config config{};
        std::string error;
        auto start = std::chrono::steady_clock::now();
        auto loaded = loader::LoadedProgram::load_direct(*built, hook, config, error);
        double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (!loaded) {
            std::fprintf(stderr, "bpftables compile: %s\n", error.c_str());
            return 1;
        }
        loader::ProgramStats s = loaded->stats();
        std::printf(
            "rules %zu  emitted_insns %zu  load_s %.3f  insns %u  verified_insns %u  jited_bytes %u  "
            "classifier_runs %zu  classifier_nodes %zu  classifier_leaf_entries %zu  classifier_bytes %zu\n",
            built->layout.gids.size(), built->code.insns.size(), load_s, s.insns, s.verified_insns,
            s.jited_bytes, built->layout.runs.size(), s.classifier_nodes, s.classifier_leaves,
            s.classifier_bytes);
    }
    return 0;
}

}  // namespace

int compile_command(int argc, char** argv) {
    static const option long_options[] = {{"output", required_argument, nullptr, 'o'},
                                          {"hook", required_argument, nullptr, 'H'},
                                          {"emit", required_argument, nullptr, 'e'},
                                          {"explain", no_argument, nullptr, 'x'},
                                          kIpsetsOption,
                                          kFormatOption,
                                          {"stats", no_argument, nullptr, 's'},
                                          kBackendOption,
                                          kIpv4Option,
                                          kIpv6Option,
                                          {"dump-after", required_argument, nullptr, 'D'},
                                          {"verbose", no_argument, nullptr, 'v'},
                                          {"codegen", required_argument, nullptr, 'G'},
                                          {nullptr, 0, nullptr, 0}};
    std::string out, emit = "obj", codegen_name = "c";
    RulesetOptions ruleset;
    passes::Trace trace;  // --dump-after PASS: the IR after that pass, to stderr; -v: each pass's time
    codegen::Hook hook = codegen::Hook::xdp;
    bool explain = false, stats = false, verbose = false;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "o:v46", long_options, nullptr)) != -1;) {
        OptionRead read = read_ruleset_option("bpftables compile", c, ruleset);
        if (read == OptionRead::bad) return 2;
        if (read == OptionRead::read) continue;
        switch (c) {
            case 'o':
                out = optarg;
                break;
            case 'H':
                if (!codegen::parse_hook(optarg, hook)) {
                    std::fprintf(stderr,
                                 "bpftables compile: unknown hook '%s' (xdp, tc-ingress, tc-egress)\n",
                                 optarg);
                    return 2;
                }
                break;
            case 'e':
                emit = optarg;
                break;
            case 'x':
                explain = true;
                break;
            case 's':
                stats = true;
                break;
            case 'D':
                trace.dump_after = optarg;
                break;
            case 'v':
                verbose = true;
                break;
            case 'G':
                codegen_name = optarg;
                break;
            default:
                return 2;
        }
    }
    if (optind + 1 != argc || (out.empty() && !explain && !stats && trace.dump_after.empty()) ||
        (emit != "obj" && emit != "c" && emit != "ir" && emit != "asm") ||
        (codegen_name != "c" && codegen_name != "direct")) {
        std::fputs(
            "usage: bpftables compile FILE -o OUT [--hook xdp|tc-ingress|tc-egress] [--emit obj|c|ir|asm] "
            "[--codegen c|direct] [--explain] [--ipsets FILE] [--format nft|nft-json|iptables] [-4|-6] "
            "[--backend legacy|nft] [--stats] [--dump-after PASS] [-v]\n",
            stderr);
        return 2;
    }
    bool direct = codegen_name == "direct";
    if (direct && !out.empty() && (emit == "obj" || emit == "c")) {
        std::fprintf(stderr,
                     "bpftables compile: --codegen direct emits instructions, not %s: --emit asm lists them, "
                     "--stats loads them\n",
                     emit == "obj" ? "an object file" : "C");
        return 2;
    }
    Diagnostics diags;
    std::optional<ir::Program> program =
        load_ruleset(argv[optind], ruleset.ipsets, diags, ruleset.format, ruleset.family);
    codegen::Options options = codegen::options_from_environment();
    options.semantics = ruleset.backend.value_or(compiler::Backend::legacy);
    if (verbose || !trace.dump_after.empty()) options.trace = &trace;
    auto report = [&] {
        if (!trace.dump_after.empty() && trace.dumped) std::fputs(trace.dump.c_str(), stderr);
        if (verbose)
            for (const auto& [pass, seconds] : trace.seconds)
                std::fprintf(stderr, "bpftables compile: pass %s: %.3f ms\n", pass.c_str(), seconds * 1e3);
        std::fputs(diags.str().c_str(), stderr);
    };
    if (!program) return report(), 1;

    std::string result;
    if (emit == "ir") {
        // The IR after the passes every ruleset goes through, as `import` prints it; the code generator's
        // passes run too, for --dump-after (which prints their plan).
        if (!passes::run_pipeline(*program, diags, options.trace) ||
            !codegen::run_transforms(*program, diags, options))
            return report(), 1;
        result = ir::to_save(*program);
        report();
    } else if (direct) {
        int rc = compile_direct(*program, hook, diags, options, explain, stats, result);
        report();
        if (rc != 0) return rc;
    } else {
        std::optional<codegen::Build> built =
            codegen::build(*program, hook, diags, options, emit == "obj" || emit == "asm" || stats);
        report();
        if (!built) return 1;
        result = emit == "c" ? built->c.source : built->object.object;
        if (emit == "asm") {
            // For now the listing of the clang-built object's code, decoded (codegen/insn), until the direct
            // back end emits the instructions itself.
            std::string error;
            std::optional<std::string> listing = codegen::insn::object_listing(result, error);
            if (!listing) {
                std::fprintf(stderr, "bpftables compile: internal error: cannot list the object: %s\n",
                             error.c_str());
                return 1;
            }
            result = *listing;
        }
        if (explain) {
            size_t kernel = 0;  // base chains that are not compiled have a gid too
            for (const auto& [name, gids] : built->c.layout.chains) kernel += gids.kernel >= 0;
            std::printf("hook %s: %zu rules and policies compiled\n", codegen::hook_name(hook),
                        built->c.layout.gids.size() - kernel);
            for (const codegen::Explanation& e : built->c.explain)
                std::printf("%s:%d: %s\n", e.loc.file.c_str(), e.loc.line, e.text.c_str());
            if (built->c.explain.empty()) std::puts("every rule is decided in BPF");
        }
        if (stats) {
            bpft_config config{};
            std::string error;
            auto start = std::chrono::steady_clock::now();
            auto loaded = loader::LoadedProgram::load(built->object.object, hook, config, *program,
                                                      built->c.layout, error);
            double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (!loaded) {
                std::fprintf(stderr, "bpftables compile: %s\n", error.c_str());
                return 1;
            }
            loader::ProgramStats s = loaded->stats();
            std::printf(
                "rules %zu  c_bytes %zu  clang_s %.3f  object_bytes %zu  load_s %.3f  insns %u  "
                "verified_insns %u  jited_bytes %u  classifier_runs %zu  classifier_nodes %zu  "
                "classifier_leaf_entries %zu  classifier_bytes %zu\n",
                built->c.layout.gids.size(), built->c.source.size(), built->object.seconds,
                built->object.object.size(), load_s, s.insns, s.verified_insns, s.jited_bytes,
                built->c.layout.runs.size(), s.classifier_nodes, s.classifier_leaves, s.classifier_bytes);
        }
    }
    if (!trace.dump_after.empty() && !trace.dumped) {
        std::fprintf(stderr, "bpftables compile: no pass named '%s' ran (see compiler/passes/README.md)\n",
                     trace.dump_after.c_str());
        return 2;
    }
    return out.empty() ? 0 : write_text("bpftables compile", out, result);  // -o -: stdout, as cc -o -
}

}  // namespace bpftables::cli
