#pragma once
// The intake's inbox: every verified webhook body, as the channel sent it,
// durable before anything else is done with it. Taking a webhook costs one
// insert; the decider normalizes and decides from it behind, at the
// engine's pace, and a restart goes on from where the decider stopped. It is a file of its own (beside the store's), so
// that taking webhooks never waits for the engine's write lock.
//
// It also keeps the pollers' cursors and the orders a channel asked us to
// fetch (a notification that names an order without its content).
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/store/sqlite_store.h"

namespace orderflow::runtime {

// The channel of inbox entries that are inputs in the canonical form
// already (orders, events, stock changes), as `orderflow import` queues them.
inline constexpr const char* kCanonicalChannel = "orderflow";

struct InboxEntry {
  int64_t seq = 0;
  std::string key;      // what makes a redelivery the same: the channel and a hash of the body
  std::string channel;  // whose connector reads the body
  std::string source;   // "webhook:shopify", "poll:amazon"
  int64_t received_at = 0;
  std::string body;  // as received
};

struct FetchRequest {
  std::string channel;
  std::string external_id;
  std::string reason;
  int64_t requested_at = 0;
};

// What orderflow told a channel, and what the channel answered: the
// auditor's record of the outbound side.
struct ToldRecord {
  int64_t at = 0;
  std::string channel;
  std::string about;    // the order, or the SKU
  std::string request;  // "PUT /wp-json/wc/v3/orders/727 {...}"
  int status = 0;       // the channel's HTTP status
  std::string answer;
};

class Inbox {
 public:
  virtual ~Inbox() = default;
  // Adds go into a batch that commit() makes durable; an input may be
  // acknowledged only after that.
  virtual void begin() = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;
  virtual bool in_transaction() const = 0;

  // Sets seq; false: the key is one of the latest bodies' (a redelivery),
  // and nothing is stored.
  virtual bool add(InboxEntry& entry) = 0;
  virtual std::vector<InboxEntry> after(int64_t seq, size_t limit) = 0;
  virtual int64_t last_seq() = 0;
  // Empties the bodies of entries up to `decided` received before
  // `received_before` (ms); the keys of the latest bodies stay, so that a
  // redelivery of one is still known. Returns how many were emptied.
  virtual int64_t forget_bodies(int64_t decided, int64_t received_before) = 0;

  // Named positions: "decided" (the engine's), a poller's "amazon".
  virtual std::optional<std::string> cursor(const std::string& name) = 0;
  virtual void set_cursor(const std::string& name, const std::string& value) = 0;

  // Orders to read again from their channel; asking twice keeps one request.
  virtual void request_fetch(const FetchRequest& request) = 0;
  virtual std::vector<FetchRequest> fetches(const std::string& channel, size_t limit) = 0;
  virtual void fetched(const std::string& channel, const std::string& external_id) = 0;

  virtual void log_told(const ToldRecord& record) = 0;
  virtual std::vector<ToldRecord> told(size_t limit) = 0;  // the latest first
};

// The key of a body in the inbox: a redelivery, or an answer polled twice,
// is the same body again, known by a 128-bit hash of it.
std::string inbox_key(const std::string& channel, const std::string& body);

// The inbox of the store at `store_path`: "<store_path>-inbox".
std::string inbox_path(const std::string& store_path);
std::unique_ptr<Inbox> open_sqlite_inbox(const std::string& path, const SqliteOptions& options = {});

}  // namespace orderflow::runtime
