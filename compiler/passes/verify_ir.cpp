// The IR verifier: the invariants every pass must keep. It runs after each pass in debug builds (and in the
// unit tests); a failure is a bug of bpftables, reported as an internal error at the node concerned.
//   - chain names are unique within a table; only built-in chains have a policy, and every built-in one does
//   - every rule's match_locs parallels its matches
//   - jumps and gotos name an existing user-defined chain of the same table
//   - addresses are masked (addr & ~mask == 0); port and length ranges are ordered
#include <set>

#include "compiler/passes/pass.hpp"
#include "compiler/values.hpp"

namespace bpftables::passes {
namespace {

struct RangeCheck {
    bool ok = true;
    void operator()(const ir::AddressMatch& m) { ok = ok && (m.net.addr & ~m.net.mask) == 0; }
    void operator()(const ir::Address6Match& m) {
        ok = ok && values::ipv6_and(m.net.addr, m.net.mask) == m.net.addr;
    }
    void operator()(const ir::TcpMatch& m) { ok = ok && ordered(m.sport) && ordered(m.dport); }
    void operator()(const ir::UdpMatch& m) { ok = ok && ordered(m.sport) && ordered(m.dport); }
    void operator()(const ir::MultiportMatch& m) {
        for (const ir::PortRange& r : m.ports) ok = ok && r.lo <= r.hi;
    }
    void operator()(const ir::LengthMatch& m) { ok = ok && m.min <= m.max; }
    void operator()(const ir::IpRangeMatch& m) {
        ok = ok && (!m.src || m.src->value.lo <= m.src->value.hi) &&
             (!m.dst || m.dst->value.lo <= m.dst->value.hi);
    }
    template <class T>
    void operator()(const T&) {}  // the other kinds carry no ordered ranges

    static bool ordered(const std::optional<ir::Negatable<ir::PortRange>>& p) {
        return !p || p->value.lo <= p->value.hi;
    }
};

}  // namespace

bool verify_ir(const ir::Program& program, Diagnostics& diags) {
    int before = diags.error_count();
    auto bug = [&](const SourceLoc& loc, const std::string& what) {
        diags.error(loc, "internal error: " + what);
    };
    for (const ir::Table& t : program.tables) {
        std::set<std::string> names;
        for (const ir::Chain& c : t.chains)
            if (!names.insert(c.name).second) bug(c.loc, "chain '" + c.name + "' appears twice in " + t.name);
        for (const ir::Chain& c : t.chains) {
            for (const ir::Rule& r : c.rules) {
                if (r.match_locs.size() != r.matches.size()) bug(r.loc, "match positions out of step");
                for (const ir::Match& m : r.matches) {
                    RangeCheck check;
                    std::visit(check, m);
                    if (!check.ok) bug(r.loc, "unmasked address or unordered range in a match");
                }
                for (const std::string& target : ir::target_chains(r.target)) {
                    const ir::Chain* to = t.find(target);
                    if (!to || to->builtin())
                        bug(r.target_loc, "jump to '" + target + "', not a user chain of " + t.name);
                }
            }
        }
    }
    return diags.error_count() == before;
}

}  // namespace bpftables::passes
