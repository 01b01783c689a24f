// list_nft_ruleset: libnftables' `list ruleset`, output buffered.
#include <nftables/libnftables.h>

#include <memory>

#include "cli/import_libraries.hpp"
#include "cli/import_sources.hpp"

namespace bpftables::cli {
namespace {

// libnftables' functions, from the library opened on first use (import_libraries.hpp).
struct Nftables {
    decltype(&::nft_ctx_new) nft_ctx_new = nullptr;
    decltype(&::nft_ctx_free) nft_ctx_free = nullptr;
    decltype(&::nft_ctx_output_set_flags) nft_ctx_output_set_flags = nullptr;
    decltype(&::nft_ctx_buffer_output) nft_ctx_buffer_output = nullptr;
    decltype(&::nft_ctx_buffer_error) nft_ctx_buffer_error = nullptr;
    decltype(&::nft_run_cmd_from_buffer) nft_run_cmd_from_buffer = nullptr;
    decltype(&::nft_ctx_get_error_buffer) nft_ctx_get_error_buffer = nullptr;
    decltype(&::nft_ctx_get_output_buffer) nft_ctx_get_output_buffer = nullptr;
};

const Nftables* nftables(std::string& error) {
    static Nftables n;
    static bool loaded = false;
    if (loaded) return &n;
    void* lib = open_library("libnftables.so.1", error);
    if (!lib || !library_function(lib, "nft_ctx_new", n.nft_ctx_new, error) ||
        !library_function(lib, "nft_ctx_free", n.nft_ctx_free, error) ||
        !library_function(lib, "nft_ctx_output_set_flags", n.nft_ctx_output_set_flags, error) ||
        !library_function(lib, "nft_ctx_buffer_output", n.nft_ctx_buffer_output, error) ||
        !library_function(lib, "nft_ctx_buffer_error", n.nft_ctx_buffer_error, error) ||
        !library_function(lib, "nft_run_cmd_from_buffer", n.nft_run_cmd_from_buffer, error) ||
        !library_function(lib, "nft_ctx_get_error_buffer", n.nft_ctx_get_error_buffer, error) ||
        !library_function(lib, "nft_ctx_get_output_buffer", n.nft_ctx_get_output_buffer, error))
        return error = "libnftables: " + error, nullptr;
    loaded = true;
    return &n;
}

}  // namespace

bool list_nft_ruleset(bool json, std::string& out, std::string& error) {
    const Nftables* lib = nftables(error);
    if (!lib) return false;
    std::unique_ptr<nft_ctx, decltype(lib->nft_ctx_free)> ctx(lib->nft_ctx_new(NFT_CTX_DEFAULT),
                                                              lib->nft_ctx_free);
    if (!ctx) return error = "libnftables: cannot create a context", false;
    if (json) lib->nft_ctx_output_set_flags(ctx.get(), NFT_CTX_OUTPUT_JSON);
    if (lib->nft_ctx_buffer_output(ctx.get()) != 0 || lib->nft_ctx_buffer_error(ctx.get()) != 0)
        return error = "libnftables: cannot buffer the output", false;
    if (lib->nft_run_cmd_from_buffer(ctx.get(), "list ruleset") != 0) {
        const char* e = lib->nft_ctx_get_error_buffer(ctx.get());
        error = std::string("libnftables: list ruleset failed: ") + (e && *e ? e : "unknown error");
        while (!error.empty() && error.back() == '\n') error.pop_back();
        return false;
    }
    const char* o = lib->nft_ctx_get_output_buffer(ctx.get());
    out = o ? o : "";
    return true;
}

}  // namespace bpftables::cli
