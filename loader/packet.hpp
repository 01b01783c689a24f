#pragma once
// Builds Ethernet/IPv4 frames for tests, examples and the differential suite:
//   frame(Eth{}, Ipv4{.src = ip("198.18.0.1"), .dst = ip("198.18.0.2")}, Tcp{.dport = 80})
// Checksums are computed unless asked to be wrong; lengths follow the headers unless overridden.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace bpftables::loader {

using Mac = std::array<uint8_t, 6>;

struct Eth {
    Mac dst{0x02, 0, 0, 0, 0, 0x01};
    Mac src{0x02, 0, 0, 0, 0, 0x02};
    uint16_t type = 0x0800;
};

struct Ipv4 {
    uint32_t src = 0xc6120001;  // 198.18.0.1
    uint32_t dst = 0xc6120002;  // 198.18.0.2
    uint8_t ttl = 64, tos = 0;
    uint16_t id = 1;
    uint16_t frag_off = 0;            // flags and offset in 8-byte units, host order
    std::optional<uint8_t> proto;     // default: from the L4 header
    std::optional<uint16_t> tot_len;  // default: the real length
    bool bad_checksum = false;
};

struct Tcp {
    uint16_t sport = 40000, dport = 80;
    uint8_t flags = 0x02;  // SYN
    uint32_t seq = 1, ack = 0;
    std::vector<uint8_t> options;  // padded to 4 bytes
};

struct Udp {
    uint16_t sport = 40000, dport = 53;
};

struct Icmp {
    uint8_t type = 8, code = 0;
    uint16_t id = 1, seq = 1;
};

struct RawL4 {  // any other protocol, or a truncated header: bytes as given
    std::vector<uint8_t> bytes;
};

using L4 = std::variant<Tcp, Udp, Icmp, RawL4>;

std::vector<uint8_t> frame(const Eth& eth, const Ipv4& ip, const L4& l4, size_t payload = 0);
std::vector<uint8_t> frame(const Ipv4& ip, const L4& l4, size_t payload = 0);

uint32_t ip(const std::string& dotted);  // host order; 0 on a parse error

}  // namespace bpftables::loader
