#pragma once
// A set of texts that may answer "maybe" but never wrongly "no" (a Bloom
// filter): whether an intake key or an order id has been seen, asked before
// every new order. "No", the usual answer, spares a look in the store.
// Blocked: all of a text's bits lie in one 64-byte block, so asking costs
// one cache miss, not one per bit (Putze, Sanders, Singler, 2007).
//
// Thread safety: one thread at a time.
#include <cstdint>
#include <string_view>
#include <vector>

namespace orderflow::runtime {

class KeyFilter {
 public:
  // Room for about `expected` texts at one false "maybe" in a hundred.
  explicit KeyFilter(size_t expected = 1u << 20);
  void add(std::string_view text);
  bool may_contain(std::string_view text) const;
  size_t added() const { return added_; }
  // More texts than it has room for: "maybe" gets likelier; rebuild it larger.
  bool crowded() const { return added_ > capacity_; }

 private:
  static constexpr size_t kBlockWords = 8;  // 512 bits, one cache line
  std::vector<uint64_t> bits_;
  uint64_t blocks_ = 0;  // bits_.size() / kBlockWords, a power of two
  size_t added_ = 0;
  size_t capacity_ = 0;
};

}  // namespace orderflow::runtime
