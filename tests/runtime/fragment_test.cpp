// -f: second and later fragments (a non-zero fragment offset); the first fragment is not one of them.
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using runtime::frame;
using runtime::Ipv4;
using runtime::RawL4;
using runtime::Tcp;
using runtime::Udp;

class Fragment : public RuntimeTest {};

constexpr uint16_t more_fragments = 0x2000;
constexpr uint16_t dont_fragment = 0x4000;

std::vector<uint8_t> later_fragment(uint16_t offset, bool more = false) {
    return frame(Ipv4{.frag_off = static_cast<uint16_t>(offset | (more ? more_fragments : 0)), .proto = 17},
                 RawL4{std::vector<uint8_t>(16, 0xab)});
}

TEST_F(Fragment, MatchesLaterFragmentsOnly) {
    Ruleset& rs = ruleset(input_chain({"-f -j DROP"}));
    EXPECT_VERDICT(rs, later_fragment(185), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, later_fragment(1, true), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, later_fragment(0x1fff), "DROP", "INPUT", 1);
    // first fragment: offset 0 with MF set
    EXPECT_VERDICT(rs, frame(Ipv4{.frag_off = more_fragments}, Udp{}, 32), "ACCEPT", "INPUT", 0);
    // DF is a flag, not an offset
    EXPECT_VERDICT(rs, frame(Ipv4{.frag_off = dont_fragment}, Tcp{}), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Tcp{}), "ACCEPT", "INPUT", 0);
}

TEST_F(Fragment, Negated) {
    Ruleset& rs = ruleset(input_chain({"! -f -j DROP"}));
    EXPECT_VERDICT(rs, later_fragment(185), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, frame(Ipv4{.frag_off = more_fragments}, Udp{}, 32), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Udp{}), "DROP", "INPUT", 1);
}

TEST_F(Fragment, WithProtocol) {
    // a later fragment still carries its protocol number: -p matches it, -f restricts to it
    Ruleset& rs = ruleset(input_chain({"-p udp -f -j DROP", "-p udp -j ACCEPT"}, "DROP"));
    EXPECT_VERDICT(rs, later_fragment(3), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Udp{}), "ACCEPT", "INPUT", 2);
}

}  // namespace
}  // namespace bpftables::test
