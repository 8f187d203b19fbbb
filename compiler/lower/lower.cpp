#include "compiler/lower/lower.h"

#include <fmt/format.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/CFG.h>
#include <llvm/IR/ConstantFolder.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <functional>
#include <optional>
#include <unordered_map>

#include "compiler/check/checker.h"

#include "compiler/lower/abi.h"
#include "compiler/model/record.h"

namespace orderflow::lower {

using check::Builtin;
using check::Expr;
using check::ExprKind;
using model::ArithForm;
using model::CompareForm;
using model::CompareOp;
using model::Type;
using model::TypeKind;
using model::Value;

namespace {

// A construct this lowering does not compile; its policy stays interpreted.
struct Unsupported {
  std::string why;
};

// ------------------------------------------------------------ C types to LLVM types
// Helper prototypes are derived from the C++ declarations in abi.h, so the
// two can never disagree.

template <typename T>
llvm::Type* llvm_type(llvm::LLVMContext& c) {
  if constexpr (std::is_void_v<T>) return llvm::Type::getVoidTy(c);
  else if constexpr (std::is_pointer_v<T>) return llvm::PointerType::getUnqual(c);
  else if constexpr (std::is_same_v<T, double>) return llvm::Type::getDoubleTy(c);
  else if constexpr (std::is_integral_v<T>) return llvm::Type::getIntNTy(c, sizeof(T) * 8);
  else static_assert(sizeof(T) == 0, "no LLVM type for this helper argument");
}

template <typename R, typename... A>
llvm::FunctionType* function_type(R (*)(A...), llvm::LLVMContext& c) {
  return llvm::FunctionType::get(llvm_type<R>(c), {llvm_type<A>(c)...}, false);
}

// An expression's value in registers: `present` (i1; null when it can never
// be missing) and one or two parts, by type:
//   bool i1 | int, decimal, duration, time, enum i64 | float, distance double
//   money i64 amount + i32 currency | string, list ptr + i64 | record ptr
struct LV {
  llvm::Value* present = nullptr;
  llvm::Value* a = nullptr;
  llvm::Value* b = nullptr;
};

// A list being walked: its elements, or one field of each record element.
struct Walk {
  LV list;                  // a: element data, b: count
  Type element;             // the element's type (of the projected field, when projecting)
  uint32_t stride = 8;      // bytes between elements
  int project_offset = -1;  // projecting: the field's offset in each record element
  bool nodes = false;       // the inventory's nodes
};

// Folds constants, and the identities lowering makes all the time (a
// presence known to be true and-ed into a condition): the baseline tier does
// not optimise, and its compile time grows with every instruction. It looks
// at nothing but the operands at hand: loops are built with phis whose
// incoming values come later, which a simplifier looking through them (as
// InstSimplifyFolder does) would fold wrongly.
class LocalFolder final : public llvm::IRBuilderFolder {
 public:
  llvm::Value* FoldBinOp(llvm::Instruction::BinaryOps op, llvm::Value* l, llvm::Value* r) const override {
    if (llvm::Value* v = constants_.FoldBinOp(op, l, r)) return v;
    auto* cl = llvm::dyn_cast<llvm::ConstantInt>(l);
    auto* cr = llvm::dyn_cast<llvm::ConstantInt>(r);
    if (!cl && !cr) return nullptr;
    llvm::Value* other = cl ? r : l;
    llvm::ConstantInt* c = cl ? cl : cr;
    switch (op) {
      case llvm::Instruction::And: return c->isZero() ? c : c->isMinusOne() ? other : nullptr;
      case llvm::Instruction::Or: return c->isZero() ? other : c->isMinusOne() ? c : nullptr;
      case llvm::Instruction::Xor:
      case llvm::Instruction::Add: return c->isZero() ? other : nullptr;
      default: return nullptr;
    }
  }
  llvm::Value* FoldExactBinOp(llvm::Instruction::BinaryOps op, llvm::Value* l, llvm::Value* r, bool exact) const override {
    return constants_.FoldExactBinOp(op, l, r, exact);
  }
  llvm::Value* FoldNoWrapBinOp(llvm::Instruction::BinaryOps op, llvm::Value* l, llvm::Value* r, bool nuw,
                               bool nsw) const override {
    return constants_.FoldNoWrapBinOp(op, l, r, nuw, nsw);
  }
  llvm::Value* FoldBinOpFMF(llvm::Instruction::BinaryOps op, llvm::Value* l, llvm::Value* r,
                            llvm::FastMathFlags fmf) const override {
    return constants_.FoldBinOpFMF(op, l, r, fmf);
  }
  llvm::Value* FoldUnOpFMF(llvm::Instruction::UnaryOps op, llvm::Value* v, llvm::FastMathFlags fmf) const override {
    return constants_.FoldUnOpFMF(op, v, fmf);
  }
  llvm::Value* FoldCmp(llvm::CmpInst::Predicate p, llvm::Value* l, llvm::Value* r) const override {
    return constants_.FoldCmp(p, l, r);
  }
  llvm::Value* FoldGEP(llvm::Type* t, llvm::Value* p, llvm::ArrayRef<llvm::Value*> indices,
                       llvm::GEPNoWrapFlags nw) const override {
    return constants_.FoldGEP(t, p, indices, nw);
  }
  llvm::Value* FoldSelect(llvm::Value* c, llvm::Value* t, llvm::Value* f) const override {
    if (auto* known = llvm::dyn_cast<llvm::ConstantInt>(c)) return known->isOne() ? t : f;
    if (t == f) return t;
    return constants_.FoldSelect(c, t, f);
  }
  llvm::Value* FoldExtractValue(llvm::Value* agg, llvm::ArrayRef<unsigned> indices) const override {
    return constants_.FoldExtractValue(agg, indices);
  }
  llvm::Value* FoldInsertValue(llvm::Value* agg, llvm::Value* v, llvm::ArrayRef<unsigned> indices) const override {
    return constants_.FoldInsertValue(agg, v, indices);
  }
  llvm::Value* FoldExtractElement(llvm::Value* vec, llvm::Value* i) const override {
    return constants_.FoldExtractElement(vec, i);
  }
  llvm::Value* FoldInsertElement(llvm::Value* vec, llvm::Value* v, llvm::Value* i) const override {
    return constants_.FoldInsertElement(vec, v, i);
  }
  llvm::Value* FoldShuffleVector(llvm::Value* a, llvm::Value* b, llvm::ArrayRef<int> mask) const override {
    return constants_.FoldShuffleVector(a, b, mask);
  }
  llvm::Value* FoldCast(llvm::Instruction::CastOps op, llvm::Value* v, llvm::Type* to) const override {
    return constants_.FoldCast(op, v, to);
  }
  llvm::Value* FoldBinaryIntrinsic(llvm::Intrinsic::ID id, llvm::Value* l, llvm::Value* r, llvm::Type* t,
                                   llvm::Instruction* fmf_source) const override {
    return constants_.FoldBinaryIntrinsic(id, l, r, t, fmf_source);
  }
  llvm::Value* CreatePointerCast(llvm::Constant* c, llvm::Type* to) const override {
    return constants_.CreatePointerCast(c, to);
  }
  llvm::Value* CreatePointerBitCastOrAddrSpaceCast(llvm::Constant* c, llvm::Type* to) const override {
    return constants_.CreatePointerBitCastOrAddrSpaceCast(c, to);
  }

 private:
  llvm::ConstantFolder constants_;
};

class FunctionLowerer {
 public:
  FunctionLowerer(const check::CheckedBundle& b, llvm::Module& m, std::vector<Atom>& atoms, const check::Policy& p,
                  llvm::GlobalVariable* zero_record, const LowerOptions& options)
      : b_(b),
        m_(m),
        c_(m.getContext()),
        B_(c_, LocalFolder()),
        atoms_(atoms),
        policy_(p),
        zero_record_(zero_record),
        explain_(options.explain),
        record_rules_(options.record_rules || options.explain) {
    i1_ = llvm::Type::getInt1Ty(c_);
    i8_ = llvm::Type::getInt8Ty(c_);
    i32_ = llvm::Type::getInt32Ty(c_);
    i64_ = llvm::Type::getInt64Ty(c_);
    f64_ = llvm::Type::getDoubleTy(c_);
    ptr_ = llvm::PointerType::getUnqual(c_);
    raw_ = llvm::StructType::get(c_, {i64_, f64_, ptr_, i64_, i32_, i8_});
    static_assert(sizeof(RawValue) == 40, "RawValue layout changed: update raw_");
  }

  // Lowers the policy into `name`. A long policy is split into parts of at
  // most kRulesPerPart rules, each a function of its own that returns
  // whether the policy is done: code generation time grows faster than
  // linearly with a function's size.
  llvm::Function* lower(const std::string& name) {
    size_t n = policy_.rules.size();
    if (n <= kRulesPerPart) {
      begin_function(name, false);
      lower_rules(0, n, true);
      return finish_function();
    }
    std::vector<llvm::Function*> parts;
    for (size_t start = 0; start < n; start += kRulesPerPart) {
      size_t end = std::min(n, start + kRulesPerPart);
      begin_function(fmt::format("{}.part{}", name, parts.size()), true);
      lower_rules(start, end, end == n);
      parts.push_back(finish_function());
    }
    begin_function(name, false);
    bool escalation = policy_.kind == check::PolicyKind::Escalation;
    for (llvm::Function* part : parts) {
      llvm::Value* done = B_.CreateCall(part, {frame_});
      if (escalation) continue;
      llvm::BasicBlock* stop = block("part.done");
      llvm::BasicBlock* next = block("part.next");
      B_.CreateCondBr(B_.CreateICmpNE(done, B_.getInt32(0)), stop, next);
      B_.SetInsertPoint(stop);
      B_.CreateRetVoid();
      B_.SetInsertPoint(next);
    }
    B_.CreateRetVoid();
    return finish_function();
  }

 private:
  // ---------------------------------------------------------- frame and helpers

  llvm::Value* frame_field(size_t offset) { return B_.CreateConstInBoundsGEP1_64(i8_, frame_, offset); }
  llvm::Value* load_frame(llvm::Type* t, size_t offset) {
    llvm::LoadInst* load = B_.CreateLoad(t, frame_field(offset));
    // The inputs are set before the call and never written during it.
    if (offset < offsetof(JitFrame, deciding_rule))
      load->setMetadata(llvm::LLVMContext::MD_invariant_load, llvm::MDNode::get(c_, {}));
    return load;
  }
  void store_frame(llvm::Value* v, size_t offset) { B_.CreateStore(v, frame_field(offset)); }

  template <typename F>
  llvm::FunctionCallee helper(const char* name, F* fn) {
    return m_.getOrInsertFunction(name, function_type(fn, c_));
  }
#define ORDERFLOW_HELPER_ACCESSOR(name, ret, ...) \
  llvm::FunctionCallee name##_fn() { return helper(#name, &::orderflow::lower::name); }
  ORDERFLOW_JIT_HELPERS(ORDERFLOW_HELPER_ACCESSOR)
#undef ORDERFLOW_HELPER_ACCESSOR

  llvm::FunctionCallee memcmp_fn() {
    return m_.getOrInsertFunction("memcmp", llvm::FunctionType::get(i32_, {ptr_, ptr_, i64_}, false));
  }

  // An alloca in the entry block, so that it is promoted to registers.
  llvm::AllocaInst* entry_alloca(llvm::Type* t, unsigned count = 1) {
    llvm::IRBuilder<> e(entry_, entry_->begin());
    return e.CreateAlloca(t, count == 1 ? nullptr : e.getInt32(count));
  }

  llvm::BasicBlock* block(const char* name) { return llvm::BasicBlock::Create(c_, name, fn_); }

  // Continues only when `ok`; otherwise the current rule fails.
  void require(llvm::Value* ok) {
    llvm::BasicBlock* cont = block("ok");
    B_.CreateCondBr(ok, cont, error_block_);
    B_.SetInsertPoint(cont);
  }

  void fail(FailMessage message) {
    B_.CreateCall(of_fail_fn(), {frame_, B_.getInt32(message)});
    B_.CreateBr(error_block_);
    B_.SetInsertPoint(block("unreachable"));
  }

  llvm::Value* is_present(const LV& v) { return v.present ? v.present : B_.getTrue(); }
  llvm::Value* both_present(const LV& x, const LV& y) {
    if (!x.present) return is_present(y);
    if (!y.present) return x.present;
    return B_.CreateAnd(x.present, y.present);
  }

  // ---------------------------------------------------------- types and values

  llvm::Type* part_a(Type t) {
    switch (t.kind) {
      case TypeKind::Bool: return i1_;
      case TypeKind::Float:
      case TypeKind::Distance: return f64_;
      case TypeKind::String:
      case TypeKind::List:
      case TypeKind::Set:
      case TypeKind::Record: return ptr_;
      case TypeKind::Error: throw Unsupported{"an expression without a type"};
      default: return i64_;
    }
  }
  llvm::Type* part_b(Type t) {
    switch (t.kind) {
      case TypeKind::Money: return i32_;
      case TypeKind::String:
      case TypeKind::List:
      case TypeKind::Set: return i64_;
      default: return nullptr;
    }
  }

  LV missing(Type t) {
    LV v;
    v.present = B_.getFalse();
    v.a = llvm::Constant::getNullValue(part_a(t));
    if (llvm::Type* pb = part_b(t)) v.b = llvm::Constant::getNullValue(pb);
    if (t.kind == TypeKind::Record) v.a = zero_record_;
    return v;
  }

  llvm::Value* string_constant(std::string_view s) {
    auto it = strings_.find(std::string(s));
    if (it != strings_.end()) return it->second;
    llvm::Constant* data = llvm::ConstantDataArray::getString(c_, llvm::StringRef(s.data(), s.size()), false);
    auto* g = new llvm::GlobalVariable(m_, data->getType(), true, llvm::GlobalValue::PrivateLinkage, data, "str");
    g->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
    strings_[std::string(s)] = g;
    return g;
  }

  LV constant(const Value& v, Type t) {
    LV out;
    switch (t.kind) {
      case TypeKind::Bool: out.a = B_.getInt1(v.b); break;
      case TypeKind::Float:
      case TypeKind::Distance: out.a = llvm::ConstantFP::get(f64_, v.f); break;
      case TypeKind::Money:
        out.a = B_.getInt64(v.i);
        out.b = B_.getInt32(v.aux);
        break;
      case TypeKind::String:
        out.a = string_constant(v.as_string());
        out.b = B_.getInt64(v.size);
        break;
      case TypeKind::Int:
      case TypeKind::Decimal:
      case TypeKind::Duration:
      case TypeKind::Time:
      case TypeKind::Enum: out.a = B_.getInt64(v.i); break;
      default: throw Unsupported{"a constant of type " + b_.schema.type_name(t)};
    }
    if (v.is_missing()) return missing(t);
    return out;
  }

  // Reads a slot of the record layout (schema.h).
  // Reads a slot. `image`: it is part of a record image (the order, a line,
  // a node, a table row), which nothing changes while a policy runs; saying
  // so lets the optimiser keep a field read once across the frame's writes
  // and the helpers' calls.
  LV load_slot(Type t, llvm::Value* slot, bool image = false) {
    LV out = load_slot_plain(t, slot);
    if (image)
      for (llvm::Value* v : {out.a, out.b})
        if (v) mark_invariant(v);
    return out;
  }

  void mark_invariant(llvm::Value* v) {
    if (auto* load = llvm::dyn_cast<llvm::LoadInst>(v)) {
      load->setMetadata(llvm::LLVMContext::MD_invariant_load, llvm::MDNode::get(c_, {}));
      return;
    }
    // Through the selects and masks a text or a flag is read with.
    if (auto* inst = llvm::dyn_cast<llvm::Instruction>(v))
      if (llvm::isa<llvm::SelectInst>(inst) || llvm::isa<llvm::BinaryOperator>(inst) || llvm::isa<llvm::ICmpInst>(inst))
        for (llvm::Value* operand : inst->operands())
          if (llvm::isa<llvm::LoadInst>(operand) || llvm::isa<llvm::BinaryOperator>(operand) ||
              llvm::isa<llvm::ICmpInst>(operand))
            mark_invariant(operand);
  }

  LV load_slot_plain(Type t, llvm::Value* slot) {
    LV out;
    switch (t.kind) {
      case TypeKind::Bool: out.a = B_.CreateICmpNE(B_.CreateLoad(i8_, slot), B_.getInt8(0)); break;
      case TypeKind::Float:
      case TypeKind::Distance: out.a = B_.CreateLoad(f64_, slot); break;
      case TypeKind::Money:
        out.a = B_.CreateLoad(i64_, slot);
        out.b = B_.CreateLoad(i32_, B_.CreateConstInBoundsGEP1_64(i8_, slot, 8));
        break;
      case TypeKind::String: {
        // Short texts live in the slot itself (model::string_slot).
        llvm::Value* length = B_.CreateLoad(i64_, B_.CreateConstInBoundsGEP1_64(i8_, slot, 8));
        llvm::Value* in_slot = B_.CreateICmpSLT(length, B_.getInt64(0));
        out.a = B_.CreateSelect(in_slot, slot, B_.CreateLoad(ptr_, slot));
        out.b = B_.CreateAnd(length, B_.getInt64(static_cast<int64_t>(~model::kInlineString)));
        break;
      }
      case TypeKind::List:
      case TypeKind::Set:
        out.a = B_.CreateLoad(ptr_, slot);
        out.b = B_.CreateLoad(i64_, B_.CreateConstInBoundsGEP1_64(i8_, slot, 8));
        break;
      case TypeKind::Record: out.a = slot; break;
      case TypeKind::Error: throw Unsupported{"a field without a type"};
      default: out.a = B_.CreateLoad(i64_, slot); break;
    }
    return out;
  }

  // A value into a slot of its type: what load_slot_plain reads. A text is
  // written as a pointer to its characters (where they already are: the
  // order's image or scratch memory, both alive for the evaluation).
  void store_slot(Type t, llvm::Value* slot, const LV& v) {
    switch (t.kind) {
      case TypeKind::Bool: B_.CreateStore(B_.CreateZExt(v.a, i8_), slot); break;
      case TypeKind::Money:  // amount, currency
      case TypeKind::String:  // pointer, length
        B_.CreateStore(v.a, slot);
        B_.CreateStore(v.b, B_.CreateConstInBoundsGEP1_64(i8_, slot, 8));
        break;
      case TypeKind::Record:
        B_.CreateMemCpy(slot, llvm::MaybeAlign(8), v.a, llvm::MaybeAlign(8), b_.schema.slot_size(t));
        break;
      case TypeKind::List:
      case TypeKind::Set:
      case TypeKind::Error: throw Unsupported{"a list of lists"};
      default: B_.CreateStore(v.a, slot); break;  // whole numbers, floats, times, enums
    }
  }

  // A value for a helper: fills a RawValue.
  void store_raw(llvm::Value* raw, const LV& v, Type t) {
    auto field = [&](unsigned i) { return B_.CreateStructGEP(raw_, raw, i); };
    B_.CreateStore(B_.CreateZExt(is_present(v), i8_), field(5));
    switch (t.kind) {
      case TypeKind::Bool: B_.CreateStore(B_.CreateZExt(v.a, i64_), field(0)); break;
      case TypeKind::Float:
      case TypeKind::Distance: B_.CreateStore(v.a, field(1)); break;
      case TypeKind::Money:
        B_.CreateStore(v.a, field(0));
        B_.CreateStore(v.b, field(4));
        break;
      case TypeKind::String:
      case TypeKind::List:
      case TypeKind::Set:
        B_.CreateStore(v.a, field(2));
        B_.CreateStore(v.b, field(3));
        break;
      case TypeKind::Record: B_.CreateStore(v.a, field(2)); break;
      default: B_.CreateStore(v.a, field(0)); break;
    }
  }

  LV load_raw(llvm::Value* raw, Type t) {
    auto field = [&](unsigned i) { return B_.CreateStructGEP(raw_, raw, i); };
    LV v;
    v.present = B_.CreateICmpNE(B_.CreateLoad(i8_, field(5)), B_.getInt8(0));
    switch (t.kind) {
      case TypeKind::Bool: v.a = B_.CreateICmpNE(B_.CreateLoad(i64_, field(0)), B_.getInt64(0)); break;
      case TypeKind::Float:
      case TypeKind::Distance: v.a = B_.CreateLoad(f64_, field(1)); break;
      case TypeKind::Money:
        v.a = B_.CreateLoad(i64_, field(0));
        v.b = B_.CreateLoad(i32_, field(4));
        break;
      case TypeKind::String:
      case TypeKind::List:
      case TypeKind::Set:
        v.a = B_.CreateLoad(ptr_, field(2));
        v.b = B_.CreateLoad(i64_, field(3));
        break;
      case TypeKind::Record:
        v.a = B_.CreateSelect(v.present, B_.CreateLoad(ptr_, field(2)), zero_record_);
        break;
      default: v.a = B_.CreateLoad(i64_, field(0)); break;
    }
    return v;
  }

  llvm::AllocaInst* raws(unsigned count) { return entry_alloca(raw_, count); }
  // Room for a helper call's arguments and results, filled just before the
  // call and read just after: shared by every call of the function, as the
  // frame (and the baseline tier's work) would grow with each alloca.
  llvm::AllocaInst* scratch_raws(unsigned count) {
    llvm::AllocaInst*& a = scratch_raws_[count];
    if (!a) a = raws(count);
    return a;
  }
  llvm::AllocaInst* scratch_flag() {
    if (!scratch_flag_) scratch_flag_ = entry_alloca(i8_);
    return scratch_flag_;
  }
  llvm::Value* raw_at(llvm::Value* array, unsigned i) { return B_.CreateConstInBoundsGEP1_32(raw_, array, i); }

  // Merges values arriving from several blocks; call at the top of the merge block.
  LV phi(Type t, const std::vector<std::pair<llvm::BasicBlock*, LV>>& in) {
    LV out;
    bool any_present = false;
    for (const auto& [bb, v] : in) any_present |= v.present != nullptr;
    auto make = [&](llvm::Type* ty, auto part) -> llvm::Value* {
      // The same value from every block (a presence that is always true)
      // needs no phi.
      bool same = true;
      for (const auto& [bb, v] : in) same &= part(v) == part(in.front().second);
      if (same) return part(in.front().second);
      llvm::PHINode* p = B_.CreatePHI(ty, static_cast<unsigned>(in.size()));
      for (const auto& [bb, v] : in) p->addIncoming(part(v), bb);
      return p;
    };
    if (any_present) out.present = make(i1_, [&](const LV& v) { return v.present ? v.present : B_.getTrue(); });
    out.a = make(part_a(t), [&](const LV& v) { return v.a; });
    if (llvm::Type* pb = part_b(t)) out.b = make(pb, [&](const LV& v) { return v.b; });
    return out;
  }

  // ---------------------------------------------------------- facts

  int atom(Atom a) {
    atoms_.push_back(std::move(a));
    return static_cast<int>(atoms_.size() - 1);
  }

  // Emits code that runs only while explaining (the frame asks for values):
  // the fast path pays one predictable branch.
  void when_explaining(const char* name, const std::function<void()>& emit) {
    llvm::BasicBlock* yes = block(name);
    llvm::BasicBlock* done = block((std::string(name) + ".done").c_str());
    B_.CreateCondBr(trace_values_, yes, done);
    B_.SetInsertPoint(yes);
    emit();
    B_.CreateBr(done);
    B_.SetInsertPoint(done);
  }

  // Reports an atom's outcome when explaining (and facts are wanted here).
  void emit_fact(const Expr& e, llvm::Value* result, const std::vector<std::pair<const Expr*, LV>>& operands) {
    if (!facts_ || !explain_) return;
    Atom a;
    a.kind = Atom::Kind::Operands;
    a.expr = &e;
    for (const auto& [x, v] : operands) a.operands.push_back(x);
    int id = atom(std::move(a));
    when_explaining("fact", [&] {
      llvm::Value* array = scratch_raws(std::max<unsigned>(1, static_cast<unsigned>(operands.size())));
      for (unsigned i = 0; i < operands.size(); ++i)
        store_raw(raw_at(array, i), operands[i].second, operands[i].first->type);
      B_.CreateCall(of_fact_fn(), {frame_, B_.getInt32(id), B_.CreateZExt(result, i8_), array});
    });
  }

  // ---------------------------------------------------------- expressions

  // A condition: like lower(), and a plain true/false value in it (a field,
  // a table's answer) is a fact of its own.
  LV condition(const Expr& e) {
    LV v = lower(e);
    if (facts_ && explain_ && check::is_leaf_fact(e)) {
      Atom a;
      a.kind = Atom::Kind::Leaf;
      a.expr = &e;
      int id = atom(std::move(a));
      when_explaining("leaf.fact", [&] {
        llvm::Value* array = scratch_raws(1);
        store_raw(raw_at(array, 0), v, e.type);
        B_.CreateCall(of_fact_fn(),
                      {frame_, B_.getInt32(id), B_.CreateZExt(B_.CreateAnd(is_present(v), v.a), i8_), array});
      });
    }
    return v;
  }

  // Whether a condition holds: present and true.
  llvm::Value* holds(const Expr& e) {
    LV v = condition(e);
    return v.present ? B_.CreateAnd(v.present, v.a) : v.a;
  }

  LV lower(const Expr& e) {
    if (memo_ && memoizable(e)) return memoized(e);
    return lower_uncached(e);
  }

  LV lower_uncached(const Expr& e) {
    switch (e.kind) {
      case ExprKind::Literal:
      case ExprKind::Const: return constant(e.value, e.type);
      case ExprKind::Var: {
        if (e.index < 0 || static_cast<size_t>(e.index) >= slots_.size() || !slots_[e.index])
          throw Unsupported{"a variable outside its scope"};
        return *slots_[e.index];
      }
      case ExprKind::Self:
        if (!self_) throw Unsupported{"`self` outside a computed default"};
        return *self_;
      case ExprKind::Now: return LV{nullptr, load_frame(i64_, offsetof(JitFrame, now)), nullptr};
      case ExprKind::Nodes: fail(kFailNodes); return missing(e.type);
      case ExprKind::Field: return field(e);
      case ExprKind::Project: throw Unsupported{"a projected list used as a value"};
      case ExprKind::Convert: return convert(e);
      case ExprKind::Negate: return negate(e);
      case ExprKind::Not: {
        LV v = condition(*e.args[0]);
        return LV{v.present, B_.CreateNot(v.a), nullptr};
      }
      case ExprKind::And:
      case ExprKind::Or: return logical(e);
      case ExprKind::Arith: return arith(e);
      case ExprKind::Compare: return compare(e);
      case ExprKind::Presence: {
        LV v = lower(*e.args[0]);
        llvm::Value* present = is_present(v);
        llvm::Value* result = e.negated ? B_.CreateNot(present) : present;
        emit_fact(e, result, {{e.args[0].get(), v}});
        return LV{nullptr, result, nullptr};
      }
      case ExprKind::InList: return in_list(e);
      case ExprKind::InData: {
        LV v = lower(*e.args[0]);
        llvm::Value* found = list_contains(b_.lists.at(e.index), e.index, v, e.args[0]->type);
        if (e.negated) found = B_.CreateNot(found);
        llvm::Value* result = B_.CreateAnd(is_present(v), found);
        emit_fact(e, result, {{e.args[0].get(), v}});
        return LV{nullptr, result, nullptr};
      }
      case ExprKind::InCollection: return in_collection(e);
      case ExprKind::Quantifier: return quantifier(e);
      case ExprKind::Comprehension: return comprehension(e);
      case ExprKind::Call: return call(e);
      case ExprKind::TableCall: return table_call(e);
      case ExprKind::Lookup: {
        LV key = lower(*e.args[0]);
        llvm::BasicBlock* look = block("lookup");
        llvm::BasicBlock* done = block("lookup.done");
        llvm::BasicBlock* from = B_.GetInsertBlock();
        B_.CreateCondBr(is_present(key), look, done);
        B_.SetInsertPoint(look);
        llvm::Value* row = B_.CreateCall(of_lookup_fn(), {frame_, B_.getInt32(e.index), key.a, key.b});
        llvm::BasicBlock* looked = B_.GetInsertBlock();
        B_.CreateBr(done);
        B_.SetInsertPoint(done);
        llvm::PHINode* p = B_.CreatePHI(ptr_, 2);
        p->addIncoming(llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(c_)), from);
        p->addIncoming(row, looked);
        llvm::Value* found = B_.CreateIsNotNull(p);
        return LV{found, B_.CreateSelect(found, p, zero_record_), nullptr};
      }
      case ExprKind::List: throw Unsupported{"a list value"};
    }
    throw Unsupported{"an unknown expression"};
  }

  // Membership in a data file's list. A short list (most are: countries,
  // prefixes) is compared inline against its values; a long one is hashed
  // by of_list_contains.
  llvm::Value* list_contains(const model::DataList& list, int index, const LV& v, Type t) {
    constexpr size_t kInlineUpTo = 16;
    if (list.values.size() > kInlineUpTo) {
      llvm::Value* raw = scratch_raws(1);
      store_raw(raw, v, t);
      return B_.CreateICmpNE(B_.CreateCall(of_list_contains_fn(), {frame_, B_.getInt32(index), raw}), B_.getInt8(0));
    }
    return present_and_any(v, list.values.size(), "list", [&](size_t i) {
      const Value& item = list.values[i];
      return t.kind == TypeKind::String ? strings_equal(v, constant(item, t)) : B_.CreateICmpEQ(v.a, B_.getInt64(item.i));
    });
  }

  // Whether `v` is there and one of `count` tests holds; the tests are
  // emitted in order and run until one does (false when `v` is missing).
  llvm::Value* present_and_any(const LV& v, size_t count, const std::string& name,
                               const std::function<llvm::Value*(size_t)>& test) {
    llvm::BasicBlock* from = B_.GetInsertBlock();
    llvm::BasicBlock* done = block((name + ".done").c_str());
    llvm::BasicBlock* scan = block((name + ".scan").c_str());
    B_.CreateCondBr(is_present(v), scan, done);
    std::vector<std::pair<llvm::BasicBlock*, llvm::Value*>> results = {{from, B_.getFalse()}};
    B_.SetInsertPoint(scan);
    for (size_t i = 0; i < count; ++i) {
      llvm::Value* holds = test(i);
      llvm::BasicBlock* here = B_.GetInsertBlock();
      llvm::BasicBlock* next = block((name + ".next").c_str());
      B_.CreateCondBr(holds, done, next);
      results.push_back({here, B_.getTrue()});
      B_.SetInsertPoint(next);
    }
    results.push_back({B_.GetInsertBlock(), B_.getFalse()});
    B_.CreateBr(done);
    B_.SetInsertPoint(done);
    llvm::PHINode* p = B_.CreatePHI(i1_, static_cast<unsigned>(results.size()));
    for (auto& [bb, r] : results) p->addIncoming(r, bb);
    return p;
  }

  // prefix(text, n): the bytes up to where the (n+1)th code point starts.
  LV prefix(const LV& text, const LV& count) {
    llvm::Value* n = B_.CreateSelect(B_.CreateICmpSGT(count.a, B_.getInt64(0)), count.a, B_.getInt64(0));
    llvm::BasicBlock* pre = B_.GetInsertBlock();
    llvm::BasicBlock* head = block("prefix.loop");
    llvm::BasicBlock* body = block("prefix.body");
    llvm::BasicBlock* start = block("prefix.start");
    llvm::BasicBlock* next = block("prefix.next");
    llvm::BasicBlock* done = block("prefix.done");
    B_.CreateBr(head);
    B_.SetInsertPoint(head);
    llvm::PHINode* i = B_.CreatePHI(i64_, 2);
    llvm::PHINode* seen = B_.CreatePHI(i64_, 2);
    i->addIncoming(B_.getInt64(0), pre);
    seen->addIncoming(B_.getInt64(0), pre);
    llvm::Value* length = B_.CreateSelect(both_present(text, count), text.b, B_.getInt64(0));
    B_.CreateCondBr(B_.CreateICmpSLT(i, length), body, done);
    B_.SetInsertPoint(body);
    llvm::Value* byte = B_.CreateLoad(i8_, B_.CreateInBoundsGEP(i8_, text.a, i));
    llvm::Value* is_start = B_.CreateICmpNE(B_.CreateAnd(byte, B_.getInt8(0xC0)), B_.getInt8(0x80));
    llvm::Value* counted = B_.CreateZExt(is_start, i64_);
    B_.CreateCondBr(B_.CreateAnd(is_start, B_.CreateICmpEQ(seen, n)), done, start);
    B_.SetInsertPoint(start);
    B_.CreateBr(next);
    B_.SetInsertPoint(next);
    i->addIncoming(B_.CreateAdd(i, B_.getInt64(1)), next);
    seen->addIncoming(B_.CreateAdd(seen, counted), next);
    B_.CreateBr(head);
    B_.SetInsertPoint(done);
    llvm::PHINode* cut = B_.CreatePHI(i64_, 2);
    cut->addIncoming(length, head);
    cut->addIncoming(i, body);
    return LV{both_present(text, count), text.a, cut};
  }

  // currency(money): its three letters, in this call's own stack bytes.
  LV currency(const LV& money) {
    llvm::AllocaInst* letters = entry_alloca(llvm::ArrayType::get(i8_, 3));
    for (int k = 0; k < 3; ++k) {
      llvm::Value* letter = B_.CreateTrunc(B_.CreateLShr(money.b, B_.getInt32(8 * (2 - k))), i8_);
      B_.CreateStore(letter, B_.CreateConstInBoundsGEP1_64(i8_, letters, k));
    }
    return LV{money.present, letters, B_.getInt64(3)};
  }

  // ---------------------------------------------------------- memos
  // Inside a route the same order-only expressions (order.centroid.lat,
  // sum(order.lines.quantity)) are read for every node. Each is computed
  // before the nodes are walked and kept: expressions are pure, so the value
  // is what evaluating it for every node gives. One that fails (an overflow,
  // a missing exchange rate) fails where the interpreter would, at the first
  // node that reads it: computed ahead, its failure is set aside and it is
  // computed again there. Conditions are never kept, so explain still lists
  // their facts.

  struct Memo {
    llvm::AllocaInst* done;
    llvm::AllocaInst* present;
    llvm::AllocaInst* a;
    llvm::AllocaInst* b;
  };

  bool memoizable(const Expr& e) {
    switch (e.kind) {
      case ExprKind::Literal:
      case ExprKind::Const:
      case ExprKind::Var:
      case ExprKind::Self:
      case ExprKind::Now: return false;
      default: break;
    }
    auto cached = memoizable_.find(&e);
    if (cached != memoizable_.end()) return cached->second;
    std::function<bool(const Expr&)> order_only = [&](const Expr& x) -> bool {
      switch (x.kind) {
        case ExprKind::Var: return x.index == 0;
        case ExprKind::Self:
        case ExprKind::Nodes:
        case ExprKind::Project:
        case ExprKind::List:
        case ExprKind::And:
        case ExprKind::Or:
        case ExprKind::Not:
        case ExprKind::Compare:
        case ExprKind::Presence:
        case ExprKind::InList:
        case ExprKind::InData:
        case ExprKind::InCollection:
        case ExprKind::Quantifier:
        case ExprKind::Comprehension: return false;
        case ExprKind::Call:
          if (x.builtin == Builtin::Stock || x.builtin == Builtin::Distance) return false;
          break;
        default: break;
      }
      // A computed default reads the record's own fields (Self): as order-only as its record.
      if (x.computed_default && !defaults_pure(*x.computed_default)) return false;
      for (const auto& a : x.args)
        if (!order_only(*a)) return false;
      return true;
    };
    bool ok = e.type.kind != TypeKind::Error && e.type.kind != TypeKind::Bool && order_only(e);
    memoizable_[&e] = ok;
    return ok;
  }

  bool defaults_pure(const Expr& x) {
    switch (x.kind) {
      case ExprKind::Var:
      case ExprKind::Nodes:
      case ExprKind::Quantifier:
      case ExprKind::Comprehension: return false;
      case ExprKind::Call:
        if (x.builtin == Builtin::Stock || x.builtin == Builtin::Distance) return false;
        break;
      default: break;
    }
    for (const auto& a : x.args)
      if (!defaults_pure(*a)) return false;
    return true;
  }

  LV memoized(const Expr& e) {
    std::string key = check::print_expr(b_, e);
    auto it = memo_->find(key);
    if (it == memo_->end()) {
      Memo m;
      m.done = entry_alloca(i1_);
      m.present = entry_alloca(i1_);
      m.a = entry_alloca(part_a(e.type));
      m.b = part_b(e.type) ? entry_alloca(part_b(e.type)) : nullptr;
      // Not computed yet, for this route: set where the route begins.
      llvm::IRBuilder<> init(memo_init_->getTerminator());
      init.CreateStore(init.getFalse(), m.done);
      it = memo_->emplace(key, m).first;
    }
    const Memo& m = it->second;
    llvm::BasicBlock* compute = block("memo.compute");
    llvm::BasicBlock* ready = block("memo.ready");
    B_.CreateCondBr(B_.CreateLoad(i1_, m.done), ready, compute);
    B_.SetInsertPoint(compute);
    LV v = lower_uncached(e);
    B_.CreateStore(is_present(v), m.present);
    B_.CreateStore(v.a, m.a);
    if (m.b) B_.CreateStore(v.b, m.b);
    B_.CreateStore(B_.getTrue(), m.done);
    B_.CreateBr(ready);
    B_.SetInsertPoint(ready);
    LV out;
    out.present = B_.CreateLoad(i1_, m.present);
    out.a = B_.CreateLoad(part_a(e.type), m.a);
    if (m.b) out.b = B_.CreateLoad(part_b(e.type), m.b);
    return out;
  }

  // Opens a memo scope for one route: memos reset where it starts, then
  // every order-only value the route reads is computed ahead.
  void begin_memos(std::map<std::string, Memo>& memos, const check::Route& r) {
    memo_ = &memos;
    memo_init_ = block("memo.init");
    llvm::BasicBlock* ahead = block("memo.ahead");
    B_.CreateBr(memo_init_);
    B_.SetInsertPoint(memo_init_);
    B_.CreateBr(ahead);
    B_.SetInsertPoint(ahead);
    std::vector<const Expr*> values;
    std::function<void(const Expr&)> collect = [&](const Expr& e) {
      if (memoizable(e)) {
        values.push_back(&e);
        return;
      }
      for (const auto& a : e.args) collect(*a);
    };
    if (r.filter) collect(*r.filter);
    for (const auto& p : r.prefer) collect(*p.key);
    if (r.safety_stock) collect(*r.safety_stock);
    for (const Expr* e : values) compute_ahead(*e);
  }

  void compute_ahead(const Expr& e) {
    llvm::BasicBlock* failed = block("memo.ahead.failed");
    llvm::BasicBlock* next = block("memo.ahead.next");
    llvm::BasicBlock* saved_error = error_block_;
    bool saved_facts = facts_;
    error_block_ = failed;
    facts_ = false;
    memoized(e);
    error_block_ = saved_error;
    facts_ = saved_facts;
    B_.CreateBr(next);
    // Left not done: the node that reads it computes it again and fails
    // there (the helper's message is set again then).
    if (llvm::pred_empty(failed)) {
      failed->eraseFromParent();
    } else {
      B_.SetInsertPoint(failed);
      B_.CreateBr(next);
    }
    B_.SetInsertPoint(next);
  }
  void end_memos() { memo_ = nullptr; }

  LV field(const Expr& e) {
    LV base = lower(*e.args[0]);
    const model::FieldDef& fd = b_.schema.record_def(e.record).fields[e.field];
    // A missing record is read as the zero record: its loads are harmless
    // and the result is marked missing anyway.
    llvm::Value* image = base.present ? B_.CreateSelect(base.present, base.a, zero_record_) : base.a;
    llvm::Value* slot = B_.CreateConstInBoundsGEP1_64(i8_, image, fd.offset);
    LV v = load_slot(fd.type, slot, true);
    bool absent_possible = (fd.optional && fd.default_kind != model::DefaultKind::Constant) ||
                           fd.default_kind == model::DefaultKind::Computed;
    llvm::Value* bit = nullptr;
    if (absent_possible) {
      llvm::Value* byte = B_.CreateLoad(i8_, B_.CreateConstInBoundsGEP1_64(i8_, image, fd.index / 8));
      mark_invariant(byte);
      bit = B_.CreateICmpNE(B_.CreateAnd(byte, B_.getInt8(1u << (fd.index % 8))), B_.getInt8(0));
    }
    if (e.computed_default && bit) {
      // Absent: the default, computed with `self` bound to the record.
      llvm::BasicBlock* have = B_.GetInsertBlock();
      llvm::BasicBlock* compute = block("default");
      llvm::BasicBlock* done = block("default.done");
      LV read = v;
      read.present = base.present ? B_.CreateAnd(base.present, bit) : bit;
      B_.CreateCondBr(bit, done, compute);
      B_.SetInsertPoint(compute);
      std::optional<LV> saved = self_;
      self_ = base;
      bool saved_facts = facts_;
      facts_ = false;
      LV d = lower(*e.computed_default);
      facts_ = saved_facts;
      self_ = saved;
      if (!d.present) d.present = B_.getTrue();
      d.present = base.present ? B_.CreateAnd(base.present, d.present) : d.present;
      llvm::BasicBlock* computed = B_.GetInsertBlock();
      B_.CreateBr(done);
      B_.SetInsertPoint(done);
      return phi(fd.type, {{have, read}, {computed, d}});
    }
    if (bit) v.present = base.present ? B_.CreateAnd(base.present, bit) : bit;
    else v.present = base.present;
    return v;
  }

  LV convert(const Expr& e) {
    LV v = lower(*e.args[0]);
    TypeKind from = e.args[0]->type.kind, to = e.type.kind;
    if (to == TypeKind::Decimal && from == TypeKind::Int) {
      // Only a present value can overflow; a missing one stays missing.
      llvm::Value* r = B_.CreateBinaryIntrinsic(llvm::Intrinsic::smul_with_overflow, v.a, B_.getInt64(model::kDecimalScale));
      llvm::Value* overflow = B_.CreateAnd(is_present(v), B_.CreateExtractValue(r, 1));
      llvm::BasicBlock* bad = block("convert.overflow");
      llvm::BasicBlock* good = block("convert.ok");
      B_.CreateCondBr(overflow, bad, good);
      B_.SetInsertPoint(bad);
      llvm::Value* raw = scratch_raws(2);
      store_raw(raw_at(raw, 0), v, e.args[0]->type);
      B_.CreateCall(of_convert_fn(), {frame_, B_.getInt32(static_cast<int>(to)), raw_at(raw, 0), raw_at(raw, 1)});
      B_.CreateBr(error_block_);
      B_.SetInsertPoint(good);
      return LV{v.present, B_.CreateExtractValue(r, 0), nullptr};
    }
    if (to == TypeKind::Float && from == TypeKind::Int) return LV{v.present, B_.CreateSIToFP(v.a, f64_), nullptr};
    if (to == TypeKind::Float && from == TypeKind::Decimal)
      return LV{v.present, B_.CreateFDiv(B_.CreateSIToFP(v.a, f64_), llvm::ConstantFP::get(f64_, double(model::kDecimalScale))),
                nullptr};
    return v;
  }

  LV negate(const Expr& e) {
    LV v = lower(*e.args[0]);
    if (e.type.kind == TypeKind::Float || e.type.kind == TypeKind::Distance) return LV{v.present, B_.CreateFNeg(v.a), v.b};
    llvm::Value* too_big = B_.CreateAnd(is_present(v), B_.CreateICmpEQ(v.a, B_.getInt64(INT64_MIN)));
    llvm::BasicBlock* bad = block("negate.overflow");
    llvm::BasicBlock* good = block("negate.ok");
    B_.CreateCondBr(too_big, bad, good);
    B_.SetInsertPoint(bad);
    fail(kFailNegation);
    B_.SetInsertPoint(good);
    return LV{v.present, B_.CreateNeg(v.a), v.b};
  }

  // Three-valued and/or, short-circuit exactly as the interpreter.
  LV logical(const Expr& e) {
    bool is_and = e.kind == ExprKind::And;
    LV l = condition(*e.args[0]);
    llvm::Value* l_decides = B_.CreateAnd(is_present(l), is_and ? B_.CreateNot(l.a) : l.a);
    llvm::BasicBlock* from_left = B_.GetInsertBlock();
    llvm::BasicBlock* right = block(is_and ? "and.rhs" : "or.rhs");
    llvm::BasicBlock* done = block(is_and ? "and.done" : "or.done");
    B_.CreateCondBr(l_decides, done, right);
    B_.SetInsertPoint(right);
    LV r = condition(*e.args[1]);
    llvm::Value* r_decides = B_.CreateAnd(is_present(r), is_and ? B_.CreateNot(r.a) : r.a);
    llvm::Value* unknown = B_.CreateOr(B_.CreateNot(is_present(l)), B_.CreateNot(is_present(r)));
    // right decides -> its value; else unknown -> missing; else is_and (true
    // for and, false for or). When the right decides, its value is !is_and,
    // so no select is needed (which the baseline tier's fast instruction
    // selector does not take on i1).
    llvm::Value* present = B_.CreateOr(r_decides, B_.CreateNot(unknown));
    llvm::Value* value = is_and ? B_.CreateNot(r_decides) : r_decides;
    llvm::BasicBlock* from_right = B_.GetInsertBlock();
    B_.CreateBr(done);
    B_.SetInsertPoint(done);
    return phi(e.type, {{from_left, LV{B_.getTrue(), B_.getInt1(!is_and), nullptr}}, {from_right, LV{present, value, nullptr}}});
  }

  // ---------------------------------------------------------- arithmetic

  LV arith(const Expr& e) {
    LV l = lower(*e.args[0]);
    LV r = lower(*e.args[1]);
    llvm::Value* present = both_present(l, r);
    auto checked = [&](llvm::Intrinsic::ID op) {
      llvm::Value* res = B_.CreateBinaryIntrinsic(op, l.a, r.a);
      return std::make_pair(B_.CreateExtractValue(res, 0), B_.CreateExtractValue(res, 1));
    };
    std::optional<std::pair<llvm::Value*, llvm::Value*>> inline_int;  // value, overflowed
    switch (e.arith) {
      case ArithForm::IntAdd:
      case ArithForm::DecimalAdd:
      case ArithForm::DurationAdd:
      case ArithForm::TimeAdd: inline_int = checked(llvm::Intrinsic::sadd_with_overflow); break;
      case ArithForm::IntSub:
      case ArithForm::DecimalSub:
      case ArithForm::DurationSub:
      case ArithForm::TimeDiff:
      case ArithForm::TimeSub: inline_int = checked(llvm::Intrinsic::ssub_with_overflow); break;
      case ArithForm::IntMul: inline_int = checked(llvm::Intrinsic::smul_with_overflow); break;
      case ArithForm::FloatAdd:
      case ArithForm::DistanceAdd: return LV{present, B_.CreateFAdd(l.a, r.a), nullptr};
      case ArithForm::FloatSub:
      case ArithForm::DistanceSub: return LV{present, B_.CreateFSub(l.a, r.a), nullptr};
      case ArithForm::FloatMul:
      case ArithForm::DistanceScale: return LV{present, B_.CreateFMul(l.a, r.a), nullptr};
      default: break;
    }
    if (inline_int) {
      llvm::BasicBlock* bad = block("arith.overflow");
      llvm::BasicBlock* good = block("arith.ok");
      B_.CreateCondBr(B_.CreateAnd(present, inline_int->second), bad, good);
      B_.SetInsertPoint(bad);
      arith_helper(e, l, r);  // records the interpreter's message
      B_.CreateBr(error_block_);
      B_.SetInsertPoint(good);
      return LV{present, inline_int->first, nullptr};
    }
    // Everything else (division, money across currencies, exact products,
    // joining texts) through the shared implementation, when both are there.
    llvm::BasicBlock* from = B_.GetInsertBlock();
    llvm::BasicBlock* compute = block("arith.helper");
    llvm::BasicBlock* done = block("arith.done");
    B_.CreateCondBr(present, compute, done);
    B_.SetInsertPoint(compute);
    LV result = arith_helper(e, l, r);
    llvm::BasicBlock* computed = B_.GetInsertBlock();
    B_.CreateBr(done);
    B_.SetInsertPoint(done);
    return phi(e.type, {{from, missing(e.type)}, {computed, result}});
  }

  // Calls of_arith; continues only when it succeeded.
  LV arith_helper(const Expr& e, const LV& l, const LV& r) {
    llvm::Value* array = scratch_raws(3);
    store_raw(raw_at(array, 0), l, e.args[0]->type);
    store_raw(raw_at(array, 1), r, e.args[1]->type);
    llvm::Value* ok = B_.CreateCall(of_arith_fn(), {frame_, B_.getInt32(static_cast<int>(e.arith)), raw_at(array, 0),
                                                    raw_at(array, 1), raw_at(array, 2)});
    require(B_.CreateICmpNE(ok, B_.getInt8(0)));
    LV out = load_raw(raw_at(array, 2), e.type);
    out.present = nullptr;
    return out;
  }

  // ---------------------------------------------------------- comparison

  // Three-way comparison of two present values: an i32 -1/0/1. Money in
  // different currencies and text order go through of_compare.
  llvm::Value* three_way(CompareForm form, const LV& x, const LV& y, Type tx, Type ty) {
    auto from_bools = [&](llvm::Value* lt, llvm::Value* gt) {
      return B_.CreateSelect(lt, B_.getInt32(-1), B_.CreateSelect(gt, B_.getInt32(1), B_.getInt32(0)));
    };
    switch (form) {
      case CompareForm::Bool: return from_bools(B_.CreateICmpULT(x.a, y.a), B_.CreateICmpUGT(x.a, y.a));
      case CompareForm::Int:
      case CompareForm::Decimal:
      case CompareForm::Duration:
      case CompareForm::Time:
      case CompareForm::Enum: return from_bools(B_.CreateICmpSLT(x.a, y.a), B_.CreateICmpSGT(x.a, y.a));
      case CompareForm::Float:
      case CompareForm::Distance: return from_bools(B_.CreateFCmpOLT(x.a, y.a), B_.CreateFCmpOLT(y.a, x.a));
      case CompareForm::Money: {
        llvm::BasicBlock* same = block("money.same");
        llvm::BasicBlock* other = block("money.convert");
        llvm::BasicBlock* done = block("money.done");
        B_.CreateCondBr(B_.CreateICmpEQ(x.b, y.b), same, other);
        B_.SetInsertPoint(same);
        llvm::Value* direct = from_bools(B_.CreateICmpSLT(x.a, y.a), B_.CreateICmpSGT(x.a, y.a));
        llvm::BasicBlock* same_end = B_.GetInsertBlock();
        B_.CreateBr(done);
        B_.SetInsertPoint(other);
        llvm::Value* converted = compare_helper(form, x, y, tx, ty);
        llvm::BasicBlock* other_end = B_.GetInsertBlock();
        B_.CreateBr(done);
        B_.SetInsertPoint(done);
        llvm::PHINode* p = B_.CreatePHI(i32_, 2);
        p->addIncoming(direct, same_end);
        p->addIncoming(converted, other_end);
        return p;
      }
      case CompareForm::String: return compare_helper(form, x, y, tx, ty);
    }
    throw Unsupported{"an unknown comparison"};
  }

  llvm::Value* compare_helper(CompareForm form, const LV& x, const LV& y, Type tx, Type ty) {
    llvm::Value* array = scratch_raws(2);
    store_raw(raw_at(array, 0), x, tx);
    store_raw(raw_at(array, 1), y, ty);
    llvm::Value* ok = scratch_flag();
    llvm::Value* c = B_.CreateCall(of_compare_fn(), {frame_, B_.getInt32(static_cast<int>(form)), raw_at(array, 0),
                                                     raw_at(array, 1), ok});
    require(B_.CreateICmpNE(B_.CreateLoad(i8_, ok), B_.getInt8(0)));
    return c;
  }

  // The bytes of a text constant, if `text` is one: its pointer is a
  // constant global and its length a constant. The global may hold more
  // than the text (the items of a list share one), so the length counts.
  static std::optional<llvm::StringRef> constant_bytes(const LV& text) {
    auto* global = llvm::dyn_cast<llvm::GlobalVariable>(text.a);
    auto* length = llvm::dyn_cast_or_null<llvm::ConstantInt>(text.b);
    if (!global || !length || !global->isConstant() || !global->hasInitializer()) return std::nullopt;
    auto* data = llvm::dyn_cast<llvm::ConstantDataSequential>(global->getInitializer());
    if (!data || !data->isString() || length->getZExtValue() > data->getAsString().size()) return std::nullopt;
    return data->getAsString().substr(0, length->getZExtValue());
  }

  // Whether the `bytes.size()` bytes at `p` are `bytes`: a load and compare
  // per 8, 4, 2 or 1 bytes, little-endian as the target.
  llvm::Value* bytes_equal(llvm::Value* p, llvm::StringRef bytes) {
    llvm::Value* same = B_.getTrue();
    size_t offset = 0;
    while (offset < bytes.size()) {
      size_t width = 8;
      while (width > bytes.size() - offset) width /= 2;
      uint64_t expected = 0;
      for (size_t i = 0; i < width; ++i)
        expected |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[offset + i])) << (8 * i);
      llvm::Type* t = B_.getIntNTy(static_cast<unsigned>(width * 8));
      llvm::LoadInst* load = B_.CreateAlignedLoad(t, B_.CreateConstInBoundsGEP1_64(i8_, p, offset), llvm::Align(1));
      same = B_.CreateAnd(same, B_.CreateICmpEQ(load, llvm::ConstantInt::get(t, expected)));
      offset += width;
    }
    return same;
  }

  // Equality of two present texts, without a call for different lengths.
  // Against a short constant the bytes are compared inline: the optimiser
  // would do the same with memcmp, the baseline tier would not.
  llvm::Value* strings_equal(const LV& x, const LV& y) {
    llvm::Value* length = x.b;
    if (llvm::isa<llvm::ConstantInt>(y.b)) length = y.b;
    else if (llvm::isa<llvm::ConstantInt>(x.b)) length = x.b;
    llvm::BasicBlock* from = B_.GetInsertBlock();
    llvm::BasicBlock* bytes = block("str.bytes");
    llvm::BasicBlock* done = block("str.done");
    B_.CreateCondBr(B_.CreateICmpEQ(x.b, y.b), bytes, done);
    B_.SetInsertPoint(bytes);
    constexpr size_t kInlineCompareUpTo = 32;
    llvm::Value* same = nullptr;
    std::optional<llvm::StringRef> constant = constant_bytes(y);
    llvm::Value* other = x.a;
    if (!constant) {
      constant = constant_bytes(x);
      other = y.a;
    }
    if (constant && constant->size() <= kInlineCompareUpTo) same = bytes_equal(other, *constant);
    else same = B_.CreateICmpEQ(B_.CreateCall(memcmp_fn(), {x.a, y.a, length}), B_.getInt32(0));
    llvm::BasicBlock* bytes_end = B_.GetInsertBlock();
    B_.CreateBr(done);
    B_.SetInsertPoint(done);
    llvm::PHINode* p = B_.CreatePHI(i1_, 2);
    p->addIncoming(B_.getFalse(), from);
    p->addIncoming(same, bytes_end);
    return p;
  }

  // Whether op holds between two values; false when either is missing. The
  // comparison runs only when both are present (it may fail).
  llvm::Value* compare_values(CompareForm form, CompareOp op, const LV& x, const LV& y, Type tx, Type ty) {
    llvm::Value* present = both_present(x, y);
    auto known = llvm::dyn_cast<llvm::ConstantInt>(present);
    if (known && known->isZero()) return B_.getFalse();
    if (std::optional<llvm::CmpInst::Predicate> pred = integer_predicate(form, op))
      return B_.CreateAnd(present, B_.CreateICmp(*pred, x.a, y.a));
    auto test = [&]() -> llvm::Value* {
      if (form == CompareForm::String && (op == CompareOp::Eq || op == CompareOp::Ne)) {
        llvm::Value* eq = strings_equal(x, y);
        return op == CompareOp::Ne ? B_.CreateNot(eq) : eq;
      }
      if (form == CompareForm::Money) return money_holds(op, x, y, tx, ty);
      return outcome(op, three_way(form, x, y, tx, ty));
    };
    bool needs_guard = form == CompareForm::Money || form == CompareForm::String;
    if (!needs_guard) return B_.CreateAnd(present, test());
    // Both there for certain (the usual case: a required field against a
    // literal): no guard to branch around.
    if (known) return test();
    llvm::BasicBlock* from = B_.GetInsertBlock();
    llvm::BasicBlock* guarded = block("cmp.guarded");
    llvm::BasicBlock* done = block("cmp.guarded.done");
    B_.CreateCondBr(present, guarded, done);
    B_.SetInsertPoint(guarded);
    llvm::Value* result = test();
    llvm::BasicBlock* test_end = B_.GetInsertBlock();
    B_.CreateBr(done);
    B_.SetInsertPoint(done);
    llvm::PHINode* p = B_.CreatePHI(i1_, 2);
    p->addIncoming(B_.getFalse(), from);
    p->addIncoming(result, test_end);
    return p;
  }

  // The icmp predicate that is `op` for values compared as integers
  // (floats are not: their three-way comparison treats NaN as equal).
  static std::optional<llvm::CmpInst::Predicate> integer_predicate(CompareForm form, CompareOp op) {
    bool is_signed = true;
    switch (form) {
      case CompareForm::Bool: is_signed = false; break;
      case CompareForm::Int:
      case CompareForm::Decimal:
      case CompareForm::Duration:
      case CompareForm::Time:
      case CompareForm::Enum: break;
      default: return std::nullopt;
    }
    switch (op) {
      case CompareOp::Eq: return llvm::CmpInst::ICMP_EQ;
      case CompareOp::Ne: return llvm::CmpInst::ICMP_NE;
      case CompareOp::Lt: return is_signed ? llvm::CmpInst::ICMP_SLT : llvm::CmpInst::ICMP_ULT;
      case CompareOp::Le: return is_signed ? llvm::CmpInst::ICMP_SLE : llvm::CmpInst::ICMP_ULE;
      case CompareOp::Gt: return is_signed ? llvm::CmpInst::ICMP_SGT : llvm::CmpInst::ICMP_UGT;
      case CompareOp::Ge: return is_signed ? llvm::CmpInst::ICMP_SGE : llvm::CmpInst::ICMP_UGE;
    }
    return std::nullopt;
  }

  // Money in one currency compares its minor units; across currencies
  // of_compare converts (and may fail, when no rate is known).
  llvm::Value* money_holds(CompareOp op, const LV& x, const LV& y, Type tx, Type ty) {
    llvm::BasicBlock* same = block("money.same");
    llvm::BasicBlock* other = block("money.convert");
    llvm::BasicBlock* done = block("money.done");
    B_.CreateCondBr(B_.CreateICmpEQ(x.b, y.b), same, other);
    B_.SetInsertPoint(same);
    llvm::Value* direct = B_.CreateICmp(*integer_predicate(CompareForm::Int, op), x.a, y.a);
    llvm::BasicBlock* same_end = B_.GetInsertBlock();
    B_.CreateBr(done);
    B_.SetInsertPoint(other);
    llvm::Value* converted = outcome(op, compare_helper(CompareForm::Money, x, y, tx, ty));
    llvm::BasicBlock* other_end = B_.GetInsertBlock();
    B_.CreateBr(done);
    B_.SetInsertPoint(done);
    llvm::PHINode* p = B_.CreatePHI(i1_, 2);
    p->addIncoming(direct, same_end);
    p->addIncoming(converted, other_end);
    return p;
  }

  llvm::Value* outcome(CompareOp op, llvm::Value* c) {
    llvm::Value* zero = B_.getInt32(0);
    switch (op) {
      case CompareOp::Eq: return B_.CreateICmpEQ(c, zero);
      case CompareOp::Ne: return B_.CreateICmpNE(c, zero);
      case CompareOp::Lt: return B_.CreateICmpSLT(c, zero);
      case CompareOp::Le: return B_.CreateICmpSLE(c, zero);
      case CompareOp::Gt: return B_.CreateICmpSGT(c, zero);
      case CompareOp::Ge: return B_.CreateICmpSGE(c, zero);
    }
    return B_.getFalse();
  }

  LV compare(const Expr& e) {
    LV l = lower(*e.args[0]);
    LV r = lower(*e.args[1]);
    llvm::Value* result = compare_values(e.compare, e.compare_op, l, r, e.args[0]->type, e.args[1]->type);
    emit_fact(e, result, {{e.args[0].get(), l}, {e.args[1].get(), r}});
    return LV{nullptr, result, nullptr};
  }

  LV in_list(const Expr& e) {
    LV l = lower(*e.args[0]);
    // Items are evaluated in order until one equals the value (only while the value is there).
    llvm::Value* p = present_and_any(l, e.args.size() - 1, "in", [&](size_t i) {
      LV item = lower(*e.args[i + 1]);
      return compare_values(e.compare, CompareOp::Eq, l, item, e.args[0]->type, e.args[i + 1]->type);
    });
    llvm::Value* result = B_.CreateAnd(is_present(l), e.negated ? B_.CreateNot(p) : static_cast<llvm::Value*>(p));
    emit_fact(e, result, {{e.args[0].get(), l}});
    return LV{nullptr, result, nullptr};
  }

  // ---------------------------------------------------------- walking lists

  Walk walk_of(const Expr& e) {
    Walk w;
    if (e.kind == ExprKind::Nodes) {
      w.nodes = true;
      w.element = b_.schema.record_type(b_.node_record);
      w.list = LV{nullptr, load_frame(ptr_, offsetof(JitFrame, nodes)), load_frame(i64_, offsetof(JitFrame, node_count))};
      return w;
    }
    if (e.kind == ExprKind::Project) {
      Walk base = walk_of(*e.args[0]);
      const model::FieldDef& fd = b_.schema.record_def(e.record).fields[e.field];
      base.project_offset = static_cast<int>(fd.offset);
      base.element = fd.type;
      return base;
    }
    w.list = lower(e);
    w.element = b_.schema.element_type(e.type);
    w.stride = b_.schema.slot_size(w.element);
    if (w.list.present) {
      // A list is never missing once read; guard anyway: a missing one is empty.
      w.list.b = B_.CreateSelect(w.list.present, w.list.b, B_.getInt64(0));
      w.list.present = nullptr;
    }
    return w;
  }

  LV element(const Walk& w, llvm::Value* i) {
    if (w.nodes) {
      llvm::Value* image = B_.CreateLoad(ptr_, B_.CreateInBoundsGEP(ptr_, w.list.a, i));
      if (w.project_offset >= 0) return load_slot(w.element, B_.CreateConstInBoundsGEP1_64(i8_, image, w.project_offset));
      // A node also carries its index, for stock(node, sku).
      return LV{nullptr, image, i};
    }
    llvm::Value* at = B_.CreateInBoundsGEP(i8_, w.list.a, B_.CreateMul(i, B_.getInt64(w.stride)));
    if (w.project_offset >= 0) return load_slot(w.element, B_.CreateConstInBoundsGEP1_64(i8_, at, w.project_offset));
    return load_slot(w.element, at);
  }

  // Emits `for (i = 0; i < count; ++i) body(i, element)`; body returns the
  // block to continue the loop from, or null to leave it (having branched
  // to `exit` itself).
  template <typename Body>
  void loop(const Walk& w, llvm::BasicBlock* exit, Body body) {
    llvm::BasicBlock* pre = B_.GetInsertBlock();
    llvm::BasicBlock* head = block("loop");
    llvm::BasicBlock* step = block("loop.step");
    B_.CreateBr(head);
    B_.SetInsertPoint(head);
    llvm::PHINode* i = B_.CreatePHI(i64_, 2);
    i->addIncoming(B_.getInt64(0), pre);
    llvm::BasicBlock* in = block("loop.body");
    B_.CreateCondBr(B_.CreateICmpSLT(i, w.list.b), in, exit);
    B_.SetInsertPoint(in);
    LV el = element(w, i);
    body(i, el, step);
    B_.SetInsertPoint(step);
    llvm::Value* next = B_.CreateAdd(i, B_.getInt64(1));
    i->addIncoming(next, step);
    B_.CreateBr(head);
  }

  LV in_collection(const Expr& e) {
    LV l = lower(*e.args[0]);
    Walk w = walk_of(*e.args[1]);
    llvm::AllocaInst* found = entry_alloca(i1_);
    B_.CreateStore(B_.getFalse(), found);
    llvm::BasicBlock* done = block("incoll.done");
    llvm::BasicBlock* scan = block("incoll.scan");
    B_.CreateCondBr(is_present(l), scan, done);
    B_.SetInsertPoint(scan);
    Type element = w.element;
    loop(w, done, [&](llvm::Value*, LV el, llvm::BasicBlock* step) {
      llvm::Value* eq = compare_values(e.compare, CompareOp::Eq, l, el, e.args[0]->type, element);
      llvm::BasicBlock* hit = block("incoll.hit");
      B_.CreateCondBr(eq, hit, step);
      B_.SetInsertPoint(hit);
      B_.CreateStore(B_.getTrue(), found);
      B_.CreateBr(done);
    });
    B_.SetInsertPoint(done);
    llvm::Value* f = B_.CreateLoad(i1_, found);
    llvm::Value* result = B_.CreateAnd(is_present(l), e.negated ? B_.CreateNot(f) : f);
    emit_fact(e, result, {{e.args[0].get(), l}, {e.args[1].get(), LV{nullptr, w.list.a, w.list.b}}});
    return LV{nullptr, result, nullptr};
  }

  // The list of a comprehension, in scratch memory: each element the
  // condition holds for, its value when present.
  LV comprehension(const Expr& e) {
    Walk w = walk_of(*e.args[0]);
    Type type = b_.schema.element_type(e.type);
    uint32_t slot = b_.schema.slot_size(type);
    llvm::Value* data = B_.CreateCall(of_scratch_fn(), {frame_, B_.CreateMul(w.list.b, B_.getInt64(slot))});
    llvm::AllocaInst* kept = entry_alloca(i64_);
    B_.CreateStore(B_.getInt64(0), kept);
    llvm::BasicBlock* done = block("comp.done");
    bool saved_facts = facts_;
    facts_ = false;  // the atoms inside are not the rule's facts: the call they feed is
    std::optional<LV> saved_slot = slots_.at(e.index);
    loop(w, done, [&](llvm::Value*, LV el, llvm::BasicBlock* step) {
      slots_[e.index] = el;
      if (e.args.size() > 2) {
        llvm::BasicBlock* take = block("comp.take");
        B_.CreateCondBr(holds(*e.args[2]), take, step);
        B_.SetInsertPoint(take);
      }
      LV v = lower(*e.args[1]);
      llvm::BasicBlock* keep = block("comp.keep");
      B_.CreateCondBr(is_present(v), keep, step);
      B_.SetInsertPoint(keep);
      llvm::Value* n = B_.CreateLoad(i64_, kept);
      store_slot(type, B_.CreateInBoundsGEP(i8_, data, B_.CreateMul(n, B_.getInt64(slot))), v);
      B_.CreateStore(B_.CreateAdd(n, B_.getInt64(1)), kept);
      B_.CreateBr(step);
    });
    slots_[e.index] = saved_slot;
    facts_ = saved_facts;
    B_.SetInsertPoint(done);
    return LV{nullptr, data, B_.CreateLoad(i64_, kept)};
  }

  LV quantifier(const Expr& e) {
    Walk w = walk_of(*e.args[0]);
    bool all = e.quantifier_all;
    llvm::AllocaInst* result = entry_alloca(i1_);
    llvm::AllocaInst* witness = entry_alloca(i64_);
    // The deciding element, for explain: marked missing until one decides.
    llvm::AllocaInst* witness_element = (facts_ && explain_) ? raws(1) : nullptr;
    B_.CreateStore(B_.getInt1(all), result);
    B_.CreateStore(B_.getInt64(-1), witness);
    if (witness_element) B_.CreateStore(B_.getInt8(0), B_.CreateStructGEP(raw_, witness_element, 5));
    llvm::BasicBlock* done = block("quant.done");
    bool saved_facts = facts_;
    facts_ = false;  // the atoms inside `where` are summarised, not listed per element
    std::optional<LV> saved_slot = slots_.at(e.index);
    loop(w, done, [&](llvm::Value* i, LV el, llvm::BasicBlock* step) {
      slots_[e.index] = el;
      llvm::Value* ok = holds(*e.args[1]);
      llvm::Value* decisive = all ? B_.CreateNot(ok) : ok;
      llvm::BasicBlock* hit = block("quant.hit");
      B_.CreateCondBr(decisive, hit, step);
      B_.SetInsertPoint(hit);
      B_.CreateStore(B_.getInt1(!all), result);
      B_.CreateStore(i, witness);
      if (witness_element) store_raw(witness_element, el, w.element);
      B_.CreateBr(done);
    });
    slots_[e.index] = saved_slot;
    facts_ = saved_facts;
    B_.SetInsertPoint(done);
    llvm::Value* r = B_.CreateLoad(i1_, result);
    if (facts_ && explain_) {
      Atom a;
      a.kind = Atom::Kind::Quantifier;
      a.expr = &e;
      int id = atom(std::move(a));
      when_explaining("quant.fact", [&] {
        B_.CreateCall(of_quantifier_fact_fn(), {frame_, B_.getInt32(id), B_.CreateZExt(r, i8_),
                                                B_.CreateLoad(i64_, witness), w.list.b, witness_element});
      });
    }
    return LV{nullptr, r, nullptr};
  }

  // ---------------------------------------------------------- calls

  LV call(const Expr& e) {
    switch (e.builtin) {
      case Builtin::Count: {
        Walk w = walk_of(*e.args[0]);
        return LV{nullptr, w.list.b, nullptr};
      }
      case Builtin::Sum:
        if (e.type.kind == TypeKind::Int || e.type.kind == TypeKind::Decimal || e.type.kind == TypeKind::Duration ||
            e.type.kind == TypeKind::Float || e.type.kind == TypeKind::Distance)
          return sum(e);
        break;
      case Builtin::Hour:
      case Builtin::Minute:
      case Builtin::Weekday: {
        if (e.args.size() > 1) break;  // a zone's clock: the general path
        LV t = lower(*e.args[0]);
        llvm::Value* day = B_.getInt64(86'400'000);
        llvm::Value* ms_of_day = B_.CreateSRem(B_.CreateAdd(B_.CreateSRem(t.a, day), day), day);
        llvm::Value* v;
        if (e.builtin == Builtin::Hour) {
          v = B_.CreateSDiv(ms_of_day, B_.getInt64(3'600'000));
        } else if (e.builtin == Builtin::Minute) {
          v = B_.CreateSRem(B_.CreateSDiv(ms_of_day, B_.getInt64(60'000)), B_.getInt64(60));
        } else {
          llvm::Value* days = B_.CreateSDiv(B_.CreateSub(t.a, ms_of_day), day);
          v = B_.CreateAdd(
              B_.CreateSRem(B_.CreateAdd(B_.CreateAdd(B_.CreateSRem(days, B_.getInt64(7)), B_.getInt64(7)), B_.getInt64(3)),
                            B_.getInt64(7)),
              B_.getInt64(1));
        }
        return LV{t.present, v, nullptr};
      }
      case Builtin::Amount: {
        LV m = lower(*e.args[0]);
        return LV{m.present, m.a, nullptr};
      }
      case Builtin::Currency: return currency(lower(*e.args[0]));
      case Builtin::Stock: {
        LV node = lower(*e.args[0]);
        if (!node.b) break;  // a node whose index is not known here: the general path
        LV sku = lower(*e.args[1]);
        llvm::Value* atp = B_.CreateCall(of_stock_fn(), {frame_, node.b, sku.a, sku.b});
        return LV{both_present(node, sku), atp, nullptr};
      }
      case Builtin::Prefix: {
        LV text = lower(*e.args[0]);
        LV count = lower(*e.args[1]);
        return prefix(text, count);
      }
      default: break;
    }
    // The rest through the shared implementation, with every argument evaluated first.
    std::vector<LV> args;
    llvm::Value* stack = nullptr;
    for (const auto& a : e.args) {
      if (a->kind == ExprKind::Project) {
        // The helper takes a list: copy the field out of each element, as
        // the interpreter does, into stack memory freed after the call.
        if (!stack) stack = B_.CreateStackSave();
        args.push_back(materialize(*a));
      } else {
        args.push_back(lower(*a));
      }
    }
    unsigned n = static_cast<unsigned>(args.size());
    llvm::Value* array = scratch_raws(n + 1);
    for (unsigned i = 0; i < n; ++i) store_raw(raw_at(array, i), args[i], e.args[i]->type);
    Atom a;
    a.kind = Atom::Kind::Call;
    a.expr = &e;
    int call_id = atom(std::move(a));
    llvm::Value* ok = B_.CreateCall(of_builtin_fn(), {frame_, B_.getInt32(call_id), B_.getInt8(facts_ && explain_ ? 1 : 0), array,
                                                      B_.getInt32(n), raw_at(array, n)});
    if (stack) B_.CreateStackRestore(stack);
    require(B_.CreateICmpNE(ok, B_.getInt8(0)));
    return load_raw(raw_at(array, n), e.type);
  }

  // A projected list (order.lines.quantity) as a list value in stack memory.
  LV materialize(const Expr& project) {
    Walk w = walk_of(project);
    uint32_t slot = b_.schema.slot_size(w.element);
    llvm::Value* bytes = B_.CreateMul(w.list.b, B_.getInt64(slot));
    llvm::AllocaInst* data = B_.CreateAlloca(i8_, bytes);
    data->setAlignment(llvm::Align(8));
    llvm::BasicBlock* done = block("project.done");
    Walk raw = w;
    raw.project_offset = -1;  // walk the records; copy the field's slot
    raw.element = b_.schema.element_type(project.args[0]->type);
    loop(raw, done, [&](llvm::Value* i, LV record, llvm::BasicBlock* step) {
      llvm::Value* from = B_.CreateConstInBoundsGEP1_64(i8_, record.a, w.project_offset);
      llvm::Value* to = B_.CreateInBoundsGEP(i8_, data, B_.CreateMul(i, B_.getInt64(slot)));
      B_.CreateMemCpy(to, llvm::MaybeAlign(8), from, llvm::MaybeAlign(8), slot);
      B_.CreateBr(step);
    });
    B_.SetInsertPoint(done);
    return LV{nullptr, data, w.list.b};
  }

  LV sum(const Expr& e) {
    Walk w = walk_of(*e.args[0]);
    Type t = e.type;
    bool floating = t.kind == TypeKind::Float || t.kind == TypeKind::Distance;
    llvm::AllocaInst* total = entry_alloca(part_a(t));
    B_.CreateStore(floating ? static_cast<llvm::Value*>(llvm::ConstantFP::get(f64_, 0.0)) : B_.getInt64(0), total);
    llvm::BasicBlock* done = block("sum.done");
    loop(w, done, [&](llvm::Value* i, LV el, llvm::BasicBlock* step) {
      llvm::Value* acc = B_.CreateLoad(part_a(t), total);
      if (floating) {
        // The interpreter starts from the first element, not from 0.0: -0.0 stays -0.0.
        llvm::Value* first = B_.CreateICmpEQ(i, B_.getInt64(0));
        B_.CreateStore(B_.CreateSelect(first, el.a, B_.CreateFAdd(acc, el.a)), total);
        B_.CreateBr(step);
        return;
      }
      llvm::Value* res = B_.CreateBinaryIntrinsic(llvm::Intrinsic::sadd_with_overflow, acc, el.a);
      llvm::BasicBlock* bad = block("sum.overflow");
      llvm::BasicBlock* good = block("sum.ok");
      B_.CreateCondBr(B_.CreateExtractValue(res, 1), bad, good);
      B_.SetInsertPoint(bad);
      // The failing addition again, through the helper, for its message.
      ArithForm form = t.kind == TypeKind::Int       ? ArithForm::IntAdd
                       : t.kind == TypeKind::Decimal ? ArithForm::DecimalAdd
                                                     : ArithForm::DurationAdd;
      llvm::Value* array = scratch_raws(3);
      store_raw(raw_at(array, 0), LV{nullptr, acc, nullptr}, t);
      store_raw(raw_at(array, 1), el, t);
      B_.CreateCall(of_arith_fn(), {frame_, B_.getInt32(static_cast<int>(form)), raw_at(array, 0), raw_at(array, 1),
                                    raw_at(array, 2)});
      B_.CreateBr(error_block_);
      B_.SetInsertPoint(good);
      B_.CreateStore(B_.CreateExtractValue(res, 0), total);
      B_.CreateBr(step);
    });
    B_.SetInsertPoint(done);
    return LV{nullptr, B_.CreateLoad(part_a(t), total), nullptr};
  }

  LV table_call(const Expr& e) {
    const check::Table& t = b_.tables.at(e.index);
    std::vector<LV> args;
    for (const auto& a : e.args) args.push_back(lower(*a));
    llvm::BasicBlock* done = block("table.done");
    std::vector<std::pair<llvm::BasicBlock*, LV>> results;
    for (const check::TableRow& row : t.rows) {
      llvm::BasicBlock* next = block("table.next");
      for (size_t c = 0; c < row.cells.size(); ++c) {
        const check::TableCell& cell = row.cells[c];
        if (cell.kind == check::TableCell::Kind::Any) continue;
        Type at = t.param_types[c];
        LV value = constant(cell.value, at);
        CompareOp op = cell.kind == check::TableCell::Kind::Equal      ? CompareOp::Eq
                       : cell.kind == check::TableCell::Kind::NotEqual ? CompareOp::Ne
                                                                       : cell.op;
        llvm::Value* matches = compare_values(cell.form, op, args[c], value, at, at);
        llvm::BasicBlock* cont = block("table.cell");
        B_.CreateCondBr(matches, cont, next);
        B_.SetInsertPoint(cont);
      }
      results.push_back({B_.GetInsertBlock(), constant(row.result, t.result)});
      B_.CreateBr(done);
      B_.SetInsertPoint(next);
    }
    // No row: the interpreter's message, then the rule fails.
    llvm::Value* array = scratch_raws(std::max<unsigned>(1, static_cast<unsigned>(args.size())));
    for (unsigned i = 0; i < args.size(); ++i) store_raw(raw_at(array, i), args[i], t.param_types[i]);
    B_.CreateCall(of_table_failure_fn(), {frame_, B_.getInt32(e.index), array});
    B_.CreateBr(error_block_);
    B_.SetInsertPoint(done);
    return phi(t.result, results);
  }

  // ---------------------------------------------------------- rules

  void set_matched_bit(int rule) {
    llvm::Value* words = load_frame(ptr_, offsetof(JitFrame, matched));
    llvm::Value* word_ptr = B_.CreateConstInBoundsGEP1_64(i64_, words, rule / 64);
    llvm::Value* word = B_.CreateLoad(i64_, word_ptr);
    B_.CreateStore(B_.CreateOr(word, B_.getInt64(uint64_t{1} << (rule % 64))), word_ptr);
  }

  void trace_call(llvm::FunctionCallee fn, std::vector<llvm::Value*> args) {
    if (!explain_) return;
    when_explaining("trace", [&] { B_.CreateCall(fn, args); });
  }

  // A decision's computed part (a hold's limit, a reschedule's time) into
  // the frame at `value` with its flag at `flag`; missing, the rule fails
  // with `message`.
  void store_required(const check::Expr& e, FailMessage message, size_t value, size_t flag) {
    LV v = lower(e);
    llvm::BasicBlock* bad = block("required.missing");
    llvm::BasicBlock* good = block("required.ok");
    B_.CreateCondBr(is_present(v), good, bad);
    B_.SetInsertPoint(bad);
    fail(message);
    B_.SetInsertPoint(good);
    store_frame(v.a, value);
    store_frame(B_.getInt8(1), flag);
  }

  // Stores the decision's computed parts (the hold's time limit, the
  // reschedule's time) and ends the function as decided by `rule`.
  void decide(const check::Decision& d, int rule, DecisionSource source) {
    if (d.hold_for)
      store_required(*d.hold_for, kFailHoldMissing, offsetof(JitFrame, hold_for), offsetof(JitFrame, has_hold_for));
    if (d.reschedule_to)
      store_required(*d.reschedule_to, kFailRescheduleMissing, offsetof(JitFrame, reschedule_at),
                     offsetof(JitFrame, has_reschedule));
    store_frame(B_.getInt32(rule), offsetof(JitFrame, deciding_rule));
    store_frame(B_.getInt32(source), offsetof(JitFrame, decision_source));
    trace_call(of_rule_end_fn(), {frame_, B_.getInt32(rule), B_.getInt8(1), B_.getInt8(1)});
    return_done();
  }

  // Lowers `value` and runs `body` with it only when it is present: an
  // annotation whose value is missing does nothing.
  template <class Body>
  void when_present(const check::Expr& value, const char* set_name, const char* done_name, Body body) {
    LV v = lower(value);
    llvm::BasicBlock* set = block(set_name);
    llvm::BasicBlock* done = block(done_name);
    B_.CreateCondBr(is_present(v), set, done);
    B_.SetInsertPoint(set);
    body(v);
    B_.CreateBr(done);
    B_.SetInsertPoint(done);
  }

  void annotate(const check::Action& a, int rule, int action) {
    switch (a.kind) {
      case check::ActionKind::SetPriority:
        when_present(*a.value, "priority.set", "priority.done", [&](const LV& v) {
          store_frame(v.a, offsetof(JitFrame, priority));
          store_frame(B_.getInt8(1), offsetof(JitFrame, has_priority));
        });
        break;
      case check::ActionKind::SetDelivery:
        when_present(*a.value, "delivery.set", "delivery.done", [&](const LV& v) {
          store_frame(v.a, offsetof(JitFrame, delivery));
          store_frame(B_.getInt32(rule), offsetof(JitFrame, delivery_rule));
          store_frame(B_.getInt8(1), offsetof(JitFrame, has_delivery));
        });
        break;
      case check::ActionKind::Tag:
        when_present(*a.value, "tag.set", "tag.done", [&](const LV& v) { B_.CreateCall(of_tag_fn(), {frame_, v.a, v.b}); });
        break;
      case check::ActionKind::Notify:
      case check::ActionKind::Escalate: {
        LV who = lower(*a.value);
        LV priority = a.priority ? lower(*a.priority) : LV{B_.getFalse(), B_.getInt64(0), nullptr};
        llvm::Value* array = scratch_raws(2);
        store_raw(raw_at(array, 0), who, a.value->type);
        store_raw(raw_at(array, 1), priority, Type::of(TypeKind::Int));
        B_.CreateCall(of_notify_fn(), {frame_, B_.getInt32(rule), B_.getInt32(action), raw_at(array, 0), raw_at(array, 1)});
        break;
      }
      case check::ActionKind::RefundShipping:
      case check::ActionKind::Charge: {
        llvm::Value* array = scratch_raws(1);
        if (a.value) store_raw(raw_at(array, 0), lower(*a.value), a.value->type);
        B_.CreateCall(of_refund_term_fn(), {frame_, B_.getInt32(rule), B_.getInt32(action), raw_at(array, 0)});
        break;
      }
      default: break;
    }
  }

  // A new function taking the frame; a part returns whether the policy is
  // done, as an i32 (the baseline tier's fast instruction selector does not
  // return i1), the policy's own function returns nothing.
  void begin_function(const std::string& name, bool part) {
    part_ = part;
    llvm::Type* result = part ? static_cast<llvm::Type*>(i32_) : llvm::Type::getVoidTy(c_);
    fn_ = llvm::Function::Create(llvm::FunctionType::get(result, {ptr_}, false),
                                 part ? llvm::GlobalValue::InternalLinkage : llvm::GlobalValue::ExternalLinkage, name, m_);
    fn_->addFnAttr(llvm::Attribute::NoUnwind);
    if (part) fn_->addFnAttr(llvm::Attribute::NoInline);
    entry_ = llvm::BasicBlock::Create(c_, "entry", fn_);
    B_.SetInsertPoint(entry_);
    frame_ = fn_->getArg(0);
    scratch_raws_.clear();
    scratch_flag_ = nullptr;
    slots_.assign(std::max(policy_.slot_count, 2), std::nullopt);
    slots_[0] = LV{nullptr, load_frame(ptr_, offsetof(JitFrame, order)), nullptr};
    // `return`, `unit`, `ndr`: the driver calls these policies only with one.
    if (b_.subject_record(policy_.kind) >= 0) slots_[1] = LV{nullptr, load_frame(ptr_, offsetof(JitFrame, subject)), nullptr};
    trace_values_ = B_.getInt1(explain_);
  }

  llvm::Function* finish_function() {
    // Blocks left empty after a return (the `after.*` continuations) need a terminator.
    for (llvm::BasicBlock& bb : *fn_)
      if (!bb.getTerminator()) {
        B_.SetInsertPoint(&bb);
        B_.CreateUnreachable();
      }
    std::string problems;
    llvm::raw_string_ostream os(problems);
    if (llvm::verifyFunction(*fn_, &os)) throw Unsupported{"the generated code did not verify: " + problems};
    return fn_;
  }

  // The policy is decided (or failed): leave.
  void return_done() {
    if (part_) B_.CreateRet(B_.getInt32(1));
    else B_.CreateRetVoid();
  }

  void lower_rules(size_t first, size_t end, bool with_otherwise) {
    bool escalation = policy_.kind == check::PolicyKind::Escalation;
    auto lower_rule = [&](const check::Rule& rule, int index) {
      // Everything a rule evaluates can fail into this block.
      llvm::BasicBlock* failed = block("rule.failed");
      llvm::BasicBlock* next = block("rule.next");
      error_block_ = failed;
      if (index >= 0) {
        if (record_rules_) store_frame(B_.getInt32(index + 1), offsetof(JitFrame, rules_evaluated));
      } else store_frame(B_.getInt8(1), offsetof(JitFrame, otherwise_evaluated));
      trace_call(of_rule_begin_fn(), {frame_, B_.getInt32(index)});
      llvm::Value* matched = B_.getTrue();
      if (rule.when) {
        facts_ = true;
        matched = holds(*rule.when);
        facts_ = false;
      }
      llvm::BasicBlock* body = block("rule.body");
      llvm::BasicBlock* no = block("rule.no");
      B_.CreateCondBr(matched, body, no);
      B_.SetInsertPoint(no);
      trace_call(of_rule_end_fn(), {frame_, B_.getInt32(index), B_.getInt8(0), B_.getInt8(0)});
      B_.CreateBr(next);
      B_.SetInsertPoint(body);
      if (index >= 0 && record_rules_) set_matched_bit(index);
      for (size_t i = 0; i < rule.actions.size(); ++i)
        if (static_cast<int>(i) != rule.deciding_action) annotate(rule.actions[i], index, static_cast<int>(i));
      // Whether the body can go on to the next rule (it does not when it
      // decides for certain): no code is made for what cannot run.
      bool falls_through = true;
      if (rule.deciding_action >= 0) {
        const check::Action& a = rule.actions[rule.deciding_action];
        if (a.kind == check::ActionKind::Decision) {
          decide(a.decision, index, kDecisionAction);
          falls_through = false;
        } else if (a.kind == check::ActionKind::Route) {
          llvm::Value* routed = route(a.route, index, rule.deciding_action);
          llvm::BasicBlock* yes = block("route.yes");
          llvm::BasicBlock* no_route = block("route.no");
          B_.CreateCondBr(routed, yes, no_route);
          B_.SetInsertPoint(yes);
          store_frame(B_.getInt32(index), offsetof(JitFrame, deciding_rule));
          store_frame(B_.getInt32(kRouted), offsetof(JitFrame, decision_source));
          trace_call(of_rule_end_fn(), {frame_, B_.getInt32(index), B_.getInt8(1), B_.getInt8(1)});
          return_done();
          B_.SetInsertPoint(no_route);
          if (a.route.otherwise == check::Route::Else::Decide) {
            decide(*a.route.else_decision, index, kRouteElse);
            falls_through = false;
          }
        }
      }
      if (falls_through) {
        trace_call(of_rule_end_fn(), {frame_, B_.getInt32(index), B_.getInt8(1), B_.getInt8(0)});
        B_.CreateBr(next);
      }
      // A failure: the rule's error is recorded; acceptance and routing stop.
      if (llvm::pred_empty(failed)) {
        failed->eraseFromParent();
        B_.SetInsertPoint(next);
        return;
      }
      B_.SetInsertPoint(failed);
      B_.CreateCall(of_rule_failed_fn(), {frame_, B_.getInt32(index)});
      if (escalation) {
        B_.CreateBr(next);
      } else {
        store_frame(B_.getInt32(index), offsetof(JitFrame, deciding_rule));
        store_frame(B_.getInt8(1), offsetof(JitFrame, failed));
        return_done();
      }
      B_.SetInsertPoint(next);
    };
    for (size_t i = first; i < end; ++i) lower_rule(policy_.rules[i], static_cast<int>(i));
    if (with_otherwise && policy_.otherwise && !escalation) lower_rule(*policy_.otherwise, -1);
    if (part_) B_.CreateRet(B_.getInt32(0));
    else B_.CreateRetVoid();
  }

  // ---------------------------------------------------------- routing

  bool inline_key(Type t) {
    switch (t.kind) {
      case TypeKind::Int:
      case TypeKind::Decimal:
      case TypeKind::Duration:
      case TypeKind::Time:
      case TypeKind::Float:
      case TypeKind::Distance: return true;
      default: return false;
    }
  }

  // Returns an i1: whether the order was routed.
  llvm::Value* route(const check::Route& r, int rule, int action) {
    llvm::Value* demands = B_.CreateCall(of_route_begin_fn(), {frame_, B_.getInt32(rule), B_.getInt32(action)});
    // -1: routing cannot run (failure recorded); -2: no nodes to route to.
    require(B_.CreateICmpNE(demands, B_.getInt64(-1)));
    llvm::BasicBlock* none = block("route.nonodes");
    llvm::BasicBlock* go = block("route.go");
    llvm::BasicBlock* done = block("route.done");
    B_.CreateCondBr(B_.CreateICmpEQ(demands, B_.getInt64(-2)), none, go);
    std::vector<std::pair<llvm::BasicBlock*, llvm::Value*>> outcomes;
    outcomes.push_back({none, B_.getFalse()});
    B_.SetInsertPoint(none);
    B_.CreateBr(done);
    B_.SetInsertPoint(go);
    // Explaining needs every node's story, which RouteSelection tells.
    bool fast = r.max_shipments == 1 && !explain_;
    for (const auto& p : r.prefer) fast &= inline_key(p.key->type);
    std::map<std::string, Memo> memos;
    begin_memos(memos, r);
    llvm::Value* routed = fast ? route_fast(r, demands) : route_general(r);
    end_memos();
    outcomes.push_back({B_.GetInsertBlock(), routed});
    B_.CreateBr(done);
    B_.SetInsertPoint(done);
    llvm::PHINode* p = B_.CreatePHI(i1_, static_cast<unsigned>(outcomes.size()));
    for (auto& [bb, v] : outcomes) p->addIncoming(v, bb);
    return p;
  }

  Walk node_walk() {
    Walk w;
    w.nodes = true;
    w.element = b_.schema.record_type(b_.node_record);
    w.list = LV{nullptr, load_frame(ptr_, offsetof(JitFrame, nodes)), load_frame(i64_, offsetof(JitFrame, node_count))};
    return w;
  }

  llvm::Value* node_excluded(llvm::Value* i) {
    llvm::Value* excluded = load_frame(ptr_, offsetof(JitFrame, excluded));
    llvm::BasicBlock* from = B_.GetInsertBlock();
    llvm::BasicBlock* read = block("excluded.read");
    llvm::BasicBlock* done = block("excluded.done");
    B_.CreateCondBr(B_.CreateIsNotNull(excluded), read, done);
    B_.SetInsertPoint(read);
    llvm::Value* flag = B_.CreateICmpNE(B_.CreateLoad(i8_, B_.CreateInBoundsGEP(i8_, excluded, i)), B_.getInt8(0));
    llvm::BasicBlock* read_end = B_.GetInsertBlock();
    B_.CreateBr(done);
    B_.SetInsertPoint(done);
    llvm::PHINode* p = B_.CreatePHI(i1_, 2);
    p->addIncoming(B_.getFalse(), from);
    p->addIncoming(flag, read_end);
    return p;
  }

  // Node by node, the candidates go to RouteSelection (shared with the
  // interpreter), which ranks, allocates and explains.
  llvm::Value* route_general(const check::Route& r) {
    Walk w = node_walk();
    llvm::BasicBlock* finish = block("route.finish");
    llvm::Value* keys = raws(std::max<unsigned>(1, static_cast<unsigned>(r.prefer.size())));
    loop(w, finish, [&](llvm::Value* i, LV node, llvm::BasicBlock* step) {
      llvm::BasicBlock* take = block("node.take");
      llvm::BasicBlock* skip = block("node.excluded");
      B_.CreateCondBr(node_excluded(i), skip, take);
      B_.SetInsertPoint(skip);
      B_.CreateCall(of_route_excluded_fn(), {frame_, i});
      B_.CreateBr(step);
      B_.SetInsertPoint(take);
      slots_[1] = node;
      B_.CreateCall(of_route_node_fn(), {frame_, i});
      if (r.filter) {
        facts_ = true;
        llvm::Value* pass = holds(*r.filter);
        facts_ = false;
        llvm::BasicBlock* out = block("node.filtered");
        llvm::BasicBlock* in = block("node.passed");
        B_.CreateCondBr(pass, in, out);
        B_.SetInsertPoint(out);
        B_.CreateCall(of_route_filtered_fn(), {frame_, i});
        B_.CreateBr(step);
        B_.SetInsertPoint(in);
      }
      for (unsigned k = 0; k < r.prefer.size(); ++k) store_raw(raw_at(keys, k), lower(*r.prefer[k].key), r.prefer[k].key->type);
      llvm::Value* safety = safety_stock(r);
      B_.CreateCall(of_route_candidate_fn(), {frame_, i, keys, safety});
      B_.CreateBr(step);
    });
    slots_[1].reset();
    B_.SetInsertPoint(finish);
    llvm::Value* result = B_.CreateCall(of_route_finish_fn(), {frame_});
    require(B_.CreateICmpSGE(result, B_.getInt32(0)));
    return B_.CreateICmpEQ(result, B_.getInt32(1));
  }

  llvm::Value* safety_stock(const check::Route& r) {
    if (!r.safety_stock) return B_.getInt64(0);
    LV s = lower(*r.safety_stock);
    llvm::Value* v = B_.CreateSelect(B_.CreateICmpSGT(s.a, B_.getInt64(0)), s.a, B_.getInt64(0));
    return B_.CreateSelect(is_present(s), v, B_.getInt64(0));
  }

  // One shipment, no explanation wanted: a single pass keeps the best node
  // that passes the filter and has every SKU. The same node as ranking all
  // candidates and taking the first that can ship: keys compare the same,
  // and a later node replaces the best only when strictly better. Stock is
  // looked at only for a node that would replace the best (most do not).
  llvm::Value* route_fast(const check::Route& r, llvm::Value* demand_count) {
    Walk w = node_walk();
    size_t nk = r.prefer.size();
    std::vector<llvm::AllocaInst*> best_present(nk), best_value(nk);
    for (size_t k = 0; k < nk; ++k) {
      best_present[k] = entry_alloca(i1_);
      best_value[k] = entry_alloca(part_a(r.prefer[k].key->type));
    }
    llvm::AllocaInst* best = entry_alloca(i64_);
    B_.CreateStore(B_.getInt64(-1), best);
    llvm::Value* rows = load_frame(ptr_, offsetof(JitFrame, demand_rows));
    llvm::Value* quantities = load_frame(ptr_, offsetof(JitFrame, demand_quantity));
    llvm::BasicBlock* finish = block("fast.finish");
    loop(w, finish, [&](llvm::Value* i, LV node, llvm::BasicBlock* step) {
      llvm::BasicBlock* take = block("fast.take");
      B_.CreateCondBr(node_excluded(i), step, take);
      B_.SetInsertPoint(take);
      slots_[1] = node;
      if (r.filter) {
        llvm::Value* pass = holds(*r.filter);
        llvm::BasicBlock* in = block("fast.passed");
        B_.CreateCondBr(pass, in, step);
        B_.SetInsertPoint(in);
      }
      std::vector<LV> keys;
      for (const auto& p : r.prefer) keys.push_back(lower(*p.key));
      llvm::Value* keep = safety_stock(r);
      // Better than the best so far? Missing keys rank last.
      llvm::BasicBlock* better = block("fast.better");
      llvm::BasicBlock* first = block("fast.first");
      llvm::BasicBlock* compare_keys = block("fast.compare");
      B_.CreateCondBr(B_.CreateICmpSLT(B_.CreateLoad(i64_, best), B_.getInt64(0)), first, compare_keys);
      B_.SetInsertPoint(first);
      B_.CreateBr(better);
      B_.SetInsertPoint(compare_keys);
      for (size_t k = 0; k < nk; ++k) {
        Type t = r.prefer[k].key->type;
        llvm::Value* np = is_present(keys[k]);
        llvm::Value* bp = B_.CreateLoad(i1_, best_present[k]);
        llvm::Value* bv = B_.CreateLoad(part_a(t), best_value[k]);
        // differ in presence: the present one is better
        llvm::BasicBlock* presence_differs = block("key.presence");
        llvm::BasicBlock* same_presence = block("key.same");
        B_.CreateCondBr(B_.CreateXor(np, bp), presence_differs, same_presence);
        B_.SetInsertPoint(presence_differs);
        B_.CreateCondBr(np, better, step);
        B_.SetInsertPoint(same_presence);
        llvm::BasicBlock* both = block("key.both");
        llvm::BasicBlock* next_key = block("key.next");
        B_.CreateCondBr(np, both, next_key);
        B_.SetInsertPoint(both);
        llvm::Value* c = three_way(*model::compare_form_of(t), keys[k], LV{nullptr, bv, nullptr}, t, t);
        bool lowest = r.prefer[k].direction == check::Preference::Direction::Lowest;
        llvm::Value* is_better = lowest ? B_.CreateICmpSLT(c, B_.getInt32(0)) : B_.CreateICmpSGT(c, B_.getInt32(0));
        llvm::Value* worse = lowest ? B_.CreateICmpSGT(c, B_.getInt32(0)) : B_.CreateICmpSLT(c, B_.getInt32(0));
        llvm::BasicBlock* not_better = block("key.notbetter");
        B_.CreateCondBr(is_better, better, not_better);
        B_.SetInsertPoint(not_better);
        B_.CreateCondBr(worse, step, next_key);
        B_.SetInsertPoint(next_key);
      }
      B_.CreateBr(step);  // equal on every key: the earlier node stays
      // Every SKU available at this node?
      B_.SetInsertPoint(better);
      llvm::BasicBlock* stocked = block("fast.stocked");
      llvm::BasicBlock* head = block("fast.demand");
      llvm::BasicBlock* body = block("fast.demand.body");
      B_.CreateBr(head);
      B_.SetInsertPoint(head);
      llvm::PHINode* d = B_.CreatePHI(i64_, 2);
      d->addIncoming(B_.getInt64(0), better);
      B_.CreateCondBr(B_.CreateICmpSLT(d, demand_count), body, stocked);
      B_.SetInsertPoint(body);
      llvm::Value* row = B_.CreateLoad(ptr_, B_.CreateInBoundsGEP(ptr_, rows, d));
      llvm::BasicBlock* has_row = block("fast.row");
      B_.CreateCondBr(B_.CreateIsNull(row), step, has_row);
      B_.SetInsertPoint(has_row);
      static_assert(sizeof(model::StockLevel) == 24, "StockLevel layout changed");
      llvm::Value* level = B_.CreateInBoundsGEP(i8_, row, B_.CreateMul(i, B_.getInt64(24)));
      llvm::Value* on_hand = B_.CreateLoad(i64_, level);
      llvm::Value* reserved = B_.CreateLoad(i64_, B_.CreateConstInBoundsGEP1_64(i8_, level, 8));
      llvm::Value* safety = B_.CreateLoad(i64_, B_.CreateConstInBoundsGEP1_64(i8_, level, 16));
      llvm::Value* held = B_.CreateSelect(B_.CreateICmpSGT(safety, keep), safety, keep);
      llvm::Value* atp = B_.CreateSub(B_.CreateSub(on_hand, reserved), held);
      atp = B_.CreateSelect(B_.CreateICmpSGT(atp, B_.getInt64(0)), atp, B_.getInt64(0));
      llvm::Value* need = B_.CreateLoad(i64_, B_.CreateInBoundsGEP(i64_, quantities, d));
      llvm::BasicBlock* enough = block("fast.enough");
      B_.CreateCondBr(B_.CreateICmpSGE(atp, need), enough, step);
      B_.SetInsertPoint(enough);
      d->addIncoming(B_.CreateAdd(d, B_.getInt64(1)), enough);
      B_.CreateBr(head);
      B_.SetInsertPoint(stocked);
      B_.CreateStore(i, best);
      for (size_t k = 0; k < nk; ++k) {
        B_.CreateStore(is_present(keys[k]), best_present[k]);
        B_.CreateStore(keys[k].a, best_value[k]);
      }
      B_.CreateBr(step);
    });
    slots_[1].reset();
    B_.SetInsertPoint(finish);
    llvm::Value* chosen = B_.CreateLoad(i64_, best);
    llvm::Value* found = B_.CreateICmpSGE(chosen, B_.getInt64(0));
    llvm::BasicBlock* record = block("fast.record");
    llvm::BasicBlock* done = block("fast.done");
    B_.CreateCondBr(found, record, done);
    B_.SetInsertPoint(record);
    B_.CreateCall(of_route_single_fn(), {frame_, chosen});
    B_.CreateBr(done);
    B_.SetInsertPoint(done);
    // Nothing to ship routes, with no shipment, whether or not a node passed.
    return B_.CreateOr(found, B_.CreateICmpEQ(demand_count, B_.getInt64(0)));
  }

  // ---------------------------------------------------------- state

  const check::CheckedBundle& b_;
  llvm::Module& m_;
  llvm::LLVMContext& c_;
  llvm::IRBuilder<LocalFolder> B_;
  std::vector<Atom>& atoms_;
  const check::Policy& policy_;
  llvm::GlobalVariable* zero_record_;
  bool explain_;
  bool record_rules_;
  bool part_ = false;
  std::map<unsigned, llvm::AllocaInst*> scratch_raws_;
  llvm::AllocaInst* scratch_flag_ = nullptr;
  static constexpr size_t kRulesPerPart = 48;

  llvm::Type *i1_, *i8_, *i32_, *i64_, *f64_;
  llvm::PointerType* ptr_;
  llvm::StructType* raw_;
  llvm::Function* fn_ = nullptr;
  llvm::BasicBlock* entry_ = nullptr;
  llvm::Value* frame_ = nullptr;
  llvm::Value* trace_values_ = nullptr;
  llvm::BasicBlock* error_block_ = nullptr;
  bool facts_ = false;  // whether atoms here are facts of the current rule or node
  std::vector<std::optional<LV>> slots_;
  std::optional<LV> self_;
  std::map<std::string, llvm::Value*> strings_;
  std::map<std::string, Memo>* memo_ = nullptr;
  llvm::BasicBlock* memo_init_ = nullptr;
  std::unordered_map<const Expr*, bool> memoizable_;
};

}  // namespace

LoweredBundle lower_bundle(const check::CheckedBundle& bundle, const LowerOptions& options) {
  LoweredBundle out;
  out.context = std::make_unique<llvm::LLVMContext>();
  out.module = std::make_unique<llvm::Module>(options.module_name, *out.context);
  // Reads of a missing record go here: zeros, as long as the largest record.
  uint32_t largest = 16;
  for (size_t r = 0; r < bundle.schema.record_count(); ++r)
    largest = std::max(largest, bundle.schema.record_def(static_cast<int>(r)).size);
  auto* zero_type = llvm::ArrayType::get(llvm::Type::getInt8Ty(*out.context), largest);
  auto* zero = new llvm::GlobalVariable(*out.module, zero_type, true, llvm::GlobalValue::PrivateLinkage,
                                        llvm::ConstantAggregateZero::get(zero_type), "zero_record");
  zero->setAlignment(llvm::Align(8));
  for (const check::Policy& p : bundle.policies) {
    std::string name = std::string("policy_") + check::policy_kind_name(p.kind) + (options.explain ? "_explain" : "");
    size_t atoms_before = out.atoms.size();
    try {
      FunctionLowerer(bundle, *out.module, out.atoms, p, zero, options).lower(name);
      out.functions[p.kind] = name;
    } catch (const Unsupported& u) {
      out.not_compiled[p.kind] = u.why;
      out.atoms.resize(atoms_before);
      if (llvm::Function* f = out.module->getFunction(name)) f->eraseFromParent();
    }
  }
  return out;
}

}  // namespace orderflow::lower
