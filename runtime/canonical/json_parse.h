#pragma once
// JSON text into nlohmann's document, about twice as fast as
// nlohmann::json::parse: simdjson reads the text and only the document is
// built the nlohmann way. Inputs and webhook bodies are parsed here, once
// each, on the threads that post to the engine; most of a decider's time
// went into nlohmann's reading of them.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace orderflow::runtime {

// The document nlohmann::json::parse(text, nullptr, false) gives: the same
// values of the same types (a non-negative integer is unsigned, a number
// with a fraction or exponent a double; a repeated key keeps its last
// value; only an integer written -0 reads as an unsigned 0, the same value
// printed the same), or a discarded value when the text is not JSON. Text simdjson
// will not take (deeper than it nests, a number beyond 64 bits) goes to
// nlohmann, which has the last word.
// Never throws.
nlohmann::json parse_json(std::string_view text);

// Why `text` is not JSON that can be read, as one line without the
// library's tags ("not JSON: syntax error while parsing value - invalid
// literal; last read: '{x'", "cannot be read: number overflow parsing
// '1e309'"), or nullopt when it is.
// Never throws: a body from the internet must not end the server.
std::optional<std::string> json_problem(std::string_view text);

}  // namespace orderflow::runtime
