#pragma once
// Seeded random rules and packets for the classifier's tests: rules the classifier takes (IPv4 or IPv6
// addresses, protocol, ports; ACCEPT or DROP) over a small space so that they overlap, and packets aimed at
// their edges, some with L4 headers too short for their ports.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>

#include "codegen/classifier.hpp"

namespace bpftables::test {

inline uint32_t pick(std::mt19937& rng, uint32_t n) {
    return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng);
}

inline std::string dotted(uint32_t a) {
    return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
           std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

// Addresses in 198.18.0.0/22, ports near a few edges.
constexpr uint32_t gen_base = 0xc6120000;
constexpr uint16_t gen_ports[] = {0, 1, 52, 53, 54, 1023, 1024, 8080, 65534, 65535};

// One rule, written after "-A CHAIN ".
// "-p PROTO " (one of `protos`, "" for none) and, for tcp and udp, port matches: the part of a random
// classifier rule after its addresses, for either family.
inline std::string classifier_l4_text(std::mt19937& rng, const std::array<const char*, 4>& protos) {
    std::string r, proto = protos[pick(rng, 4)];
    if (!proto.empty()) r += "-p " + proto + " ";
    if ((proto == "tcp" || proto == "udp") && pick(rng, 4)) {
        r += "-m " + proto + " ";
        for (const char* opt : {"--sport ", "--dport "}) {
            if (!pick(rng, 2)) continue;
            uint16_t a = gen_ports[pick(rng, 10)], b = gen_ports[pick(rng, 10)];
            if (a > b) std::swap(a, b);
            r += opt + (a == b ? std::to_string(a) : std::to_string(a) + ":" + std::to_string(b)) + " ";
        }
    }
    return r;
}

inline std::string classifier_rule_text(std::mt19937& rng) {
    static constexpr int lens[] = {22, 23, 24, 26, 30, 32};
    std::string r;
    for (const char* opt : {"-s ", "-d "})
        if (pick(rng, 3)) {
            int len = lens[pick(rng, 6)];
            uint32_t mask = len == 0 ? 0 : 0xffffffffu << (32 - len);
            r += opt + dotted((gen_base | pick(rng, 1024)) & mask) + "/" + std::to_string(len) + " ";
        }
    r += classifier_l4_text(rng, {"tcp", "udp", "icmp", ""});
    if (!pick(rng, 8)) r += "-m comment --comment c ";
    return r + (pick(rng, 2) ? "-j ACCEPT" : "-j DROP");
}

// IPv6: addresses 2001:db8:00aa:00bb:cc00::dd with bb, cc, dd below 4 and aa below 4 for sources, 4 to 7
// for destinations (their /48s and longer prefixes differ, so a walk that confused the two fields' ids would
// show), under prefixes from /32 to /128 (so that they nest at many depths); few rules match most packets.
inline std::array<uint32_t, 4> gen_addr6(std::mt19937& rng, int field) {
    return {0x20010db8u, ((pick(rng, 4) + 4 * field) << 16) | pick(rng, 4), pick(rng, 4) << 24, pick(rng, 4)};
}

inline std::string colon(const std::array<uint32_t, 4>& a) {
    std::string s;
    char group[8];
    for (int i = 0; i < 8; ++i) {
        std::snprintf(group, sizeof group, "%x", (a[i / 2] >> (i % 2 ? 0 : 16)) & 0xffff);
        s += (i ? ":" : "") + std::string(group);
    }
    return s;
}

inline std::string classifier_rule_text6(std::mt19937& rng) {
    static constexpr int lens[] = {32, 47, 48, 62, 64, 70, 72, 126, 128};
    std::string r;
    for (int field = 0; field < 2; ++field)
        if (pick(rng, 6)) {
            int len = lens[pick(rng, 8) + (pick(rng, 8) ? 1 : 0)];  // a /32 (every address) is rare
            std::array<uint32_t, 4> a = gen_addr6(rng, field);
            for (int w = 0; w < 4; ++w) {
                int bits = std::clamp(len - 32 * w, 0, 32);
                a[w] &= bits == 0 ? 0 : 0xffffffffu << (32 - bits);
            }
            r += (field == 0 ? "-s " : "-d ") + colon(a) + "/" + std::to_string(len) + " ";
        }
    r += classifier_l4_text(rng, {"tcp", "udp", "ipv6-icmp", ""});
    return r + (pick(rng, 2) ? "-j ACCEPT" : "-j DROP");
}

inline codegen::ClassifierPacket classifier_packet(std::mt19937& rng);

// A packet for classifier_rule_text6's rules: addresses mostly in their space, some outside every prefix.
inline codegen::ClassifierPacket classifier_packet6(std::mt19937& rng) {
    codegen::ClassifierPacket p = classifier_packet(rng);
    if (p.proto == 1) p.proto = 58;
    p.saddr = p.daddr = 0;
    p.saddr6 = gen_addr6(rng, 0), p.daddr6 = gen_addr6(rng, 1);
    if (!pick(rng, 16)) p.saddr6[0] = 0x20010db9;
    if (!pick(rng, 16)) p.daddr6[1] = 0xffff0000 | pick(rng, 4);
    return p;
}

inline codegen::ClassifierPacket classifier_packet(std::mt19937& rng) {
    codegen::ClassifierPacket p;
    p.saddr = pick(rng, 16) ? gen_base | pick(rng, 1024) : 0xc6130000 | pick(rng, 65536);
    p.daddr = pick(rng, 16) ? gen_base | pick(rng, 1024) : 0xc6130000 | pick(rng, 65536);
    static constexpr uint8_t protos[] = {6, 6, 17, 17, 1, 47};
    p.proto = protos[pick(rng, 6)];
    auto port = [&] { return static_cast<uint16_t>(gen_ports[pick(rng, 10)] + pick(rng, 3) - 1); };
    p.sport = port(), p.dport = port();
    p.l4_len = p.proto == 6 ? 20 : 8;
    if (!pick(rng, 10)) p.l4_len = pick(rng, p.l4_len);  // truncated: ports read only when 4 bytes are there
    if (p.l4_len < 4) p.sport = p.dport = 0;
    return p;
}

}  // namespace bpftables::test
