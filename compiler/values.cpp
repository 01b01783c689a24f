#include "compiler/values.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace bpftables::values {

bool parse_ipv4(std::string_view s, uint32_t& out) {
    std::string str(s);
    in_addr a{};
    if (inet_pton(AF_INET, str.c_str(), &a) != 1) return false;
    out = ntohl(a.s_addr);
    return true;
}

std::string format_ipv4(uint32_t addr) {
    return std::to_string(addr >> 24) + '.' + std::to_string((addr >> 16) & 0xff) + '.' +
           std::to_string((addr >> 8) & 0xff) + '.' + std::to_string(addr & 0xff);
}

std::string format_net(const ir::Ipv4Net& net) {
    uint32_t inv = ~net.mask;
    bool contiguous = (inv & (inv + 1)) == 0;
    if (!contiguous) return format_ipv4(net.addr) + '/' + format_ipv4(net.mask);
    int len = 0;
    for (uint32_t m = net.mask; m & 0x80000000u; m <<= 1) ++len;
    return format_ipv4(net.addr) + '/' + std::to_string(len);
}

uint32_t prefix_mask(int len) {
    return len <= 0 ? 0 : len >= 32 ? 0xffffffffu : 0xffffffffu << (32 - len);
}

bool parse_ipv4_nets(std::string_view s, std::vector<ir::Ipv4Net>& out) {
    size_t dash = s.find('-'), slash = s.find('/');
    uint32_t lo, hi;
    if (dash != std::string_view::npos) {
        if (!parse_ipv4(s.substr(0, dash), lo) || !parse_ipv4(s.substr(dash + 1), hi) || lo > hi)
            return false;
    } else {
        if (!parse_ipv4(s.substr(0, slash), lo)) return false;
        int len = 32;
        if (slash != std::string_view::npos) {
            std::string_view l = s.substr(slash + 1);
            auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
            if (ec != std::errc() || p != l.data() + l.size() || len < 0 || len > 32) return false;
        }
        uint32_t mask = prefix_mask(len);
        out.push_back({lo & mask, mask});
        return true;
    }
    for (uint64_t a = lo; a <= hi;) {
        int len = 32;
        while (len > 0) {
            uint32_t mask = 0xffffffffu << (33 - len);
            uint64_t size = 1ull << (33 - len);
            if ((a & ~static_cast<uint64_t>(mask) & 0xffffffffu) != 0 || a + size - 1 > hi) break;
            --len;
        }
        out.push_back({static_cast<uint32_t>(a), prefix_mask(len)});
        a += 1ull << (32 - len);
    }
    return true;
}

}  // namespace bpftables::values
