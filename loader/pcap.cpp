#include "loader/pcap.hpp"

#include <cstring>
#include <fstream>
#include <iterator>

namespace bpftables::loader {
namespace {

constexpr uint32_t magic_us = 0xa1b2c3d4, magic_ns = 0xa1b23c4d;
constexpr uint32_t linktype_ethernet = 1, linktype_raw = 101, linktype_ipv4 = 228;

uint32_t swap32(uint32_t v) {
    return __builtin_bswap32(v);
}

}  // namespace

std::optional<std::vector<PcapFrame>> read_pcap(const std::string& path, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return error = path + ": cannot open: " + std::strerror(errno), std::nullopt;
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.size() < 24) return error = path + ": not a pcap file (too short)", std::nullopt;
    uint32_t magic;
    std::memcpy(&magic, bytes.data(), 4);
    bool swap = magic == swap32(magic_us) || magic == swap32(magic_ns);
    if (swap) magic = swap32(magic);
    if (magic != magic_us && magic != magic_ns)
        return error = path + ": not a pcap file (bad magic)", std::nullopt;
    auto u32 = [&](size_t off) {
        uint32_t v;
        std::memcpy(&v, bytes.data() + off, 4);
        return swap ? swap32(v) : v;
    };
    uint32_t linktype = u32(20) & 0xffff;
    if (linktype != linktype_ethernet && linktype != linktype_raw && linktype != linktype_ipv4)
        return error = path + ": link type " + std::to_string(linktype) + " is not Ethernet or raw IPv4",
               std::nullopt;
    std::vector<PcapFrame> frames;
    for (size_t off = 24; off < bytes.size();) {
        if (off + 16 > bytes.size()) return error = path + ": truncated record header", std::nullopt;
        uint64_t sec = u32(off), frac = u32(off + 4);
        uint32_t caplen = u32(off + 8);
        off += 16;
        if (caplen > bytes.size() - off) return error = path + ": truncated packet", std::nullopt;
        PcapFrame f;
        f.ts_ns = sec * 1000000000ull + (magic == magic_ns ? frac : frac * 1000);
        if (linktype != linktype_ethernet) {  // synthesize 02:00:00:00:00:02 -> 02:00:00:00:00:01, IPv4
            f.data = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00};
        }
        f.data.insert(f.data.end(), bytes.begin() + static_cast<long>(off),
                      bytes.begin() + static_cast<long>(off + caplen));
        frames.push_back(std::move(f));
        off += caplen;
    }
    return frames;
}

bool write_pcap(const std::string& path, const std::vector<PcapFrame>& frames, std::string& error) {
    std::ofstream out(path, std::ios::binary);
    if (!out) return error = path + ": cannot create: " + std::strerror(errno), false;
    auto put = [&](uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
    put(magic_ns);
    put(0x00040002);  // version 2.4
    put(0);
    put(0);
    put(65535);
    put(linktype_ethernet);
    for (const PcapFrame& f : frames) {
        put(static_cast<uint32_t>(f.ts_ns / 1000000000ull));
        put(static_cast<uint32_t>(f.ts_ns % 1000000000ull));
        put(static_cast<uint32_t>(f.data.size()));
        put(static_cast<uint32_t>(f.data.size()));
        out.write(reinterpret_cast<const char*>(f.data.data()), static_cast<long>(f.data.size()));
    }
    if (!out) return error = path + ": write failed", false;
    return true;
}

}  // namespace bpftables::loader
