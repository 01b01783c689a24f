// Decided once (docs/design-notes.md): with bpft_config::decided_mark set, XDP writes one word of packet
// metadata for what it passes (DECIDED, DEFER, HANDED), defers to tc-ingress the conntrack packets whose
// checksum it cannot verify, and tc-ingress sets the bit in the skb mark on what it accepts and clears it on
// the rest. Without the bit nothing changes (every other test runs so).
#include <cstring>

#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;
using loader::Ipv4;
using loader::RunResult;
using loader::Tcp;
using loader::Udp;

constexpr uint32_t bit = 0x01000000;

class Handoff : public RuntimeTest {
  protected:
    // The program's run on `f` at `hook` (with the handoff on unless `options` says otherwise).
    static RunResult run(Ruleset& rs, Hook hook, const std::vector<uint8_t>& f, uint32_t mark = 0) {
        std::string error;
        std::optional<RunResult> r = rs.test_run(hook, f, error, mark);
        EXPECT_TRUE(r) << error;
        return r ? *r : RunResult{};
    }
    // The metadata word in front of the frame XDP left, or 0 when there is none.
    static uint32_t meta(const RunResult& r, size_t frame_size) {
        if (r.data.size() != frame_size + sizeof(uint32_t)) return 0;
        uint32_t word = 0;
        std::memcpy(&word, r.data.data(), sizeof word);
        return word;
    }
};

TEST_F(Handoff, XdpTellsTcWhatItDecided) {
    std::string text = input_chain({"-p udp --dport 53 -j ACCEPT", "-p udp --dport 54 -j DROP",
                                    "-p udp --dport 55 -m addrtype ! --dst-type UNICAST -j ACCEPT"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text, {.decided_mark = bit});
    std::vector<uint8_t> accepted = frame(Ipv4{}, Udp{.dport = 53});
    EXPECT_EQ(meta(run(rs, Hook::xdp, accepted), accepted.size()), BPFT_META_MAGIC | BPFT_META_DECIDED);
    std::vector<uint8_t> handed = frame(Ipv4{}, Udp{.dport = 55});  // addrtype: the kernel's
    EXPECT_EQ(meta(run(rs, Hook::xdp, handed), handed.size()), BPFT_META_MAGIC | BPFT_META_HANDED);
    std::vector<uint8_t> dropped = frame(Ipv4{}, Udp{.dport = 54});
    RunResult d = run(rs, Hook::xdp, dropped);
    EXPECT_EQ(d.retval, 1u);  // XDP_DROP
    EXPECT_EQ(meta(d, dropped.size()), 0u);
}

TEST_F(Handoff, NoMetadataWithoutTheBit) {
    std::string text = input_chain({"-p udp --dport 53 -j ACCEPT"});
    REQUIRE_PARSER(text);
    std::vector<uint8_t> f = frame(Ipv4{}, Udp{.dport = 53});
    std::string error;
    std::optional<RunResult> r = ruleset(text).test_run(Hook::xdp, f, error);
    ASSERT_TRUE(r) << error;
    EXPECT_TRUE(r->data.empty());  // the frame is not even reported: nothing was asked
    EXPECT_VERDICT_ON(ruleset(text), Hook::xdp, f, "ACCEPT", "INPUT", 1);
}

// A wrong (or, on a veth, partial) TCP/UDP checksum: XDP cannot know which, so it defers before any rule
// counts the packet; tc-ingress checks again with what the skb knows (here CHECKSUM_NONE: still wrong, the
// kernel's).
TEST_F(Handoff, XdpDefersWhatItsChecksumCannotTell) {
    std::string text = input_chain({"-p udp -j ACCEPT", "-m conntrack --ctstate NEW -j ACCEPT"}, "DROP");
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text, {.decided_mark = bit});
    std::vector<uint8_t> bad = frame(Ipv4{}, Udp{.dport = 5000}, 8);
    bad.back() ^= 0x01;
    RunResult x = run(rs, Hook::xdp, bad);
    EXPECT_EQ(meta(x, bad.size()), BPFT_META_MAGIC | BPFT_META_DEFER);
    EXPECT_EQ(x.retval, 2u);  // XDP_PASS
    std::optional<bpft_counter> first = rs.counter(Hook::xdp, "filter", "INPUT", 1);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->packets, 0u) << "deferred before any rule counted it";
    RunResult t = run(rs, Hook::tc_ingress, bad);
    EXPECT_EQ(BPFT_KIND(t.verdict), BPFT_ACCEPT) << "rule 1 needs no conntrack: TC decides";
    std::vector<uint8_t> good = frame(Ipv4{}, Udp{.dport = 5000}, 8);
    EXPECT_EQ(meta(run(rs, Hook::xdp, good), good.size()), BPFT_META_MAGIC | BPFT_META_DECIDED);
}

TEST_F(Handoff, TcMarksWhatItAcceptsAndClearsTheRest) {
    std::string text = input_chain({"-p udp --dport 53 -j ACCEPT", "-p udp --dport 54 -j DROP",
                                    "-p udp --dport 55 -m addrtype ! --dst-type UNICAST -j ACCEPT"});
    REQUIRE_PARSER(text);
    Ruleset& rs = ruleset(text, {.decided_mark = bit});
    EXPECT_EQ(run(rs, Hook::tc_ingress, frame(Ipv4{}, Udp{.dport = 53}), 0x5).mark, bit | 0x5);
    EXPECT_EQ(run(rs, Hook::tc_ingress, frame(Ipv4{}, Udp{.dport = 55}), bit | 0x5).mark, 0x5u)
        << "handed to the kernel: the bit is cleared, whoever set it";
    EXPECT_EQ(run(rs, Hook::tc_ingress, frame(Ipv4{}, Tcp{}), bit).mark, bit) << "the policy accepts";
}

}  // namespace
}  // namespace bpftables::test
