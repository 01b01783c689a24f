#pragma once
// One emitter per match kind: each turns a match into C conditions over `struct bpft_pkt *p` (see
// bpf/bpftables.bpf.h). Emitters never choose verdicts; the rule emitter (chain_emitter.cpp) does, from these
// conditions:
//   kernel_if  - when true, only the kernel can decide this match here: the packet is handed over
//   hotdrop_if - when true, netfilter drops the packet at this match (a header too short to read)
//   cond       - when true (and neither of the above), the match matches
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/diagnostics.hpp"
#include "codegen/hook.hpp"
#include "codegen/layout.hpp"
#include "compiler/ir.hpp"

namespace bpftables::codegen {

struct Needs {  // optional parts of bpf/bpftables.bpf.h the program uses
    bool ct = false, ifname = false, tcpopt = false, limit = false;
};

struct MatchCode {
    std::string kernel_if;
    std::string hotdrop_if;
    std::string cond = "1";
    std::string kernel_why;  // set when kernel_if is always true: why this hook cannot decide the match
};

struct MatchContext {
    Hook hook;
    const std::string& table;
    bool before_conntrack;  // the chain runs before conntrack (iptables' raw): no ct state yet
    const Layout& layout;
    int gid;
    int match_index;
    SourceLoc loc;
    Diagnostics& diags;
    Needs& needs;
    const ir::Program& program;
    bool target_decides;  // the rule's target can change the verdict (anything but LOG or no target)
};

// The interface name as iptables compares it: the bytes of the name plus its NUL, or only the prefix before
// a trailing '+'; packed into two little-endian words (as struct bpft_ifname holds a name) and their masks.
// A name matches when ((name.w[i] ^ word[i]) & mask[i]) == 0 for both words.
struct IfnameWords {
    uint64_t word[2] = {}, mask[2] = {};
};
IfnameWords ifname_words(const ir::InterfaceMatch& m);

// An IPv6 address as the four host-order words of bpft_pkt's saddr6/daddr6 ([0] the most significant).
std::array<uint32_t, 4> ipv6_words(const ir::Ipv6Addr& a);

// An nft lookup (ir::NftSetMatch, ir::VmapTarget) in C: `checks` its key's prerequisites (kernel_if: an
// interface the hook cannot name; hotdrop_if: a transport header too short for its ports; cond: the protocol
// of tcp/udp ports), `lookup` an expression of the element's value (`__u32 *`, null when the key is not in the
// set's map bpft_set_N).
struct NftLookupCode {
    MatchCode checks;
    std::string lookup;
};
std::optional<NftLookupCode> nft_lookup_code(const std::string& set, const std::vector<ir::KeyPart>& key,
                                             MatchContext& ctx);

// Empty when the match cannot be compiled at all (diagnosed).
std::optional<MatchCode> emit_match(const ir::Match& match, MatchContext& ctx);

}  // namespace bpftables::codegen
