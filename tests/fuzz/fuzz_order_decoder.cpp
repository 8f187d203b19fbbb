// A line of `run --events` or `eval --orders`: the canonical order decoder,
// against the standard schema. An order or a DecodeError, nothing else.
#include "runtime/canonical/order_json.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace orderflow;
  runtime::DecodeResult r = runtime::parse_order(fuzz::standard_bundle(), fuzz::text_of(data, size));
  if (auto* e = std::get_if<runtime::DecodeError>(&r)) FUZZ_ASSERT(!e->text().empty());
  return 0;
}
