#include "base/diagnostics.hpp"

#include <sstream>

namespace bpftables {

void Diagnostics::add_source(const std::string& file, const std::string& text) {
    std::vector<std::string>& lines = lines_[file];
    lines.clear();
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
}

void Diagnostics::error(const SourceLoc& loc, std::string message, int length) {
    diags_.push_back({Severity::error, loc, length, std::move(message)});
    ++errors_;
}

void Diagnostics::warning(const SourceLoc& loc, std::string message, int length) {
    diags_.push_back({Severity::warning, loc, length, std::move(message)});
}

void Diagnostics::note(const SourceLoc& loc, std::string message, int length) {
    diags_.push_back({Severity::note, loc, length, std::move(message)});
}

void Diagnostics::append(const Diagnostics& other) {
    diags_.insert(diags_.end(), other.diags_.begin(), other.diags_.end());
    errors_ += other.errors_;
}

std::string Diagnostics::format(const Diagnostic& d) const {
    static const char* const names[] = {"error", "warning", "note"};
    std::string out = d.loc.file.empty() ? std::string("<input>") : d.loc.file;
    if (d.loc.line > 0) {
        out += ':' + std::to_string(d.loc.line);
        if (d.loc.col > 0) out += ':' + std::to_string(d.loc.col);
    }
    out += std::string(": ") + names[static_cast<int>(d.severity)] + ": " + d.message + '\n';
    auto file = lines_.find(d.loc.file);
    if (file != lines_.end() && d.loc.line > 0 && d.loc.line <= static_cast<int>(file->second.size())) {
        const std::string& text = file->second[d.loc.line - 1];
        out += text + '\n';
        if (d.loc.col > 0) {
            std::string marker;
            for (int i = 0; i < d.loc.col - 1 && i < static_cast<int>(text.size()); ++i)
                marker += text[i] == '\t' ? '\t' : ' ';
            marker += '^';
            if (d.length > 1) marker += std::string(d.length - 1, '~');
            out += marker + '\n';
        }
    }
    return out;
}

std::string Diagnostics::str() const {
    std::string out;
    for (const Diagnostic& d : diags_) out += format(d);
    return out;
}

}  // namespace bpftables
