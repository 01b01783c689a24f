#pragma once
// The live state of one network namespace, pinned in bpffs under /sys/fs/bpf/bpftables/<netns cookie>/ so that
// no daemon is needed: the committed ruleset (canonical text), the attachments, the gid layout of the running
// generation, and the pins of its programs, counter maps, interface-name maps and links.
//
//   state                   array map holding the text below (replaced atomically by rename from state_new)
//   g<N>_prog_<hook>        the generation's program for each hook in use
//   g<N>_counters_<hook>    its per-CPU counters (per gid)
//   g<N>_ifnames_<hook>     its ifindex -> name map (-i / -o)
//   g<N>_stats_<hook>       its per-CPU packet statistics per interface (bpftables stats)
//   g<N>_set<K>_<hook>      the map of a set its program looks up (State::set_maps[K] names the set)
//   link_<ifindex>_<hook>   one bpf_link per attached interface and hook (XDP link or tcx link), running:
//   dispatch_<hook>         the hook's dispatcher (bpf/dispatch.bpf.c), which tail-calls the program of the
//   dispatch_progs_<hook>   packet's family from this prog array (slot 0 IPv4, 1 IPv6: the g<N>_prog_<hook>
//                           of that family's running generation)
//
// The two families (iptables and ip6tables rulesets) each have a state and generations of their own: IPv6's
// are the names above with a `v6_` prefix (v6_state, v6_g<N>_prog_<hook>, ...); the links and dispatchers are
// shared. The attachments are IPv4's (`bpftables attach`): the IPv6 state's are read from it. A state
// written before the dispatcher has links that run its IPv4 program directly; the next commit puts the
// dispatcher there.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/fd.hpp"
#include "bpf/abi.h"
#include "codegen/hook.hpp"
#include "codegen/layout.hpp"
#include "compiler/input_format.hpp"
#include "compiler/ir.hpp"

namespace bpftables::runtime {

using bpftables::Fd;

// Where `bpftables attach --hook` puts an interface's ingress program; both also carry OUTPUT at tc-egress.
enum class AttachHook { xdp, tc };
// `bpftables attach --mode`: how an XDP program is attached (none at tc).
enum class XdpMode { none, native, generic };

const char* attach_hook_name(AttachHook hook);  // "xdp", "tc"
std::optional<AttachHook> parse_attach_hook(std::string_view name);
const char* xdp_mode_name(XdpMode mode);  // "", "native", "generic"
std::optional<XdpMode> parse_xdp_mode(std::string_view name);

struct Attachment {
    std::string iface;
    int ifindex = 0;
    AttachHook hook = AttachHook::xdp;
    XdpMode mode = XdpMode::none;
};

// The default bit of State::decided_mark.
constexpr uint32_t kDefaultDecidedMark = 0x01000000;

// The program hooks an attachment needs: at XDP also tc-ingress, which takes over what XDP accepted (and
// what it could not judge) for the kernel's copy. OUTPUT is the kernel's copy's alone: its filter OUTPUT runs
// before tc-egress, so a program there could only judge again what the copy decided (docs/design-notes.md).
std::vector<codegen::Hook> attachment_hooks(const Attachment& a);

struct State {
    uint64_t generation = 0;
    std::vector<Attachment> attachments;
    std::vector<codegen::Hook> hooks;    // the hooks the running generation has programs for
    std::vector<codegen::GidInfo> gids;  // layout of the running generation
    // Counted by the previous generation between the copy of its counters and the swap; added on reading.
    std::map<int, bpft_counter> offsets;
    std::string ipsets;   // the committed ruleset's sets, `ipset save` text (bpftables-restore --ipsets)
    std::string ruleset;  // committed ruleset, canonical iptables-save text (or nft text: `format`)
    // nft: `ruleset` is an nft ruleset in the canonical form of compiler/nft/canonical.hpp (from nft text or
    // nft JSON input); iptables: iptables-save text. Never nft_json.
    compiler::InputFormat format = compiler::InputFormat::iptables;
    // The iptables variant whose restore holds the kernel's copy of an iptables ruleset (none for an nft
    // ruleset, and in a state written before backends were kept): its semantics decide what the programs
    // hand over (ir::ShortHeaders).
    std::optional<compiler::Backend> backend;
    // Decided once (docs/design-notes.md): the skb mark bit the tc-ingress program sets on what the programs
    // accepted, which the kernel's copy accepts (and clears) in its first rule of each base chain; 0: no
    // handoff (every packet meets the whole copy). `bpftables-restore --decided-mark`.
    uint32_t decided_mark = kDefaultDecidedMark;
    // The direct back end's programs: what their entry program was loaded as (loader::LoadedProgram::
    // entry_key), so that a later generation whose entry program would be the same keeps it.
    std::map<codegen::Hook, std::string> entries;
    // The maps of the sets (nft sets and maps, ipsets) the running generation's programs look up, pinned as
    // g<N>_set<K>_<hook> for entry K (set_pin), so that an `add element` changes them in place
    // (runtime/elements.hpp); `set_maps_pinned`: the generation pinned them all (a state written before did
    // not).
    std::vector<std::pair<codegen::Hook, std::string>> set_maps;
    bool set_maps_pinned = false;
};

// The family whose state the commands of this process read and commit: IPv4 (bpftables, bpftables-restore, ...)
// unless main() selects IPv6 (the bpftables6 names).
ir::Family state_family();
void select_family(ir::Family family);
// Its slot in the dispatchers' prog arrays (bpf/dispatch.bpf.c).
uint32_t family_slot(ir::Family family);

// Whether the committed ruleset is nft text; else iptables-save text.
bool is_nft(const State& state);

std::string serialize(const State& state);
std::optional<State> parse_state(const std::string& text, std::string& error);

// /sys/fs/bpf/bpftables, where every namespace's state directory is.
std::string state_root();
// /sys/fs/bpf/bpftables/<cookie of this process's network namespace> (runtime/netns.hpp: a cookie is never
// reused, where a deleted namespace's inode number soon names a new namespace).
std::string state_dir();
// Whether bpffs is mounted at /sys/fs/bpf, and the message that says it is not.
bool bpffs_mounted();
std::string bpffs_missing();
// Fails without bpffs at /sys/fs/bpf (no state can be read, and state kept in another bpffs would hide the
// running generation) unless `mount_if_missing` (attach) mounts it there; never in a private mount namespace
// (`ip netns exec`), where bpffs and its pins would vanish with the command.
bool check_bpffs(std::string& error, bool mount_if_missing = false);
// Makes sure the state directory exists (a commit creates it; nothing else does, so that a command that
// changes nothing leaves nothing behind).
bool ensure_state_dir(std::string& error);

std::string pin_path(const std::string& name);
// The pins of state_family()'s state and generations.
std::string family_pin(const std::string& name);
std::string gen_pin(uint64_t generation, const char* what, codegen::Hook hook);
// The pin of State::set_maps[k] of `generation`.
std::string set_pin(uint64_t generation, size_t k, codegen::Hook hook);
// Shared by the families: an attachment's link, a hook's dispatcher ("prog") and its prog array ("progs").
std::string link_pin(int ifindex, codegen::Hook hook);
std::string dispatch_pin(const char* what, codegen::Hook hook);

// The state of state_family() in this namespace; a default State when nothing was ever committed; an error
// without bpffs. IPv6's has IPv4's attachments.
std::optional<State> read_state(std::string& error);
// Replaces the pinned state atomically.
bool write_state(const State& state, std::string& error);
// Removes every pin of state_family(); when the other family has no state either, also the links and
// dispatchers and the namespace's directory. IPv6's removal first empties its dispatcher slots.
bool remove_all(std::string& error);

// Opens a pinned object; an empty Fd when absent.
Fd open_pin(const std::string& path);
bool pin(int fd, const std::string& path, std::string& error);
void unpin(const std::string& path);

}  // namespace bpftables::runtime
