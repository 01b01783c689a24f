#pragma once
// Builds Ethernet/IPv4 and IPv6 frames for tests, examples and the differential suite:
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

using Ip6Addr = std::array<uint8_t, 16>;  // network order

// An IPv6 extension header. `body` is what follows its next-header and length bytes, padded with zeros to the
// header's unit (8 bytes; 4 for AH; at least 8, AH 12) and the length byte set from it; a fragment header's body
// is its 6 bytes.
struct ExtHdr {
    uint8_t type = 60;  // 0 hop-by-hop, 43 routing, 44 fragment, 51 AH, 60 destination options
    std::vector<uint8_t> body;
};

// IPv6 frames: frame(Ipv6{...}, Tcp{}); Icmp in an IPv6 frame is ICMPv6 (type 128 echo request, ...).
struct Ipv6 {
    Ip6Addr src{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};  // 2001:db8::1
    Ip6Addr dst{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};  // 2001:db8::2
    uint8_t hop_limit = 64, tclass = 0;
    std::vector<ExtHdr> ext;              // in order, before the L4 header
    std::optional<uint8_t> proto;         // the header after the extension headers; default: from L4
    std::optional<uint16_t> payload_len;  // default: the real length
    bool bad_l4_checksum = false;
};

std::vector<uint8_t> frame(const Eth& eth, const Ipv4& ip, const L4& l4, size_t payload = 0);
std::vector<uint8_t> frame(const Ipv4& ip, const L4& l4, size_t payload = 0);
std::vector<uint8_t> frame(const Eth& eth, const Ipv6& ip, const L4& l4, size_t payload = 0);
std::vector<uint8_t> frame(const Ipv6& ip, const L4& l4, size_t payload = 0);  // Eth type 0x86dd

uint32_t ip(const std::string& dotted);  // host order; 0 on a parse error
Ip6Addr ip6(const std::string& text);    // all zeros on a parse error

}  // namespace bpftables::loader
