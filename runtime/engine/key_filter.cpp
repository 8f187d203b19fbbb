#include "runtime/engine/key_filter.h"

#include <bit>

#include "compiler/model/data.h"

namespace orderflow::runtime {

namespace {
constexpr int kProbes = 7;  // with 10 bits a text: about 1% false "maybe"
}  // namespace

KeyFilter::KeyFilter(size_t expected) : capacity_(expected) {
  uint64_t bits = std::bit_ceil(std::max<uint64_t>(expected * 10, 1024));
  bits_.assign(bits / 64, 0);
  mask_ = bits - 1;
}

void KeyFilter::add(std::string_view text) {
  uint64_t h = model::hash_string(text);
  uint64_t step = (h >> 32) | 1;
  for (int i = 0; i < kProbes; ++i, h += step) bits_[(h & mask_) >> 6] |= uint64_t{1} << (h & 63);
  ++added_;
}

bool KeyFilter::may_contain(std::string_view text) const {
  uint64_t h = model::hash_string(text);
  uint64_t step = (h >> 32) | 1;
  for (int i = 0; i < kProbes; ++i, h += step)
    if (!(bits_[(h & mask_) >> 6] & (uint64_t{1} << (h & 63)))) return false;
  return true;
}

}  // namespace orderflow::runtime
