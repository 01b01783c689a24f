#pragma once
// Set elements changed in place (issue 16 item 3). Generators (Docker, kube-proxy, fail2ban, firewalld) change
// set elements every few seconds with `nft add element` / `delete element`. A `bpftables-restore --format nft
// -n` whose only change is set elements builds no program: the running generation's set maps (pinned as
// g<N>_set<K>_<hook>, state.hpp) get the new elements (bpf_map_update_elem / bpf_map_delete_elem, additions
// before removals, so an interval's new prefixes are in before its old ones go), the kernel's copy the same
// `delete element` / `add element` lines, and the state the new canonical text. Counters do not move (no
// program changes). A change that does not fit (an element the maps have no room for, a set whose map kind
// or verdicts change, a state without set pins) builds a new generation instead; a failure at any step puts
// back what the steps before changed.
#include <optional>
#include <string>

#include "compiler/ir.hpp"
#include "runtime/live.hpp"
#include "runtime/state.hpp"

namespace bpftables::runtime {

// Whether the canonical text `next_text` (lowered: `next`) differs from the committed nft ruleset of `state`
// in set elements only: then the lines that change the kernel's copy, and `old_program` set to the committed
// ruleset lowered (the old elements). None otherwise (or when an element has options such as a timeout,
// whose lines this does not write).
std::optional<CommitRequest::Elements> element_change(const State& state, const std::string& next_text,
                                                      const ir::Program& next,
                                                      std::optional<ir::Program>& old_program);

enum class InPlace { done, rebuild, failed };

// Commits a request whose `elements` element_change made: in place (done), or nothing changed and a new
// generation must be built (rebuild: -v notes say why), or it failed and nothing changed (`error` says why).
InPlace commit_elements(const State& old, const CommitRequest& request, CommitReport& report,
                        std::string& error);

}  // namespace bpftables::runtime
