// What a restore commits: the input merged with the committed ruleset (runtime/merge.hpp).
#include "runtime/merge.hpp"

#include <algorithm>

#include "codegen/layout.hpp"
#include "compiler/hooks.hpp"
#include "compiler/iptables_lower.hpp"
#include "compiler/nft/canonical.hpp"
#include "compiler/nft/lower.hpp"
#include "compiler/passes/pass.hpp"
#include "parser/nft_json.hpp"
#include "parser/nft_parser.hpp"
#include "runtime/elements.hpp"
#include "runtime/netfilter.hpp"

namespace bpftables::runtime {

std::optional<CommitRequest> merge_iptables(const State& committed_state, IptablesRestore input,
                                            Diagnostics& diags, std::string& error) {
    std::optional<ir::Program> committed = committed_program(committed_state, false, error);
    if (!committed) return error += "\n", std::nullopt;
    bool replaced_nft = is_nft(committed_state);
    if (replaced_nft) {
        // iptables input replaces a committed nft ruleset entirely (the two cannot be kept in one text).
        if (input.noflush || !input.only_table.empty())
            return error =
                       "the committed ruleset is an nft ruleset: -n and -T cannot add iptables tables to it "
                       "(a "
                       "restore without them replaces it)\n",
                   std::nullopt;
        committed = ir::Program{};
    }
    // The committed sets stay (as ipsets stay in the kernel across iptables-restore); --ipsets adds sets and
    // replaces those of the same name.
    std::vector<ir::IpSet> sets = committed->sets;
    if (input.sets)
        for (ir::IpSet& s : *input.sets) {
            auto it =
                std::find_if(sets.begin(), sets.end(), [&](const ir::IpSet& o) { return o.name == s.name; });
            if (it != sets.end())
                *it = std::move(s);
            else
                sets.push_back(std::move(s));
        }

    diags.add_source(input.name, input.text);
    LowerOptions options;
    options.sets = input.sets ? &sets : nullptr;  // with --ipsets, every --match-set must name a known set
    options.noflush = input.noflush;
    options.base = &*committed;
    options.only_table = input.only_table;
    options.family = state_family();
    std::optional<ir::Program> lowered = parse_and_lower(input.text, input.name, diags, options);
    if (!lowered) return std::nullopt;
    uint32_t bit = input.decided_mark.value_or(committed_state.decided_mark);
    if (!passes::check_decided_mark(*lowered, bit, diags)) return std::nullopt;
    // Every table the input names goes to the kernel's netfilter too: the tables bpftables does not compile
    // run there alone; the compiled ones are the backstop for every packet a program hands to the kernel
    // (fragments, IP options, matches a hook cannot decide), which must meet the same rules there.
    std::vector<std::string> netfilter_tables;
    for (const ir::Table& t : lowered->tables)
        if (input.only_table.empty() || t.name == input.only_table) netfilter_tables.push_back(t.name);
    // Tables the input names replace (or, with --noflush, are) the committed ones; the others stay (copied:
    // the committed program goes on to the commit, which needs it whole).
    auto taken = [&](const ir::Table& t) { return input.only_table.empty() || t.name == input.only_table; };
    std::vector<ir::Table> committed_tables = std::move(committed->tables);
    ir::Program next = *committed;  // all but the tables (whatever fields a program has)
    next.tables.clear();
    committed->tables = std::move(committed_tables);
    for (const ir::Table& t : committed->tables)
        if (ir::Table* in = lowered->find(t.name); !in || !taken(*in))
            next.tables.push_back(t);
        else
            next.tables.push_back(std::move(*in)), in->name.clear();  // moved: not appended below
    for (ir::Table& t : lowered->tables)
        if (!t.name.empty() && taken(t) && !next.find(t.name)) next.tables.push_back(std::move(t));
    next.sets = std::move(sets);
    // A new bit: every table's copy gets the new bookkeeping (netfilter.hpp: kernel_copy).
    if (bit != committed_state.decided_mark)
        for (const ir::Table& t : next.tables)
            if (std::find(netfilter_tables.begin(), netfilter_tables.end(), t.name) == netfilter_tables.end())
                netfilter_tables.push_back(t.name);
    CommitRequest request{std::move(next)};
    if (!replaced_nft) request.committed = std::move(committed);  // parsed once (commit.cpp: committed_ir)
    request.decided_mark = input.decided_mark;
    request.netfilter_tables = std::move(netfilter_tables);
    if (!request.netfilter_tables.empty())
        request.backend = input.backend ? *input.backend : default_backend();
    return request;
}

std::optional<CommitRequest> merge_nft(const State& committed_state, const NftRestore& input,
                                       Diagnostics& diags, std::string& error) {
    bool iptables_committed = !is_nft(committed_state) && !committed_state.ruleset.empty();
    if (input.noflush && iptables_committed)
        return error =
                   "the committed ruleset is an iptables ruleset: -n cannot add nft tables to it (a restore "
                   "without -n replaces it)\n",
               std::nullopt;
    diags.add_source(input.name, input.text);
    std::optional<parser::nft::Script> script = input.json
                                                    ? parser::parse_nft_json(input.text, input.name, diags)
                                                    : parser::parse_nft(input.text, input.name, diags);
    if (script && input.noflush && is_nft(committed_state) && !committed_state.ruleset.empty()) {
        std::optional<parser::nft::Script> committed =
            parser::parse_nft(committed_state.ruleset, "<committed>", diags);
        if (!committed) return std::nullopt;
        committed->commands.insert(committed->commands.end(), script->commands.begin(),
                                   script->commands.end());
        script = std::move(committed);
    }
    std::optional<std::string> canonical;
    // Statements bpftables does not compile go to the kernel's copy, which checks and runs them; from nft
    // text only (the JSON reader keeps some statements by their keyword alone, which the copy would lose).
    if (script && lower_nft(*script, diags, !input.json) && !diags.has_errors())
        canonical = canonical_nft(*script, diags, input.json);
    if (!canonical || diags.has_errors()) return std::nullopt;
    Diagnostics again;
    std::optional<ir::Program> program = parse_and_lower_nft(*canonical, "<committed>", again, true);
    if (!program)
        return error =
                   "internal: the canonical form of the ruleset does not lower:\n" + again.str() + *canonical,
               std::nullopt;
    for (const ir::Table& t : program->tables)
        if (t.family == "ip" && t.name == kDecidedTable)
            return error =
                       std::string("table ip ") + kDecidedTable +
                       " is reserved: it clears the mark bit of packets bpftables decided (--decided-mark)\n",
                   std::nullopt;
    // The check names the table, chain and statements (its positions are in the canonical text).
    Diagnostics marks;
    if (!passes::check_decided_mark(*program, input.decided_mark.value_or(committed_state.decided_mark),
                                    marks)) {
        for (const Diagnostic& d : marks.all()) error += d.message + "\n";
        return std::nullopt;
    }
    // -n that changes set elements only: the commit changes the running maps in place (elements.hpp).
    std::optional<CommitRequest::Elements> elements;
    std::optional<ir::Program> committed;
    if (input.noflush && is_nft(committed_state) && !committed_state.ruleset.empty())
        elements = element_change(committed_state, *canonical, *program, committed);
    CommitRequest request{std::move(*program)};
    request.elements = std::move(elements);
    request.committed = std::move(committed);
    request.nft_text = std::move(*canonical);
    request.decided_mark = input.decided_mark;
    // The tables that a committed iptables ruleset had in the kernel's netfilter go (to empty built-in
    // chains). A restore put all of them there, the compiled ones as the backstop (the state names its
    // backend); the accept-all ruleset of a first attach has none.
    if (iptables_committed) {
        std::optional<ir::Program> committed = committed_program(committed_state, false, error);
        if (!committed) return error += "\n", std::nullopt;
        for (const ir::Table& t : committed->tables)
            if (committed_state.backend || !compiler::is_compiled_table(t.name))
                request.netfilter_tables.push_back(t.name);
        if (!request.netfilter_tables.empty())  // where the committed copy is
            request.backend = committed_state.backend ? committed_state.backend
                              : input.backend         ? input.backend
                                                      : default_backend();
    }
    return request;
}

}  // namespace bpftables::runtime
