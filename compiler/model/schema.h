#pragma once
// The schema: enums and records from stdlib/schema.flow and the bundle, with
// the memory layout that both the interpreter and the JIT read orders in.
//
// Record image layout (the JIT depends on every detail here):
//   [presence bits: one per field, padded to 8 bytes][slot per field]
//   Bool            u8
//   Int, Decimal, Money amount, Duration, Time, Enum ordinal   i64
//   Float, Distance f64
//   Money           i64 amount (millionths) at +0, u32 currency at +8
//   String          const char* at +0, u64 byte length at +8; a text of at
//                   most 8 bytes is kept in the slot itself: its bytes at +0
//                   and its length with bit 63 set (kInlineString) at +8
//   List, Set       const void* elements at +0, u64 count at +8; elements
//                   are consecutive slots of the element type
//   Record          the nested record's image, inline
// A field's presence bit is set when the channel sent a value (or the
// decoder applied a constant default); reading an absent field gives missing.
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/model/types.h"
#include "compiler/model/value.h"
#include "compiler/support/source.h"

namespace orderflow::model {

// Owns the text of strings that values point to. References stay valid for
// the pool's lifetime.
class StringPool {
 public:
  std::string_view intern(std::string_view text);

 private:
  std::deque<std::string> storage_;
  std::map<std::string, std::string_view, std::less<>> index_;
};

struct EnumDef {
  std::string name;
  std::vector<std::string> values;
  std::vector<SourceRange> value_ranges;
  std::vector<std::string> value_docs;
  std::string doc;
  SourceRange range;

  // Index of a value, or -1.
  int find(std::string_view value) const;
};

enum class DefaultKind : uint8_t {
  None,      // required, or optional without a default
  Constant,  // applied by the decoder when the channel sends nothing
  Computed,  // an expression over the record's other fields and `now`,
             // evaluated when the field is read and absent
};

struct FieldDef {
  std::string name;
  Type type;
  bool optional = false;
  DefaultKind default_kind = DefaultKind::None;
  Value default_value;  // for DefaultKind::Constant; strings live in the schema's pool
  std::string doc;
  SourceRange range;
  uint32_t index = 0;
  uint32_t offset = 0;  // filled by Schema::compute_layouts()
};

struct RecordDef {
  std::string name;
  std::vector<FieldDef> fields;
  std::string doc;
  SourceRange range;
  uint32_t presence_bytes = 0;
  uint32_t size = 0;  // bytes, a multiple of 8

  // Index of a field, or -1.
  int find(std::string_view field) const;
};

class Schema {
 public:
  Schema() = default;
  Schema(const Schema&) = delete;
  Schema& operator=(const Schema&) = delete;

  int add_enum(EnumDef def);
  int add_record(RecordDef def);
  int find_enum(std::string_view name) const;
  int find_record(std::string_view name) const;
  EnumDef& enum_def(int index) { return enums_.at(index); }
  const EnumDef& enum_def(int index) const { return enums_.at(index); }
  RecordDef& record_def(int index) { return records_.at(index); }
  const RecordDef& record_def(int index) const { return records_.at(index); }
  size_t enum_count() const { return enums_.size(); }
  size_t record_count() const { return records_.size(); }

  Type enum_type(int index) const { return {TypeKind::Enum, index}; }
  Type record_type(int index) const { return {TypeKind::Record, index}; }
  Type list_of(Type element);
  Type set_of(Type element);
  Type element_type(Type collection) const;

  // "money", "list of Line", "Channel".
  std::string type_name(Type t) const;

  // Lays out every record. Returns the names of records that contain
  // themselves (inline, which could never be laid out); they get size 0.
  std::vector<std::string> compute_layouts();
  // Lays a record's fields out again in `order` (field indices, each once):
  // the fields policies read go first, so that reading an order touches as
  // few cache lines as it can. Sizes do not change, only offsets.
  void relayout(int record, const std::vector<int>& order);
  uint32_t slot_size(Type t) const;

  StringPool& strings() { return strings_; }

 private:
  std::vector<EnumDef> enums_;
  std::vector<RecordDef> records_;
  std::vector<Type> elements_;  // element type of each interned collection
  StringPool strings_;
};

}  // namespace orderflow::model
