// The nft front end: the grammar has no PEG problems, rulesets parse into the AST with positions, statements
// lower to the same IR the iptables front end gives, and what cannot be compiled is an error at its place.
#include <gtest/gtest.h>

#include <tao/pegtl/contrib/analyze.hpp>

#include "compiler/ir_print.hpp"
#include "compiler/nft/canonical.hpp"
#include "compiler/nft/lower.hpp"
#include "compiler/passes/pass.hpp"
#include "parser/nft_grammar.hpp"
#include "parser/nft_parser.hpp"

namespace bpftables {
namespace {

TEST(NftGrammar, Analyze) {
    EXPECT_EQ(tao::pegtl::analyze<parser::nft_grammar::script>(), 0u);
}

const char* ruleset = R"(define ssh = 22
table inet filter {
	set allowed {
		type ipv4_addr
		flags interval
		elements = { 10.0.0.0/8, 192.168.1.1 }
	}

	chain input {
		type filter hook input priority filter + 10; policy drop;
		ct state established,related accept
		iifname "lo" accept
		ip saddr @allowed tcp dport $ssh counter packets 1 bytes 60 accept
		tcp dport { 80, 443 } accept
		jump logs
	}

	chain logs {
		log prefix "dropped: " level info
	}
}
)";

TEST(NftParser, RulesetIntoAst) {
    Diagnostics diags;
    std::optional<parser::nft::Script> s = parser::parse_nft(ruleset, "r.nft", diags);
    ASSERT_TRUE(s) << diags.str();
    ASSERT_EQ(s->commands.size(), 2u);
    const auto& table = s->commands[1];
    EXPECT_EQ(table.family, "inet");
    EXPECT_EQ(table.table, "filter");
    ASSERT_TRUE(table.table_body);
    ASSERT_EQ(table.table_body->chains.size(), 2u);
    const auto& input = table.table_body->chains[0].body;
    ASSERT_TRUE(input.hook);
    EXPECT_EQ(input.hook->hook, "input");
    EXPECT_EQ(input.hook->priority, "filter + 10");
    EXPECT_EQ(*input.policy, "drop");
    ASSERT_EQ(input.rules.size(), 5u);
    const auto& st = input.rules[2].statements;
    ASSERT_EQ(st.size(), 4u);
    EXPECT_EQ(st[0].lhs.text, "ip saddr");
    EXPECT_EQ(st[0].rhs.kind, parser::nft::Expr::Kind::set_ref);
    EXPECT_EQ(st[1].rhs.kind, parser::nft::Expr::Kind::variable);
    EXPECT_EQ(st[1].loc.line, 13);
    EXPECT_EQ(st[1].loc.col, 21);
}

TEST(NftParser, ErrorsPointAtTheText) {
    Diagnostics diags;
    EXPECT_FALSE(
        parser::parse_nft("table ip t {\n chain c {\n  tcp dport 22 frobnicate\n }\n}\n", "e.nft", diags));
    ASSERT_EQ(diags.all().size(), 1u);
    EXPECT_EQ(diags.all()[0].loc.line, 3);
    EXPECT_EQ(diags.all()[0].loc.col, 16);
    diags.clear();
    EXPECT_FALSE(parser::parse_nft("table ip t {\n chain c {\n  jump\n }\n}\n", "e.nft", diags));
    EXPECT_NE(diags.str().find("expected a chain name after 'jump' or 'goto'"), std::string::npos)
        << diags.str();
}

// An Expr with everything the parser gives it: kind, text, position, length, options and arguments.
std::string dump(const parser::nft::Expr& e) {
    std::string out = std::to_string(static_cast<int>(e.kind)) + "|" + e.text + "|" + e.loc.file + ":" +
                      std::to_string(e.loc.line) + ":" + std::to_string(e.loc.col) + "+" +
                      std::to_string(e.length) + "|" + e.elem_options + "(";
    for (const parser::nft::Expr& a : e.args) out += dump(a) + ",";
    return out + ")";
}

// Element lists the flat rules read (nft_grammar.hpp: flat_set) give the Exprs the parse tree of set_elems
// gives: an element only set_elems reads (a limit) at the end makes the whole list its.
TEST(NftParser, FlatElementListsReadAsTheParseTree) {
    const char* lists[] = {
        "{ 10.0.0.1, 10.0.0.0/8, 10.1.0.1-10.1.0.9, ::1, 2001:db8::/32, * }",
        "{ 10.0.0.1 . tcp . 80 : goto svc1, \"eth0\" . 10.0.0.2 : jump \"my chain\",\n"
        "  10.0.0.3 . udp . 53 : drop , 1 : accept, 2 :continue,3 : return, 4 : 10.0.0.1 . 80 }",
        "{ 10.0.0.1 timeout 1h expires 59m, 10.0.0.2 comment \"a, b\", 10.0.0.3 counter packets 1 bytes 2,\n"
        "  10.0.0.4 counter # a comment\n , 10.0.0.5 \\\n . 7, }",
        "{ tcp . 80, jumpy, acceptance : dropped, 22 }",
    };
    for (const char* list : lists) {
        for (const char* form :
             {"table ip t {\n set s {\n  elements = %s\n }\n}\n", "add element ip t s %s\n",
              "table ip t {\n chain c {\n  ip saddr %s\n }\n}\n"}) {
            auto text = [&](const std::string& l) {
                std::string f = form;
                return f.replace(f.find("%s"), 2, l);
            };
            std::string flat = list, slow = flat.substr(0, flat.size() - 1);
            slow += (flat.ends_with(", }") ? "" : ", ") + std::string("9.9.9.9 limit rate 1/second }");
            auto elements = [&](const std::string& t) {
                Diagnostics diags;
                std::optional<parser::nft::Script> s = parser::parse_nft(t, "f.nft", diags);
                EXPECT_TRUE(s) << diags.str() << t;
                if (!s) return parser::nft::Expr{};
                const parser::nft::Command& c = s->commands.back();
                if (c.set_body) return *c.set_body->elements;
                if (c.table_body && !c.table_body->sets.empty()) return *c.table_body->sets[0].body.elements;
                return c.table_body->chains[0].body.rules[0].statements[0].rhs;
            };
            parser::nft::Expr a = elements(text(flat)), b = elements(text(slow));
            ASSERT_EQ(a.args.size() + 1, b.args.size()) << text(flat);
            b.args.pop_back();
            a.length = b.length;  // the set's own: its text differs
            EXPECT_EQ(dump(a), dump(b)) << text(flat);
        }
    }
    // The messages of a list the flat rules do not take are set_elems'.
    Diagnostics diags;
    EXPECT_FALSE(parser::parse_nft("add element ip t s { 1 : jump }\n", "e.nft", diags));
    EXPECT_NE(diags.str().find("e.nft:1:"), std::string::npos) << diags.str();
    EXPECT_NE(diags.str().find("expected a chain name after 'jump' or 'goto'"), std::string::npos)
        << diags.str();
    diags.clear();
    EXPECT_FALSE(parser::parse_nft("add element ip t s { 1, 2\n 3 }\n", "e.nft", diags));
    EXPECT_NE(diags.str().find("e.nft:2:2: error: expected ',' or '}' in the set"), std::string::npos)
        << diags.str();
}

// add element of a key the set has adds nothing; delete element removes by key; both fold into the text and
// the lowering alike.
TEST(NftCanonical, ElementsAddedAndDeleted) {
    auto canonical = [](const std::string& text, Diagnostics& diags) {
        std::optional<parser::nft::Script> s = parser::parse_nft(text, "e.nft", diags);
        return s ? canonical_nft(*s, diags) : std::nullopt;
    };
    std::string base =
        "table ip t {\n set s { type ipv4_addr; elements = { 1.1.1.1, 2.2.2.2 } }\n"
        " map m { type inet_service : verdict; elements = { 22 : accept } }\n"
        " chain c { ip saddr @s drop; tcp dport vmap @m }\n}\n";
    Diagnostics diags;
    std::optional<std::string> text = canonical(base +
                                                    "add element ip t s { 2.2.2.2, 3.3.3.3 }\n"
                                                    "delete element ip t s { 1.1.1.1 }\n"
                                                    "add element ip t m { 22 : accept, 80 : drop }\n"
                                                    "destroy element ip t m { 443 }\n",
                                                diags);
    ASSERT_TRUE(text) << diags.str();
    EXPECT_NE(text->find("elements = { 2.2.2.2, 3.3.3.3 }"), std::string::npos) << *text;
    EXPECT_NE(text->find("elements = { 22 : accept, 80 : drop }"), std::string::npos) << *text;
    std::optional<ir::Program> p = parse_and_lower_nft(*text, "c.nft", diags);
    ASSERT_TRUE(p) << diags.str();
    ASSERT_EQ(p->nft_sets.size(), 2u);
    EXPECT_EQ(p->nft_sets[0].elements.size(), 2u);
    EXPECT_GE(p->nft_sets[0].capacity, 1024u);  // room for elements added in place
    diags.clear();
    EXPECT_FALSE(canonical(base + "delete element ip t s { 9.9.9.9 }\n", diags));
    EXPECT_NE(diags.str().find("e.nft:6:25: error: element 9.9.9.9 is not in set s"), std::string::npos)
        << diags.str();
    diags.clear();
    EXPECT_FALSE(canonical(base + "add element ip t m { 22 : drop }\n", diags));
    EXPECT_NE(diags.str().find("exists with another value"), std::string::npos) << diags.str();
}

TEST(NftLower, Ruleset) {
    Diagnostics diags;
    std::optional<ir::Program> p = parse_and_lower_nft(ruleset, "r.nft", diags);
    ASSERT_TRUE(p) << diags.str();
    ASSERT_EQ(p->tables.size(), 1u);
    const ir::Table& t = p->tables[0];
    EXPECT_EQ(t.family, "inet");
    const ir::Chain& in = t.chains[0];
    ASSERT_TRUE(in.nft_hook);
    EXPECT_EQ(in.nft_hook->priority, 10);
    EXPECT_EQ(in.policy, ir::Policy::drop);
    ASSERT_EQ(in.rules.size(), 5u);
    ir::ConntrackMatch ct;
    ct.state = ir::Negatable<uint32_t>{ir::ct::established | ir::ct::related, false};
    EXPECT_EQ(in.rules[0].matches, std::vector<ir::Match>{ct});
    EXPECT_EQ(in.rules[1].matches, std::vector<ir::Match>{(ir::InterfaceMatch{ir::Dir::src, "lo", false})});
    const ir::Rule& r = in.rules[2];
    ir::NftSetMatch set{"allowed", {ir::KeyPart{ir::KeyField::saddr, 0}}, false};  // one lookup in its map
    ir::TcpMatch tcp;
    tcp.dport = ir::Negatable<ir::PortRange>{{22, 22}, false};
    EXPECT_EQ(r.matches, (std::vector<ir::Match>{ir::ProtocolMatch{6, false}, set, tcp}));
    EXPECT_EQ(r.counters, (ir::Counters{1, 60}));
    EXPECT_TRUE(std::holds_alternative<ir::AcceptTarget>(r.target));
    ir::MultiportMatch mp;
    mp.ports = {{80, 80}, {443, 443}};
    EXPECT_EQ(in.rules[3].matches, (std::vector<ir::Match>{ir::ProtocolMatch{6, false}, mp}));
    EXPECT_EQ(std::get<ir::JumpTarget>(in.rules[4].target).chain, "logs");
    const auto& log = std::get<ir::LogTarget>(t.chains[1].rules[0].target);
    EXPECT_EQ(log.prefix, "dropped: ");
    EXPECT_EQ(log.level, 6);
    ASSERT_EQ(p->sets.size(), 1u);
    EXPECT_EQ(p->sets[0].members.size(), 2u);
}

std::vector<ir::Rule> lower(const std::string& rule, Diagnostics& diags) {
    std::optional<ir::Program> p = parse_and_lower_nft(
        "table ip t {\n chain c { type filter hook input priority 0;\n" + rule + "\n }\n}\n", "x.nft", diags);
    return p ? p->tables[0].chains[0].rules : std::vector<ir::Rule>{};
}

TEST(NftLower, InterfaceNamesAndRangesAsIptablesWritesThem) {
    Diagnostics diags;
    std::optional<ir::Program> p = parse_and_lower_nft(
        "table ip t {\n chain c {\n type filter hook forward priority 0;\n"
        "  iifname \"\\*\" oifname \"eth*foo\"\n"
        "  iifname \"eth*\"\n"
        "  iifname \"INVAL/D\"\n"
        "  oifname != \"a:b\"\n"
        "  ip daddr 3.3.3.3-6.6.6.6 ip saddr 4.4.4.4-7.7.7.7\n"
        " }\n}\n",
        "i.nft", diags);
    ASSERT_TRUE(p) << diags.str();
    const std::vector<ir::Rule>& rules = p->tables[0].chains[0].rules;
    ASSERT_EQ(rules.size(), 5u);
    EXPECT_EQ(rules[0].matches, (std::vector<ir::Match>{ir::InterfaceMatch{ir::Dir::src, "*", false},
                                                        ir::InterfaceMatch{ir::Dir::dst, "eth*foo", false}}));
    EXPECT_EQ(rules[1].matches, std::vector<ir::Match>{(ir::InterfaceMatch{ir::Dir::src, "eth+", false})});
    EXPECT_EQ(rules[2].matches, std::vector<ir::Match>{(ir::InterfaceMatch{ir::Dir::src, "+", true})});
    EXPECT_EQ(rules[3].matches, std::vector<ir::Match>{(ir::InterfaceMatch{ir::Dir::dst, "+", false})});
    ir::IpRangeMatch range;
    range.src = ir::Negatable<ir::AddrRange>{{0x04040404, 0x07070707}, false};
    range.dst = ir::Negatable<ir::AddrRange>{{0x03030303, 0x06060606}, false};
    EXPECT_EQ(rules[4].matches, std::vector<ir::Match>{range});
    EXPECT_FALSE(
        parse_and_lower_nft("table ip t {\n chain c {\n  iifname \"eth+\"\n }\n}\n", "i.nft", diags));
    EXPECT_NE(diags.str().find("literal '+'"), std::string::npos) << diags.str();
}

// What nft refuses is refused, in every family, with the place: one case per check of compiler/nft/check.cpp.
TEST(NftCheck, RefusesWhatNftRefuses) {
    const std::pair<const char*, const char*> cases[] = {
        {"table ip6 t {\n chain c {\n  ip6 nexthdr comp udp dport 4789\n }\n}\n",
         "3:20: error: conflicting protocols specified: comp vs. udp"},
        {"table ip t {\n chain c {\n  tcp dport 1 udp sport 2\n }\n}\n",
         "3:15: error: conflicting protocols specified: tcp vs. udp"},
        {"table arp t {\n chain c {\n  ct mark set ct saddr map { 1.1.1.1 : 1 }\n }\n}\n",
         "3:15: error: \"ct saddr\" as a map key in a arp table needs its address family"},
        {"table ip t {\n chain c {\n  snat to ip saddr map { 10.0.0.0/8 : 1.1.1.1, 10.1.1.1 }\n }\n}\n",
         "error: a map element without a value"},
        {"table ip t {\n map m {\n  type ipv4_addr : ipv4_addr . verdict\n }\n}\n",
         "2:2: error: a verdict cannot be part of a concatenated map value"},
        {"table ip t {\n set s {\n  type inet_service\n  elements = { 1-10 }\n }\n}\n",
         "4:16: error: range element 1-10 needs \"flags interval\""},
        {"table netdev t {\n chain c {\n  type filter hook ingress device \"\" priority 0;\n }\n}\n",
         "error: empty device name"},
        {"table ip t {\n flowtable f {\n  devices = { lo }\n }\n}\n", "2:2: error: flowtable f needs"},
        {"table ip t {\n flowtable f {\n  hook egress priority 0\n }\n}\n",
         "3:8: error: unknown flowtable hook egress"},
        {"table ip t {\n ct timeout x {\n  protocol tcp\n  policy = { establish : 10 }\n }\n}\n",
         "4:14: error: unknown tcp state establish"},
        {"table ip t {\n ct timeout x {\n  protocol udp\n  policy = { replied : 1x }\n }\n}\n",
         "4:24: error: the timeout of replied must be a time"},
    };
    for (const auto& [text, message] : cases) {
        Diagnostics diags;
        EXPECT_FALSE(parse_and_lower_nft(text, "c.nft", diags)) << text;
        EXPECT_NE(diags.str().find(message), std::string::npos) << text << diags.str();
    }
    Diagnostics diags;  // and what nft takes is taken
    EXPECT_TRUE(
        parse_and_lower_nft("table ip t {\n ct timeout x {\n  protocol tcp\n  policy = { established : "
                            "2m3s, close : 12 }\n }\n chain c {\n  meta l4proto tcp tcp dport 22\n"
                            "  ip protocol icmp icmp type echo-request\n }\n}\n",
                            "c.nft", diags))
        << diags.str();
}

// Anonymous sets expand into one rule per element; a verdict map is one rule, one lookup and a dispatch.
TEST(NftLower, SetsExpandVmapsLookUp) {
    Diagnostics diags;
    std::vector<ir::Rule> r = lower("ip saddr { 1.1.1.1, 2.2.2.0/24 } drop", diags);
    ASSERT_EQ(r.size(), 2u) << diags.str();
    EXPECT_EQ(std::get<ir::AddressMatch>(r[1].matches[0]).net, (ir::Ipv4Net{0x02020200, 0xffffff00}));
    r = lower("ip saddr != { 1.1.1.1, 2.2.2.2 } drop", diags);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].matches.size(), 2u);
    r = lower("tcp dport vmap { 22 : accept, 23 : drop, 24 : accept }", diags);
    ASSERT_EQ(r.size(), 1u);
    const auto& vmap = std::get<ir::VmapTarget>(r[0].target);
    EXPECT_EQ(vmap.key, std::vector<ir::KeyPart>{(ir::KeyPart{ir::KeyField::dport, 6})});
    EXPECT_EQ(vmap.verdicts, (std::vector<ir::VmapVerdict>{{ir::VmapVerdict::Kind::accept, {}},
                                                           {ir::VmapVerdict::Kind::drop, {}}}));
    r = lower("meta l4proto { tcp, udp } th dport 53 accept", diags);
    ASSERT_EQ(r.size(), 2u) << diags.str();
    EXPECT_TRUE(std::holds_alternative<ir::UdpMatch>(r[1].matches[1]));
    r = lower("tcp dport 22 log prefix \"ssh \" accept", diags);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_TRUE(std::holds_alternative<ir::LogTarget>(r[0].target));
    EXPECT_TRUE(std::holds_alternative<ir::AcceptTarget>(r[1].target));
    r = lower("tcp flags syn / fin,syn,rst,ack accept", diags);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(std::get<ir::TcpMatch>(r[0].matches[1]).flags->value, (ir::TcpFlags{0x17, 0x02}));
    EXPECT_FALSE(diags.has_errors()) << diags.str();
}

TEST(NftLower, UnsupportedIsAnErrorAtItsPlace) {
    Diagnostics diags;
    EXPECT_TRUE(lower("tcp dport 22 snat to 1.2.3.4", diags).empty());
    ASSERT_TRUE(diags.has_errors());
    EXPECT_EQ(diags.all()[0].loc.line, 3);
    EXPECT_EQ(diags.all()[0].loc.col, 14);
    EXPECT_NE(diags.all()[0].message.find("not supported"), std::string::npos);
    diags.clear();
    EXPECT_TRUE(lower("ip protocol 256", diags).empty());
    EXPECT_TRUE(diags.has_errors());
    diags.clear();
    EXPECT_TRUE(lower("jump nowhere", diags).empty());
    EXPECT_NE(diags.str().find("no chain \"nowhere\""), std::string::npos);
}

// bpftables-restore's lowering: what is not compiled becomes one OpaqueMatch for the kernel, from the first
// such statement to the end of the rule; so do reads of sets the kernel changes (timeouts, add @set).
TEST(NftLower, KernelDecidesWhatIsNotCompiled) {
    const char* text = R"(table ip t {
 set seen { type ipv4_addr; flags timeout; }
 set fixed { type ipv4_addr; elements = { 198.18.0.1 } }
 chain c {
  type filter hook input priority 0;
  tcp dport 22 ct mark 0x2 counter accept
  ip saddr @seen drop
  ip saddr @fixed drop
  tcp dport 23 add @seen { ip saddr }
 }
}
)";
    Diagnostics strict;
    EXPECT_FALSE(parse_and_lower_nft(text, "k.nft", strict));
    EXPECT_NE(strict.str().find("\"ct mark\" is not supported"), std::string::npos) << strict.str();
    Diagnostics diags;
    std::optional<ir::Program> p = parse_and_lower_nft(text, "k.nft", diags, true);
    ASSERT_TRUE(p) << diags.str();
    EXPECT_FALSE(diags.has_errors()) << diags.str();
    const std::vector<ir::Rule>& rules = p->tables[0].chains[0].rules;
    ASSERT_EQ(rules.size(), 4u);
    ir::TcpMatch tcp;
    tcp.dport = ir::Negatable<ir::PortRange>{{22, 22}, false};
    EXPECT_EQ(rules[0].matches, (std::vector<ir::Match>{
                                    ir::ProtocolMatch{6, false}, tcp,
                                    ir::OpaqueMatch{"nft", {"--statement", "ct mark 0x2 counter accept"}}}));
    EXPECT_TRUE(std::holds_alternative<ir::NoTarget>(rules[0].target));
    EXPECT_EQ(rules[1].matches,
              std::vector<ir::Match>{(ir::OpaqueMatch{"nft", {"--statement", "ip saddr @seen drop"}})});
    EXPECT_TRUE(
        std::holds_alternative<ir::NftSetMatch>(rules[2].matches[0]));  // a set nothing changes: compiled
    EXPECT_TRUE(std::holds_alternative<ir::OpaqueMatch>(rules[3].matches.back()));
}

// Concatenations and named sets a map cannot hold (intervals of ports, a concatenation with intervals) expand
// as anonymous sets do: one rule per element (ports: one multiport); the others are one lookup.
TEST(NftLower, ConcatenationsAndNamedSetsExpand) {
    Diagnostics diags;
    std::optional<ir::Program> p = parse_and_lower_nft(R"(table ip t {
 set pairs { type ipv4_addr . inet_service; flags interval; elements = { 198.18.0.1 . 22, 198.18.0.0/24 . 80-81 } }
 set ports { type inet_service; flags interval; elements = { 53, 1000-2000 } }
 set none { type inet_service; }
 chain c {
  type filter hook input priority 0;
  ip saddr . tcp dport @pairs accept
  udp dport @ports drop
  udp dport != @none accept
 }
}
)",
                                                       "s.nft", diags);
    ASSERT_TRUE(p) << diags.str();
    std::vector<std::string> rules;
    for (const ir::Rule& r : p->tables[0].chains[0].rules) rules.push_back(ir::rule_spec(r));
    EXPECT_EQ(rules, (std::vector<std::string>{"-s 198.18.0.1/32 -p tcp -m tcp --dport 22 -j ACCEPT",
                                               "-s 198.18.0.0/24 -p tcp -m tcp --dport 80:81 -j ACCEPT",
                                               "-p udp -m multiport --dports 53,1000:2000 -j DROP",
                                               "-p udp -m nftset ! --lookup udp-dport @none -j ACCEPT"}));
    Diagnostics bad;
    EXPECT_FALSE(parse_and_lower_nft(
        "table ip t {\n chain c {\n  ip saddr . tcp dport { 198.18.0.1 } accept\n }\n}\n", "s.nft", bad));
    EXPECT_NE(bad.str().find("does not have the 2 parts"), std::string::npos) << bad.str();
}

TEST(NftLower, FormatGuess) {
    EXPECT_TRUE(looks_like_nft("# x\ntable ip t {\n}\n"));
    EXPECT_TRUE(looks_like_nft("flush ruleset\n"));
    EXPECT_FALSE(looks_like_nft("# Generated by iptables-save\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"));
    EXPECT_FALSE(looks_like_nft("-A INPUT -j ACCEPT\n"));
}

// As generators write rulesets (Docker, fw4): defines and an include that names no file inside the table
// block, a named verdict map, a table with base chains on both sides of conntrack (ct state read before it is
// the kernel's; after it, compiled), nat in a user chain reached from a nat chain, `reject ... comment`, and
// `priority dstnat` on output, which the canonical text gives as -100 (nft 1.0.6 refuses the name there).
TEST(NftLower, GeneratorRulesets) {
    const char* text = R"(table ip d {
	define devs = { "br0" }
	include "/nonexistent-bpftables-test/*.nft"
	map jumps {
		type ifname : verdict
		elements = { "br0" : jump fwd_br0 }
	}
	chain fwd {
		type filter hook forward priority filter; policy accept;
		oifname vmap @jumps
	}
	chain fwd_br0 {
		ct state established accept
		iifname $devs jump common
		reject with tcp reset comment "x"
	}
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		jump common
	}
	chain common {
		ct state invalid drop
	}
	chain natout {
		type nat hook output priority dstnat; policy accept;
		jump natted
	}
	chain natted {
		meta l4proto tcp dnat to 198.18.0.2:80
	}
}
)";
    Diagnostics diags;
    std::optional<ir::Program> p = parse_and_lower_nft(text, "g.nft", diags, true);
    ASSERT_TRUE(p) << diags.str();
    ASSERT_TRUE(passes::run_pipeline(*p, diags) && passes::run_checks(*p, diags)) << diags.str();
    const ir::Table& t = p->tables[0];
    ASSERT_EQ(t.find("fwd")->rules.size(), 1u);
    const ir::Rule& vmap = t.find("fwd")->rules[0];
    EXPECT_TRUE(vmap.matches.empty());
    EXPECT_EQ(std::get<ir::VmapTarget>(vmap.target).verdicts,
              std::vector<ir::VmapVerdict>{(ir::VmapVerdict{ir::VmapVerdict::Kind::jump, "fwd_br0"})});
    const ir::Chain& after = *t.find("fwd_br0");  // reached from forward only: compiled
    EXPECT_TRUE(std::holds_alternative<ir::ConntrackMatch>(after.rules[0].matches[0]));
    EXPECT_EQ(after.rules[1].matches,
              std::vector<ir::Match>{(ir::InterfaceMatch{ir::Dir::src, "br0", false})});
    EXPECT_TRUE(std::holds_alternative<ir::RejectTarget>(after.rules[2].target));
    const ir::Rule& both = t.find("common")->rules[0];  // from raw prerouting and from forward: the kernel's
    ASSERT_EQ(both.matches.size(), 1u);
    EXPECT_TRUE(std::holds_alternative<ir::OpaqueMatch>(both.matches[0]));
    EXPECT_TRUE(std::holds_alternative<ir::OpaqueTarget>(t.find("natted")->rules[0].target));

    std::optional<parser::nft::Script> script = parser::parse_nft(text, "g.nft", diags);
    ASSERT_TRUE(script);
    std::optional<std::string> canonical = canonical_nft(*script, diags, false);
    ASSERT_TRUE(canonical) << diags.str();
    EXPECT_NE(canonical->find("type nat hook output priority -100;"), std::string::npos) << *canonical;
    EXPECT_NE(canonical->find("type filter hook prerouting priority raw;"), std::string::npos) << *canonical;
    EXPECT_NE(canonical->find("iifname { \"br0\" } jump common"), std::string::npos) << *canonical;
}

}  // namespace
}  // namespace bpftables
