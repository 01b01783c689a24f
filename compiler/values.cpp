// The shared values' readers and printers (see values.hpp).
#include "compiler/values.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

namespace bpftables::values {

// ---- numbers

bool parse_number(std::string_view s, uint64_t& out, uint64_t max) {
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s.remove_prefix(2), base = 16;
    else if (s.size() > 1 && s[0] == '0')
        s.remove_prefix(1), base = 8;
    if (s.empty()) return false;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (ec != std::errc() || p != s.data() + s.size() || v > max) return false;
    out = v;
    return true;
}

bool parse_number(std::string_view s, uint32_t& out, uint32_t max) {
    uint64_t v;
    if (!parse_number(s, v, max)) return false;
    out = static_cast<uint32_t>(v);
    return true;
}

bool parse_u32(std::string_view s, uint32_t& out, uint32_t max) {
    if (s.empty()) return false;
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2), base = 16;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (ec != std::errc() || p != s.data() + s.size() || v > max) return false;
    out = static_cast<uint32_t>(v);
    return true;
}

bool parse_decimal(std::string_view s, uint64_t& out) {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string_view::npos) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

// ---- addresses

bool parse_ipv4(std::string_view s, uint32_t& out) {
    std::string str(s);
    in_addr a{};
    if (inet_pton(AF_INET, str.c_str(), &a) != 1) return false;
    out = ntohl(a.s_addr);
    return true;
}

std::string format_hex(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%x", v);
    return buf;
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

bool parse_ipv6(std::string_view s, ir::Ipv6Addr& out) {
    std::string str(s);
    in6_addr a{};
    if (inet_pton(AF_INET6, str.c_str(), &a) != 1) return false;
    std::copy(std::begin(a.s6_addr), std::end(a.s6_addr), out.begin());
    return true;
}

std::string format_ipv6(const ir::Ipv6Addr& addr) {
    in6_addr a{};
    std::copy(addr.begin(), addr.end(), std::begin(a.s6_addr));
    char buf[INET6_ADDRSTRLEN];
    return inet_ntop(AF_INET6, &a, buf, sizeof buf) ? buf : "";
}

ir::Ipv6Addr ipv6_prefix_mask(int len) {
    ir::Ipv6Addr m{};
    for (int i = 0; i < 16; ++i) {
        int bits = std::clamp(len - 8 * i, 0, 8);
        m[i] = static_cast<uint8_t>(0xff00 >> bits);
    }
    return m;
}

int ipv6_prefix_len(const ir::Ipv6Addr& mask) {
    int len = 0;
    for (uint8_t b : mask) {
        for (int bit = 7; bit >= 0 && (b >> bit) & 1; --bit) ++len;
    }
    return ipv6_prefix_mask(len) == mask ? len : -1;
}

ir::Ipv6Addr ipv6_and(const ir::Ipv6Addr& a, const ir::Ipv6Addr& b) {
    ir::Ipv6Addr out{};
    for (size_t i = 0; i < out.size(); ++i) out[i] = a[i] & b[i];
    return out;
}

bool parse_ipv6_mask(std::string_view s, ir::Ipv6Addr& out) {
    if (parse_ipv6(s, out)) return true;
    uint64_t len;
    if (!parse_number(s, len, 128)) return false;
    out = ipv6_prefix_mask(static_cast<int>(len));
    return true;
}

std::string format_net6(const ir::Ipv6Net& net) {
    int len = ipv6_prefix_len(net.mask);
    return format_ipv6(net.addr) + '/' + (len < 0 ? format_ipv6(net.mask) : std::to_string(len));
}

bool parse_ipv6_net(std::string_view s, ir::Ipv6Net& out, std::string& error) {
    size_t slash = s.rfind('/');
    std::string_view host = s.substr(0, slash);
    ir::Ipv6Addr mask = ipv6_prefix_mask(128);
    if (slash != std::string_view::npos && !parse_ipv6_mask(s.substr(slash + 1), mask)) {
        error = "invalid mask `" + std::string(s.substr(slash + 1)) + "' specified";
        return false;
    }
    ir::Ipv6Addr addr{};
    // A zero mask ignores the address, as ip6tables reads "any/0".
    if (mask != ir::Ipv6Addr{} && !parse_ipv6(host, addr)) {
        error = "host/network `" + std::string(host) + "' not found";
        return false;
    }
    out = {ipv6_and(addr, mask), mask};
    return true;
}

bool parse_mac(std::string_view s, std::array<uint8_t, 6>& out) {
    for (size_t i = 0; i < 6; ++i) {
        size_t end = i == 5 ? s.size() : s.find(':');
        if (end == std::string_view::npos || end == 0 || end > 2) return false;
        uint32_t v = 0;
        for (char c : s.substr(0, end)) {
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0) return false;
            v = v * 16 + static_cast<uint32_t>(d);
        }
        out[i] = static_cast<uint8_t>(v);
        s.remove_prefix(i == 5 ? end : end + 1);
    }
    return s.empty();
}

std::string format_mac(const std::array<uint8_t, 6>& addr) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", addr[0], addr[1], addr[2], addr[3],
                  addr[4], addr[5]);
    return buf;
}

// ---- ports

bool parse_port(std::string_view s, std::string_view proto, uint16_t& out) {
    if (s.empty()) return false;
    // A number first, as xtables_parse_port: a service name lookup reads /etc/services.
    if (uint64_t v; parse_number(s, v, 0xffff)) {
        out = static_cast<uint16_t>(v);
        return true;
    }
    std::string name(s), p(proto);
    if (const servent* se = getservbyname(name.c_str(), p.empty() ? nullptr : p.c_str())) {
        out = ntohs(static_cast<uint16_t>(se->s_port));
        return true;
    }
    return false;
}

bool parse_port_range(std::string_view s, std::string_view proto, ir::PortRange& out, std::string& error) {
    size_t colon = s.find(':');
    std::string_view lo = s.substr(0, colon);
    std::string_view hi = colon == std::string_view::npos ? lo : s.substr(colon + 1);
    ir::PortRange range{0, 0xffff};
    if ((colon == std::string_view::npos || !lo.empty()) && !parse_port(lo, proto, range.lo)) {
        error = "invalid port/service \"" + std::string(lo) + "\" specified";
        return false;
    }
    if ((colon == std::string_view::npos || !hi.empty()) && !parse_port(hi, proto, range.hi)) {
        error = "invalid port/service \"" + std::string(hi) + "\" specified";
        return false;
    }
    if (range.lo > range.hi) {
        error = "invalid port range \"" + std::string(s) + "\": the first port is greater than the second";
        return false;
    }
    out = range;
    return true;
}

std::string format_port_range(const ir::PortRange& r, char sep) {
    std::string out = std::to_string(r.lo);
    if (r.lo != r.hi) out += sep + std::to_string(r.hi);
    return out;
}

// ---- protocols

namespace {

// The names iptables itself knows (xtables_chain_protos), then /etc/protocols.
// In xtables_chain_protos' order (iptables 1.8.8 and later), the first name of a number being the one
// iptables-save prints: "ipv6-icmp" and "mobility-header", as /etc/protocols names them.
constexpr std::pair<const char*, uint8_t> known_protocols[] = {
    {"tcp", 6},       {"udp", 17},       {"udplite", 136},
    {"icmp", 1},      {"ipv6-icmp", 58}, {"icmpv6", 58},
    {"esp", 50},      {"ah", 51},        {"mobility-header", 135},
    {"ipv6-mh", 135}, {"mh", 135},       {"sctp", 132},
    {"dccp", 33},     {"gre", 47},       {"all", 0}};

}  // namespace

std::optional<uint8_t> protocol_by_name(const std::string& name) {
    for (auto [n, p] : known_protocols)
        if (name == n) return p;
    if (const protoent* pe = getprotobyname(name.c_str())) return static_cast<uint8_t>(pe->p_proto);
    return std::nullopt;
}

std::string protocol_name(uint8_t proto) {
    for (auto [n, p] : known_protocols)
        if (p == proto && p != 0) return n;
    if (const protoent* pe = getprotobynumber(proto); pe && proto != 0) return pe->p_name;
    return std::to_string(proto);
}

std::optional<uint8_t> parse_protocol(std::string_view s) {
    std::string name(s);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    uint32_t num;
    return parse_u32(name, num, 255) ? std::optional<uint8_t>(num) : protocol_by_name(name);
}

// ---- name tables

bool parse_name_list(std::string_view s, std::span<const NamedBits> names, uint32_t& out,
                     std::string_view& bad) {
    out = 0;
    while (true) {
        size_t comma = s.find(',');
        std::string_view item = s.substr(0, comma);
        const NamedBits* found = nullptr;
        for (const NamedBits& n : names)
            if (!item.empty() && equal_nocase(item, n.name)) {
                found = &n;
                break;
            }
        if (!found) {
            bad = item;
            return false;
        }
        out |= found->bits;
        if (comma == std::string_view::npos) return true;
        s.remove_prefix(comma + 1);
    }
}

std::string format_name_list(uint32_t bits, std::span<const NamedBits> names) {
    std::string out;
    for (const NamedBits& n : names) {
        bool one_bit = n.bits != 0 && (n.bits & (n.bits - 1)) == 0;
        if (!one_bit || !(bits & n.bits)) continue;
        if (!out.empty()) out += ',';
        out += n.name;
    }
    return out;
}

bool equal_nocase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
    return prefix.size() <= s.size() && strncasecmp(s.data(), prefix.data(), prefix.size()) == 0;
}

}  // namespace bpftables::values
