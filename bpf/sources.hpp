#pragma once
namespace bpftables::bpf {
// The text of bpf/abi.h and bpf/bpftables.bpf.h, embedded at build time.
extern const char* const abi_h;
extern const char* const runtime_h;
}  // namespace bpftables::bpf
