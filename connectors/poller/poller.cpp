#include "connectors/poller/poller.h"

#include <fmt/format.h>

#include <algorithm>

#include "connectors/connector.h"

namespace orderflow::poller {

PollConfig PollConfig::from_json(const std::string& channel, const nlohmann::json& j) {
  PollConfig c;
  c.channel = channel;
  c.base_url = j.value("base_url", "");
  if (c.base_url.empty()) throw std::runtime_error(fmt::format("the {} poller has no base_url", channel));
  while (!c.base_url.empty() && c.base_url.back() == '/') c.base_url.pop_back();
  for (const char* key : {"headers", "params"})
    if (j.contains(key))
      for (const auto& [name, value] : j[key].items())
        (std::string(key) == "headers" ? c.headers : c.params)[name] = value.get<std::string>();
  c.secret = j.value("secret", "");
  c.interval = std::chrono::seconds(j.value("interval_seconds", 60));
  c.start = j.value("start", "");
  c.backoff_first = std::chrono::milliseconds(j.value("backoff_first_ms", 1000));
  c.backoff_most = std::chrono::milliseconds(j.value("backoff_most_ms", 300000));
  return c;
}

Poller::Poller(PollConfig config, std::unique_ptr<ChannelApi> api, InboxWork with_inbox)
    : config_(std::move(config)),
      api_(std::move(api)),
      with_inbox_(std::move(with_inbox)),
      repeating_("the " + config_.channel + " poller",
                 {std::chrono::duration_cast<std::chrono::milliseconds>(config_.interval), config_.backoff_first,
                  config_.backoff_most},
                 [this] {
                   round(std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count());
                 }) {}

Poller::~Poller() { stop(); }

void Poller::round(int64_t now) {
  const std::string cursor_name = "poll:" + config_.channel;
  std::optional<std::string> saved;
  with_inbox_([&](runtime::Inbox& inbox) { saved = inbox.cursor(cursor_name); });
  std::string cursor = saved ? *saved : !config_.start.empty() ? config_.start : api_->initial_cursor(now);
  std::string page;
  auto take = [&](runtime::Inbox& inbox, const nlohmann::json& body) {
    std::string text = body.dump();
    runtime::InboxEntry entry{
        0, runtime::inbox_key(config_.channel, text), config_.channel, "poll:" + config_.channel, now * 1000, text};
    inbox.add(entry);
  };
  do {
    ChannelApi::Page p = api_->list(cursor, page, now);
    page = p.next_page;
    with_inbox_([&](runtime::Inbox& inbox) {
      for (const nlohmann::json& body : p.bodies) take(inbox, body);
      // The cursor moves with the last page, in the same commit.
      if (page.empty()) inbox.set_cursor(cursor_name, p.cursor_after.empty() ? cursor : p.cursor_after);
    });
  } while (!page.empty());
  std::vector<runtime::FetchRequest> wanted;
  with_inbox_([&](runtime::Inbox& inbox) { wanted = inbox.fetches(config_.channel, 100); });
  for (const runtime::FetchRequest& f : wanted) {
    nlohmann::json body = api_->fetch(f.external_id, now);
    with_inbox_([&](runtime::Inbox& inbox) {
      take(inbox, body);
      inbox.fetched(f.channel, f.external_id);
    });
  }
}

void Poller::start() { repeating_.start(); }

void Poller::stop() { repeating_.stop(); }

}  // namespace orderflow::poller
