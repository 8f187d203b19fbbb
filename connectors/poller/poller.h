#pragma once
// Pull connectors: for channels that are polled rather than pushed (Amazon,
// Shopee, Flipkart) and for orders a push only named (Lazada, noon), a
// poller asks the channel's API for what changed since its cursor and puts
// each answer into the intake's inbox, where the decider normalizes it like
// a webhook. The cursor is kept in the inbox in the same commit as the
// answers it covers, so a restart neither skips nor loses a page. Errors
// back off exponentially, up to a few minutes.
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "connectors/poller/http_client.h"
#include "connectors/poller/repeating.h"
#include "runtime/store/inbox.h"

namespace orderflow::poller {

struct PollConfig {
  std::string channel;
  std::string base_url;                        // "https://sellingpartnerapi-eu.amazon.com", or a loopback server
  std::map<std::string, std::string> headers;  // sent as they are: "x-amz-access-token", "Authorization"
  std::map<std::string, std::string> params;   // the channel's ids: MarketplaceIds, partner_id, shop_id, app_key ...
  std::string secret;  // what requests are signed with: Shopee's partner key, Lazada's app secret
  std::chrono::seconds interval{60};
  std::string start;  // the first cursor; default: a day before the first round
  std::chrono::milliseconds backoff_first{1000};
  std::chrono::milliseconds backoff_most{300000};

  // {"base_url": "...", "headers": {...}, "params": {...}, "secret": "...", "interval_seconds": 60, "start": "..."}
  static PollConfig from_json(const std::string& channel, const nlohmann::json& config);
};

// How one channel's API lists changed orders and reads one order. Every
// body handed back is a JSON array of the parts of its orders, as the
// channel's connector takes them (normalize_parts).
class ChannelApi {
 public:
  virtual ~ChannelApi() = default;
  struct Page {
    std::vector<nlohmann::json> bodies;
    std::string next_page;     // "" at the last page
    std::string cursor_after;  // where the next round starts, once every page is in
  };
  // `now` in Unix seconds.
  virtual Page list(const std::string& cursor, const std::string& page, int64_t now) = 0;
  virtual nlohmann::json fetch(const std::string& external_id, int64_t now) = 0;
  virtual std::string initial_cursor(int64_t now) const = 0;
};

// The API of a channel, calling `call` (http_call, or a test's) for each request.
using Caller = std::function<HttpAnswer(const HttpCall&)>;
std::unique_ptr<ChannelApi> make_channel_api(const PollConfig& config, Caller call);

// Where a poller's answers go: the intake's inbox, under the intake's lock.
using InboxWork = std::function<void(const std::function<void(runtime::Inbox&)>&)>;

class Poller {
 public:
  Poller(PollConfig config, std::unique_ptr<ChannelApi> api, InboxWork with_inbox);
  ~Poller();
  // One round: every page after the cursor, then the fetch queue. Throws on
  // the first failure; what was committed before it stays.
  void round(int64_t now);
  void start();  // rounds every interval on a thread of its own, backing off on failures
  void stop();

 private:
  PollConfig config_;
  std::unique_ptr<ChannelApi> api_;
  InboxWork with_inbox_;
  Repeating repeating_;
};

}  // namespace orderflow::poller
