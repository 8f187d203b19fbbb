// A .flow file through fmt: a file with syntax errors is left exactly as it
// is; any other is formatted idempotently, and what the checker makes of it
// (`check --emit typed`, and whether it checks) does not change.
#include "compiler/format/formatter.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

std::string typed(const std::string& text) {
  orderflow::check::CheckOptions options;
  options.overlay["fuzz.flow"] = text;
  orderflow::check::CheckOutcome out = orderflow::check::check_bundle({"fuzz.flow"}, options);
  return out.bundle ? orderflow::check::dump_typed(*out.bundle) : "does not check: " + std::to_string(out.diagnostics.error_count());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace orderflow;
  std::string text(fuzz::text_of(data, size));
  format::FormatResult once = format::format_flow("fuzz.flow", text);
  if (once.error) {
    FUZZ_ASSERT(once.text == text);
    return 0;
  }
  format::FormatResult twice = format::format_flow("fuzz.flow", once.text);
  FUZZ_ASSERT(!twice.error);
  FUZZ_ASSERT(twice.text == once.text);
  bool before_checks = typed(text).rfind("does not check", 0) != 0;
  bool after_checks = typed(once.text).rfind("does not check", 0) != 0;
  FUZZ_ASSERT(before_checks == after_checks);
  if (before_checks) FUZZ_ASSERT(typed(text) == typed(once.text));
  return 0;
}
