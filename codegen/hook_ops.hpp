#pragma once
// The hook operations: everything the generated program does differently at XDP, TC ingress and TC egress,
// one row per hook (hook_ops.cpp). Matchers and chains are hook-independent; the entry point's prologue and
// epilogue, its verdict codes and what is unavailable at a hook come from here, so a new hook is one row.
#include "codegen/hook.hpp"

namespace bpftables::codegen {

struct HookOps {
    Hook hook;
    const char* entry_point;    // the BPF program's function name
    const char* section;        // its SEC("...")
    const char* defines;        // what bpf/bpftables.bpf.h is told about the hook (#define lines)
    const char* ctx_type;       // the program's context
    const char* pass;           // return code: the packet goes on (to the kernel's stack)
    const char* drop;           // return code: the packet is dropped
    const char* read_metadata;  // C lines: what the context holds besides the packet (empty: nothing)
    bool received;              // packets arrive on an interface; else locally generated, for OUTPUT only
    const char* no_mark;        // why -m mark cannot be decided at this hook, or nullptr
    const char* no_mac_source;  // why -m mac --mac-source cannot be decided at this hook, or nullptr
    // Decided once (bpf/abi.h, BPFT_META_*; all three do nothing unless bpft_cfg.decided_mark is set):
    const char* handoff_in;      // C lines first in the entry: what the hook before this one decided
    const char* checksum_defer;  // C lines after the conntrack state: a checksum this hook cannot know
    const char* handoff_out;     // C lines at `out:`: what this hook tells the next one
};

const HookOps& hook_ops(Hook hook);

}  // namespace bpftables::codegen
