// The reader of the options several commands share (cli/common_options.hpp).
#include "cli/common_options.hpp"

#include <cstdio>

namespace bpftables::cli {

OptionRead read_ruleset_option(const char* cmd, int c, RulesetOptions& options, bool check_format) {
    switch (c) {
        case 'F':
            options.format = optarg;
            if (check_format && !compiler::parse_input_format(options.format)) {
                std::fprintf(stderr, "%s: --format is nft, nft-json or iptables\n", cmd);
                return OptionRead::bad;
            }
            return OptionRead::read;
        case 'S':
            options.ipsets = optarg;
            return OptionRead::read;
        case 'B':
            options.backend = compiler::parse_backend(optarg);
            if (!options.backend) {
                std::fprintf(stderr, "%s: --backend is legacy or nft\n", cmd);
                return OptionRead::bad;
            }
            return OptionRead::read;
        case '4':
            options.family = ir::Family::ipv4;
            return OptionRead::read;
        case '6':
            options.family = ir::Family::ipv6;
            return OptionRead::read;
        default:
            return OptionRead::other;
    }
}

}  // namespace bpftables::cli
