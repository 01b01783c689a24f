// What the kernel's copy of a live iptables ruleset cannot be given when the programs hand it what they
// decided with a mark bit (runtime/netfilter.hpp: kernel_copy; docs/design-notes.md, "Decided once"): a rule
// that can set the bit would make the copy skip a packet no program judged, and a rule that tests the bit
// set would see what no ruleset without bpftables sees. Reads that only mask it are fine: the copy loses the
// bit from their masks. In nft rulesets, the statements the kernel's copy runs for the programs (`meta mark
// set`) must not set it either; a decided packet never meets a chain the programs do not compile.
//   before: *mangle -A PREROUTING -j MARK --set-xmark 0x1000000/0x1000000
//   after:  error at MARK: MARK sets bit 0x1000000 of the packet mark, which bpftables uses ...
#include <optional>

#include "compiler/passes/pass.hpp"
#include "compiler/values.hpp"

namespace bpftables::passes {
namespace {

constexpr const char* kReserved = "BPFTABLES-DECIDED";

using values::format_hex;

std::optional<uint32_t> number(const std::string& text) {
    uint32_t v = 0;
    if (!values::parse_number(text, v)) return std::nullopt;
    return v;
}

// VALUE[/MASK]: the value (and the mask, all ones when absent).
std::pair<uint32_t, uint32_t> value_mask(const std::string& text) {
    size_t slash = text.find('/');
    uint32_t value = number(text.substr(0, slash)).value_or(0xffffffff);
    uint32_t mask =
        slash == std::string::npos ? 0xffffffff : number(text.substr(slash + 1)).value_or(0xffffffff);
    return {value, mask};
}

// The bits of the packet mark an opaque target can set (0 when it writes no packet mark).
uint32_t bits_set(const ir::OpaqueTarget& x) {
    const std::vector<std::string>& a = x.args;
    auto arg = [&](const char* name) -> std::optional<std::string> {
        for (size_t i = 0; i + 1 < a.size(); ++i)
            if (a[i] == name) return a[i + 1];
        return std::nullopt;
    };
    auto has = [&](const char* name) {
        for (const std::string& s : a)
            if (s == name) return true;
        return false;
    };
    if (x.name ==
        "MARK") {  // mark = (mark & ~mask) ^ value (xmark), | value (or), ^ value (xor), & value (and)
        for (const char* o : {"--set-xmark", "--set-mark", "--or-mark", "--xor-mark"})
            if (auto v = arg(o)) return value_mask(*v).first;
        return 0;  // --and-mark only clears
    }
    if (x.name == "CONNMARK" && has("--restore-mark")) {  // mark bits from the connection's mark
        uint32_t nfmask = 0xffffffff, ctmask = 0xffffffff;
        if (auto v = arg("--mask")) nfmask = ctmask = number(*v).value_or(0xffffffff);
        if (auto v = arg("--nfmask")) nfmask = number(*v).value_or(0xffffffff);
        if (auto v = arg("--ctmask")) ctmask = number(*v).value_or(0xffffffff);
        return nfmask & ctmask;
    }
    if (x.name == "TPROXY")
        if (auto v = arg("--tproxy-mark")) return value_mask(*v).first;
    if (x.name == "HMARK") {  // offset + hash % mod: every bit up to the largest value
        uint32_t offset = number(arg("--hmark-offset").value_or("0")).value_or(0xffffffff);
        uint32_t mod = number(arg("--hmark-mod").value_or("0")).value_or(0xffffffff);
        uint64_t top = static_cast<uint64_t>(offset) + (mod ? mod - 1 : 0);
        uint32_t bits = 0;
        while (top) bits = (bits << 1) | 1, top >>= 1;
        return bits;
    }
    if (x.name == "SET" && has("--map-mark")) return 0xffffffff;  // whatever the set's entries hold
    return 0;
}

std::vector<std::string> words(const std::string& text) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < text.size()) {
        size_t j = text.find(' ', i);
        if (j == std::string::npos) j = text.size();
        if (j > i) out.push_back(text.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

// The bits of the packet mark that nft statements the copy runs (an `nft --statement` opaque match: the
// rest of the rule from the first statement bpftables does not compile) can set: `meta mark set` (or `mark
// set`) with a constant, the mark or'ed or xor'ed with a constant (and'ed: none); anything else (ct mark, a
// map, numgen ...) may set any bit.
uint32_t nft_bits_set(const std::string& statements) {
    std::vector<std::string> w = words(statements);
    uint32_t bits = 0;
    for (size_t i = 0; i + 2 < w.size(); ++i) {
        if (w[i + 1] != "set" || w[i] != "mark" || (i > 0 && w[i - 1] == "ct")) continue;
        size_t v = i + 2;
        if (std::optional<uint32_t> n = number(w[v])) {
            bits |= *n;
            continue;
        }
        if (w[v] == "meta" && v + 1 < w.size() && w[v + 1] == "mark") ++v;
        if (w[v] == "mark" && v + 2 < w.size()) {
            const std::string& op = w[v + 1];
            std::optional<uint32_t> n = number(w[v + 2]);
            if (n && (op == "&" || op == "and")) continue;
            if (n && (op == "|" || op == "or" || op == "^" || op == "xor")) {
                bits |= *n;
                continue;
            }
        }
        bits = 0xffffffff;
    }
    return bits;
}

}  // namespace

bool check_decided_mark(const ir::Program& program, uint32_t bit, Diagnostics& diags) {
    if (bit == 0) return true;
    std::string why =
        "bit " + format_hex(bit) +
        " of the packet mark, which bpftables uses to tell the kernel's copy of the ruleset what "
        "its programs decided (bpftables-restore --decided-mark BIT picks another, 0 none)";
    bool ok = true;
    for (const ir::Table& t : program.tables) {
        for (const ir::Chain& c : t.chains) {
            if (!t.family.empty()) {  // nft: no decided packet meets a chain the programs do not compile
                for (const ir::Rule& r : c.rules)
                    for (size_t i = 0; i < r.matches.size(); ++i) {
                        const auto* m = std::get_if<ir::OpaqueMatch>(&r.matches[i]);
                        if (!m || m->module != "nft" || m->args.size() != 2 ||
                            !(nft_bits_set(m->args[1]) & bit))
                            continue;
                        diags.error(i < r.match_locs.size() ? r.match_locs[i] : r.loc,
                                    "table " + t.family + " " + t.name + " chain " + c.name + ": \"" +
                                        m->args[1] + "\" can set " + why);
                        ok = false;
                    }
                continue;
            }
            if (c.name == kReserved) {
                diags.error(c.loc, std::string("chain ") + kReserved + " is reserved: it clears " + why);
                ok = false;
            }
            for (const ir::Rule& r : c.rules) {
                for (size_t i = 0; i < r.matches.size(); ++i) {
                    const auto* m = std::get_if<ir::MarkMatch>(&r.matches[i]);
                    if (!m || (m->value & m->mask & bit) == 0) continue;
                    diags.error(i < r.match_locs.size() ? r.match_locs[i] : r.loc,
                                "this mark match tests " + why);
                    ok = false;
                }
                const auto* x = std::get_if<ir::OpaqueTarget>(&r.target);
                if (x && (bits_set(*x) & bit)) {
                    diags.error(r.target_loc, x->name + " can set " + why, static_cast<int>(x->name.size()));
                    ok = false;
                }
            }
        }
    }
    return ok;
}

}  // namespace bpftables::passes
