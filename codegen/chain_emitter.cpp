// Chains and rules of the generated C (emitter.hpp): each chain a function, inlined or out of line and
// split into segments; each rule one line under its #line; a classifier run one call.
#include "codegen/emitter.hpp"

#include "compiler/ir_print.hpp"

namespace bpftables::codegen::detail {

std::string Emitter::emit_chain(const ir::Table& t, const ir::Chain& c) {
    const ir::ChainPlan& pl = c.plan;  // passes/plan_chains.cpp
    const std::string& name = names_[{t.name, c.name}];
    int policy_gid = c.builtin() ? layout_.gid(t.name, c.name, -1) : -1;
    std::string header = "/* " + t.name + " " + c.name + " (" + where(c.loc) + ")";
    if (c.builtin()) header += std::string(", policy ") + (c.policy == ir::Policy::drop ? "DROP" : "ACCEPT");
    header += " */\n";
    std::string tail;
    if (c.builtin())
        tail = "    bpft_count(" + std::to_string(policy_gid) + "u, p);\n" + "    return BPFT_V(" +
               (c.policy == ir::Policy::drop ? "BPFT_DROP" : "BPFT_ACCEPT") + ", " +
               std::to_string(policy_gid) + "u);\n";
    else
        tail = "    return BPFT_CONTINUE;\n";
    // Out-of-line chains and segments are global BPF functions: the verifier checks each once, on its
    // own, however many rules jump to it, and its pending branches never pile up across a long chain.
    const char* linkage = pl.inlined ? "static __always_inline" : "BPFT_GLOBAL";
    std::string null_check = pl.inlined ? "" : "    if (!p) return BPFT_CONTINUE;\n";

    if (pl.segments.size() <= 1) {  // one function: RETURN ends the chain directly
        end_chain_ = c.builtin() ? "goto policy;" : "return BPFT_CONTINUE;";
        std::string out = header + linkage + " __u32 " + name + "(bpft_pkt_t *p) {\n" + null_check;
        out += "    __u32 v __attribute__((unused));\n";
        out += emit_rules(t, c, 0, c.rules.size());
        out += line_directive(c.loc);
        if (c.builtin()) out += "policy: __attribute__((unused));\n";
        return out + tail + "}\n\n";
    }
    // Segments: each returns BPFT_CONTINUE when it falls off its end, BPFT_RETURN when a rule ended the
    // chain.
    end_chain_ = "return BPFT_V(BPFT_RETURN, BPFT_NO_GID);";
    std::string out, calls;
    for (size_t s = 0; s < pl.segments.size(); ++s) {
        std::string seg = name + "_s" + std::to_string(s);
        out += "/* " + t.name + " " + c.name + ", rules " + std::to_string(pl.segments[s].first + 1) +
               " to " + std::to_string(pl.segments[s].second) + " */\nBPFT_GLOBAL __u32 " + seg +
               "(bpft_pkt_t *p) {\n    if (!p) return BPFT_CONTINUE;\n    __u32 v "
               "__attribute__((unused));\n";
        out += emit_rules(t, c, pl.segments[s].first, pl.segments[s].second);
        out += line_directive(c.loc) + "    return BPFT_CONTINUE;\n}\n\n";
        calls += "    v = " + seg + "(p);\n    if (v != BPFT_CONTINUE) goto done;\n";
    }
    out +=
        header + linkage + " __u32 " + name + "(bpft_pkt_t *p) {\n" + null_check + "    __u32 v;\n" + calls;
    out += "done:\n    if (v != BPFT_CONTINUE && BPFT_KIND(v) != BPFT_RETURN) return v;\n";
    return out + tail + "}\n\n";
}

const ClassifierRun* Emitter::run_at(const ir::Table& t, const ir::Chain& c, size_t rule) const {
    auto it = runs_.find({t.name, c.name, static_cast<int>(rule)});
    return it == runs_.end() ? nullptr : &layout_.runs[it->second];
}

// Rules [begin, end) of a chain; a classifier run (never split by a segment: its rules after the first
// have size 0) is one call.
std::string Emitter::emit_rules(const ir::Table& t, const ir::Chain& c, size_t begin, size_t end) {
    std::string out;
    for (size_t i = begin; i < end; ++i) {
        for (const auto& [first, why] : c.plan.classifier_notes)
            if (first == static_cast<int>(i)) explain_.push_back({c.rules[i].loc, why});
        const ClassifierRun* run = run_at(t, c, i);
        if (!run) {
            out += emit_rule(t, c, static_cast<int>(i));
            continue;
        }
        size_t index = runs_.at({t.name, c.name, static_cast<int>(i)});
        const ir::Rule& first = c.rules[i];
        const ir::Rule& last = c.rules[i + run->count - 1];
        explain_.push_back({first.loc, "rules " + std::to_string(i + 1) + " to " +
                                           std::to_string(i + run->count) + " of " + t.name + " " + c.name +
                                           " (to line " + std::to_string(last.loc.line) +
                                           "): decided by the classifier's decision tree"});
        out += "    /* #" + std::to_string(i + 1) + " to #" + std::to_string(i + run->count) + " " +
               where(first.loc) + " to " + where(last.loc) + ": classifier run " + std::to_string(index) +
               " */\n";
        out += one_line(first.loc, "v = bpft_classify(p, " + std::to_string(index) +
                                       "u);\nif (!v) break;\nif (BPFT_KIND(v) != BPFT_SHORT_HEADER) "
                                       "bpft_count(BPFT_GID(v), p);\nreturn v;");
        i += run->count - 1;
    }
    return out;
}

std::string Emitter::emit_rule(const ir::Table& t, const ir::Chain& c, int index) {
    const ir::Rule& r = c.rules[index];
    int gid = layout_.gid(t.name, c.name, index);
    std::string g = std::to_string(gid) + "u";
    std::string comment = "    /* #" + std::to_string(index + 1) + " " + where(r.loc) + ": -A " +
                          comment_text(c.name + " " + ir::rule_spec(r)) + " */\n";
    std::string out;
    for (size_t m = 0; m < r.matches.size(); ++m) {
        MatchContext ctx{hook_,
                         t.name,
                         before_ct_[t.name] == compiler::CtPosition::before,
                         layout_,
                         gid,
                         static_cast<int>(m),
                         m < r.match_locs.size() ? r.match_locs[m] : r.loc,
                         diags_,
                         needs_,
                         program_,
                         !std::holds_alternative<ir::LogTarget>(r.target) &&
                             !std::holds_alternative<ir::NoTarget>(r.target)};
        std::optional<MatchCode> code = emit_match(r.matches[m], ctx);
        if (!code) return {};
        if (!code->kernel_why.empty()) {
            explain_.push_back({ctx.loc, "handed to the kernel: " + code->kernel_why});
            out += "        return BPFT_V(BPFT_KERNEL, " + g + "); /* " + comment_text(code->kernel_why) +
                   " */\n";
            return comment + one_line(r.loc, out);
        }
        if (!code->kernel_if.empty())
            out += "        if (" + code->kernel_if + ") return BPFT_V(BPFT_KERNEL, " + g + ");\n";
        if (!code->hotdrop_if.empty())
            out += "        if (" + code->hotdrop_if + ") return BPFT_V(BPFT_SHORT_HEADER, " + g + ");\n";
        if (code->cond != "1") out += "        if (!(" + code->cond + ")) break;\n";
    }
    out += "        bpft_count(" + g + ", p);\n";
    out += std::visit([&](const auto& target) { return emit_target(target, t, c, r, g); }, r.target);
    return comment + one_line(r.loc, out);
}

// A rule's statements as one line of C, "do { ... } while (0);", under a #line directive naming the
// rule's own line: the object's BTF line info (verifier logs, bpftool prog dump) then points at the
// iptables rule. One line per rule also keeps clang's BTF string table small (LLVM 14 deduplicates it by
// linear search, which made compile time quadratic in the number of generated C lines).
std::string Emitter::one_line(const SourceLoc& loc, const std::string& statements) {
    std::string joined;
    size_t pos = 0;
    while (pos < statements.size()) {
        size_t end = statements.find('\n', pos);
        if (end == std::string::npos) end = statements.size();
        size_t first = statements.find_first_not_of(' ', pos);
        if (first < end) joined += (joined.empty() ? "" : " ") + statements.substr(first, end - first);
        pos = end + 1;
    }
    return line_directive(loc) + "    do { " + joined + " } while (0);\n";
}

std::string Emitter::line_directive(const SourceLoc& loc) {
    if (loc.line <= 0) return {};
    // The basename, which clang (run in its own temporary directory) does not open: it then records no
    // line text, only file:line. Recording the text costs LLVM 14 a linear search per line entry.
    std::string name = loc.file.empty() ? std::string("<input>") : loc.file;
    if (size_t slash = name.rfind('/'); slash != std::string::npos) name = name.substr(slash + 1);
    std::string file;
    for (char ch : name) {
        if (ch == '"' || ch == '\\') file += '\\';
        file += ch;
    }
    return "#line " + std::to_string(loc.line) + " \"" + file + "\"\n";
}

}  // namespace bpftables::codegen::detail
