#include "connectors/outbound/sender.h"

#include <fmt/format.h>


#include "compiler/model/value.h"
#include "connectors/connector.h"

namespace orderflow::outbound {

namespace {

connectors::Outbound inventory_update(const std::string& sku, int64_t quantity) {
  connectors::Outbound m;
  m.kind = "inventory_update";
  m.sku = sku;
  m.quantity = quantity;
  return m;
}

}  // namespace

SenderConfig SenderConfig::from_json(const nlohmann::json& j) {
  SenderConfig c;
  for (const auto& [channel, settings] : j.items()) {
    ChannelOutbound o;
    o.base_url = settings.value("base_url", "");
    while (!o.base_url.empty() && o.base_url.back() == '/') o.base_url.pop_back();
    if (o.base_url.empty()) throw std::runtime_error(fmt::format("outbound.{} has no base_url", channel));
    if (!connectors::find_connector(channel))
      throw std::runtime_error(fmt::format("outbound.{}: there is no connector for '{}'", channel, channel));
    const nlohmann::json headers = settings.value("headers", nlohmann::json::object());
    for (const auto& [name, value] : headers.items()) o.headers[name] = value.get<std::string>();
    o.settings = settings.value("settings", nlohmann::json::object());
    o.resend_every = std::chrono::seconds(settings.value("resend_every_seconds", o.resend_every.count()));
    c.channels[channel] = std::move(o);
  }
  return c;
}

Sender::Sender(SenderConfig config, std::unique_ptr<runtime::Store> reader, poller::InboxWork with_inbox,
               poller::Caller call)
    : config_(std::move(config)),
      reader_(std::move(reader)),
      with_inbox_(std::move(with_inbox)),
      call_(std::move(call)),
      repeating_("telling the channels", {config_.every, config_.backoff_first, config_.backoff_most}, [this] {
        round(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                  .count());
      }) {}

Sender::~Sender() { stop(); }

bool Sender::tell(const std::string& channel, const std::string& about, const connectors::Outbound& message,
                  int64_t now_ms) {
  auto configured = config_.channels.find(channel);
  if (configured == config_.channels.end()) return false;
  connectors::Outbound now = message;
  now.now_ms = now_ms;
  std::optional<connectors::ChannelRequest> request =
      connectors::find_connector(channel)->outbound(now, configured->second.settings);
  if (!request) return false;
  poller::HttpCall call{request->method, configured->second.base_url + request->path, configured->second.headers,
                        request->body.dump()};
  call.headers["Content-Type"] = "application/json";
  poller::HttpAnswer answer = call_(call);  // throws when the channel cannot be reached: tried again
  if (answer.status == 429 || answer.status >= 500)
    throw std::runtime_error(fmt::format("{} answered {} to {} {}: telling it again later", channel, answer.status,
                                         request->method, request->path));
  // Told, or refused for good: either way it is on the record and the sender goes on.
  with_inbox_([&](runtime::Inbox& inbox) {
    inbox.log_told({now_ms, channel, about, fmt::format("{} {} {}", request->method, request->path, call.body),
                    answer.status, answer.body.substr(0, 2000)});
  });
  return true;
}

std::optional<connectors::Outbound> Sender::refund_message(const std::string& order_id,
                                                            const runtime::journal::Refunded& refunded) const {
  std::optional<runtime::StoredOrder> order = reader_->orders().get(order_id);
  if (!order || !config_.channels.count(order->channel)) return std::nullopt;
  const runtime::OrderReturn* r = nullptr;
  for (const runtime::OrderReturn& candidate : order->returns)
    if (candidate.id == refunded.return_id) r = &candidate;
  // What the channel paid itself is not told back to it.
  if (!r || r->refund == "by channel") return std::nullopt;
  connectors::Outbound m;
  m.kind = "refund";
  m.order = nlohmann::json::parse(order->order, nullptr, false);
  if (!m.order.is_object()) return std::nullopt;
  m.return_id = r->id;
  const nlohmann::json sold = m.order.value("lines", nlohmann::json::array());
  for (const auto& [line, quantity] : r->lines) {
    nlohmann::json l = {{"quantity", quantity}};
    if (line >= 0 && static_cast<size_t>(line) < sold.size()) {
      const nlohmann::json& s = sold[static_cast<size_t>(line)];
      if (s.contains("id")) l["id"] = s["id"];
      l["sku"] = s.value("sku", "");
    }
    m.lines.push_back(std::move(l));
  }
  size_t space = refunded.amount.find(' ');
  m.amount = refunded.amount.substr(0, space);
  m.currency = space == std::string::npos ? "" : refunded.amount.substr(space + 1);
  m.cause = fmt::format("Return {} ({}), refunded by orderflow", r->id, r->reason);
  return m;
}

size_t Sender::round(int64_t now_ms) {
  size_t sent = 0;
  // What happened to orders: their state entries in the journal.
  std::optional<std::string> saved;
  with_inbox_([&](runtime::Inbox& inbox) { saved = inbox.cursor("tell:journal"); });
  if (!saved) {
    // The first time, from now on: the past was not ours to tell.
    std::string now = std::to_string(reader_->journal().last_seq());
    with_inbox_([&](runtime::Inbox& inbox) { inbox.set_cursor("tell:journal", now); });
    saved = now;
  }
  int64_t seq = std::stoll(*saved);
  for (;;) {
    std::vector<runtime::journal::Record> records = reader_->journal().after(seq, 256);
    if (records.empty()) break;
    for (const runtime::journal::Record& r : records) {
      std::string by;  // who caused it: the event of the same input
      // Tells the order's channel, if it is one we tell, with the order as it is now.
      auto tell_order = [&](const char* kind, const std::string& from, const std::string& to, const std::string& cause,
                            const std::string& by) {
        std::optional<runtime::StoredOrder> order = reader_->orders().get(r.order_id);
        if (!order || !config_.channels.count(order->channel)) return;
        connectors::Outbound m;
        m.kind = kind;
        m.order = nlohmann::json::parse(order->order, nullptr, false);
        m.from = from;
        m.to = to;
        m.cause = cause;
        m.by = by;
        m.at = model::format_time(r.at);
        m.carrier = order->carrier;
        m.tracking_number = order->tracking_number;
        if (tell(order->channel, r.order_id, m, now_ms)) ++sent;
      };
      for (const runtime::journal::Entry& e : r.entries) {
        if (auto* refunded = std::get_if<runtime::journal::Refunded>(&e))
          if (std::optional<connectors::Outbound> m = refund_message(r.order_id, *refunded))
            if (tell(m->order.value("channel", ""), r.order_id, *m, now_ms)) ++sent;  // the canonical order's channel
        if (auto* event = std::get_if<runtime::journal::EventApplied>(&e)) by = event->by;
        if (auto* decided = std::get_if<runtime::journal::Decided>(&e); decided && !decided->delivery.empty())
          tell_order("delivery", decided->delivery_was, decided->delivery, decided->delivery_rule, "");
        if (auto* state = std::get_if<runtime::journal::StateChanged>(&e); state && state->entered)
          tell_order("state", state->from, state->to, state->cause, by);
      }
      seq = r.seq;
      with_inbox_([&](runtime::Inbox& inbox) { inbox.set_cursor("tell:journal", std::to_string(seq)); });
    }
  }
  // What the channels may sell: the outbox.
  with_inbox_([&](runtime::Inbox& inbox) { saved = inbox.cursor("tell:outbox"); });
  int64_t id = saved ? std::stoll(*saved) : 0;
  for (;;) {
    std::vector<runtime::OutboxMessage> messages = reader_->outbox().after(id, 256);
    if (messages.empty()) break;
    for (const runtime::OutboxMessage& o : messages) {
      if (o.kind == "inventory_update" && tell(o.channel, o.sku, inventory_update(o.sku, o.quantity), now_ms)) ++sent;
      id = o.id;
      with_inbox_([&](runtime::Inbox& inbox) { inbox.set_cursor("tell:outbox", std::to_string(id)); });
    }
  }
  // Everything again, now and then. After the outbox, and from `advertised`,
  // which holds the latest figure: nothing older than what was told goes.
  for (const auto& [channel, out] : config_.channels) {
    if (out.resend_every.count() <= 0) continue;
    std::string cursor = "tell:resend:" + channel;
    std::optional<std::string> last;
    with_inbox_([&](runtime::Inbox& inbox) { last = inbox.cursor(cursor); });
    int64_t every_ms = std::chrono::duration_cast<std::chrono::milliseconds>(out.resend_every).count();
    if (last && now_ms - std::stoll(*last) < every_ms) continue;
    // The first round only starts the clock: the outbox has told everything there is.
    if (last)
      for (const auto& [sku, quantity] : reader_->outbox().all_advertised(channel))
        if (tell(channel, sku, inventory_update(sku, quantity), now_ms)) ++sent;
    with_inbox_([&](runtime::Inbox& inbox) { inbox.set_cursor(cursor, std::to_string(now_ms)); });
  }
  return sent;
}

void Sender::start() { repeating_.start(); }

void Sender::stop() { repeating_.stop(); }

}  // namespace orderflow::outbound
