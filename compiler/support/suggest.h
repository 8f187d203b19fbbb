#pragma once
// "Did you mean ...?" for misspelled names.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace orderflow {

// Optimal string alignment distance (Levenshtein plus adjacent swaps).
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `name`, if it is close enough to be a likely typo.
std::optional<std::string> closest_match(std::string_view name, const std::vector<std::string>& candidates);

// "did you mean 'customer'?" or "" when nothing is close.
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

// "a, b or c" for messages.
std::string join_alternatives(const std::vector<std::string>& items, std::string_view last_sep = " or ");

}  // namespace orderflow
