#pragma once
// The language's built-in functions, declared once: the name an analyst
// writes, how a call is written, and what it gives. The checker finds
// functions here, typed dumps and explanations print them by it, the
// language server offers them for completion, and a test holds the
// reference page (compiler/LANGUAGE.md) to it. How each is typed is the
// checker's (check_builtin); what each computes is compiler/engine/builtins.cpp,
// shared by both engines.
#include <span>
#include <string_view>

#include "compiler/check/bundle.h"

namespace orderflow::check {

struct BuiltinSpec {
  Builtin builtin;
  const char* name;     // as written in a call; for `matches` and `until next`, the word used
  const char* usage;    // "hour(time [, zone])"
  const char* summary;  // one line: what it gives
  bool callable = true; // false: written otherwise (`x matches "..."`), not as name(...)
};

std::span<const BuiltinSpec> builtin_specs();
const BuiltinSpec& builtin_spec(Builtin builtin);
// A function an analyst may call by this name, or null.
const BuiltinSpec* find_builtin(std::string_view name);

}  // namespace orderflow::check
