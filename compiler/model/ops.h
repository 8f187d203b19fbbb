#pragma once
// The operators of the language on values: one definition of their meaning,
// shared by constant folding in the checker and by the interpreter. The JIT
// lowers the same forms to machine code; differential tests hold the two to
// the same results.
#include <optional>
#include <string>
#include <variant>

#include "compiler/model/record.h"
#include "compiler/model/schema.h"
#include "compiler/model/value.h"

namespace orderflow::model {

// An arithmetic operator applied to operands of known types. The checker
// picks the form (after converting int operands where needed), so no form
// has to look at its operands' types at run time.
enum class ArithForm : uint8_t {
  IntAdd, IntSub, IntMul, IntMod,
  DecimalAdd, DecimalSub, DecimalMul, DecimalDiv,
  FloatAdd, FloatSub, FloatMul, FloatDiv,
  MoneyAdd, MoneySub,
  MoneyScale,     // money * decimal
  MoneyDivide,    // money / decimal
  MoneyRatio,     // money / money -> decimal
  DurationAdd, DurationSub,
  DurationScale,  // duration * decimal
  DurationDivide, // duration / decimal
  DurationRatio,  // duration / duration -> decimal
  TimeDiff,       // time - time -> duration
  TimeAdd,        // time + duration
  TimeSub,        // time - duration
  DistanceAdd, DistanceSub,
  DistanceScale,  // distance * float
  DistanceDivide, // distance / float
  DistanceRatio,  // distance / distance -> float
  StringConcat,
};

// What a comparison compares. Both operands have this type.
enum class CompareForm : uint8_t { Bool, Int, Decimal, Float, Money, String, Duration, Time, Distance, Enum };
enum class CompareOp : uint8_t { Eq, Ne, Lt, Le, Gt, Ge };

const char* compare_op_spelling(CompareOp op);

// How values of a type (or of a value's kind) compare; nullopt for records
// and collections, which do not.
std::optional<CompareForm> compare_form_of(Type type);
std::optional<CompareForm> compare_form_of(Value::Kind kind);

// Converts an amount of money between currencies. Implemented by the
// bundle's exchange rates; nullopt when it knows no rate.
class CurrencyConverter {
 public:
  virtual ~CurrencyConverter() = default;
  virtual std::optional<int64_t> convert(int64_t micros, CurrencyCode from, CurrencyCode to) const = 0;
};

// Why an operation could not produce a value (overflow, no exchange rate,
// division by zero). Not a bug: evaluation holds the order with
// policy_error and the trace shows this text.
struct OpFailure {
  std::string message;
};

using OpResult = std::variant<Value, OpFailure>;

// Operands are never missing here: callers short-circuit missing operands
// (arithmetic gives missing, comparison gives false) before calling.
// StringConcat writes its result into `scratch`, which must outlive it.
OpResult apply_arith(ArithForm form, const Value& a, const Value& b, const CurrencyConverter* rates, Arena* scratch);

// Three-way compare of two present values of the same form: <0, 0, >0.
std::variant<int, OpFailure> compare_values(CompareForm form, const Value& a, const Value& b,
                                            const CurrencyConverter* rates);
bool compare_outcome(CompareOp op, int three_way);

// Int -> Decimal, Int/Decimal -> Float.
OpResult convert_number(const Value& v, TypeKind to);

// A value as the language writes it: 7500.00 INR, 24h, "text", amazon,
// [1, 2]; missing as `missing`.
std::string format_value(const Value& v, const Schema& schema);

}  // namespace orderflow::model
