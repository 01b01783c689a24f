#pragma once
// Errors and warnings hang off the source position they concern and print as
//   file:line:col: error: message
//   <the source line>
//        ^~~~
#include <map>
#include <string>
#include <vector>

#include "base/source_loc.hpp"

namespace bpftables {

enum class Severity { error, warning, note };

struct Diagnostic {
    Severity severity = Severity::error;
    SourceLoc loc;
    int length = 1;  // columns the marker spans
    std::string message;
};

class Diagnostics {
  public:
    // Source text of each file, so that messages can quote the offending line.
    void add_source(const std::string& file, const std::string& text);

    void error(const SourceLoc& loc, std::string message, int length = 1);
    void warning(const SourceLoc& loc, std::string message, int length = 1);
    void note(const SourceLoc& loc, std::string message, int length = 1);
    void append(const Diagnostics& other);  // every diagnostic of `other`, after these

    bool has_errors() const { return errors_ > 0; }
    int error_count() const { return errors_; }
    const std::vector<Diagnostic>& all() const { return diags_; }
    void clear() { diags_.clear(), errors_ = 0; }

    // Every diagnostic, each followed by its source line and marker.
    std::string str() const;
    std::string format(const Diagnostic& d) const;

  private:
    std::vector<Diagnostic> diags_;
    std::map<std::string, std::vector<std::string>> lines_;
    int errors_ = 0;
};

}  // namespace bpftables
