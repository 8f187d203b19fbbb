#pragma once
// Versioned policy deployment: a bundle folder checked, compiled and kept in
// the store with its files' text, so that any version an order was decided
// by can be loaded again, shown and compared.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "compiler/check/checker.h"
#include "compiler/engine/engine.h"
#include "runtime/engine/lifecycle.h"
#include "runtime/engine/stock.h"
#include "runtime/store/store.h"

namespace orderflow::runtime {

// "jit" (compiled; the interpreter serves until native code is ready, and
// whenever compilation fails) or "interp".
struct EngineChoice {
  std::string kind = "jit";
  bool wait_for_native = false;  // block until the optimised code serves
  std::string cache_dir;         // compiled objects kept between runs
};

std::unique_ptr<engine::PolicyEngine> make_policy_engine(std::shared_ptr<const check::CheckedBundle> bundle,
                                                         const EngineChoice& choice, std::string* warning = nullptr);

// A deployment ready to decide orders.
struct LoadedDeployment {
  Deployment meta;  // without its files
  std::shared_ptr<const check::CheckedBundle> bundle;
  std::unique_ptr<engine::PolicyEngine> engine;
  std::unique_ptr<Lifecycle> lifecycle;
  std::unique_ptr<Lifecycle> return_lifecycle;  // machine return_lifecycle
  ChannelPlan channels;
  // Its nodes over the engine's live stock; set by the engine that loads it.
  std::unique_ptr<LiveInventory> inventory;
  // Per escalation rule, whether its condition reads the clock (and so
  // needs a timer): asked after every change to every order.
  std::vector<bool> escalation_reads_clock;
};

// The files of a bundle folder worth keeping: policies, data, test orders
// and notes (.flow, .csv, .json, .jsonl, .md, .txt), by path relative to it.
std::vector<DeploymentFile> read_bundle_folder(const std::string& dir);

// sha256 over the files' paths and texts.
std::string files_hash(const std::vector<DeploymentFile>& files);

// Checks a bundle from its files' texts, as if they sat under `root`.
check::CheckOutcome check_files(const std::string& root, const std::vector<DeploymentFile>& files);

struct DeployResult {
  enum class Status { Deployed, Unchanged, Refused } status = Status::Refused;
  int64_t id = 0;  // the new (or unchanged live) deployment
  std::string message;
  std::string diagnostics;  // rendered, when refused (or with warnings)
  std::string warning;      // the JIT's, when it could not compile something
  std::vector<std::string> left_out;  // files of the folder the bundle does not read, not kept
};

// What a deployment must pass beyond the checker, and who said to go on
// regardless.
struct DeployOptions {
  bool color = false;
  // Runs the bundle's policy tests (its stories too) on the engine it will
  // serve with, and describes each that fails ("name (file:line): what").
  // Unset: none are run (a story's own scratch deployment).
  std::function<std::vector<std::string>(const engine::PolicyEngine&)> failing_tests;
  // Deploy even when tests fail: the reason, recorded with the deployment.
  std::string despite_failing_tests;
};

// Checks and compiles the bundle and runs its tests; when it is clean and
// they pass (or the operator gave a reason to go on), records it and makes
// it live in one transaction. Otherwise nothing changes.
DeployResult deploy_bundle(Store& store, const std::string& dir, int64_t now, const EngineChoice& choice,
                           const DeployOptions& options = {});

// Loads a recorded deployment (checking its stored files again).
std::unique_ptr<LoadedDeployment> load_deployment(Store& store, int64_t id, const EngineChoice& choice);

// A deployment named by the operator: its id ("3"), its declared version
// ("2026.11-3", the latest with that version), or a content hash prefix.
std::optional<Deployment> find_deployment(Store& store, const std::string& name);

// What changed in the policy text between two deployments, as a unified
// diff per file (files added or removed shown whole).
std::string diff_deployments(const Deployment& from, const Deployment& to);

}  // namespace orderflow::runtime
