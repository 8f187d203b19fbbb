#include "connectors/intake/intake.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <future>
#include <iostream>
#include <map>

#include "connectors/connector.h"
#include "runtime/canonical/json_parse.h"
#include "runtime/engine/history.h"

namespace orderflow::intake {

namespace {

using Clock = std::chrono::steady_clock;

HttpResponse json_response(int status, nlohmann::json body) {
  return {status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json"};
}

std::string header(const HttpRequest& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

}  // namespace

IntakeConfig IntakeConfig::from_json(const nlohmann::json& j) {
  IntakeConfig c;
  if (j.contains("secrets"))
    for (const auto& [channel, secret] : j["secrets"].items()) {
      if (secret.is_string()) c.secrets[channel] = {secret.get<std::string>(), "", ""};
      else
        c.secrets[channel] = {secret.value("app_secret", secret.value("secret", "")), secret.value("app_key", ""),
                              secret.value("header", "")};
    }
  c.api_token = j.value("api_token", "");
  c.body_limit = j.value("body_limit", c.body_limit);
  c.max_connections = j.value("max_connections", c.max_connections);
  c.read_timeout = std::chrono::seconds(j.value("read_timeout_seconds", 10));
  c.io_threads = j.value("io_threads", c.io_threads);
  c.commit_every = std::chrono::milliseconds(j.value("commit_every_ms", c.commit_every.count()));
  c.inbox_keep_days = j.value("inbox_keep_days", c.inbox_keep_days);
  c.decider_nice = j.value("decider_nice", c.decider_nice);
  c.decider_raise_backlog = j.value("decider_raise_backlog", c.decider_raise_backlog);
  c.decider_idle = j.value("decider_idle", c.decider_idle);
  if (j.contains("pollers")) c.pollers = j["pollers"];
  if (j.contains("outbound")) c.outbound = j["outbound"];
  return c;
}

Intake::Intake(runtime::EngineThread& engine, int64_t decided, runtime::Store& reader, runtime::Inbox& inbox,
               std::string inbox_path, IntakeConfig config)
    : engine_(engine), reader_(reader), config_(std::move(config)), inbox_(inbox), inbox_path_(std::move(inbox_path)) {
  std::lock_guard lock(inbox_mutex_);
  inbox_last_ = inbox_.last_seq();
  decided_ = decided;
  posted_ = decided;
}

Intake::~Intake() { stop(); }

void Intake::start() {
  decider_ = std::thread([this] { decider(); });
  {
    std::lock_guard lock(priority_mutex_);
    decider_idle_ = false;
    set_decider_idle(config_.decider_idle);
  }
  committer_ = std::thread([this] { committer(); });
}

void Intake::stop() {
  {
    std::lock_guard lock(waiting_mutex_);
    stopping_ = true;
  }
  waiting_signal_.notify_all();
  if (committer_.joinable()) committer_.join();
  {
    std::lock_guard lock(decide_mutex_);
    stop_deciding_ = true;
  }
  decide_signal_.notify_all();
  if (decider_.joinable()) decider_.join();
}

void Intake::committer() {
  pthread_setname_np(pthread_self(), "of-inbox");
  std::unique_lock lock(waiting_mutex_);
  for (;;) {
    // Group commit: what arrives while a commit runs goes in the next one,
    // at once; an answer alone waits at most commit_every for company.
    while (!waiting_signal_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || !waiting_.empty(); }))
      watch_decider();
    if (waiting_.empty()) return;  // stopping, and nothing left to answer
    if (waiting_.size() == 1 && !stopping_)
      waiting_signal_.wait_for(lock, config_.commit_every, [&] { return stopping_ || waiting_.size() > 1; });
    auto batch = std::move(waiting_);
    waiting_.clear();
    lock.unlock();
    std::string failure;
    bool inbox_failed = false;
    {
      // The webhooks' bodies are written here, not on the threads that read
      // them: those go on reading while this one waits for the disk.
      std::lock_guard inbox_lock(inbox_mutex_);
      std::vector<std::pair<std::string, bool>> taken;  // channel, new
      try {
        for (Waiting& w : batch) {
          if (!w.keep) continue;
          if (!inbox_.in_transaction()) inbox_.begin();
          bool fresh = inbox_.add(*w.keep);
          // Written out, not built as a document: it is every webhook's answer.
          w.response = {200,
                        fresh ? fmt::format(R"({{"inbox":{},"status":"accepted"}})", w.keep->seq)
                              : std::string(R"({"status":"duplicate"})"),
                        "application/json"};
          taken.emplace_back(w.keep->channel, fresh);
        }
        if (inbox_.in_transaction()) inbox_.commit();
        inbox_last_ = inbox_.last_seq();
        std::lock_guard fresh_lock(fresh_mutex_);
        for (Waiting& w : batch)
          if (w.keep && w.keep->seq > 0 && fresh_.size() < kFreshEntries) fresh_.push_back(std::move(*w.keep));
        for (const auto& [channel, fresh] : taken) count(channel, fresh ? "accepted" : "duplicate");
      } catch (const std::exception& e) {
        // Nothing of the batch was stored: every sender hears so and sends again.
        failure = e.what();
        inbox_.rollback();
        inbox_failed = true;
      }
    }
    if (!failure.empty()) {
      std::lock_guard m(metrics_mutex_);
      ++commit_failures_;
    }
    for (Waiting& w : batch) {
      if (inbox_failed)
        w.response = json_response(503, {{"error", "not stored, send again: " +
                                                       (failure.empty() ? std::string("the store failed") : failure)}});
      w.done(std::move(w.response));
    }
    decide_signal_.notify_one();
    watch_decider();
    lock.lock();
  }
}

size_t Intake::post_pending() {
  if (!inbox_reader_) {
    runtime::SqliteOptions read_only;
    read_only.read_only = true;
    inbox_reader_ = runtime::open_sqlite_inbox(inbox_path_, read_only);
  }
  size_t total = 0;
  // A batch at a time, so that stopping waits for one batch, not the backlog.
  while (!stop_deciding_) {
    if (post_failed_.exchange(false)) {
      // A batch of the engine failed: what it had was not stored, and what
      // was posted after it was refused. Post again from where the engine is.
      engine_.flush();
      post_failed_ = false;
      posted_ = decided_.load();
      throw std::runtime_error("the engine could not store a batch of the inbox");
    }
    std::vector<runtime::InboxEntry> entries = next_entries(posted_, 512);
    if (entries.empty()) return total;
    std::vector<std::vector<runtime::Input>> normalized = normalize_all(entries, posted_);
    // Posted a handful of entries at a time, so that the engine decides
    // them in batches while the next are normalized (one commit, one wake
    // for many, not one each).
    constexpr size_t kPostEvery = 64;
    std::vector<std::pair<runtime::Input, runtime::EngineThread::Completion>> ready;
    size_t in_ready = 0;
    auto post_ready = [&] {
      if (!ready.empty()) engine_.post_all(std::move(ready));
      ready.clear();
      in_ready = 0;
    };
    for (size_t i = 0; i < entries.size(); ++i) {
      const runtime::InboxEntry& e = entries[i];
      for (runtime::Input& input : normalized[i]) {
        bool last = input.inbox.last;
        bool order = std::holds_alternative<runtime::NewOrder>(input.body);
        bool counted = !std::holds_alternative<runtime::NothingToDecide>(input.body);
        ready.emplace_back(std::move(input), [this, last, order, counted, seq = e.seq, channel = e.channel](const runtime::Ack& ack) {
          if (ack.status == runtime::Ack::Status::Failed) {
            post_failed_ = true;
            decide_signal_.notify_one();
            return;
          }
          if (last) {
            int64_t before = decided_.load();
            while (before < seq && !decided_.compare_exchange_weak(before, seq)) {
            }
          }
          if (counted) count(channel, runtime::status_name(ack.status));
          if (order && ack.status == runtime::Ack::Status::Stored) {
            std::lock_guard lock(metrics_mutex_);
            ++orders_by_state_[{channel, ack.state}];
          }
        });
      }
      posted_ = e.seq;
      ++total;
      if (++in_ready >= kPostEvery || inbox_last_.load() <= e.seq) post_ready();
      if (stop_deciding_ || post_failed_) break;
    }
    post_ready();
  }
  return total;
}

std::vector<runtime::InboxEntry> Intake::next_entries(int64_t after, size_t limit) {
  std::vector<runtime::InboxEntry> out;
  {
    std::lock_guard lock(fresh_mutex_);
    while (!fresh_.empty() && fresh_.front().seq <= after) fresh_.pop_front();
    // Only what follows `after` without a gap: anything else the inbox took
    // (a poller's answer, an import) is in the file alone.
    while (!fresh_.empty() && out.size() < limit && fresh_.front().seq == after + 1 + static_cast<int64_t>(out.size())) {
      out.push_back(std::move(fresh_.front()));
      fresh_.pop_front();
    }
  }
  if (!out.empty()) return out;
  return inbox_reader_->after(after, limit);
}

size_t Intake::decide_pending() {
  size_t total = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    try {
      total += post_pending();
      engine_.flush();
      if (!post_failed_) return total;
    } catch (const std::runtime_error&) {
    }
  }
  return total;
}

// Taking webhooks comes first: a channel waits for our answer, the
// decisions do not. The decider runs at idle priority, on the CPU the
// intake leaves, while it keeps up. It is raised to a normal priority
// (decider_nice) until the backlog is gone when the load is sustained (the
// backlog passes decider_raise_backlog) or when other work on the machine
// starves it (the backlog stands still for two seconds). The backlog shows
// in /metrics.
void Intake::set_decider_idle(bool idle) {
  if (decider_idle_ == idle || !decider_.joinable()) return;
  sched_param none{};
  pthread_setschedparam(decider_.native_handle(), idle ? SCHED_IDLE : SCHED_OTHER, &none);
  decider_idle_ = idle;
}

void Intake::watch_decider() {
  if (!config_.decider_idle) return;
  std::lock_guard lock(priority_mutex_);
  auto now = std::chrono::steady_clock::now();
  int64_t decided = decided_.load();
  int64_t backlog = inbox_last_.load() - decided;
  if (backlog <= 0) {
    set_decider_idle(true);
  } else if (backlog > config_.decider_raise_backlog) {
    set_decider_idle(false);
  } else if (decided != decided_seen_) {
    decided_seen_ = decided;
    decided_moved_ = now;
  } else if (now - decided_moved_ > std::chrono::seconds(2)) {
    set_decider_idle(false);
  }
}

int64_t Intake::forget_old_bodies(int64_t now_ms) {
  if (config_.inbox_keep_days <= 0) return 0;
  std::lock_guard lock(inbox_mutex_);
  return inbox_.forget_bodies(decided_.load(), now_ms - int64_t{config_.inbox_keep_days} * 86'400'000);
}

void Intake::decider() {
  pthread_setname_np(pthread_self(), "of-decider");  // in top, perf and gdb
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), config_.decider_nice);
  auto backoff = std::chrono::milliseconds(10);
  auto forgot = std::chrono::steady_clock::now() - std::chrono::hours(1);
  for (;;) {
    {
      std::unique_lock lock(decide_mutex_);
      decide_signal_.wait_for(lock, std::chrono::milliseconds(100));
    }
    try {
      post_pending();
      backoff = std::chrono::milliseconds(10);
      // The inbox is a buffer, not the archive (the journal is): old bodies go, hourly.
      if (std::chrono::steady_clock::now() - forgot > std::chrono::hours(1)) {
        forgot = std::chrono::steady_clock::now();
        forget_old_bodies(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
      }
    } catch (const std::exception& e) {
      // The store failed under the engine: what it had not committed stays in the inbox for the next try.
      {
        std::lock_guard m(metrics_mutex_);
        ++commit_failures_;
      }
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
    std::lock_guard lock(waiting_mutex_);
    if (stopping_) return;
  }
}

void Intake::with_inbox(const std::function<void(runtime::Inbox&)>& work) {
  {
    std::lock_guard lock(inbox_mutex_);
    if (!inbox_.in_transaction()) inbox_.begin();
    try {
      work(inbox_);
      inbox_.commit();
    } catch (...) {
      inbox_.rollback();
      throw;
    }
    inbox_last_ = inbox_.last_seq();
  }
  decide_signal_.notify_one();
}

// Normalizing a body (parsing the channel's JSON, mapping it, decoding the
// canonical order) is most of the decider's work, and each body is its
// own: a batch is split over the machine's cores. The helper threads
// inherit the decider's idle priority, so taking webhooks still comes first.
std::vector<std::vector<runtime::Input>> Intake::normalize_all(const std::vector<runtime::InboxEntry>& entries,
                                                               int64_t after) {
  std::vector<std::vector<runtime::Input>> out(entries.size());
  auto bundle = engine_.live_bundle();
  auto normalize = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      out[i] = inputs_of(entries[i], i == 0 ? after : entries[i - 1].seq);
      for (runtime::Input& input : out[i]) runtime::prepare_input(input, bundle);
    }
  };
  size_t threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
  if (entries.size() < 16) threads = 1;
  std::vector<std::future<void>> helpers;
  size_t share = (entries.size() + threads - 1) / threads;
  for (size_t t = 1; t < threads; ++t)
    helpers.push_back(std::async(std::launch::async, normalize, std::min(t * share, entries.size()),
                                 std::min((t + 1) * share, entries.size())));
  normalize(0, std::min(share, entries.size()));
  for (auto& h : helpers) h.get();
  return out;
}

std::vector<runtime::Input> Intake::inputs_of(const runtime::InboxEntry& e, int64_t after) {
  // Taken already, so answered already: what goes wrong now is a dead letter, kept for replay.
  std::vector<runtime::Input> inputs;
  auto placed = [&](runtime::Input input) {
    input.inbox = {e.seq, after, false};
    inputs.push_back(std::move(input));
  };
  if (e.channel == runtime::kCanonicalChannel) {
    // Canonical inputs queued by `orderflow import`: no connector to go through.
    placed(runtime::read_input_text(e.body, e.source));
  } else {
    const connectors::Connector* connector = connectors::find_connector(e.channel);
    // Read in place (the connector reads a few dozen of its fields); a body
    // simdjson does not take goes through parse_json, which reads or says why.
    connectors::Payload in_place(e.body);
    std::optional<connectors::Reader> root;
    if (in_place.parsed()) root = in_place.root();
    bool poll = e.source.rfind("poll:", 0) == 0;
    connectors::Normalized normalized;
    if (!connector) {
      normalized = connectors::PayloadError{"$", "no connector for the channel '" + e.channel + "'"};
    } else if (root && !(poll && root->is_array())) {
      normalized = connector->normalize(*root);
    } else {
      nlohmann::json payload = runtime::parse_json(e.body);
      // A poller's answer is the array of an order's parts, as the API gave them.
      normalized = payload.is_discarded()       ? connectors::PayloadError{"$", "not JSON"}
                   : poll && payload.is_array() ? connector->normalize_parts(payload.get<std::vector<nlohmann::json>>())
                                                : connector->normalize(payload);
    }
    if (auto* error = std::get_if<connectors::PayloadError>(&normalized)) {
      placed(runtime::Input{runtime::Unreadable{e.body, error->text()}, e.source, std::nullopt, {}});
    } else {
      size_t index = 0;
      for (const nlohmann::json& json : std::get<std::vector<nlohmann::json>>(normalized)) {
        if (json.value("type", "") == "fetch") {
          std::lock_guard lock(inbox_mutex_);
          inbox_.request_fetch({e.channel, json.value("external_id", ""), json.value("reason", ""), e.received_at});
          count(e.channel, "fetch_requested");
          if (!config_.pollers.contains(e.channel)) no_poller_for(e.channel, json.value("external_id", ""));
          continue;
        }
        runtime::Input input = runtime::read_input(json, e.source);
        // Decided again after a failed batch, it is known: an event the channel gave no id gets one from its place.
        if (auto* event = std::get_if<runtime::OrderEvent>(&input.body); event && event->event_id.empty())
          event->event_id = fmt::format("inbox:{}:{}", e.seq, index);
        if (auto* stock = std::get_if<runtime::StockInput>(&input.body); stock && stock->event_id.empty())
          stock->event_id = fmt::format("inbox:{}:{}", e.seq, index);
        ++index;
        placed(std::move(input));
      }
    }
  }
  if (inputs.empty()) placed(runtime::Input{runtime::NothingToDecide{}, e.source, std::nullopt, {}});
  inputs.back().inbox.last = true;
  return inputs;
}

// Only a poller reads the fetch queue: without one the order is never read.
void Intake::no_poller_for(const std::string& channel, const std::string& external_id) {
  count(channel, "fetch_without_poller");
  std::lock_guard lock(metrics_mutex_);
  if (!warned_no_poller_.insert(channel).second) return;
  std::cerr << fmt::format("orderflow serve: warning: a {0} webhook named order {1} without its content, and no poller "
                           "is configured for {0}: nothing will read it (add one under \"pollers\" in the config; "
                           "/metrics counts these as fetch_without_poller)\n",
                           channel, external_id);
}

void Intake::count(const std::string& channel, const std::string& status) {
  std::lock_guard lock(metrics_mutex_);
  ++inputs_[{channel, status}];
}

HttpResponse Intake::reject(int status, const std::string& error, const HttpRequest& request,
                            const std::string& source) {
  // Kept for replay (`orderflow deadletters`), whatever was wrong with it.
  engine_.post(runtime::Input{runtime::Unreadable{request.body, error}, source, std::nullopt, {}}, nullptr);
  return json_response(status, {{"error", error}});
}

void Intake::handle(HttpRequest request, std::function<void(HttpResponse)> done) {
  auto started = Clock::now();
  std::function<void(HttpResponse)> finish = [this, started, done = std::move(done)](HttpResponse r) {
    double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    {
      std::lock_guard lock(metrics_mutex_);
      size_t b = 0;
      while (b < latency_buckets_.size() && seconds > latency_buckets_[b]) ++b;
      ++latency_counts_[b];
      latency_sum_ += seconds;
      ++latency_count_;
    }
    done(std::move(r));
  };
  bool wait = false;
  HttpResponse response;
  std::optional<runtime::InboxEntry> keep;
  const std::string& t = request.target;
  std::string path = t.substr(0, t.find('?'));
  if (request.method == "GET" && path == "/healthz") {
    response = json_response(200, {{"status", "ok"}});
  } else if (request.method == "GET" && path == "/metrics") {
    response = {200, metrics(), "text/plain; version=0.0.4"};
  } else if (path.rfind("/webhooks/", 0) == 0) {
    std::string channel = path.substr(10);
    if (request.method != "POST")
      response = json_response(405, {{"error", "webhooks are POSTed"}});
    else
      response = webhook(channel, request, wait, keep);
  } else if (path.rfind("/api/", 0) == 0) {
    std::function<void(HttpResponse)> answered = std::move(finish);
    if (api(request, response, answered)) return;  // answered once the engine has decided
    finish = std::move(answered);
  } else {
    response = json_response(404, {{"error", "no such endpoint: " + path}});
  }
  if (!wait) return finish(std::move(response));
  {
    std::lock_guard lock(waiting_mutex_);
    waiting_.push_back({std::move(response), std::move(finish), std::move(keep)});
  }
  waiting_signal_.notify_one();
}

HttpResponse Intake::webhook(const std::string& channel, HttpRequest& request, bool& wait,
                             std::optional<runtime::InboxEntry>& keep) {
  std::string source = "webhook:" + channel;
  const connectors::Connector* connector = connectors::find_connector(channel);
  if (request.body_too_large) {
    count(channel, "too_large");
    return reject(413, fmt::format("the body is larger than {} bytes", config_.body_limit), request, source);
  }
  if (!connector) {
    count(channel, "unknown_channel");
    return reject(404, fmt::format("no connector for the channel '{}'", channel), request, source);
  }
  auto secret = config_.secrets.find(channel);
  if (secret == config_.secrets.end()) {
    count(channel, "unsigned");
    return reject(401, fmt::format("no webhook secret is configured for {}: unsigned webhooks are not taken", channel),
                  request, source);
  }
  int64_t arrived = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count();
  if (auto wrong = connector->verify_webhook(secret->second, {request.body, request.headers, arrived})) {
    count(channel, wrong->kind);
    return reject(401, wrong->message, request, source);
  }
  // Checked without building the document (that is the decider's work): a
  // sender whose body is cut short hears so now.
  if (std::optional<std::string> why = runtime::json_problem(request.body)) {
    count(channel, "invalid");
    return reject(400, "$: " + *why, request, source);
  }
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  std::string key = runtime::inbox_key(channel, request.body);
  keep = runtime::InboxEntry{0, std::move(key), channel, source, now, std::move(request.body)};
  wait = true;  // answered once durable in the inbox (the committer writes the answer); decided behind it
  return {};
}

namespace {

// A query parameter of a request's target (`?state=received&kind=rto`), "" when absent.
std::string query_param(const std::string& target, const std::string& name) {
  size_t q = target.find('?');
  if (q == std::string::npos) return "";
  std::string query = target.substr(q + 1);
  for (size_t start = 0; start <= query.size();) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    std::string pair = query.substr(start, end - start);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name && eq != std::string::npos) {
      std::string value;
      for (size_t i = eq + 1; i < pair.size(); ++i) {
        if (pair[i] == '+') {
          value += ' ';
        } else if (pair[i] == '%' && i + 2 < pair.size() && std::isxdigit(static_cast<unsigned char>(pair[i + 1])) &&
                   std::isxdigit(static_cast<unsigned char>(pair[i + 2]))) {
          value += static_cast<char>(std::stoi(pair.substr(i + 1, 2), nullptr, 16));
          i += 2;
        } else {
          value += pair[i];
        }
      }
      return value;
    }
    start = end + 1;
  }
  return "";
}

int status_of(const runtime::Ack& ack) {
  switch (ack.status) {
    case runtime::Ack::Status::Refused: return 409;
    case runtime::Ack::Status::Invalid: return 422;
    case runtime::Ack::Status::Failed: return 503;
    default: return 200;
  }
}

}  // namespace

bool Intake::api(const HttpRequest& request, HttpResponse& response, std::function<void(HttpResponse)>& done) {
  const std::string path = request.target.substr(0, request.target.find('?'));
  bool changes = request.method != "GET";
  if (changes) {
    std::string auth = header(request, "authorization");
    if (config_.api_token.empty() || !connectors::signatures_match("Bearer " + config_.api_token, auth)) {
      response = json_response(401, {{"error", "a bearer token is needed for anything that changes state"}});
      return false;
    }
  }
  // Posts an input to the engine; the answer goes once it is decided and durable.
  auto decide = [&](runtime::Input input) {
    engine_.post(std::move(input), [done = std::move(done)](const runtime::Ack& ack) {
      done(json_response(status_of(ack), nlohmann::json(ack.to_json())));
    });
    return true;
  };
  // /api/orders/{id}, /api/orders/{id}/events|returns|grades|ndr, /api/returns, /api/stock, /api/deployments
  if (path.rfind("/api/orders/", 0) == 0) {
    std::string rest = path.substr(12);
    size_t slash = rest.find('/');
    std::string id = rest.substr(0, slash);
    std::string what = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (request.method == "GET" && what.empty()) {
      std::lock_guard lock(reader_mutex_);
      auto o = reader_.orders().get(id);
      if (!o) {
        response = json_response(404, {{"error", "no order " + id}});
        return false;
      }
      nlohmann::json allocations = nlohmann::json::array();
      for (const runtime::Allocation& a : o->allocations)
        allocations.push_back({{"line", a.line}, {"sku", a.sku}, {"node", a.node}, {"quantity", a.quantity}});
      nlohmann::json hold = nullptr;
      if (o->hold) {
        hold = {{"reason", o->hold->reason}, {"rule", o->hold->rule}};
        if (o->hold->until) hold["until"] = model::format_time(*o->hold->until);
      }
      nlohmann::json returns = nlohmann::json::array();
      for (const runtime::OrderReturn& r : o->returns) returns.push_back(nlohmann::json(runtime::return_json(*o, r)));
      response = json_response(200, {{"order", o->order_id}, {"state", o->state}, {"channel", o->channel},
                                     {"deployment", o->deployment}, {"hold", hold}, {"allocations", allocations},
                                     {"tags", o->tags}, {"returns", returns}});
      return false;
    }
    // What people post about an order: an event, a return asked for, returned units graded, a failed delivery.
    static const std::map<std::string, std::string> kPosted = {
        {"events", "event"},   {"returns", "return"},
        {"grades", "grade"},   {"ndr", "ndr"},
        {"return-decisions", "return_decision"}, {"ndr-decisions", "ndr_decision"}};
    if (auto posted = kPosted.find(what); request.method == "POST" && posted != kPosted.end()) {
      nlohmann::json input = nlohmann::json::parse(request.body, nullptr, false);
      if (!input.is_object()) {
        response = json_response(400, {{"error", "$: expected a JSON object"}});
        return false;
      }
      input["type"] = posted->second;
      input["order_id"] = id;
      return decide(runtime::read_input(input, "api"));
    }
  }
  if (path == "/api/returns" && request.method == "GET") {
    std::string state = query_param(request.target, "state"), kind = query_param(request.target, "kind");
    std::lock_guard lock(reader_mutex_);
    nlohmann::json list = nlohmann::json::array();
    reader_.orders().scan([&](const runtime::StoredOrder& o) {
      for (const runtime::OrderReturn& r : o.returns)
        if ((state.empty() || r.state == state) && (kind.empty() || r.kind == kind))
          list.push_back(nlohmann::json(runtime::return_json(o, r)));
    });
    response = json_response(200, {{"returns", list}});
    return false;
  }
  if (path == "/api/stock" && request.method == "POST") {
    nlohmann::json change = nlohmann::json::parse(request.body, nullptr, false);
    if (!change.is_object()) {
      response = json_response(400, {{"error", "$: expected a JSON object"}});
      return false;
    }
    change["type"] = "stock";
    return decide(runtime::read_input(change, "api"));
  }
  if (path == "/api/stock" && request.method == "GET") {
    std::lock_guard lock(reader_mutex_);
    nlohmann::json rows = nlohmann::json::array();
    reader_.stock().scan([&](const runtime::StockRow& r) {
      rows.push_back({{"node", r.node}, {"sku", r.sku}, {"on_hand", r.on_hand}, {"reserved", r.reserved},
                      {"safety_stock", r.safety_stock}, {"quarantined", r.quarantined},
                      {"written_off", r.written_off}, {"to_vendor", r.to_vendor}});
    });
    response = json_response(200, {{"stock", rows}});
    return false;
  }
  if (path == "/api/deployments" && request.method == "GET") {
    std::lock_guard lock(reader_mutex_);
    nlohmann::json list = nlohmann::json::array();
    auto live = reader_.deployments().live();
    for (const auto& d : reader_.deployments().list(false))
      list.push_back({{"id", d.id}, {"version", d.version}, {"content_hash", d.content_hash}, {"live", live == d.id}});
    response = json_response(200, {{"deployments", list}});
    return false;
  }
  response = json_response(404, {{"error", "no such endpoint: " + request.method + " " + path}});
  return false;
}

std::string Intake::metrics() const {
  std::lock_guard lock(metrics_mutex_);
  std::string out;
  out += "# HELP orderflow_inputs_total Webhook inputs by channel and what became of them.\n";
  out += "# TYPE orderflow_inputs_total counter\n";
  for (const auto& [key, n] : inputs_)
    out += fmt::format("orderflow_inputs_total{{channel=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, n);
  out += "# HELP orderflow_orders_decided_total New orders by channel and the state their decisions left them in.\n";
  out += "# TYPE orderflow_orders_decided_total counter\n";
  for (const auto& [key, n] : orders_by_state_)
    out += fmt::format("orderflow_orders_decided_total{{channel=\"{}\",state=\"{}\"}} {}\n", key.first, key.second, n);
  out += "# HELP orderflow_request_seconds Time from a request read to its answer (after the durable commit).\n";
  out += "# TYPE orderflow_request_seconds histogram\n";
  int64_t cumulative = 0;
  for (size_t b = 0; b < latency_buckets_.size(); ++b) {
    cumulative += latency_counts_[b];
    out += fmt::format("orderflow_request_seconds_bucket{{le=\"{}\"}} {}\n", latency_buckets_[b], cumulative);
  }
  out += fmt::format("orderflow_request_seconds_bucket{{le=\"+Inf\"}} {}\n", latency_count_);
  out += fmt::format("orderflow_request_seconds_sum {}\norderflow_request_seconds_count {}\n", latency_sum_, latency_count_);
  out += "# HELP orderflow_inbox_backlog Inputs taken into the inbox and not decided yet.\n";
  out += "# TYPE orderflow_inbox_backlog gauge\n";
  out += fmt::format("orderflow_inbox_backlog {}\n", std::max<int64_t>(0, inbox_last_.load() - decided_.load()));
  out += "# HELP orderflow_engine_queue Inputs waiting for the engine thread.\n";
  out += "# TYPE orderflow_engine_queue gauge\n";
  out += fmt::format("orderflow_engine_queue {}\n", engine_.queued());
  out += "# HELP orderflow_engine_batches_total Batches the engine committed.\n";
  out += "# TYPE orderflow_engine_batches_total counter\n";
  out += fmt::format("orderflow_engine_batches_total {}\n", engine_.batches());
  out += "# TYPE orderflow_open_connections gauge\n";
  out += fmt::format("orderflow_open_connections {}\n", open_connections.load());
  out += "# TYPE orderflow_commit_failures_total counter\n";
  out += fmt::format("orderflow_commit_failures_total {}\n", commit_failures_);
  return out;
}

}  // namespace orderflow::intake
