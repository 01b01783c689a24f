#pragma once
// The libraries that `bpftables import` reads the running rulesets with (libnftables; libip4tc and
// libxtables), opened when import runs instead of when the binary starts: linked, they and theirs (libnftnl,
// libmnl, libjansson, libgmp) were about 2 ms of every command's start (a restore's target is a few times
// iptables-legacy-restore's 4-7 ms). The package depends on them by name (packaging/CMakeLists.txt).
#include <dlfcn.h>

#include <string>

namespace bpftables::cli {

// `soname` opened (RTLD_NOW | RTLD_GLOBAL: libxtables' extensions use its symbols), kept open for the
// process; null with `error` when it cannot be.
inline void* open_library(const char* soname, std::string& error) {
    void* handle = dlopen(soname, RTLD_NOW | RTLD_GLOBAL);
    if (!handle) error = std::string("cannot open ") + soname + ": " + dlerror();
    return handle;
}

// `out` set to the function `name` of `library` (its declared type: decltype(&name)); false with `error`
// when it has none.
template <typename F>
bool library_function(void* library, const char* name, F*& out, std::string& error) {
    out = reinterpret_cast<F*>(dlsym(library, name));
    if (!out) error = std::string("the library lacks ") + name;
    return out != nullptr;
}

}  // namespace bpftables::cli
