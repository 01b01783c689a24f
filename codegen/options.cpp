// The code generator's options (options.hpp): backend semantics and the knobs read from the environment.
#include "codegen/options.hpp"

#include <cstdlib>

#include "codegen/classifier.hpp"

namespace bpftables::codegen {

Options options_from_environment() {
    Options options;
    options.classifier_cache = std::make_shared<ClassifierCache>();
    if (const char* env = std::getenv("BPFTABLES_CLASSIFIER_MIN")) options.classifier_min = std::atoi(env);
    if (const char* env = std::getenv("BPFTABLES_INLINE_LIMIT")) options.inline_limit = std::atoi(env);
    return options;
}

}  // namespace bpftables::codegen
