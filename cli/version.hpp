#pragma once
// The project's version (CMakeLists.txt's project(VERSION)), as `bpftables --version` prints it.
namespace bpftables::cli {

inline constexpr const char* kVersion = BPFTABLES_VERSION;

}  // namespace bpftables::cli
