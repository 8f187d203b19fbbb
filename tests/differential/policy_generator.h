#pragma once
// Random well-typed bundles and random canonical orders, for the property
// test that compares the JIT with the interpreter. Everything comes from one
// seeded generator of our own (not <random>'s distributions, which differ
// between standard libraries), so a seed names the same case everywhere.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace orderflow::testing::gen {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  // 0 .. n-1
  int below(int n) { return static_cast<int>(next() % static_cast<uint64_t>(n)); }
  bool chance(int percent) { return below(100) < percent; }
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[below(static_cast<int>(items.size()))];
  }

 private:
  uint64_t state_;
};

// The value types expressions are generated at.
enum class Ty { Bool, Int, Decimal, Money, Text, Time, Duration, Float, Distance, Channel, Payment, Delivery };

// An expression as a tree, so that a failing case can be shrunk by
// replacing a part with something simpler of the same type.
struct Expr {
  std::string pattern;  // "$0 + $1"; a leaf has no placeholders
  Ty type = Ty::Bool;
  std::vector<Expr> kids;

  std::string render() const;
  size_t size() const;
};

// What names an expression may use where it stands.
struct Scope {
  int lines = 0;      // `line`, `line2`, ... bound by enclosing quantifiers
  bool node = false;  // inside a route's `where`: `node`
};

struct Rule {
  std::string name;
  std::optional<Expr> when;
  std::string action;          // acceptance/escalation: the whole `then`; routing: up to `where`
  std::optional<Expr> where;   // routing: the node filter
  std::string route_rest;      // routing: prefer / split / keep / else
};

struct Bundle {
  std::vector<Rule> acceptance;
  std::string otherwise;
  std::vector<Rule> routing;
  std::vector<Rule> escalation;
  std::map<std::string, std::string> data;  // file name under data/ -> content
  std::string timezone;  // the bundle's `timezone`, or "" for UTC

  // File name -> content, ready to write into a bundle folder.
  std::map<std::string, std::string> files() const;
  size_t size() const;  // expression nodes, for reporting shrinking
};

struct Sizes {
  int acceptance_rules = 24;
  int routing_rules = 3;
  int escalation_rules = 4;
  int max_depth = 4;
};

Bundle generate_bundle(Rng& rng, const Sizes& sizes = {});
// One order as canonical JSON, numbered `n` in its id.
std::string generate_order(Rng& rng, int n);
// Moments to evaluate at: the engine's `now`.
std::string generate_now(Rng& rng);

// Every way to make `bundle` one step simpler: a rule removed, an
// expression replaced by a part of it or by the simplest value of its type.
std::vector<Bundle> simpler_bundles(const Bundle& bundle);
// Every way to make an order (canonical JSON) one step simpler: a field or
// a line removed.
std::vector<std::string> simpler_orders(const std::string& order_json);

}  // namespace orderflow::testing::gen
