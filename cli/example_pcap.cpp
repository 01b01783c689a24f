// bpftables make-example-pcap OUT.pcap: the capture the README's example runs through examples/example.rules.
#include <cstdio>

#include "cli/commands.hpp"
#include "loader/packet.hpp"
#include "loader/pcap.hpp"

namespace bpftables::cli {

int example_pcap_command(int argc, char** argv) {
    if (argc != 2) {
        std::fputs("usage: bpftables make-example-pcap OUT.pcap\n", stderr);
        return 2;
    }
    using namespace loader;
    const uint32_t client = ip("198.18.0.1"), server = ip("198.18.0.2"), outsider = ip("203.0.113.9");
    std::vector<std::vector<uint8_t>> packets = {
        frame(Ipv4{.src = client, .dst = server}, Tcp{.dport = 22}),               // ssh from the lab: ACCEPT
        frame(Ipv4{.src = outsider, .dst = server}, Tcp{.dport = 22}),             // ssh from outside: DROP
        frame(Ipv4{.src = outsider, .dst = server}, Tcp{.dport = 443}),            // https: ACCEPT
        frame(Ipv4{.src = outsider, .dst = server}, Udp{.dport = 53}),             // dns: ACCEPT
        frame(Ipv4{.src = outsider, .dst = server}, Icmp{.type = 8}),              // ping: ACCEPT
        frame(Ipv4{.src = outsider, .dst = server}, Tcp{.dport = 23}),             // telnet: REJECT
        frame(Ipv4{.src = ip("198.51.100.7"), .dst = server}, Tcp{.dport = 443}),  // blocked net: DROP
        frame(Ipv4{.src = outsider, .dst = server}, Udp{.dport = 5000}),           // anything else: policy
        frame(Eth{.type = 0x0806}, Ipv4{}, RawL4{{0, 1, 8, 0, 6, 4, 0, 1}}),       // ARP: not IPv4
    };
    std::vector<PcapFrame> frames;
    for (size_t i = 0; i < packets.size(); ++i)
        frames.push_back({1700000000000000000ull + i * 1000, packets[i]});
    std::string error;
    if (!write_pcap(argv[1], frames, error)) {
        std::fprintf(stderr, "bpftables: %s\n", error.c_str());
        return 1;
    }
    return 0;
}

}  // namespace bpftables::cli
