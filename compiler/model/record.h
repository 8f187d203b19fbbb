#pragma once
// Reading and writing record images (layout in schema.h).
#include <cstring>
#include <memory_resource>
#include <optional>
#include <string_view>

#include "compiler/model/schema.h"

namespace orderflow::model {

// Bump allocator for one order's strings, lists and records. Freed all at
// once with the arena. Not thread-safe.
class Arena {
 public:
  Arena() = default;
  // Takes from `initial` (which must outlive the arena) before the heap.
  Arena(std::byte* initial, size_t size) { resource_.emplace(initial, size); }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Zero-filled, 8-byte aligned.
  std::byte* allocate(size_t bytes) {
    void* p = resource().allocate(bytes == 0 ? 8 : bytes, 8);
    std::memset(p, 0, bytes);
    return static_cast<std::byte*>(p);
  }
  std::string_view copy(std::string_view text) {
    if (text.empty()) return {};
    char* p = static_cast<char*>(resource().allocate(text.size(), 1));
    std::memcpy(p, text.data(), text.size());
    return {p, text.size()};
  }

 private:
  // Made on first use: an evaluation that makes no text allocates nothing.
  std::pmr::monotonic_buffer_resource& resource() {
    if (!resource_) resource_.emplace(4096);
    return *resource_;
  }
  std::optional<std::pmr::monotonic_buffer_resource> resource_;
};

// Texts of up to this many bytes live inside their 16-byte slot, so that
// reading a PIN code or a country does not touch another cache line.
inline constexpr uint64_t kInlineString = uint64_t{1} << 63;
inline constexpr size_t kInlineStringBytes = 8;

// The text in a String slot (either form).
inline std::string_view string_slot(const std::byte* slot) {
  uint64_t length;
  std::memcpy(&length, slot + 8, 8);
  if (length & kInlineString) return {reinterpret_cast<const char*>(slot), static_cast<size_t>(length & ~kInlineString)};
  const char* data;
  std::memcpy(&data, slot, sizeof(data));
  return {data, static_cast<size_t>(length)};
}

// Reads one slot of the given type.
Value read_slot(const Schema& schema, Type type, const std::byte* slot);
// The value of an absent field of this type: missing, except that lists
// and sets are never missing, only empty.
Value absent_value(const Schema& schema, Type type);
// Writes a value into a slot. Strings and lists are not copied: the caller
// makes sure they live as long as the image (copy them into its arena).
void write_slot(Type type, std::byte* slot, const Value& value);
// The same for any element of a list, a record too: a list holds its
// records' images, which this copies (the schema gives their size).
void write_slot(const Schema& schema, Type type, std::byte* slot, const Value& value);

inline bool presence_bit(const std::byte* image, uint32_t field) {
  return (static_cast<uint8_t>(image[field / 8]) >> (field % 8)) & 1;
}
inline void set_presence_bit(std::byte* image, uint32_t field) {
  image[field / 8] = static_cast<std::byte>(static_cast<uint8_t>(image[field / 8]) | (1u << (field % 8)));
}

// A read-only view of one record image.
class RecordRef {
 public:
  RecordRef(const Schema& schema, int record, const std::byte* image)
      : schema_(&schema), record_(record), image_(image) {}

  const RecordDef& def() const { return schema_->record_def(record_); }
  int record_index() const { return record_; }
  const std::byte* image() const { return image_; }
  bool has(uint32_t field) const { return presence_bit(image_, field); }
  // The field's value, or missing when absent (computed defaults are not
  // applied here: that takes an evaluator).
  Value get(uint32_t field) const;
  Value get(std::string_view field) const;

 private:
  const Schema* schema_;
  int record_;
  const std::byte* image_;
};

// The i-th element of a list value.
Value list_element(const Schema& schema, const Value& list, uint64_t i);

}  // namespace orderflow::model
