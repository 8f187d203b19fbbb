#pragma once
// Data that policies read besides the order: lists, geo tables, exchange
// rates, keyed tables, and the nodes and stock that routing chooses between.
// Loaded once per bundle (by the checker, from the bundle's CSV files) and
// read-only afterwards, so any number of evaluations may share them.
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "compiler/model/local_time.h"
#include "compiler/model/ops.h"
#include "compiler/model/record.h"

namespace orderflow::model {

// A hash of a text: short texts (SKUs, postal codes, ids) with a few loads
// and one multiplication, longer ones with XXH3.
uint64_t hash_string(std::string_view s);

// Distinct texts numbered in the order they were added, found by text
// without allocating or copying: open addressing over 64-bit hashes. Every
// table keyed by text (lists, keyed tables, stock by SKU) is one of these.
class TextIndex {
 public:
  // The text's number, added when new.
  uint32_t add(std::string_view text);
  // The text's number, or -1.
  int64_t find(std::string_view text) const;
  bool contains(std::string_view text) const { return find(text) >= 0; }
  size_t size() const { return texts_.size(); }
  const std::string& text(uint32_t number) const { return texts_[number]; }
  const std::vector<std::string>& texts() const { return texts_; }

 private:
  void grow();

  std::vector<std::string> texts_;
  std::vector<int32_t> slots_;  // a text's number, -1 empty; size is a power of two
  std::vector<uint64_t> hashes_;
  uint64_t mask_ = 0;
};

// A set of texts (a `use list` of texts).
class StringSet {
 public:
  StringSet() = default;
  explicit StringSet(const std::vector<std::string>& values) {
    for (const std::string& v : values) index_.add(v);
  }
  bool contains(std::string_view s) const { return index_.contains(s); }
  size_t size() const { return index_.size(); }
  const std::vector<std::string>& values() const { return index_.texts(); }

 private:
  TextIndex index_;
};

// A `use list`: its values in file order, with a fast membership test.
// A `use calendar` is one too: its dates as text, "2026-12-25".
struct DataList {
  std::string name;
  bool calendar = false;
  Type element;                  // String or Int
  std::vector<Value> values;     // strings point into `strings`
  StringSet strings;             // when element is String
  std::vector<int64_t> integers; // sorted, when element is Int

  bool contains(const Value& v) const;
};

// A `use hours` table: when each node is open, by local weekday, and the
// calendar of dates it is closed on. Working time counts only open time.
class WorkingHours {
 public:
  struct Span {
    int64_t open = 0;   // milliseconds after local midnight
    int64_t close = 0;  // after open; up to 24:00
  };
  std::string name;
  std::string calendar_name;  // `closed on NAME`, or ""

  // Adds an open span to a node's weekday (1 = Monday); spans past
  // midnight are given as two, one on each day.
  void add(std::string_view node, int weekday, Span span);
  void close_on(int64_t day) { closed_days_.push_back(day); }
  // Call once every span and closed day is added.
  void finish();
  bool has_node(std::string_view node) const { return nodes_.contains(node); }
  const std::vector<Span>& spans(std::string_view node, int weekday) const;

  // The moment `duration` of open time after `from` at the node, read on
  // `zone`'s clock; nullopt when the node has no hours or is not open in
  // the next ten years.
  std::optional<int64_t> add_working_time(std::string_view node, int64_t from, int64_t duration, TimeZone zone) const;
  // The open time between two moments (negative when `to` is before
  // `from`); nullopt when the node has no hours or they are more than ten
  // years apart.
  std::optional<int64_t> working_time_between(std::string_view node, int64_t from, int64_t to, TimeZone zone) const;

 private:
  bool closed(int64_t day) const;
  // The open spans of a node on a local day, as instants.
  template <typename Visit>
  void for_each_open(size_t node, int64_t day, TimeZone zone, const Visit& visit) const;

  TextIndex nodes_;
  std::vector<std::array<std::vector<Span>, 7>> week_;  // by node number, Monday first
  std::vector<int64_t> closed_days_;                    // sorted after finish()
};

struct GeoPoint {
  double lat = 0;
  double lon = 0;
};

// A `use geo` table: postal code -> coordinates. A code that is not listed
// is looked up by ever shorter prefixes, so a table of 3-digit prefix
// centroids places every 6-digit PIN code.
class GeoTable {
 public:
  std::string name;
  void add(std::string_view code, GeoPoint p) {
    uint32_t i = codes_.add(code);
    if (i == points_.size()) points_.push_back(p);
    else points_[i] = p;
  }
  std::optional<GeoPoint> locate(std::string_view postal_code) const;
  size_t size() const { return points_.size(); }

 private:
  TextIndex codes_;
  std::vector<GeoPoint> points_;  // by code number
};

// Great-circle distance in metres (haversine, mean Earth radius).
double great_circle_metres(GeoPoint a, GeoPoint b);

// A `use rates` table: how many units of `to` one unit of `from` buys.
class RateTable : public CurrencyConverter {
 public:
  std::string name;
  void add(CurrencyCode from, CurrencyCode to, int64_t rate_micros) { rates_[{from, to}] = rate_micros; }
  std::optional<int64_t> convert(int64_t micros, CurrencyCode from, CurrencyCode to) const override;

 private:
  std::map<std::pair<CurrencyCode, CurrencyCode>, int64_t> rates_;
};

// Record images that live as long as their owner (keyed tables, nodes).
class RecordStore {
 public:
  std::byte* allocate(uint32_t size) { return arena_.allocate(size); }
  std::string_view copy(std::string_view s) { return arena_.copy(s); }
  Arena& arena() { return arena_; }

 private:
  Arena arena_;
};

// Hashing and comparing texts as string_views, so that a lookup by a view
// into an order never builds a std::string.
struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return hash_string(s); }
};

// A `use table ... of RECORD by FIELD`: records looked up by a key.
struct KeyedTable {
  std::string name;
  int record = -1;
  int key_field = -1;
  std::vector<const std::byte*> rows;  // by key number
  TextIndex keys;
  std::shared_ptr<RecordStore> store;

  void add(std::string_view key, const std::byte* row) {
    if (keys.add(key) == rows.size()) rows.push_back(row);
  }
  const std::byte* find(std::string_view key) const {
    int64_t i = keys.find(key);
    return i < 0 ? nullptr : rows[static_cast<size_t>(i)];
  }
};

struct StockLevel {
  int64_t on_hand = 0;
  int64_t reserved = 0;
  int64_t safety = 0;

  // Available to promise with a rule's extra safety stock, never below 0.
  int64_t available(int64_t extra_safety) const {
    int64_t keep = safety > extra_safety ? safety : extra_safety;
    int64_t atp = on_hand - reserved - keep;
    return atp > 0 ? atp : 0;
  }
};

// What routing reads: the nodes and their stock. Stock is kept by SKU, one
// StockLevel per node, so routing resolves each SKU of an order once and
// then reads any node's level by index. Readers must not run while the
// inventory changes; the runtime's live inventory guards that.
class Inventory {
 public:
  virtual ~Inventory() = default;
  virtual size_t node_count() const = 0;
  // Every node's record image (record Node of the schema), node_count() of them.
  virtual const std::byte* const* node_images() const = 0;
  const std::byte* node(size_t index) const { return node_images()[index]; }
  // One StockLevel per node for this SKU, or null when no node stocks it.
  virtual const StockLevel* sku_stock(std::string_view sku) const = 0;
  // One byte per node, 1 for a node whose `active` is false: such a node is
  // never routed to, whatever a rule's filter says. Null when every node is
  // active.
  virtual const uint8_t* inactive() const { return nullptr; }

  int64_t available(size_t node, std::string_view sku, int64_t extra_safety) const {
    const StockLevel* row = sku_stock(sku);
    return row ? row[node].available(extra_safety) : 0;
  }
};

// Nodes and stock held in memory: the bundle's data files (`use nodes`,
// `use stock`), and the base of the runtime's live inventory.
class StaticInventory : public Inventory {
 public:
  size_t node_count() const override { return nodes_.size(); }
  const std::byte* const* node_images() const override { return nodes_.data(); }
  const StockLevel* sku_stock(std::string_view sku) const override;
  const uint8_t* inactive() const override { return any_inactive_ ? inactive_.data() : nullptr; }

  void add_node(std::string id, const std::byte* image, bool active = true);
  std::optional<size_t> find_node(std::string_view id) const;
  const std::string& node_id(size_t index) const { return ids_.at(index); }
  StockLevel& stock(size_t node, std::string_view sku);
  RecordStore& store() { return *store_; }
  // Every SKU with stock rows, for reports.
  std::vector<std::string> skus() const;

 private:
  std::vector<const std::byte*> nodes_;
  std::vector<std::string> ids_;
  std::unordered_map<std::string, size_t> by_id_;
  TextIndex skus_;
  std::vector<std::vector<StockLevel>> stock_;  // by SKU number, one per node
  std::vector<uint8_t> inactive_;
  bool any_inactive_ = false;
  std::shared_ptr<RecordStore> store_ = std::make_shared<RecordStore>();
};

// Parses a value of a field's type from text: a CSV cell, say. Money is
// "12.50 INR"; sets and lists of text are separated by ';'. Strings are
// copied into `arena`. Returns a message for the analyst on failure.
std::variant<Value, std::string> parse_text_value(const Schema& schema, Type type, std::string_view text,
                                                  Arena& arena);

// Sets every absent field that has a constant default to that default.
void apply_constant_defaults(const Schema& schema, int record, std::byte* image);

}  // namespace orderflow::model
