// The direct back end against the C back end: random rulesets of what the direct back end emits (prefixes
// and their negation, protocols, ports and ranges, multiport, interfaces with '+', conntrack states, icmp
// types, comments, ipsets, limits before LOG or no target; ACCEPT, DROP, RETURN, jumps and gotos to user chains, LOG, REJECT; policies) and random
// packets. The harness runs every packet on both programs and fails unless verdicts, deciding rules and
// return codes agree (harness.hpp); the counters of every rule and policy must agree at the end.
// Fixed seeds, a few dozen rules and 60 packets per ruleset: under ten seconds in all.
#include <cstdlib>
#include <random>

#include "tests/runtime/harness.hpp"

namespace bpftables::test {
namespace {

using loader::frame;

class DirectDifferential : public RuntimeTest {};

// Sets over the generator's addresses (198.18.0.0/22): hash:ip and hash:net.
const std::string ipsets =
    "create hosts hash:ip family inet hashsize 1024 maxelem 65536\nadd hosts 198.18.0.1\nadd hosts "
    "198.18.2.3\n"
    "create nets hash:net family inet hashsize 1024 maxelem 65536\nadd nets 198.18.1.0/24\n"
    "add nets 198.18.3.2/31\n";

struct Generator {
    std::mt19937 rng;
    bool v6;  // an ip6tables ruleset and IPv6 packets
    explicit Generator(uint32_t seed, bool ipv6 = false) : rng(seed), v6(ipv6) {}

    int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }
    bool chance(int percent) { return pick(100) < percent; }

    // Addresses in a small space (198.18.0.0/22) so that prefixes match some packets.
    uint32_t addr() {
        return 0xc6120000u | static_cast<uint32_t>(pick(4)) << 8 | static_cast<uint32_t>(pick(4));
    }
    std::string dotted(uint32_t a) {
        return std::to_string(a >> 24) + "." + std::to_string(a >> 16 & 0xff) + "." +
               std::to_string(a >> 8 & 0xff) + "." + std::to_string(a & 0xff);
    }
    // IPv6: 2001:db8::A:B with A and B in 0..3, the same small space.
    loader::Ip6Addr addr6() {
        loader::Ip6Addr a{0x20, 0x01, 0x0d, 0xb8};
        a[13] = static_cast<uint8_t>(pick(4));
        a[15] = static_cast<uint8_t>(pick(4));
        return a;
    }
    static std::string text6(const loader::Ip6Addr& a) {
        return "2001:db8::" + std::to_string(a[13]) + ":" + std::to_string(a[15]);
    }
    std::string address(const char* opt) {
        std::string neg = chance(20) ? "! " : "";
        if (!v6) {
            int len = pick(3) == 0 ? 32 : 22 + pick(10);
            return neg + opt + " " + dotted(addr()) + "/" + std::to_string(len) + " ";
        }
        int len = pick(3) == 0 ? 128 : 104 + pick(24);
        return neg + opt + " " + text6(addr6()) + "/" + std::to_string(len) + " ";
    }
    // The ip6tables-only matches.
    std::string ipv6_only() {
        switch (pick(6)) {
            case 0:
                return std::string("-m hl ") + (chance(20) ? "! --hl-eq " : "--hl-eq ") +
                       (chance(50) ? "64 " : "1 ");
            case 1:
                return "-m hl --hl-" + std::string(chance(50) ? "lt " : "gt ") + std::to_string(pick(128)) +
                       " ";
            case 2:
                return std::string("-m ipv6header ") + (chance(50) ? "--soft " : "") +
                       (chance(20) ? "! " : "") + "--header " +
                       (chance(50) ? "dst,prot " : "route,dst,prot ");
            case 3:
                return chance(50) ? "-m rt --rt-segsleft 0 " : "-m frag --fragid 0:100 ";
            case 4:
                return std::string("-m iprange ") + (chance(20) ? "! " : "") + "--src-range " +
                       text6(addr6()) + "-2001:db8::3:" + std::to_string(pick(4)) + " ";
            default:
                return "-m dst --dst-len 0 ";
        }
    }
    uint16_t port() { return static_cast<uint16_t>(pick(4) == 0 ? 1024 + pick(60000) : 20 + pick(6)); }
    std::string ports() {
        uint16_t a = port();
        if (!chance(30)) return std::to_string(a);
        uint16_t b = static_cast<uint16_t>(a + pick(5));
        return std::to_string(a) + ":" + std::to_string(b);
    }
    const char* iface() {
        static const char* const names[] = {"eth0", "eth+", "veth1", "veth+", "docker0", "br-+"};
        return names[pick(6)];
    }

    std::string rule(const std::vector<std::string>& chains, bool base) {
        std::string r;
        if (chance(40)) r += address("-s");
        if (chance(30)) r += address("-d");
        if (v6 && chance(50)) r += ipv6_only();
        if (chance(20)) r += std::string(chance(20) ? "! " : "") + "-i " + iface() + " ";
        if (chance(10)) r += std::string("-o ") + iface() + " ";
        int proto = pick(5);
        if (proto == 1 || proto == 2) {
            const char* p = proto == 1 ? "tcp" : "udp";
            r += std::string("-p ") + p + " ";
            if (chance(50)) r += std::string(chance(15) ? "! " : "") + "--dport " + ports() + " ";
            if (chance(25)) r += "--sport " + ports() + " ";
            if (chance(15)) r += "-m multiport --dports " + std::to_string(port()) + "," + ports() + " ";
            if (proto == 1 && chance(15)) r += "--tcp-flags SYN,ACK SYN ";
        } else if (proto == 3 && v6) {
            static const char* const types[] = {"echo-request", "1/4", "destination-unreachable",
                                                "neighbour-solicitation"};
            r += std::string("-p ipv6-icmp ") +
                 (chance(70) ? std::string(chance(15) ? "! " : "") + "--icmpv6-type " + types[pick(4)] + " "
                             : "");
        } else if (proto == 3) {
            static const char* const types[] = {"echo-request", "echo-reply", "any", "3/1",
                                                "destination-unreachable"};
            r += std::string("-p icmp ") +
                 (chance(70) ? std::string(chance(15) ? "! " : "") + "--icmp-type " + types[pick(5)] + " "
                             : "");
        } else if (proto == 4 && chance(50)) {
            r += std::string(chance(20) ? "! " : "") + "-p " + std::to_string(1 + pick(20)) + " ";
        }
        if (chance(15)) {
            static const char* const states[] = {"NEW", "ESTABLISHED,RELATED", "INVALID", "NEW,UNTRACKED"};
            r += std::string(chance(50) ? "-m conntrack " + std::string(chance(15) ? "! " : "") + "--ctstate "
                                        : "-m state --state ") +
                 states[pick(4)] + " ";
        }
        if (chance(10)) r += "-m comment --comment \"rule " + std::to_string(pick(100)) + "\" ";
        if (!v6 && chance(10))  // (the sets are IPv4's: an IPv6 ruleset's -m set is the kernel's)
            r += std::string("-m set ") + (chance(20) ? "! " : "") + "--match-set " +
                 (chance(50) ? "hosts " : "nets ") + (chance(50) ? "src " : "dst ");
        int target = pick(10);
        // A limit before LOG or a bare counter is the program's token bucket (before a verdict, the
        // kernel's): at 1/hour only the burst passes, whatever the time between the two programs' runs.
        if ((target == 8 || target == 9) && chance(30))
            r += "-m limit --limit 1/hour --limit-burst " + std::to_string(1 + pick(4)) + " ";
        if (target < 3) return r + "-j ACCEPT";
        if (target < 6) return r + "-j DROP";
        if (target == 6 && !base) return r + "-j RETURN";
        if (target == 7 && !chains.empty())
            return r + (chance(30) ? "-g " : "-j ") + chains[pick(chains.size())];
        if (target == 8)
            return r + (chance(50) || r.find("limit") != std::string::npos ? "-j LOG" : "-j REJECT");
        return r.empty() ? "-j DROP" : r;  // no target: a counter
    }

    std::string ruleset() {
        std::vector<std::string> users;
        std::string text = std::string("*filter\n:INPUT ") + (chance(50) ? "DROP" : "ACCEPT") +
                           " [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
        int n_users = pick(3);
        for (int i = 0; i < n_users; ++i) {
            users.push_back("USER" + std::to_string(i));
            text += ":" + users.back() + " - [0:0]\n";
        }
        // A user chain jumps only to later ones: no loops.
        for (int i = 0; i < n_users; ++i) {
            std::vector<std::string> later(users.begin() + i + 1, users.end());
            for (int k = 3 + pick(6); k > 0; --k) text += "-A " + users[i] + " " + rule(later, false) + "\n";
        }
        for (int k = 5 + pick(15); k > 0; --k) text += "-A INPUT " + rule(users, true) + "\n";
        return text + "COMMIT\n";
    }

    std::vector<uint8_t> packet() { return v6 ? packet6() : packet4(); }

    // kind 0: a TCP SYN or ACK, 1: a UDP datagram with up to 19 bytes of payload; either IP version.
    template <typename Ip>
    std::vector<uint8_t> tcp_or_udp(const Ip& ip, int kind) {
        if (kind == 0)
            return frame(ip, loader::Tcp{.sport = port(),
                                         .dport = port(),
                                         .flags = static_cast<uint8_t>(pick(2) ? 0x02 : 0x10)});
        return frame(ip, loader::Udp{.sport = port(), .dport = port()}, pick(20));
    }

    std::vector<uint8_t> packet6() {
        loader::Ipv6 ip{.src = addr6(), .dst = addr6()};
        static const uint8_t hop_limits[] = {1, 2, 63, 64, 65, 255};
        ip.hop_limit = pick(4) == 0 ? static_cast<uint8_t>(1 + pick(255)) : hop_limits[pick(6)];
        if (chance(20)) ip.ext.push_back({static_cast<uint8_t>(pick(2) ? 60 : 43), {}});
        int kind = pick(4);
        if (kind < 2) return tcp_or_udp(ip, kind);
        if (kind == 2) {
            static const uint8_t types[] = {128, 129, 1, 135};
            return frame(ip, loader::Icmp{.type = types[pick(4)], .code = static_cast<uint8_t>(pick(5))});
        }
        ip.proto = static_cast<uint8_t>(pick(2) ? 6 : 58);  // a truncated TCP or ICMPv6 header
        return frame(ip, loader::RawL4{std::vector<uint8_t>(static_cast<size_t>(pick(24)), 0)});
    }

    std::vector<uint8_t> packet4() {
        loader::Ipv4 ip{.src = addr(), .dst = addr()};
        int kind = pick(4);
        if (kind < 2) return tcp_or_udp(ip, kind);
        if (kind == 2)
            return frame(ip, loader::Icmp{.type = static_cast<uint8_t>(pick(2) ? 8 : 3),
                                          .code = static_cast<uint8_t>(pick(3))});
        // a truncated TCP header, or another protocol
        ip.proto = static_cast<uint8_t>(pick(2) ? 6 : 1 + pick(20));
        return frame(ip, loader::RawL4{std::vector<uint8_t>(static_cast<size_t>(pick(24)), 0)});
    }
};

// Rulesets of seeds [first, last] and 60 packets each, one hook per ruleset, alternating (each ruleset costs
// a clang run for the C back end).
void agree(uint32_t first, uint32_t last, bool v6) {
    for (uint32_t seed = first; seed <= last; ++seed) {
        Hook hook = seed % 2 ? Hook::xdp : Hook::tc_ingress;
        Generator g(seed, v6);
        std::string text = g.ruleset();
        RunOptions options;
        options.ipsets = ipsets;
        options.family = v6 ? ir::Family::ipv6 : ir::Family::ipv4;
        options.in = g.iface();
        if (options.in.back() == '+') options.in.back() = '7';
        options.out = "eth1";
        Ruleset rs(text, options);
        std::string why;
        ASSERT_TRUE(rs.direct(hook, &why)) << "seed " << seed << ": the direct back end refuses\n"
                                           << text << why;
        for (int i = 0; i < 60; ++i) {
            std::string error;
            ASSERT_TRUE(rs.run(hook, g.packet(), error))
                << "seed " << seed << " packet " << i << ": " << error << "\n"
                << text;
        }
        // Every rule's and policy's counters (the harness compares them with the C back end's).
        const codegen::Layout* layout = rs.layout(hook);
        for (const codegen::GidInfo& info : layout->gids) {
            if (info.table == "filter") {
                EXPECT_TRUE(rs.counter(hook, info.table, info.chain, info.rule)) << "seed " << seed << "\n"
                                                                                 << text;
            }
        }
    }
}

bool direct_off() {
    const char* mode = std::getenv("BPFTABLES_TEST_DIRECT");
    return mode && std::string(mode) == "0";
}

TEST_F(DirectDifferential, RandomRulesetsAgreeOnVerdictsAndCounters) {
    if (direct_off()) GTEST_SKIP() << "BPFTABLES_TEST_DIRECT=0: the direct back end is not built";
    agree(1, 6, false);
}

TEST_F(DirectDifferential, RandomIpv6RulesetsAgree) {
    if (direct_off()) GTEST_SKIP() << "BPFTABLES_TEST_DIRECT=0: the direct back end is not built";
    agree(101, 104, true);
}

}  // namespace
}  // namespace bpftables::test
