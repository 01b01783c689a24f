// bpftables stats: what the attached programs did with each interface's packets (issue 13: decided once).
#include <getopt.h>
#include <net/if.h>

#include <cstdio>
#include <string>

#include "cli/live_commands.hpp"
#include "runtime/live.hpp"

namespace bpftables::cli {
namespace {

// enum bpft_stat's handovers, as the text and the JSON name them.
struct Reason {
    bpft_stat stat;
    const char* name;
};
constexpr Reason kReasons[] = {
    {BPFT_STAT_NOT_IP, "not-ipv4"}, {BPFT_STAT_HEADER, "header"}, {BPFT_STAT_CHECKSUM, "checksum"},
    {BPFT_STAT_REJECT, "reject"},   {BPFT_STAT_RULE, "rule"},     {BPFT_STAT_COUNTED, "counted-rules"},
    {BPFT_STAT_OTHER, "other"},
};

void usage(FILE* out) {
    std::fputs(
        "usage: bpftables stats [--json]\n"
        "  per interface and hook: the packets the running programs decided in BPF (accepted, dropped)\n"
        "  and those they handed to the kernel, by reason, since the hook was attached\n",
        out);
}

}  // namespace

int stats_command(int argc, char** argv) {
    bool json = false;
    static const option longs[] = {
        {"json", no_argument, nullptr, 'j'}, {"help", no_argument, nullptr, 'h'}, {}};
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "h", longs, nullptr)) != -1;) {
        if (c == 'j') {
            json = true;
        } else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        std::fprintf(stderr, "bpftables stats: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    std::string error;
    std::optional<runtime::State> state = runtime::read_state(error);
    if (!state) return std::fprintf(stderr, "bpftables stats: %s\n", error.c_str()), 1;
    // Both families' programs: the IPv6 ruleset's lines say so (`family` in JSON).
    ir::Family own = runtime::state_family();
    std::vector<std::pair<ir::Family, runtime::InterfaceStats>> all;
    for (ir::Family f : {ir::Family::ipv4, ir::Family::ipv6}) {
        runtime::select_family(f);
        std::optional<runtime::State> family_state = f == own ? state : runtime::read_state(error);
        if (family_state)
            for (const runtime::InterfaceStats& s : runtime::live_stats(*family_state))
                all.emplace_back(f, s);
    }
    runtime::select_family(own);
    if (json) std::printf("{\"generation\": %llu, \"interfaces\": [", (unsigned long long)state->generation);
    for (size_t i = 0; i < all.size(); ++i) {
        const runtime::InterfaceStats& s = all[i].second;
        bool ipv6 = all[i].first == ir::Family::ipv6;
        char name[IF_NAMESIZE] = {};
        if (!if_indextoname(s.ifindex, name)) std::snprintf(name, sizeof name, "?");
        uint64_t accepted = s.packets[BPFT_STAT_ACCEPT], dropped = s.packets[BPFT_STAT_DROP], handed = 0;
        for (const Reason& r : kReasons) handed += s.packets[r.stat];
        uint64_t decided = accepted + dropped, total = decided + handed;
        if (json) {
            std::printf(
                "%s{\"interface\": \"%s\", \"ifindex\": %u, \"hook\": \"%s\", \"family\": \"%s\", "
                "\"packets\": %llu, \"accepted\": %llu, \"dropped\": %llu, \"handed_over\": {",
                i ? ", " : "", name, s.ifindex, codegen::hook_name(s.hook), ipv6 ? "ipv6" : "ipv4",
                (unsigned long long)total, (unsigned long long)accepted, (unsigned long long)dropped);
            bool first = true;
            for (const Reason& r : kReasons) {
                std::printf("%s\"%s\": %llu", first ? "" : ", ", r.name,
                            (unsigned long long)s.packets[r.stat]);
                first = false;
            }
            std::printf("}}");
            continue;
        }
        std::printf(
            "%s (ifindex %u) %s%s: %llu packets, decided in BPF %llu (%.0f%%): accepted %llu, dropped %llu; "
            "handed to the kernel %llu",
            name, s.ifindex, codegen::hook_name(s.hook), ipv6 ? " IPv6" : "", (unsigned long long)total,
            (unsigned long long)decided,
            total ? 100.0 * static_cast<double>(decided) / static_cast<double>(total) : 0.0,
            (unsigned long long)accepted, (unsigned long long)dropped, (unsigned long long)handed);
        const char* sep = ": ";
        for (const Reason& r : kReasons)
            if (s.packets[r.stat]) {
                std::printf("%s%s %llu", sep, r.name, (unsigned long long)s.packets[r.stat]);
                sep = ", ";
            }
        std::printf("\n");
    }
    if (json) std::printf("]}\n");
    return 0;
}

}  // namespace bpftables::cli
