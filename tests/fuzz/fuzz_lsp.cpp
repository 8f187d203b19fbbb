// Bytes on the language server's standard input: frames, headers, bodies,
// whatever they are. The server answers and reads on; it ends only at the
// end of its input or on `exit`.
#include <sstream>

#include "compiler/lsp/server.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(orderflow::fuzz::text_of(data, size)));
  std::ostringstream out;
  orderflow::lsp::serve(in, out);
  return 0;
}
