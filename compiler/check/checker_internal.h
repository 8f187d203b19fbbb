#pragma once
// The checker's working state, shared by its translation units. Not part of
// the library's interface: include checker.h instead.
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "compiler/check/checker.h"

namespace orderflow::check {

struct CsvRow;
struct CsvField;
struct CsvPlaces;

// What a bundle-level name stands for.
struct GlobalName {
  enum class Kind { Const, List, KeyedTable, Table, Geo, Rates, Hours } kind = Kind::Const;
  int index = -1;
  SourceRange range;
};

// Names visible to an expression and what it may use.
// "a duration", "money", "an enum Channel": how a message names a type.
std::string a_type(const model::Schema& schema, Type t);

// Whether a kind of policy makes this decision (acceptance accepts, a
// returns policy approves, ...).
bool policy_decides(PolicyKind kind, DecisionKind decision);

struct Scope {
  const char* context = "a rule";  // for messages: "a constant", "a table cell"
  bool order = false;              // `order` is Var 0
  bool node = false;               // `node` is Var 1
  // The returns, disposition and ndr policies' own subject (`return`,
  // `unit`, `ndr`) is Var 1, a record of `subject_record`.
  const char* subject = nullptr;
  int subject_record = -1;
  bool now = false;
  bool nodes = false;              // the inventory's `nodes`
  int self_record = -1;            // computed defaults: bare names are fields of this record
  struct Local {
    std::string name;
    int slot;
    Type type;
    SourceRange range;
  };
  std::vector<Local> locals;
  int next_slot = 2;
  int* max_slots = nullptr;
};

class Checker {
 public:
  Checker(const std::vector<std::string>& paths, const CheckOptions& options, CheckOutcome& out);
  void run();

  // ---------------------------------------------------------- shared state
  const CheckOptions& options_;
  std::vector<std::string> paths_;
  CheckOutcome& out_;
  Diagnostics& diags_;
  std::unique_ptr<CheckedBundle> bundle_;
  CheckedBundle& b_;

  std::vector<syntax::ParsedFile> stdlib_files_;
  std::vector<syntax::ParsedFile*> all_files_;  // stdlib first, then the bundle
  bool any_syntax_errors_ = false;
  std::map<std::string, GlobalName, std::less<>> globals_;
  std::map<int, const syntax::ConstDecl*> const_decls_;
  std::vector<int> const_state_;  // 0 unchecked, 1 checking, 2 done
  std::string example_currency_ = "INR";  // for hints; the bundle's first currency
  bool example_currency_set_ = false;
  bool has_geo_ = false;
  bool nodes_declared_ = false;
  const syntax::Machine* machine_decl_ = nullptr;
  const syntax::Machine* return_machine_decl_ = nullptr;
  bool allow_nodes_ = false;  // `nodes` is being checked as a quantifier's collection

  // ---------------------------------------------------------- checker.cpp
  void load_sources();
  void declare_schema();
  enum class MachineRole { Order, Return };
  void declare_machine();
  void declare_machine(MachineRole role);
  void declare_globals();
  bool declare_global(const std::string& name, SourceRange range, GlobalName::Kind kind, int index);
  void declare_data();
  void load_all_data();
  std::vector<std::pair<const syntax::UseDecl*, FileId>> pending_data_;
  bool geo_declared_ = false;
  bool rates_declared_ = false;
  void check_record_defaults();
  void check_default_cycles();
  // Computed defaults declared but not yet checked: a field read before its
  // default is checked may be missing as far as anyone knows.
  std::set<std::pair<int, int>> pending_defaults_;
  void finish();
  void layout_for_use();
  std::filesystem::path data_path(FileId file, const std::string& relative) const;
  void symbol(SourceRange use, SourceRange def, std::string kind, std::string detail, std::string doc = {});

  // ---------------------------------------------------------- types
  Type resolve_type(const syntax::TypeRef& ref);
  std::string type_name(Type t) const { return b_.schema.type_name(t); }

  // ---------------------------------------------------------- expr_checker.cpp
  // Checks an expression; `expected` resolves bare enum values (`is cod`).
  ExprPtr check_expr(const syntax::Expr& e, Scope& scope, std::optional<Type> expected = std::nullopt);
  // Checks a condition: a bool expression.
  ExprPtr check_condition(const syntax::Expr& e, Scope& scope);
  // Checks an expression that must have type `want` (converting numbers).
  ExprPtr check_as(const syntax::Expr& e, Scope& scope, Type want, const char* what);
  // Folds a constant expression to a value; reports and returns nullopt
  // when it is not constant.
  std::optional<Value> fold(const Expr& e, const char* what);
  ExprPtr convert_to(ExprPtr e, Type want);
  bool assignable(Type from, Type to) const;
  ExprPtr error_expr(SourceRange range);
  void check_const(int index);
  Value intern_value(const Value& v);

  ExprPtr check_name(const syntax::Expr& e, Scope& scope, std::optional<Type> expected);
  ExprPtr check_member(const syntax::Expr& e, Scope& scope);
  ExprPtr check_method(const syntax::Expr& e, Scope& scope);
  ExprPtr check_call(const syntax::Expr& e, Scope& scope, std::optional<Type> expected);
  ExprPtr check_builtin(const syntax::Expr& e, Scope& scope, Builtin builtin);
  ExprPtr check_literal(const syntax::Expr& e);
  ExprPtr check_binary(const syntax::Expr& e, Scope& scope);
  ExprPtr check_compare(const syntax::Expr& e, model::CompareOp op, const syntax::Expr& lhs, const syntax::Expr& rhs,
                        Scope& scope);
  ExprPtr make_compare(const syntax::Expr& e, model::CompareOp op, ExprPtr l, ExprPtr r, const syntax::Expr& lsyn,
                       const syntax::Expr& rsyn);
  ExprPtr check_arith(const syntax::Expr& e, Scope& scope);
  ExprPtr check_in(const syntax::Expr& e, Scope& scope);
  ExprPtr check_matches(const syntax::Expr& e, Scope& scope);
  ExprPtr check_working_time(const syntax::Expr& e, Scope& scope, Builtin builtin);
  // The bundle's `timezone` as a text literal for a call, or null for UTC.
  ExprPtr bundle_zone(SourceRange range);
  // date(time) in the bundle's zone.
  ExprPtr local_date(ExprPtr time);
  ExprPtr check_quantifier(const syntax::Expr& e, Scope& scope);
  ExprPtr check_comprehension(const syntax::Expr& e, Scope& scope);
  std::pair<ExprPtr, Type> check_walked_list(const syntax::Expr& list, Scope& scope, const std::string& usage);
  int bind_variable(const syntax::Expr& e, Scope& scope, Type element);
  void unbind_variable(Scope& scope);
  ExprPtr field_access(ExprPtr base, int record, int field, SourceRange range);
  std::optional<Value> enum_value(Type t, std::string_view name);
  std::vector<std::string> names_in_scope(const Scope& scope) const;

  // ---------------------------------------------------------- data_loader.cpp
  void load_data(const syntax::UseDecl& use, FileId file);
  // Adds a data file to the sources (its bytes that are not UTF-8 reported)
  // and reads it as CSV; nullopt once malformed CSV is reported.
  std::optional<std::vector<CsvRow>> read_data_file(const std::string& shown, const std::string& text,
                                                    CsvPlaces& places);
  void load_hours(const syntax::UseDecl& use, const std::vector<CsvRow>& rows, const CsvPlaces& places);
  void declare_timezone();
  // channels.csv at the bundle's root, checked like any data file.
  void load_channels();
  // A zone named in a policy: checked here, with a did-you-mean.
  std::optional<model::TimeZone> time_zone_named(std::string_view name, SourceRange range);

  // ---------------------------------------------------------- policy_checker.cpp
  void check_tables();
  void check_policies();
  void check_machine();
  void check_machine(Machine& m, const syntax::Machine& decl, MachineRole role);
  void check_tests();
  std::optional<TestAssignment> check_test_assignment(const syntax::TestAssignment& a);
  void check_enum_word(const char* enum_name, const std::string& word, SourceRange range);
  Rule check_rule(const syntax::Rule& rule, PolicyKind kind, Scope& scope);
  Action check_action(const syntax::Action& a, PolicyKind kind, Scope& scope);
  ExprPtr check_set_delivery(const syntax::Action& a, PolicyKind kind, Scope& scope);
  Decision check_decision(const syntax::Decision& d, PolicyKind kind, Scope& scope, bool in_route_else);
  ExprPtr hold_until(const syntax::Decision& d, Scope& scope);
  void check_test_order_json(const PolicyTest& t, const syntax::Test& decl);
  Route check_route(const syntax::RouteSpec& r, Scope& scope, SourceRange range);

  // ---------------------------------------------------------- analysis.cpp
  void analyze_rules();
  void analyze_table(const Table& table, const syntax::Table& decl);
  void analyze_machine();
  void analyze_machine_graph(const Machine& m);
  void analyze_return_machine();
  void analyze_quantifiers(const Expr& e);

  std::vector<std::pair<const Table*, const syntax::Table*>> table_decls_;

  // Money written in the policies, by currency, and the warning when they
  // mix currencies the bundle has no rates for (analysis.cpp).
  struct MoneyLiteral {
    std::string currency;
    SourceRange range;
  };
  std::vector<MoneyLiteral> money_literals_;
  void analyze_currencies();
};


}  // namespace orderflow::check
