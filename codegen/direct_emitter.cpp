// The direct back end's emitter (direct_emitter.hpp): the main function (base chains in netfilter's order,
// as entry_emitter.cpp after its prologue), chains as global functions (split into the segments that
// passes/plan_chains.cpp planned), rules as tests that jump to the next rule, targets as verdicts.
#include "codegen/direct_emitter.hpp"

#include <cstddef>
#include <stdexcept>
#include <tuple>

#include "bpf/abi.h"
#include "codegen/direct_conditions.hpp"
#include "codegen/kernel_tables.hpp"
#include "compiler/ir_print.hpp"

namespace bpftables::codegen {
namespace {

using compiler::NfHook;
using namespace insn;

constexpr int32_t imm(uint32_t v) {
    return static_cast<int32_t>(v);
}

constexpr int32_t verdict(uint32_t kind, uint32_t gid) {
    return static_cast<int32_t>(kind << 24 | gid);
}

// The verifier refuses unreachable instructions: the blocks no rule jumps to (a rule without a hand-over
// or short-header test, a target that always returns), and the chains called only from such code (a base
// chain after one the kernel decides), are removed, with their labels and lines moved to the next
// instruction kept.
void prune_unreachable(Program& p) {
    std::vector<bool> live(p.insns.size(), false);
    std::vector<size_t> todo{0};
    auto at = [&](const std::string& label) { return p.labels.at(label); };
    while (!todo.empty()) {
        size_t i = todo.back();
        todo.pop_back();
        for (; i < p.insns.size() && !live[i]; ++i) {
            live[i] = true;
            const Insn& x = p.insns[i];
            if (std::holds_alternative<Exit>(x)) break;
            if (const auto* g = std::get_if<Goto>(&x)) {
                todo.push_back(at(g->target));
                break;
            }
            if (const auto* j = std::get_if<Jump>(&x)) todo.push_back(at(j->target));
            if (const auto* c = std::get_if<CallLocal>(&x)) todo.push_back(at(c->target));  // a chain called
        }
    }
    std::vector<size_t> renumber(p.insns.size() + 1);
    Program out;
    for (size_t i = 0; i < p.insns.size(); ++i) {
        renumber[i] = out.insns.size();
        if (live[i]) out.insns.push_back(std::move(p.insns[i]));
    }
    renumber[p.insns.size()] = out.insns.size();
    for (const auto& [name, i] : p.labels) out.labels[name] = renumber[i];
    for (const auto& [i, line] : p.lines)
        if (renumber[i] < out.insns.size()) out.lines[renumber[i]] = line;
    p = std::move(out);
}

class DirectEmitter {
  public:
    DirectEmitter(const ir::Program& program, Hook hook, Diagnostics& diags, const Options& options,
                  const ScratchLayout& scratch)
        : program_(program),
          hook_(hook),
          diags_(diags),
          options_(options),
          scratch_(scratch),
          layout_(make_layout(program)) {}

    std::optional<DirectProgram> run();

  private:
    ScratchField field(const char* name) const { return scratch_.at(name); }
    Load load(Reg dst, const char* name) const;
    Load classifier_address(Reg dst, int field) const;
    void classifier_ids();
    void ret(int32_t v) {
        p_.emit(Mov{Width::w64, Reg::r0, v});
        p_.emit(Exit{});
    }
    void lookup_scratch(const std::string& on_null, int32_t null_value);
    void count(Operand gid);
    std::string label(const std::string& what) { return what + "_" + std::to_string(labels_++); }

    // main
    void main_function();
    void run_hook(NfHook hook);
    void kernel_tables_before(NfHook hook);
    void to_out(int32_t v) {
        p_.emit(Mov{Width::w64, Reg::r9, v});
        p_.emit(Goto{"out"});
    }

    // chains
    bool emit_chain(const ir::Table& t, const ir::Chain& c);
    bool emit_rules(const ir::Table& t, const ir::Chain& c, size_t begin, size_t end);
    bool emit_rule(const ir::Table& t, const ir::Chain& c, int index);

    // classifier runs
    void call_classify(const ir::Chain& c, size_t run);
    void classify_function();
    void classify_tree(uint32_t tree);
    void end_chain() {
        if (end_chain_policy_.empty())
            ret(end_chain_value_);
        else
            p_.emit(Goto{end_chain_policy_});
    }

    // targets: one overload per kind, no fallback
    void target(const ir::NoTarget&, const ir::Table&, int) {}
    void target(const ir::AcceptTarget&, const ir::Table&, int gid) { ret(verdict(BPFT_ACCEPT, gid)); }
    void target(const ir::DropTarget&, const ir::Table&, int gid) { ret(verdict(BPFT_DROP, gid)); }
    void target(const ir::ReturnTarget&, const ir::Table&, int) { end_chain(); }
    void target(const ir::JumpTarget& j, const ir::Table& t, int) {
        p_.emit(CallLocal{names_.at({t.name, j.chain})});
        p_.emit(Jump{JmpOp::ne, Width::w64, Reg::r0, 0, ret_label_});
    }
    void target(const ir::GotoTarget& j, const ir::Table& t, int gid) {
        target(ir::JumpTarget{j.chain}, t, gid);
        end_chain();
    }
    void target(const ir::RejectTarget&, const ir::Table&, int gid) { ret(verdict(BPFT_REJECT, gid)); }
    void target(const ir::LogTarget&, const ir::Table&, int gid) { ret(verdict(BPFT_KERNEL, gid)); }
    void target(const ir::NotrackTarget&, const ir::Table& t, int) { notrack(t); }
    void target(const ir::CtTarget& x, const ir::Table& t, int gid) {
        if (x.notrack && x.args.empty())
            notrack(t);
        else
            ret(verdict(BPFT_KERNEL, gid));
    }
    void target(const ir::OpaqueTarget&, const ir::Table&, int gid) { ret(verdict(BPFT_KERNEL, gid)); }
    void target(const ir::VmapTarget& x, const ir::Table& t, int gid);
    void dispatch(const ir::VmapTarget& x, const ir::Table& t, int gid, size_t lo, size_t hi);
    void notrack(const ir::Table& t) {
        if (compiler::ct_position(t) == compiler::CtPosition::before)
            p_.emit(Store{Size::u8, Reg::r6, field("untracked").off, 1});
    }

    const ir::Program& program_;
    Hook hook_;
    Diagnostics& diags_;
    Options options_;
    const ScratchLayout& scratch_;
    Layout layout_;
    Needs needs_;
    Program p_;
    std::vector<std::string> functions_;
    std::map<std::pair<std::string, std::string>, std::string> names_;
    int labels_ = 0;
    uint32_t short_header_ = BPFT_HOTDROP;
    // How a rule ends its chain (RETURN, the end of a goto): a jump to the policy, or a return value.
    std::string end_chain_policy_;
    int32_t end_chain_value_ = BPFT_CONTINUE;
    std::string ret_label_;  // an `exit` of the current function (r0 holds the verdict)
    std::string rule_next_, rule_kernel_, rule_hotdrop_;  // the labels of the rule being emitted
    std::map<std::tuple<std::string, std::string, int>, size_t> runs_;  // (table, chain, first rule) -> run
};

Load DirectEmitter::load(Reg dst, const char* name) const {
    ScratchField f = field(name);
    Size s = f.size == 1 ? Size::u8 : f.size == 2 ? Size::u16 : f.size == 8 ? Size::u64 : Size::u32;
    return Load{s, false, dst, Reg::r6, f.off};
}

// The address the classifier's walk reads in field 0 (source) or 1 (destination): the packet's (IPv4), or its
// id in the run (IPv6: classifier_ids put them on the stack).
Load DirectEmitter::classifier_address(Reg dst, int field) const {
    if (program_.family == ir::Family::ipv6)
        return Load{Size::u32, false, dst, Reg::r10, static_cast<int16_t>(field == 0 ? -64 : -72)};
    return load(dst, field == 0 ? "saddr" : "daddr");
}

// IPv6: the ids of the packet's addresses in the run (bpf/bpftables.bpf.h: bpft_cls_id), one LPM lookup
// each in bpft_cls_ids, to r10 - 64 (source) and - 72 (destination); the run was stored at r10 - 104, the key
// (bpf/abi.h: bpft_cls_key6) is built at r10 - 96.
void DirectEmitter::classifier_ids() {
    const int16_t key = -96;
    for (int f = 0; f < 2; ++f) {
        p_.emit(Mov{Width::w64, Reg::r1, 32 + 128});
        p_.emit(Store{Size::u32, Reg::r10, key, Reg::r1});
        p_.emit(Load{Size::u32, false, Reg::r1, Reg::r10, -104});
        p_.emit(Alu{AluOp::lsh, Width::w32, Reg::r1, 1});
        p_.emit(Alu{AluOp::or_, Width::w32, Reg::r1, f});
        p_.emit(ByteSwap{Endian::to_be, 32, Reg::r1});
        p_.emit(Store{Size::u32, Reg::r10, static_cast<int16_t>(key + 4), Reg::r1});
        ScratchField addr = field(f == 0 ? "saddr6" : "daddr6");
        for (int16_t w = 0; w < 4; ++w) {
            p_.emit(Load{Size::u32, false, Reg::r1, Reg::r6, static_cast<int16_t>(addr.off + 4 * w)});
            p_.emit(ByteSwap{Endian::to_be, 32, Reg::r1});
            p_.emit(Store{Size::u32, Reg::r10, static_cast<int16_t>(key + 8 + 4 * w), Reg::r1});
        }
        p_.emit(LoadImm64{Reg::r1, ImmSource::map_idx, kDirectClsIdsMap, 0, {}});
        p_.emit(Mov{Width::w64, Reg::r2, Reg::r10});
        p_.emit(Alu{AluOp::add, Width::w64, Reg::r2, key});
        p_.emit(CallHelper{1});  // bpf_map_lookup_elem
        std::string none = label("no_id");
        p_.emit(Mov{Width::w64, Reg::r1, 0});
        p_.emit(Jump{JmpOp::eq, Width::w64, Reg::r0, 0, none});
        p_.emit(Load{Size::u32, false, Reg::r1, Reg::r0, 0});
        p_.label(none);
        p_.emit(Store{Size::u32, Reg::r10, static_cast<int16_t>(f == 0 ? -64 : -72), Reg::r1});
    }
}

// r6 = the scratch value; when the lookup fails, return `null_value`.
void DirectEmitter::lookup_scratch(const std::string& on_null, int32_t null_value) {
    p_.emit(Store{Size::u32, Reg::r10, -4, 0});
    p_.emit(LoadImm64{Reg::r1, ImmSource::map_idx, kDirectScratchMap, 0, {}});
    p_.emit(Mov{Width::w64, Reg::r2, Reg::r10});
    p_.emit(Alu{AluOp::add, Width::w64, Reg::r2, -4});
    p_.emit(CallHelper{1});  // bpf_map_lookup_elem
    std::string found = label("found");
    p_.emit(Jump{JmpOp::ne, Width::w64, Reg::r0, 0, found});
    p_.emit(Mov{Width::w64, Reg::r0, null_value});
    p_.emit(Exit{});
    (void)on_null;
    p_.label(found);
    p_.emit(Mov{Width::w64, Reg::r6, Reg::r0});
}

// bpft_count (bpftables.bpf.h, counted once): the gid joins the packet's pending list, which the exit
// program's bpft_settle adds to the counters when the packet is decided; past BPFT_PEND only npend grows.
// A gid in a register must not be in r1 to r3.
void DirectEmitter::count(Operand gid) {
    constexpr int32_t pend_max = 16;  // BPFT_PEND
    ScratchField pend = field("pend");
    if (pend.size != 4 * pend_max) throw std::logic_error("struct bpft_pkt's pend is not BPFT_PEND words");
    std::string full = label("pend_full");
    p_.emit(load(Reg::r1, "npend"));
    p_.emit(Jump{JmpOp::ge, Width::w32, Reg::r1, pend_max, full});
    p_.emit(Mov{Width::w64, Reg::r2, Reg::r1});
    p_.emit(Alu{AluOp::and_, Width::w64, Reg::r2, pend_max - 1});
    p_.emit(Alu{AluOp::lsh, Width::w64, Reg::r2, 2});
    p_.emit(Mov{Width::w64, Reg::r3, Reg::r6});
    p_.emit(Alu{AluOp::add, Width::w64, Reg::r3, Reg::r2});
    p_.emit(Store{Size::u32, Reg::r3, pend.off, gid});
    p_.label(full);
    p_.emit(Alu{AluOp::add, Width::w32, Reg::r1, 1});
    p_.emit(Store{Size::u32, Reg::r6, field("npend").off, Reg::r1});
}

std::optional<DirectProgram> DirectEmitter::run() {
    bool short_to_kernel =
        program_.short_headers == ir::ShortHeaders::kernel || options_.semantics == compiler::Backend::nft;
    short_header_ = short_to_kernel ? BPFT_KERNEL : BPFT_HOTDROP;
    for (const ir::Table& t : program_.tables) {
        if (t.family.empty() && !compiler::is_compiled_table(t.name)) continue;
        for (const ir::Chain& c : t.chains)
            if (compiler::is_compiled_chain(t, c))
                names_[{t.name, c.name}] =
                    "chain_" + t.name + "_" + c.name + "_" + std::to_string(names_.size());
    }
    std::optional<ClassifierTrees> trees;
    if (!layout_.runs.empty()) {
        std::string error;
        trees = build_classifier(program_, layout_, error, options_.classifier_cache.get());
        if (!trees) {
            diags_.error({}, "cannot build the classifier: " + error);
            return std::nullopt;
        }
        for (size_t i = 0; i < layout_.runs.size(); ++i)
            runs_[{layout_.runs[i].table, layout_.runs[i].chain, layout_.runs[i].first}] = i;
    }
    main_function();
    for (const ir::Table& t : program_.tables) {
        if (t.family.empty() && !compiler::is_compiled_table(t.name)) continue;
        for (const ir::Chain& c : t.chains)
            if (compiler::is_compiled_chain(t, c) && !emit_chain(t, c)) return std::nullopt;
    }
    if (!layout_.runs.empty()) classify_function();
    if (diags_.has_errors()) return std::nullopt;
    if (hook_ != Hook::tc_egress && nat_rules(program_)) needs_.ct = true;
    for (const compiler::BaseChain& b : compiler::base_chains(program_))
        if (b.nat && hook_ != Hook::tc_egress) needs_.ct = true;
    prune_unreachable(p_);
    std::vector<ir::IpSet> sets;
    std::vector<ir::NftSet> nft_sets;
    for (const std::string& name : layout_.sets)
        if (const ir::NftSet* nft = program_.find_nft_set(name))
            nft_sets.push_back(*nft);
        else if (const ir::IpSet* set = program_.find_set(name))
            sets.push_back(*set);
    return DirectProgram{std::move(p_),   std::move(functions_), std::move(layout_), needs_,
                         std::move(sets), std::move(nft_sets),   std::move(trees),   program_.family};
}

// The C back end's entry point after its prologue (entry_emitter.cpp), which the entry program ran: OUTPUT,
// or prerouting, the route the entry program found, input or forward (and postrouting).
void DirectEmitter::main_function() {
    int32_t pass = hook_ == Hook::xdp ? 2 /* XDP_PASS */ : 0 /* TC_ACT_OK */;
    p_.emit(Mov{Width::w64, Reg::r7, Reg::r1});
    lookup_scratch("", pass);
    p_.emit(load(Reg::r8, "route"));
    p_.emit(Jump{JmpOp::ne, Width::w32, Reg::r8, imm(BPFT_CHAIN_OUTPUT), "received"});
    p_.emit(Store{Size::u32, Reg::r6, field("chain").off, Reg::r8});
    p_.emit(Mov{Width::w64, Reg::r9, verdict(BPFT_ACCEPT, BPFT_NO_GID)});
    run_hook(NfHook::output);
    run_hook(NfHook::postrouting);
    p_.emit(Goto{"out"});

    p_.label("received");
    p_.emit(Mov{Width::w64, Reg::r9, verdict(BPFT_ACCEPT, BPFT_NO_GID)});
    run_hook(NfHook::prerouting);
    kernel_tables_before(NfHook::prerouting);
    p_.emit(Jump{JmpOp::ne, Width::w32, Reg::r8, 0, "routed"});
    to_out(verdict(BPFT_KERNEL, BPFT_NO_GID));
    p_.label("routed");
    p_.emit(Store{Size::u32, Reg::r6, field("chain").off, Reg::r8});
    // ip_forward() before FORWARD: not PACKET_HOST, or ttl <= 1, is the kernel's; the ttl is decremented.
    p_.emit(Jump{JmpOp::ne, Width::w32, Reg::r8, imm(BPFT_CHAIN_FORWARD), "not_forward"});
    p_.emit(load(Reg::r1, "pkttype"));
    p_.emit(Jump{JmpOp::eq, Width::w32, Reg::r1, 1, "forward_kernel"});
    p_.emit(Jump{JmpOp::eq, Width::w32, Reg::r1, 2, "forward_kernel"});
    p_.emit(load(Reg::r1, "ttl"));
    p_.emit(Jump{JmpOp::le, Width::w32, Reg::r1, 1, "forward_kernel"});
    p_.emit(Alu{AluOp::sub, Width::w32, Reg::r1, 1});
    p_.emit(Store{Size::u8, Reg::r6, field("ttl").off, Reg::r1});
    p_.emit(Goto{"not_forward"});
    p_.label("forward_kernel");
    to_out(verdict(BPFT_KERNEL, BPFT_NO_GID));
    p_.label("not_forward");
    p_.emit(Jump{JmpOp::ne, Width::w32, Reg::r8, imm(BPFT_CHAIN_INPUT), "not_input"});
    kernel_tables_before(NfHook::input);
    run_hook(NfHook::input);
    p_.label("not_input");
    p_.emit(Jump{JmpOp::ne, Width::w32, Reg::r8, imm(BPFT_CHAIN_FORWARD), "out"});
    kernel_tables_before(NfHook::forward);
    run_hook(NfHook::forward);
    run_hook(NfHook::postrouting);

    // The verdict to the scratch value, then the entry object's exit program.
    p_.label("out");
    p_.emit(Store{Size::u32, Reg::r6, field("verdict").off, Reg::r9});
    p_.emit(Mov{Width::w64, Reg::r1, Reg::r7});
    p_.emit(LoadImm64{Reg::r2, ImmSource::map_idx, kDirectProgsMap, 0, {}});
    p_.emit(Mov{Width::w64, Reg::r3, static_cast<int32_t>(kDirectSlotExit)});
    p_.emit(CallHelper{12});  // bpf_tail_call
    ret(pass);
}

// One hook's base chains in netfilter's order (entry_emitter.cpp: run_hook): a base chain that accepts
// hands the packet to the next; any other verdict ends the evaluation; one that is not compiled hands it
// to the kernel.
void DirectEmitter::run_hook(NfHook hook) {
    for (const compiler::BaseChain& b : compiler::base_chains(program_)) {
        if (b.hook != hook || b.after) continue;  // compiler/hooks.hpp: nat_after
        if (!b.compiled) {
            to_out(verdict(BPFT_KERNEL, layout_.chains.at({b.table, b.chain}).kernel));
            return;
        }
        // compiler/hooks.hpp: is_nat_prerouting (entry_emitter.cpp: run_hook). No NAT for an untracked
        // packet; the kernel's when conntrack cannot place it or NAT rewrites it; the chain for the first
        // packet of a connection only.
        std::string skip = label("nat_skip"), kernel = label("nat_kernel");
        if (b.nat) {
            p_.emit(load(Reg::r1, "untracked"));
            p_.emit(Jump{JmpOp::ne, Width::w32, Reg::r1, 0, skip});
            p_.emit(load(Reg::r1, "ct_state"));
            p_.emit(Jump{JmpOp::eq, Width::w32, Reg::r1, 0, kernel});
            p_.emit(load(Reg::r1, "ct_nat"));
            p_.emit(Jump{JmpOp::eq, Width::w32, Reg::r1, 1, kernel});
            p_.emit(Jump{JmpOp::ne, Width::w32, Reg::r1, 2, skip});
        }
        p_.emit(CallLocal{names_.at({b.table, b.chain})});
        p_.emit(Mov{Width::w64, Reg::r9, Reg::r0});
        p_.emit(Alu{AluOp::rsh, Width::w32, Reg::r0, 24});
        p_.emit(Jump{JmpOp::ne, Width::w32, Reg::r0, imm(BPFT_ACCEPT), "out"});
        if (b.nat) {
            p_.emit(Goto{skip});
            p_.label(kernel);
            to_out(verdict(BPFT_KERNEL, layout_.chains.at({b.table, b.chain}).kernel));
            p_.label(skip);
        }
    }
}

// entry_emitter.cpp: kernel_tables_before.
void DirectEmitter::kernel_tables_before(NfHook hook) {
    const char* chain = hook == NfHook::prerouting ? "PREROUTING"
                        : hook == NfHook::input    ? "INPUT"
                                                   : "FORWARD";
    if (mangle_changes(program_, chain)) to_out(verdict(BPFT_KERNEL, BPFT_NO_GID));
    if (hook != NfHook::prerouting || !nat_rules(program_) || hook_ == Hook::tc_egress) return;
    const ir::Table* nat = program_.find("nat");
    const ir::Chain* pre = nat ? nat->find("PREROUTING") : nullptr;
    std::string kernel = label("nat_kernel"), fine = label("nat_fine");
    p_.emit(load(Reg::r1, "ct_state"));
    p_.emit(Jump{JmpOp::eq, Width::w32, Reg::r1, 0, kernel});
    p_.emit(load(Reg::r1, "ct_nat"));
    p_.emit(Jump{JmpOp::eq, Width::w32, Reg::r1, 1, kernel});
    if (pre && !pre->rules.empty()) p_.emit(Jump{JmpOp::eq, Width::w32, Reg::r1, 2, kernel});
    p_.emit(Goto{fine});
    p_.label(kernel);
    to_out(verdict(BPFT_KERNEL, BPFT_NO_GID));
    p_.label(fine);
}

// A chain as one global function, or as the global functions of its segments and one that calls them
// (chain_emitter.cpp: emit_chain). A built-in chain ends with its policy, counted.
bool DirectEmitter::emit_chain(const ir::Table& t, const ir::Chain& c) {
    const std::string& name = names_.at({t.name, c.name});
    const ir::ChainPlan& pl = c.plan;
    int policy_gid = c.builtin() ? layout_.gid(t.name, c.name, -1) : -1;
    auto tail = [&] {
        if (c.loc.line > 0) p_.line(c.loc, c.builtin() ? ":" + c.name : "-N " + c.name);
        if (!c.builtin()) return ret(imm(BPFT_CONTINUE));
        count(policy_gid);
        ret(verdict(c.policy == ir::Policy::drop ? BPFT_DROP : BPFT_ACCEPT, policy_gid));
    };
    auto begin_function = [&](const std::string& label) {
        functions_.push_back(label);
        p_.label(label);
        if (c.loc.line > 0) p_.line(c.loc, c.builtin() ? ":" + c.name : "-N " + c.name);
        lookup_scratch("", imm(BPFT_CONTINUE));
        ret_label_ = label + "_ret";
    };
    if (pl.segments.size() <= 1) {
        begin_function(name);
        std::string policy = name + "_policy";
        end_chain_policy_ = c.builtin() ? policy : "";
        end_chain_value_ = BPFT_CONTINUE;
        if (!emit_rules(t, c, 0, c.rules.size())) return false;
        p_.label(policy);
        tail();
        p_.label(ret_label_);
        p_.emit(Exit{});
        return true;
    }
    end_chain_policy_.clear();
    end_chain_value_ = verdict(BPFT_RETURN, BPFT_NO_GID);
    for (size_t i = 0; i < pl.segments.size(); ++i) {
        begin_function(name + "_s" + std::to_string(i));
        if (!emit_rules(t, c, pl.segments[i].first, pl.segments[i].second)) return false;
        ret(imm(BPFT_CONTINUE));
        p_.label(ret_label_);
        p_.emit(Exit{});
    }
    begin_function(name);
    std::string done = name + "_done";
    for (size_t i = 0; i < pl.segments.size(); ++i) {
        p_.emit(CallLocal{name + "_s" + std::to_string(i)});
        p_.emit(Jump{JmpOp::ne, Width::w64, Reg::r0, imm(BPFT_CONTINUE), done});
    }
    p_.label(done);
    // a verdict other than CONTINUE and RETURN ends here; else the chain ends (policy, or CONTINUE)
    std::string ends = name + "_ends";
    p_.emit(Jump{JmpOp::eq, Width::w64, Reg::r0, imm(BPFT_CONTINUE), ends});
    p_.emit(Mov{Width::w64, Reg::r1, Reg::r0});
    p_.emit(Alu{AluOp::rsh, Width::w32, Reg::r1, 24});
    p_.emit(Jump{JmpOp::ne, Width::w32, Reg::r1, imm(BPFT_RETURN), ret_label_});
    p_.label(ends);
    tail();
    p_.label(ret_label_);
    p_.emit(Exit{});
    return true;
}

// Rules [begin, end) of a chain; a classifier run (never split by a segment) is one call.
bool DirectEmitter::emit_rules(const ir::Table& t, const ir::Chain& c, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
        auto run = runs_.find({t.name, c.name, static_cast<int>(i)});
        if (run != runs_.end()) {
            call_classify(c, run->second);
            i += layout_.runs[run->second].count - 1;
        } else if (!emit_rule(t, c, static_cast<int>(i))) {
            return false;
        }
    }
    return true;
}

// chain_emitter.cpp's `v = bpft_classify(p, run)`: no rule of the run decides (0), and the chain goes on
// after it; or the rule's verdict, counted unless the header was too short for its ports.
void DirectEmitter::call_classify(const ir::Chain& c, size_t run) {
    const ClassifierRun& r = layout_.runs[run];
    const ir::Rule& first = c.rules[r.first];
    p_.line(first.loc, "-A " + c.name + " " + ir::rule_spec(first) + " (classifier run " +
                           std::to_string(run) + ", " + std::to_string(r.count) + " rules)");
    std::string after = label("after_run");
    p_.emit(Mov{Width::w64, Reg::r1, static_cast<int32_t>(run)});
    p_.emit(CallLocal{kClassifyFunction});
    p_.emit(Jump{JmpOp::eq, Width::w64, Reg::r0, 0, after});
    p_.emit(Mov{Width::w64, Reg::r7, Reg::r0});
    p_.emit(Mov{Width::w32, Reg::r1, Reg::r0});
    p_.emit(Alu{AluOp::rsh, Width::w32, Reg::r1, 24});
    p_.emit(Jump{JmpOp::eq, Width::w32, Reg::r1, imm(short_header_), ret_label_});
    p_.emit(Mov{Width::w32, Reg::r4, Reg::r7});
    p_.emit(Alu{AluOp::and_, Width::w32, Reg::r4, 0xffffff});
    count(Reg::r4);
    p_.emit(Mov{Width::w64, Reg::r0, Reg::r7});
    p_.emit(Goto{ret_label_});
    p_.label(after);
}

// bpft_classify (bpf/bpftables.bpf.h) as a global function of the run (u32) that returns the verdict or 0:
// verified once, however many runs call it. r6 the scratch value, r7 the earliest rule found so far (its index in bpft_cls_rules), r8 its
// verdict, r9 the run's first root for this packet; on the stack, each in a slot of its own: the lookup key
// (r10 - 4), the walk's depth (- 16) and the leaf's next reference (- 24) as 64-bit spills (the verifier
// follows their values through the loops), the leaf's first reference and count (- 32, - 40), the reference's
// slot in its element (- 48) and the rule's index (- 56); for IPv6, the address ids (- 64, - 72), the LPM key
// (- 96 to - 73) and the run (- 104) (classifier_ids).
void DirectEmitter::classify_function() {
    p_.label(kClassifyFunction);
    p_.emit(Mov{Width::w32, Reg::r9, Reg::r1});
    if (program_.family == ir::Family::ipv6) p_.emit(Store{Size::u32, Reg::r10, -104, Reg::r1});
    p_.emit(Alu{AluOp::mul, Width::w64, Reg::r9, 2 * BPFT_CLS_TREES});
    lookup_scratch("", 0);
    if (program_.family == ir::Family::ipv6) classifier_ids();
    p_.emit(Mov{Width::w32, Reg::r7, -1});
    p_.emit(Mov{Width::w64, Reg::r8, 0});
    // a TCP or UDP header too short for its ports: the second set of roots (abi.h)
    std::string whole = label("whole"), is_short = label("short");
    p_.emit(load(Reg::r1, "proto"));
    p_.emit(load(Reg::r2, "l4_len"));
    std::string udp = label("udp");
    p_.emit(Jump{JmpOp::ne, Width::w32, Reg::r1, 6, udp});
    p_.emit(Jump{JmpOp::lt, Width::w32, Reg::r2, 20, is_short});
    p_.emit(Goto{whole});
    p_.label(udp);
    p_.emit(Jump{JmpOp::ne, Width::w32, Reg::r1, 17, whole});
    p_.emit(Jump{JmpOp::ge, Width::w32, Reg::r2, 8, whole});
    p_.label(is_short);
    p_.emit(Alu{AluOp::add, Width::w64, Reg::r9, imm(BPFT_CLS_TREES)});
    p_.label(whole);
    for (uint32_t tree = 0; tree < BPFT_CLS_TREES; ++tree) classify_tree(tree);
    p_.emit(Mov{Width::w64, Reg::r0, Reg::r8});
    p_.emit(Exit{});
}

// One tree: at most BPFT_CLS_DEPTH inner nodes, then at most BPFT_CLS_LEAF_MAX references of the leaf, up to
// the first rule that decides the packet or one not earlier than r7.
void DirectEmitter::classify_tree(uint32_t tree) {
    std::string walk = label("walk"), leaf = label("leaf"), refs = label("refs"), have = label("key");
    std::string ports = label("ports"), next = label("next_tree");
    auto lookup = [&](int map) {
        p_.emit(LoadImm64{Reg::r1, ImmSource::map_idx, map, 0, {}});
        p_.emit(Mov{Width::w64, Reg::r2, Reg::r10});
        p_.emit(Alu{AluOp::add, Width::w64, Reg::r2, -4});
        p_.emit(CallHelper{1});  // bpf_map_lookup_elem
        p_.emit(Jump{JmpOp::eq, Width::w64, Reg::r0, 0, next});
    };
    auto node = [](size_t off) { return static_cast<int16_t>(off); };
    p_.emit(Mov{Width::w64, Reg::r1, Reg::r9});
    p_.emit(Alu{AluOp::add, Width::w64, Reg::r1, imm(tree)});
    p_.emit(Store{Size::u32, Reg::r10, -4, Reg::r1});
    p_.emit(Mov{Width::w64, Reg::r1, 0});
    p_.emit(Store{Size::u64, Reg::r10, -16, Reg::r1});
    p_.label(walk);
    lookup(kDirectClsNodesMap);
    p_.emit(Load{Size::u8, false, Reg::r1, Reg::r0, node(offsetof(bpft_cls_node, field))});
    p_.emit(Jump{JmpOp::eq, Width::w32, Reg::r1, imm(BPFT_CLS_LEAF), leaf});
    p_.emit(Load{Size::u64, false, Reg::r2, Reg::r10, -16});
    p_.emit(Jump{JmpOp::ge, Width::w64, Reg::r2, BPFT_CLS_DEPTH, next});
    p_.emit(Alu{AluOp::add, Width::w64, Reg::r2, 1});
    p_.emit(Store{Size::u64, Reg::r10, -16, Reg::r2});
    // the node's field of the packet
    const char* keys[] = {"saddr", "daddr", "proto", "sport"};
    for (int f = 0; f < 4; ++f) {
        p_.emit(f < 2 ? classifier_address(Reg::r3, f) : load(Reg::r3, keys[f]));
        p_.emit(Jump{JmpOp::eq, Width::w32, Reg::r1, f, have});
    }
    p_.emit(load(Reg::r3, "dport"));
    p_.label(have);
    p_.emit(Load{Size::u8, false, Reg::r2, Reg::r0, node(offsetof(bpft_cls_node, shift))});
    p_.emit(Alu{AluOp::and_, Width::w32, Reg::r2, 31});
    p_.emit(Alu{AluOp::rsh, Width::w32, Reg::r3, Reg::r2});
    p_.emit(Load{Size::u8, false, Reg::r2, Reg::r0, node(offsetof(bpft_cls_node, bits))});
    p_.emit(Alu{AluOp::and_, Width::w32, Reg::r2, 31});
    p_.emit(Mov{Width::w32, Reg::r4, 1});
    p_.emit(Alu{AluOp::lsh, Width::w32, Reg::r4, Reg::r2});
    p_.emit(Alu{AluOp::sub, Width::w32, Reg::r4, 1});
    p_.emit(Alu{AluOp::and_, Width::w32, Reg::r3, Reg::r4});
    p_.emit(Load{Size::u32, false, Reg::r2, Reg::r0, node(offsetof(bpft_cls_node, base))});
    p_.emit(Alu{AluOp::add, Width::w32, Reg::r3, Reg::r2});
    p_.emit(Store{Size::u32, Reg::r10, -4, Reg::r3});
    p_.emit(Goto{walk});

    p_.label(leaf);
    p_.emit(Load{Size::u32, false, Reg::r1, Reg::r0, node(offsetof(bpft_cls_node, base))});
    p_.emit(Store{Size::u32, Reg::r10, -32, Reg::r1});
    p_.emit(Load{Size::u32, false, Reg::r1, Reg::r0, node(offsetof(bpft_cls_node, count))});
    p_.emit(Store{Size::u32, Reg::r10, -40, Reg::r1});
    p_.emit(Mov{Width::w64, Reg::r1, 0});
    p_.emit(Store{Size::u64, Reg::r10, -24, Reg::r1});
    p_.label(refs);
    p_.emit(Load{Size::u64, false, Reg::r1, Reg::r10, -24});
    p_.emit(Jump{JmpOp::ge, Width::w64, Reg::r1, BPFT_CLS_LEAF_MAX, next});
    p_.emit(Load{Size::u32, false, Reg::r2, Reg::r10, -40});
    p_.emit(Jump{JmpOp::ge, Width::w64, Reg::r1, Reg::r2, next});
    p_.emit(Load{Size::u32, false, Reg::r2, Reg::r10, -32});
    p_.emit(Alu{AluOp::add, Width::w32, Reg::r2, Reg::r1});  // the reference's position
    p_.emit(Alu{AluOp::add, Width::w64, Reg::r1, 1});
    p_.emit(Store{Size::u64, Reg::r10, -24, Reg::r1});
    p_.emit(Mov{Width::w32, Reg::r3, Reg::r2});
    p_.emit(Alu{AluOp::and_, Width::w32, Reg::r3, BPFT_CLS_REFS - 1});
    p_.emit(Store{Size::u32, Reg::r10, -48, Reg::r3});
    p_.emit(Alu{AluOp::rsh, Width::w32, Reg::r2, 2});  // / BPFT_CLS_REFS
    p_.emit(Store{Size::u32, Reg::r10, -4, Reg::r2});
    lookup(kDirectClsLeavesMap);
    p_.emit(Load{Size::u32, false, Reg::r1, Reg::r10, -48});
    p_.emit(Alu{AluOp::and_, Width::w64, Reg::r1, BPFT_CLS_REFS - 1});
    p_.emit(Alu{AluOp::lsh, Width::w64, Reg::r1, 2});
    p_.emit(Alu{AluOp::add, Width::w64, Reg::r0, Reg::r1});
    p_.emit(Load{Size::u32, false, Reg::r1, Reg::r0, 0});
    // rules are in the chain's order: nothing from here on comes before the one found
    p_.emit(Jump{JmpOp::ge, Width::w32, Reg::r1, Reg::r7, next});
    p_.emit(Store{Size::u32, Reg::r10, -56, Reg::r1});
    p_.emit(Store{Size::u32, Reg::r10, -4, Reg::r1});
    lookup(kDirectClsRulesMap);
    auto rule = [&](Reg dst, Size size, size_t off) {
        p_.emit(Load{size, false, dst, Reg::r0, static_cast<int16_t>(off)});
    };
    for (auto [field, addr, mask] :
         {std::tuple{0, offsetof(bpft_cls_rule, src), offsetof(bpft_cls_rule, src_mask)},
          {1, offsetof(bpft_cls_rule, dst), offsetof(bpft_cls_rule, dst_mask)}}) {
        p_.emit(classifier_address(Reg::r1, field));
        rule(Reg::r2, Size::u32, mask);
        p_.emit(Alu{AluOp::and_, Width::w32, Reg::r1, Reg::r2});
        rule(Reg::r2, Size::u32, addr);
        p_.emit(Jump{JmpOp::ne, Width::w32, Reg::r1, Reg::r2, refs});
    }
    auto in_range = [&](const char* field, Size size, size_t lo, size_t hi) {
        p_.emit(load(Reg::r1, field));
        rule(Reg::r2, size, lo);
        p_.emit(Jump{JmpOp::lt, Width::w32, Reg::r1, Reg::r2, refs});
        rule(Reg::r2, size, hi);
        p_.emit(Jump{JmpOp::gt, Width::w32, Reg::r1, Reg::r2, refs});
    };
    in_range("proto", Size::u8, offsetof(bpft_cls_rule, proto_lo), offsetof(bpft_cls_rule, proto_hi));
    // a header too short for the rule's ports: BPFT_SHORT_HEADER with the rule's gid
    p_.emit(load(Reg::r1, "l4_len"));
    rule(Reg::r2, Size::u8, offsetof(bpft_cls_rule, l4hdr));
    p_.emit(Jump{JmpOp::ge, Width::w32, Reg::r1, Reg::r2, ports});
    p_.emit(Load{Size::u32, false, Reg::r7, Reg::r10, -56});
    rule(Reg::r8, Size::u32, offsetof(bpft_cls_rule, verdict));
    p_.emit(Alu{AluOp::and_, Width::w32, Reg::r8, 0xffffff});
    p_.emit(Alu{AluOp::or_, Width::w32, Reg::r8, verdict(short_header_, 0)});
    p_.emit(Goto{next});
    p_.label(ports);
    in_range("sport", Size::u16, offsetof(bpft_cls_rule, sport_lo), offsetof(bpft_cls_rule, sport_hi));
    in_range("dport", Size::u16, offsetof(bpft_cls_rule, dport_lo), offsetof(bpft_cls_rule, dport_hi));
    p_.emit(Load{Size::u32, false, Reg::r7, Reg::r10, -56});
    rule(Reg::r8, Size::u32, offsetof(bpft_cls_rule, verdict));
    p_.label(next);
}

// One rule (chain_emitter.cpp: emit_rule): each match in order hands over, hotdrops or jumps to the next
// rule; then the counter and the target. What a match decides is emit_match's (match_emitters.cpp): a match
// only the kernel decides hands the packet over once the matches before it matched.
bool DirectEmitter::emit_rule(const ir::Table& t, const ir::Chain& c, int index) {
    const ir::Rule& r = c.rules[index];
    int gid = layout_.gid(t.name, c.name, index);
    p_.line(r.loc, "-A " + c.name + " " + ir::rule_spec(r));
    std::string next = label("next"), kernel = label("kernel"), hotdrop = label("hotdrop");
    rule_next_ = next, rule_kernel_ = kernel, rule_hotdrop_ = hotdrop;
    bool before_ct = compiler::ct_position(t) == compiler::CtPosition::before;
    direct::CondEmitter conds(p_, next);
    bool handed_over = false;
    for (size_t m = 0; m < r.matches.size() && !handed_over; ++m) {
        SourceLoc loc = m < r.match_locs.size() ? r.match_locs[m] : r.loc;
        MatchContext ctx{hook_,
                         t.name,
                         before_ct,
                         layout_,
                         gid,
                         static_cast<int>(m),
                         loc,
                         diags_,
                         needs_,
                         program_,
                         !std::holds_alternative<ir::LogTarget>(r.target) &&
                             !std::holds_alternative<ir::NoTarget>(r.target)};
        std::optional<MatchCode> code = emit_match(r.matches[m], ctx);
        if (!code) return false;
        if (!code->kernel_why.empty()) {
            ret(verdict(BPFT_KERNEL, gid));
            handed_over = true;
            break;
        }
        std::optional<direct::DirectMatch> d = direct::direct_match(
            r.matches[m], {scratch_, before_ct, layout_, gid, static_cast<int>(m), program_});
        if (!d) {
            diags_.error(loc, "this match (" +
                                  ir::rule_spec(ir::Rule{loc, {r.matches[m]}, {loc}, {}, {}, {}}) +
                                  ") is not supported by the direct back end yet");
            return false;
        }
        conds.jump_if(d->kernel_if, true, kernel);
        conds.jump_if(d->hotdrop_if, true, hotdrop);
        conds.jump_if(d->cond, false, next);
    }
    if (!handed_over) {
        count(gid);
        std::visit([&](const auto& x) { target(x, t, gid); }, r.target);
        p_.emit(Goto{next});
    }
    p_.label(kernel);
    ret(verdict(BPFT_KERNEL, gid));
    p_.label(hotdrop);
    ret(verdict(short_header_, gid));
    p_.label(next);
    return true;
}

// A verdict map (target_emitter.cpp): after the rule is counted, its key's prerequisites (the rule's kernel,
// short-header and next labels), the lookup (not in the map: the next rule), then the element's verdict: a
// binary search over the verdict indices in r1, each leaf emitting its verdict as a rule's target.
void DirectEmitter::target(const ir::VmapTarget& x, const ir::Table& t, int gid) {
    const ir::NftSet* set = program_.find_nft_set(x.map);
    direct::NftLookup l =
        direct::nft_lookup(x.key, set && set->lpm,
                           static_cast<uint32_t>(kDirectFirstSetMap + layout_.set_index(x.map)), scratch_);
    for (const ir::KeyPart& k : x.key)
        needs_.ifname |= k.field == ir::KeyField::iifname || k.field == ir::KeyField::oifname;
    std::string next = rule_next_;
    direct::CondEmitter conds(p_, label("vmap"));
    conds.jump_if(l.checks.kernel_if, true, rule_kernel_);
    conds.jump_if(l.checks.hotdrop_if, true, rule_hotdrop_);
    conds.jump_if(l.checks.cond, false, next);
    conds.map_lookup(l.lookup);
    p_.emit(Jump{JmpOp::eq, Width::w64, Reg::r0, 0, next});
    p_.emit(Load{Size::u32, false, Reg::r1, Reg::r0, 0});
    dispatch(x, t, gid, 0, x.verdicts.size());
    p_.emit(Goto{next});  // an index no verdict has
}

// Verdicts [lo, hi) for the index in r1; each verdict's code ends at the rule's next label or leaves.
void DirectEmitter::dispatch(const ir::VmapTarget& x, const ir::Table& t, int gid, size_t lo, size_t hi) {
    if (hi - lo <= 4) {
        for (size_t i = lo; i < hi; ++i) {
            std::string other = label("vmap_other");
            p_.emit(Jump{JmpOp::ne, Width::w32, Reg::r1, static_cast<int32_t>(i), other});
            std::visit([&](const auto& y) { target(y, t, gid); }, ir::vmap_target(x.verdicts[i]));
            p_.emit(Goto{rule_next_});
            p_.label(other);
        }
        p_.emit(Goto{rule_next_});
        return;
    }
    size_t mid = lo + (hi - lo) / 2;
    std::string upper = label("vmap_upper");
    p_.emit(Jump{JmpOp::ge, Width::w32, Reg::r1, static_cast<int32_t>(mid), upper});
    dispatch(x, t, gid, lo, mid);
    p_.label(upper);
    dispatch(x, t, gid, mid, hi);
}

}  // namespace

const char* exit_point(Hook hook) {
    switch (hook) {
        case Hook::xdp:
            return "bpftables_xdp_exit";
        case Hook::tc_ingress:
            return "bpftables_tc_ingress_exit";
        case Hook::tc_egress:
            return "bpftables_tc_egress_exit";
    }
    return "";
}

const bpf::EmbeddedObject& entry_object(Hook hook, ir::Family family, bool ct) {
    return bpf::entry_objects[4 * static_cast<int>(hook) + (family == ir::Family::ipv6 ? 2 : 0) +
                              (ct ? 1 : 0)];
}

const bpf::EmbeddedObject& exit_object(Hook hook, ir::Family family) {
    return bpf::exit_objects[2 * static_cast<int>(hook) + (family == ir::Family::ipv6 ? 1 : 0)];
}

std::optional<DirectProgram> emit_direct(const ir::Program& program, Hook hook, Diagnostics& diags,
                                         const Options& options) {
    std::string error;
    const ScratchLayout* scratch = scratch_layout(error);
    if (!scratch) {
        diags.error({}, "internal error: " + error);
        return std::nullopt;
    }
    return DirectEmitter(program, hook, diags, options, *scratch).run();
}

}  // namespace bpftables::codegen
