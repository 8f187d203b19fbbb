// A webhook body or a polled answer after its signature passed: read as
// the intake reads it (parse_json, or json_problem's reason), normalized by
// the connector the first byte picks, each order decoded against the
// standard schema. Whatever the bytes, an answer and never an exception,
// and the same answer when the body is read in place (as the intake does).
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
    const connectors::Connector& connector = *connectors::find_connector(channels[pick]);
    normalized = connector.normalize(payload);
    // The intake reads bodies in place: it must answer as the document does.
    connectors::Payload in_place(body);
    if (in_place.parsed()) {
      connectors::Normalized read_in_place = connector.normalize(in_place.root());
      FUZZ_ASSERT(normalized.index() == read_in_place.index());
      if (auto* error = std::get_if<connectors::PayloadError>(&normalized))
        FUZZ_ASSERT(error->text() == std::get<connectors::PayloadError>(read_in_place).text());
      else
        FUZZ_ASSERT(std::get<0>(normalized) == std::get<0>(read_in_place));
    }
  }
  if (auto* inputs = std::get_if<std::vector<nlohmann::json>>(&normalized))
    for (const nlohmann::json& input : *inputs)
      if (input.value("type", "order") == "order") (void)runtime::decode_order(fuzz::standard_bundle(), input);
  return 0;
}
