#pragma once
// Seeded random rules and packets for the classifier's tests: rules the classifier takes (addresses,
// protocol, ports; ACCEPT or DROP) over a small space so that they overlap, and packets aimed at their
// edges, some with L4 headers too short for their ports.
#include <cstdint>
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
inline std::string classifier_rule_text(std::mt19937& rng) {
    static constexpr int lens[] = {22, 23, 24, 26, 30, 32};
    std::string r;
    for (const char* opt : {"-s ", "-d "})
        if (pick(rng, 3)) {
            int len = lens[pick(rng, 6)];
            uint32_t mask = len == 0 ? 0 : 0xffffffffu << (32 - len);
            r += opt + dotted((gen_base | pick(rng, 1024)) & mask) + "/" + std::to_string(len) + " ";
        }
    static constexpr const char* protos[] = {"tcp", "udp", "icmp", ""};
    std::string proto = protos[pick(rng, 4)];
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
    if (!pick(rng, 8)) r += "-m comment --comment c ";
    return r + (pick(rng, 2) ? "-j ACCEPT" : "-j DROP");
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
