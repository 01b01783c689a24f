// -m state / -m conntrack through the kernel's conntrack kfuncs. BPF_PROG_TEST_RUN packets have no conntrack
// entry, so: a UDP packet or a TCP SYN is NEW (conntrack would create the entry); a TCP packet without an
// entry that is not a plain SYN (loose pickup, INVALID ... depend on sysctls) and protocols the kfuncs cannot
// look up are handed to the kernel at the first rule that needs the state. NOTRACK in raw makes UNTRACKED.
// Packets of flows with an entry (the window checks of bpft_tcp_in_window) are the compat conntrack cases'.
#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::Icmp;
using loader::ip;
using loader::Ipv4;
using loader::Tcp;
using loader::Udp;

class Conntrack : public RuntimeTest {};

constexpr uint8_t SYN = 0x02, ACK = 0x10, RST = 0x04;

// Ports unlikely to have a real conntrack entry on the test machine.
std::vector<uint8_t> udp() {
    return frame(Ipv4{.src = ip("198.51.100.7")}, Udp{.sport = 47001, .dport = 47002});
}
std::vector<uint8_t> tcp(uint8_t flags) {
    return frame(Ipv4{.src = ip("198.51.100.7")}, Tcp{.sport = 47003, .dport = 47004, .flags = flags});
}

TEST_F(Conntrack, StateWithoutEntry) {
    std::string text = input_chain({"-p icmp -j ACCEPT", "-m state --state RELATED,ESTABLISHED -j ACCEPT",
                                    "-m state --state NEW -j DROP"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, udp(), "DROP", "INPUT", 3);
    EXPECT_VERDICT(rs, tcp(SYN), "DROP", "INPUT", 3);
    EXPECT_VERDICT(rs, tcp(ACK), "KERNEL", "INPUT", 2);
    EXPECT_VERDICT(rs, tcp(SYN | ACK), "KERNEL", "INPUT", 2);
    EXPECT_VERDICT(rs, tcp(RST), "KERNEL", "INPUT", 2);
    // rules before the first state match decide as usual
    EXPECT_VERDICT(rs, frame(Ipv4{}, Icmp{}), "ACCEPT", "INPUT", 1);
}

TEST_F(Conntrack, ProtocolsWithoutLookupAreHandedToTheKernel) {
    std::string text = input_chain({"-m state --state NEW -j ACCEPT"});
    REQUIRE_PARSER(text);
    EXPECT_VERDICT(text, frame(Ipv4{}, Icmp{}), "KERNEL", "INPUT", 1);
    EXPECT_VERDICT(text, frame(Ipv4{.proto = 47}, loader::RawL4{{0, 0, 8, 0}}), "KERNEL", "INPUT", 1);
}

TEST_F(Conntrack, NegatedState) {
    std::string text = input_chain({"-m state ! --state NEW -j DROP", "-j ACCEPT"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, udp(), "ACCEPT", "INPUT", 2);
    EXPECT_VERDICT(rs, tcp(SYN), "ACCEPT", "INPUT", 2);
}

TEST_F(Conntrack, CtstateWithoutEntry) {
    std::string text =
        input_chain({"-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
                     "-m conntrack --ctstate INVALID -j DROP", "-m conntrack --ctstate NEW -j ACCEPT"},
                    "DROP");
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, udp(), "ACCEPT", "INPUT", 3);
    EXPECT_VERDICT(rs, tcp(SYN), "ACCEPT", "INPUT", 3);
    EXPECT_VERDICT(rs, tcp(ACK), "KERNEL", "INPUT", 1);
}

TEST_F(Conntrack, CtprotoAndOriginalAddresses) {
    // a NEW connection's original tuple is the packet's own
    std::string text =
        input_chain({"-m conntrack --ctstate NEW --ctproto 6 -j DROP",
                     "-m conntrack --ctorigsrc 198.51.100.0/24 --ctorigdst 198.18.0.2 -j ACCEPT"},
                    "DROP");
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, tcp(SYN), "DROP", "INPUT", 1);
    EXPECT_VERDICT(rs, udp(), "ACCEPT", "INPUT", 2);
    EXPECT_VERDICT(rs, frame(Ipv4{.src = ip("203.0.113.1")}, Udp{.sport = 47001, .dport = 47002}), "DROP",
                   "INPUT", 0);
}

TEST_F(Conntrack, TcpOptionsWithoutEntry) {
    // Conntrack programs walk the TCP options (a SACK block hands a tracked flow's packet to the kernel); a
    // ruleset that also matches --tcp-option shares the walk. Without an entry nothing changes: a SYN with a
    // Linux SYN's options (MSS 1460, SACK permitted, timestamps, NOP, window scale 7) is NEW, an ACK (here
    // with NOP, NOP, one SACK block) goes to the kernel as any ACK without an entry.
    const std::vector<uint8_t> syn_options = {2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
    const std::vector<uint8_t> sack = {1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 9};
    auto with = [](uint8_t flags, std::vector<uint8_t> options) {
        return frame(Ipv4{.src = ip("198.51.100.7")},
                     Tcp{.sport = 47003, .dport = 47004, .flags = flags, .options = std::move(options)});
    };
    Ruleset& rs = ruleset(input_chain({"-m conntrack --ctstate NEW -j ACCEPT"}, "DROP"));
    EXPECT_VERDICT(rs, with(SYN, syn_options), "ACCEPT", "INPUT", 1);
    EXPECT_VERDICT(rs, with(ACK, sack), "KERNEL", "INPUT", 1);
    Ruleset& both = ruleset(input_chain({"-p tcp -m tcp --tcp-option 8 -m conntrack --ctstate NEW -j DROP",
                                         "-m conntrack --ctstate NEW -j ACCEPT"},
                                        "DROP"));
    EXPECT_VERDICT(both, with(SYN, syn_options), "DROP", "INPUT", 1);
    EXPECT_VERDICT(both, with(SYN, {}), "ACCEPT", "INPUT", 2);
}

// Conntrack verifies TCP and UDP checksums at PREROUTING (nf_conntrack_checksum, on by default) and checks
// the headers' lengths: a packet that fails is INVALID, which the program leaves to the kernel (regression
// cases conntrack-invalid-bad-tcp-checksum, -bad-udp-checksum, -udp-length-over-datagram, -tcp-doff-under-5).
// The lengths cross every step of bpft_l4_csum_ok: 512-byte blocks, the rest in words, the last 1 to 3 bytes.
TEST_F(Conntrack, WrongChecksumsAndLengthsAreTheKernels) {
    Ruleset& rs = ruleset(input_chain({"-m conntrack --ctstate NEW -j ACCEPT"}, "DROP"));
    const size_t udp_at = 14 + 20, tcp_at = 14 + 20;
    for (size_t payload :
         {0, 1, 2, 3, 4, 5, 7, 8, 31, 63, 255, 483, 484, 485, 487, 503, 504, 1000, 1471, 1472}) {
        SCOPED_TRACE("payload " + std::to_string(payload));
        std::vector<uint8_t> good =
            frame(Ipv4{.src = ip("198.51.100.7")}, Udp{.sport = 47001, .dport = 47002}, payload);
        EXPECT_VERDICT(rs, good, "ACCEPT", "INPUT", 1);
        std::vector<uint8_t> bad = good;
        bad.back() ^= 0x01;  // the last byte: the 1-3 byte tail, a word, or the UDP checksum itself
        EXPECT_VERDICT(rs, bad, "KERNEL", "INPUT", 1);
        std::vector<uint8_t> none = bad;  // no checksum: nothing to verify
        none[udp_at + 6] = none[udp_at + 7] = 0;
        EXPECT_VERDICT(rs, none, "ACCEPT", "INPUT", 1);
        std::vector<uint8_t> syn = frame(Ipv4{.src = ip("198.51.100.7")},
                                         Tcp{.sport = 47003, .dport = 47004, .flags = SYN}, payload);
        EXPECT_VERDICT(rs, syn, "ACCEPT", "INPUT", 1);
        syn.back() ^= 0x80;
        EXPECT_VERDICT(rs, syn, "KERNEL", "INPUT", 1);
    }
    std::vector<uint8_t> long_udp =
        frame(Ipv4{.src = ip("198.51.100.7")}, Udp{.sport = 47001, .dport = 47002}, 4);
    long_udp[udp_at + 5] += 1;  // the length field one over the datagram (the checksum is wrong too: cleared)
    long_udp[udp_at + 6] = long_udp[udp_at + 7] = 0;
    EXPECT_VERDICT(rs, long_udp, "KERNEL", "INPUT", 1);
    std::vector<uint8_t> short_doff =
        frame(Ipv4{.src = ip("198.51.100.7")}, Tcp{.sport = 47003, .dport = 47004, .flags = SYN}, 4);
    short_doff[tcp_at + 12] = 4 << 4;
    EXPECT_VERDICT(rs, short_doff, "KERNEL", "INPUT", 1);
}

TEST_F(Conntrack, NotrackMakesUntracked) {
    std::string text =
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p udp -j NOTRACK\n"
        "-A PREROUTING -p tcp -j CT --notrack\nCOMMIT\n"
        "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A INPUT -m state --state NEW -j DROP\n-A INPUT -m conntrack --ctstate UNTRACKED -p udp -j ACCEPT\n"
        "-A INPUT -m state --state UNTRACKED -j ACCEPT\nCOMMIT\n";
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, udp(), "ACCEPT", "INPUT", 2);
    // untracked: no lookup needed, even for a TCP packet that is not a SYN
    EXPECT_VERDICT(rs, tcp(ACK), "ACCEPT", "INPUT", 3);
}

TEST_F(Conntrack, StateInRawIsInvalidOrUntracked) {
    // conntrack has not run yet in raw PREROUTING: the state match sees INVALID (or UNTRACKED after NOTRACK)
    std::string text =
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p udp -j NOTRACK\n"
        "-A PREROUTING -m state --state UNTRACKED -j ACCEPT\n-A PREROUTING -m state --state INVALID -j DROP\n"
        "COMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text);
    EXPECT_VERDICT(rs, udp(), "ACCEPT", "INPUT", 0);
    EXPECT_VERDICT(rs, tcp(ACK), "DROP", "raw:PREROUTING", 3);
}

}  // namespace
}  // namespace bpftables::test
