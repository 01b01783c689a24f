// Set elements changed in place (runtime/elements.hpp).
#include "runtime/elements.hpp"

#include <bpf/bpf.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "compiler/ir_print.hpp"
#include "compiler/nft/lower.hpp"
#include "runtime/generation.hpp"
#include "runtime/netfilter.hpp"

namespace bpftables::runtime {
namespace {

// ---- the canonical text's elements (compiler/nft/canonical.hpp prints each set's on one line)

constexpr std::string_view kElements = "\t\telements = ";

// A canonical text without its element lines, and each set's element line by its table and set header.
struct Skeleton {
    std::string text;
    std::map<std::pair<std::string, std::string>, std::string>
        elements;  // (table line, set line) -> "{ ... }"
};

Skeleton skeleton(const std::string& text) {
    Skeleton s;
    s.text.reserve(text.size() / 4);
    std::string table, set;
    for (size_t i = 0; i < text.size();) {
        size_t end = text.find('\n', i);
        if (end == std::string::npos) end = text.size();
        std::string_view line(text.data() + i, end - i);
        i = end + 1;
        if (line.starts_with(kElements)) {
            s.elements[{table, set}] = line.substr(kElements.size());
            continue;
        }
        if (line.starts_with("table "))
            table = line;
        else if (line.starts_with("\tset ") || line.starts_with("\tmap "))
            set = line;
        s.text.append(line);
        s.text += '\n';
    }
    return s;
}

// The elements of "{ a, b : c, ... }": split at the commas outside quotes and brackets.
std::vector<std::string_view> split_elements(std::string_view set) {
    std::vector<std::string_view> out;
    if (set.size() < 4 || !set.starts_with("{ ") || !set.ends_with(" }")) return out;
    set = set.substr(2, set.size() - 4);
    int depth = 0;
    bool quoted = false;
    size_t start = 0;
    for (size_t i = 0; i < set.size(); ++i) {
        char c = set[i];
        if (quoted) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                quoted = false;
        } else if (c == '"') {
            quoted = true;
        } else if (c == '(' || c == '{' || c == '[') {
            ++depth;
        } else if (c == ')' || c == '}' || c == ']') {
            --depth;
        } else if (c == ',' && depth == 0 && i + 1 < set.size() && set[i + 1] == ' ') {
            out.push_back(set.substr(start, i - start));
            start = i + 2;
        }
    }
    out.push_back(set.substr(start));
    return out;
}

// An element's key ("a . b" of "a . b : verdict"); none when it has options after its key (timeout,
// comment, counter, ...), whose `delete element` line this does not write.
std::optional<std::string_view> element_key(std::string_view e) {
    std::vector<std::string_view> words;  // split at blanks outside quotes
    bool quoted = false;
    size_t start = 0;
    for (size_t i = 0; i <= e.size(); ++i) {
        if (i < e.size() && quoted) {
            if (e[i] == '\\')
                ++i;
            else if (e[i] == '"')
                quoted = false;
            continue;
        }
        if (i < e.size() && e[i] != ' ') {
            quoted = e[i] == '"';
            continue;
        }
        if (i > start) words.push_back(e.substr(start, i - start));
        start = i + 1;
    }
    size_t n = std::find(words.begin(), words.end(), ":") - words.begin();
    if (n % 2 == 0) return std::nullopt;  // no key, or one that ends on a dot
    for (size_t i = 0; i < n; ++i)
        if ((words[i] == ".") != (i % 2 == 1)) return std::nullopt;  // options: "1.2.3.4 timeout 1h"
    return e.substr(0, words[n - 1].data() + words[n - 1].size() - e.data());
}

// "ip t" of "table ip t {", "s" of "\tset s {".
std::string header_name(const std::string& line, size_t prefix) {
    return line.size() > prefix + 2 ? line.substr(prefix, line.size() - prefix - 2) : std::string();
}

// The lines that turn set `old_set`'s elements into `new_set`'s (deletions, additions); false when an
// element has options.
bool element_lines(const std::string& target, std::string_view old_set, std::string_view new_set,
                   std::string& deletions, std::string& additions) {
    std::vector<std::string_view> before = split_elements(old_set), after = split_elements(new_set);
    std::unordered_set<std::string_view> in_before(before.begin(), before.end()),
        in_after(after.begin(), after.end());
    std::string gone, added;
    for (std::string_view e : before) {
        if (in_after.count(e)) continue;
        std::optional<std::string_view> key = element_key(e);
        if (!key) return false;
        gone += (gone.empty() ? "" : ", ") + std::string(*key);
    }
    for (std::string_view e : after) {
        if (in_before.count(e)) continue;
        if (!element_key(e)) return false;
        added += (added.empty() ? "" : ", ") + std::string(e);
    }
    if (!gone.empty()) deletions += "delete element " + target + " { " + gone + " }\n";
    if (!added.empty()) additions += "add element " + target + " { " + added + " }\n";
    return true;
}

// ---- the programs

// Whether two programs are the same but for their sets' elements (and source positions, and counters).
bool same_but_elements(const ir::Program& a, const ir::Program& b) {
    if (a.family != b.family || a.short_headers != b.short_headers || a.tables.size() != b.tables.size() ||
        a.sets.size() != b.sets.size() || a.nft_sets.size() != b.nft_sets.size())
        return false;
    for (size_t t = 0; t < a.tables.size(); ++t) {
        const ir::Table &x = a.tables[t], &y = b.tables[t];
        if (x.name != y.name || x.family != y.family || x.chains.size() != y.chains.size()) return false;
        for (size_t c = 0; c < x.chains.size(); ++c) {
            const ir::Chain &p = x.chains[c], &q = y.chains[c];
            if (p.name != q.name || p.policy != q.policy || p.nft_hook != q.nft_hook ||
                p.rules.size() != q.rules.size())
                return false;
            for (size_t r = 0; r < p.rules.size(); ++r)
                if (p.rules[r].matches != q.rules[r].matches || p.rules[r].target != q.rules[r].target)
                    return false;
        }
    }
    for (size_t s = 0; s < a.sets.size(); ++s)
        if (a.sets[s].name != b.sets[s].name || a.sets[s].type != b.sets[s].type ||
            a.sets[s].family != b.sets[s].family || !a.sets[s].members6.empty() ||
            !b.sets[s].members6.empty())
            return false;
    for (size_t s = 0; s < a.nft_sets.size(); ++s)
        if (a.nft_sets[s].name != b.nft_sets[s].name || a.nft_sets[s].lpm != b.nft_sets[s].lpm ||
            a.nft_sets[s].key_size != b.nft_sets[s].key_size)
            return false;
    return true;
}

// A set's map contents as loader/ruleset_maps.cpp fills them: key bytes -> value bytes.
using Entries = std::unordered_map<std::string, std::string>;

Entries entries(const ir::NftSet& set) {
    Entries out;
    out.reserve(set.elements.size());
    for (const ir::NftSet::Element& e : set.elements) {
        std::string key;
        if (set.lpm) key.append(reinterpret_cast<const char*>(&e.prefix), 4);
        key.append(e.key.begin(), e.key.end());
        out[key] = std::string(reinterpret_cast<const char*>(&e.value), 4);
    }
    return out;
}

Entries entries(const ir::IpSet& set) {
    Entries out;
    out.reserve(set.members.size());
    for (const ir::Ipv4Net& n : set.members) {
        uint32_t key[2] = {static_cast<uint32_t>(__builtin_popcount(n.mask)), htonl(n.addr)};
        out[std::string(reinterpret_cast<const char*>(key), 8)] = std::string(1, '\1');
    }
    return out;
}

// One set's change: the entries to put (new or with another value) and to remove, and the old contents.
struct SetChange {
    Entries before, put;
    std::vector<std::string> remove;
    size_t key_size = 0, value_size = 0;
};

SetChange diff(Entries before, const Entries& after) {
    SetChange c;
    for (const auto& [k, v] : after)
        if (auto it = before.find(k); it == before.end() || it->second != v) c.put.emplace(k, v);
    for (const auto& [k, v] : before)
        if (!after.count(k)) c.remove.push_back(k);
    if (!after.empty()) c.key_size = after.begin()->first.size(), c.value_size = after.begin()->second.size();
    if (!before.empty())
        c.key_size = before.begin()->first.size(), c.value_size = before.begin()->second.size();
    c.before = std::move(before);
    return c;
}

bool same_attachments(const std::vector<Attachment>& a, const std::vector<Attachment>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const Attachment& x, const Attachment& y) {
        return x.iface == y.iface && x.ifindex == y.ifindex && x.hook == y.hook && x.mode == y.mode;
    });
}

// What was changed in the maps so far, to put back on a failure (last first).
struct MapUndo {
    int map;
    std::string key;
    std::optional<std::string> value;  // none: the key was not there
};

void put_back(const std::vector<MapUndo>& undo) {
    for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
        if (it->value)
            bpf_map_update_elem(it->map, it->key.data(), it->value->data(), BPF_ANY);
        else
            bpf_map_delete_elem(it->map, it->key.data());
    }
}

}  // namespace

std::optional<CommitRequest::Elements> element_change(const State& state, const std::string& next_text,
                                                      const ir::Program& next,
                                                      std::optional<ir::Program>& old_program) {
    Skeleton before = skeleton(state.ruleset), after = skeleton(next_text);
    if (before.text != after.text) return std::nullopt;
    CommitRequest::Elements change;
    std::string deletions, additions, undo_deletions, undo_additions;
    for (const auto& [where, set] : after.elements) {
        auto old = before.elements.find(where);
        std::string_view old_set = old == before.elements.end() ? "" : std::string_view(old->second);
        if (old_set == set) continue;
        std::string target = header_name(where.first, 6) + " " + header_name(where.second, 5);
        if (!element_lines(target, old_set, set, deletions, additions) ||
            !element_lines(target, set, old_set, undo_deletions, undo_additions))
            return std::nullopt;
    }
    for (const auto& [where, set] : before.elements) {  // sets whose every element went
        if (after.elements.count(where)) continue;
        std::string target = header_name(where.first, 6) + " " + header_name(where.second, 5);
        if (!element_lines(target, set, "", deletions, additions) ||
            !element_lines(target, "", set, undo_deletions, undo_additions))
            return std::nullopt;
    }
    Diagnostics ignored;
    std::optional<ir::Program> old = parse_and_lower_nft(state.ruleset, "<committed>", ignored, true);
    if (!old || !same_but_elements(*old, next)) return std::nullopt;
    old_program = std::move(old);
    change.apply = deletions + additions;
    change.undo = undo_deletions + undo_additions;
    return change;
}

InPlace commit_elements(const State& old, const CommitRequest& request, CommitReport& report,
                        std::string& error) {
    auto t0 = std::chrono::steady_clock::now();
    auto rebuild = [&](const std::string& why) {
        report.notes.push_back("set elements only, but a new generation: " + why);
        return InPlace::rebuild;
    };
    if (!request.elements || !request.committed) return InPlace::rebuild;
    if (request.test_only) return InPlace::rebuild;  // --test builds and verifies the programs
    if (request.counters_from_input) return rebuild("-c sets the counters");
    if (request.decided_mark && *request.decided_mark != old.decided_mark)
        return rebuild("--decided-mark changes");
    if (request.codegen != Codegen::automatic) return rebuild("--codegen asks for a back end");
    if (!same_attachments(request.attachments, old.attachments)) return rebuild("the attachments change");
    if (!old.hooks.empty() && !old.set_maps_pinned)
        return rebuild("the running generation's set maps are not pinned (committed by an earlier version)");
    const ir::Program &before = *request.committed, &after = request.program;

    // Each changed set's entries, then the running maps that hold it, with room for what it adds.
    std::map<std::string, SetChange> changes;
    for (size_t i = 0; i < after.nft_sets.size(); ++i) {
        SetChange c = diff(entries(before.nft_sets[i]), entries(after.nft_sets[i]));
        if (!c.put.empty() || !c.remove.empty()) changes[after.nft_sets[i].name] = std::move(c);
    }
    for (size_t i = 0; i < after.sets.size(); ++i) {
        if (after.find_nft_set(after.sets[i].name)) continue;  // its map is the nft set's (loader)
        SetChange c = diff(entries(before.sets[i]), entries(after.sets[i]));
        if (!c.put.empty() || !c.remove.empty()) changes[after.sets[i].name] = std::move(c);
    }
    struct Target {
        Fd map;
        const SetChange* change;
    };
    std::vector<Target> targets;
    size_t added = 0, removed = 0;
    for (size_t k = 0; k < old.set_maps.size(); ++k) {
        const auto& [hook, name] = old.set_maps[k];
        auto c = changes.find(name);
        if (c == changes.end()) continue;
        Fd map = open_pin(set_pin(old.generation, k, hook));
        bpf_map_info info{};
        uint32_t len = sizeof info;
        if (!map || bpf_obj_get_info_by_fd(map.get(), &info, &len) != 0)
            return rebuild("the map of set " + name + " at " + codegen::hook_name(hook) + " is not pinned");
        const SetChange& sc = c->second;
        size_t fresh = 0;
        for (const auto& [key, value] : sc.put) fresh += sc.before.count(key) ? 0 : 1;
        if (info.key_size != sc.key_size || info.value_size != sc.value_size)
            return rebuild("the map of set " + name + " has another key or value size");
        if (sc.before.size() + fresh > info.max_entries)
            return rebuild("set " + name + " would have " + std::to_string(sc.before.size() + fresh) +
                           " elements; its map has room for " + std::to_string(info.max_entries) +
                           " (the set's size, else twice its elements and at least 1024)");
        targets.push_back({std::move(map), &sc});
    }
    for (const auto& [name, c] : changes) added += c.put.size(), removed += c.remove.size();

    // The maps: additions first (an interval's new prefixes are in before its old ones go), then removals.
    std::vector<MapUndo> undo;
    auto failed = [&](const std::string& what) {
        error = what;
        put_back(undo);
        return InPlace::failed;
    };
    for (const Target& t : targets) {
        for (const auto& [key, value] : t.change->put) {
            auto was = t.change->before.find(key);
            if (bpf_map_update_elem(t.map.get(), key.data(), value.data(), BPF_ANY) != 0)
                return failed(std::string("cannot add an element to a set's map: ") + std::strerror(errno));
            undo.push_back({t.map.get(), key,
                            was == t.change->before.end() ? std::nullopt : std::optional(was->second)});
        }
    }
    for (const Target& t : targets) {
        for (const std::string& key : t.change->remove) {
            if (bpf_map_delete_elem(t.map.get(), key.data()) != 0 && errno != ENOENT)
                return failed(std::string("cannot remove an element from a set's map: ") +
                              std::strerror(errno));
            undo.push_back({t.map.get(), key, t.change->before.at(key)});
        }
    }
    // The kernel's copy: the same lines, in one nft transaction.
    if (!request.elements->apply.empty() && !nft_apply({}, request.elements->apply, false, error))
        return failed(error);
    auto undo_copy = [&] {
        std::string ignored;
        if (!request.elements->undo.empty()) nft_apply({}, request.elements->undo, false, ignored);
    };
    // The commit point: the state with the new canonical text (same generation, layout and counters).
    State next = old;
    next.ruleset = request.nft_text;
    next.ipsets = ir::to_ipset_save(after.sets);  // as plan() writes them (program_with reads them back)
    if (injected("elements") || !write_state(next, error)) {
        if (error.empty()) error = "injected failure before writing the state";
        undo_copy();
        return failed(error);
    }
    report.steps.emplace_back("elements in place",
                              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    report.gids = old.gids.size();
    report.notes.push_back("set elements changed in place: " + std::to_string(added) + " added or changed, " +
                           std::to_string(removed) + " removed, in " + std::to_string(targets.size()) +
                           " running map(s) and the kernel's copy; generation " +
                           std::to_string(old.generation) + " keeps running (no program built)");
    return InPlace::done;
}

}  // namespace bpftables::runtime
