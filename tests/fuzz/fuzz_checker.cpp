// A .flow file, parsed and checked: diagnostics (each with a code and a
// place) or a checked bundle, whatever the text.
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace orderflow;
  check::CheckOptions options;
  options.overlay["fuzz.flow"] = std::string(fuzz::text_of(data, size));
  check::CheckOutcome out = check::check_bundle({"fuzz.flow"}, options);
  for (const Diagnostic& d : out.diagnostics.all()) FUZZ_ASSERT(!d.code.empty());
  if (out.bundle) (void)check::dump_typed(*out.bundle);
  return 0;
}
