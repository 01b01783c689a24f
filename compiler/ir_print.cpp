#include "compiler/ir_print.hpp"

#include <algorithm>

#include "compiler/xt/module.hpp"

namespace bpftables::ir {
namespace {

struct TargetName {
    std::string operator()(const NoTarget&) { return {}; }
    std::string operator()(const AcceptTarget&) { return "ACCEPT"; }
    std::string operator()(const DropTarget&) { return "DROP"; }
    std::string operator()(const ReturnTarget&) { return "RETURN"; }
    std::string operator()(const JumpTarget& t) { return t.chain; }
    std::string operator()(const GotoTarget& t) { return t.chain; }
    std::string operator()(const RejectTarget&) { return "REJECT"; }
    std::string operator()(const LogTarget&) { return "LOG"; }
    std::string operator()(const NotrackTarget&) { return "NOTRACK"; }
    std::string operator()(const CtTarget&) { return "CT"; }
    std::string operator()(const OpaqueTarget& t) { return t.name; }
    std::string operator()(const VmapTarget&) { return "VMAP"; }
};

const char* policy_name(Policy p) {
    return p == Policy::accept ? "ACCEPT" : p == Policy::drop ? "DROP" : "-";
}

}  // namespace

std::string target_name(const Target& target) {
    return std::visit(TargetName{}, target);
}

std::string rule_spec(const Rule& rule) {
    std::string out;
    for (const Match& m : rule.matches) {
        std::string module = xt::module_name(m);
        if (!module.empty()) out += " -m " + module;
        xt::print_options(m, out);
    }
    std::string target = target_name(rule.target);
    if (!target.empty()) {
        out += std::holds_alternative<GotoTarget>(rule.target) ? " -g " : " -j ";
        out += target;
        xt::print_options(rule.target, out);
    }
    return out.empty() ? out : out.substr(1);
}

namespace {

// A chain's plan (ir::ChainPlan) as comments after its rules; nothing when it is one function of plain rules.
std::string plan_comments(const Chain& c) {
    std::string out;
    for (const auto& [first, count] : c.plan.classified)
        out += "# bpftables: " + c.name + " rules " + std::to_string(first + 1) + " to " +
               std::to_string(first + count) + ": decided by the classifier\n";
    for (const auto& [first, why] : c.plan.classifier_notes)
        out += "# bpftables: " + c.name + " rule " + std::to_string(first + 1) + ": " + why + "\n";
    if (c.plan.inlined) out += "# bpftables: " + c.name + " is inlined where it is jumped to\n";
    if (c.plan.segments.size() > 1) {
        out += "# bpftables: " + c.name + " is split into " + std::to_string(c.plan.segments.size()) +
               " functions: rules";
        for (size_t i = 0; i < c.plan.segments.size(); ++i)
            out += std::string(i ? ", " : " ") + std::to_string(c.plan.segments[i].first + 1) + " to " +
                   std::to_string(c.plan.segments[i].second);
        out += "\n";
    }
    return out;
}

}  // namespace

std::string to_save(const Table& table, const PrintOptions& options) {
    std::vector<const Chain*> order;
    for (const Chain& c : table.chains)
        if (c.builtin()) order.push_back(&c);
    std::vector<const Chain*> user;
    for (const Chain& c : table.chains)
        if (!c.builtin()) user.push_back(&c);
    std::sort(user.begin(), user.end(), [](const Chain* a, const Chain* b) { return a->name < b->name; });
    order.insert(order.end(), user.begin(), user.end());

    std::string out = "*" + table.name + "\n";
    for (const Chain* c : order) {
        out += ":" + c->name + " " + policy_name(c->policy) + " [";
        Counters pc = c->builtin() ? c->policy_counters : Counters{};
        out += std::to_string(options.counters ? pc.packets : 0) + ":" +
               std::to_string(options.counters ? pc.bytes : 0) + "]\n";
    }
    for (const Chain* c : order) {
        for (const Rule& r : c->rules) {
            if (options.counters) {
                Counters rc = r.counters.value_or(Counters{});
                out += "[" + std::to_string(rc.packets) + ":" + std::to_string(rc.bytes) + "] ";
            }
            std::string spec = rule_spec(r);
            out += "-A " + c->name + (spec.empty() ? "" : " " + spec) + "\n";
        }
        if (options.plan) out += plan_comments(*c);
    }
    return out + "COMMIT\n";
}

std::string to_ipset_save(const std::vector<IpSet>& sets) {
    std::string out;
    for (const IpSet& set : sets) {
        out += "create " + set.name + " " + set.type + " " + set.options + "\n";
        for (const std::string& e : set.entries) out += "add " + set.name + " " + e + "\n";
    }
    return out;
}

std::string to_save(const Program& program, const PrintOptions& options) {
    std::string out;
    for (const Table& t : program.tables)
        if (options.only_table.empty() || options.only_table == t.name) out += to_save(t, options);
    return out;
}

}  // namespace bpftables::ir
