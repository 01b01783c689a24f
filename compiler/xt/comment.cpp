// -m comment --comment TEXT (at most 255 characters): its option and printing.
#include "compiler/xt/modules.hpp"

namespace bpftables::xt {
namespace {

Parsed parse_comment(ir::Match& match, OptionReader& r) {
    if (r.name() != "--comment") return Parsed::not_mine;
    if (!first_use<ir::CommentMatch>(match, r) || !not_inverted(r)) return Parsed::error;
    const parser::Word* w = r.arg();
    if (!w) return Parsed::error;
    if (w->text.size() > 255)
        return r.error(*w, "comment: may not be longer than 255 characters"), Parsed::error;
    match = ir::CommentMatch{w->text};
    return Parsed::ok;
}

}  // namespace

const MatchModule comment_module{
    .name = "comment",
    .make =
        [] {
            return ir::Match{ir::OpaqueMatch{"comment", {}}};
        },
    .parse = parse_comment,
    .finish = [](ir::Match& m, const parser::Word& w,
                 Diagnostics& d) { return must_be_given<ir::CommentMatch>(m, w, d, "--comment"); }};

void print(const ir::CommentMatch& m, std::string& out) {
    out += " --comment " + save_string(m.text);
}

}  // namespace bpftables::xt
