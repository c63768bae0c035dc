// spec/internal.hpp (internal): what the parts of the spec reader share. The flow: TOML text ->
// Entries (read.cpp: one per key, its value or its list of values if it is an axis, each checked
// on its own against the key table of keys.cpp) -> [quick] and --set merged in -> the grid
// (grid.cpp: one RunConfig per combination of axis values, each checked as a whole) -> the
// entry points (spec.cpp).
#pragma once

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "initbench/spec.hpp"

namespace initbench::spec_internal {

constexpr Index kMaxDepth = 10000;  // hidden layers
constexpr std::size_t kMaxRuns = 100000;

// What a key's value may be.
enum class Kind { kInteger, kNumber, kBool, kString, kIntegers, kStrings, kNumbers };

// One value of a key, as written, and where it was written ("spec.toml:12" or "--set k=v").
struct Value {
  std::variant<std::int64_t, double, bool, std::string, std::vector<std::int64_t>,
               std::vector<std::string>, std::vector<double>>
      data;
  std::string where;

  std::int64_t integer() const { return std::get<std::int64_t>(data); }
  double number() const {
    if (const auto* i = std::get_if<std::int64_t>(&data)) return static_cast<double>(*i);
    return std::get<double>(data);
  }
  bool boolean() const { return std::get<bool>(data); }
  const std::string& string() const { return std::get<std::string>(data); }
  const std::vector<std::int64_t>& integers() const {
    return std::get<std::vector<std::int64_t>>(data);
  }
  const std::vector<std::string>& strings() const {
    return std::get<std::vector<std::string>>(data);
  }
  const std::vector<double>& numbers() const { return std::get<std::vector<double>>(data); }
};

// The value as runs.csv's setting columns show it, as TOML text, and as a message shows it.
std::string axis_text(const Value& value);
std::string toml_text(const Value& value);
std::string shown(const Value& value);

using Check = std::function<void(const Value&)>;
using Apply = std::function<void(RunConfig&, const Value&)>;
// A run's value of the key as runs.csv's setting column shows it (axis_text's form), read back
// from the RunConfig: the key's default where the spec left it unset; "" for a key that is
// unset and has no default (model.layers beside depth and width, train.target_loss).
using Read = std::function<std::string(const RunConfig&)>;

struct Key {
  std::string_view section;  // "" for the top level
  std::string_view name;
  Kind kind;
  bool axis_ok;  // may be given as a list of values (an axis of the grid)
  Check check;
  Apply apply;
  // Empty for `description`, which is no run's setting. A key without it still gets its column
  // (run_settings: the value the spec wrote, "" where unset).
  Read read = nullptr;

  std::string dotted() const {
    return section.empty() ? std::string(name) : fmt::format("{}.{}", section, name);
  }
};

// The key table, its sections, a key by name, the keys of a section, every dotted name.
const std::vector<std::string>& section_names();
const std::vector<Key>& keys();
const Key* find_key(std::string_view section, std::string_view name);
std::vector<std::string> names_in(std::string_view section);
std::vector<std::string> dotted_names();

// Keys that exclude each other: giving one in a later layer ([quick], --set) removes the other.
struct Alternative {
  std::string_view a;
  std::string_view b;
  std::string_view advice;
};
const std::vector<Alternative>& alternatives();

struct Entry {
  const Key* key = nullptr;
  bool axis = false;
  std::vector<Value> values;  // one, or an axis's values in order
  std::string where;          // the key's place
  long order = 0;             // document order (later layers come after the file)
};

// Keys that vary together: one axis of the grid, at the place of its first key in the grid
// order; the i-th run along it takes the i-th value of every key (the top-level `zip`).
struct Zip {
  std::vector<std::string> keys;  // dotted, as written
  std::string where;              // the group's place
};

// Where a node was written: "file:line", or the --set text.
struct Source {
  std::string name;
  bool has_lines = true;

  std::string where(const toml::source_region& region) const {
    if (!has_lines || region.begin.line == 0) return name;
    return fmt::format("{}:{}", name, region.begin.line);
  }
};

// Reading TOML (read.cpp): a node described for a message; every key of a table (the file's
// top level, or its [quick] table) in document order, with the section headers' places; the
// parsed document; one --set override; the file's zip groups.
std::string node_description(const toml::node& node);
std::vector<Entry> read_table(const toml::table& root, const Source& source, bool quick,
                              std::map<std::string, std::string>& headers);
toml::table parse_toml(std::string_view text, const std::string& source);
Entry read_override(const std::string& text);
std::vector<Zip> read_zips(const toml::table& root, const Source& source);

// Layers and the grid (grid.cpp); check_zips: every zipped key is an axis, each group's of one
// length.
Entry* find_entry(std::vector<Entry>& entries, std::string_view dotted);
const Entry* find_entry(const std::vector<Entry>& entries, std::string_view dotted);
void check_alternatives(const std::vector<Entry>& entries, std::string_view prefix);
void merge(std::vector<Entry>& base, std::vector<Entry> layer);
void check_required(const std::vector<Entry>& entries, const std::string& source,
                    const std::map<std::string, std::string>& headers);
void check_zips(const std::vector<Entry>& entries, const std::vector<Zip>& zips);
std::vector<RunConfig> expand(const std::vector<Entry>& entries, const std::vector<Zip>& zips,
                              const std::string& source);
std::string resolved_text(const std::vector<Entry>& entries, const std::vector<Zip>& zips);

}  // namespace initbench::spec_internal
