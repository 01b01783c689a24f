#pragma once
// The direct back end's prebuilt entry objects (entry.bpf.c), compiled when bpftables is built and embedded
// here: for each hook in the order of compiler::Hook (xdp, tc-ingress, tc-egress) and each family (IPv4,
// then IPv6), the object without conntrack, then the one with it (BPFT_NEED_CT). Index:
// 4 * hook + 2 * ipv6 + ct.
#include <cstddef>

namespace bpftables::bpf {

struct EmbeddedObject {
    const char* name;  // entry_<hook>_ip<family>_<ct>.bpf.o
    const unsigned char* data;
    size_t size;
};

extern const EmbeddedObject entry_objects[];
extern const int entry_object_count;

// Their exit programs alone (entry.bpf.c with BPFT_EXIT_ONLY), for each hook and family: index 2 * hook + ipv6.
// A load that keeps the running entry program needs only these (and libbpf no kernel BTF for them).
extern const EmbeddedObject exit_objects[];
extern const int exit_object_count;

// The dispatcher (dispatch.bpf.c) that every link runs, one per hook in the order of compiler::Hook (xdp,
// tc-ingress, tc-egress): it tail-calls the IPv4 or the IPv6 ruleset's program by ethertype.
extern const EmbeddedObject dispatch_objects[];
extern const int dispatch_object_count;

}  // namespace bpftables::bpf
