#pragma once
// The direct back end's matches (direct_emitter.hpp): each match kind becomes conditions over fields of the
// scratch value, as match_emitters.cpp makes C conditions for the C back end (the same three: kernel_if,
// hotdrop_if, cond), and conditions become short-circuit jumps.
#include <optional>
#include <string>
#include <vector>

#include "codegen/direct_emitter.hpp"

namespace bpftables::codegen::direct {

// A condition: a comparison of one field, a name's two words (interface names), a token bucket (limit), a
// set lookup, or a combination.
struct Cond {
    enum class Kind { yes, no, cmp, words, limit, in_set, local, lookup, all, any, negate } kind = Kind::yes;
    ScratchField field;          // cmp, words; in_set, local: the address looked up
    uint32_t mask = 0xffffffff;  // cmp: (field & mask) op value
    insn::JmpOp op = insn::JmpOp::eq;
    uint32_t value = 0;
    IfnameWords name;  // words: ((field.w[i] ^ name.word[i]) & name.mask[i]) == 0 for i = 0, 1
    // limit: bpft_limit (bpf/bpftables.bpf.h) on state `index` of the limits map, a packet's cost and the
    // bucket's capacity in ns; in_set: the set map at fd_array index `index`
    uint32_t index = 0;
    uint64_t cost = 0, cap = 0;
    std::vector<Cond> parts;
    // lookup: an nft set's map at fd_array index `index`, keyed by these fields (KeyLoad) in order; `lpm`: a
    // trie keyed by (32, the one address)
    struct KeyLoad {
        ScratchField field;
        enum class How { addr, byte, port, name } how = How::addr;
    };
    std::vector<KeyLoad> key;
    bool lpm = false;
};

struct DirectMatch {
    Cond kernel_if{Cond::Kind::no};
    Cond hotdrop_if{Cond::Kind::no};
    Cond cond{Cond::Kind::yes};
};

struct MatchInput {
    const ScratchLayout& scratch;
    bool before_conntrack;       // the chain runs before conntrack (iptables' raw)
    const Layout& layout;        // limit states and sets
    int gid, match_index;        // of the match (its limit state)
    const ir::Program& program;  // nft sets
};

// An nft lookup's conditions (ir::NftSetMatch, ir::VmapTarget; match_emitters.hpp: nft_lookup_code): the key's
// prerequisites in kernel_if, hotdrop_if and cond, and the lookup itself, a Kind::lookup condition returned
// apart (true when the key is in the map at fd_array index `map_index`).
struct NftLookup {
    DirectMatch checks;
    Cond lookup;
};
NftLookup nft_lookup(const std::vector<ir::KeyPart>& key, bool lpm, uint32_t map_index,
                     const ScratchLayout& scratch);

// The conditions of a match whose C (emit_match) decides in BPF; nullopt when the direct back end does not
// emit this kind yet.
std::optional<DirectMatch> direct_match(const ir::Match& match, const MatchInput& in);

// Emits jumps to `target` taken when `c` is `when`; falls through otherwise. Uses r0 to r5 and, for a limit,
// r7 to r9 (free in chain functions) and the stack below r10 - 8; r6 holds the scratch value. `fresh` names
// local labels.
class CondEmitter {
  public:
    CondEmitter(insn::Program& p, std::string prefix) : p_(p), prefix_(std::move(prefix)) {}
    void jump_if(const Cond& c, bool when, const std::string& target);
    // A Kind::lookup condition's key built on the stack and looked up: r0 the element's value, or 0.
    void map_lookup(const Cond& c);

  private:
    std::string fresh();
    void limit(const Cond& c, bool when, const std::string& target);
    void in_set(const Cond& c, bool when, const std::string& target);
    void local(const Cond& c, bool when, const std::string& target);
    void lookup(const Cond& c);
    insn::Program& p_;
    std::string prefix_;
    int next_ = 0;
};

}  // namespace bpftables::codegen::direct
