#pragma once
// What the fuzz targets share. Each target is a libFuzzer entry point
// (LLVMFuzzerTestOneInput); built with clang and ORDERFLOW_FUZZ it is
// driven by libFuzzer (`make fuzz`), and built by any compiler with
// replay_main.cpp it runs the inputs kept in tests/fuzz/corpus and
// tests/fuzz/crashes as an ordinary test, so that nothing found once comes
// back.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "compiler/check/checker.h"

namespace orderflow::fuzz {

inline std::string_view text_of(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The standard library's bundle, checked once: the schema orders meet.
inline const check::CheckedBundle& standard_bundle() { return *check::standard_library(); }

// A property the target checks: a failure is a crash libFuzzer keeps.
#define FUZZ_ASSERT(condition)                                                                              \
  do {                                                                                                      \
    if (!(condition)) {                                                                                     \
      std::fprintf(stderr, "fuzz property failed: %s (%s:%d)\n", #condition, __FILE__, __LINE__);          \
      std::abort();                                                                                         \
    }                                                                                                       \
  } while (0)

}  // namespace orderflow::fuzz
