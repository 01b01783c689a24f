// -p: by name and number, negated; "-p all" matches every protocol.
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::Icmp;
using loader::Ipv4;
using loader::RawL4;
using loader::Tcp;
using loader::Udp;

class Protocol : public RuntimeTest {};

TEST_F(Protocol, ByName) {
    Ruleset& rs = ruleset(input_chain({"-p tcp -j ACCEPT", "-p udp -j DROP", "-p icmp -j ACCEPT"}, "DROP"));
    EXPECT_VERDICT(rs, frame(Ipv4{}, Tcp{}), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Udp{}), "DROP", "INPUT", 2);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Icmp{}), "ACCEPT", "INPUT", 3);
    EXPECT_VERDICT(rs, frame(Ipv4{.proto = 47}, RawL4{{0, 0, 0x08, 0}}), "DROP", "INPUT", 0);
}

TEST_F(Protocol, ByNumber) {
    Ruleset& rs = ruleset(input_chain({"-p 47 -j ACCEPT", "-p 6 -j DROP"}));
    EXPECT_VERDICT(rs, frame(Ipv4{.proto = 47}, RawL4{{0, 0, 0x08, 0}}), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Tcp{}), "DROP", "INPUT", 2);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Udp{}), "ACCEPT", "INPUT", 0);
}

TEST_F(Protocol, Negated) {
    Ruleset& rs = ruleset(input_chain({"! -p tcp -j DROP"}));
    EXPECT_VERDICT(rs, frame(Ipv4{}, Tcp{}), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, frame(Ipv4{}, Udp{}), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{.proto = 132}, RawL4{}), "DROP", "INPUT", 1);
}

TEST_F(Protocol, AllMatchesEveryProtocol) {
    Ruleset& rs = ruleset(input_chain({"-p all -j DROP"}));
    EXPECT_VERDICT(rs, frame(Ipv4{}, Tcp{}), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{.proto = 253}, RawL4{}), "DROP", "INPUT", 1);
}

TEST_F(Protocol, ProtocolAndAddressTogether) {
    Ruleset& rs = ruleset(input_chain({"-s 10.0.0.0/8 -p udp -j DROP"}));
    EXPECT_VERDICT(rs, frame(Ipv4{.src = loader::ip("10.0.0.1")}, Udp{}), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, frame(Ipv4{.src = loader::ip("10.0.0.1")}, Tcp{}), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, frame(Ipv4{.src = loader::ip("11.0.0.1")}, Udp{}), "ACCEPT", "INPUT", 0);
}

}  // namespace
}  // namespace bpftables::test
