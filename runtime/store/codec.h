#pragma once
// The binary and JSON forms of the runtime's persistent records, written
// once: each record type lists its fields in a `fields(visitor, record)`
// function (in its own namespace, found by argument-dependent lookup), and
// the visitors here walk those lists. The journal's entries (journal.cpp)
// and the order table's rows (sqlite_store.cpp) are encoded this way.
// Internal to runtime/store.
//
// Binary: integers as zigzag varints, texts and lists with their length,
// optional values behind a presence byte, records as their fields in
// order. A field added later goes at the end of its record's list; a
// record that ends before it leaves it at its default.
#include <nlohmann/json.hpp>

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "compiler/model/value.h"
#include "runtime/store/journal.h"

namespace orderflow::runtime {

template <class T, class S>
concept Is = std::same_as<std::remove_const_t<S>, T>;

template <class V, class S>
  requires Is<LineState, S>
void fields(V& v, S& s) {
  v("state", s.state);
  v("quantity", s.quantity);
}

template <class V, class S>
  requires Is<Allocation, S>
void fields(V& v, S& s) {
  v("line", s.line);
  v("sku", s.sku);
  v("node", s.node);
  v("quantity", s.quantity);
}

template <class V, class S>
  requires Is<ReturnedUnit, S>
void fields(V& v, S& s) {
  v("line", s.line);
  v("sku", s.sku);
  v("grade", s.grade);
  v("reason", s.reason);
  v("disposition", s.disposition);
  v("node", s.node);
  v("fees", s.fees);
}

template <class V, class S>
  requires Is<OrderReturn, S>
void fields(V& v, S& s) {
  v("id", s.id);
  v("kind", s.kind);
  v("reason", s.reason);
  v("state", s.state);
  v("lines", s.lines);
  v("refund", s.refund);
  v("keep_item", s.keep_item);
  v("units", s.units);
  v("refunded", s.refunded);
  v("refunded_shipping", s.refunded_shipping);
}

template <class V, class S>
  requires Is<Exchange, S>
void fields(V& v, S& s) {
  v("return_id", s.return_id);
  v("lines", s.lines);
  v("order_id", s.order_id);
}

template <class V, class S>
  requires Is<ReturnEntered, S>
void fields(V& v, S& s) {
  v("return_id", s.return_id);
  v("state", s.state);
  v.time("at", s.at);
}

namespace codec {

template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};
template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsPair : std::false_type {};
template <class A, class B>
struct IsPair<std::pair<A, B>> : std::true_type {};

// ------------------------------------------------------------ binary

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  template <class T>
  void operator()(const char*, const T& value) {
    put(value);
  }
  void json_text(const char*, const std::string& text) { put(text); }
  void time(const char*, const int64_t& t) { put(t); }
  void time(const char*, const std::optional<int64_t>& t) { put(t); }
  void duration(const char*, const int64_t& t) { put(t); }
  void duration(const char*, const std::optional<int64_t>& t) { put(t); }

  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }

  template <class T>
  void put(const T& value) {
    if constexpr (std::is_same_v<T, bool>) {
      out_.push_back(value ? 1 : 0);
    } else if constexpr (std::is_integral_v<T>) {
      // Zigzag: small negative numbers stay small.
      int64_t v = value;
      varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
    } else if constexpr (std::is_same_v<T, std::string>) {
      varint(value.size());
      out_.append(value);
    } else if constexpr (IsOptional<T>::value) {
      out_.push_back(value ? 1 : 0);
      if (value) put(*value);
    } else if constexpr (IsVector<T>::value) {
      varint(value.size());
      for (const auto& item : value) put(item);
    } else if constexpr (IsPair<T>::value) {
      put(value.first);
      put(value.second);
    } else {
      fields(*this, value);
    }
  }

 private:
  std::string& out_;
};

class Reader {
 public:
  Reader(std::string_view bytes) : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}
  bool done() const { return p_ >= end_; }

  // A field the payload does not reach keeps its default (a record older
  // than the field).
  template <class T>
  void operator()(const char*, T& value) {
    if (!done()) get(value);
  }
  void json_text(const char* name, std::string& text) { (*this)(name, text); }
  template <class T>
  void time(const char* name, T& t) {
    (*this)(name, t);
  }
  template <class T>
  void duration(const char* name, T& t) {
    (*this)(name, t);
  }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) throw journal::CodecError("a journal record ends in the middle of a number");
      uint8_t b = static_cast<uint8_t>(*p_++);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    throw journal::CodecError("a journal record has a number longer than 64 bits");
  }
  uint8_t byte() {
    if (p_ >= end_) throw journal::CodecError("a journal record ends early");
    return static_cast<uint8_t>(*p_++);
  }
  std::string_view bytes(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) throw journal::CodecError("a journal record ends in the middle of a text");
    std::string_view s(p_, n);
    p_ += n;
    return s;
  }

  template <class T>
  void get(T& value) {
    if constexpr (std::is_same_v<T, bool>) {
      value = byte() != 0;
    } else if constexpr (std::is_integral_v<T>) {
      uint64_t z = varint();
      value = static_cast<T>(static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1));
    } else if constexpr (std::is_same_v<T, std::string>) {
      value = std::string(bytes(varint()));
    } else if constexpr (IsOptional<T>::value) {
      if (byte()) {
        value.emplace();
        get(*value);
      } else {
        value.reset();
      }
    } else if constexpr (IsVector<T>::value) {
      uint64_t n = varint();
      if (n > static_cast<uint64_t>(end_ - p_)) throw journal::CodecError("a journal record has a list longer than itself");
      value.resize(n);
      for (auto& item : value) get(item);
    } else if constexpr (IsPair<T>::value) {
      get(value.first);
      get(value.second);
    } else {
      fields(*this, value);
    }
  }

 private:
  const char* p_;
  const char* end_;
};

// ------------------------------------------------------------ JSON

class JsonWriter {
 public:
  explicit JsonWriter(nlohmann::ordered_json& out) : out_(out) {}

  // Empty texts and lists and absent values are left out: the body says
  // what is there.
  template <class T>
  void operator()(const char* name, const T& value) {
    if constexpr (std::is_same_v<T, std::string>) {
      if (value.empty()) return;
    } else if constexpr (IsVector<T>::value) {
      if (value.empty()) return;
    } else if constexpr (IsOptional<T>::value) {
      if (!value) return;
    }
    out_[name] = render(value);
  }
  void json_text(const char* name, const std::string& text) {
    if (text.empty()) return;
    nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(text, nullptr, false);
    out_[name] = parsed.is_discarded() ? nlohmann::ordered_json(text) : parsed;
  }
  void time(const char* name, const int64_t& t) { out_[name] = model::format_time(t); }
  void time(const char* name, const std::optional<int64_t>& t) {
    if (t) time(name, *t);
  }
  void duration(const char* name, const int64_t& t) {
    if (t != 0) out_[name] = model::format_duration(t);
  }
  void duration(const char* name, const std::optional<int64_t>& t) {
    if (t) out_[name] = model::format_duration(*t);
  }

  template <class T>
  static nlohmann::ordered_json render(const T& value) {
    if constexpr (std::is_same_v<T, bool> || std::is_integral_v<T> || std::is_same_v<T, std::string>) {
      return value;
    } else if constexpr (IsOptional<T>::value) {
      return value ? render(*value) : nlohmann::ordered_json(nullptr);
    } else if constexpr (IsVector<T>::value) {
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      for (const auto& item : value) list.push_back(render(item));
      return list;
    } else if constexpr (IsPair<T>::value) {
      return nlohmann::ordered_json::array({render(value.first), render(value.second)});
    } else {
      nlohmann::ordered_json object = nlohmann::ordered_json::object();
      JsonWriter nested(object);
      fields(nested, value);
      return object;
    }
  }

 private:
  nlohmann::ordered_json& out_;
};

}  // namespace codec
}  // namespace orderflow::runtime
