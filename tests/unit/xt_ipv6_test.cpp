// The ip6tables language beyond the upstream .t cases (tests/corpus/iptables_t_test.cpp runs those): IPv6
// addresses, masks and their printing, -p names, -f, the ip6tables-only modules' edge cases, REJECT's icmp6
// types and aliases, family-aware conntrack and iprange, which modules each family has. The expected texts
// are what ip6tables-legacy-save 1.8.9 printed for the same rules on this machine.
#include <gtest/gtest.h>

#include "compiler/values.hpp"
#include "tests/unit/xt_rule_helper.hpp"

namespace bpftables {
namespace {

using test::save_rule;
using test::save_rule6;

TEST(Ipv6Values, ParseAndFormatAsInetPtonAndNtop) {
    ir::Ipv6Addr a;
    ASSERT_TRUE(values::parse_ipv6("2001:0db8:0:0:0:0:0:1", a));
    EXPECT_EQ(values::format_ipv6(a), "2001:db8::1");
    ASSERT_TRUE(values::parse_ipv6("::ffff:1.2.3.4", a));
    EXPECT_EQ(values::format_ipv6(a), "::ffff:1.2.3.4");
    EXPECT_FALSE(values::parse_ipv6("1.2.3.4", a));
    EXPECT_FALSE(values::parse_ipv6("localhost", a));  // no host names
    EXPECT_FALSE(values::parse_ipv6("2001:db8::1::2", a));

    ir::Ipv6Net n;
    std::string error;
    ASSERT_TRUE(values::parse_ipv6_net("2001:db8::1/64", n, error));
    EXPECT_EQ(values::format_net6(n), "2001:db8::/64");
    ASSERT_TRUE(values::parse_ipv6_net("2001:db8::1", n, error));
    EXPECT_EQ(values::format_net6(n), "2001:db8::1/128");
    ASSERT_TRUE(values::parse_ipv6_net("1::/010", n, error));  // octal, as xtables_strtoui
    EXPECT_EQ(values::format_net6(n), "::/8");
    ASSERT_TRUE(values::parse_ipv6_net("2001:db8::/ffff::ff", n, error));  // a mask that is no prefix
    EXPECT_EQ(values::format_net6(n), "2001::/ffff::ff");
    ASSERT_TRUE(values::parse_ipv6_net("anything/0", n, error));  // a zero mask ignores the name
    EXPECT_EQ(values::format_net6(n), "::/0");
    EXPECT_FALSE(values::parse_ipv6_net("2001:db8::/129", n, error));
    EXPECT_EQ(error, "invalid mask `129' specified");
    EXPECT_FALSE(values::parse_ipv6_net("::/0.0.0.0", n, error));
    EXPECT_FALSE(values::parse_ipv6_net("example.org/64", n, error));
    EXPECT_EQ(error, "host/network `example.org' not found");
    EXPECT_EQ(values::ipv6_prefix_len(values::ipv6_prefix_mask(37)), 37);
}

TEST(Ipv6Rules, AddressesAndProtocolsAsIp6tablesSavePrintsThem) {
    EXPECT_EQ(save_rule6("-s ::/0 -d 2001:db8::1 -p icmpv6 -j DROP"),
              "-d 2001:db8::1/128 -p ipv6-icmp -j DROP");
    EXPECT_EQ(save_rule6("! -s ::/0 -p 47 -j DROP"), "! -s ::/0 -p gre -j DROP");
    EXPECT_EQ(save_rule6("-s 2001:db8::/ffff::ff -p mh"), "-s 2001::/ffff::ff -p mobility-header");
    EXPECT_EQ(save_rule6("-s 2001:0db8:0:0:0:0:0:1/64 -p 135 -m mh"),
              "-s 2001:db8::/64 -p mobility-header -m mh");
    EXPECT_EQ(save_rule6("-d ::ffff:1.2.3.4 -p 0"), "-d ::ffff:1.2.3.4/128");
    EXPECT_EQ(save_rule6("-s ::2.3.4.5/127 -d 1::/010"), "-s ::2.3.4.4/127 -d ::/8");
    EXPECT_EQ(save_rule6("-p ipv6-frag"), "-p ipv6-frag");  // a warning, as ip6tables prints
    // a list expands into one rule per address, as ip6tables does
    Diagnostics d;
    LowerOptions six;
    six.family = ir::Family::ipv6;
    auto p = parse_and_lower("*filter\n-A INPUT -s 2001:db8::1,2001:db8::2/64 -d ::1 -j ACCEPT\nCOMMIT\n",
                             "t", d, six);
    ASSERT_TRUE(p) << d.str();
    EXPECT_EQ(
        ir::to_save(*p->find("filter")),
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A INPUT -s 2001:db8::1/128 -d ::1/128 -j ACCEPT\n-A INPUT -s 2001:db8::/64 -d ::1/128 -j ACCEPT\n"
        "COMMIT\n");
    EXPECT_EQ(save_rule6("-s 1.2.3.4"), "error: host/network `1.2.3.4' not found");
    EXPECT_EQ(save_rule6("-f"), "error: `-f' is not supported in IPv6, use -m frag instead");
    EXPECT_EQ(save_rule6("! -s 2001:db8::1,2001:db8::2"),
              "error: ! not allowed with multiple source or destination IP addresses");
    EXPECT_EQ(save_rule6("! -p all"), "error: rule would never match protocol");
    EXPECT_EQ(save_rule6("-p nosuchproto"), "error: unknown protocol \"nosuchproto\" specified");
}

TEST(Ipv6Rules, RulesOfOneFamily) {
    // -4 / -6 in a rule: its own family reads it, the other's restore skips it whole
    auto rules = [](const std::string& body, ir::Family family) {
        Diagnostics d;
        LowerOptions options;
        options.family = family;
        auto p = parse_and_lower("*filter\n" + body + "COMMIT\n", "t", d, options);
        return p ? ir::to_save(*p->find("filter")) : "error: " + d.str();
    };
    const std::string both = "-A INPUT -4 -p tcp -j ACCEPT\n-A INPUT -6 -s ::1 -j ACCEPT\n-A INPUT -j DROP\n";
    const std::string chains = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
    EXPECT_EQ(rules(both, ir::Family::ipv4),
              chains + "-A INPUT -p tcp -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n");
    EXPECT_EQ(rules(both, ir::Family::ipv6),
              chains + "-A INPUT -s ::1/128 -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n");
}

TEST(Ipv6Rules, ModulesOfEachFamily) {
    // ip6tables has no icmp or ttl match and no -j TTL; iptables no icmp6, hl, frag, ...
    EXPECT_EQ(save_rule6("-p icmp -m icmp --icmp-type 8"),
              "error: Couldn't load match `icmp': no such iptables extension");
    EXPECT_EQ(save_rule6("-m ttl --ttl-eq 3"),
              "error: Couldn't load match `ttl': no such iptables extension");
    EXPECT_EQ(save_rule("-m hl --hl-eq 3"), "error: Couldn't load match `hl': no such iptables extension");
    EXPECT_EQ(save_rule("-m frag --fragfirst"),
              "error: Couldn't load match `frag': no such iptables extension");
    EXPECT_EQ(save_rule("-p ipv6-icmp -m icmp6 --icmpv6-type 1"),
              "error: Couldn't load match `icmp6': no such iptables extension");
    EXPECT_EQ(save_rule("-m ah --ahspi 1"), "-m ah --ahspi 1");         // iptables' own ah: kept as written
    EXPECT_EQ(save_rule6("-m srh --srh-tag 0"), "-m srh --srh-tag 0");  // opaque in IPv6
    // icmp6 by any of libxtables' three names, or loaded by -p
    EXPECT_EQ(save_rule6("-p ipv6-icmp -m icmpv6 --icmpv6-type echo-request"),
              "-p ipv6-icmp -m icmp6 --icmpv6-type 128");
    EXPECT_EQ(save_rule6("-p icmpv6 --icmpv6-type neighbor-solicitation"),
              "-p ipv6-icmp -m icmp6 --icmpv6-type 135");
    EXPECT_EQ(save_rule6("-p 58 --icmpv6-type 1/4"), "-p ipv6-icmp -m icmp6 --icmpv6-type 1/4");
    EXPECT_EQ(save_rule6("-p ipv6-icmp ! --icmpv6-type port-unreachable"),
              "-p ipv6-icmp -m icmp6 ! --icmpv6-type 1/4");
    EXPECT_EQ(save_rule6("-m icmp6 --icmpv6-type 1"), "error: the icmp6 match requires -p ipv6-icmp");
    EXPECT_EQ(save_rule6("-p ipv6-icmp --icmpv6-type ne"),
              "error: Ambiguous ICMPv6 type `ne': `neighbour-solicitation' or `neighbor-solicitation'?");
    EXPECT_EQ(save_rule6("-p ipv6-icmp --icmpv6-type 1:2"), "error: ICMPv6 type range not supported");
}

TEST(Ipv6Rules, ExtensionHeaderModules) {
    EXPECT_EQ(
        save_rule6("-p tcp -m tcp --dport 22 -m hl ! --hl-eq 3 -m frag --fragid 0:4294967295 -m rt "
                   "--rt-type 0 --rt-0-addrs ::1,::2 -m ah --ahlen 0 -m dst --dst-opts 1,2:3"),
        "-p tcp -m tcp --dport 22 -m hl ! --hl-eq 3 -m frag -m rt --rt-type 0 --rt-0-addrs ::1,::2 -m ah "
        "-m dst --dst-opts 1,2:3");
    EXPECT_EQ(save_rule6("-m ipv6header --header 0,60,43,44,51,50,59,255 --soft"),
              "-m ipv6header --header hop-by-hop,ipv6-opts,ipv6-route,ipv6-frag,ah,esp,ipv6-nonxt,protocol "
              "--soft");
    EXPECT_EQ(save_rule6("-m ipv6header ! --header frag,auth"), "-m ipv6header ! --header ipv6-frag,ah");
    EXPECT_EQ(save_rule6("-m ipv6header --header tcp"), "error: unknown header `6' specified");
    EXPECT_EQ(save_rule6("-m ipv6header --soft"), "error: ipv6header: option \"--header\" must be specified");
    EXPECT_EQ(save_rule6("-m hl --hl 7"), "-m hl --hl-eq 7");
    EXPECT_TRUE(test::rejected("-m hl ! --hl-lt 7", "filter", ir::Family::ipv6));
    EXPECT_EQ(save_rule6("-m hbh --hbh-opts 300:1"), "-m hbh --hbh-opts 44:1");  // 8 bits, as ip6tables
    EXPECT_EQ(save_rule6("-m hbh --hbh-opts 0:1"), "error: hbh: PAD0 has not got length");
    EXPECT_EQ(save_rule6("-m dst --dst-opts 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"),
              "error: dst: too many options specified");
    EXPECT_EQ(save_rule6("-m rt --rt-0-res"), "error: `--rt-type 0' required before `--rt-0-res'");
    EXPECT_EQ(save_rule6("-m rt ! --rt-type 0 --rt-0-addrs ::1"),
              "error: `--rt-type 0' required before `--rt-0-addrs'");
    EXPECT_EQ(save_rule6("-m rt --rt-type 0 --rt-0-not-strict"),
              "error: `--rt-0-addr ...' required before `--rt-0-not-strict'");
    EXPECT_EQ(save_rule6("-m rt --rt-type 0 --rt-0-addrs ::1,nothere"), "error: bad address: nothere");
    EXPECT_EQ(save_rule6("-m ah ! --ahlen 0 --ahres"), "-m ah ! --ahlen 0 --ahres");
    EXPECT_EQ(save_rule6("-p mh -m mh --mh-type binding-update:be"),
              "-p mobility-header -m mh --mh-type 5:7");
    EXPECT_EQ(save_rule6("-p mh -m mh --mh-type b"),
              "-p mobility-header -m mh --mh-type 0");  // first of many
    EXPECT_EQ(save_rule6("-p mh -m mh --mh-type bu"), "-p mobility-header -m mh --mh-type 5");  // exact wins
    EXPECT_EQ(save_rule6("-p tcp -m mh --mh-type 1"), "error: the mh match requires -p mobility-header");
    EXPECT_EQ(save_rule6("-m frag --fragmore --fraglast"),
              "error: frag: --fragmore and --fraglast cannot be used together");
}

TEST(Ipv6Rules, SharedModulesReadIpv6) {
    EXPECT_EQ(save_rule6("-m conntrack --ctorigsrc 2001:db8::1/64 --ctorigdst ::1/ffff::ff --ctreplsrc "
                         "2001:db8::1/ffff:ffff:: "
                         "--ctrepldst ::/0"),
              "-m conntrack --ctorigsrc 2001:db8::1/64 --ctorigdst ::1 --ctreplsrc 2001:db8::1/32 "
              "--ctrepldst ::/0");
    EXPECT_EQ(save_rule6("-m conntrack --ctorigsrc 10.0.0.1"), "error: host/network `10.0.0.1' not found");
    EXPECT_EQ(save_rule("-m conntrack --ctorigsrc 2001:db8::1"),
              "error: host/network \"2001:db8::1\" is not an IPv4 address");
    EXPECT_EQ(save_rule6("-m iprange ! --src-range 2001:db8::1-2001:db8::a --dst-range ::1"),
              "-m iprange ! --src-range 2001:db8::1-2001:db8::a --dst-range ::1-::1");
    EXPECT_EQ(save_rule6("-m iprange --src-range 10.0.0.1-10.0.0.2"),
              "error: iprange: invalid address \"10.0.0.1\"");
    EXPECT_EQ(save_rule6("-p tcp -m multiport --dports 22,80:90 -m tos --tos 0x10 -m dscp --dscp 8"),
              "-p tcp -m multiport --dports 22,80:90 -m tos --tos 0x10/0xff -m dscp --dscp 0x08");
}

TEST(Ipv6Rules, RejectWithIcmp6Types) {
    EXPECT_EQ(save_rule6("-j REJECT"), "-j REJECT --reject-with icmp6-port-unreachable");
    EXPECT_EQ(save_rule6("-j REJECT --reject-with no"), "-j REJECT --reject-with icmp6-no-route");
    EXPECT_EQ(save_rule6("-j REJECT --reject-with adm-prohibited"),
              "-j REJECT --reject-with icmp6-adm-prohibited");
    EXPECT_EQ(save_rule6("-j REJECT --reject-with addr-unreach"),
              "-j REJECT --reject-with icmp6-addr-unreachable");
    EXPECT_EQ(save_rule6("-j REJECT --reject-with port-unreach"),
              "-j REJECT --reject-with icmp6-port-unreachable");
    EXPECT_EQ(save_rule6("-j REJECT --reject-with policy-fail"), "-j REJECT --reject-with icmp6-policy-fail");
    EXPECT_EQ(save_rule6("-j REJECT --reject-with reject-route"),
              "-j REJECT --reject-with icmp6-reject-route");
    EXPECT_EQ(save_rule6("-p tcp -j REJECT --reject-with tcp-reset"),
              "-p tcp -j REJECT --reject-with tcp-reset");
    EXPECT_EQ(save_rule6("-p udp -j REJECT --reject-with tcp-reset"),
              "error: REJECT --reject-with tcp-reset is only valid with -p tcp");
    EXPECT_TRUE(test::rejected("-j REJECT --reject-with icmp-port-unreachable", "filter", ir::Family::ipv6));
    EXPECT_TRUE(test::rejected("-j REJECT --reject-with icmp6-no-route"));  // not iptables'
    EXPECT_EQ(save_rule6("-j LOG --log-prefix \"v6: \" --log-level 3"),
              "-j LOG --log-prefix \"v6: \" --log-level 3");
    EXPECT_EQ(save_rule6("-j CT --notrack", "raw"), "-j CT --notrack");
    EXPECT_EQ(save_rule6("-j NOTRACK", "raw"), "-j NOTRACK");
    EXPECT_EQ(save_rule6("-j DNPT --src-pfx dead::/64 --dst-pfx 1c3::/64", "mangle"),
              "-j DNPT --src-pfx dead::/64 --dst-pfx 1c3::/64");
    EXPECT_TRUE(test::rejected("-j TTL --ttl-set 3", "mangle", ir::Family::ipv6));
}

}  // namespace
}  // namespace bpftables
