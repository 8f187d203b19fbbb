#include "runtime/engine/deployments.h"

#include "runtime/engine/deadline.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <dtl/dtl.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "compiler/interp/interpreter.h"
#include "compiler/jit/jit_engine.h"

namespace orderflow::runtime {

namespace fs = std::filesystem;

std::unique_ptr<engine::PolicyEngine> make_policy_engine(std::shared_ptr<const check::CheckedBundle> bundle,
                                                         const EngineChoice& choice, std::string* warning) {
  if (choice.kind == "interp") return std::make_unique<interp::Interpreter>(std::move(bundle));
  jit::JitOptions options;
  options.wait = choice.wait_for_native ? jit::JitOptions::Wait::Everything : jit::JitOptions::Wait::Nothing;
  options.cache_dir = choice.cache_dir;
  auto engine = jit::JitEngine::create(std::move(bundle), options);
  if (warning && choice.wait_for_native) *warning = engine->status().warning;
  return engine;
}

namespace {

bool kept_extension(const fs::path& p) {
  static const char* kinds[] = {".flow", ".csv", ".json", ".jsonl", ".md", ".txt"};
  std::string ext = p.extension().string();
  return std::any_of(std::begin(kinds), std::end(kinds), [&](const char* k) { return ext == k; });
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(text);
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

}  // namespace

std::vector<DeploymentFile> read_bundle_folder(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw std::runtime_error(fmt::format("'{}' is not a bundle folder", dir));
  constexpr size_t kLimit = 64u << 20;
  std::vector<DeploymentFile> files;
  size_t total = 0;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (it->is_directory() && (name.starts_with(".") || name == "node_modules")) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || !kept_extension(it->path())) continue;
    auto text = read_text_file(it->path());
    if (!text) throw std::runtime_error(fmt::format("cannot read '{}'", it->path().string()));
    total += text->size();
    if (total > kLimit) throw std::runtime_error(fmt::format("the bundle '{}' is larger than 64 MiB", dir));
    files.push_back({fs::relative(it->path(), dir).generic_string(), std::move(*text)});
  }
  if (ec) throw std::runtime_error(fmt::format("cannot read the folder '{}': {}", dir, ec.message()));
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return files;
}

std::string files_hash(const std::vector<DeploymentFile>& files) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  for (const DeploymentFile& f : files) {
    // Lengths first, so that no two different sets of files hash alike.
    std::string header = fmt::format("{}:{}:{}:", f.path.size(), f.path, f.text.size());
    EVP_DigestUpdate(ctx, header.data(), header.size());
    EVP_DigestUpdate(ctx, f.text.data(), f.text.size());
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, digest, &length);
  EVP_MD_CTX_free(ctx);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

check::CheckOutcome check_files(const std::string& root, const std::vector<DeploymentFile>& files) {
  check::CheckOptions options;
  options.bundle_root = root;
  std::vector<std::string> flow_files;
  for (const DeploymentFile& f : files) {
    std::string path = (fs::path(root) / f.path).lexically_normal().generic_string();
    options.overlay[path] = f.text;
    if (fs::path(f.path).extension() == ".flow") flow_files.push_back(path);
  }
  if (flow_files.empty()) flow_files.push_back(root);  // reported as a folder without .flow files
  return check::check_bundle(flow_files, options);
}

namespace {

// Whether the live deployment already has this content (deploying it again changes nothing).
bool is_live_content(Store& store, const std::string& content_hash) {
  std::optional<int64_t> live = store.deployments().live();
  std::optional<Deployment> current = live ? store.deployments().get(*live) : std::nullopt;
  return current && current->content_hash == content_hash;
}

}  // namespace

DeployResult deploy_bundle(Store& store, const std::string& dir, int64_t now, const EngineChoice& choice,
                           const DeployOptions& options) {
  DeployResult result;
  std::vector<DeploymentFile> files;
  try {
    files = read_bundle_folder(dir);
  } catch (const std::exception& e) {
    result.message = e.what();
    return result;
  }
  check::CheckOutcome checked = check_files(dir, files);
  result.diagnostics = checked.diagnostics.empty()
                           ? ""
                           : render_text(checked.diagnostics, *checked.sources, {options.color});
  if (!checked.ok()) {
    result.message = fmt::format("the bundle has {}; it was not deployed, and the live version stays",
                                 summary_line(checked.diagnostics));
    return result;
  }
  std::shared_ptr<const check::CheckedBundle> bundle(std::move(checked.bundle));
  // A deployment keeps what the bundle is: its .flow files and the files
  // they read (data, test orders, channels.csv); notes and run logs in the
  // folder are left out, and said to be.
  std::set<std::string> read;
  for (size_t i = 0; i < checked.sources->size(); ++i)
    read.insert(checked.sources->file(static_cast<FileId>(i)).path());
  for (const check::PolicyTest& t : bundle->tests) {
    read.insert(t.order_origin);
    if (!t.history_origin.empty()) read.insert(t.history_origin);
  }
  std::vector<DeploymentFile> kept;
  for (DeploymentFile& f : files) {
    std::string full = (fs::path(dir) / f.path).lexically_normal().generic_string();
    if (fs::path(f.path).extension() == ".flow" || read.count(full))
      kept.push_back(std::move(f));
    else
      result.left_out.push_back(f.path);
  }
  files = std::move(kept);
  // Compiled before it goes live, so that a warning comes now, not with the first order.
  EngineChoice compile = choice;
  compile.wait_for_native = true;
  std::unique_ptr<engine::PolicyEngine> serving = make_policy_engine(bundle, compile, &result.warning);

  Deployment d;
  d.content_hash = files_hash(files);
  std::string despite;  // the override, when tests failed and the operator went on
  if (options.failing_tests && !is_live_content(store, d.content_hash)) {
    std::vector<std::string> failing = options.failing_tests(*serving);
    if (!failing.empty()) {
      std::string list;
      for (const std::string& f : failing) list += "  " + f + "\n";
      if (options.despite_failing_tests.empty()) {
        result.diagnostics += fmt::format("failing policy tests:\n{}", list);
        result.message = fmt::format(
            "{} of the bundle's {} policy test{} fail{}; it was not deployed, and the live version stays (fix them, "
            "or deploy anyway with --despite-failing-tests \"why\", which is recorded with the deployment)",
            failing.size(), bundle->tests.size(), bundle->tests.size() == 1 ? "" : "s",
            failing.size() == 1 ? "s" : "");
        return result;
      }
      despite = fmt::format("deployed despite {} failing policy test{}: \"{}\"", failing.size(),
                            failing.size() == 1 ? "" : "s", options.despite_failing_tests);
      d.note = fmt::format("{}; failing:\n{}", despite, list);
    }
  }
  d.version = bundle->declared_version();
  const check::Policy* main = bundle->policy(check::PolicyKind::Acceptance);
  for (const check::Policy& p : bundle->policies)
    if (!main) main = &p;
  if (main) {
    d.owner = main->owner;
    d.title = main->title;
  }
  d.deployed_at = now;
  d.source = dir;
  d.files = std::move(files);

  store.begin();
  try {
    std::optional<int64_t> live = store.deployments().live();
    if (live) {
      std::optional<Deployment> current = store.deployments().get(*live);
      if (current && current->content_hash == d.content_hash) {
        store.rollback();
        result.status = DeployResult::Status::Unchanged;
        result.id = *live;
        result.message = fmt::format("deployment {} (version {}) is already live with this content", *live,
                                     current->version.empty() ? "-" : current->version);
        return result;
      }
    }
    result.id = store.deployments().add(d);
    store.deployments().set_live(result.id);
    store.commit();
  } catch (...) {
    store.rollback();
    throw;
  }
  result.status = DeployResult::Status::Deployed;
  result.message = fmt::format("deployed {} as deployment {} (version {}, content {})", dir, result.id,
                               d.version.empty() ? "-" : d.version, d.content_hash.substr(0, 12));
  if (!despite.empty()) result.message += "; " + despite;
  if (!result.left_out.empty())
    result.message += fmt::format("; left out {} file{} the bundle does not read: {}", result.left_out.size(),
                                  result.left_out.size() == 1 ? "" : "s", fmt::join(result.left_out, ", "));
  return result;
}

std::unique_ptr<LoadedDeployment> load_deployment(Store& store, int64_t id, const EngineChoice& choice) {
  std::optional<Deployment> d = store.deployments().get(id);
  if (!d) throw std::runtime_error(fmt::format("there is no deployment {}", id));
  check::CheckOutcome checked = check_files(d->source, d->files);
  if (!checked.ok())
    throw std::runtime_error(fmt::format(
        "deployment {} no longer checks with this build of orderflow ({}): {}", id,
        summary_line(checked.diagnostics), render_text(checked.diagnostics, *checked.sources)));
  auto loaded = std::make_unique<LoadedDeployment>();
  loaded->bundle = std::shared_ptr<const check::CheckedBundle>(std::move(checked.bundle));
  loaded->engine = make_policy_engine(loaded->bundle, choice);
  loaded->lifecycle = std::make_unique<Lifecycle>(*loaded->bundle);
  loaded->return_lifecycle = std::make_unique<Lifecycle>(*loaded->bundle, loaded->bundle->return_machine);
  loaded->channels = ChannelPlan::from_bundle(*loaded->bundle);
  if (const check::Policy* p = loaded->bundle->policy(check::PolicyKind::Escalation))
    for (const check::Rule& r : p->rules) loaded->escalation_reads_clock.push_back(r.when && reads_clock(*r.when));
  d->files.clear();
  loaded->meta = std::move(*d);
  return loaded;
}

std::optional<Deployment> find_deployment(Store& store, const std::string& name) {
  if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (auto d = store.deployments().get(std::stoll(name))) return d;
  }
  std::optional<Deployment> found;
  for (Deployment& d : store.deployments().list(false))
    if (d.version == name || (name.size() >= 6 && d.content_hash.rfind(name, 0) == 0)) found = d;
  if (found) return store.deployments().get(found->id);
  return std::nullopt;
}

std::string diff_deployments(const Deployment& from, const Deployment& to) {
  std::map<std::string, std::pair<const std::string*, const std::string*>> files;
  for (const DeploymentFile& f : from.files) files[f.path].first = &f.text;
  for (const DeploymentFile& f : to.files) files[f.path].second = &f.text;
  static const std::string kEmpty;
  std::ostringstream out;
  for (const auto& [path, texts] : files) {
    const std::string& a = texts.first ? *texts.first : kEmpty;
    const std::string& b = texts.second ? *texts.second : kEmpty;
    if (texts.first && texts.second && a == b) continue;
    std::vector<std::string> la = split_lines(a), lb = split_lines(b);
    dtl::Diff<std::string> diff(la, lb);
    diff.compose();
    diff.composeUnifiedHunks();
    out << "--- " << (texts.first ? fmt::format("{} (deployment {})", path, from.id) : "/dev/null") << "\n";
    out << "+++ " << (texts.second ? fmt::format("{} (deployment {})", path, to.id) : "/dev/null") << "\n";
    diff.printUnifiedFormat(out);
  }
  return out.str();
}

}  // namespace orderflow::runtime
