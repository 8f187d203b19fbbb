#include "connectors/intake/intake.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <sched.h>
#include <simdjson.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include "connectors/connector.h"

namespace orderflow::intake {

namespace {

using Clock = std::chrono::steady_clock;

// Whether a body is JSON, checked at gigabytes a second (simdjson) without
// building what only the decider needs. What it refuses, nlohmann (which
// the decider reads with) gets the last word on, and gives the reason.
bool is_json(const std::string& body) {
  thread_local simdjson::dom::parser parser;
  return !parser.parse(body.data(), body.size()).error() || nlohmann::json::accept(body);
}

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
  c.decider_idle = j.value("decider_idle", c.decider_idle);
  if (j.contains("pollers")) c.pollers = j["pollers"];
  if (j.contains("outbound")) c.outbound = j["outbound"];
  return c;
}

bool signatures_match(const std::string& expected, const std::string& received) {
  if (expected.size() != received.size()) return false;
  return CRYPTO_memcmp(expected.data(), received.data(), expected.size()) == 0;
}

Intake::Intake(runtime::OrderEngine& engine, runtime::Store& reader, runtime::Inbox& inbox, std::string inbox_path,
               IntakeConfig config)
    : engine_(engine), reader_(reader), config_(std::move(config)), inbox_(inbox), inbox_path_(std::move(inbox_path)) {
  std::lock_guard lock(inbox_mutex_);
  inbox_last_ = inbox_.last_seq();
  decided_ = std::stoll(inbox_.cursor("decided").value_or("0"));
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
          nlohmann::json answer = {{"status", fresh ? "accepted" : "duplicate"}};
          if (fresh) answer["inbox"] = w.keep->seq;
          w.response = json_response(200, answer);
          taken.emplace_back(w.keep->channel, fresh);
        }
        if (inbox_.in_transaction()) inbox_.commit();
        inbox_last_ = inbox_.last_seq();
        for (const auto& [channel, fresh] : taken) count(channel, fresh ? "accepted" : "duplicate");
      } catch (const std::exception& e) {
        // Nothing of the batch was stored: every sender hears so and sends again.
        failure = e.what();
        inbox_.rollback();
        inbox_failed = true;
      }
    }
    // The API's decisions, when the batch has any (else the decider commits its own).
    if (std::any_of(batch.begin(), batch.end(), [](const Waiting& w) { return !w.keep; })) {
      try {
        engine_.commit();
      } catch (const std::exception& e) {
        failure = e.what();
        engine_.abort();
      }
    }
    if (!failure.empty()) {
      std::lock_guard m(metrics_mutex_);
      ++commit_failures_;
    }
    for (Waiting& w : batch) {
      if (w.keep ? inbox_failed : w.engine_aborts_before != engine_.aborts())
        w.response = json_response(503, {{"error", "not stored, send again: " +
                                                       (failure.empty() ? std::string("the store failed") : failure)}});
      w.done(std::move(w.response));
    }
    decide_signal_.notify_one();
    watch_decider();
    lock.lock();
  }
}

size_t Intake::decide_pending() {
  if (!inbox_reader_) {
    runtime::SqliteOptions read_only;
    read_only.read_only = true;
    inbox_reader_ = runtime::open_sqlite_inbox(inbox_path_, read_only);
  }
  size_t total = 0;
  // A batch at a time, so that stopping waits for one batch, not the backlog.
  while (!stop_deciding_) {
    std::vector<runtime::InboxEntry> entries = inbox_reader_->after(decided_, 512);
    if (entries.empty()) return total;
    int64_t aborts_before = engine_.aborts();
    for (const runtime::InboxEntry& e : entries) decide(e);
    engine_.commit();
    // Decided again after a failed commit: the engine recognises what it had stored.
    if (engine_.aborts() != aborts_before) continue;
    decided_ = entries.back().seq;
    total += entries.size();
    std::lock_guard lock(inbox_mutex_);
    inbox_.set_cursor("decided", std::to_string(decided_.load()));
  }
  return total;
}

// Taking webhooks comes first: a channel waits for our answer, the
// decisions do not. The decider runs at idle priority, on the CPU the
// intake leaves, while it keeps up; when other work on the machine starves
// it (the backlog stands still for two seconds), it is raised to a low
// normal priority until the backlog is gone. The backlog shows in /metrics.
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
  if (inbox_last_.load() <= decided) {
    set_decider_idle(true);
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
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), config_.decider_nice);
  auto backoff = std::chrono::milliseconds(10);
  auto forgot = std::chrono::steady_clock::now() - std::chrono::hours(1);
  for (;;) {
    {
      std::unique_lock lock(decide_mutex_);
      decide_signal_.wait_for(lock, std::chrono::milliseconds(100));
    }
    try {
      decide_pending();
      backoff = std::chrono::milliseconds(10);
      // The inbox is a buffer, not the archive (the journal is): old bodies go, hourly.
      if (std::chrono::steady_clock::now() - forgot > std::chrono::hours(1)) {
        forgot = std::chrono::steady_clock::now();
        forget_old_bodies(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
      }
    } catch (const std::exception& e) {
      // The store failed under the decider: what it had not committed stays in the inbox for the next try.
      engine_.abort();
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

void Intake::decide(const runtime::InboxEntry& e) {
  // Taken already, so answered already: what goes wrong now is a dead letter, kept for replay.
  const connectors::Connector* connector = connectors::find_connector(e.channel);
  nlohmann::json payload = nlohmann::json::parse(e.body, nullptr, false);
  // A poller's answer is the array of an order's parts, as the API gave them.
  bool parts = e.source.rfind("poll:", 0) == 0 && payload.is_array();
  connectors::Normalized normalized =
      !connector            ? connectors::PayloadError{"$", "no connector for the channel '" + e.channel + "'"}
      : payload.is_discarded() ? connectors::PayloadError{"$", "not JSON"}
      : parts                  ? connector->normalize_parts(payload.get<std::vector<nlohmann::json>>())
                               : connector->normalize(payload);
  if (auto* error = std::get_if<connectors::PayloadError>(&normalized)) {
    engine_.reject_unparsable(e.body, e.source, error->text());
    count(e.channel, "invalid");
    return;
  }
  for (const nlohmann::json& input : std::get<std::vector<nlohmann::json>>(normalized)) {
    if (input.value("type", "") == "fetch") {
      std::lock_guard lock(inbox_mutex_);
      inbox_.request_fetch({e.channel, input.value("external_id", ""), input.value("reason", ""), e.received_at});
      count(e.channel, "fetch_requested");
      continue;
    }
    runtime::Ack ack = engine_.submit(input, e.source);
    count(e.channel, runtime::status_name(ack.status));
    if (ack.status == runtime::Ack::Status::Stored && input.value("type", "order") == "order") {
      std::lock_guard lock(metrics_mutex_);
      ++orders_by_state_[{e.channel, ack.state}];
    }
  }
}

void Intake::count(const std::string& channel, const std::string& status) {
  std::lock_guard lock(metrics_mutex_);
  ++inputs_[{channel, status}];
}

HttpResponse Intake::reject(int status, const std::string& error, const HttpRequest& request,
                            const std::string& source) {
  // Kept for replay (`orderflow deadletters`), whatever was wrong with it.
  engine_.reject_unparsable(request.body, source, error);
  return json_response(status, {{"error", error}});
}

void Intake::handle(HttpRequest request, std::function<void(HttpResponse)> done) {
  auto started = Clock::now();
  auto finish = [this, started, done = std::move(done)](HttpResponse r) {
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
  int64_t engine_aborts_before = engine_.aborts();
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
    response = api(request, wait);
  } else {
    response = json_response(404, {{"error", "no such endpoint: " + path}});
  }
  if (!wait) return finish(std::move(response));
  {
    std::lock_guard lock(waiting_mutex_);
    waiting_.push_back({std::move(response), std::move(finish), std::move(keep), engine_aborts_before});
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
  std::string signed_by = connector->signature_header();
  if (secret != config_.secrets.end() && !secret->second.header.empty()) signed_by = secret->second.header;
  for (char& c : signed_by) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (signed_by.empty() || secret == config_.secrets.end()) {
    count(channel, "unsigned");
    return reject(401, fmt::format("no webhook secret is configured for {}: unsigned webhooks are not taken", channel),
                  request, source);
  }
  std::string received = header(request, signed_by);
  if (received.empty()) {
    count(channel, "unsigned");
    return reject(401, fmt::format("the {} header is missing", signed_by), request, source);
  }
  if (!signatures_match(connector->expected_signature(secret->second, request.body), received)) {
    count(channel, "bad_signature");
    return reject(401, fmt::format("the {} signature does not match the body", signed_by), request, source);
  }
  // Checked without building the document (that is the decider's work): a
  // sender whose body is cut short hears so now.
  if (!is_json(request.body)) {
    count(channel, "invalid");
    std::string why;
    try {
      nlohmann::json refused = nlohmann::json::parse(request.body);
    } catch (const nlohmann::json::parse_error& e) {
      why = e.what();
      if (auto tag = why.find("] "); tag != std::string::npos) why.erase(0, tag + 2);
    }
    return reject(400, "$: not JSON: " + why, request, source);
  }
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  std::string key = runtime::inbox_key(channel, request.body);
  keep = runtime::InboxEntry{0, std::move(key), channel, source, now, std::move(request.body)};
  wait = true;  // answered once durable in the inbox (the committer writes the answer); decided behind it
  return {};
}

HttpResponse Intake::api(const HttpRequest& request, bool& wait) {
  const std::string path = request.target.substr(0, request.target.find('?'));
  bool changes = request.method != "GET";
  if (changes) {
    std::string auth = header(request, "authorization");
    if (config_.api_token.empty() || !signatures_match("Bearer " + config_.api_token, auth))
      return json_response(401, {{"error", "a bearer token is needed for anything that changes state"}});
  }
  // /api/orders/{id}, /api/orders/{id}/events, /api/stock, /api/deployments
  if (path.rfind("/api/orders/", 0) == 0) {
    std::string rest = path.substr(12);
    size_t slash = rest.find('/');
    std::string id = rest.substr(0, slash);
    std::string what = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (request.method == "GET" && what.empty()) {
      std::lock_guard lock(reader_mutex_);
      auto o = reader_.get_order(id);
      if (!o) return json_response(404, {{"error", "no order " + id}});
      return json_response(200, {{"order", o->order_id}, {"state", o->state}, {"channel", o->channel},
                                 {"deployment", o->deployment}, {"hold", o->hold}, {"allocations", o->allocations},
                                 {"tags", o->tags}});
    }
    if (request.method == "POST" && what == "events") {
      nlohmann::json event = nlohmann::json::parse(request.body, nullptr, false);
      if (!event.is_object()) return json_response(400, {{"error", "$: expected a JSON object"}});
      event["type"] = "event";
      event["order_id"] = id;
      runtime::Ack ack = engine_.submit(event, "api");
      wait = true;
      int status = ack.status == runtime::Ack::Status::Refused   ? 409
                   : ack.status == runtime::Ack::Status::Invalid ? 422
                                                                 : 200;
      return json_response(status, nlohmann::json(ack.to_json()));
    }
  }
  if (path == "/api/stock" && request.method == "POST") {
    nlohmann::json change = nlohmann::json::parse(request.body, nullptr, false);
    if (!change.is_object()) return json_response(400, {{"error", "$: expected a JSON object"}});
    change["type"] = "stock";
    runtime::Ack ack = engine_.submit(change, "api");
    wait = true;
    return json_response(ack.status == runtime::Ack::Status::Invalid ? 422 : 200, nlohmann::json(ack.to_json()));
  }
  if (path == "/api/stock" && request.method == "GET") {
    std::lock_guard lock(reader_mutex_);
    nlohmann::json rows = nlohmann::json::array();
    reader_.scan_stock([&](const runtime::StockRow& r) {
      rows.push_back({{"node", r.node}, {"sku", r.sku}, {"on_hand", r.on_hand}, {"reserved", r.reserved},
                      {"safety_stock", r.safety_stock}});
    });
    return json_response(200, {{"stock", rows}});
  }
  if (path == "/api/deployments" && request.method == "GET") {
    std::lock_guard lock(reader_mutex_);
    nlohmann::json list = nlohmann::json::array();
    auto live = reader_.live();
    for (const auto& d : reader_.deployments(false))
      list.push_back({{"id", d.id}, {"version", d.version}, {"content_hash", d.content_hash}, {"live", live == d.id}});
    return json_response(200, {{"deployments", list}});
  }
  return json_response(404, {{"error", "no such endpoint: " + request.method + " " + path}});
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
  out += "# HELP orderflow_uncommitted_inputs Inputs in the open batch, not yet durable.\n";
  out += "# TYPE orderflow_uncommitted_inputs gauge\n";
  out += fmt::format("orderflow_uncommitted_inputs {}\n", engine_.uncommitted());
  out += "# TYPE orderflow_open_connections gauge\n";
  out += fmt::format("orderflow_open_connections {}\n", open_connections.load());
  out += "# TYPE orderflow_commit_failures_total counter\n";
  out += fmt::format("orderflow_commit_failures_total {}\n", commit_failures_);
  return out;
}

}  // namespace orderflow::intake
