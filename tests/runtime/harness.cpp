#include "tests/runtime/harness.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "base/diagnostics.hpp"
#include "compiler/input_format.hpp"
#include "compiler/ipsets.hpp"
#include "compiler/iptables_lower.hpp"
#include "compiler/nft/lower.hpp"

namespace bpftables::test {
namespace {

std::optional<ir::Program> parse(const std::string& text, const RunOptions& options, Diagnostics& diags) {
    if (compiler::guess_input_format(text) == compiler::InputFormat::nft)
        return parse_and_lower_nft(text, "test.nft", diags);
    LowerOptions lower;
    lower.family = options.family;
    std::optional<ir::Program> program = parse_and_lower(text, "test.rules", diags, lower);
    if (program && !options.ipsets.empty()) {
        auto sets = compiler::read_ipsets(options.ipsets, "test.ipsets", diags);
        if (!sets) return std::nullopt;
        program->sets = std::move(*sets);
    }
    return program;
}

void set_name(char (&dst)[16], const std::string& name) {
    std::memset(dst, 0, sizeof dst);
    std::strncpy(dst, name.c_str(), sizeof dst - 1);
}

bool drops(const std::string& kind) {
    return kind == "DROP" || kind == "HOTDROP";
}

// What the hook must return for a verdict kind: XDP_DROP / TC_ACT_SHOT for drops, XDP_PASS / TC_ACT_OK else.
uint32_t expected_retval(Hook hook, const std::string& kind) {
    if (hook == Hook::xdp) return drops(kind) ? 1 : 2;
    return drops(kind) ? 2 : 0;
}

}  // namespace

const char* kind_name(uint32_t kind) {
    switch (kind) {
        case BPFT_CONTINUE:
            return "CONTINUE";
        case BPFT_ACCEPT:
            return "ACCEPT";
        case BPFT_DROP:
            return "DROP";
        case BPFT_REJECT:
            return "REJECT";
        case BPFT_KERNEL:
            return "KERNEL";
        case BPFT_HOTDROP:
            return "HOTDROP";
        case BPFT_NOT_IP:
            return "NOT_IP";
    }
    return "?";
}

std::string to_string(const Verdict& v) {
    std::string where = v.rule < 0 ? "no rule" : v.rule == 0 ? "policy" : "rule " + std::to_string(v.rule);
    return v.kind + " at " + (v.table.empty() ? "" : v.table + " ") + v.chain + " " + where +
           " (return code " + std::to_string(v.retval) + ")";
}

Ruleset::Ruleset(std::string text, RunOptions options)
    : text_(std::move(text)), options_(std::move(options)) {}

Ruleset::Ruleset(ir::Program program, RunOptions options)
    : program_(std::move(program)), options_(std::move(options)) {}

Ruleset::Loaded& Ruleset::get(Hook hook) {
    auto [it, inserted] = loaded_.try_emplace(hook);
    Loaded& l = it->second;
    if (!inserted) return l;
    Diagnostics diags;
    if (program_) {
        l.program = std::make_unique<ir::Program>(*program_);
    } else if (auto p = parse(text_, options_, diags)) {
        l.program = std::make_unique<ir::Program>(std::move(*p));
    } else {
        l.error = "the ruleset does not parse:\n" + diags.str();
        return l;
    }
    ir::Program pristine = *l.program;  // the passes rewrite it: the direct back end starts from the same
    l.build = codegen::build(*l.program, hook, diags, codegen::options_from_environment());
    if (!l.build) {
        l.error =
            std::string("the ruleset does not build for ") + codegen::hook_name(hook) + ":\n" + diags.str();
        return l;
    }
    bpft_config config{};
    config.record = 1;
    config.test_run = 1;
    config.chain_mode = options_.chain;
    config.decided_mark = options_.decided_mark;
    if (!options_.in.empty()) config.in_override = 1, set_name(config.in_name, options_.in);
    if (!options_.out.empty()) config.out_override = 1, set_name(config.out_name, options_.out);
    std::string error;
    l.prog = loader::LoadedProgram::load(l.build->object.object, hook, config, *l.program, l.build->c.layout,
                                         error);
    if (!l.prog)
        l.error = std::string("the program does not load for ") + codegen::hook_name(hook) + ": " + error;
    load_direct(l, std::move(pristine), hook, config);
    return l;
}

// The direct back end's program beside the C one (harness.hpp). A ruleset it refuses with "not supported by
// the direct back end yet" runs on C alone; any other failure to build or load is the test's failure.
void Ruleset::load_direct(Loaded& l, ir::Program program, Hook hook, const bpft_config& config) {
    const char* mode = std::getenv("BPFTABLES_TEST_DIRECT");
    if ((mode && std::string(mode) == "0") || !l.prog) {
        l.direct_why = "not built";
        return;
    }
    Diagnostics diags;
    codegen::Options options = codegen::options_from_environment();
    std::optional<codegen::DirectProgram> built = codegen::build_direct(program, hook, diags, options);
    if (!built) {
        l.direct_why = diags.str();
        if (l.direct_why.find("not supported by the direct back end yet") == std::string::npos ||
            (mode && std::string(mode) == "1"))
            ADD_FAILURE() << "the direct back end does not build what the C back end builds:\n"
                          << l.direct_why;
        return;
    }
    std::string error;
    l.direct = loader::LoadedProgram::load_direct(*built, hook, config, error);
    if (!l.direct) {
        l.direct_why = error;
        ADD_FAILURE() << "the direct back end's program does not load for " << codegen::hook_name(hook)
                      << ": " << error;
    }
}

const loader::LoadedProgram* Ruleset::direct(Hook hook, std::string* why) {
    Loaded& l = get(hook);
    if (why) *why = l.direct_why;
    return l.direct ? &*l.direct : nullptr;
}

const loader::LoadedProgram* Ruleset::loaded(Hook hook, std::string& error) {
    Loaded& l = get(hook);
    if (!l.prog) return error = l.error, nullptr;
    return &*l.prog;
}

const codegen::Layout* Ruleset::layout(Hook hook) {
    Loaded& l = get(hook);
    return l.build ? &l.build->c.layout : nullptr;
}

std::string Ruleset::c_source(Hook hook) {
    Loaded& l = get(hook);
    return l.build ? l.build->c.source : l.error;
}

std::optional<Verdict> Ruleset::run(Hook hook, const std::vector<uint8_t>& frame, std::string& error) {
    const loader::LoadedProgram* prog = loaded(hook, error);
    if (!prog) return std::nullopt;
    (void)prog;
    auto r = test_run(hook, frame, error);
    if (!r) return std::nullopt;
    Verdict v;
    v.kind = kind_name(BPFT_KIND(r->verdict));
    v.retval = r->retval;
    uint32_t gid = BPFT_GID(r->verdict);
    const codegen::Layout& layout = *this->layout(hook);
    if (gid < layout.gids.size()) {
        const codegen::GidInfo& info = layout.gids[gid];
        v.table = info.table, v.chain = info.chain, v.rule = info.rule;
    } else if (gid != BPFT_NO_GID) {
        error = "verdict names gid " + std::to_string(gid) + " beyond the layout's " +
                std::to_string(layout.gids.size());
        return std::nullopt;
    }
    return v;
}

std::optional<loader::RunResult> Ruleset::test_run(Hook hook, const std::vector<uint8_t>& frame,
                                                   std::string& error, uint32_t mark) {
    const loader::LoadedProgram* prog = loaded(hook, error);
    if (!prog) return std::nullopt;
    auto r = prog->test_run(frame, error, mark);
    if (!r) return std::nullopt;
    if (const loader::LoadedProgram* d = direct(hook)) {
        auto dr = d->test_run(frame, error, mark);
        if (!dr) return error = "direct back end: " + error, std::nullopt;
        if (dr->verdict != r->verdict || dr->chain != r->chain || dr->retval != r->retval ||
            dr->data != r->data || dr->mark != r->mark) {
            error = "the back ends disagree at " + std::string(codegen::hook_name(hook)) + ": C verdict " +
                    std::to_string(r->verdict) + " chain " + std::to_string(r->chain) + " return " +
                    std::to_string(r->retval) + " mark " + std::to_string(r->mark) + ", direct verdict " +
                    std::to_string(dr->verdict) + " chain " + std::to_string(dr->chain) + " return " +
                    std::to_string(dr->retval) + " mark " + std::to_string(dr->mark) +
                    (dr->data != r->data ? " (and the frames differ)" : "");
            return std::nullopt;
        }
    }
    return r;
}

std::optional<bpft_counter> Ruleset::counter(Hook hook, const std::string& table, const std::string& chain,
                                             int rule) {
    std::string error;
    const loader::LoadedProgram* prog = loaded(hook, error);
    if (!prog) return std::nullopt;
    int gid = layout(hook)->gid(table, chain, rule - 1);
    if (gid < 0) return std::nullopt;
    std::vector<bpft_counter> all = prog->counters();
    if (static_cast<size_t>(gid) >= all.size()) return std::nullopt;
    if (const loader::LoadedProgram* d = direct(hook)) {
        std::vector<bpft_counter> other = d->counters();
        if (static_cast<size_t>(gid) >= other.size() || other[gid].packets != all[gid].packets ||
            other[gid].bytes != all[gid].bytes) {
            ADD_FAILURE() << "the direct back end's counter of " << table << " " << chain << " rule " << rule
                          << " differs from the C back end's";
            return std::nullopt;
        }
    }
    return all[gid];
}

Ruleset& ruleset(const std::string& text, const RunOptions& options) {
    static std::map<std::pair<std::string, RunOptions>, std::unique_ptr<Ruleset>> cache;
    auto& slot = cache[{text, options}];
    if (!slot) slot = std::make_unique<Ruleset>(text, options);
    return *slot;
}

std::string input_chain(const std::vector<std::string>& rules, const std::string& policy) {
    std::string s = "*filter\n:INPUT " + policy + " [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
    for (const std::string& r : rules) s += "-A INPUT " + r + "\n";
    return s + "COMMIT\n";
}

::testing::AssertionResult verdict_is(Ruleset& rs, Hook hook, const std::vector<uint8_t>& frame,
                                      const std::string& kind, const std::string& chain, int rule) {
    std::string error;
    std::optional<Verdict> v = rs.run(hook, frame, error);
    const char* h = codegen::hook_name(hook);
    if (!v) return ::testing::AssertionFailure() << h << ": " << error;
    std::string table = "filter", want_chain = chain;
    if (auto colon = chain.find(':'); colon != std::string::npos)
        table = chain.substr(0, colon), want_chain = chain.substr(colon + 1);
    bool same_place = rule < 0 ? v->rule < 0 : v->rule == rule && v->chain == want_chain && v->table == table;
    std::string want =
        kind + " at " +
        (rule < 0 ? "no rule"
                  : table + " " + want_chain + " " + (rule == 0 ? "policy" : "rule " + std::to_string(rule)));
    if (v->kind != kind || !same_place)
        return ::testing::AssertionFailure() << h << ": expected " << want << ", got " << to_string(*v);
    if (v->retval != expected_retval(hook, kind))
        return ::testing::AssertionFailure() << h << ": " << to_string(*v) << " but the hook returned "
                                             << v->retval << ", not " << expected_retval(hook, kind);
    return ::testing::AssertionSuccess();
}

::testing::AssertionResult verdict_on_both(Ruleset& rs, const std::vector<uint8_t>& frame,
                                           const std::string& kind, const std::string& chain, int rule) {
    ::testing::AssertionResult xdp = verdict_is(rs, Hook::xdp, frame, kind, chain, rule);
    ::testing::AssertionResult tc = verdict_is(rs, Hook::tc_ingress, frame, kind, chain, rule);
    if (xdp && tc) return ::testing::AssertionSuccess();
    auto failure = ::testing::AssertionFailure();
    if (!xdp) failure << xdp.message() << "\n";
    if (!tc) failure << tc.message() << "\n";
    return failure;
}

::testing::AssertionResult verdict_on_both(const std::string& rules, const std::vector<uint8_t>& frame,
                                           const std::string& kind, const std::string& chain, int rule) {
    return verdict_on_both(ruleset(rules), frame, kind, chain, rule);
}

ir::Program program_of(const std::string& text) {
    Diagnostics diags;
    std::optional<ir::Program> p = parse_and_lower(text, "test.rules", diags);
    if (!p) {
        ADD_FAILURE() << "the ruleset does not parse:\n" << diags.str();
        return {};
    }
    return std::move(*p);
}

ir::Rule& rule_of(ir::Program& program, const std::string& chain, int rule) {
    static ir::Rule none;
    ir::Table* t = program.find("filter");
    ir::Chain* c = t ? t->find(chain) : nullptr;
    if (!c || rule < 1 || static_cast<size_t>(rule) > c->rules.size()) {
        ADD_FAILURE() << "no rule " << rule << " in filter " << chain;
        return none;
    }
    return c->rules[rule - 1];
}

bool parses(const std::string& text, std::string* diagnostics) {
    Diagnostics diags;
    bool ok = parse_and_lower(text, "test.rules", diags).has_value();
    if (diagnostics) *diagnostics = diags.str();
    return ok;
}

void RuntimeTest::SetUp() {
    if (geteuid() != 0)
        GTEST_SKIP() << "runtime tests load BPF programs and need root (run as root or with sudo)";
}

}  // namespace bpftables::test
