#include "initbench/spec.hpp"

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

namespace initbench {

// The flow: TOML text -> Entries (one per key: its value, or its list of values if it is an axis,
// each checked on its own) -> [quick] and --set merged in -> the grid: one RunConfig per
// combination of axis values, each checked as a whole (sizes against the data and the scheme).

namespace {

constexpr Index kMaxDepth = 10000;       // hidden layers
constexpr Index kMaxWidth = 100000;      // units in a layer (also features, classes, outputs)
constexpr Index kMaxSamples = 10000000;  // synthetic train or test samples
constexpr std::size_t kMaxRuns = 100000;

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

// What a key's value may be.
enum class Kind { kInteger, kNumber, kBool, kString, kIntegers, kStrings };

// One value of a key, as written, and where it was written ("spec.toml:12" or "--set k=v").
struct Value {
  std::variant<std::int64_t, double, bool, std::string, std::vector<std::int64_t>,
               std::vector<std::string>>
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
};

// The value as runs.csv's axis columns show it: strings as written, numbers in their shortest
// round-trip text, lists joined with '-' (numbers) or '+' (strings); an empty list is "none".
std::string axis_text(const Value& value) {
  struct Visitor {
    std::string operator()(std::int64_t x) const { return fmt::format("{}", x); }
    std::string operator()(double x) const { return format_number(x); }
    std::string operator()(bool x) const { return x ? "true" : "false"; }
    std::string operator()(const std::string& x) const { return x; }
    std::string operator()(const std::vector<std::int64_t>& x) const {
      if (x.empty()) return "none";
      return fmt::format("{}", fmt::join(x, "-"));
    }
    std::string operator()(const std::vector<std::string>& x) const {
      return x.empty() ? "none" : join(x, "+");
    }
  };
  return std::visit(Visitor{}, value.data);
}

std::string toml_string(const std::string& text) {
  std::ostringstream out;
  out << toml::value<std::string>(text);  // toml++ picks the quoting and escapes
  return out.str();
}

// The value as TOML text that reads back to the same value and type.
std::string toml_text(const Value& value) {
  struct Visitor {
    std::string operator()(std::int64_t x) const { return fmt::format("{}", x); }
    std::string operator()(double x) const {
      std::string text = format_number(x);  // shortest round trip: "0.1", "1e-08", "inf"
      if (text.find_first_of(".eEn") == std::string::npos) text += ".0";  // keep it a float
      return text;
    }
    std::string operator()(bool x) const { return x ? "true" : "false"; }
    std::string operator()(const std::string& x) const { return toml_string(x); }
    std::string operator()(const std::vector<std::int64_t>& x) const {
      return fmt::format("[{}]", fmt::join(x, ", "));
    }
    std::string operator()(const std::vector<std::string>& x) const {
      std::vector<std::string> items;
      items.reserve(x.size());
      for (const auto& s : x) items.push_back(toml_string(s));
      return fmt::format("[{}]", join(items));
    }
  };
  return std::visit(Visitor{}, value.data);
}

// The value in a message: like axis_text, with strings quoted and lists bracketed.
std::string shown(const Value& value) {
  if (std::holds_alternative<std::string>(value.data)) return "'" + value.string() + "'";
  if (std::holds_alternative<std::vector<std::int64_t>>(value.data) ||
      std::holds_alternative<std::vector<std::string>>(value.data)) {
    return toml_text(value);
  }
  return axis_text(value);
}

// ---------------------------------------------------------------------------------------------
// Checks of one value. Each throws std::invalid_argument saying what is allowed; the caller adds
// the place, the key and the value.
// ---------------------------------------------------------------------------------------------

[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument(what); }

void integer_in(const Value& v, std::int64_t low, std::int64_t limit) {
  if (v.integer() < low) fail(fmt::format("must be >= {}", low));
  if (v.integer() > limit) fail(fmt::format("absurd: the limit is {}", limit));
}
void at_least(const Value& v, std::int64_t low) {
  if (v.integer() < low) fail(fmt::format("must be >= {}", low));
}
void positive(const Value& v) {
  if (!(std::isfinite(v.number()) && v.number() > 0)) fail("must be a finite number > 0");
}
void non_negative(const Value& v) {
  if (!(std::isfinite(v.number()) && v.number() >= 0)) fail("must be a finite number >= 0");
}
void fraction(const Value& v) {  // [0, 1)
  if (!(v.number() >= 0 && v.number() < 1)) fail("must be in [0, 1)");
}
void one_of(const Value& v, const std::vector<std::string>& allowed, std::string_view what) {
  if (std::find(allowed.begin(), allowed.end(), v.string()) == allowed.end()) {
    fail(fmt::format("unknown {} '{}'{}; allowed: {}", what, v.string(),
                     did_you_mean(v.string(), allowed), join(allowed)));
  }
}
void folder_name(const Value& v) {
  const std::string& s = v.string();
  const bool safe =
      !s.empty() && s.size() <= 200 && s != "." && s != ".." &&
      std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-';
      });
  if (!safe) {
    fail(
        "must be a folder name: letters, digits, '_', '.' and '-' only (at most 200), not . or ..");
  }
}
void bias_scheme(const Value& v) {
  if (v.string() == "default") return;
  if (closest_match(v.string(), {"default"})) fail("did you mean 'default'?");
  try {
    Scheme::parse(v.string()).check_layer(1, 1, true);
  } catch (const std::invalid_argument& e) {
    fail(fmt::format("{}; or \"default\" (zeros, or torch_default's own bias rule)", e.what()));
  }
}
void layer_sizes(const Value& v) {
  const auto& sizes = v.integers();
  if (sizes.size() < 2) fail("needs at least 2 sizes: [inputs, ..., outputs]");
  if (sizes.size() > static_cast<std::size_t>(kMaxDepth) + 2) {
    fail(fmt::format("absurd: {} layers; the limit is {} hidden layers", sizes.size() - 2,
                     kMaxDepth));
  }
  for (const auto n : sizes) {
    if (n < 1) fail(fmt::format("every size must be >= 1, got {}", n));
    if (n > kMaxWidth) fail(fmt::format("absurd: a size of {}; the limit is {}", n, kMaxWidth));
  }
}
void dump_steps(const Value& v) {
  for (const auto step : v.integers()) {
    if (step < 0) fail(fmt::format("steps must be >= 0, got {}", step));
  }
}
void column_names(const Value& v) {
  if (v.strings().empty()) fail("needs at least one column name (or set data.label instead)");
  for (const auto& name : v.strings()) {
    if (trim(name).empty()) fail("a column name is empty");
  }
}
void generator_name(const Value& v) { one_of(v, generator_names(), "generator"); }
void numpy_seed_value(const Value& v) {  // np.random.seed's range
  if (v.integer() < 0 || v.integer() > 0xffffffffLL) fail("must be in [0, 2^32 - 1]");
}
void classes_count(const Value& v) {
  if (v.integer() == 1 || v.integer() < 0) fail("must be 0 (the data's own count) or >= 2");
  integer_in(v, 0, kMaxWidth);
}

// ---------------------------------------------------------------------------------------------
// The keys: every key a spec may set, its kind, its check, and where it goes in a RunConfig.
// ---------------------------------------------------------------------------------------------

using Check = void (*)(const Value&);
using Apply = void (*)(RunConfig&, const Value&);

struct Key {
  std::string_view section;  // "" for the top level
  std::string_view name;
  Kind kind;
  bool axis_ok;  // may be given as a list of values (an axis of the grid)
  Check check;
  Apply apply;

  std::string dotted() const {
    return section.empty() ? std::string(name) : fmt::format("{}.{}", section, name);
  }
};

const std::vector<std::string>& section_names() {
  static const std::vector<std::string> names{"data", "model", "init", "train", "probes"};
  return names;
}

const std::vector<Key>& keys() {
  using R = RunConfig;
  using V = Value;
  auto none = [](const V&) {};
  static const std::vector<Key> table{
      {"", "name", Kind::kString, false, folder_name,
       [](R& r, const V& v) { r.experiment = v.string(); }},
      {"", "description", Kind::kString, false,
       [](const V& v) {
         if (v.string().find_first_of("\r\n") != std::string::npos) fail("must be one line");
       },
       [](R&, const V&) {}},
      {"", "seed", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
       [](R& r, const V& v) { r.seed = static_cast<std::uint64_t>(v.integer()); }},

      {"data", "kind", Kind::kString, true,
       [](const V& v) { one_of(v, dataset_kinds(), "dataset kind"); },
       [](R& r, const V& v) { r.data.kind = v.string(); }},
      {"data", "train", Kind::kInteger, true, [](const V& v) { integer_in(v, 1, kMaxSamples); },
       [](R& r, const V& v) { r.data.train = v.integer(); }},
      {"data", "test", Kind::kInteger, true, [](const V& v) { integer_in(v, 0, kMaxSamples); },
       [](R& r, const V& v) { r.data.test = v.integer(); }},
      {"data", "noise", Kind::kNumber, true, non_negative,
       [](R& r, const V& v) { r.data.noise = v.number(); }},
      {"data", "classes", Kind::kInteger, true, classes_count,
       [](R& r, const V& v) { r.data.classes = v.integer(); }},
      {"data", "factor", Kind::kNumber, true, fraction,
       [](R& r, const V& v) { r.data.factor = v.number(); }},
      {"data", "features", Kind::kInteger, true, [](const V& v) { integer_in(v, 1, kMaxWidth); },
       [](R& r, const V& v) { r.data.features = v.integer(); }},
      {"data", "cluster_std", Kind::kNumber, true, non_negative,
       [](R& r, const V& v) { r.data.cluster_std = v.number(); }},
      {"data", "center_box", Kind::kNumber, true, positive,
       [](R& r, const V& v) { r.data.center_box = v.number(); }},
      {"data", "hidden", Kind::kInteger, true, [](const V& v) { integer_in(v, 0, kMaxWidth); },
       [](R& r, const V& v) { r.data.hidden = v.integer(); }},
      {"data", "outputs", Kind::kInteger, true, [](const V& v) { integer_in(v, 1, kMaxWidth); },
       [](R& r, const V& v) { r.data.outputs = v.integer(); }},
      {"data", "classify", Kind::kBool, true, none,
       [](R& r, const V& v) { r.data.classify = v.boolean(); }},
      {"data", "path", Kind::kString, true,
       [](const V& v) {
         if (v.string().empty()) fail("is empty");
       },
       [](R& r, const V& v) { r.data.path = v.string(); }},
      {"data", "test_path", Kind::kString, true, none,
       [](R& r, const V& v) { r.data.test_path = v.string(); }},
      {"data", "test_fraction", Kind::kNumber, true, fraction,
       [](R& r, const V& v) { r.data.test_fraction = v.number(); }},
      {"data", "label", Kind::kString, true,
       [](const V& v) {
         if (trim(v.string()).empty()) fail("is empty");
       },
       [](R& r, const V& v) { r.data.label = v.string(); }},
      {"data", "targets", Kind::kStrings, true, column_names,
       [](R& r, const V& v) { r.data.targets = v.strings(); }},
      {"data", "limit_train", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
       [](R& r, const V& v) { r.data.limit_train = v.integer(); }},
      {"data", "limit_test", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
       [](R& r, const V& v) { r.data.limit_test = v.integer(); }},
      {"data", "standardize", Kind::kBool, true, none,
       [](R& r, const V& v) { r.data.standardize = v.boolean(); }},
      {"data", "generator", Kind::kString, true, generator_name,
       [](R& r, const V& v) { r.data.generator = v.string(); }},
      {"data", "numpy_seed", Kind::kInteger, true, numpy_seed_value,
       [](R& r, const V& v) { r.data.numpy_seed = v.integer(); }},
      {"data", "numpy_test_seed", Kind::kInteger, true, numpy_seed_value,
       [](R& r, const V& v) { r.data.numpy_test_seed = v.integer(); }},

      {"model", "layers", Kind::kIntegers, true, layer_sizes,
       [](R& r, const V& v) { r.model.layers.assign(v.integers().begin(), v.integers().end()); }},
      {"model", "depth", Kind::kInteger, true, [](const V& v) { integer_in(v, 1, kMaxDepth); },
       [](R& r, const V& v) { r.model.depth = v.integer(); }},
      {"model", "width", Kind::kInteger, true, [](const V& v) { integer_in(v, 1, kMaxWidth); },
       [](R& r, const V& v) { r.model.width = v.integer(); }},
      {"model", "activation", Kind::kString, true,
       [](const V& v) { Activation::parse(v.string()); },
       [](R& r, const V& v) { r.model.activation = Activation::parse(v.string()); }},
      {"model", "output", Kind::kString, true, [](const V& v) { parse_output(v.string()); },
       [](R& r, const V& v) { r.model.output = parse_output(v.string()); }},
      {"model", "precision", Kind::kString, true,
       [](const V& v) {
         one_of(v, {"float", "double"}, "precision");
       },
       [](R& r, const V& v) {
         r.model.precision = v.string() == "double" ? Precision::kDouble : Precision::kFloat;
       }},

      {"init", "scheme", Kind::kString, true, [](const V& v) { Scheme::parse(v.string()); },
       [](R& r, const V& v) {
         r.scheme = v.string();
         r.init.weights = Scheme::parse(v.string());
       }},
      {"init", "bias", Kind::kString, true, bias_scheme,
       [](R& r, const V& v) { r.init.bias_text = v.string(); }},
      {"init", "scale", Kind::kNumber, true, positive,
       [](R& r, const V& v) { r.init.scale = v.number(); }},
      {"init", "generator", Kind::kString, true, generator_name,
       [](R& r, const V& v) { r.init.generator = v.string(); }},
      {"init", "numpy_seed", Kind::kInteger, true, numpy_seed_value,
       [](R& r, const V& v) { r.init.numpy_seed = v.integer(); }},

      {"train", "optimizer", Kind::kString, true, [](const V& v) { parse_optimizer(v.string()); },
       [](R& r, const V& v) { r.train.optimizer.kind = parse_optimizer(v.string()); }},
      {"train", "lr", Kind::kNumber, true, positive,
       [](R& r, const V& v) { r.train.optimizer.lr = v.number(); }},
      {"train", "momentum", Kind::kNumber, true, fraction,
       [](R& r, const V& v) { r.train.optimizer.momentum = v.number(); }},
      {"train", "beta1", Kind::kNumber, true, fraction,
       [](R& r, const V& v) { r.train.optimizer.beta1 = v.number(); }},
      {"train", "beta2", Kind::kNumber, true, fraction,
       [](R& r, const V& v) { r.train.optimizer.beta2 = v.number(); }},
      {"train", "eps", Kind::kNumber, true, positive,
       [](R& r, const V& v) { r.train.optimizer.eps = v.number(); }},
      {"train", "weight_decay", Kind::kNumber, true, non_negative,
       [](R& r, const V& v) { r.train.optimizer.weight_decay = v.number(); }},
      {"train", "batch", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
       [](R& r, const V& v) { r.train.batch = v.integer(); }},
      {"train", "steps", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
       [](R& r, const V& v) { r.train.steps = v.integer(); }},
      {"train", "epochs", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
       [](R& r, const V& v) { r.train.epochs = v.integer(); }},
      {"train", "eval_every", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
       [](R& r, const V& v) { r.train.eval_every = v.integer(); }},
      {"train", "target_loss", Kind::kNumber, true, non_negative,
       [](R& r, const V& v) { r.train.target_loss = v.number(); }},
      {"train", "target_accuracy", Kind::kNumber, true,
       [](const V& v) {
         if (!(v.number() >= 0 && v.number() <= 1)) fail("must be in [0, 1]");
       },
       [](R& r, const V& v) { r.train.target_accuracy = v.number(); }},
      {"train", "stop_at_target", Kind::kBool, true, none,
       [](R& r, const V& v) { r.train.stop_at_target = v.boolean(); }},
      {"train", "stall_window", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
       [](R& r, const V& v) { r.train.stall_window = v.integer(); }},
      {"train", "stall_tolerance", Kind::kNumber, true, non_negative,
       [](R& r, const V& v) { r.train.stall_tolerance = v.number(); }},
      {"train", "stop_on_stall", Kind::kBool, true, none,
       [](R& r, const V& v) { r.train.stop_on_stall = v.boolean(); }},

      {"probes", "every", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
       [](R& r, const V& v) { r.probes.every = v.integer(); }},
      {"probes", "schedule", Kind::kString, true,
       [](const V& v) {
         one_of(v, {"every", "log"}, "schedule");
       },
       [](R& r, const V& v) { r.probes.log_schedule = v.string() == "log"; }},
      {"probes", "batch", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
       [](R& r, const V& v) { r.probes.batch = v.integer(); }},
      {"probes", "histograms", Kind::kBool, true, none,
       [](R& r, const V& v) { r.probes.histograms = v.boolean(); }},
      {"probes", "histogram_bins", Kind::kInteger, true,
       [](const V& v) { integer_in(v, 1, kMaxWidth); },
       [](R& r, const V& v) { r.probes.histogram_bins = v.integer(); }},
      {"probes", "histogram_every", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
       [](R& r, const V& v) { r.probes.histogram_every = v.integer(); }},
      {"probes", "symmetry", Kind::kBool, true, none,
       [](R& r, const V& v) { r.probes.symmetry = v.boolean(); }},
      {"probes", "symmetry_every", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
       [](R& r, const V& v) { r.probes.symmetry_every = v.integer(); }},
      {"probes", "symmetry_tolerance", Kind::kNumber, true, non_negative,
       [](R& r, const V& v) { r.probes.symmetry_tolerance = v.number(); }},
      {"probes", "jacobian", Kind::kBool, true, none,
       [](R& r, const V& v) { r.probes.jacobian = v.boolean(); }},
      {"probes", "jacobian_every", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
       [](R& r, const V& v) { r.probes.jacobian_every = v.integer(); }},
      {"probes", "jacobian_samples", Kind::kInteger, true,
       [](const V& v) { integer_in(v, 1, kMaxWidth); },
       [](R& r, const V& v) { r.probes.jacobian_samples = v.integer(); }},
      {"probes", "dump_weights", Kind::kIntegers, true, dump_steps,
       [](R& r, const V& v) {
         r.probes.dump_weights.assign(v.integers().begin(), v.integers().end());
       }},
  };
  return table;
}

const Key* find_key(std::string_view section, std::string_view name) {
  for (const Key& key : keys()) {
    if (key.section == section && key.name == name) return &key;
  }
  return nullptr;
}

std::vector<std::string> names_in(std::string_view section) {
  std::vector<std::string> names;
  for (const Key& key : keys()) {
    if (key.section == section) names.emplace_back(key.name);
  }
  return names;
}

std::vector<std::string> dotted_names() {
  std::vector<std::string> names;
  for (const Key& key : keys()) names.push_back(key.dotted());
  return names;
}

// Keys that exclude each other: giving one in a later layer ([quick], --set) removes the other.
struct Alternative {
  std::string_view a;
  std::string_view b;
  std::string_view advice;
};
const std::vector<Alternative>& alternatives() {
  static const std::vector<Alternative> pairs{
      {"model.layers", "model.depth", "give layers = [n_0, ..., n_L], or depth and width"},
      {"model.layers", "model.width", "give layers = [n_0, ..., n_L], or depth and width"},
      {"train.steps", "train.epochs", "give one of them"},
  };
  return pairs;
}

// ---------------------------------------------------------------------------------------------
// Entries: a key's value(s) as read from the file, [quick] or --set
// ---------------------------------------------------------------------------------------------

struct Entry {
  const Key* key = nullptr;
  bool axis = false;
  std::vector<Value> values;  // one, or an axis's values in order
  std::string where;          // the key's place
  long order = 0;             // document order (later layers come after the file)
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

std::string kind_name(Kind kind) {
  switch (kind) {
    case Kind::kInteger: return "an integer";
    case Kind::kNumber: return "a number";
    case Kind::kBool: return "true or false";
    case Kind::kString: return "a string";
    case Kind::kIntegers: return "a list of integers";
    case Kind::kStrings: return "a list of strings";
  }
  return "?";
}

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
    case Kind::kStrings: {
      if (!node.is_array()) wrong_type(value.where, label, kind, node);
      std::vector<std::int64_t> integers;
      std::vector<std::string> strings;
      for (const toml::node& item : *node.as_array()) {
        if (kind == Kind::kIntegers && item.is_integer()) {
          integers.push_back(item.as_integer()->get());
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

// An entry from a key's node: a single value, or an axis (a list of scalars; for list keys, a
// list of lists).
Entry read_entry(const Key& key, const toml::node& node, const std::string& where,
                 const std::string& label, const Source& source) {
  Entry entry;
  entry.key = &key;
  entry.where = where;
  const bool list_key = key.kind == Kind::kIntegers || key.kind == Kind::kStrings;
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
    if (!quick) names.emplace_back("quick");
    return names;
  }();
  for (auto&& [k, node] : root) {
    const std::string name(k.str());
    const std::string where = source.where(k.source());
    const bool is_section =
        std::find(section_names().begin(), section_names().end(), name) != section_names().end();
    if (!quick && name == "quick") continue;  // read separately
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
// Layers: the file, then [quick], then each --set, each replacing whole values
// ---------------------------------------------------------------------------------------------

Entry* find_entry(std::vector<Entry>& entries, std::string_view dotted) {
  for (Entry& e : entries) {
    if (e.key->dotted() == dotted) return &e;
  }
  return nullptr;
}
const Entry* find_entry(const std::vector<Entry>& entries, std::string_view dotted) {
  for (const Entry& e : entries) {
    if (e.key->dotted() == dotted) return &e;
  }
  return nullptr;
}

// Keys of one layer that exclude each other.
void check_alternatives(const std::vector<Entry>& entries, std::string_view prefix) {
  for (const Alternative& pair : alternatives()) {
    const Entry* a = find_entry(entries, pair.a);
    const Entry* b = find_entry(entries, pair.b);
    if (a == nullptr || b == nullptr) continue;
    throw SpecError(fmt::format("{}: {}{} and {}{} exclude each other: {}",
                                (a->order > b->order ? a : b)->where, prefix, pair.a, prefix,
                                pair.b, pair.advice));
  }
}

// `layer` replaces whole values of `base`; keys new to base go after it, in the layer's order.
void merge(std::vector<Entry>& base, std::vector<Entry> layer) {
  for (const Entry& e : layer) {
    const std::string dotted = e.key->dotted();
    for (const Alternative& pair : alternatives()) {
      std::string_view other;
      if (pair.a == dotted) other = pair.b;
      if (pair.b == dotted) other = pair.a;
      if (other.empty() || find_entry(layer, other) != nullptr) continue;
      std::erase_if(base, [&](const Entry& b) { return b.key->dotted() == other; });
    }
  }
  long next = 0;
  for (const Entry& b : base) next = std::max(next, b.order);
  for (Entry& e : layer) {
    if (Entry* old = find_entry(base, e.key->dotted())) {
      e.order = old->order;
      *old = std::move(e);
    } else {
      e.order = ++next;
      base.push_back(std::move(e));
    }
  }
  std::stable_sort(base.begin(), base.end(),
                   [](const Entry& a, const Entry& b) { return a.order < b.order; });
}

// What the merged spec must have.
// `headers`: the places of the file's [section] headers, for keys that are missing from them.
void check_required(const std::vector<Entry>& entries, const std::string& source,
                    const std::map<std::string, std::string>& headers) {
  auto place = [&](const std::string& section) {
    auto it = headers.find(section);
    return it != headers.end() ? it->second : source;
  };
  if (find_entry(entries, "name") == nullptr) {
    throw SpecError(fmt::format(
        "{}: missing key 'name' (the experiment's folder name, e.g. name = \"course_init\")",
        source));
  }
  const Entry* layers = find_entry(entries, "model.layers");
  const Entry* depth = find_entry(entries, "model.depth");
  const Entry* width = find_entry(entries, "model.width");
  if (layers == nullptr && depth == nullptr && width == nullptr) {
    throw SpecError(fmt::format(
        "{}: [model] needs layers = [n_0, ..., n_L] or depth and width (hidden layers between "
        "the data's input and output sizes)",
        place("model")));
  }
  if ((depth == nullptr) != (width == nullptr)) {
    const Entry* given = depth != nullptr ? depth : width;
    throw SpecError(fmt::format("{}: model.{} needs model.{} too", given->where,
                                depth != nullptr ? "depth" : "width",
                                depth != nullptr ? "width" : "depth"));
  }
  if (find_entry(entries, "train.steps") == nullptr &&
      find_entry(entries, "train.epochs") == nullptr) {
    throw SpecError(
        fmt::format("{}: [train] needs steps (updates) or epochs (passes over the "
                    "training set)",
                    place("train")));
  }
}

// ---------------------------------------------------------------------------------------------
// The grid, and the checks of each run as a whole
// ---------------------------------------------------------------------------------------------

// Checks each run as a whole: what no single value shows (sizes against the data and the
// schemes, a batch larger than the data, a target a linear output cannot reach).
class RunChecker {
 public:
  RunChecker(const std::vector<Entry>& entries, const std::string& source)
      : entries_(entries), source_(source) {}

  // `choice[i]`: the index of the run's value in entries[i].values.
  void check(const RunConfig& run, const std::vector<std::size_t>& choice) {
    run_ = &run;
    choice_ = &choice;
    check_data();
    check_model();
    check_train();
  }

 private:
  // Where the run's value of the first of `keys` that the spec sets was written; the spec itself
  // if it sets none of them (every value is a default).
  std::string where(const std::vector<std::string_view>& keys) const {
    for (const std::string_view dotted : keys) {
      for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (entries_[i].key->dotted() == dotted) return entries_[i].values[(*choice_)[i]].where;
      }
    }
    return source_;
  }

  [[noreturn]] void fail_at(const std::vector<std::string>& keys, const std::string& what) const {
    std::vector<std::string_view> views(keys.begin(), keys.end());
    fail_at_any(views, what);
  }
  [[noreturn]] void fail_at(std::initializer_list<std::string_view> keys,
                            const std::string& what) const {
    fail_at_any(std::vector<std::string_view>(keys), what);
  }
  [[noreturn]] void fail_at_any(const std::vector<std::string_view>& keys,
                                const std::string& what) const {
    std::vector<std::string> axes;
    for (const auto& [key, value] : run_->axes) axes.push_back(fmt::format("{}={}", key, value));
    const std::string run =
        axes.empty() ? "" : fmt::format(" (run {}: {})", run_->run_index, join(axes));
    throw SpecError(fmt::format("{}: {}{}", where(keys), what, run));
  }

  void check_generators() const {
    const DataSpec& d = run_->data;
    if (d.generator == "numpy") {
      if (!dataset_kind(d.kind).numpy) {
        fail_at({"data.generator", "data.kind"},
                fmt::format("data.generator = 'numpy' (scikit-learn's make_circles after "
                            "np.random.seed) exists for kind 'circles' only; got '{}'",
                            d.kind));
      }
      if (d.numpy_seed < 0 || d.numpy_test_seed < 0) {
        fail_at({"data.generator"},
                "data.generator = 'numpy' needs data.numpy_seed and data.numpy_test_seed (the "
                "np.random.seed values before the training and the test set)");
      }
    } else if (d.numpy_seed >= 0 || d.numpy_test_seed >= 0) {
      fail_at({"data.numpy_seed", "data.numpy_test_seed"},
              "data.numpy_seed and data.numpy_test_seed apply to data.generator = \"numpy\" "
              "only; set it, or remove them");
    }
    const InitConfig& init = run_->init;
    if (init.generator == "numpy" && init.numpy_seed < 0) {
      fail_at({"init.generator"},
              "init.generator = 'numpy' needs init.numpy_seed (the np.random.seed value before "
              "the first layer is drawn)");
    }
    if (init.generator != "numpy" && init.numpy_seed >= 0) {
      fail_at({"init.numpy_seed"},
              "init.numpy_seed applies to init.generator = \"numpy\" only; set it, or remove "
              "it");
    }
  }

  void check_data() const {
    check_generators();
    try {
      check_data_spec(run_->data);
    } catch (const RunCheckError& e) {
      fail_at(e.keys, e.what());
    }
  }

  void check_model() {
    const ModelConfig& m = run_->model;
    if (const std::optional<DataShape> shape = synthetic_shape(run_->data)) {
      try {
        check_run(*run_, *shape);
      } catch (const RunCheckError& e) {
        fail_at(e.keys, e.what());
      }
      return;
    }
    // File data: the shape is known once the files are read (run_experiment checks the run
    // then); here only what the spec alone determines.
    MlpConfig net;
    if (!m.layers.empty()) {
      net.sizes = m.layers;
    } else {
      // depth x width between sizes known only from the files: the hidden layers alone.
      const auto hidden = static_cast<double>(m.depth - 1) * static_cast<double>(m.width) *
                          static_cast<double>(m.width + 1);
      if (hidden > static_cast<double>(kMaxParameters)) {
        fail_at({"model.width"},
                fmt::format("the hidden layers alone have {:.3g} parameters: absurd; the limit "
                            "is {}",
                            hidden, kMaxParameters));
      }
      return;
    }
    // InitConfig::check walks every layer; many runs share the same network and schemes.
    auto signature = std::make_tuple(run_->scheme, run_->init.bias_text, net.sizes);
    if (!checked_.insert(signature).second) return;
    try {
      check_network(*run_, net, "model.layers");
    } catch (const RunCheckError& e) {
      fail_at(e.keys, e.what());
    }
  }

  void check_train() const {
    const TrainConfig& t = run_->train;
    if (!std::isnan(t.target_accuracy) && run_->model.output == Output::kLinear) {
      fail_at({"train.target_accuracy"},
              "train.target_accuracy: a linear output makes no class predictions; use "
              "target_loss");
    }
    if (t.stop_at_target && std::isnan(t.target_accuracy) && std::isnan(t.target_loss)) {
      fail_at({"train.stop_at_target"},
              "train.stop_at_target = true needs train.target_loss or train.target_accuracy");
    }
    if (t.stop_on_stall && t.stall_window <= 0) {
      fail_at({"train.stop_on_stall"}, "train.stop_on_stall = true needs train.stall_window > 0");
    }
    try {
      t.optimizer.validate();
    } catch (const std::invalid_argument& e) {
      fail_at({"train.optimizer"}, e.what());
    }
  }

  const std::vector<Entry>& entries_;
  const std::string& source_;
  const RunConfig* run_ = nullptr;
  const std::vector<std::size_t>* choice_ = nullptr;
  // (scheme, bias, sizes) already checked with InitConfig::check
  std::set<std::tuple<std::string, std::string, std::vector<Index>>> checked_;
};

std::vector<RunConfig> expand(const std::vector<Entry>& entries, const std::string& source) {
  std::size_t count = 1;
  std::vector<std::string> sizes;
  for (const Entry& e : entries) {
    if (!e.axis) continue;
    sizes.push_back(fmt::format("{} {}", e.key->dotted(), e.values.size()));
    count *= e.values.size();
    if (count > kMaxRuns) {
      throw SpecError(fmt::format("{}: the grid has more than {} runs (axes: {}): absurd", source,
                                  kMaxRuns, join(sizes, " x ")));
    }
  }
  RunChecker checker(entries, source);
  std::vector<RunConfig> runs;
  runs.reserve(count);
  std::vector<std::size_t> choice(entries.size(), 0);
  for (std::size_t r = 0; r < count; ++r) {
    // Mixed radix, the first axis slowest.
    std::size_t rest = r;
    for (std::size_t i = entries.size(); i-- > 0;) {
      if (!entries[i].axis) continue;
      choice[i] = rest % entries[i].values.size();
      rest /= entries[i].values.size();
    }
    RunConfig run;
    run.run_index = static_cast<long>(r);
    run.init.weights = Scheme::parse(run.scheme);  // RunConfig's default scheme, unless set
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const Value& value = entries[i].values[choice[i]];
      entries[i].key->apply(run, value);
      if (entries[i].axis) run.axes.emplace_back(entries[i].key->dotted(), axis_text(value));
    }
    checker.check(run, choice);
    runs.push_back(std::move(run));
  }
  return runs;
}

// ---------------------------------------------------------------------------------------------
// The resolved spec as TOML
// ---------------------------------------------------------------------------------------------

std::string entry_text(const Entry& e) {
  if (!e.axis) return toml_text(e.values.front());
  std::vector<std::string> items;
  for (const Value& v : e.values) items.push_back(toml_text(v));
  return fmt::format("[{}]", join(items));
}

std::vector<std::string> axis_keys(const std::vector<const Entry*>& entries) {
  std::vector<std::string> out;
  for (const Entry* e : entries) {
    if (e->axis) out.push_back(e->key->dotted());
  }
  return out;
}

// Top-level keys, then one [section] per table, keys in their order within each table. The
// tables come in order of appearance or, if that would reorder the axes, the tables holding axes
// first, in the order of their first axis. TOML puts every top-level key before the first table,
// so when neither keeps the axes in order (init.scheme written as a dotted key before seed, or
// axes of two tables interleaved), every key is written dotted at the top level, in order.
std::string resolved_text(const std::vector<Entry>& entries) {
  std::vector<const Entry*> in_order;
  in_order.reserve(entries.size());
  for (const Entry& e : entries) in_order.push_back(&e);
  for (const bool axes_first : {false, true}) {
    std::vector<std::string_view> sections{""};
    for (const bool axes_pass : {true, false}) {
      for (const Entry& e : entries) {
        if ((axes_pass && !(axes_first && e.axis)) ||
            std::find(sections.begin(), sections.end(), e.key->section) != sections.end()) {
          continue;
        }
        sections.push_back(e.key->section);
      }
    }
    std::vector<const Entry*> grouped;
    for (const std::string_view section : sections) {
      for (const Entry& e : entries) {
        if (e.key->section == section) grouped.push_back(&e);
      }
    }
    if (axis_keys(grouped) != axis_keys(in_order)) continue;
    std::string out;
    std::string_view current;
    for (const Entry* e : grouped) {
      if (e->key->section != current) {
        current = e->key->section;
        out += fmt::format("\n[{}]\n", current);
      }
      out += fmt::format("{} = {}\n", e->key->name, entry_text(*e));
    }
    return out;
  }
  std::string out;
  for (const Entry* e : in_order) out += fmt::format("{} = {}\n", e->key->dotted(), entry_text(*e));
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

namespace {

// Messages quote what the user wrote, which may hold line breaks (a TOML "\n" escape, toml++'s
// "saw '<newline>'"); errors are one line.
std::string one_line(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out;
}

Experiment parse(const std::string& text, const std::string& source, const SpecOptions& options) {
  const toml::table root = parse_toml(text, source);
  const Source file{source, true};
  std::map<std::string, std::string> headers;
  std::vector<Entry> entries = read_table(root, file, false, headers);
  check_alternatives(entries, "");

  // [quick] is read and checked always, applied only with options.quick.
  if (const toml::node* quick = root.get("quick")) {
    if (!quick->is_table()) {
      throw SpecError(fmt::format("{}: quick must be a table ([quick]), got {}",
                                  file.where(quick->source()), node_description(*quick)));
    }
    std::map<std::string, std::string> quick_headers;
    std::vector<Entry> quick_entries = read_table(*quick->as_table(), file, true, quick_headers);
    check_alternatives(quick_entries, "quick.");
    if (options.quick) merge(entries, std::move(quick_entries));
  }
  for (const std::string& text_override : options.overrides) {
    std::vector<Entry> one;
    one.push_back(read_override(text_override));
    merge(entries, std::move(one));
  }
  check_required(entries, source, headers);

  Experiment experiment;
  experiment.path = source;
  experiment.name = find_entry(entries, "name")->values.front().string();
  if (const Entry* d = find_entry(entries, "description")) {
    experiment.description = d->values.front().string();
  }
  for (const Entry& e : entries) {
    if (e.axis) experiment.axes.push_back(e.key->dotted());
  }
  experiment.runs = expand(entries, source);
  experiment.resolved = resolved_text(entries);
  experiment.has_quick = root.get("quick") != nullptr;
  return experiment;
}

}  // namespace

Experiment parse_experiment(const std::string& text, const std::string& source,
                            const SpecOptions& options) {
  try {
    return parse(text, source, options);
  } catch (const SpecError& e) {
    throw SpecError(one_line(e.what()));
  }
}

Experiment load_experiment(const std::string& path, const SpecOptions& options) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw SpecError(fmt::format("{}: cannot read: it is a directory", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SpecError(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw SpecError(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  return parse_experiment(text.str(), path, options);
}

}  // namespace initbench
