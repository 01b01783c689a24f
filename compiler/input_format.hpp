#pragma once
// The names the commands take for what a ruleset is written in (--format: InputFormat, with the one guess
// from its content) and for the iptables variant whose semantics and kernel copy it follows (--backend:
// Backend). Header only: the CLI and the runtime both read them.
#include <optional>
#include <string>
#include <string_view>

#include "compiler/nft/lower.hpp"
#include "parser/nft_json.hpp"

namespace bpftables::compiler {

enum class InputFormat {
    iptables,  // iptables-save / iptables-restore text
    nft,       // nft list ruleset / nft -f text
    nft_json,  // nft -j list ruleset
};

inline const char* input_format_name(InputFormat f) {
    switch (f) {
        case InputFormat::iptables:
            return "iptables";
        case InputFormat::nft:
            return "nft";
        case InputFormat::nft_json:
            return "nft-json";
    }
    return "";
}

inline std::optional<InputFormat> parse_input_format(std::string_view name) {
    for (InputFormat f : {InputFormat::iptables, InputFormat::nft, InputFormat::nft_json})
        if (name == input_format_name(f)) return f;
    return std::nullopt;
}

// The format of a ruleset given without --format: nft JSON, nft text, else iptables-save text.
inline InputFormat guess_input_format(const std::string& text) {
    return parser::looks_like_nft_json(text) ? InputFormat::nft_json
           : looks_like_nft(text)            ? InputFormat::nft
                                             : InputFormat::iptables;
}

// The iptables whose restore holds the kernel's copy of an iptables ruleset, and whose semantics the
// programs follow where the two differ (ir::ShortHeaders).
enum class Backend { legacy, nft };

inline const char* backend_name(Backend b) {
    return b == Backend::legacy ? "legacy" : "nft";
}

inline std::optional<Backend> parse_backend(std::string_view name) {
    if (name == "legacy") return Backend::legacy;
    if (name == "nft") return Backend::nft;
    return std::nullopt;
}

}  // namespace bpftables::compiler
