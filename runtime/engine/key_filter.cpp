#include "runtime/engine/key_filter.h"

#include <bit>

#include "compiler/model/data.h"

namespace orderflow::runtime {

namespace {
// With 10 bits a text, 7 of them in a 512-bit block: about 1.5% false "maybe".
constexpr int kProbes = 7;

uint64_t remix(uint64_t h) {  // splitmix64's finaliser: the block's bits from other bits than the block's
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  return h;
}
}  // namespace

KeyFilter::KeyFilter(size_t expected) : capacity_(expected) {
  uint64_t bits = std::bit_ceil(std::max<uint64_t>(expected * 10, 4096));
  blocks_ = bits / (64 * kBlockWords);
  bits_.assign(blocks_ * kBlockWords, 0);
}

void KeyFilter::add(std::string_view text) {
  uint64_t h = model::hash_string(text);
  uint64_t* block = &bits_[(h & (blocks_ - 1)) * kBlockWords];
  uint64_t positions = remix(h);
  for (int i = 0; i < kProbes; ++i, positions >>= 9) block[(positions >> 6) & 7] |= uint64_t{1} << (positions & 63);
  ++added_;
}

bool KeyFilter::may_contain(std::string_view text) const {
  uint64_t h = model::hash_string(text);
  const uint64_t* block = &bits_[(h & (blocks_ - 1)) * kBlockWords];
  uint64_t positions = remix(h);
  for (int i = 0; i < kProbes; ++i, positions >>= 9)
    if (!(block[(positions >> 6) & 7] & (uint64_t{1} << (positions & 63)))) return false;
  return true;
}

}  // namespace orderflow::runtime
