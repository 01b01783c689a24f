#pragma once
// PEGTL grammar of one line of iptables-save / iptables-restore input. The driver (iptables_parser.cpp)
// classifies each line by its first character and parses it with the matching line rule; actions only record
// text and positions.
#include <tao/pegtl.hpp>

namespace bpftables::parser::grammar {

namespace pegtl = tao::pegtl;
using pegtl::any;
using pegtl::blank;
using pegtl::digit;
using pegtl::eof;
using pegtl::must;
using pegtl::not_one;
using pegtl::one;
using pegtl::opt;
using pegtl::plus;
using pegtl::seq;
using pegtl::sor;
using pegtl::star;

struct blanks : plus<blank> {};
struct opt_blanks : star<blank> {};
struct end_of_line : eof {};

struct name_char : not_one<' ', '\t'> {};

// *filter
struct table_name : plus<name_char> {};
struct table_line : seq<one<'*'>, must<table_name>, opt_blanks, must<end_of_line>> {};

// [packets:bytes]
struct packet_count : plus<digit> {};
struct byte_count : plus<digit> {};
struct counter_colon : one<':'> {};
struct counter_close : one<']'> {};
struct counters
    : seq<one<'['>, must<packet_count>, must<counter_colon>, must<byte_count>, must<counter_close>> {};

// :CHAIN POLICY [p:b]
struct chain_name : plus<name_char> {};
struct policy_name : plus<name_char> {};
struct chain_policy_sep : blanks {};
struct chain_line : seq<one<':'>, must<chain_name>, must<chain_policy_sep>, must<policy_name>, opt_blanks,
                        opt<counters, opt_blanks>, must<end_of_line>> {};

// COMMIT
struct commit_keyword : TAO_PEGTL_STRING("COMMIT") {};
struct commit_line : seq<commit_keyword, opt_blanks, must<end_of_line>> {};

// Words of a command; quotes group blanks, a backslash escapes the next character.
struct escaped : seq<one<'\\'>, any> {};
struct dquote_close : one<'"'> {};
struct squote_close : one<'\''> {};
struct dquoted : seq<one<'"'>, star<sor<escaped, not_one<'"'>>>, must<dquote_close>> {};
struct squoted : seq<one<'\''>, star<not_one<'\''>>, must<squote_close>> {};
struct bare_char : sor<escaped, not_one<' ', '\t', '"', '\''>> {};
struct word : plus<sor<dquoted, squoted, bare_char>> {};
struct command_line
    : seq<opt_blanks, opt<counters, blanks>, word, star<blanks, word>, opt_blanks, must<end_of_line>> {};

// Messages for each must<> point; a rule without one here is a bug caught by the control's static_assert.
template <typename Rule>
inline constexpr const char* message = nullptr;
template <>
inline constexpr const char* message<table_name> = "expected a table name after '*'";
template <>
inline constexpr const char* message<packet_count> = "expected a packet count in '[packets:bytes]'";
template <>
inline constexpr const char* message<counter_colon> = "expected ':' between packet and byte counts";
template <>
inline constexpr const char* message<byte_count> = "expected a byte count in '[packets:bytes]'";
template <>
inline constexpr const char* message<counter_close> = "expected ']' after the byte count";
template <>
inline constexpr const char* message<chain_name> = "expected a chain name after ':'";
template <>
inline constexpr const char* message<chain_policy_sep> = "expected a policy after the chain name";
template <>
inline constexpr const char* message<policy_name> = "expected a policy after the chain name";
template <>
inline constexpr const char* message<end_of_line> = "unexpected text at the end of the line";
template <>
inline constexpr const char* message<dquote_close> = "unterminated quoted string";
template <>
inline constexpr const char* message<squote_close> = "unterminated quoted string";

template <typename Rule>
struct control : pegtl::normal<Rule> {
    template <typename Input, typename... States>
    [[noreturn]] static void raise(const Input& in, States&&...) {
        static_assert(message<Rule> != nullptr, "every must<> point needs a message");
        throw pegtl::parse_error(message<Rule>, in);
    }
};

}  // namespace bpftables::parser::grammar
