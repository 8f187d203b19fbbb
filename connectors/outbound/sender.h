#pragma once
// Telling the channels: what the journal says happened to their orders
// (state entries, refunds) and what the outbox says they may sell, turned into each
// channel's request by its connector (Connector::outbound) and sent in
// order. A channel that is down (unreachable, 429, 5xx) is retried from the
// same message with backoff, so nothing is skipped and the order of what a
// channel hears is the order it happened in; a channel that refuses a
// request (another 4xx) has the refusal recorded and the sender goes on.
// Positions and the record of every request live in the inbox file, so the
// store is only read.
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <memory>
#include <string>

#include "connectors/connector.h"
#include "connectors/poller/poller.h"
#include "connectors/poller/repeating.h"
#include "runtime/store/store.h"

namespace orderflow::outbound {

struct ChannelOutbound {
  std::string base_url;
  std::map<std::string, std::string> headers;          // auth, as the channel wants it
  nlohmann::json settings = nlohmann::json::object();  // ids for the connector: products, inventory items ...
  // Every quantity the channel may sell is told again this often, whether it
  // changed or not: what the channel lost, or a person changed there, is put
  // right without a step by hand. 0: never.
  std::chrono::seconds resend_every{6 * 3600};
};

struct SenderConfig {
  std::map<std::string, ChannelOutbound> channels;
  std::chrono::milliseconds every{500};
  std::chrono::milliseconds backoff_first{1000};
  std::chrono::milliseconds backoff_most{300000};
  // {"shopify": {"base_url": ..., "headers": {...}, "settings": {...}}, ...}
  static SenderConfig from_json(const nlohmann::json& config);
};

class Sender {
 public:
  Sender(SenderConfig config, std::unique_ptr<runtime::Store> reader, poller::InboxWork with_inbox,
         poller::Caller call);
  ~Sender();
  // Tells everything past the cursors; returns how many requests were sent.
  // Throws when a channel is down: the cursor stays on the message it could not tell.
  size_t round(int64_t now_ms);
  void start();
  void stop();

 private:
  bool tell(const std::string& channel, const std::string& about, const connectors::Outbound& message, int64_t now_ms);
  // A refund the engine made, for the order's channel; nothing for one the channel made itself.
  std::optional<connectors::Outbound> refund_message(const std::string& order_id,
                                                     const runtime::journal::Refunded& refunded) const;

  SenderConfig config_;
  std::unique_ptr<runtime::Store> reader_;
  poller::InboxWork with_inbox_;
  poller::Caller call_;
  poller::Repeating repeating_;
};

}  // namespace orderflow::outbound
