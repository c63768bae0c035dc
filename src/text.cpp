#include "initbench/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace initbench {

std::string trim(std::string_view text) {
  auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  auto end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

Call parse_call(std::string_view text) {
  Call call;
  const std::string whole = trim(text);
  const auto open = whole.find('(');
  call.name = trim(std::string_view(whole).substr(0, open));
  auto valid_name = [](const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
    });
  };
  if (!valid_name(call.name)) {
    throw std::invalid_argument(
        fmt::format("'{}': expected a name like he_normal or he_normal(mode=fan_out)", whole));
  }
  if (open == std::string::npos) return call;
  if (whole.back() != ')') {
    throw std::invalid_argument(fmt::format("'{}': missing closing ')'", whole));
  }
  const std::string inner = whole.substr(open + 1, whole.size() - open - 2);
  if (trim(inner).empty()) return call;
  std::size_t start = 0;
  while (start <= inner.size()) {
    auto comma = inner.find(',', start);
    if (comma == std::string::npos) comma = inner.size();
    const std::string item = trim(std::string_view(inner).substr(start, comma - start));
    if (item.empty()) throw std::invalid_argument(fmt::format("'{}': empty argument", whole));
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      call.args.emplace_back("", item);
    } else {
      std::string key = trim(std::string_view(item).substr(0, eq));
      std::string value = trim(std::string_view(item).substr(eq + 1));
      if (!valid_name(key) || value.empty()) {
        throw std::invalid_argument(
            fmt::format("'{}': argument '{}' is not key=value", whole, item));
      }
      call.args.emplace_back(std::move(key), std::move(value));
    }
    start = comma + 1;
  }
  return call;
}

namespace {
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t cost = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                                       std::tolower(static_cast<unsigned char>(b[j - 1]))
                                   ? 0
                                   : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}
}  // namespace

std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    const std::size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  auto match = closest_match(word, candidates);
  return match ? fmt::format(" (did you mean '{}'?)", *match) : std::string();
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += items[i];
  }
  return out;
}

std::optional<double> parse_double(std::string_view text) {
  const std::string s = trim(text);
  if (s.empty()) return std::nullopt;
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "nan") return std::nan("");
  if (lower == "inf" || lower == "+inf" || lower == "infinity") return HUGE_VAL;
  if (lower == "-inf" || lower == "-infinity") return -HUGE_VAL;
  double value = 0.0;
  const char* begin = s.data();
  if (*begin == '+') ++begin;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

namespace {
template <typename F>
std::string format_impl(F value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // fmt's default formatting of floating point is the shortest round-trip representation.
  return fmt::format("{}", value);
}
}  // namespace

std::string format_number(double value) { return format_impl(value); }
std::string format_number(float value) { return format_impl(value); }

}  // namespace initbench
