// noon FBPI (Fulfilled by Partner) event notifications. The envelope names
// the order and nothing else ({"event_type": "FBPI::ORDER_CREATED",
// "payload": {"order_nr": "NFBO..."}}), so it becomes a fetch: the poller
// reads the order through GET /fbpi/v1/fbpi-order/{order_nr}/get. noon
// publishes no example of that answer, so its mapping waits for one
// (../shared/payloads/noon/SOURCE.md); until then a fetched noon order is
// reported, not guessed at.
#include <fmt/format.h>

#include "connectors/connector.h"

namespace orderflow::connectors {

namespace {

class Noon final : public Connector {
 public:
  std::string channel() const override { return "noon"; }

  // noon sends the credentials set on the webhook destination as they are:
  // the configured header must carry the configured secret.
  std::string signature_header() const override { return "authorization"; }
  std::string expected_signature(const WebhookSecret& secret, const std::string&) const override {
    return secret.secret;
  }

  Normalized normalize(const Reader& root) const override {
    try {
      if (!root.is_object()) root.fail("expected a JSON object");
      if (!root.has("event_type"))
        root.fail("is not an FBPI event notification; noon's order detail answer has no published example to map from",
                  "event_type");
      std::string type = root.text("event_type");
      if (type.rfind("FBPI::ORDER_", 0) != 0) root.fail(fmt::format("'{}' is not an order event", type), "event_type");
      std::string order = root.at("payload").text("order_nr");
      return std::vector<nlohmann::json>{
          {{"type", "fetch"}, {"channel", "noon"}, {"external_id", order}, {"reason", type}}};
    } catch (const PayloadError& e) {
      return e;
    }
  }
};

}  // namespace

std::unique_ptr<Connector> make_noon() {
  return std::make_unique<Noon>();
}

}  // namespace orderflow::connectors
