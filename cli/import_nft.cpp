// list_nft_ruleset: libnftables' `list ruleset`, output buffered.
#include <nftables/libnftables.h>

#include <memory>

#include "cli/import_sources.hpp"

namespace bpftables::cli {

bool list_nft_ruleset(bool json, std::string& out, std::string& error) {
    std::unique_ptr<nft_ctx, decltype(&nft_ctx_free)> ctx(nft_ctx_new(NFT_CTX_DEFAULT), nft_ctx_free);
    if (!ctx) return error = "libnftables: cannot create a context", false;
    if (json) nft_ctx_output_set_flags(ctx.get(), NFT_CTX_OUTPUT_JSON);
    if (nft_ctx_buffer_output(ctx.get()) != 0 || nft_ctx_buffer_error(ctx.get()) != 0)
        return error = "libnftables: cannot buffer the output", false;
    if (nft_run_cmd_from_buffer(ctx.get(), "list ruleset") != 0) {
        const char* e = nft_ctx_get_error_buffer(ctx.get());
        error = std::string("libnftables: list ruleset failed: ") + (e && *e ? e : "unknown error");
        while (!error.empty() && error.back() == '\n') error.pop_back();
        return false;
    }
    const char* o = nft_ctx_get_output_buffer(ctx.get());
    out = o ? o : "";
    return true;
}

}  // namespace bpftables::cli
