#pragma once
// Classic pcap files (libpcap format, micro- or nanosecond, either byte order). Frames are returned as
// Ethernet frames: raw-IP captures get an Ethernet header put in front.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bpftables::loader {

struct PcapFrame {
    uint64_t ts_ns = 0;
    std::vector<uint8_t> data;
};

std::optional<std::vector<PcapFrame>> read_pcap(const std::string& path, std::string& error);
bool write_pcap(const std::string& path, const std::vector<PcapFrame>& frames, std::string& error);

}  // namespace bpftables::loader
