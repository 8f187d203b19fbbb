// A webhook body or a polled answer after its signature passed: read as
// the intake reads it (parse_json, or json_problem's reason), normalized by
// the connector the first byte picks, each order decoded against the
// standard schema. Whatever the bytes, an answer and never an exception.
#include <cstdio>
#include <cstdlib>

#include "connectors/connector.h"
#include "connectors/csv/csv_orders.h"
#include "runtime/canonical/json_parse.h"
#include "runtime/canonical/order_json.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace orderflow;
  if (size == 0) return 0;
  static const std::vector<std::string> channels = connectors::connector_channels();
  size_t pick = data[0] % (channels.size() + 1);
  std::string_view body = fuzz::text_of(data + 1, size - 1);
  connectors::Normalized normalized;
  if (pick == channels.size()) {
    normalized = connectors::orders_from_csv(body);
  } else {
    nlohmann::json payload = runtime::parse_json(body);
    if (payload.is_discarded()) {
      FUZZ_ASSERT(runtime::json_problem(body).has_value());
      return 0;
    }
    normalized = connectors::find_connector(channels[pick])->normalize(payload);
  }
  if (auto* inputs = std::get_if<std::vector<nlohmann::json>>(&normalized))
    for (const nlohmann::json& input : *inputs)
      if (input.value("type", "order") == "order") (void)runtime::decode_order(fuzz::standard_bundle(), input);
  return 0;
}
