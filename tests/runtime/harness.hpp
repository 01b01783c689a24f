#pragma once
// Runtime-test harness: compiles an iptables-save text (or nft text, recognised by
// compiler::guess_input_format) for a hook, loads it (once per Ruleset and hook), runs frames through
// BPF_PROG_TEST_RUN and reports which rule decided:
//
//   Ruleset& rs = ruleset(input_chain({"-s 10.0.0.0/8 -j DROP"}));
//   EXPECT_VERDICT(rs, frame(Ipv4{.src = ip("10.1.2.3")}, Tcp{}), "DROP", "INPUT", 1);
//
// Every ruleset is also built with the direct back end (codegen/direct_emitter.hpp) when it supports
// everything the ruleset uses: each run then runs both programs and fails unless they agree (verdict, chain,
// return code), and counters must agree too. BPFTABLES_TEST_DIRECT=0 turns that off; =1 makes a ruleset the
// direct back end refuses a failure instead of a C-only run.
//
// EXPECT_VERDICT runs the frame on both ingress hooks (xdp and tc-ingress) and checks the verdict kind,
// the deciding chain and rule (1-based; 0 = the chain's policy; -1 = no rule, e.g. NOT_IP) and that the
// hook's return code agrees with the verdict. Tests derive from RuntimeTest, which skips them when not root.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bpf/abi.h"
#include "codegen/build.hpp"
#include "codegen/layout.hpp"
#include "compiler/ir.hpp"
#include "loader/loaded_program.hpp"
#include "loader/packet.hpp"

namespace bpftables::test {

using codegen::Hook;

struct RunOptions {
    uint32_t chain = BPFT_CHAIN_INPUT;     // BPFT_CHAIN_*: the chain the packet goes through
    std::string in, out;                   // interface names (in_override / out_override); empty: not set
    std::string ipsets;                    // `ipset save` text for -m set
    uint32_t decided_mark = 0;             // bpft_config::decided_mark: the handoff's bit (0: off)
    ir::Family family = ir::Family::ipv4;  // ipv6: the text is ip6tables-save's
    auto operator<=>(const RunOptions&) const = default;
};

struct Verdict {
    std::string kind;  // ACCEPT DROP HOTDROP REJECT KERNEL NOT_IP CONTINUE
    std::string table, chain;
    int rule = -1;  // 1-based; 0 = policy; -1 = no rule decided
    uint32_t retval = 0;
};

std::string to_string(const Verdict& v);
const char* kind_name(uint32_t kind);

// One ruleset, built and loaded lazily for each hook it is run on.
class Ruleset {
  public:
    explicit Ruleset(std::string text, RunOptions options = {});
    Ruleset(ir::Program program, RunOptions options = {});  // built in C++, before its parser exists

    // Empty with `error` set when the ruleset does not compile or load, or the run fails.
    std::optional<Verdict> run(Hook hook, const std::vector<uint8_t>& frame, std::string& error);
    // The C back end's raw result of one run (with the skb's `mark`, loaded_program.hpp); the direct back
    // end's program runs too and must agree, down to the frame and the mark it leaves.
    std::optional<loader::RunResult> test_run(Hook hook, const std::vector<uint8_t>& frame,
                                              std::string& error, uint32_t mark = 0);
    const loader::LoadedProgram* loaded(Hook hook, std::string& error);
    const codegen::Layout* layout(Hook hook);
    std::string c_source(Hook hook);
    // The direct back end's program, or null when it does not support the ruleset (`why` says so).
    const loader::LoadedProgram* direct(Hook hook, std::string* why = nullptr);
    // Packets and bytes counted on a rule (1-based; 0 = policy) of a table's chain.
    std::optional<bpft_counter> counter(Hook hook, const std::string& table, const std::string& chain,
                                        int rule);

  private:
    struct Loaded {
        std::unique_ptr<ir::Program> program;
        std::optional<codegen::Build> build;
        std::optional<loader::LoadedProgram> prog;
        std::string error;
        std::optional<loader::LoadedProgram> direct;  // the direct back end's, when it supports the ruleset
        std::string direct_why;                       // why there is none
    };
    Loaded& get(Hook hook);
    void load_direct(Loaded& l, ir::Program program, Hook hook, const bpft_config& config);

    std::string text_;
    std::optional<ir::Program> program_;
    RunOptions options_;
    std::map<Hook, Loaded> loaded_;
};

// Shared by every test of the process, loaded once per hook: for rulesets whose state (counters, limits)
// the tests do not look at.
Ruleset& ruleset(const std::string& text, const RunOptions& options = {});

// An iptables-save text whose filter INPUT chain holds `rules` (each written after "-A INPUT ").
std::string input_chain(const std::vector<std::string>& rules, const std::string& policy = "ACCEPT");

::testing::AssertionResult verdict_is(Ruleset& rs, Hook hook, const std::vector<uint8_t>& frame,
                                      const std::string& kind, const std::string& chain, int rule);
// On xdp and tc-ingress. `chain` is "CHAIN" in filter or "table:CHAIN".
::testing::AssertionResult verdict_on_both(Ruleset& rs, const std::vector<uint8_t>& frame,
                                           const std::string& kind, const std::string& chain, int rule);
::testing::AssertionResult verdict_on_both(const std::string& rules, const std::vector<uint8_t>& frame,
                                           const std::string& kind, const std::string& chain, int rule);

// The IR of an iptables-save text (a test failure when it does not parse), for tests that edit it: a match
// or target whose parser is not written yet, set into a rule that parses.
ir::Program program_of(const std::string& text);
// Rule `rule` (1-based) of filter `chain` in `program`.
ir::Rule& rule_of(ir::Program& program, const std::string& chain, int rule);

// True when `text` parses and lowers: the parser knows every module in it (for tests of modules whose
// parsers are still being written).
bool parses(const std::string& text, std::string* diagnostics = nullptr);

class RuntimeTest : public ::testing::Test {
  protected:
    void SetUp() override;
};

}  // namespace bpftables::test

#define EXPECT_VERDICT(rs, frame, kind, chain, rule) \
    EXPECT_TRUE(::bpftables::test::verdict_on_both(rs, frame, kind, chain, rule))
#define EXPECT_VERDICT_ON(rs, hook, frame, kind, chain, rule) \
    EXPECT_TRUE(::bpftables::test::verdict_is(rs, hook, frame, kind, chain, rule))
// Skips the test while the parser does not know a module the ruleset uses.
#define REQUIRE_PARSER(text)                                                                            \
    do {                                                                                                \
        std::string diags_;                                                                             \
        if (!::bpftables::test::parses(text, &diags_)) GTEST_SKIP() << "parser not ready:\n" << diags_; \
    } while (0)
