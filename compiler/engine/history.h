#pragma once
// history(KEY, WINDOW): what the engine has journalled about a phone, an
// email, an address or a pincode. The policy side (builtins.cpp) asks a
// HistorySource; the runtime keeps one, maintained as orders are decided,
// so a decision never scans the journal. Keys are normalised here, in one
// place, so that the policy's question and the runtime's index agree.
#include <cstdint>
#include <string>
#include <string_view>

#include "compiler/check/bundle.h"

namespace orderflow::engine {

using check::HistoryKey;
inline constexpr int kHistoryKeyKinds = 4;

const char* history_key_name(HistoryKey kind);

// The key as the index holds it, or "" when nothing identifying is left:
// a phone by its last ten digits (+91 98450 12345 and 098450-12345 are one
// number), an email in lower case, a pincode without spaces in upper case.
std::string normalize_history_key(HistoryKey kind, std::string_view value);
// An address by its first line and pincode, in lower case, with runs of
// anything but letters and digits read as one space.
std::string address_history_key(std::string_view line1, std::string_view postal_code);

// Orders received under a key in [from, to), and what became of them
// before `to`.
struct HistoryCounts {
  int64_t orders = 0;
  int64_t delivered = 0;
  int64_t cancelled = 0;
  int64_t returned = 0;
  int64_t rto = 0;
};

class HistorySource {
 public:
  virtual ~HistorySource() = default;
  // Orders received in [from, to) whose `kind` key is `key` (normalised),
  // and which of them were delivered, cancelled, returned or returned to
  // origin before `to`. The order being decided was received at `to`: it
  // is not counted, so a replay decides the same.
  virtual HistoryCounts counts(HistoryKey kind, std::string_view key, int64_t from, int64_t to) const = 0;
};

}  // namespace orderflow::engine
