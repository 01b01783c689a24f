#pragma once
// Every module bpftables parses, declared from its line in modules.def: the module and the printer of its IR
// struct. A module file includes this to define them.
#include <string>

#include "compiler/xt/module.hpp"

namespace bpftables::xt {

#define XT_MATCH(name, type)                \
    extern const MatchModule name##_module; \
    void print(const ir::type& m, std::string& out);
#define XT_TARGET(name, type)                \
    extern const TargetModule name##_target; \
    void print(const ir::type& t, std::string& out);
#define XT_TARGET_TWIN(name) extern const TargetModule name##_target;
#include "compiler/xt/modules.def"

}  // namespace bpftables::xt
