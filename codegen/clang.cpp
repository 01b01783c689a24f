#include "codegen/clang.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace bpftables::codegen {
namespace {

namespace fs = std::filesystem;

// A private temporary directory removed when it goes out of scope.
class TempDir {
  public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "bpftables.XXXXXX").string();
        if (mkdtemp(tmpl.data())) path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        if (!path_.empty()) fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string clang_binary() {
    if (const char* c = std::getenv("BPFTABLES_CLANG")) return c;
    return "clang";
}

}  // namespace

std::optional<ClangResult> compile_c(const std::string& source, Diagnostics& diags) {
    auto start = std::chrono::steady_clock::now();
    TempDir dir;
    if (dir.path().empty()) {
        diags.error({}, "cannot create a temporary directory for clang");
        return std::nullopt;
    }
    fs::path src = dir.path() / "prog.c", obj = dir.path() / "prog.o", log = dir.path() / "clang.log";
    std::ofstream(src) << source;

    pid_t pid = fork();
    if (pid < 0) {
        diags.error({}, "cannot start clang");
        return std::nullopt;
    }
    if (pid == 0) {
        int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) dup2(fd, 2), dup2(fd, 1);
        if (chdir(dir.path().c_str()) != 0) _exit(126);  // see chain_emitter.cpp line_directive()
        std::string clang = clang_binary();
        execlp(clang.c_str(), clang.c_str(), "-O2", "-g", "-target", "bpf", "-mcpu=v3",
               "-I/usr/include/x86_64-linux-gnu", "-Wno-unused-label", "-Wno-unused-function",
               "-Wno-compare-distinct-pointer-types", "-c", src.c_str(), "-o", obj.c_str(),
               static_cast<char*>(nullptr));
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::string msg = WIFEXITED(status) && WEXITSTATUS(status) == 127
                              ? "cannot run clang (install it, or set BPFTABLES_CLANG)"
                              : "internal error: clang rejected the generated C:\n" + read_file(log);
        diags.error({}, msg);
        return std::nullopt;
    }
    ClangResult r;
    r.object = read_file(obj);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

}  // namespace bpftables::codegen
