// save_iptables_legacy: what iptables-legacy-save prints, read through libiptc. The standard part of each
// rule (-s -d -i -o -p -f) is written here from the entry; matches and targets print through their
// extension's save function (libxtables), which writes to stdout, so the whole dump is written to stdout
// while stdout is a temporary file, then read back.
#include <arpa/inet.h>
#include <libiptc/libiptc.h>
#include <net/if.h>
#include <unistd.h>
#include <xtables.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cli/import_libraries.hpp"
#include "cli/import_sources.hpp"

namespace bpftables::cli {
namespace {

// libip4tc's and libxtables' functions, from the libraries opened on first use (import_libraries.hpp).
struct Legacy {
    decltype(&::iptc_init) iptc_init = nullptr;
    decltype(&::iptc_free) iptc_free = nullptr;
    decltype(&::iptc_strerror) iptc_strerror = nullptr;
    decltype(&::iptc_first_chain) iptc_first_chain = nullptr;
    decltype(&::iptc_next_chain) iptc_next_chain = nullptr;
    decltype(&::iptc_builtin) iptc_builtin = nullptr;
    decltype(&::iptc_get_policy) iptc_get_policy = nullptr;
    decltype(&::iptc_first_rule) iptc_first_rule = nullptr;
    decltype(&::iptc_next_rule) iptc_next_rule = nullptr;
    decltype(&::iptc_get_target) iptc_get_target = nullptr;
    decltype(&::xtables_init_all) xtables_init_all = nullptr;
    decltype(&::xtables_compatible_revision) xtables_compatible_revision = nullptr;
    decltype(&::xtables_find_match) xtables_find_match = nullptr;
    decltype(&::xtables_find_match_revision) xtables_find_match_revision = nullptr;
    decltype(&::xtables_find_target) xtables_find_target = nullptr;
    decltype(&::xtables_find_target_revision) xtables_find_target_revision = nullptr;
};
Legacy lib;  // set by load_legacy()

bool load_legacy(std::string& error) {
    static bool loaded = false;
    if (loaded) return true;
    void* xt = open_library("libxtables.so.12", error);
    void* iptc = xt ? open_library("libip4tc.so.2", error) : nullptr;
    if (!iptc || !library_function(iptc, "iptc_init", lib.iptc_init, error) ||
        !library_function(iptc, "iptc_free", lib.iptc_free, error) ||
        !library_function(iptc, "iptc_strerror", lib.iptc_strerror, error) ||
        !library_function(iptc, "iptc_first_chain", lib.iptc_first_chain, error) ||
        !library_function(iptc, "iptc_next_chain", lib.iptc_next_chain, error) ||
        !library_function(iptc, "iptc_builtin", lib.iptc_builtin, error) ||
        !library_function(iptc, "iptc_get_policy", lib.iptc_get_policy, error) ||
        !library_function(iptc, "iptc_first_rule", lib.iptc_first_rule, error) ||
        !library_function(iptc, "iptc_next_rule", lib.iptc_next_rule, error) ||
        !library_function(iptc, "iptc_get_target", lib.iptc_get_target, error) ||
        !library_function(xt, "xtables_init_all", lib.xtables_init_all, error) ||
        !library_function(xt, "xtables_compatible_revision", lib.xtables_compatible_revision, error) ||
        !library_function(xt, "xtables_find_match", lib.xtables_find_match, error) ||
        !library_function(xt, "xtables_find_match_revision", lib.xtables_find_match_revision, error) ||
        !library_function(xt, "xtables_find_target", lib.xtables_find_target, error) ||
        !library_function(xt, "xtables_find_target_revision", lib.xtables_find_target_revision, error))
        return false;
    loaded = true;
    return true;
}

// libxtables reports fatal errors through this and expects it not to return (as in iptables itself).
// The GNU attribute, not [[noreturn]]: the member exit_err is a pointer to a noreturn function type.
__attribute__((noreturn)) void xtables_exit(enum xtables_exittype, const char* msg, ...) {
    va_list args;
    va_start(args, msg);
    std::fputs("bpftables import: libxtables: ", stderr);
    std::vfprintf(stderr, msg, args);
    std::fputc('\n', stderr);
    va_end(args);
    std::exit(1);
}

xtables_globals globals = {
    .option_offset = 0,
    .program_name = "bpftables",
    .program_version = "1.8.9",
    .orig_opts = nullptr,
    .opts = nullptr,
    .exit_err = xtables_exit,
    .compat_rev = nullptr,  // libxtables' own (load_legacy)
};

void save_ip(const char* option, in_addr addr, in_addr mask, bool invert) {
    if (!mask.s_addr && !addr.s_addr && !invert) return;
    std::printf("%s %s %s", invert ? " !" : "", option, inet_ntoa(addr));
    uint32_t host = ntohl(mask.s_addr);
    int bits = 0;
    while (bits < 32 && (host & (0x80000000u >> bits))) ++bits;
    if (bits == 32 || host == (bits ? ~0u << (32 - bits) : 0u))
        std::printf("/%d", bits);
    else
        std::printf("/%s", inet_ntoa(mask));
}

// As iptables' save_iface: the name up to the mask's end, "+" when the mask stops before the name does.
void save_iface(char letter, const char* name, const unsigned char* mask, bool invert) {
    if (mask[0] == 0) return;
    std::printf("%s -%c ", invert ? " !" : "", letter);
    for (int i = 0; i < IFNAMSIZ; ++i) {
        if (mask[i] == 0) {
            if (name[i - 1] != '\0') std::putchar('+');
            break;
        }
        if (name[i] != '\0') std::putchar(name[i]);
    }
}

void save_proto(uint16_t proto, bool invert) {
    if (!proto) return;
    static const struct {
        uint16_t number;
        const char* name;
    } names[] = {{IPPROTO_TCP, "tcp"},   {IPPROTO_UDP, "udp"},       {IPPROTO_UDPLITE, "udplite"},
                 {IPPROTO_ICMP, "icmp"}, {IPPROTO_ICMPV6, "icmpv6"}, {IPPROTO_ESP, "esp"},
                 {IPPROTO_AH, "ah"},     {IPPROTO_SCTP, "sctp"},     {IPPROTO_MH, "mh"},
                 {IPPROTO_DCCP, "dccp"}, {IPPROTO_GRE, "gre"}};
    std::printf("%s -p ", invert ? " !" : "");
    for (const auto& n : names)
        if (n.number == proto) return (void)std::printf("%s", n.name);
    std::printf("%u", proto);
}

bool save_match(const xt_entry_match* m, const ipt_ip* ip, std::string& error) {
    const char* name = m->u.user.name;
    xtables_match* match = lib.xtables_find_match(name, XTF_TRY_LOAD, nullptr);
    if (!match) return error = std::string("no libxtables extension for match '") + name + "'", false;
    xtables_match* revision = lib.xtables_find_match_revision(name, XTF_TRY_LOAD, match, m->u.user.revision);
    xtables_match* shown = revision ? revision : match;
    std::printf(" -m %s", shown->alias ? shown->alias(m) : name);
    if (revision && revision->save)
        revision->save(ip, m);
    else if (match->save)
        return error = std::string("match '") + name + "' revision " + std::to_string(m->u.user.revision) +
                       " has no printer in libxtables",
               false;
    return true;
}

bool save_target(const ipt_entry* e, xtc_handle* h, std::string& error) {
    const char* target_name = lib.iptc_get_target(e, h);
    const xt_entry_target* t = ipt_get_target(const_cast<ipt_entry*>(e));
    if (t->u.user.name[0]) {
        const char* name = t->u.user.name;
        xtables_target* target = lib.xtables_find_target(name, XTF_TRY_LOAD);
        if (!target) return error = std::string("no libxtables extension for target '") + name + "'", false;
        xtables_target* revision =
            lib.xtables_find_target_revision(name, XTF_TRY_LOAD, target, t->u.user.revision);
        xtables_target* shown = revision ? revision : target;
        std::printf(" -j %s", shown->alias ? shown->alias(t) : target_name);
        if (revision && revision->save)
            revision->save(&e->ip, t);
        else if (target->save || t->u.target_size != sizeof(xt_entry_target))
            return error = std::string("target '") + name + "' revision " +
                           std::to_string(t->u.user.revision) + " has no printer in libxtables",
                   false;
    } else if (target_name && *target_name) {
        std::printf(" -%c %s", e->ip.flags & IPT_F_GOTO ? 'g' : 'j', target_name);
    }
    return true;
}

bool save_rule(const ipt_entry* e, xtc_handle* h, const char* chain, bool counters, std::string& error) {
    if (counters)
        std::printf("[%llu:%llu] ", static_cast<unsigned long long>(e->counters.pcnt),
                    static_cast<unsigned long long>(e->counters.bcnt));
    std::printf("-A %s", chain);
    const ipt_ip& ip = e->ip;
    save_ip("-s", ip.src, ip.smsk, ip.invflags & IPT_INV_SRCIP);
    save_ip("-d", ip.dst, ip.dmsk, ip.invflags & IPT_INV_DSTIP);
    save_iface('i', ip.iniface, ip.iniface_mask, ip.invflags & IPT_INV_VIA_IN);
    save_iface('o', ip.outiface, ip.outiface_mask, ip.invflags & IPT_INV_VIA_OUT);
    save_proto(ip.proto, ip.invflags & XT_INV_PROTO);
    if (ip.flags & IPT_F_FRAG) std::printf("%s -f", ip.invflags & IPT_INV_FRAG ? " !" : "");
    for (unsigned offset = sizeof(ipt_entry); offset < e->target_offset;) {
        const auto* m = reinterpret_cast<const xt_entry_match*>(reinterpret_cast<const char*>(e) + offset);
        if (m->u.match_size < sizeof(xt_entry_match))
            return error = "malformed match in the kernel's entry", false;
        if (!save_match(m, &ip, error)) return false;
        offset += m->u.match_size;
    }
    if (!save_target(e, h, error)) return false;
    std::putchar('\n');
    return true;
}

bool save_table(const char* table, bool counters, std::string& error) {
    std::unique_ptr<xtc_handle, decltype(lib.iptc_free)> h(lib.iptc_init(table), lib.iptc_free);
    if (!h) return error = std::string("table ") + table + ": " + lib.iptc_strerror(errno), false;
    std::printf("*%s\n", table);
    for (const char* chain = lib.iptc_first_chain(h.get()); chain; chain = lib.iptc_next_chain(h.get())) {
        if (lib.iptc_builtin(chain, h.get())) {
            xt_counters counters{};
            const char* policy = lib.iptc_get_policy(chain, &counters, h.get());
            std::printf(":%s %s [%llu:%llu]\n", chain, policy ? policy : "-",
                        static_cast<unsigned long long>(counters.pcnt),
                        static_cast<unsigned long long>(counters.bcnt));
        } else {
            std::printf(":%s - [0:0]\n", chain);
        }
    }
    for (const char* chain = lib.iptc_first_chain(h.get()); chain; chain = lib.iptc_next_chain(h.get())) {
        int position = 1;
        for (const ipt_entry* e = lib.iptc_first_rule(chain, h.get()); e;
             e = lib.iptc_next_rule(e, h.get()), ++position) {
            if (!save_rule(e, h.get(), chain, counters, error)) {
                error = std::string("table ") + table + ", chain " + chain + ", rule " +
                        std::to_string(position) + ": " + error;
                return false;
            }
        }
    }
    std::puts("COMMIT");
    return true;
}

// The tables that exist, in the order of /proc/net/ip_tables_names (as iptables-save prints them). Opening
// a table that is not there would create it in the kernel, so only these are read.
std::vector<std::string> existing_tables() {
    static const std::set<std::string> known = {"filter", "raw", "nat", "mangle", "security"};
    std::vector<std::string> names;
    std::ifstream in("/proc/net/ip_tables_names");
    for (std::string name; std::getline(in, name);)
        if (known.count(name)) names.push_back(name);
    return names;
}

}  // namespace

bool save_iptables_legacy(bool counters, std::string& out, std::string& error) {
    static bool initialised = false;
    if (!initialised) {
        if (!load_legacy(error)) return error = "iptables-legacy: " + error, false;
        globals.compat_rev = lib.xtables_compatible_revision;
        if (lib.xtables_init_all(&globals, NFPROTO_IPV4) < 0)
            return error = "libxtables: cannot initialise", false;
        initialised = true;
    }
    std::vector<std::string> tables = existing_tables();

    std::fflush(stdout);
    std::unique_ptr<FILE, decltype(&std::fclose)> capture(std::tmpfile(), std::fclose);
    int saved = dup(STDOUT_FILENO);
    if (!capture || saved < 0)
        return error = std::string("cannot capture the output: ") + std::strerror(errno), false;
    dup2(fileno(capture.get()), STDOUT_FILENO);
    bool ok = true;
    for (const std::string& table : tables)
        if (!(ok = save_table(table.c_str(), counters, error))) break;
    std::fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    if (!ok) return false;

    std::rewind(capture.get());
    out.clear();
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, capture.get())) > 0;) out.append(buffer, n);
    return true;
}

}  // namespace bpftables::cli
