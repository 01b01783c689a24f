// Test frames built byte by byte (loader/packet.hpp).
#include "loader/packet.hpp"

#include <algorithm>

#include "compiler/values.hpp"

namespace bpftables::loader {
namespace {

void put16(std::vector<uint8_t>& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
void put32(std::vector<uint8_t>& b, uint32_t v) {
    put16(b, static_cast<uint16_t>(v >> 16));
    put16(b, static_cast<uint16_t>(v));
}

uint16_t checksum(const uint8_t* data, size_t len, uint32_t sum = 0) {
    for (size_t i = 0; i + 1 < len; i += 2) sum += (data[i] << 8) | data[i + 1];
    if (len & 1) sum += data[len - 1] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

struct L4Bytes {
    uint8_t proto;
    std::vector<uint8_t> bytes;
    size_t checksum_at;  // offset of the checksum field, or npos
};

L4Bytes l4_bytes(const L4& l4, size_t payload) {
    L4Bytes out{0, {}, std::string::npos};
    std::visit(
        [&](const auto& h) {
            using T = std::decay_t<decltype(h)>;
            auto& b = out.bytes;
            if constexpr (std::is_same_v<T, Tcp>) {
                std::vector<uint8_t> opts = h.options;
                while (opts.size() % 4) opts.push_back(0);
                out.proto = 6;
                put16(b, h.sport), put16(b, h.dport), put32(b, h.seq), put32(b, h.ack);
                b.push_back(static_cast<uint8_t>(((20 + opts.size()) / 4) << 4));
                b.push_back(h.flags);
                put16(b, 65535), put16(b, 0), put16(b, 0);
                b.insert(b.end(), opts.begin(), opts.end());
                out.checksum_at = 16;
            } else if constexpr (std::is_same_v<T, Udp>) {
                out.proto = 17;
                put16(b, h.sport), put16(b, h.dport), put16(b, static_cast<uint16_t>(8 + payload)),
                    put16(b, 0);
                out.checksum_at = 6;
            } else if constexpr (std::is_same_v<T, Icmp>) {
                out.proto = 1;
                b.push_back(h.type), b.push_back(h.code), put16(b, 0), put16(b, h.id), put16(b, h.seq);
                out.checksum_at = 2;
            } else {
                out.proto = 253;  // RFC 3692 experimental, unless the Ipv4 header names one
                b = h.bytes;
            }
        },
        l4);
    out.bytes.resize(out.bytes.size() + payload, 0x5a);
    return out;
}

}  // namespace

std::vector<uint8_t> frame(const Eth& eth, const Ipv4& ip, const L4& l4, size_t payload) {
    L4Bytes l = l4_bytes(l4, payload);
    uint8_t proto = ip.proto.value_or(l.proto);
    std::vector<uint8_t> b(eth.dst.begin(), eth.dst.end());
    b.insert(b.end(), eth.src.begin(), eth.src.end());
    put16(b, eth.type);
    size_t iph = b.size();
    uint16_t tot = ip.tot_len.value_or(static_cast<uint16_t>(20 + l.bytes.size()));
    b.push_back(0x45), b.push_back(ip.tos), put16(b, tot), put16(b, ip.id), put16(b, ip.frag_off);
    b.push_back(ip.ttl), b.push_back(proto), put16(b, 0), put32(b, ip.src), put32(b, ip.dst);
    uint16_t sum = checksum(b.data() + iph, 20);
    if (ip.bad_checksum) sum ^= 0x1111;
    b[iph + 10] = static_cast<uint8_t>(sum >> 8), b[iph + 11] = static_cast<uint8_t>(sum);
    if (l.checksum_at != std::string::npos && l.bytes.size() > l.checksum_at + 1) {
        uint32_t pseudo = 0;
        if (proto != 1) {
            pseudo = (ip.src >> 16) + (ip.src & 0xffff) + (ip.dst >> 16) + (ip.dst & 0xffff) + proto +
                     static_cast<uint32_t>(l.bytes.size());
        }
        uint16_t c = checksum(l.bytes.data(), l.bytes.size(), pseudo);
        if (proto == 17 && c == 0) c = 0xffff;
        l.bytes[l.checksum_at] = static_cast<uint8_t>(c >> 8),
        l.bytes[l.checksum_at + 1] = static_cast<uint8_t>(c);
    }
    b.insert(b.end(), l.bytes.begin(), l.bytes.end());
    return b;
}

std::vector<uint8_t> frame(const Ipv4& ip, const L4& l4, size_t payload) {
    return frame(Eth{}, ip, l4, payload);
}

std::vector<uint8_t> frame(const Eth& eth, const Ipv6& ip, const L4& l4, size_t payload) {
    L4Bytes l = l4_bytes(l4, payload);
    if (std::holds_alternative<Icmp>(l4)) l.proto = 58;  // ICMPv6
    uint8_t proto = ip.proto.value_or(l.proto);
    std::vector<uint8_t> ext;
    for (size_t i = 0; i < ip.ext.size(); ++i) {
        const ExtHdr& h = ip.ext[i];
        uint8_t next = i + 1 < ip.ext.size() ? ip.ext[i + 1].type : proto;
        std::vector<uint8_t> body = h.body;
        size_t unit = h.type == 51 ? 4 : 8;
        body.resize(std::max<size_t>(body.size(), h.type == 51 ? 10 : 6), 0);  // the smallest header
        while ((body.size() + 2) % unit) body.push_back(0);
        size_t len = h.type == 44 ? 0 : h.type == 51 ? (body.size() + 2) / 4 - 2 : (body.size() + 2) / 8 - 1;
        ext.push_back(next), ext.push_back(static_cast<uint8_t>(len));
        ext.insert(ext.end(), body.begin(), body.end());
    }
    std::vector<uint8_t> b(eth.dst.begin(), eth.dst.end());
    b.insert(b.end(), eth.src.begin(), eth.src.end());
    put16(b, 0x86dd);
    uint16_t plen = ip.payload_len.value_or(static_cast<uint16_t>(ext.size() + l.bytes.size()));
    b.push_back(static_cast<uint8_t>(0x60 | (ip.tclass >> 4))),
        b.push_back(static_cast<uint8_t>(ip.tclass << 4));
    put16(b, 0), put16(b, plen);
    b.push_back(ip.ext.empty() ? proto : ip.ext[0].type), b.push_back(ip.hop_limit);
    b.insert(b.end(), ip.src.begin(), ip.src.end());
    b.insert(b.end(), ip.dst.begin(), ip.dst.end());
    if (l.checksum_at != std::string::npos && l.bytes.size() > l.checksum_at + 1) {
        uint32_t pseudo = proto + static_cast<uint32_t>(l.bytes.size());
        for (int i = 0; i < 16; i += 2)
            pseudo += ((ip.src[i] << 8) | ip.src[i + 1]) + ((ip.dst[i] << 8) | ip.dst[i + 1]);
        uint16_t c = checksum(l.bytes.data(), l.bytes.size(), pseudo);
        if (proto == 17 && c == 0) c = 0xffff;
        if (ip.bad_l4_checksum) c ^= 0x1111;
        l.bytes[l.checksum_at] = static_cast<uint8_t>(c >> 8),
        l.bytes[l.checksum_at + 1] = static_cast<uint8_t>(c);
    }
    b.insert(b.end(), ext.begin(), ext.end());
    b.insert(b.end(), l.bytes.begin(), l.bytes.end());
    return b;
}

std::vector<uint8_t> frame(const Ipv6& ip, const L4& l4, size_t payload) {
    Eth eth;
    eth.type = 0x86dd;
    return frame(eth, ip, l4, payload);
}

uint32_t ip(const std::string& dotted) {
    uint32_t addr = 0;
    return values::parse_ipv4(dotted, addr) ? addr : 0;
}

Ip6Addr ip6(const std::string& text) {
    ir::Ipv6Addr addr{};
    return values::parse_ipv6(text, addr) ? addr : Ip6Addr{};
}

}  // namespace bpftables::loader
