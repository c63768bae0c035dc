// read.cpp: TOML to Entries (the file and its [quick] table), and --set overrides.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <tuple>
#include <variant>

#include "initbench/activation.hpp"
#include "initbench/data.hpp"
#include "initbench/init.hpp"
#include "initbench/loss.hpp"
#include "initbench/optimizer.hpp"
#include "initbench/rng.hpp"
#include "initbench/text.hpp"
#include "internal.hpp"

namespace initbench::spec_internal {

// ---------------------------------------------------------------------------------------------
// Entries: a key's value(s) as read from the file, [quick] or --set
// ---------------------------------------------------------------------------------------------

namespace {

std::string kind_name(Kind kind) {
  switch (kind) {
    case Kind::kInteger: return "an integer";
    case Kind::kNumber: return "a number";
    case Kind::kBool: return "true or false";
    case Kind::kString: return "a string";
    case Kind::kIntegers: return "a list of integers";
    case Kind::kStrings: return "a list of strings";
    case Kind::kNumbers: return "a list of numbers";
  }
  return "?";
}

}  // namespace

std::string node_description(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::integer: return fmt::format("the integer {}", node.as_integer()->get());
    case toml::node_type::floating_point:
      return fmt::format("the float {}", format_number(node.as_floating_point()->get()));
    case toml::node_type::boolean:
      return fmt::format("the boolean {}", node.as_boolean()->get() ? "true" : "false");
    case toml::node_type::string: return fmt::format("the string '{}'", node.as_string()->get());
    case toml::node_type::array: return "a list";
    case toml::node_type::table: return "a table";
    default: return "a date or time";
  }
}

[[noreturn]] void wrong_type(const std::string& where, const std::string& label, Kind kind,
                             const toml::node& node, std::string_view note = "") {
  throw SpecError(fmt::format("{}: {}: expected {}, got {}{}", where, label, kind_name(kind),
                              node_description(node), note));
}

namespace {

// One scalar (or, for list keys, one list) from a node, type-checked.
Value read_value(const toml::node& node, Kind kind, const std::string& label,
                 const Source& source) {
  Value value;
  value.where = source.where(node.source());
  switch (kind) {
    case Kind::kInteger:
      if (!node.is_integer()) wrong_type(value.where, label, kind, node);
      value.data = node.as_integer()->get();
      break;
    case Kind::kNumber:
      if (node.is_integer()) {
        value.data = node.as_integer()->get();
      } else if (node.is_floating_point()) {
        value.data = node.as_floating_point()->get();
      } else {
        wrong_type(value.where, label, kind, node);
      }
      break;
    case Kind::kBool:
      if (!node.is_boolean()) wrong_type(value.where, label, kind, node);
      value.data = node.as_boolean()->get();
      break;
    case Kind::kString:
      if (!node.is_string()) wrong_type(value.where, label, kind, node);
      value.data = node.as_string()->get();
      break;
    case Kind::kIntegers:
    case Kind::kStrings:
    case Kind::kNumbers: {
      if (!node.is_array()) wrong_type(value.where, label, kind, node);
      std::vector<std::int64_t> integers;
      std::vector<std::string> strings;
      std::vector<double> numbers;
      for (const toml::node& item : *node.as_array()) {
        if (kind == Kind::kIntegers && item.is_integer()) {
          integers.push_back(item.as_integer()->get());
        } else if (kind == Kind::kNumbers && item.is_integer()) {
          numbers.push_back(static_cast<double>(item.as_integer()->get()));
        } else if (kind == Kind::kNumbers && item.is_floating_point()) {
          numbers.push_back(item.as_floating_point()->get());
        } else if (kind == Kind::kStrings && item.is_string()) {
          strings.push_back(item.as_string()->get());
        } else {
          throw SpecError(fmt::format("{}: {}: expected {}, but an item is {}",
                                      source.where(item.source()), label, kind_name(kind),
                                      node_description(item)));
        }
      }
      if (kind == Kind::kIntegers) {
        value.data = std::move(integers);
      } else if (kind == Kind::kNumbers) {
        value.data = std::move(numbers);
      } else {
        value.data = std::move(strings);
      }
      break;
    }
  }
  return value;
}

// Checks one value of a key; errors name the place, the key and the value.
void check_value(const Key& key, const Value& value, const std::string& label) {
  try {
    key.check(value);
  } catch (const std::invalid_argument& e) {
    throw SpecError(fmt::format("{}: {} = {}: {}", value.where, label, shown(value), e.what()));
  }
}

namespace {

// The number as a template writes it: the shortest text that reads back the same, with ".0" on
// a whole float (Python's repr: 1.0, 1.25, 3.0), an integer as it is.
std::string template_text(const toml::node& node) {
  if (node.is_integer()) return fmt::format("{}", node.as_integer()->get());
  if (node.is_floating_point()) {
    std::string text = format_number(node.as_floating_point()->get());
    if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
    return text;
  }
  if (node.is_boolean()) return node.as_boolean()->get() ? "true" : "false";
  if (node.is_string()) return std::string(node.as_string()->get());
  throw std::invalid_argument(node_description(node));
}

// The generated values of an axis written as a table: {range = [start, stop, step]} (integers,
// stop excluded, as Python's range), {linspace = [a, b, n]} (n numbers from a to b),
// {logspace = [a, b, n]} (n numbers from 10^a to 10^b, NumPy's convention), or
// {template = "text with {}", values = [...] or a table of these}: one string per value.
std::vector<std::unique_ptr<toml::node>> generated(const toml::table& table, Kind kind,
                                                   const std::string& where,
                                                   const std::string& label) {
  const auto fail = [&](const std::string& what) {
    throw SpecError(fmt::format(
        "{}: {}: {}; an axis table is {{range = [start, stop, step]}}, {{linspace = [a, b, n]}}, "
        "{{logspace = [a, b, n]}} or {{template = \"...{{}}...\", values = [...]}}",
        where, label, what));
  };
  std::vector<std::string> names;
  for (auto&& [k, v] : table) names.emplace_back(k.str());
  const auto numbers = [&](std::string_view name, std::size_t min_size, std::size_t max_size) {
    const toml::array* array = table.get_as<toml::array>(name);
    if (array == nullptr || array->size() < min_size || array->size() > max_size)
      fail(fmt::format("{} takes a list of {} numbers", name,
                       min_size == max_size ? fmt::format("{}", min_size)
                                            : fmt::format("{} or {}", min_size, max_size)));
    std::vector<const toml::node*> items;
    for (const toml::node& item : *array) {
      if (!item.is_integer() && !item.is_floating_point())
        fail(fmt::format("{}: expected numbers, got {}", name, node_description(item)));
      items.push_back(&item);
    }
    return items;
  };
  const auto count_of = [&](const toml::node& node, std::string_view name) {
    if (!node.is_integer() || node.as_integer()->get() < 1 || node.as_integer()->get() > 100000)
      fail(fmt::format("{}: the count must be an integer from 1 to 100000, got {}", name,
                       node_description(node)));
    return node.as_integer()->get();
  };
  constexpr std::int64_t kMaxValues = 100000;
  std::vector<std::unique_ptr<toml::node>> out;
  if (names == std::vector<std::string>{"range"}) {
    if (kind != Kind::kInteger && kind != Kind::kNumber) fail("range gives integers");
    const auto items = numbers("range", 2, 3);
    for (const toml::node* item : items) {
      if (!item->is_integer()) fail("range takes integers (linspace gives numbers)");
    }
    const std::int64_t start = items[0]->as_integer()->get();
    const std::int64_t stop = items[1]->as_integer()->get();
    const std::int64_t step = items.size() == 3 ? items[2]->as_integer()->get() : 1;
    if (step == 0) fail("range's step must not be 0");
    for (std::int64_t x = start; step > 0 ? x < stop : x > stop; x += step) {
      if (static_cast<std::int64_t>(out.size()) == kMaxValues) fail("more than 100000 values");
      out.push_back(std::make_unique<toml::value<std::int64_t>>(x));
    }
    if (out.empty()) fail(fmt::format("range [{}, {}, {}] is empty", start, stop, step));
  } else if (names == std::vector<std::string>{"linspace"} ||
             names == std::vector<std::string>{"logspace"}) {
    const std::string& name = names.front();
    if (kind != Kind::kNumber) fail(fmt::format("{} gives numbers; use range for integers", name));
    const auto items = numbers(name, 3, 3);
    const double a = items[0]->value<double>().value();
    const double b = items[1]->value<double>().value();
    const std::int64_t n = count_of(*items[2], name);
    for (std::int64_t i = 0; i < n; ++i) {
      // the ends exactly; between them a + (b - a) i / (n - 1), as NumPy computes it
      const double x = i == 0 ? a
                       : i == n - 1
                           ? b
                           : a + (b - a) * static_cast<double>(i) / static_cast<double>(n - 1);
      const double value = name == "logspace" ? std::pow(10.0, x) : x;
      if (!std::isfinite(value)) fail(fmt::format("{} gives {}", name, format_number(value)));
      out.push_back(std::make_unique<toml::value<double>>(value));
    }
  } else if (std::vector<std::string> sorted = names;
             std::sort(sorted.begin(), sorted.end()),
             sorted == std::vector<std::string>{"template", "values"}) {
    if (kind != Kind::kString) fail("template gives strings");
    const auto* text = table.get_as<std::string>("template");
    if (text == nullptr || text->get().find("{}") == std::string::npos)
      fail("template must be a string with {} where each value goes");
    std::vector<std::unique_ptr<toml::node>> own;
    std::vector<const toml::node*> values;
    const toml::node* given = table.get("values");
    if (const toml::table* inner = given->as_table()) {
      own = generated(*inner, Kind::kNumber, where, label);
      for (const auto& v : own) values.push_back(v.get());
    } else if (const toml::array* array = given->as_array(); array != nullptr && !array->empty()) {
      for (const toml::node& v : *array) values.push_back(&v);
    } else {
      fail("values must be a non-empty list or an axis table");
    }
    for (const toml::node* v : values) {
      std::string item;
      try {
        item = template_text(*v);
      } catch (const std::invalid_argument& e) {
        fail(fmt::format("values: expected numbers, strings or booleans, got {}", e.what()));
      }
      std::string result = text->get();
      for (std::size_t at = result.find("{}"); at != std::string::npos;
           at = result.find("{}", at + item.size()))
        result.replace(at, 2, item);
      out.push_back(std::make_unique<toml::value<std::string>>(std::move(result)));
    }
  } else {
    fail(fmt::format("unknown form with key(s) {}", join(names)));
  }
  return out;
}

}  // namespace

// An entry from a key's node: a single value, or an axis (a list of scalars; for list keys, a
// list of lists; or a table that generates the list: `generated`).
Entry read_entry(const Key& key, const toml::node& node, const std::string& where,
                 const std::string& label, const Source& source) {
  Entry entry;
  entry.key = &key;
  entry.where = where;
  const bool list_key =
      key.kind == Kind::kIntegers || key.kind == Kind::kStrings || key.kind == Kind::kNumbers;
  if (const toml::table* table = node.as_table(); table != nullptr && !list_key) {
    if (!key.axis_ok) {
      wrong_type(where, label, key.kind, node, fmt::format(" ({} cannot be an axis)", label));
    }
    entry.axis = true;
    for (const std::unique_ptr<toml::node>& item : generated(*table, key.kind, where, label))
      entry.values.push_back(read_value(*item, key.kind, label, source));
    for (Value& value : entry.values) value.where = where;
    for (const Value& value : entry.values) check_value(key, value, label);
    return entry;
  }
  const toml::array* array = node.as_array();
  const bool axis =
      array != nullptr && (list_key ? !array->empty() && array->front().is_array() : true);
  if (array != nullptr && array->empty() && key.name != "dump_weights") {
    throw SpecError(fmt::format("{}: {}: empty list; give at least one value", where, label));
  }
  if (axis && !key.axis_ok) {
    wrong_type(where, label, key.kind, node, fmt::format(" ({} cannot be an axis)", label));
  }
  if (axis) {
    entry.axis = true;
    for (const toml::node& item : *array) {
      if (list_key && !item.is_array()) {
        throw SpecError(fmt::format(
            "{}: {}: a list of lists makes an axis, so every item must be a list; got {}",
            source.where(item.source()), label, node_description(item)));
      }
      if (!list_key && item.is_array()) {
        wrong_type(source.where(item.source()), label, key.kind, item,
                   " (lists of lists are axes only for model.layers, probes.dump_weights and "
                   "data.targets)");
      }
      entry.values.push_back(read_value(item, key.kind, label, source));
    }
  } else {
    entry.values.push_back(read_value(node, key.kind, label, source));
  }
  for (const Value& value : entry.values) check_value(key, value, label);
  return entry;
}

}  // namespace

// Every key of a table (the file's top level, or its [quick] table) in document order.
// toml++ keeps a table's keys sorted by name, so the order is recovered from source positions.
// `headers` gets the place of each [section] header.
std::vector<Entry> read_table(const toml::table& root, const Source& source, bool quick,
                              std::map<std::string, std::string>& headers) {
  struct Leaf {
    std::string section;
    std::string name;
    const toml::node* node;
    toml::source_position position;
  };
  std::vector<Leaf> leaves;
  const std::string prefix = quick ? "quick." : "";
  const auto root_names = [&] {
    std::vector<std::string> names = names_in("");
    for (const auto& s : section_names()) names.push_back(s);
    if (!quick) names.insert(names.end(), {"quick", "zip"});
    return names;
  }();
  for (auto&& [k, node] : root) {
    const std::string name(k.str());
    const std::string where = source.where(k.source());
    const bool is_section =
        std::find(section_names().begin(), section_names().end(), name) != section_names().end();
    if (!quick && (name == "quick" || name == "zip")) continue;  // read separately
    if (quick && name == "zip") {
      throw SpecError(fmt::format(
          "{}: quick.zip: zip is written at the top level of the file only; [quick] may change "
          "the zipped keys' values, keeping their lengths equal",
          where));
    }
    if (!is_section) {
      if (find_key("", name) == nullptr) {
        throw SpecError(fmt::format("{}: unknown {} '{}{}'{}; allowed at the top level: {}", where,
                                    node.is_table() ? "table" : "key", prefix, name,
                                    did_you_mean(name, root_names), join(root_names)));
      }
      leaves.push_back({"", name, &node, k.source().begin});
      continue;
    }
    const toml::table* table = node.as_table();
    headers[name] = where;
    if (table == nullptr) {
      throw SpecError(fmt::format("{}: {}{} must be a table ([{}{}]), got {}", where, prefix, name,
                                  prefix, name, node_description(node)));
    }
    for (auto&& [k2, node2] : *table) {
      const std::string name2(k2.str());
      if (find_key(name, name2) == nullptr) {
        const auto allowed = names_in(name);
        throw SpecError(fmt::format("{}: unknown {} '{}{}.{}'{}; [{}] allows: {}",
                                    source.where(k2.source()), node2.is_table() ? "table" : "key",
                                    prefix, name, name2, did_you_mean(name2, allowed), name,
                                    join(allowed)));
      }
      leaves.push_back({name, name2, &node2, k2.source().begin});
    }
  }
  std::sort(leaves.begin(), leaves.end(), [](const Leaf& a, const Leaf& b) {
    return std::tie(a.position.line, a.position.column) <
           std::tie(b.position.line, b.position.column);
  });
  std::vector<Entry> entries;
  for (const Leaf& leaf : leaves) {
    const Key& key = *find_key(leaf.section, leaf.name);
    const std::string where =
        source.has_lines ? fmt::format("{}:{}", source.name, leaf.position.line) : source.name;
    entries.push_back(read_entry(key, *leaf.node, where, prefix + key.dotted(), source));
    entries.back().order = static_cast<long>(entries.size());
  }
  return entries;
}

toml::table parse_toml(std::string_view text, const std::string& source) {
  try {
    return toml::parse(text, std::string_view(source));
  } catch (const toml::parse_error& e) {
    throw SpecError(fmt::format("{}:{}:{}: {}", source, e.source().begin.line,
                                e.source().begin.column, e.description()));
  }
}

// ---------------------------------------------------------------------------------------------
// --set overrides
// ---------------------------------------------------------------------------------------------

namespace {

// Splits "a, b(x=1, y=2), c" at the commas outside parentheses and brackets.
std::vector<std::string> split_items(std::string_view text) {
  std::vector<std::string> items;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    const char c = i < text.size() ? text[i] : ',';
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (c == ',' && depth <= 0) {
      items.push_back(trim(text.substr(start, i - start)));
      start = i + 1;
    }
  }
  return items;
}

// A TOML value, or leniently a bare word or a bracketed list of bare words and numbers:
// 30, 0.1, "he_normal", [1, 2], he_normal, he_normal(mode=fan_out), [glorot_normal,he_normal].
// Returned as the only key "x" of a table (which owns the node).
toml::table override_value(const std::string& text, const std::string& where) {
  try {
    toml::table parsed = toml::parse("x = " + text, std::string_view(where));
    if (parsed.size() == 1 && parsed.contains("x")) return parsed;
  } catch (const toml::parse_error&) {
    // not TOML: read it leniently below
  }
  if (text.find_first_of("\n\r") != std::string::npos) {
    throw SpecError(fmt::format("{}: the value must be a single TOML value", where));
  }
  auto scalar = [](const std::string& item) -> toml::table {
    try {
      toml::table parsed = toml::parse("x = " + item, std::string_view("--set"));
      if (parsed.size() == 1 && parsed.contains("x") && !parsed["x"].is_array() &&
          !parsed["x"].is_table()) {
        return parsed;
      }
    } catch (const toml::parse_error&) {
      // a bare word
    }
    toml::table bare;
    bare.insert("x", item);
    return bare;
  };
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    toml::array list;
    const std::string inner = trim(std::string_view(text).substr(1, text.size() - 2));
    if (!inner.empty()) {
      for (const std::string& item : split_items(inner)) {
        if (item.empty()) throw SpecError(fmt::format("{}: an item of the list is empty", where));
        toml::table one = scalar(item);
        list.push_back(*one["x"].node());
      }
    }
    toml::table out;
    out.insert("x", std::move(list));
    return out;
  }
  return scalar(text);
}

}  // namespace

Entry read_override(const std::string& text) {
  const std::string where = "--set " + text;
  const auto eq = text.find('=');
  if (eq == std::string::npos) {
    throw SpecError(
        fmt::format("{}: expected key=value, e.g. --set model.depth=30 or --set "
                    "init.scheme=[glorot_normal,he_normal]",
                    where));
  }
  const std::string dotted = trim(std::string_view(text).substr(0, eq));
  const std::string value = trim(std::string_view(text).substr(eq + 1));
  if (dotted == "zip") {
    throw SpecError(fmt::format(
        "{}: --set cannot change zip; --set the zipped keys themselves, with lists of equal "
        "lengths",
        where));
  }
  if (dotted == "quick" || dotted.starts_with("quick.")) {
    throw SpecError(fmt::format(
        "{}: --set cannot change the [quick] table; use --quick and --set the key itself", where));
  }
  const auto dot = dotted.find('.');
  const std::string section = dot == std::string::npos ? "" : dotted.substr(0, dot);
  const std::string name = dot == std::string::npos ? dotted : dotted.substr(dot + 1);
  const Key* key = find_key(section, name);
  if (key == nullptr) {
    if (section.empty() &&
        std::find(section_names().begin(), section_names().end(), name) != section_names().end()) {
      throw SpecError(fmt::format("{}: '{}' is a table; set one of its keys: {}.{}", where, name,
                                  name, join(names_in(name), fmt::format(", {}.", name))));
    }
    throw SpecError(
        fmt::format("{}: unknown key '{}'{}; keys are written section.key, e.g. "
                    "model.depth, init.scheme, seed",
                    where, dotted, did_you_mean(dotted, dotted_names())));
  }
  if (value.empty()) throw SpecError(fmt::format("{}: the value is empty", where));
  const toml::table holder = override_value(value, where);
  return read_entry(*key, *holder["x"].node(), where, dotted, Source{where, false});
}

// ---------------------------------------------------------------------------------------------
// Zipped axes
// ---------------------------------------------------------------------------------------------

// The top-level `zip`: groups of keys that vary together, zip = [["model.depth", "train.lr"],
// ...], or one group as zip = ["model.depth", "train.lr"]. Each key is known, may be an axis
// and is zipped once; a group has two keys or more. Whether the keys are lists of equal lengths
// is check_zips' part, once the layers are merged.
std::vector<Zip> read_zips(const toml::table& root, const Source& source) {
  const toml::node* node = root.get("zip");
  if (node == nullptr) return {};
  const auto fail = [](const std::string& where, const std::string& what) {
    throw SpecError(fmt::format(
        "{}: zip: {}; write zip = [[\"model.depth\", \"train.lr\"], ...], each group of keys "
        "given as lists of one length",
        where, what));
  };
  const toml::array* array = node->as_array();
  if (array == nullptr || array->empty()) {
    fail(source.where(node->source()),
         fmt::format("expected a list of groups of keys, got {}",
                     array == nullptr ? node_description(*node) : "an empty list"));
  }
  std::vector<const toml::array*> groups;
  if (array->front().is_array()) {
    for (const toml::node& item : *array) {
      if (!item.is_array()) {
        fail(source.where(item.source()),
             fmt::format("every group must be a list of keys, got {}", node_description(item)));
      }
      groups.push_back(item.as_array());
    }
  } else {
    groups.push_back(array);
  }
  std::vector<Zip> zips;
  std::map<std::string, std::string> zipped;  // key -> where
  for (const toml::array* group : groups) {
    Zip zip;
    zip.where = source.where(group->source());
    for (const toml::node& item : *group) {
      const std::string where = source.where(item.source());
      if (!item.is_string()) {
        fail(where, fmt::format("expected a key's dotted name, got {}", node_description(item)));
      }
      const std::string dotted(item.as_string()->get());
      const auto dot = dotted.find('.');
      const Key* key = dot == std::string::npos
                           ? find_key("", dotted)
                           : find_key(std::string_view(dotted).substr(0, dot),
                                      std::string_view(dotted).substr(dot + 1));
      if (key == nullptr) {
        fail(where,
             fmt::format("unknown key '{}'{}", dotted, did_you_mean(dotted, dotted_names())));
      }
      if (!key->axis_ok) fail(where, fmt::format("{} cannot be an axis", dotted));
      if (const auto [at, fresh] = zipped.emplace(dotted, where); !fresh) {
        fail(where, fmt::format("{} is zipped twice (also at {})", dotted, at->second));
      }
      zip.keys.push_back(dotted);
    }
    if (zip.keys.size() < 2) {
      fail(zip.where, fmt::format("a group needs two keys or more, got [{}] (one key alone is "
                                  "an axis of its own)",
                                  join(zip.keys)));
    }
    zips.push_back(std::move(zip));
  }
  return zips;
}

}  // namespace initbench::spec_internal
