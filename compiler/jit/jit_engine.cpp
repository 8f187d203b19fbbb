#include "compiler/jit/jit_engine.h"

#include <fmt/format.h>
#include <llvm/ExecutionEngine/ObjectCache.h>
#include <llvm/ExecutionEngine/Orc/CompileUtils.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/Module.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "compiler/jit/compiled.h"

namespace orderflow::jit {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void initialise_llvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

// Object files kept between runs. The key names everything the object
// depends on: the bundle's content, the optimisation level, the ABI and
// LLVM's version; a stale or foreign file is never loaded.
class DiskObjectCache : public llvm::ObjectCache {
 public:
  explicit DiskObjectCache(std::string dir) : dir_(std::move(dir)) {}

  bool has(const std::string& key) const { return std::filesystem::exists(path(key)); }

  void notifyObjectCompiled(const llvm::Module* m, llvm::MemoryBufferRef object) override {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    std::string final_path = path(m->getModuleIdentifier());
    std::string temp = final_path + ".tmp" + std::to_string(::getpid());
    {
      std::ofstream out(temp, std::ios::binary);
      out.write(object.getBufferStart(), static_cast<std::streamsize>(object.getBufferSize()));
      if (!out) return;  // a cache that cannot be written is only slower
    }
    std::filesystem::rename(temp, final_path, ec);
  }

  std::unique_ptr<llvm::MemoryBuffer> getObject(const llvm::Module* m) override {
    auto buffer = llvm::MemoryBuffer::getFile(path(m->getModuleIdentifier()));
    if (!buffer) return nullptr;
    return std::move(*buffer);
  }

 private:
  std::string path(const std::string& key) const { return dir_ + "/" + key + ".o"; }
  std::string dir_;
};

void optimise(llvm::Module& m, llvm::TargetMachine& tm, llvm::OptimizationLevel level) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(level);
  mpm.run(m, mam);
}

std::string hex_digest(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

size_t instruction_count(const llvm::Module& m) {
  size_t n = 0;
  for (const llvm::Function& f : m) n += f.getInstructionCount();
  return n;
}

// A JIT at one code generation level, with the helpers compiled code
// calls and the process's own symbols (memcmp, memcpy).
llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>> make_jit(llvm::CodeGenOptLevel level,
                                                         std::shared_ptr<DiskObjectCache> cache) {
  auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb) return jtmb.takeError();
  jtmb->setCodeGenOptLevel(level);
  auto jit = llvm::orc::LLJITBuilder()
                 .setJITTargetMachineBuilder(*jtmb)
                 .setCompileFunctionCreator([cache](llvm::orc::JITTargetMachineBuilder builder)
                                                -> llvm::Expected<std::unique_ptr<llvm::orc::IRCompileLayer::IRCompiler>> {
                   auto machine = builder.createTargetMachine();
                   if (!machine) return machine.takeError();
                   return std::make_unique<llvm::orc::TMOwningSimpleCompiler>(std::move(*machine), cache.get());
                 })
                 .create();
  if (!jit) return jit.takeError();
  llvm::orc::SymbolMap helpers;
  auto define = [&](const char* name, auto* fn) {
    helpers[(*jit)->mangleAndIntern(name)] = {llvm::orc::ExecutorAddr::fromPtr(fn),
                                             llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable};
  };
#define ORDERFLOW_DEFINE_HELPER(name, ret, ...) define(#name, &::orderflow::lower::name);
  ORDERFLOW_JIT_HELPERS(ORDERFLOW_DEFINE_HELPER)
#undef ORDERFLOW_DEFINE_HELPER
  if (auto err = (*jit)->getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(helpers)))) return std::move(err);
  auto process =
      llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess((*jit)->getDataLayout().getGlobalPrefix());
  if (!process) return process.takeError();
  (*jit)->getMainJITDylib().addGenerator(std::move(*process));
  return std::move(*jit);
}

// Adds one lowered module to a JIT (optimising it first, unless its object
// is cached) and looks its functions up into `functions`. Returns a reason
// on failure.
std::string add_module(llvm::orc::LLJIT& jit, lower::LoweredBundle lowered, bool optimise_ir, const std::string& tier,
                       const std::string& cache_dir, std::atomic<PolicyFunction> (&functions)[check::kPolicyKindCount],
                       std::map<check::PolicyKind, std::string>& failures, bool& from_cache) {
  llvm::Module& module = *lowered.module;
  module.setDataLayout(jit.getDataLayout());
  module.setTargetTriple(jit.getTargetTriple().str());
  if (!cache_dir.empty()) {
    // The key is the IR itself, so that a cached object can only be the
    // compilation of exactly this code by this LLVM at this tier.
    std::string ir;
    llvm::raw_string_ostream os(ir);
    module.print(os, nullptr);
    module.setModuleIdentifier(fmt::format("orderflow-{}-{}-llvm{}", hex_digest(ir), tier, LLVM_VERSION_MAJOR));
    from_cache = DiskObjectCache(cache_dir).has(module.getModuleIdentifier());
  } else {
    module.setModuleIdentifier("orderflow-" + tier);
    from_cache = false;
  }
  if (optimise_ir && !from_cache) {
    auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!jtmb) return llvm::toString(jtmb.takeError());
    auto machine = jtmb->createTargetMachine();
    if (!machine) return llvm::toString(machine.takeError());
    optimise(module, **machine, llvm::OptimizationLevel::O2);
  }
  std::map<check::PolicyKind, std::string> names = lowered.functions;
  if (auto err = jit.addIRModule(llvm::orc::ThreadSafeModule(std::move(lowered.module), std::move(lowered.context))))
    return llvm::toString(std::move(err));
  for (const auto& [kind, name] : names) {
    auto address = jit.lookup(name);
    if (!address) {
      failures[kind] = "compilation failed: " + llvm::toString(address.takeError());
      continue;
    }
    functions[static_cast<int>(kind)].store(address->toPtr<PolicyFunction>(), std::memory_order_release);
  }
  return "";
}

}  // namespace

std::string dump_ir(const check::CheckedBundle& bundle, bool optimised) {
  lower::LoweredBundle lowered = lower::lower_bundle(bundle, {"orderflow"});
  std::string out;
  llvm::raw_string_ostream os(out);
  for (const auto& [kind, why] : lowered.not_compiled)
    os << "; the " << check::policy_kind_name(kind) << " policy is not compiled: " << why << "\n";
  if (optimised) {
    initialise_llvm();
    auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!jtmb) return "; cannot compile for this machine\n";
    auto tm = jtmb->createTargetMachine();
    if (!tm) return "; cannot compile for this machine\n";
    lowered.module->setDataLayout((*tm)->createDataLayout());
    lowered.module->setTargetTriple((*tm)->getTargetTriple().str());
    optimise(*lowered.module, **tm, llvm::OptimizationLevel::O2);
  }
  lowered.module->print(os, nullptr);
  return out;
}

JitEngine::JitEngine(std::shared_ptr<const check::CheckedBundle> bundle, JitOptions options)
    : bundle_(std::move(bundle)), options_(std::move(options)), interpreter_(bundle_) {}

std::unique_ptr<JitEngine> JitEngine::create(std::shared_ptr<const check::CheckedBundle> bundle, JitOptions options) {
  std::unique_ptr<JitEngine> engine(new JitEngine(std::move(bundle), std::move(options)));
  JitEngine* raw = engine.get();
  engine->worker_ = std::thread([raw] { raw->compile(); });
  engine->wait_for(engine->options_.wait);
  return engine;
}

JitEngine::~JitEngine() {
  // A tier being compiled is finished (LLVM cannot be interrupted), the
  // ones after it are not started.
  stopping_.store(true);
  if (worker_.joinable()) worker_.join();
}

void JitEngine::wait_for(JitOptions::Wait what) const {
  if (what == JitOptions::Wait::Nothing) return;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(status_mutex_);
      bool done = status_.finished || (what == JitOptions::Wait::Baseline && status_.compiled) ||
                  (what == JitOptions::Wait::Optimised && status_.optimised);
      if (done) return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

JitStatus JitEngine::status() const {
  std::lock_guard<std::mutex> lock(status_mutex_);
  return status_;
}

bool JitEngine::is_compiled(check::PolicyKind kind) const {
  const CompiledPolicies* c = compiled_.load(std::memory_order_acquire);
  return c && c->plain.functions[static_cast<int>(kind)].load(std::memory_order_acquire);
}

void JitEngine::compile() {
  auto update = [&](auto&& change) {
    std::lock_guard<std::mutex> lock(status_mutex_);
    change(status_);
  };
  auto finish = [&](std::string warning) {
    update([&](JitStatus& s) {
      s.finished = true;
      if (!warning.empty()) s.warning = s.warning.empty() ? warning : s.warning + "; " + warning;
    });
  };
  try {
    auto start = Clock::now();
    lower::LoweredBundle lowered = lower::lower_bundle(*bundle_, {"orderflow", false, options_.record_rules});
    double lower_ms = ms_since(start);
    size_t instructions = instruction_count(*lowered.module);
    std::map<check::PolicyKind, std::string> interpreted = lowered.not_compiled;
    update([&](JitStatus& s) {
      s.lower_ms = lower_ms;
      s.ir_instructions = instructions;
      s.interpreted = interpreted;
    });
    if (lowered.functions.empty()) {
      finish(bundle_->policies.empty() ? "" : "no policy could be compiled; the interpreter serves them all");
      return;
    }
    initialise_llvm();
    std::shared_ptr<DiskObjectCache> cache;
    if (!options_.cache_dir.empty()) cache = std::make_shared<DiskObjectCache>(options_.cache_dir);

    // Baseline tier: no IR optimisation, the fast instruction selector.
    auto baseline = make_jit(llvm::CodeGenOptLevel::None, cache);
    if (!baseline) {
      finish("the JIT could not start: " + llvm::toString(baseline.takeError()));
      return;
    }
    auto compiled = std::make_unique<CompiledPolicies>();
    compiled->bundle = bundle_;
    compiled->routing_fields = engine::RoutingFields::resolve(*bundle_);
    for (const check::Policy& p : bundle_->policies) compiled->policies[static_cast<int>(p.kind)] = &p;
    compiled->plain.atoms = lowered.atoms;
    bool from_cache = false;
    if (std::string why = add_module(**baseline, std::move(lowered), false, "baseline", options_.cache_dir,
                                     compiled->plain.functions, interpreted, from_cache);
        !why.empty()) {
      finish("the JIT could not take the policies: " + why);
      return;
    }
    bool any = false;
    for (auto& f : compiled->plain.functions) any |= f.load() != nullptr;
    compiled->jits.push_back(std::move(*baseline));
    CompiledPolicies* published = compiled.get();
    compiled_storage_ = std::move(compiled);
    compiled_.store(published, std::memory_order_release);
    std::string warning;
    for (const auto& [kind, why] : interpreted)
      warning += fmt::format("{}the {} policy is interpreted: {}", warning.empty() ? "" : "; ",
                             check::policy_kind_name(kind), why);
    double baseline_ms = ms_since(start);
    update([&](JitStatus& s) {
      s.compiled = any;
      s.baseline_ms = baseline_ms;
      s.from_cache = from_cache;
      s.interpreted = interpreted;
      s.warning = warning;
    });
    if (!any) {
      finish("");
      return;
    }

    // Optimised tier: replaces the baseline's functions as it lands.
    if (stopping_.load()) {
      finish("");
      return;
    }
    if (instructions > options_.optimise_up_to) {
      update([&](JitStatus& s) {
        s.warning += fmt::format("{}the policies stay unoptimised: {} IR instructions is more than the optimiser takes ({})",
                                 s.warning.empty() ? "" : "; ", instructions, options_.optimise_up_to);
      });
    } else {
      auto optimised = make_jit(llvm::CodeGenOptLevel::Default, cache);
      if (optimised) {
        std::map<check::PolicyKind, std::string> failures;
        bool cached = false;
        lower::LoweredBundle again = lower::lower_bundle(*bundle_, {"orderflow", false, options_.record_rules});
        std::string why = add_module(**optimised, std::move(again), true, "optimised", options_.cache_dir,
                                     published->plain.functions, failures, cached);
        if (why.empty()) {
          published->jits.push_back(std::move(*optimised));
          double optimised_ms = ms_since(start);
          update([&](JitStatus& s) {
            s.optimised = true;
            s.optimised_ms = optimised_ms;
          });
        }
      }
    }

    // The explaining variant, for `explain` and audits; until it is ready
    // the interpreter explains (with the same result).
    if (stopping_.load()) {
      finish("");
      return;
    }
    lower::LoweredBundle explaining = lower::lower_bundle(*bundle_, {"orderflow", true});
    published->explain.atoms = explaining.atoms;
    std::map<check::PolicyKind, std::string> failures;
    bool cached = false;
    if (add_module(*published->jits.front(), std::move(explaining), false, "explain", options_.cache_dir,
                   published->explain.functions, failures, cached)
            .empty()) {
      published->explain_ready.store(true, std::memory_order_release);
      double explain_ms = ms_since(start);
      update([&](JitStatus& s) {
        s.explainable = true;
        s.explain_ms = explain_ms;
      });
    }
    finish("");
  } catch (const std::exception& e) {
    finish(std::string("compilation failed, the interpreter serves every policy: ") + e.what());
  }
}

bool JitEngine::condition_holds(const check::Expr& condition, int slots, const engine::EvalInput& input) const {
  // Guards and test conditions are not on the hot path.
  return interpreter_.condition_holds(condition, slots, input);
}

std::optional<int64_t> JitEngine::milliseconds_of(const check::Expr& e, int slots,
                                                 const engine::EvalInput& input) const {
  return interpreter_.milliseconds_of(e, slots, input);
}

void JitEngine::evaluate_into(check::PolicyKind kind, const engine::EvalInput& input, engine::TraceDetail detail,
                              engine::Outcome& out) const {
  const CompiledPolicies* compiled = compiled_.load(std::memory_order_acquire);
  const CompiledVariant* variant = nullptr;
  if (compiled) {
    if (detail == engine::TraceDetail::Rules) variant = &compiled->plain;
    else if (compiled->explain_ready.load(std::memory_order_acquire)) variant = &compiled->explain;
  }
  PolicyFunction fn = variant ? variant->functions[static_cast<int>(kind)].load(std::memory_order_acquire) : nullptr;
  if (!fn) {
    interpreter_.evaluate_into(kind, input, detail, out);
    return;
  }
  out.reset(kind);
  const check::Policy* policy = compiled->policies[static_cast<int>(kind)];
  if (!input.order) return;
  // A policy about a return, a unit or a failed delivery decides nothing without one.
  if (bundle_->subject_record(kind) >= 0 && !input.subject) return;

  // One per thread, reused: routing's scratch keeps its capacity.
  thread_local FrameState state;
  state.reset();
  state.compiled = compiled;
  state.atoms = &variant->atoms;
  state.policy = policy;
  state.outcome = &out;
  state.detail = detail;
  state.inventory = input.inventory ? input.inventory : bundle_->inventory.get();
  state.history = input.history;

  lower::JitFrame frame{};
  frame.engine = compiled;
  frame.order = input.order;
  frame.now = input.now;
  if (state.inventory) {
    frame.nodes = state.inventory->node_images();
    frame.node_count = state.inventory->node_count();
  }
  // Inactive nodes are never routed to; nodes the caller excludes neither.
  const uint8_t* inactive = state.inventory ? state.inventory->inactive() : nullptr;
  if (input.excluded_nodes) {
    std::vector<uint8_t>& excluded = state.excluded;
    excluded.assign(frame.node_count, 0);
    for (size_t i = 0; i < input.excluded_nodes->size() && i < excluded.size(); ++i) excluded[i] = (*input.excluded_nodes)[i];
    for (size_t i = 0; inactive && i < excluded.size(); ++i) excluded[i] |= inactive[i];
    frame.excluded = excluded.data();
  } else {
    frame.excluded = inactive;
  }
  frame.trace_values = detail == engine::TraceDetail::Values;
  frame.subject = input.subject;
  frame.deciding_rule = -2;
  size_t words = (policy->rules.size() + 63) / 64;
  if (out.matched.size() < words) out.matched.resize(words, 0);
  frame.matched = out.matched.data();
  frame.outcome = &out;
  frame.driver = &state;

  fn(&frame);

  out.rules_evaluated = frame.rules_evaluated;
  out.otherwise_evaluated = frame.otherwise_evaluated;
  if (frame.has_priority) out.priority = frame.priority;
  if (frame.failed) {
    // Never let anything through on failure: a person looks at it.
    engine::fail_safe(out);
    out.deciding_rule = frame.deciding_rule;
    out.deciding_rule_name = frame.deciding_rule >= 0 ? policy->rules[frame.deciding_rule].name : policy->otherwise->name;
    return;
  }
  if (frame.has_delivery) {
    out.delivery = frame.delivery;
    out.delivery_rule = frame.delivery_rule >= 0 ? policy->rules[frame.delivery_rule].name : policy->otherwise->name;
  }
  if (frame.deciding_rule == -2) {
    if (kind == check::PolicyKind::Routing) {
      out.verdict = engine::Verdict::Hold;
      out.reason = "no_route";
    }
    return;
  }
  const check::Rule& rule = frame.deciding_rule >= 0 ? policy->rules[frame.deciding_rule] : *policy->otherwise;
  const check::Action& action = rule.actions[rule.deciding_action];
  out.deciding_rule = frame.deciding_rule;
  out.deciding_rule_name = rule.name;
  if (frame.decision_source == lower::kRouted) {
    out.verdict = engine::Verdict::Route;
    return;
  }
  const check::Decision& d = frame.decision_source == lower::kRouteElse ? *action.route.else_decision : action.decision;
  engine::apply_decision_words(d, out);
  if (frame.has_hold_for) out.hold_for = frame.hold_for;
  if (frame.has_reschedule) out.reschedule_at = frame.reschedule_at;
}

}  // namespace orderflow::jit
