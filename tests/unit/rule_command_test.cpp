// Unit tests of iptables' single-rule commands on a committed ruleset (runtime/rule_command.cpp): what each
// command makes of the ruleset, and iptables-legacy's codes and words where it refuses (the live test compares
// whole sequences with iptables-legacy itself: tests/runtime_live/live_test.sh).
#include <gtest/gtest.h>

#include "compiler/ir_print.hpp"
#include "runtime/rule_command.hpp"

namespace bpftables {
namespace {

const char* kRuleset =
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:SVC - [0:0]\n"
    "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp -j SVC\n"
    "-A SVC -p tcp -m tcp --dport 80 -j ACCEPT\nCOMMIT\n";

struct Outcome {
    int code = 0;
    std::string message, save;  // save: the filter table after the command (empty when nothing to commit)
};

Outcome run(const std::string& table, char command, std::vector<std::string> words) {
    runtime::State state;
    state.generation = 1;
    state.ruleset = kRuleset;
    state.backend = compiler::Backend::legacy;
    runtime::RuleCommand c{table, command, std::move(words), std::nullopt, std::nullopt};
    Diagnostics diags;
    runtime::RuleCommandResult r = runtime::apply_rule_command(state, c, diags);
    Outcome out{r.code, r.message.empty() ? diags.str() : r.message, ""};
    if (r.request) out.save = ir::to_save(r.request->program, {.only_table = "filter"});
    return out;
}

std::string rules_of(const std::string& save) {  // the -A lines
    std::string out;
    size_t pos = 0;
    while ((pos = save.find("\n-A ", pos)) != std::string::npos) {
        size_t end = save.find('\n', pos + 1);
        out += save.substr(pos + 1, end - pos);
        pos = end;
    }
    return out;
}

TEST(RuleCommand, AppendInsertReplaceDelete) {
    EXPECT_EQ(rules_of(run("filter", 'A', {"INPUT", "-s", "198.18.0.1", "-j", "DROP"}).save),
              "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp -j SVC\n"
              "-A INPUT -s 198.18.0.1/32 -j DROP\n-A SVC -p tcp -m tcp --dport 80 -j ACCEPT\n");
    EXPECT_EQ(
        rules_of(run("filter", 'I', {"INPUT", "2", "-i", "lo", "-j", "ACCEPT"}).save),
        "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp -j SVC\n"
        "-A SVC -p tcp -m tcp --dport 80 -j ACCEPT\n");
    EXPECT_EQ(rules_of(run("filter", 'R', {"SVC", "1", "-p", "udp", "-j", "DROP"}).save),
              "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp -j SVC\n-A SVC -p udp -j DROP\n");
    // -D compares the parsed rule: "--dport 22" without "-m tcp" is the same rule
    EXPECT_EQ(rules_of(run("filter", 'D', {"INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT"}).save),
              "-A INPUT -p tcp -j SVC\n-A SVC -p tcp -m tcp --dport 80 -j ACCEPT\n");
    EXPECT_EQ(rules_of(run("filter", 'D', {"INPUT", "2"}).save),
              "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A SVC -p tcp -m tcp --dport 80 -j ACCEPT\n");
}

TEST(RuleCommand, CheckCommitsNothing) {
    Outcome found = run("filter", 'C', {"INPUT", "-p", "tcp", "-m", "tcp", "--dport", "22", "-j", "ACCEPT"});
    EXPECT_EQ(found.code, 0);
    EXPECT_EQ(found.save, "");
    Outcome absent = run("filter", 'C', {"INPUT", "-p", "tcp", "--dport", "23", "-j", "ACCEPT"});
    EXPECT_EQ(absent.code, 1);
    EXPECT_EQ(absent.message, "Bad rule (does a matching rule exist in that chain?).");
}

TEST(RuleCommand, RefusalsAsIptablesLegacy) {
    struct Case {
        char command;
        std::vector<std::string> words;
        int code;
        std::string message;
    };
    const Case cases[] = {
        {'D',
         {"INPUT", "-p", "udp", "-j", "ACCEPT"},
         1,
         "Bad rule (does a matching rule exist in that chain?)."},
        {'D', {"INPUT", "3"}, 1, "Index of deletion too big."},
        {'I', {"INPUT", "4", "-j", "ACCEPT"}, 1, "Index of insertion too big."},
        {'R', {"INPUT", "3", "-j", "ACCEPT"}, 1, "Index of replacement too big."},
        {'A', {"NOPE", "-j", "ACCEPT"}, 1, "No chain/target/match by that name."},
        {'A', {"INPUT", "-j", "INPUT"}, 1, "Invalid argument. Run `dmesg' for more information."},
        {'N', {"SVC"}, 1, "Chain already exists."},
        {'X', {"SVC"}, 1, "Too many links."},
        {'X', {"INPUT"}, 1, "Invalid argument. Run `dmesg' for more information."},
        {'X', {"NOPE"}, 1, "No chain/target/match by that name."},
        {'P', {"SVC", "DROP"}, 1, "Bad built-in chain name."},
        {'P', {"INPUT", "REJECT"}, 1, "Bad policy name. Run `dmesg' for more information."},
        {'E', {"SVC", "INPUT"}, 1, "File exists."},
        {'E', {"NOPE", "X"}, 1, "No chain/target/match by that name."},
        {'F', {"NOPE"}, 1, "No chain/target/match by that name."},
    };
    for (const Case& c : cases) {
        Outcome o = run("filter", c.command, c.words);
        EXPECT_EQ(o.code, c.code) << c.command << " " << c.words[0];
        EXPECT_EQ(o.message, c.message) << c.command << " " << c.words[0];
        EXPECT_EQ(o.save, "");
    }
    EXPECT_EQ(run("nosuch", 'A', {"INPUT", "-j", "ACCEPT"}).code, 3);
    Outcome bad = run("filter", 'A', {"INPUT", "-j", "NOPE"});
    EXPECT_EQ(bad.code, 2);
    EXPECT_NE(bad.message.find("Couldn't load target `NOPE'"), std::string::npos) << bad.message;
}

TEST(RuleCommand, ChainCommandsGoThroughTheRestoreLanguage) {
    EXPECT_NE(run("filter", 'N', {"WEB"}).save.find(":WEB - [0:0]"), std::string::npos);
    EXPECT_NE(run("filter", 'P', {"INPUT", "DROP"}).save.find(":INPUT DROP"), std::string::npos);
    Outcome renamed = run("filter", 'E', {"SVC", "WEB"});
    EXPECT_NE(renamed.save.find("-A INPUT -p tcp -j WEB\n"), std::string::npos) << renamed.save;
    EXPECT_EQ(rules_of(run("filter", 'F', {}).save), "");
    // -X of every user chain needs them empty and unreferenced
    EXPECT_EQ(run("filter", 'X', {}).message, "Too many links.");
    // a table the ruleset does not have starts as the kernel has it: built-in chains, ACCEPT
    EXPECT_EQ(run("raw", 'A', {"PREROUTING", "-p", "udp", "-j", "DROP"}).code, 0);
}

}  // namespace
}  // namespace bpftables
