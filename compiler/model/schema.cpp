#include "compiler/model/schema.h"

#include <functional>

namespace orderflow::model {

std::string_view StringPool::intern(std::string_view text) {
  auto it = index_.find(text);
  if (it != index_.end()) return it->second;
  storage_.emplace_back(text);
  std::string_view view = storage_.back();
  index_.emplace(std::string(text), view);
  return view;
}

int EnumDef::find(std::string_view value) const {
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i] == value) return static_cast<int>(i);
  return -1;
}

int RecordDef::find(std::string_view field) const {
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i].name == field) return static_cast<int>(i);
  return -1;
}

int Schema::add_enum(EnumDef def) {
  enums_.push_back(std::move(def));
  return static_cast<int>(enums_.size() - 1);
}

int Schema::add_record(RecordDef def) {
  records_.push_back(std::move(def));
  return static_cast<int>(records_.size() - 1);
}

int Schema::find_enum(std::string_view name) const {
  for (size_t i = 0; i < enums_.size(); ++i)
    if (enums_[i].name == name) return static_cast<int>(i);
  return -1;
}

int Schema::find_record(std::string_view name) const {
  for (size_t i = 0; i < records_.size(); ++i)
    if (records_[i].name == name) return static_cast<int>(i);
  return -1;
}

namespace {
Type intern_collection(std::vector<Type>& elements, TypeKind kind, Type element) {
  for (size_t i = 0; i < elements.size(); ++i)
    if (elements[i] == element) return {kind, static_cast<int32_t>(i)};
  elements.push_back(element);
  return {kind, static_cast<int32_t>(elements.size() - 1)};
}
}  // namespace

Type Schema::list_of(Type element) { return intern_collection(elements_, TypeKind::List, element); }
Type Schema::set_of(Type element) { return intern_collection(elements_, TypeKind::Set, element); }

Type Schema::element_type(Type collection) const {
  if (!collection.is_collection() || collection.ref < 0) return Type::error();
  return elements_.at(collection.ref);
}

std::string Schema::type_name(Type t) const {
  switch (t.kind) {
    case TypeKind::Enum: return t.ref >= 0 ? enums_.at(t.ref).name : "enum";
    case TypeKind::Record: return t.ref >= 0 ? records_.at(t.ref).name : "record";
    case TypeKind::List: return "list of " + type_name(element_type(t));
    case TypeKind::Set: return "set of " + type_name(element_type(t));
    default: return std::string(scalar_type_name(t.kind));
  }
}

uint32_t Schema::slot_size(Type t) const {
  switch (t.kind) {
    case TypeKind::Money:
    case TypeKind::String:
    case TypeKind::List:
    case TypeKind::Set: return 16;
    case TypeKind::Record: return records_.at(t.ref).size;
    default: return 8;
  }
}

std::vector<std::string> Schema::compute_layouts() {
  enum class Mark { None, Visiting, Done };
  std::vector<Mark> marks(records_.size(), Mark::None);
  std::vector<std::string> cyclic;
  std::function<void(int)> layout = [&](int r) {
    if (marks[r] == Mark::Done) return;
    if (marks[r] == Mark::Visiting) {
      cyclic.push_back(records_[r].name);
      return;
    }
    marks[r] = Mark::Visiting;
    RecordDef& def = records_[r];
    for (FieldDef& f : def.fields)
      if (f.type.kind == TypeKind::Record) layout(f.type.ref);
    def.presence_bytes = static_cast<uint32_t>(((def.fields.size() + 63) / 64) * 8);
    if (def.presence_bytes == 0) def.presence_bytes = 8;
    uint32_t offset = def.presence_bytes;
    for (size_t i = 0; i < def.fields.size(); ++i) {
      FieldDef& f = def.fields[i];
      f.index = static_cast<uint32_t>(i);
      f.offset = offset;
      offset += (f.type.kind == TypeKind::Record && marks[f.type.ref] != Mark::Done) ? 0 : slot_size(f.type);
    }
    def.size = offset;
    marks[r] = Mark::Done;
  };
  for (size_t r = 0; r < records_.size(); ++r) layout(static_cast<int>(r));
  return cyclic;
}

void Schema::relayout(int record, const std::vector<int>& order) {
  RecordDef& def = records_.at(record);
  uint32_t offset = def.presence_bytes;
  for (int f : order) {
    def.fields.at(f).offset = offset;
    offset += slot_size(def.fields[f].type);
  }
}

}  // namespace orderflow::model
