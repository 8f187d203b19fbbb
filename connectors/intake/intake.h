#pragma once
// The intake: what `orderflow serve` does with each HTTP request, apart
// from the sockets (http_server.cpp). A webhook's signature is checked on
// its raw body and the body checked to be JSON; then the body goes into
// the inbox as it is, and the answer waits until the inbox batch it is in
// is durably committed. The decider thread reads the inbox behind,
// normalizes each body into typed inputs and posts them to the engine
// thread, so a burst of webhooks is taken at the speed of one insert each
// and decided at the engine's pace; the engine records how far it decided
// the inbox in the same commit as the decisions. A request that cannot be
// taken gets a 4xx with a JSON error; a body taken that the connector
// cannot map becomes a dead letter when it is decided. Both keep the raw
// body for replay. API calls that change an order are posted to the engine
// thread and answered once decided and durable, so that a refusal is
// answered.
//
// Threads: HTTP I/O threads call handle(); the committer writes the inbox;
// the decider reads it; the engine thread decides. Locks (none is held
// while another is taken, but for inbox_mutex_ inside waiting_mutex_'s
// unlocked span): waiting_mutex_ guards waiting_ and stopping_;
// inbox_mutex_ guards the inbox's writer connection (inbox_); reader_mutex_
// guards the read-only store connection of the API's reads;
// decide_mutex_ guards the decider's wake-up; fresh_mutex_ guards fresh_
// (taken inside inbox_mutex_ by the committer); priority_mutex_ guards the
// decider's scheduling state; metrics_mutex_ guards the counters.
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "connectors/connector.h"
#include "runtime/engine/engine_thread.h"
#include "runtime/store/inbox.h"

namespace orderflow::intake {

struct IntakeConfig {
  std::map<std::string, connectors::WebhookSecret> secrets;  // by channel
  std::string api_token;                       // bearer token for anything that changes state
  size_t body_limit = 2u << 20;                // bytes
  size_t header_limit = 16u << 10;
  size_t max_connections = 512;
  std::chrono::seconds read_timeout{10};
  std::chrono::milliseconds commit_every{2};   // group commit: the longest an answer waits for company
  int io_threads = 2;                          // threads serving HTTP
  bool decider_idle = true;                    // decide on the CPU the intake leaves while the backlog is small
  int decider_nice = 0;                        // the decider's priority when raised (0: the intake's)
  // A backlog this long means the load is sustained, not a burst: the
  // decider is raised until it is decided (an idle-priority decider loses
  // its CPU to every request and falls behind for good: at 12,000 webhooks
  // a second it decided 6,000 while at nice 0 it keeps up).
  int64_t decider_raise_backlog = 2000;
  int inbox_keep_days = 30;  // then a decided body is emptied (its key stays); 0: kept for good
  nlohmann::json pollers = nlohmann::json::object();   // by channel: poller/poller.h's PollConfig
  nlohmann::json outbound = nlohmann::json::object();  // by channel: outbound/sender.h's ChannelOutbound

  // {"secrets": {"shopify": "..."}, "api_token": "...", "body_limit": N, "max_connections": N}
  static IntakeConfig from_json(const nlohmann::json& config);
};

struct HttpRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  bool body_too_large = false;
};

struct HttpResponse {
  int status = 200;
  std::string body;  // JSON, or the Prometheus text for /metrics
  std::string content_type = "application/json";
};

class Intake {
 public:
  // `engine` decides (`decided`: how far it has decided the inbox, read
  // from the engine before its thread started); `reader` is a read-only
  // connection for the API's reads; `inbox` takes the webhooks' inputs, and
  // the decider reads them back through its own connection to `inbox_path`.
  Intake(runtime::EngineThread& engine, int64_t decided, runtime::Store& reader, runtime::Inbox& inbox,
         std::string inbox_path, IntakeConfig config);
  ~Intake();

  // Answers a request; `done` runs once the answer may be sent (after the
  // durable commit for anything stored), possibly on another thread.
  void handle(HttpRequest request, std::function<void(HttpResponse)> done);

  // The group committer commits the open inbox batch every few
  // milliseconds, then releases the answers that waited for it. The decider
  // feeds the engine from the inbox.
  void start();
  void stop();
  // Posts what the inbox holds beyond what was posted to the engine, until
  // it is empty; returns how many entries it posted. (The decider calls it.)
  size_t post_pending();
  // Posts what the inbox holds and waits until the engine has decided it
  // all; returns how many entries were posted. (For tests and `import`.)
  size_t decide_pending();

  // Empties the inbox bodies decided and older than inbox_keep_days (the
  // decider does it hourly); returns how many.
  int64_t forget_old_bodies(int64_t now_ms);

  // Runs `work` on the inbox in a transaction of its own and commits it
  // (the pollers' and the sender's way in). Throws when the commit fails;
  // nothing of it stays.
  void with_inbox(const std::function<void(runtime::Inbox&)>& work);

  std::string metrics() const;
  const IntakeConfig& config() const { return config_; }
  std::atomic<int64_t> open_connections{0};

 private:
  // A body to keep comes back in `keep`; the committer adds it to the inbox
  // and writes the answer.
  HttpResponse webhook(const std::string& channel, HttpRequest& request, bool& wait_for_commit,
                       std::optional<runtime::InboxEntry>& keep);  // takes the body when it keeps it
  // An API call that changes state answers through `done`, once the engine
  // has decided it durably; returns false when it answered at once in `response`.
  bool api(const HttpRequest& request, HttpResponse& response, std::function<void(HttpResponse)>& done);
  HttpResponse reject(int status, const std::string& error, const HttpRequest& request, const std::string& source);
  void count(const std::string& channel, const std::string& status);
  void no_poller_for(const std::string& channel, const std::string& external_id);
  void committer();
  void decider();
  void watch_decider();
  void set_decider_idle(bool idle);
  // The entry's inputs, typed, each with its place in the inbox.
  std::vector<std::vector<runtime::Input>> normalize_all(const std::vector<runtime::InboxEntry>& entries,
                                                         int64_t after);
  std::vector<runtime::Input> inputs_of(const runtime::InboxEntry& entry, int64_t after);

  runtime::EngineThread& engine_;
  runtime::Store& reader_;
  std::mutex reader_mutex_;
  IntakeConfig config_;

  std::mutex waiting_mutex_;
  std::condition_variable waiting_signal_;
  struct Waiting {
    HttpResponse response;
    std::function<void(HttpResponse)> done;
    std::optional<runtime::InboxEntry> keep;  // a webhook body, for the inbox
  };
  std::vector<Waiting> waiting_;
  std::thread committer_;
  bool stopping_ = false;

  runtime::Inbox& inbox_;
  std::mutex inbox_mutex_;  // the writer connection: webhook threads, the committer, the decider's cursor
  std::string inbox_path_;
  std::unique_ptr<runtime::Inbox> inbox_reader_;
  // The bodies the committer just stored, handed to the decider as they
  // are, so that it need not read them back from the file: in seq order,
  // at most kFreshEntries (beyond, and for what else adds to the inbox,
  // the decider reads the file).
  static constexpr size_t kFreshEntries = 4096;
  std::mutex fresh_mutex_;
  std::deque<runtime::InboxEntry> fresh_;
  // The entries after `after`, from fresh_ when it holds them, else from the file.
  std::vector<runtime::InboxEntry> next_entries(int64_t after, size_t limit);
  std::mutex decide_mutex_;
  std::thread decider_;
  std::condition_variable decide_signal_;
  std::atomic<int64_t> inbox_last_{0};
  std::atomic<int64_t> posted_{0};    // the last inbox entry posted to the engine (decider thread)
  std::atomic<int64_t> decided_{0};   // the last inbox entry the engine committed
  std::atomic<bool> post_failed_{false};  // a batch failed: post again from decided_
  std::atomic<bool> stop_deciding_{false};
  std::mutex priority_mutex_;
  bool decider_idle_ = false;
  int64_t decided_seen_ = -1;
  std::chrono::steady_clock::time_point decided_moved_ = std::chrono::steady_clock::now();

  mutable std::mutex metrics_mutex_;
  std::map<std::pair<std::string, std::string>, int64_t> inputs_;           // (channel, status) -> count
  std::map<std::pair<std::string, std::string>, int64_t> orders_by_state_;  // (channel, state) -> new orders
  std::vector<double> latency_buckets_ = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
  std::vector<int64_t> latency_counts_ = std::vector<int64_t>(10, 0);
  double latency_sum_ = 0;
  int64_t latency_count_ = 0;
  int64_t commit_failures_ = 0;
  std::set<std::string> warned_no_poller_;  // channels told about once
};

// Serves HTTP on address:port until SIGINT/SIGTERM. Returns the exit code.
int serve_http(Intake& intake, const std::string& address, unsigned short port,
               std::function<void(unsigned short)> listening);

}  // namespace orderflow::intake
