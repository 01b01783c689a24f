// The layout of the entry objects' scratch value (direct_emitter.hpp: scratch_layout), from their BTF: the
// emitted instructions read struct bpft_pkt at the offsets clang laid it out with.
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <memory>
#include <mutex>

#include "codegen/direct_emitter.hpp"

namespace bpftables::codegen {
namespace {

struct ObjectCloser {
    void operator()(bpf_object* obj) const { bpf_object__close(obj); }
};

std::optional<ScratchLayout> read_layout(const bpf::EmbeddedObject& object, std::string& error) {
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "bpftables_entry");
    std::unique_ptr<bpf_object, ObjectCloser> obj(bpf_object__open_mem(object.data, object.size, &opts));
    if (!obj) return error = std::string("cannot open the entry object ") + object.name, std::nullopt;
    const btf* b = bpf_object__btf(obj.get());
    int id = b ? btf__find_by_name_kind(b, "bpft_pkt", BTF_KIND_STRUCT) : -1;
    if (id < 0) return error = std::string("no struct bpft_pkt in the BTF of ") + object.name, std::nullopt;
    const btf_type* t = btf__type_by_id(b, id);
    const btf_member* m = btf_members(t);
    ScratchLayout layout;
    for (int i = 0; i < btf_vlen(t); ++i, ++m) {
        if (btf_member_bitfield_size(t, i) != 0 || btf_member_bit_offset(t, i) % 8 != 0) continue;
        __s64 size = btf__resolve_size(b, m->type);
        if (size <= 0) continue;
        layout[btf__name_by_offset(b, m->name_off)] = {static_cast<int16_t>(btf_member_bit_offset(t, i) / 8),
                                                       static_cast<uint8_t>(size > 255 ? 255 : size)};
    }
    return layout;
}

}  // namespace

const ScratchLayout* scratch_layout(std::string& error) {
    static std::once_flag once;
    static std::optional<ScratchLayout> layout;
    static std::string read_error;
    std::call_once(once, [] {
        // Every entry object holds the same struct (entry.bpf.c defines its optional parts alike): the
        // first one's layout is checked against the others.
        layout = read_layout(bpf::entry_objects[0], read_error);
        for (int i = 1; layout && i < bpf::entry_object_count; ++i) {
            std::optional<ScratchLayout> other = read_layout(bpf::entry_objects[i], read_error);
            if (!other || *other != *layout) {
                if (other)
                    read_error = std::string("struct bpft_pkt differs in ") + bpf::entry_objects[i].name;
                layout.reset();
            }
        }
    });
    if (!layout) return error = read_error, nullptr;
    return &*layout;
}

}  // namespace bpftables::codegen
