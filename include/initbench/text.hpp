// text.hpp: small text utilities shared by every parser: "name(key=value, ...)" calls,
// did-you-mean suggestions, and number formatting that round-trips.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace initbench {

// A parsed "name" or "name(arg, key=value, ...)". Positional arguments have an empty key.
struct Call {
  std::string name;
  std::vector<std::pair<std::string, std::string>> args;  // (key or "", value), in order
};

// Parses a call; throws std::invalid_argument naming the text and what was wrong.
Call parse_call(std::string_view text);

// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// "a, b, c"
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

// Parses a whole string as a finite or infinite double ("1e-3", "inf", "nan"); nullopt if any
// character is left over.
std::optional<double> parse_double(std::string_view text);

// Shortest decimal text that reads back to exactly the same double (or float): "0.1", "1e-08",
// "nan", "inf", "-inf", as pandas and R read them.
std::string format_number(double value);
std::string format_number(float value);

std::string trim(std::string_view text);

}  // namespace initbench
