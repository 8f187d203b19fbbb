#include "tests/differential/policy_generator.h"

#include <fmt/format.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "compiler/check/checker.h"

namespace orderflow::testing::gen {

uint64_t Rng::next() {
  // splitmix64: tiny, fast and the same on every platform.
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string Expr::render() const {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '$' && i + 1 < pattern.size() && std::isdigit(static_cast<unsigned char>(pattern[i + 1]))) {
      const Expr& kid = kids.at(pattern[i + 1] - '0');
      std::string text = kid.render();
      // Parentheses around every composite part: precedence is not what
      // this test is about (the parser's tests are).
      bool bare = kid.kids.empty() && text.find(' ') == std::string::npos;
      out += bare ? text : "(" + text + ")";
      ++i;
    } else {
      out += pattern[i];
    }
  }
  return out;
}

size_t Expr::size() const {
  size_t n = 1;
  for (const Expr& k : kids) n += k.size();
  return n;
}

namespace {

// The channels, from the one list there is: enum Channel in
// stdlib/schema.flow (a function, not a global: the checker's own statics
// must be ready first).
const std::vector<std::string>& channels() {
  const model::Schema& schema = check::standard_library()->schema;
  return schema.enum_def(schema.find_enum("Channel")).values;
}
const std::vector<std::string> kPayments = {"prepaid", "cod", "card", "upi", "wallet", "bnpl", "gift_card"};
const std::vector<std::string> kDeliveries = {"standard", "express", "next_day", "same_day", "scheduled", "pickup"};
const std::vector<std::string> kSkus = {"SKU-1", "SKU-2", "SKU-3", "SKU-4"};
const std::vector<std::string> kTexts = {"\"IN\"", "\"56\"", "\"\"", "\"560001\"", "\"Bengaluru\"", "\"SKU-1\"",
                                         "\"São Paulo\"", "\"abcdefghijklmnopqrstuvwxyz0123456789\"", "\"P-1\""};

Expr leaf(std::string text, Ty type) { return Expr{std::move(text), type, {}}; }

std::string line_var(int depth) { return depth == 1 ? "line" : "line" + std::to_string(depth); }

// The simplest value of a type, that any scope may use: what shrinking
// puts in place of a part.
Expr simplest(Ty t) {
  switch (t) {
    case Ty::Bool: return leaf("true", t);
    case Ty::Int: return leaf("1", t);
    case Ty::Decimal: return leaf("0.5", t);
    case Ty::Money: return leaf("100 INR", t);
    case Ty::Text: return leaf("\"IN\"", t);
    case Ty::Time: return leaf("now", t);
    case Ty::Duration: return leaf("1h", t);
    case Ty::Float: return leaf("order.ship_to.lat", t);
    case Ty::Distance: return leaf("10 km", t);
    case Ty::Channel: return leaf("amazon", t);
    case Ty::Payment: return leaf("cod", t);
    case Ty::Delivery: return leaf("express", t);
  }
  return leaf("true", Ty::Bool);
}

class Generator {
 public:
  Generator(Rng& rng, const Sizes& sizes) : rng_(rng), sizes_(sizes) {}

  Expr condition(const Scope& scope) { return gen(Ty::Bool, 0, scope); }

  Expr gen(Ty t, int depth, const Scope& scope) {
    if (depth >= sizes_.max_depth || rng_.chance(depth == 0 && t == Ty::Bool ? 10 : 35)) return leaf_of(t, scope);
    return composite(t, depth, scope);
  }

 private:
  Expr leaf_of(Ty t, const Scope& s) {
    std::vector<std::string> options;
    std::string line = s.lines ? line_var(1 + rng_.below(s.lines)) : "";
    switch (t) {
      case Ty::Bool:
        options = {"true", "false", "order.customer.is_new", "\"vip\" in order.tags"};
        if (s.node) options.push_back("node.active");
        break;
      case Ty::Int:
        options = {"0", "1", "2", "3", "7", "100", "-1", "order.customer.order_count", "order.customer.rto_count",
                   "count(order.lines)", "hour(order.placed_at)", "minute(order.placed_at)", "weekday(order.placed_at)",
                   "hour(now)", "length(order.id)", "sum(order.lines.quantity)", "max(order.lines.quantity)",
                   "min(order.lines.cancelled_quantity)", "hour(order.placed_at, \"Asia/Kolkata\")",
                   "weekday(now, \"America/New_York\")", "minute(order.placed_at, \"Asia/Kathmandu\")",
                   "history(order.customer.email, 30d).orders", "history(order.ship_to.postal_code, 90d).rto",
                   "history(order.ship_to, 7d).delivered"};
        if (rng_.chance(3)) options = {"9223372036854775807"};
        if (!line.empty()) options.insert(options.end(), {line + ".quantity", line + ".cancelled_quantity"});
        if (s.node) options.insert(options.end(), {"node.priority", "node.daily_capacity", "stock(node, \"SKU-1\")"});
        break;
      case Ty::Decimal:
        options = {"0.5", "12.25", "1000", "order.total.amount", "amount(order.total)", "30%", "12.5%", "0.0001%",
                   "history(order.ship_to.postal_code, 90d).rto_rate", "history(order.customer.email, 1d).return_rate"};
        if (s.node) options.push_back("node.cost_per_order");
        break;
      case Ty::Money:
        options = {"order.total", "order.total", "order.subtotal", "order.shipping_fee", "order.discount",
                   "order.payment.amount_paid", "500 INR", "12.50 USD", "3 EUR", "7 SGD", "0 INR",
                   "sum(order.lines.unit_price)"};
        if (!line.empty()) options.push_back(line + ".unit_price");
        break;
      case Ty::Text:
        options = kTexts;
        options.insert(options.end(), {"order.id", "order.external_id", "order.ship_to.postal_code", "order.ship_to.country",
                                       "order.ship_to.city", "order.customer.email", "order.total.currency",
                                       "order.ship_to.postal_code", "date(order.placed_at)",
                                       "date(now, \"Asia/Singapore\")"});
        if (!line.empty()) options.push_back(line + ".sku");
        if (s.node) options.insert(options.end(), {"node.id", "node.region", "node.postal_code"});
        break;
      case Ty::Time:
        options = {"order.placed_at", "order.placed_at", "order.dispatch_by", "order.delivered_at", "now",
                   "time(\"2026-11-20T10:00:00Z\")", "time(\"2026-11-20T10:00:00+05:30\")"};
        break;
      case Ty::Duration:
        options = {"30m", "2h", "1d", "90s", "1h30m", "order.time_in_state"};
        break;
      case Ty::Float:
        options = {"order.ship_to.lat", "order.ship_to.lon"};
        if (s.node) options.insert(options.end(), {"node.lat", "node.lon"});
        break;
      case Ty::Distance:
        options = {"15 km", "800 m", "2000 km"};
        if (s.node) options.insert(options.end(), {"distance(node, order.ship_to)", "distance(node, order.ship_to)"});
        break;
      case Ty::Channel:
        options = channels();
        options.push_back("order.channel");
        options.push_back("order.channel");
        break;
      case Ty::Payment:
        options = kPayments;
        options.push_back("order.payment.method");
        options.push_back("order.payment.method");
        break;
      case Ty::Delivery:
        options = kDeliveries;
        options.push_back("order.delivery");
        options.push_back("order.delivery");
        break;
    }
    return leaf(rng_.pick(options), t);
  }

  // A field of an enum type, or a literal of it.
  Expr enum_side(Ty t, bool field) {
    if (field) return leaf(t == Ty::Channel ? "order.channel" : t == Ty::Payment ? "order.payment.method" : "order.delivery", t);
    const auto& values = t == Ty::Channel ? channels() : t == Ty::Payment ? kPayments : kDeliveries;
    return leaf(rng_.pick(values), t);
  }

  Expr node(std::string pattern, Ty t, std::vector<Expr> kids) { return Expr{std::move(pattern), t, std::move(kids)}; }

  Expr composite(Ty t, int depth, const Scope& s) {
    int d = depth + 1;
    auto g = [&](Ty k) { return gen(k, d, s); };
    switch (t) {
      case Ty::Bool: {
        switch (rng_.below(17)) {
          case 0:
          case 1:
          case 2: {  // a comparison
            static const std::vector<Ty> comparable = {Ty::Int, Ty::Int, Ty::Decimal, Ty::Money, Ty::Money, Ty::Text,
                                                       Ty::Time, Ty::Duration, Ty::Float, Ty::Distance};
            Ty k = rng_.pick(comparable);
            if (k == Ty::Distance && !s.node && rng_.chance(50)) k = Ty::Int;
            std::string op = rng_.pick(std::vector<std::string>{"<", "<=", ">", ">=", "==", "!="});
            if (k == Ty::Float) return node("$0 " + op + " $1", t, {g(Ty::Float), g(Ty::Decimal)});
            return node("$0 " + op + " $1", t, {g(k), g(k)});
          }
          case 3: {  // an enum
            Ty k = rng_.pick(std::vector<Ty>{Ty::Channel, Ty::Payment, Ty::Delivery});
            switch (rng_.below(3)) {
              case 0: return node("$0 is $1", t, {enum_side(k, true), enum_side(k, false)});
              case 1: return node("$0 is not $1", t, {enum_side(k, true), enum_side(k, false)});
              default: return node("$0 in [$1, $2]", t, {enum_side(k, true), enum_side(k, false), enum_side(k, false)});
            }
          }
          case 4: {
            Ty k = rng_.pick(std::vector<Ty>{Ty::Int, Ty::Money, Ty::Text, Ty::Time, Ty::Float, Ty::Decimal});
            return node(rng_.chance(50) ? "$0 is missing" : "$0 is present", t, {g(k)});
          }
          case 5:
            switch (rng_.below(4)) {
              case 0: return node("$0 in [\"560001\", \"IN\", \"SKU-2\"]", t, {g(Ty::Text)});
              case 1: return node("$0 in [1, 2, 3]", t, {g(Ty::Int)});
              case 2: return node("$0 in pinlist", t, {g(Ty::Text)});
              default: return node("$0 not in pinlist", t, {g(Ty::Text)});
            }
          case 6: return node("not $0", t, {g(Ty::Bool)});
          case 7:
          case 8: return node("$0 and $1", t, {g(Ty::Bool), g(Ty::Bool)});
          case 9:
          case 10: return node("$0 or $1", t, {g(Ty::Bool), g(Ty::Bool)});
          case 11:
          case 12: {
            if (s.lines >= 2) return node("$0 and $1", t, {g(Ty::Bool), g(Ty::Bool)});
            Scope inner = s;
            inner.lines = s.lines + 1;
            std::string var = line_var(inner.lines);
            std::string q = rng_.chance(60) ? "any" : "all";
            return node(q + " " + var + " in order.lines where $0", t, {gen(Ty::Bool, d, inner)});
          }
          case 13: {
            std::string f = rng_.pick(std::vector<std::string>{"contains", "starts_with", "ends_with"});
            return node(f + "($0, $1)", t, {g(Ty::Text), g(Ty::Text)});
          }
          case 14: return node("$0 == $1", t, {g(Ty::Bool), g(Ty::Bool)});
          case 15: return node("$0 in distinct(order.lines.sku)", t, {g(Ty::Text)});
          case 16: {
            std::string pattern = rng_.pick(std::vector<std::string>{"^[1-9][0-9]{5}$", "SKU", "^$", "(?i)^in$", "\\.com$"});
            return node("$0 matches \"" + pattern + "\"", t, {g(Ty::Text)});
          }
          default: return leaf_of(t, s);
        }
      }
      case Ty::Int:
        switch (rng_.below(10)) {
          case 8: {  // across lines: sum|count|min|max(... for l in order.lines [where ...])
            if (s.lines >= 2) return leaf_of(t, s);
            Scope inner = s;
            inner.lines = s.lines + 1;
            std::string var = line_var(inner.lines);
            bool filtered = rng_.chance(70);
            std::vector<Expr> kids;
            if (rng_.chance(25)) {
              if (filtered) kids.push_back(gen(Ty::Bool, d, inner));
              return node("count(" + var + " for " + var + " in order.lines" + (filtered ? " where $0" : "") + ")", t,
                          std::move(kids));
            }
            kids.push_back(gen(Ty::Int, d, inner));
            if (filtered) kids.push_back(gen(Ty::Bool, d, inner));
            std::string f = rng_.pick(std::vector<std::string>{"sum", "sum", "min", "max"});
            return node(f + "($0 for " + var + " in order.lines" + (filtered ? " where $1" : "") + ")", t,
                        std::move(kids));
          }
          case 9: {  // how many different values a field of the lines has
            if (s.lines >= 2) return leaf_of(t, s);
            Scope inner = s;
            inner.lines = s.lines + 1;
            return node("count(distinct($0 for " + line_var(inner.lines) + " in order.lines))", t,
                        {gen(Ty::Text, d, inner)});
          }
          case 0: return node("$0 + $1", t, {g(Ty::Int), g(Ty::Int)});
          case 1: return node("$0 - $1", t, {g(Ty::Int), g(Ty::Int)});
          case 2: return node("$0 * $1", t, {g(Ty::Int), g(Ty::Int)});
          case 3: return node("$0 % $1", t, {g(Ty::Int), g(Ty::Int)});
          case 4: return node("-$0", t, {g(Ty::Int)});
          case 5: return node("abs($0)", t, {g(Ty::Int)});
          case 6: return node(rng_.chance(50) ? "min($0, $1)" : "max($0, $1)", t, {g(Ty::Int), g(Ty::Int)});
          case 7: return node("length($0)", t, {g(Ty::Text)});
          default: return leaf_of(t, s);
        }
      case Ty::Decimal:
        switch (rng_.below(7)) {
          case 0: return node("$0 / $1", t, {g(Ty::Int), g(Ty::Int)});
          case 1: return node("$0 * $1", t, {g(Ty::Decimal), g(Ty::Decimal)});
          case 2: return node("$0 + $1", t, {g(Ty::Decimal), g(Ty::Int)});
          case 3: return node("round($0, 2)", t, {g(Ty::Decimal)});
          case 4: return node("abs($0)", t, {g(Ty::Decimal)});
          case 5: return node("amount($0)", t, {g(Ty::Money)});
          default: return leaf_of(t, s);
        }
      case Ty::Money:
        switch (rng_.below(7)) {
          case 0: return node("$0 + $1", t, {g(Ty::Money), g(Ty::Money)});
          case 1: return node("$0 - $1", t, {g(Ty::Money), g(Ty::Money)});
          case 2: return node("$0 * $1", t, {g(Ty::Money), g(Ty::Int)});
          case 3: return node(rng_.chance(50) ? "min($0, $1)" : "max($0, $1)", t, {g(Ty::Money), g(Ty::Money)});
          case 4: {
            if (s.lines >= 2) return leaf_of(t, s);
            Scope inner = s;
            inner.lines = s.lines + 1;
            std::string var = line_var(inner.lines);
            return node("sum(" + var + ".unit_price * $0 for " + var + " in order.lines where $1)", t,
                        {gen(Ty::Int, d, inner), gen(Ty::Bool, d, inner)});
          }
          default: return leaf_of(t, s);
        }
      case Ty::Text:
        switch (rng_.below(7)) {
          case 0: return node("prefix($0, $1)", t, {g(Ty::Text), g(Ty::Int)});
          case 1: return node("suffix($0, $1)", t, {g(Ty::Text), g(Ty::Int)});
          case 2: return node("lower($0)", t, {g(Ty::Text)});
          case 3: return node("upper($0)", t, {g(Ty::Text)});
          case 4: return node("currency($0)", t, {g(Ty::Money)});
          default: return leaf_of(t, s);
        }
      case Ty::Time:
        switch (rng_.below(4)) {
          case 0: return node("$0 + $1", t, {g(Ty::Time), g(Ty::Duration)});
          case 1: return node("$0 - $1", t, {g(Ty::Time), g(Ty::Duration)});
          default: return leaf_of(t, s);
        }
      case Ty::Duration:
        switch (rng_.below(4)) {
          case 0: return node("$0 - $1", t, {g(Ty::Time), g(Ty::Time)});
          case 1: return node("$0 + $1", t, {g(Ty::Duration), g(Ty::Duration)});
          default: return leaf_of(t, s);
        }
      default: return leaf_of(t, s);
    }
  }

  Rng& rng_;
  Sizes sizes_;
};

std::string acceptance_action(Rng& rng, int i) {
  switch (rng.below(12)) {
    case 0: return fmt::format("hold \"held_{}\"", i);
    case 1: return fmt::format("reject \"refused_{}\"", i);
    case 2: return "accept";
    case 3: return fmt::format("set priority {}", rng.pick(std::vector<std::string>{"urgent", "high", "low"}));
    case 4: return fmt::format("hold \"timed_{}\" for 2h on timeout cancel \"expired_{}\"", i, i);
    case 5: return fmt::format("tag \"t{}\" set priority high", i);
    case 6: return fmt::format("hold \"night_{}\" until next {} on timeout accept", i,
                               rng.pick(std::vector<std::string>{"07:00", "00:00", "23:59", "9:30"}));
    case 7: return fmt::format("hold \"until_{}\" until order.placed_at + 1d on timeout cancel \"late_{}\"", i, i);
    case 8: return fmt::format("set delivery {}", rng.pick(std::vector<std::string>{"next_day", "standard", "express"}));
    case 9: return fmt::format("set delivery next_day tag \"t{}\" hold \"slow_{}\"", i, i);
    default: return fmt::format("tag \"t{}\"", i);
  }
}

std::string preference(Rng& rng) {
  return rng.pick(std::vector<std::string>{"nearest", "cheapest", "lowest node.priority", "highest stock(node, \"SKU-1\")",
                                           "lowest distance(node, order.ship_to)", "highest node.cost_per_order",
                                           "lowest node.id", "highest node.daily_capacity"});
}

std::string route_rest(Rng& rng) {
  std::string out;
  if (rng.chance(80)) {
    out += " prefer " + preference(rng);
    if (rng.chance(40)) out += " then " + preference(rng);
  }
  int split = rng.below(4);
  if (split == 1) out += " no split";
  if (split >= 2) out += fmt::format(" split at most {}", 1 + rng.below(3));
  if (rng.chance(25)) out += rng.chance(50) ? " keep 1 units safety stock" : " keep node.priority units safety stock";
  switch (rng.below(4)) {
    case 0: out += " else continue"; break;
    case 1: out += " else backorder"; break;
    case 2: out += " else hold \"no_stock\""; break;
    default: break;
  }
  return out;
}

std::string money_json(Rng& rng, const std::string& currency) {
  static const std::vector<std::string> amounts = {"0.00", "1.50", "99.99", "100.00", "499.00", "500.00",
                                                   "2598.00", "7500.50", "12000.00", "0.000001"};
  std::string amount = rng.chance(70) ? rng.pick(amounts) : fmt::format("{}.{:02d}", rng.below(20000), rng.below(100));
  return fmt::format(R"({{"amount":"{}","currency":"{}"}})", amount, currency);
}

std::string time_json(Rng& rng, int day_from = 18, int days = 5) {
  std::string zone = rng.pick(std::vector<std::string>{"Z", "Z", "+05:30", "+08:00"});
  return fmt::format("2026-11-{:02d}T{:02d}:{:02d}:00{}", day_from + rng.below(days), rng.below(24), rng.below(60), zone);
}

}  // namespace

std::map<std::string, std::string> Bundle::files() const {
  std::map<std::string, std::string> out;
  auto rule_text = [](const Rule& r) {
    std::string text = fmt::format("rule \"{}\"\n", r.name);
    if (r.when) text += "  when " + r.when->render() + "\n";
    text += "  then " + r.action;
    if (r.where) text += " where " + r.where->render();
    text += r.route_rest + "\n";
    return text;
  };
  std::string a =
      "use list pinlist from \"data/pinlist.csv\"\nuse rates fx from \"data/fx.csv\"\nuse geo geo from \"data/geo.csv\"\n"
      "use nodes from \"data/nodes.csv\"\nuse stock from \"data/stock.csv\"\n\npolicy acceptance \"Generated\"\n";
  if (!timezone.empty()) a += "timezone \"" + timezone + "\"\n";
  for (const Rule& r : acceptance) a += rule_text(r);
  a += "otherwise " + otherwise + "\n";
  out["acceptance.flow"] = a;
  if (!routing.empty()) {
    std::string r = "policy routing \"Generated\"\n";
    for (const Rule& rule : routing) r += rule_text(rule);
    out["routing.flow"] = r;
  }
  if (!escalation.empty()) {
    std::string e = "policy escalation \"Generated\"\n";
    for (const Rule& rule : escalation) e += rule_text(rule);
    out["escalation.flow"] = e;
  }
  for (const auto& [name, content] : data) out["data/" + name] = content;
  return out;
}

size_t Bundle::size() const {
  size_t n = 0;
  for (const auto* rules : {&acceptance, &routing, &escalation})
    for (const Rule& r : *rules) n += 1 + (r.when ? r.when->size() : 0) + (r.where ? r.where->size() : 0);
  return n;
}

Bundle generate_bundle(Rng& rng, const Sizes& sizes) {
  Generator g(rng, sizes);
  Bundle b;
  for (int i = 0; i < sizes.acceptance_rules; ++i) {
    Rule r;
    r.name = fmt::format("A{}", i);
    if (rng.chance(95)) r.when = g.condition({});
    r.action = acceptance_action(rng, i);
    b.acceptance.push_back(std::move(r));
  }
  b.otherwise = rng.chance(70) ? "accept" : "hold \"review\"";
  if (rng.chance(50)) b.timezone = rng.pick(std::vector<std::string>{"Asia/Kolkata", "America/Sao_Paulo", "Asia/Dubai"});
  for (int i = 0; i < sizes.routing_rules; ++i) {
    Rule r;
    r.name = fmt::format("R{}", i);
    if (rng.chance(50)) r.when = g.condition({});
    r.action = "route from nodes";
    if (rng.chance(75)) r.where = g.condition(Scope{0, true});
    r.route_rest = route_rest(rng);
    b.routing.push_back(std::move(r));
  }
  for (int i = 0; i < sizes.escalation_rules; ++i) {
    Rule r;
    r.name = fmt::format("E{}", i);
    r.when = g.condition({});
    r.action = rng.chance(50) ? fmt::format("notify \"ops_{}\" priority high", i) : fmt::format("escalate to \"lead_{}\"", i);
    b.escalation.push_back(std::move(r));
  }

  // Short lists are compared inline, long ones hashed: both ways, by turns.
  std::string pins = "560001\n110001\nIN\n56\n";
  if (rng.chance(50))
    for (int i = 0; i < 30; ++i) pins += fmt::format("{}\n", 700000 + i * 37);
  b.data["pinlist.csv"] = pins;
  b.data["fx.csv"] = "from,to,rate\nUSD,INR,83.5\nEUR,INR,90.25\nEUR,USD,1.08\n";  // no SGD: converting it fails
  b.data["geo.csv"] = "postal_code,lat,lon\n560,12.97,77.59\n110,28.61,77.21\n400,19.07,72.87\n";
  std::string nodes = "id,kind,active,lat,lon,postal_code,region,cost_per_order,priority,daily_capacity\n";
  std::string stock = "node,sku,on_hand,reserved,safety_stock\n";
  int node_count = 2 + rng.below(4);
  for (int n = 0; n < node_count; ++n) {
    bool placed = rng.chance(70);
    nodes += fmt::format("N{},{},{},{},{},{},{},{}.{},{},{}\n", n,
                         rng.pick(std::vector<std::string>{"warehouse", "store", "dark_store", "third_party"}),
                         rng.chance(85) ? "true" : "false", placed ? fmt::format("{}.{}", 12 + rng.below(17), rng.below(100)) : "",
                         placed ? fmt::format("{}.{}", 72 + rng.below(6), rng.below(100)) : "",
                         rng.pick(std::vector<std::string>{"560001", "110001", "400050", ""}),
                         rng.pick(std::vector<std::string>{"IN-KA", "IN-MH", ""}), rng.below(60), rng.below(100),
                         rng.below(4), rng.chance(60) ? std::to_string(rng.below(200)) : "");
    for (const std::string& sku : kSkus)
      if (rng.chance(65))
        stock += fmt::format("N{},{},{},{},{}\n", n, sku, rng.below(8), rng.below(3), rng.below(2));
  }
  b.data["nodes.csv"] = nodes;
  b.data["stock.csv"] = stock;
  return b;
}

std::string generate_order(Rng& rng, int n) {
  nlohmann::ordered_json o;
  o["id"] = fmt::format("P-{}", n);
  o["channel"] = rng.pick(channels());
  if (rng.chance(50)) o["external_id"] = fmt::format("EXT-{}", rng.below(1000));
  o["placed_at"] = time_json(rng);
  std::string currency = rng.pick(std::vector<std::string>{"INR", "INR", "INR", "INR", "USD", "EUR", "SGD"});
  o["total"] = nlohmann::json::parse(money_json(rng, currency));
  for (const char* f : {"subtotal", "shipping_fee", "discount"})
    if (rng.chance(40)) o[f] = nlohmann::json::parse(money_json(rng, currency));
  nlohmann::ordered_json payment;
  payment["method"] = rng.pick(kPayments);
  if (rng.chance(50)) payment["status"] = rng.pick(std::vector<std::string>{"pending", "paid", "authorized", "failed"});
  if (rng.chance(30)) payment["amount_paid"] = nlohmann::json::parse(money_json(rng, currency));
  o["payment"] = payment;
  if (rng.chance(70)) o["delivery"] = rng.pick(kDeliveries);
  nlohmann::ordered_json customer = nlohmann::ordered_json::object();
  if (rng.chance(50)) customer["is_new"] = rng.chance(50);
  if (rng.chance(50)) customer["order_count"] = rng.below(20);
  if (rng.chance(50)) customer["rto_count"] = rng.below(5);
  if (rng.chance(30)) customer["email"] = rng.pick(std::vector<std::string>{"a@b.example", "Zoë@x.example"});
  o["customer"] = customer;
  if (rng.chance(85)) {
    nlohmann::ordered_json ship = nlohmann::ordered_json::object();
    if (rng.chance(80))
      ship["postal_code"] = rng.pick(std::vector<std::string>{"560001", "560034", "110001", "400050", "999999", "56", ""});
    if (rng.chance(80)) ship["country"] = rng.pick(std::vector<std::string>{"IN", "IN", "SG", "US"});
    if (rng.chance(50)) ship["line1"] = rng.pick(std::vector<std::string>{"12, MG Road", "Flat 4 5th Cross", "#"});
    if (rng.chance(50)) ship["city"] = rng.pick(std::vector<std::string>{"Bengaluru", "Mumbai", "São Paulo"});
    if (rng.chance(30)) {
      ship["lat"] = 8 + rng.below(25) + rng.below(100) / 100.0;
      ship["lon"] = 70 + rng.below(15) + rng.below(100) / 100.0;
    }
    if (rng.chance(40)) ship["region"] = rng.pick(std::vector<std::string>{"IN-KA", "IN-MH"});
    o["ship_to"] = ship;
  }
  nlohmann::ordered_json lines = nlohmann::ordered_json::array();
  // An order has at least one line, every amount in its total's currency
  // and at least one unit a line: anything else is refused as impossible.
  int line_count = 1 + rng.below(3);
  for (int i = 0; i < line_count; ++i) {
    nlohmann::ordered_json line;
    line["sku"] = rng.pick(kSkus);
    int quantity = 1 + rng.below(6);
    line["quantity"] = quantity;
    line["unit_price"] = nlohmann::json::parse(money_json(rng, currency));
    if (rng.chance(20)) line["cancelled_quantity"] = rng.below(quantity + 1);
    lines.push_back(line);
  }
  o["lines"] = lines;
  if (rng.chance(50)) o["dispatch_by"] = time_json(rng, 19, 5);
  if (rng.chance(20)) o["delivered_at"] = time_json(rng, 20, 5);
  if (rng.chance(30)) {
    nlohmann::ordered_json tags = nlohmann::ordered_json::array();
    for (const char* t : {"vip", "gift", "fragile"})
      if (rng.chance(50)) tags.push_back(t);
    o["tags"] = tags;
  }
  return o.dump();
}

std::string generate_now(Rng& rng) { return time_json(rng, 18, 8); }

namespace {

// Every expression `e` can become in one step: each part of the same type
// in its place (scope permitting: the checker refuses what does not), the
// simplest value of its type, or the same with one part simplified.
std::vector<Expr> simpler_exprs(const Expr& e) {
  std::vector<Expr> out;
  std::function<void(const Expr&)> same_typed_parts = [&](const Expr& x) {
    for (const Expr& k : x.kids) {
      if (k.type == e.type) out.push_back(k);
      same_typed_parts(k);
    }
  };
  same_typed_parts(e);
  Expr plain = simplest(e.type);
  if (e.render() != plain.render()) out.push_back(plain);
  for (size_t i = 0; i < e.kids.size(); ++i)
    for (Expr& k : simpler_exprs(e.kids[i])) {
      Expr copy = e;
      copy.kids[i] = std::move(k);
      out.push_back(std::move(copy));
    }
  return out;
}

}  // namespace

std::vector<Bundle> simpler_bundles(const Bundle& bundle) {
  std::vector<Bundle> out;
  for (auto rules : {&Bundle::acceptance, &Bundle::routing, &Bundle::escalation}) {
    const std::vector<Rule>& list = bundle.*rules;
    for (size_t i = 0; i < list.size(); ++i) {
      Bundle fewer = bundle;
      (fewer.*rules).erase((fewer.*rules).begin() + static_cast<long>(i));
      out.push_back(std::move(fewer));
    }
  }
  for (auto rules : {&Bundle::acceptance, &Bundle::routing, &Bundle::escalation}) {
    const std::vector<Rule>& list = bundle.*rules;
    for (size_t i = 0; i < list.size(); ++i) {
      for (auto part : {&Rule::when, &Rule::where}) {
        const std::optional<Expr>& e = list[i].*part;
        if (!e) continue;
        if (part == &Rule::when || rules == &Bundle::routing) {
          Bundle without = bundle;
          ((without.*rules)[i].*part).reset();
          out.push_back(std::move(without));
        }
        for (Expr& simpler : simpler_exprs(*e)) {
          Bundle b = bundle;
          (b.*rules)[i].*part = std::move(simpler);
          out.push_back(std::move(b));
        }
      }
      if (!list[i].route_rest.empty()) {
        Bundle b = bundle;
        (b.*rules)[i].route_rest = "";
        out.push_back(std::move(b));
      }
    }
  }
  return out;
}

std::vector<std::string> simpler_orders(const std::string& order_json) {
  static const std::vector<std::string> required = {"id", "channel", "placed_at", "total", "payment", "customer", "lines"};
  std::vector<std::string> out;
  nlohmann::ordered_json o = nlohmann::ordered_json::parse(order_json);
  for (auto it = o.begin(); it != o.end(); ++it) {
    if (std::find(required.begin(), required.end(), it.key()) != required.end()) continue;
    nlohmann::ordered_json copy = o;
    copy.erase(it.key());
    out.push_back(copy.dump());
  }
  for (const char* record : {"customer", "ship_to", "payment"}) {
    if (!o.contains(record)) continue;
    for (auto it = o[record].begin(); it != o[record].end(); ++it) {
      if (std::string(record) == "payment" && it.key() == "method") continue;
      nlohmann::ordered_json copy = o;
      copy[record].erase(it.key());
      out.push_back(copy.dump());
    }
  }
  for (size_t i = 0; i < o["lines"].size(); ++i) {
    nlohmann::ordered_json copy = o;
    copy["lines"].erase(i);
    if (!copy["lines"].empty()) out.push_back(copy.dump());
    for (auto it = o["lines"][i].begin(); it != o["lines"][i].end(); ++it) {
      if (it.key() != "cancelled_quantity") continue;
      nlohmann::ordered_json without = o;
      without["lines"][i].erase(it.key());
      out.push_back(without.dump());
    }
  }
  return out;
}

}  // namespace orderflow::testing::gen
