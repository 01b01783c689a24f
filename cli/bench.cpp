// bpftables bench [ARGS]: runs the benchmark harness (bench/run_bench.py, bench/README.md) with ARGS. The harness
// is found beside the build tree the binary runs from (build/cli/bpftables: the source tree's bench/ with
// build/bench/bpftables_bench), else where `cmake --install` puts it (libexec/bpftables/bench/, found from the
// binary's own place, sbin/); BPFTABLES_BENCH_DIR names another harness directory whose parent holds
// bench/bpftables_bench.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"

namespace bpftables::cli {
namespace {

namespace fs = std::filesystem;

struct Harness {
    fs::path script;     // run_bench.py
    fs::path build_dir;  // holds bench/bpftables_bench and bench/bench.bpf.o (run_bench.py --build-dir)
};

std::optional<Harness> find_harness() {
    if (const char* dir = std::getenv("BPFTABLES_BENCH_DIR"); dir && *dir)
        return Harness{fs::path(dir) / "run_bench.py", fs::path(dir).parent_path()};
    std::error_code ec;
    fs::path exe_dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
    if (ec) return std::nullopt;
    fs::path build = exe_dir.parent_path();
    if (fs::exists(build / "CMakeCache.txt", ec) && fs::exists(build / "bench" / "bpftables_bench", ec))
        return Harness{fs::path(BPFTABLES_SOURCE_DIR) / "bench" / "run_bench.py", build};
    fs::path installed = (exe_dir / BPFTABLES_LIBEXEC_FROM_SBIN).lexically_normal();
    return Harness{installed / "bench" / "run_bench.py", installed};
}

}  // namespace

int bench_command(int argc, char** argv) {
    std::optional<Harness> h = find_harness();
    std::error_code ec;
    if (!h || !fs::exists(h->script, ec)) {
        std::fprintf(stderr, "bpftables bench: the benchmark harness is not installed (looked for %s)\n",
                     h ? h->script.c_str() : "run_bench.py");
        return 1;
    }
    // The harness's own defaults come first, so that the caller's --build-dir wins (argparse keeps the last).
    // Run through its #! line (Debian's /usr/bin/python3, whose python3-matplotlib draws the plots), else
    // through the python3 of PATH.
    std::vector<std::string> args = {"python3", h->script.string(), "--build-dir", h->build_dir.string()};
    for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
    std::vector<char*> cargs;
    cargs.reserve(args.size() + 1);
    for (std::string& a : args) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    execv(h->script.c_str(), cargs.data() + 1);
    execvp("python3", cargs.data());
    std::fprintf(stderr, "bpftables bench: cannot run python3: %s\n", std::strerror(errno));
    return 1;
}

}  // namespace bpftables::cli
