#pragma once
// PEGTL grammar of the nftables ruleset language, as `nft list ruleset` prints it and `nft -f` reads it:
// table/chain/set blocks, `add|insert|delete|flush ...` commands, `define`, `include`. The grammar knows the
// shape of statements (relations, vmaps, set statements, verdicts, counter, log, reject, ...) but not what a
// selector or a value means: the lowering (compiler/nft/) does that. The parse tree keeps the rules
// listed in nft_parser.cpp's selector; nothing else has an action.
#include <tao/pegtl.hpp>

namespace bpftables::parser::nft_grammar {

namespace pegtl = tao::pegtl;
using pegtl::alnum;
using pegtl::alpha;
using pegtl::any;
using pegtl::at;
using pegtl::blank;
using pegtl::digit;
using pegtl::eof;
using pegtl::eol;
using pegtl::list;
using pegtl::must;
using pegtl::not_at;
using pegtl::not_one;
using pegtl::one;
using pegtl::opt;
using pegtl::plus;
using pegtl::seq;
using pegtl::sor;
using pegtl::space;
using pegtl::star;
using pegtl::string;
using pegtl::xdigit;

// ---- lexical

struct comment : seq<one<'#'>, star<not_one<'\n'>>> {};
struct continuation : seq<one<'\\'>, eol> {};
struct sp_char : sor<blank, continuation> {};
struct sp : star<sp_char> {};                            // optional blanks on one line
struct sp1 : plus<sp_char> {};                           // at least one
struct ws : star<sor<space, continuation, comment>> {};  // blanks, newlines and comments

struct word_char : sor<alnum, one<'_', '-', '.', ':', '/', '*', '%'>> {};
template <typename S>
struct key : seq<S, not_at<word_char>> {};
#define NFT_KEY(s) key<TAO_PEGTL_STRING(s)>

// A value as written: a number, an address, a prefix, a range "a-b", a name ("ssh", "established"); the
// lowering reads it. A word does not start with '.' (concatenation) nor with a single ':' (mapping).
struct word_start : sor<alnum, one<'_', '*'>, seq<one<':'>, at<sor<one<':'>, xdigit>>>> {};
struct bracketed_ip6 : seq<one<'['>, plus<sor<xdigit, one<':', '.'>>>, one<']'>> {};  // dnat to [fd49::1]:80
struct word : seq<sor<bracketed_ip6, word_start>, star<word_char>> {};
struct ident : seq<sor<alpha, one<'_'>>, star<sor<alnum, one<'_', '-', '.', '/'>>>> {};

struct escaped : seq<one<'\\'>, any> {};
struct string_close : one<'"'> {};
struct quoted : seq<one<'"'>, star<sor<escaped, not_one<'"', '\n'>>>, must<string_close>> {};
struct variable : seq<one<'$'>, ident> {};
struct set_ref : seq<one<'@'>, ident> {};
struct name : sor<quoted, variable, ident> {};

// ---- expressions

struct relop : sor<string<'=', '='>, string<'!', '='>, seq<one<'!'>, at<blank>>, string<'<', '='>,
                   string<'>', '='>, one<'<'>, one<'>'>, NFT_KEY("eq"), NFT_KEY("ne"), NFT_KEY("lt"),
                   NFT_KEY("gt"), NFT_KEY("le"), NFT_KEY("ge")> {};
struct binop : sor<string<'<', '<'>, string<'>', '>'>, one<'&', '|', '^'>, NFT_KEY("and"), NFT_KEY("or"),
                   NFT_KEY("xor"), NFT_KEY("lshift"), NFT_KEY("rshift")> {};
struct slash : one<'/'> {};  // "tcp flags syn / syn,ack": value under a mask

struct dot : seq<sp1, one<'.'>, sp1> {};

// Selectors: what a relation reads from the packet or its metadata.
struct proto_name
    : sor<NFT_KEY("ip6"), NFT_KEY("ip"), NFT_KEY("tcp"), NFT_KEY("udplite"), NFT_KEY("udp"), NFT_KEY("th"),
          NFT_KEY("icmpv6"), NFT_KEY("icmp"), NFT_KEY("igmp"), NFT_KEY("sctp"), NFT_KEY("dccp"),
          NFT_KEY("ah"), NFT_KEY("esp"), NFT_KEY("comp"), NFT_KEY("ether"), NFT_KEY("vlan"), NFT_KEY("arp"),
          NFT_KEY("rt"), NFT_KEY("fib"), NFT_KEY("socket"), NFT_KEY("osf"), NFT_KEY("ipsec"), NFT_KEY("hbh"),
          NFT_KEY("frag"), NFT_KEY("dst"), NFT_KEY("mh"), NFT_KEY("srh"), NFT_KEY("rt0"), NFT_KEY("rt2"),
          NFT_KEY("rt4"), NFT_KEY("gre"), NFT_KEY("gretap"), NFT_KEY("geneve"), NFT_KEY("vxlan"),
          NFT_KEY("cgroupv2"), NFT_KEY("exthdr")> {};
struct bare_meta_key
    : sor<NFT_KEY("iifname"), NFT_KEY("oifname"), NFT_KEY("iiftype"), NFT_KEY("oiftype"), NFT_KEY("iifgroup"),
          NFT_KEY("oifgroup"), NFT_KEY("iif"), NFT_KEY("oif"), NFT_KEY("mark"), NFT_KEY("skuid"),
          NFT_KEY("skgid"), NFT_KEY("nftrace"), NFT_KEY("rtclassid"), NFT_KEY("ibrname"), NFT_KEY("obrname"),
          NFT_KEY("pkttype"), NFT_KEY("cpu"), NFT_KEY("cgroup"), NFT_KEY("ibriport"), NFT_KEY("obriport"),
          NFT_KEY("time"), NFT_KEY("hour"), NFT_KEY("day")> {};
struct field : seq<not_at<relop>, ident> {};
struct ct_dir : sor<NFT_KEY("original"), NFT_KEY("reply")> {};
struct ct_family : sor<NFT_KEY("ip6"), NFT_KEY("ip")> {};
struct ct_selector : seq<NFT_KEY("ct"), opt<sp1, ct_dir>, opt<sp1, ct_family>, sp1, field> {};
struct meta_selector : seq<NFT_KEY("meta"), sp1, field> {};
struct raw_tcp_option : seq<one<'@'>, plus<digit>, one<','>, plus<digit>, one<','>, plus<digit>> {
};  // @kind,off,len
struct tcp_option_selector
    : seq<NFT_KEY("tcp"), sp1, NFT_KEY("option"), sp1,
          sor<raw_tcp_option, field, seq<plus<digit>, not_at<word_char>>>,
          opt<sp1, sor<NFT_KEY("kind"), NFT_KEY("length"), NFT_KEY("size"), NFT_KEY("count"), NFT_KEY("left"),
                       NFT_KEY("right"), NFT_KEY("tsval"), NFT_KEY("tsecr"), NFT_KEY("value"),
                       NFT_KEY("subtype")>>> {};
struct payload_selector : seq<proto_name, sp1, field> {};
struct fib_selector : seq<NFT_KEY("fib"), sp1, list<ident, dot>, sp1, field> {};
struct ipsec_selector : seq<NFT_KEY("ipsec"), sp1, sor<NFT_KEY("in"), NFT_KEY("out")>,
                            opt<sp1, NFT_KEY("spnum"), sp1, word>, opt<sp1, ct_family>, sp1, field> {};
struct concat;
struct hash_selector
    : seq<sor<seq<NFT_KEY("numgen"), sp1, ident>, seq<NFT_KEY("jhash"), sp1, concat>, NFT_KEY("symhash")>,
          sp1, NFT_KEY("mod"), sp1, word, opt<sp1, NFT_KEY("seed"), sp1, word>,
          opt<sp1, NFT_KEY("offset"), sp1, word>> {};
struct raw_selector : seq<one<'@'>, ident, plus<one<','>, word>> {};  // @nh,16,8
struct selector_name : sor<tcp_option_selector, ct_selector, meta_selector, fib_selector, ipsec_selector,
                           hash_selector, payload_selector, raw_selector, bare_meta_key> {};
struct selector : selector_name {};

struct expr;
struct paren_close : one<')'> {};
struct paren : seq<one<'('>, sp, expr, sp, must<paren_close>> {};

// Anonymous sets and set elements, with a mapping "key : value" in maps and vmaps.
struct over_until : sor<NFT_KEY("over"), NFT_KEY("until")> {};
struct elem_limit
    : seq<NFT_KEY("limit"), sp1, NFT_KEY("rate"), sp1, opt<over_until, sp1>, word,
          opt<sp1, seq<sor<NFT_KEY("bytes"), NFT_KEY("kbytes"), NFT_KEY("mbytes")>>, sp, one<'/'>, sp, word>,
          opt<sp1, NFT_KEY("burst"), sp1, word, sp1, word>> {};
struct elem_quota : seq<NFT_KEY("quota"), sp1, opt<over_until, sp1>, word, sp1, word,
                        opt<sp1, NFT_KEY("used"), sp1, word, sp1, word>> {};
struct elem_option
    : sor<seq<NFT_KEY("timeout"), sp1, word>, seq<NFT_KEY("expires"), sp1, word>,
          seq<NFT_KEY("comment"), sp1, quoted>,
          seq<NFT_KEY("counter"), opt<sp1, NFT_KEY("packets"), sp1, word, sp1, NFT_KEY("bytes"), sp1, word>>,
          elem_limit, elem_quota> {};
struct elem_key : seq<expr, star<sp1, elem_option>> {};
struct elem_value : seq<expr> {};
struct verdict;
struct mapping_colon : one<':'> {};
struct set_elem : seq<elem_key, opt<sp, mapping_colon, sp, sor<verdict, elem_value>>> {};
struct set_close : one<'}'> {};
struct set_elems
    : seq<one<'{'>, ws, opt<list<set_elem, seq<ws, one<','>, ws>>, opt<ws, one<','>>>, ws, must<set_close>> {
};

// The same element lists, read flat: a list of the common element forms (words and quoted strings, their
// concatenations, a verdict or a value after ':', the options timeout, expires, comment and counter) is one
// parse-tree node, whose elements nft_parser.cpp reads with actions instead of a node per word: 100,000
// elements made a million nodes. Each rule takes only what set_elems would read the same way (a word that
// starts a selector, a variable, a nested set, a limit or an unknown word after a key is not taken), so any
// other list is read by set_elems, with its messages.
struct flat_quoted : seq<one<'"'>, star<sor<escaped, not_one<'"', '\n'>>>, one<'"'>> {};
// What may start a selector (selector_name), without its parse-tree rules: a rule with one inside makes the
// parse tree allocate a node each time it runs. A word that may start one is left to set_elems.
struct flat_selector_start
    : seq<at<alpha>,
          sor<bare_meta_key, seq<NFT_KEY("jhash"), sp1>,
              seq<sor<proto_name, NFT_KEY("ct"), NFT_KEY("meta"), NFT_KEY("numgen"), NFT_KEY("symhash")>, sp1,
                  sor<alpha, one<'_'>>>>> {};
struct flat_word : seq<not_at<flat_selector_start>, sor<bracketed_ip6, word_start>, star<word_char>> {};
struct flat_primary : sor<flat_quoted, flat_word> {};
struct flat_key : list<flat_primary, dot> {};
struct flat_value_key : list<flat_primary, dot> {};
struct flat_option_word : seq<sor<bracketed_ip6, word_start>, star<word_char>> {};
struct flat_option_quoted : seq<one<'"'>, star<sor<escaped, not_one<'"', '\n'>>>, one<'"'>> {};
struct flat_option
    : sor<seq<NFT_KEY("timeout"), sp1, flat_option_word>, seq<NFT_KEY("expires"), sp1, flat_option_word>,
          seq<NFT_KEY("comment"), sp1, flat_option_quoted>,
          seq<NFT_KEY("counter"), opt<sp1, NFT_KEY("packets"), sp1, flat_option_word, sp1, NFT_KEY("bytes"),
                                      sp1, flat_option_word>>> {};
struct flat_options : star<sp1, flat_option> {};
struct flat_verdict_name : sor<NFT_KEY("accept"), NFT_KEY("drop"), NFT_KEY("continue"), NFT_KEY("return")> {};
struct flat_jump_name : sor<NFT_KEY("jump"), NFT_KEY("goto")> {};
struct flat_chain : sor<flat_option_quoted, ident> {};
struct flat_verdict : sor<flat_verdict_name, seq<flat_jump_name, sp1, flat_chain>> {};
struct flat_value : sor<flat_verdict, seq<not_at<flat_jump_name>, flat_value_key>> {};
struct flat_elem : seq<flat_key, flat_options, opt<sp, one<':'>, sp, flat_value>> {};
struct flat_set
    : seq<one<'{'>, ws, opt<list<flat_elem, seq<ws, one<','>, ws>>, opt<ws, one<','>>>, ws, one<'}'>> {};
struct anon_set : sor<flat_set, set_elems> {};

struct quoted_range : seq<quoted, one<'-'>, quoted> {};  // meta hour "00:00"-"02:02"
struct primary : sor<quoted_range, quoted, variable, selector, set_ref, anon_set, paren, word> {};
struct value_primary : sor<quoted_range, quoted, variable, set_ref, anon_set, paren, word> {};  // right side

struct concat : list<primary, dot> {};
struct binop_expr : seq<concat, star<sp, binop, sp, concat>> {};
struct expr : seq<binop_expr, opt<sp1, NFT_KEY("map"), sp1, sor<anon_set, set_ref, variable>>> {};

struct value_concat : list<value_primary, dot> {};
struct value_binop : seq<value_concat, star<sp, binop, sp, value_concat>> {};
struct value_list : list<value_binop, seq<one<','>, sp>> {};
struct mask_list : value_list {};

// ---- statements

struct chain_ref : name {};
struct verdict_name : sor<NFT_KEY("accept"), NFT_KEY("drop"), NFT_KEY("continue"), NFT_KEY("return")> {};
struct jump_name : sor<NFT_KEY("jump"), NFT_KEY("goto")> {};
struct jump_target : seq<sp1, chain_ref> {};
struct verdict : sor<verdict_name, seq<jump_name, must<jump_target>>> {};

struct counter_value : word {};
struct counter_packets : seq<NFT_KEY("packets"), sp1, must<counter_value>> {};
struct counter_bytes : seq<NFT_KEY("bytes"), sp1, must<counter_value>> {};
struct counter_stmt
    : seq<NFT_KEY("counter"),
          opt<sp1, sor<seq<counter_packets, sp1, counter_bytes>, seq<counter_bytes, sp1, counter_packets>,
                       seq<NFT_KEY("name"), sp1, must<name>>>>> {};

struct comment_text : quoted {};
struct comment_stmt : seq<NFT_KEY("comment"), sp1, must<comment_text>> {};

struct log_option_value : sor<quoted, variable, list<word, seq<one<','>, sp>>> {};
struct log_option : seq<sor<NFT_KEY("prefix"), NFT_KEY("level"), NFT_KEY("group"), NFT_KEY("snaplen"),
                            NFT_KEY("queue-threshold"), NFT_KEY("flags")>,
                        sp1, opt<sor<NFT_KEY("tcp"), NFT_KEY("ip")>, sp1>, must<log_option_value>> {};
struct log_stmt : seq<NFT_KEY("log"), star<sp1, log_option>> {};

struct reject_kind : sor<seq<NFT_KEY("tcp"), sp1, NFT_KEY("reset")>, seq<ident, opt<sp1, NFT_KEY("type")>>> {
};
struct stmt_keyword;
struct reject_code : seq<not_at<stmt_keyword>, word> {};  // not the next statement's keyword (comment ...)
struct reject_stmt
    : seq<NFT_KEY("reject"), opt<sp1, NFT_KEY("with"), sp1, must<reject_kind>, opt<sp1, reject_code>>> {};

// Statements this front end only needs to recognize: their words are kept and the lowering reports them.
struct other_keyword
    : sor<NFT_KEY("limit"), NFT_KEY("quota"), NFT_KEY("notrack"), NFT_KEY("masquerade"), NFT_KEY("snat"),
          NFT_KEY("dnat"), NFT_KEY("redirect"), NFT_KEY("tproxy"), NFT_KEY("queue"), NFT_KEY("dup"),
          NFT_KEY("fwd"), NFT_KEY("synproxy"), NFT_KEY("flow"), NFT_KEY("add"), NFT_KEY("update"),
          NFT_KEY("delete"), NFT_KEY("reset"), NFT_KEY("last"), NFT_KEY("meter"), NFT_KEY("xt"),
          NFT_KEY("numgen"), NFT_KEY("secmark"), NFT_KEY("set"), seq<NFT_KEY("ct"), sp1, NFT_KEY("count")>> {
};
struct stmt_keyword : sor<verdict_name, jump_name, NFT_KEY("counter"), NFT_KEY("comment"), NFT_KEY("log"),
                          NFT_KEY("reject"), other_keyword> {};
// After "to" (snat, dnat, redirect, queue, dup, fwd, tproxy) an argument may be an expression with a map.
struct expr;
struct other_arg : sor<seq<ct_family, at<sp1, sor<NFT_KEY("to"), NFT_KEY("prefix")>>>,
                       seq<not_at<stmt_keyword>, not_at<selector>,
                           sor<quoted, variable, set_ref, anon_set, list<word, one<','>>>>> {};
struct other_expr_arg : seq<expr> {};
struct other_to : seq<NFT_KEY("to"), sp1, not_at<stmt_keyword>, other_expr_arg> {};
struct other_slash : one<'/'> {};  // limit rate 1 bytes / second
struct other_stmt : seq<other_keyword, star<sp1, sor<other_to, other_arg, other_slash>>> {};
// reset tcp option KIND: its argument is a selector, which other_arg never takes (it would swallow the next
// statement's).
struct reset_stmt : seq<NFT_KEY("reset"), sp1, at<tcp_option_selector>, selector> {};

// selector [op] value, selector vmap { ... }, selector set value
struct lhs : seq<at<sor<selector, one<'('>>>, binop_expr> {};
struct vmap_body : sor<anon_set, set_ref, variable> {};
struct vmap_tail : seq<NFT_KEY("vmap"), sp1, must<vmap_body>> {};
struct set_list : seq<expr, plus<one<','>, sp, expr>> {};  // ct event set new,related
struct set_value : sor<set_list, expr> {};
struct set_tail : seq<NFT_KEY("set"), sp1, must<set_value>> {};
struct rhs_mask : seq<sp1, slash, sp1, must<mask_list>> {};
struct rhs : seq<value_list, opt<rhs_mask>> {};
struct relation_tail : seq<opt<relop, sp>, rhs> {};
struct match_stmt : seq<lhs, sp1, sor<vmap_tail, set_tail, relation_tail>> {};

struct statement
    : sor<verdict, counter_stmt, comment_stmt, log_stmt, reject_stmt, reset_stmt, other_stmt, match_stmt> {};
struct rule_end : at<sor<one<';'>, eol, one<'}'>, one<'#'>, eof>> {};
struct rule : seq<statement, star<sp1, statement>, sp, must<rule_end>> {};

// ---- chains

struct family : sor<NFT_KEY("ip6"), NFT_KEY("ip"), NFT_KEY("inet"), NFT_KEY("arp"), NFT_KEY("bridge"),
                    NFT_KEY("netdev")> {};
struct chain_type : ident {};
struct hook_keyword : NFT_KEY("hook") {};
struct hook_name : ident {};
struct device_spec : seq<sor<NFT_KEY("devices"), NFT_KEY("device")>, sp, opt<one<'='>, sp>,
                         sor<anon_set, quoted, variable, word>> {};
struct priority_keyword : NFT_KEY("priority") {};
struct priority_value : sor<variable, seq<opt<one<'-'>>, plus<digit>, not_at<word_char>>,
                            seq<ident, opt<sp, one<'+', '-'>, sp, plus<digit>>>> {};
struct hook_spec : seq<NFT_KEY("type"), sp1, must<chain_type>, sp1, must<hook_keyword>, sp1, must<hook_name>,
                       opt<sp1, device_spec>, sp1, must<priority_keyword>, sp1, must<priority_value>> {};
struct policy_value : sor<variable, ident> {};
struct policy_spec : seq<NFT_KEY("policy"), sp1, must<policy_value>> {};
struct chain_attr_end : at<sor<one<';'>, eol, one<'}'>, one<'#'>>> {};
struct chain_flags : seq<NFT_KEY("flags"), sp1, list<ident, seq<one<','>, sp>>> {};
struct chain_comment : seq<NFT_KEY("comment"), sp1, quoted> {};  // the chain's, on a line of its own
struct chain_item : seq<sor<seq<sor<hook_spec, policy_spec, chain_flags>, sp, must<chain_attr_end>>,
                            seq<chain_comment, sp, chain_attr_end>, rule>,
                        sp, opt<one<';'>>> {};
struct block_close : one<'}'> {};
struct chain_body : seq<one<'{'>, ws, star<chain_item, ws>, must<block_close>> {};

// ---- sets and maps

struct type_name : word {};
struct type_concat : list<type_name, dot> {};
struct data_type : sor<NFT_KEY("verdict"), seq<opt<NFT_KEY("interval"), sp1>, type_concat>> {};
struct set_type : seq<NFT_KEY("type"), sp1, must<type_concat>, opt<sp, mapping_colon, sp, must<data_type>>> {
};
struct typeof_key : concat {};
struct typeof_data : sor<NFT_KEY("verdict"), concat> {};
struct set_typeof
    : seq<NFT_KEY("typeof"), sp1, must<typeof_key>, opt<sp, mapping_colon, sp, must<typeof_data>>> {};
struct set_flag : ident {};
struct set_flags : seq<NFT_KEY("flags"), sp1, list<set_flag, seq<one<','>, sp>>> {};
struct elements_eq : one<'='> {};
struct elements_body : anon_set {};
struct set_elements : seq<NFT_KEY("elements"), sp, must<elements_eq>, ws, must<elements_body>> {};
struct set_attr : seq<ident, star<sp1, sor<quoted, word>>> {
};  // size, timeout, policy, counter, comment, ...
struct set_item : seq<sor<set_type, set_typeof, set_flags, set_elements, set_attr>, sp, opt<one<';'>>> {};
struct set_body : seq<one<'{'>, ws, star<set_item, ws>, must<block_close>> {};

// ---- tables

struct balanced : seq<one<'{'>, star<sor<balanced, quoted, comment, not_one<'{', '}'>>>, must<block_close>> {
};
struct object_kind : sor<NFT_KEY("flowtable"), NFT_KEY("counter"), NFT_KEY("quota"), NFT_KEY("limit"),
                         seq<NFT_KEY("ct"), sp1, ident>, NFT_KEY("secmark"), NFT_KEY("synproxy")> {};
struct object_name : name {};
struct object_block : seq<object_kind, sp1, must<object_name>, sp, must<balanced>> {};

struct chain_name : name {};
struct set_name : name {};
struct block_open : at<one<'{'>> {};
struct chain_block : seq<NFT_KEY("chain"), sp1, must<chain_name>, sp, at<block_open>, chain_body> {};
struct set_kind : sor<NFT_KEY("set"), NFT_KEY("map")> {};
struct set_block : seq<set_kind, sp1, must<set_name>, sp, must<block_open>, set_body> {};
// define and include, at the top level and inside a table block (as fw4 writes `define lan_devices = ...`).
struct define_eq : one<'='> {};
struct define_value : expr {};
struct define_name : ident {};
struct define_cmd : seq<sor<NFT_KEY("define"), NFT_KEY("redefine")>, sp1, must<define_name>, sp,
                        must<define_eq>, ws, must<define_value>> {};
struct include_path : quoted {};
struct include_cmd : seq<NFT_KEY("include"), sp1, must<include_path>> {};

struct table_attr : seq<sor<NFT_KEY("flags"), NFT_KEY("comment")>, sp1, sor<quoted, list<ident, one<','>>>> {
};
struct table_item
    : seq<sor<chain_block, set_block, object_block, define_cmd, include_cmd, table_attr>, sp, opt<one<';'>>> {
};
struct table_body : seq<one<'{'>, ws, star<table_item, ws>, must<block_close>> {};

// ---- commands

struct table_name : name {};
struct table_spec : seq<opt<family, sp1>, must<table_name>> {};
struct verb : sor<NFT_KEY("add"), NFT_KEY("create"), NFT_KEY("insert"), NFT_KEY("replace"), NFT_KEY("delete"),
                  NFT_KEY("destroy"), NFT_KEY("flush"), NFT_KEY("list"), NFT_KEY("reset")> {};
struct table_cmd : seq<NFT_KEY("table"), sp1, table_spec, opt<sp, at<block_open>, table_body>> {};
struct chain_cmd
    : seq<NFT_KEY("chain"), sp1, table_spec, sp1, must<chain_name>, opt<sp, at<block_open>, chain_body>> {};
struct position : seq<sor<NFT_KEY("position"), NFT_KEY("handle"), NFT_KEY("index")>, sp1, plus<digit>> {};
struct rule_cmd
    : seq<NFT_KEY("rule"), sp1, table_spec, sp1, must<chain_name>, opt<sp1, position>, opt<sp1, rule>> {};
struct set_cmd : seq<set_kind, sp1, table_spec, sp1, must<set_name>, opt<sp, at<block_open>, set_body>> {};
struct element_cmd : seq<NFT_KEY("element"), sp1, table_spec, sp1, must<set_name>, sp, must<elements_body>> {
};
struct ruleset_cmd : NFT_KEY("ruleset") {};
struct object_cmd : seq<object_kind, sp1, table_spec, sp1, must<object_name>, opt<sp, balanced>> {};
struct command_body : sor<table_cmd, chain_cmd, rule_cmd, set_cmd, element_cmd, ruleset_cmd, object_cmd> {};
struct command : seq<opt<verb, sp1>, command_body> {};

struct line_end : sor<one<';'>, eol, at<one<'#'>>, eof> {};
struct top_item : seq<sor<include_cmd, define_cmd, command>, sp, must<line_end>> {};
struct top_end : eof {};
struct script : seq<ws, star<top_item, ws>, must<top_end>> {};

// Messages for each must<> point; a rule without one here is a bug caught by the control's static_assert.
template <typename Rule>
inline constexpr const char* message = nullptr;
#define NFT_MESSAGE(rule, text) \
    template <>                 \
    inline constexpr const char* message<rule> = text;
NFT_MESSAGE(string_close, "unterminated string")
NFT_MESSAGE(paren_close, "expected ')'")
NFT_MESSAGE(set_close, "expected ',' or '}' in the set")
NFT_MESSAGE(jump_target, "expected a chain name after 'jump' or 'goto'")
NFT_MESSAGE(counter_value, "expected a number after 'packets' or 'bytes'")
NFT_MESSAGE(name, "expected a name")
NFT_MESSAGE(comment_text, "expected a quoted string after 'comment'")
NFT_MESSAGE(log_option_value, "expected a value for the log option")
NFT_MESSAGE(reject_kind, "expected 'tcp reset' or an icmp type after 'reject with'")
NFT_MESSAGE(vmap_body, "expected '{', '@set' or '$variable' after 'vmap'")
NFT_MESSAGE(set_value, "expected a value after 'set'")
NFT_MESSAGE(mask_list, "expected a mask after '/'")
NFT_MESSAGE(rule_end, "unexpected text in the rule: not a statement this parser knows")
NFT_MESSAGE(chain_type, "expected a chain type (filter, nat, route) after 'type'")
NFT_MESSAGE(hook_keyword, "expected 'hook' after the chain type")
NFT_MESSAGE(hook_name, "expected a hook name (prerouting, input, forward, output, postrouting, ...)")
NFT_MESSAGE(priority_keyword, "expected 'priority' after the hook")
NFT_MESSAGE(priority_value, "expected a priority: a number, or a name such as filter with an optional offset")
NFT_MESSAGE(policy_value, "expected a policy (accept or drop)")
NFT_MESSAGE(chain_attr_end, "expected ';' or a new line after the chain attribute")
NFT_MESSAGE(block_close, "expected '}': the block holds something this parser does not know")
NFT_MESSAGE(type_concat, "expected a data type after 'type'")
NFT_MESSAGE(data_type, "expected a data type after ':'")
NFT_MESSAGE(typeof_key, "expected an expression after 'typeof'")
NFT_MESSAGE(typeof_data, "expected an expression after ':'")
NFT_MESSAGE(elements_eq, "expected '=' after 'elements'")
NFT_MESSAGE(elements_body, "expected '{' with the set's elements")
NFT_MESSAGE(object_name, "expected the object's name")
NFT_MESSAGE(balanced, "expected '{' with the object's attributes")
NFT_MESSAGE(chain_name, "expected a chain name")
NFT_MESSAGE(set_name, "expected a set name")
NFT_MESSAGE(block_open, "expected '{'")
NFT_MESSAGE(table_name, "expected a table name")
NFT_MESSAGE(define_name, "expected a variable name after 'define'")
NFT_MESSAGE(define_eq, "expected '=' after the variable name")
NFT_MESSAGE(define_value, "expected a value after '='")
NFT_MESSAGE(include_path, "expected a quoted file name after 'include'")
NFT_MESSAGE(line_end, "unexpected text at the end of the command")
NFT_MESSAGE(top_end, "expected a command (table, chain, rule, set, define, include, flush ...)")
#undef NFT_MESSAGE
#undef NFT_KEY

template <typename Rule>
struct control : pegtl::normal<Rule> {
    template <typename Input, typename... States>
    [[noreturn]] static void raise(const Input& in, States&&...) {
        static_assert(message<Rule> != nullptr, "every must<> point needs a message");
        throw pegtl::parse_error(message<Rule>, in);
    }
};

}  // namespace bpftables::parser::nft_grammar
