// Named sets and verdict maps as BPF maps (ir::NftSet): the key a lookup's left side makes (lookup_key), an
// element's bytes in that key (element_keys), a map's verdicts (vmap_verdict), and the lowering of "KEY @set"
// (RuleLowering::set_lookup) and "KEY vmap ..." (RuleLowering::vmap_lookup) into one lookup each. What a map
// cannot hold (an interval of ports, a wildcard interface name, a concatenation with intervals) keeps the
// expansion into one rule per element (statements.cpp, selectors.cpp).
#include "compiler/nft/sets.hpp"

#include <algorithm>

#include "compiler/nft/rule.hpp"
#include "compiler/nft/sets.hpp"
#include "compiler/values.hpp"

namespace bpftables::nft {
namespace {

void put_u32_be(std::vector<uint8_t>& out, uint32_t v) {
    for (int i = 3; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// [lo, hi] as the fewest prefixes that cover it exactly.
void range_prefixes(uint32_t lo, uint32_t hi, std::vector<std::pair<uint32_t, int>>& out) {
    uint64_t a = lo;
    while (a <= hi) {
        int len = 32;
        while (len > 0) {
            uint64_t size = uint64_t{1} << (32 - (len - 1));
            if ((a & (size - 1)) != 0 || a + size - 1 > hi) break;
            --len;
        }
        out.emplace_back(static_cast<uint32_t>(a), len);
        a += uint64_t{1} << (32 - len);
    }
}

}  // namespace

std::optional<std::vector<ir::KeyPart>> lookup_key(const Expr& lhs) {
    std::vector<const Expr*> parts;
    if (lhs.kind == K::concat)
        for (const Expr& a : lhs.args) parts.push_back(&a);
    else
        parts.push_back(&lhs);
    std::vector<ir::KeyPart> key;
    uint32_t size = 0;
    for (const Expr* p : parts) {
        if (p->kind != K::selector) return std::nullopt;
        std::string s = p->text;
        if (s.starts_with("meta ")) s = s.substr(5);
        ir::KeyPart k;
        if (s == "ip saddr")
            k.field = ir::KeyField::saddr;
        else if (s == "ip daddr")
            k.field = ir::KeyField::daddr;
        else if (s == "l4proto" || s == "ip protocol")
            k.field = ir::KeyField::l4proto;
        else if (s == "iifname")
            k.field = ir::KeyField::iifname;
        else if (s == "oifname")
            k.field = ir::KeyField::oifname;
        else if (s.ends_with(" dport") || s.ends_with(" sport")) {
            std::string proto = s.substr(0, s.size() - 6);
            if (proto != "th" && proto != "tcp" && proto != "udp") return std::nullopt;
            k.field = s.ends_with("dport") ? ir::KeyField::dport : ir::KeyField::sport;
            k.proto = proto == "tcp" ? 6 : proto == "udp" ? 17 : 0;
        } else {
            return std::nullopt;
        }
        size += ir::key_part_size(k.field);
        key.push_back(k);
    }
    if (size > ir::max_key_size) return std::nullopt;
    return key;
}

bool element_keys(const std::vector<ir::KeyPart>& key, bool lpm, const Expr& e,
                  std::vector<ir::NftSet::Element>& out, std::string& why) {
    std::vector<const Expr*> parts;
    if (e.kind == K::concat)
        for (const Expr& a : e.args) parts.push_back(&a);
    else
        parts.push_back(&e);
    if (parts.size() != key.size())
        return why = "element \"" + e.text + "\" does not have the " + std::to_string(key.size()) +
                     " parts of the key",
               false;
    ir::NftSet::Element el;
    for (size_t i = 0; i < key.size(); ++i) {
        const Expr& v = *parts[i];
        if (v.kind != K::value && v.kind != K::string) return why = "an element of this form", false;
        const std::string& t = v.text;
        switch (key[i].field) {
            case ir::KeyField::saddr:
            case ir::KeyField::daddr: {
                uint32_t a, b;
                ir::Ipv4Net net;
                if (values::parse_ipv4(t, a)) {
                    put_u32_be(el.key, a);
                    el.prefix = 32;
                    break;
                }
                if (!lpm) return why = "a prefix or range in a set of exact keys (\"" + t + "\")", false;
                std::vector<std::pair<uint32_t, int>> prefixes;
                if (ipv4_net(t, net))
                    prefixes.emplace_back(net.addr, __builtin_popcount(net.mask));
                else if (split_range(t, [&](const std::string& x, const std::string& y) {
                             return values::parse_ipv4(x, a) && values::parse_ipv4(y, b) && a <= b;
                         }))
                    range_prefixes(a, b, prefixes);
                else
                    return why = "the address \"" + t + "\"", false;
                for (const auto& [addr, len] : prefixes) {  // one element per prefix, same value
                    ir::NftSet::Element p;
                    put_u32_be(p.key, addr);
                    p.prefix = static_cast<uint32_t>(len);
                    out.push_back(std::move(p));
                }
                return true;  // an LPM key has no other part
            }
            case ir::KeyField::l4proto: {
                std::optional<uint8_t> p = values::protocol_by_name(t);
                uint64_t n;
                if (!p && values::parse_number(t, n, 255)) p = static_cast<uint8_t>(n);
                if (!p) return why = "the protocol \"" + t + "\"", false;
                el.key.insert(el.key.end(), {*p, 0, 0, 0});
                break;
            }
            case ir::KeyField::sport:
            case ir::KeyField::dport: {
                uint16_t port;
                const char* proto = key[i].proto == 17 ? "udp" : "tcp";
                if (!values::parse_port(t, proto, port)) return why = "the port \"" + t + "\"", false;
                el.key.insert(el.key.end(),
                              {static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port), 0, 0});
                break;
            }
            case ir::KeyField::iifname:
            case ir::KeyField::oifname: {
                std::string name = t;
                if (name.ends_with("\\*"))
                    name.erase(name.size() - 2, 1);
                else if (name.ends_with("*") || name.ends_with("+"))
                    return why = "the wildcard interface name \"" + t + "\"", false;
                if (name.empty() || name.size() > 15) return why = "the interface name \"" + t + "\"", false;
                size_t at = el.key.size();
                el.key.resize(at + 16, 0);
                std::copy(name.begin(), name.end(), el.key.begin() + static_cast<long>(at));
                break;
            }
        }
    }
    out.push_back(std::move(el));
    return true;
}

std::optional<ir::VmapVerdict> vmap_verdict(const Expr& v) {
    using VK = ir::VmapVerdict::Kind;
    if (v.kind != K::verdict) return std::nullopt;
    const std::string& t = v.text;
    if (t == "accept") return ir::VmapVerdict{VK::accept, {}};
    if (t == "drop") return ir::VmapVerdict{VK::drop, {}};
    if (t == "return") return ir::VmapVerdict{VK::return_, {}};
    if (t == "continue") return ir::VmapVerdict{VK::continue_, {}};
    if ((t == "jump" || t == "goto") && !v.args.empty())
        return ir::VmapVerdict{t == "jump" ? VK::jump : VK::goto_, v.args[0].text};
    return std::nullopt;
}

std::optional<ir::NftSet> build_nft_set(const std::string& name, const SourceLoc& loc,
                                        const std::vector<ir::KeyPart>& key, bool interval,
                                        const std::vector<Expr>& elements, bool map,
                                        std::vector<ir::VmapVerdict>* verdicts, std::string& why) {
    ir::NftSet set;
    set.name = name;
    set.loc = loc;
    bool one_address =
        key.size() == 1 && (key[0].field == ir::KeyField::saddr || key[0].field == ir::KeyField::daddr);
    set.lpm = one_address && interval;
    for (const Expr& e : elements) {  // a prefix or range in a set without the flag (nft takes a prefix)
        const Expr& k = e.kind == K::mapping ? e.args[0] : e;
        if (one_address && k.kind == K::value &&
            (k.text.find('/') != std::string::npos || k.text.find('-') != std::string::npos))
            set.lpm = true;
    }
    if (!set.lpm && interval) return why = "an interval set of this key", std::nullopt;
    for (const ir::KeyPart& k : key) set.key_size += ir::key_part_size(k.field);
    if (set.lpm) set.key_size = 4;
    for (const Expr& e : elements) {
        std::string options = (map && e.kind == K::mapping ? e.args[0] : e).elem_options;
        if (size_t c = options.find("comment \""); c != std::string::npos) {  // a comment changes nothing
            size_t end = options.find('"', c + 9);
            options.erase(c, end == std::string::npos ? std::string::npos : end + 1 - c);
        }
        if (options.find_first_not_of(' ') != std::string::npos)
            return why = "set elements with \"" + options + "\"", std::nullopt;
        if ((e.kind == K::mapping) != map) return why = "this element", std::nullopt;
        uint32_t value = 0;
        if (map) {
            if (!verdicts) return why = "a map read as a set", std::nullopt;
            std::optional<ir::VmapVerdict> v = vmap_verdict(e.args[1]);
            if (!v) return why = "the verdict \"" + e.args[1].text + "\"", std::nullopt;
            auto at = std::find(verdicts->begin(), verdicts->end(), *v);
            value = static_cast<uint32_t>(at - verdicts->begin());
            if (at == verdicts->end()) verdicts->push_back(*v);
        }
        size_t before = set.elements.size();
        if (!element_keys(key, set.lpm, map ? e.args[0] : e, set.elements, why)) return std::nullopt;
        for (size_t i = before; i < set.elements.size(); ++i) set.elements[i].value = value;
    }
    // nft refuses overlapping intervals and duplicate keys in a map; a duplicate in a set is the same member.
    std::sort(set.elements.begin(), set.elements.end());
    set.elements.erase(std::unique(set.elements.begin(), set.elements.end()), set.elements.end());
    for (size_t i = 1; i < set.elements.size(); ++i)
        if (set.elements[i].key == set.elements[i - 1].key &&
            set.elements[i].prefix == set.elements[i - 1].prefix)
            return why = "two values for one key", std::nullopt;
    return set;
}

// "KEY @set" / "KEY != @set" for a named set whose elements a map holds (those known so far: the map is built
// from all of them at the end of the script).
std::optional<Alts> RuleLowering::set_lookup(const Expr& lhs, Op op, const Expr& ref) {
    auto type = scope_.sets.find(ref.text);
    if ((op != Op::eq && op != Op::ne) || type == scope_.sets.end() || type->second == "map" ||
        scope_.kernel_sets.count(ref.text))
        return std::nullopt;
    std::optional<std::vector<ir::KeyPart>> key = lookup_key(lhs);
    if (!key) return std::nullopt;
    std::string why;
    auto elements = scope_.elements.find(ref.text);
    if (!build_nft_set(ref.text, ref.loc, *key, scope_.interval_sets.count(ref.text) > 0,
                       elements == scope_.elements.end() ? std::vector<Expr>{} : elements->second, false,
                       nullptr, why))
        return std::nullopt;
    Alt alt;
    for (const ir::KeyPart& k : *key) {
        if (k.field == ir::KeyField::saddr || k.field == ir::KeyField::daddr)
            if (!protocol("ip", lhs.loc, lhs.length)) return std::nullopt;
        if (k.proto) alt.matches.emplace_back(ir::ProtocolMatch{k.proto, false});
    }
    alt.matches.emplace_back(ir::NftSetMatch{ref.text, *key, op == Op::ne});
    return Alts{std::move(alt)};
}

// "KEY vmap @m" (named: its verdicts are set again once the whole script is read) or "KEY vmap { ... }".
std::optional<Alts> RuleLowering::vmap_lookup(const Expr& lhs, const Expr& rhs, const SourceLoc& loc) {
    std::optional<std::vector<ir::KeyPart>> key = lookup_key(lhs);
    if (!key) return std::nullopt;
    std::vector<ir::VmapVerdict> verdicts;
    std::string why, name;
    std::optional<ir::NftSet> set;
    if (rhs.kind == K::set_ref) {
        auto type = scope_.sets.find(rhs.text);
        if (type == scope_.sets.end() || type->second != "map" || scope_.kernel_sets.count(rhs.text))
            return std::nullopt;
        auto elements = scope_.elements.find(rhs.text);
        set = build_nft_set(rhs.text, rhs.loc, *key, scope_.interval_sets.count(rhs.text) > 0,
                            elements == scope_.elements.end() ? std::vector<Expr>{} : elements->second, true,
                            &verdicts, why);
        name = rhs.text;
    } else if (rhs.kind == K::set && !rhs.args.empty()) {
        name = "__vmap_" + std::to_string(loc.line) + "_" + std::to_string(loc.col);
        set = build_nft_set(name, rhs.loc, *key, false, rhs.args, true, &verdicts, why);
        if (set) anonymous_sets_.push_back(*set);
    }
    if (!set) return std::nullopt;
    for (const ir::KeyPart& k : *key)
        if ((k.field == ir::KeyField::saddr || k.field == ir::KeyField::daddr) &&
            !protocol("ip", lhs.loc, lhs.length))
            return std::nullopt;
    return Alts{Alt{{}, ir::VmapTarget{name, *key, std::move(verdicts)}}};
}

}  // namespace bpftables::nft
