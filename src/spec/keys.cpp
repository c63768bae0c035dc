// keys.cpp: values, the checks of one value, and the key table: every key a spec may set, its
// kind, its check, and where it goes in a RunConfig.
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
#include <type_traits>
#include <variant>

#include "initbench/activation.hpp"
#include "initbench/data.hpp"
#include "initbench/init.hpp"
#include "initbench/loss.hpp"
#include "initbench/optimizer.hpp"
#include "initbench/probes.hpp"
#include "initbench/rng.hpp"
#include "initbench/text.hpp"
#include "internal.hpp"

namespace initbench::spec_internal {

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

// The value as runs.csv's setting columns show it: strings as written, numbers in their shortest
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
    std::string operator()(const std::vector<double>& x) const {
      if (x.empty()) return "none";
      std::vector<std::string> items;
      for (const double v : x) items.push_back(format_number(v));
      return join(items, "-");
    }
  };
  return std::visit(Visitor{}, value.data);
}

namespace {

std::string toml_string(const std::string& text) {
  std::ostringstream out;
  out << toml::value<std::string>(text);  // toml++ picks the quoting and escapes
  return out.str();
}

}  // namespace

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
    std::string operator()(const std::vector<double>& x) const {
      std::vector<std::string> items;
      items.reserve(x.size());
      for (const double v : x) items.push_back((*this)(v));
      return fmt::format("[{}]", join(items));
    }
  };
  return std::visit(Visitor{}, value.data);
}

// The value in a message: like axis_text, with strings quoted and lists bracketed.
std::string shown(const Value& value) {
  if (std::holds_alternative<std::string>(value.data)) return "'" + value.string() + "'";
  if (std::holds_alternative<std::vector<std::int64_t>>(value.data) ||
      std::holds_alternative<std::vector<std::string>>(value.data) ||
      std::holds_alternative<std::vector<double>>(value.data)) {
    return toml_text(value);
  }
  return axis_text(value);
}

// A setting's value as axis_text writes it (Key::read).
namespace {

template <typename Int, typename = std::enable_if_t<std::is_integral_v<Int>>>
std::string cell(Int x) {
  return fmt::format("{}", x);
}
std::string cell(double x) { return std::isnan(x) ? "" : format_number(x); }  // nan: not set
std::string cell(bool x) { return x ? "true" : "false"; }
// An empty list is a key left unset ("", where a spec's written `[]` shows "none").
std::string cell(const std::vector<std::string>& x) {
  return x.empty() ? "" : axis_text(Value{x, ""});
}
std::string cell(const std::vector<double>& x) { return x.empty() ? "" : axis_text(Value{x, ""}); }
template <typename Int>
std::string cell(const std::vector<Int>& x) {
  return x.empty() ? "" : axis_text(Value{std::vector<std::int64_t>(x.begin(), x.end()), ""});
}
// Sentinels of keys that are unset by default: numpy seeds (-1), sizes and lengths given by an
// alternative key (0).
std::string unset_below_zero(std::int64_t x) { return x < 0 ? "" : cell(x); }
std::string unset_below_one(long x) { return x < 1 ? "" : cell(x); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Checks of one value. Each throws std::invalid_argument saying what is allowed; the caller adds
// the place, the key and the value.
// ---------------------------------------------------------------------------------------------

[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument(what); }

namespace {

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
void singular_values(const Value& v) {
  const auto& s = v.numbers();
  for (std::size_t k = 0; k < s.size(); ++k) {
    if (!(std::isfinite(s[k]) && s[k] > 0))
      fail(fmt::format("value {} is {}: every singular value must be a finite number > 0", k + 1,
                       format_number(s[k])));
    if (k > 0 && !(s[k] < s[k - 1]))
      fail(
          fmt::format("values {} and {} are not strictly decreasing: list the modes from the "
                      "strongest down, each value once",
                      k, k + 1));
  }
}
void classes_count(const Value& v) {
  if (v.integer() == 1 || v.integer() < 0) fail("must be 0 (the data's own count) or >= 2");
  integer_in(v, 0, kMaxWidth);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The keys: every key a spec may set, its kind, its check, and where it goes in a RunConfig.
// ---------------------------------------------------------------------------------------------

const std::vector<std::string>& section_names() {
  static const std::vector<std::string> names{"data", "model", "init", "train", "probes"};
  return names;
}

namespace {

// A probe's own key (probes.hpp: ProbeKey) as an entry of the table: checked by its type and
// range, kept in ProbeConfig::settings by name.
Key probe_key(const ProbeKey& p) {
  using Type = ProbeKey::Type;
  const Kind kind = p.type == Type::kSwitch    ? Kind::kBool
                    : p.type == Type::kInteger ? Kind::kInteger
                                               : Kind::kNumber;
  Check check = [](const Value&) {};
  if (p.type == Type::kInteger) {
    const auto low = static_cast<std::int64_t>(p.min);
    const auto limit = static_cast<std::int64_t>(p.max);
    check = [low, limit](const Value& v) {
      if (limit > 0) {
        integer_in(v, low, limit);
      } else {
        at_least(v, low);
      }
    };
  } else if (p.type == Type::kNumber) {
    check = [low = p.min, limit = p.max](const Value& v) {
      if (!(std::isfinite(v.number()) && v.number() >= low))
        fail(fmt::format("must be a finite number >= {}", format_number(low)));
      if (limit > 0 && v.number() > limit)
        fail(fmt::format("absurd: the limit is {}", format_number(limit)));
    };
  }
  return {"probes",
          p.name,
          kind,
          true,
          check,
          [name = p.name, kind](RunConfig& r, const Value& v) {
            r.probes.set(name, kind == Kind::kBool      ? (v.boolean() ? 1.0 : 0.0)
                               : kind == Kind::kInteger ? static_cast<double>(v.integer())
                                                        : v.number());
          },
          [name = p.name, kind](const RunConfig& r) {
            const double x = r.probes.number(name);
            return kind == Kind::kBool      ? cell(x != 0)
                   : kind == Kind::kInteger ? cell(static_cast<std::int64_t>(x))
                                            : cell(x);
          }};
}

}  // namespace

// A table (about 180 lines): one entry per key a spec may set. The probes' own keys come from
// their registry entries (probes.cpp), after the keys every probe shares.
const std::vector<Key>& keys() {
  using R = RunConfig;
  using V = Value;
  auto none = [](const V&) {};
  static const std::vector<Key> table = [&] {
    std::vector<Key> fixed{
        {"", "name", Kind::kString, false, folder_name,
         [](R& r, const V& v) { r.experiment = v.string(); },
         [](const R& r) { return r.experiment; }},
        {"", "description", Kind::kString, false,
         [](const V& v) {
           if (v.string().find_first_of("\r\n") != std::string::npos) fail("must be one line");
         },
         [](R&, const V&) {}, nullptr},
        {"", "seed", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
         [](R& r, const V& v) { r.seed = static_cast<std::uint64_t>(v.integer()); },
         [](const R& r) { return cell(r.seed); }},

        {"data", "kind", Kind::kString, true,
         [](const V& v) { one_of(v, dataset_kinds(), "dataset kind"); },
         [](R& r, const V& v) { r.data.kind = v.string(); },
         [](const R& r) { return r.data.kind; }},
        {"data", "train", Kind::kInteger, true, [](const V& v) { integer_in(v, 1, kMaxSamples); },
         [](R& r, const V& v) { r.data.train = v.integer(); },
         [](const R& r) { return cell(r.data.train); }},
        {"data", "test", Kind::kInteger, true, [](const V& v) { integer_in(v, 0, kMaxSamples); },
         [](R& r, const V& v) { r.data.test = v.integer(); },
         [](const R& r) { return cell(r.data.test); }},
        {"data", "noise", Kind::kNumber, true, non_negative,
         [](R& r, const V& v) { r.data.noise = v.number(); },
         [](const R& r) { return cell(r.data.noise); }},
        {"data", "classes", Kind::kInteger, true, classes_count,
         [](R& r, const V& v) { r.data.classes = v.integer(); },
         [](const R& r) { return cell(r.data.classes); }},
        {"data", "factor", Kind::kNumber, true, fraction,
         [](R& r, const V& v) { r.data.factor = v.number(); },
         [](const R& r) { return cell(r.data.factor); }},
        {"data", "features", Kind::kInteger, true, [](const V& v) { integer_in(v, 1, kMaxWidth); },
         [](R& r, const V& v) { r.data.features = v.integer(); },
         [](const R& r) { return cell(r.data.features); }},
        {"data", "cluster_std", Kind::kNumber, true, non_negative,
         [](R& r, const V& v) { r.data.cluster_std = v.number(); },
         [](const R& r) { return cell(r.data.cluster_std); }},
        {"data", "center_box", Kind::kNumber, true, positive,
         [](R& r, const V& v) { r.data.center_box = v.number(); },
         [](const R& r) { return cell(r.data.center_box); }},
        {"data", "hidden", Kind::kInteger, true, [](const V& v) { integer_in(v, 0, kMaxWidth); },
         [](R& r, const V& v) { r.data.hidden = v.integer(); },
         [](const R& r) { return cell(r.data.hidden); }},
        {"data", "outputs", Kind::kInteger, true, [](const V& v) { integer_in(v, 1, kMaxWidth); },
         [](R& r, const V& v) { r.data.outputs = v.integer(); },
         [](const R& r) { return cell(r.data.outputs); }},
        {"data", "classify", Kind::kBool, true, none,
         [](R& r, const V& v) { r.data.classify = v.boolean(); },
         [](const R& r) { return cell(r.data.classify); }},
        {"data", "singular_values", Kind::kNumbers, true, singular_values,
         [](R& r, const V& v) { r.data.singular_values = v.numbers(); },
         [](const R& r) { return cell(r.data.singular_values); }},
        {"data", "whiten", Kind::kBool, true, none,
         [](R& r, const V& v) { r.data.whiten = v.boolean(); },
         [](const R& r) { return cell(r.data.whiten); }},
        {"data", "path", Kind::kString, true,
         [](const V& v) {
           if (v.string().empty()) fail("is empty");
         },
         [](R& r, const V& v) { r.data.path = v.string(); },
         [](const R& r) { return r.data.path; }},
        {"data", "test_path", Kind::kString, true, none,
         [](R& r, const V& v) { r.data.test_path = v.string(); },
         [](const R& r) { return r.data.test_path; }},
        {"data", "test_fraction", Kind::kNumber, true, fraction,
         [](R& r, const V& v) { r.data.test_fraction = v.number(); },
         [](const R& r) { return cell(r.data.test_fraction); }},
        {"data", "label", Kind::kString, true,
         [](const V& v) {
           if (trim(v.string()).empty()) fail("is empty");
         },
         [](R& r, const V& v) { r.data.label = v.string(); },
         [](const R& r) { return r.data.label; }},
        {"data", "targets", Kind::kStrings, true, column_names,
         [](R& r, const V& v) { r.data.targets = v.strings(); },
         [](const R& r) { return cell(r.data.targets); }},
        {"data", "limit_train", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
         [](R& r, const V& v) { r.data.limit_train = v.integer(); },
         [](const R& r) { return cell(r.data.limit_train); }},
        {"data", "limit_test", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
         [](R& r, const V& v) { r.data.limit_test = v.integer(); },
         [](const R& r) { return cell(r.data.limit_test); }},
        // Not an axis: runs.csv has the validation columns exactly when the split is on, and
        // every run of an experiment writes the same columns.
        {"data", "validation", Kind::kInteger, false,
         [](const V& v) { integer_in(v, 0, kMaxSamples); },
         [](R& r, const V& v) { r.data.validation = v.integer(); },
         [](const R& r) { return cell(r.data.validation); }},
        {"data", "standardize", Kind::kBool, true, none,
         [](R& r, const V& v) { r.data.standardize = v.boolean(); },
         [](const R& r) { return cell(r.data.standardize); }},
        {"data", "input_scale", Kind::kNumber, true, positive,
         [](R& r, const V& v) { r.data.input_scale = v.number(); },
         [](const R& r) { return cell(r.data.input_scale); }},
        {"data", "generator", Kind::kString, true, generator_name,
         [](R& r, const V& v) { r.data.generator = v.string(); },
         [](const R& r) { return r.data.generator; }},
        {"data", "numpy_seed", Kind::kInteger, true, numpy_seed_value,
         [](R& r, const V& v) { r.data.numpy_seed = v.integer(); },
         [](const R& r) { return unset_below_zero(r.data.numpy_seed); }},
        {"data", "numpy_test_seed", Kind::kInteger, true, numpy_seed_value,
         [](R& r, const V& v) { r.data.numpy_test_seed = v.integer(); },
         [](const R& r) { return unset_below_zero(r.data.numpy_test_seed); }},

        {"model", "layers", Kind::kIntegers, true, layer_sizes,
         [](R& r, const V& v) { r.model.layers.assign(v.integers().begin(), v.integers().end()); },
         [](const R& r) { return cell(r.model.layers); }},
        {"model", "depth", Kind::kInteger, true, [](const V& v) { integer_in(v, 1, kMaxDepth); },
         [](R& r, const V& v) { r.model.depth = v.integer(); },
         [](const R& r) { return unset_below_one(r.model.depth); }},
        {"model", "width", Kind::kInteger, true, [](const V& v) { integer_in(v, 1, kMaxWidth); },
         [](R& r, const V& v) { r.model.width = v.integer(); },
         [](const R& r) { return unset_below_one(r.model.width); }},
        {"model", "residual", Kind::kBool, true, none,
         [](R& r, const V& v) { r.model.residual = v.boolean(); },
         [](const R& r) { return cell(r.model.residual); }},
        {"model", "block_depth", Kind::kInteger, true,
         [](const V& v) {
           if (v.integer() < 1 || v.integer() > 2)
             fail("must be 1 or 2 (dense layers per residual branch)");
         },
         [](R& r, const V& v) { r.model.block_depth = v.integer(); },
         [](const R& r) { return cell(r.model.block_depth); }},
        {"model", "activation", Kind::kString, true,
         [](const V& v) { Activation::parse(v.string()); },
         [](R& r, const V& v) { r.model.activation = Activation::parse(v.string()); },
         [](const R& r) { return r.model.activation.str(); }},
        {"model", "norm", Kind::kString, true, [](const V& v) { one_of(v, norm_names(), "norm"); },
         [](R& r, const V& v) { r.model.norm = parse_norm(v.string()); },
         [](const R& r) { return norm_name(r.model.norm); }},
        {"model", "output", Kind::kString, true, [](const V& v) { parse_output(v.string()); },
         [](R& r, const V& v) { r.model.output = parse_output(v.string()); },
         [](const R& r) { return output_name(r.model.output); }},
        {"model", "precision", Kind::kString, true,
         [](const V& v) {
           one_of(v, {"float", "double"}, "precision");
         },
         [](R& r, const V& v) {
           r.model.precision = v.string() == "double" ? Precision::kDouble : Precision::kFloat;
         },
         [](const R& r) {
           return std::string(r.model.precision == Precision::kDouble ? "double" : "float");
         }},

        {"model", "parametrization", Kind::kString, true,
         [](const V& v) { one_of(v, parametrization_names(), "parametrization"); },
         [](R& r, const V& v) { r.model.parametrization = parse_parametrization(v.string()); },
         [](const R& r) { return parametrization_name(r.model.parametrization); }},
        {"model", "base_width", Kind::kInteger, true,
         [](const V& v) { integer_in(v, 1, kMaxWidth); },
         [](R& r, const V& v) { r.model.base_width = v.integer(); },
         [](const R& r) { return unset_below_one(r.model.base_width); }},

        {"init", "scheme", Kind::kString, true, [](const V& v) { Scheme::parse(v.string()); },
         [](R& r, const V& v) {
           r.scheme = v.string();
           r.init.weights = Scheme::parse(v.string());
         },
         [](const R& r) { return r.scheme; }},
        {"init", "bias", Kind::kString, true, bias_scheme,
         [](R& r, const V& v) { r.init.bias_text = v.string(); },
         [](const R& r) {
           return r.init.bias_text.empty() ? std::string("default") : r.init.bias_text;
         }},
        {"init", "scale", Kind::kNumber, true, positive,
         [](R& r, const V& v) { r.init.scale = v.number(); },
         [](const R& r) { return cell(r.init.scale); }},
        {"init", "generator", Kind::kString, true, generator_name,
         [](R& r, const V& v) { r.init.generator = v.string(); },
         [](const R& r) { return r.init.generator; }},
        {"init", "numpy_seed", Kind::kInteger, true, numpy_seed_value,
         [](R& r, const V& v) { r.init.numpy_seed = v.integer(); },
         [](const R& r) { return unset_below_zero(r.init.numpy_seed); }},

        {"train", "optimizer", Kind::kString, true, [](const V& v) { parse_optimizer(v.string()); },
         [](R& r, const V& v) { r.train.optimizer.kind = parse_optimizer(v.string()); },
         [](const R& r) { return optimizer_name(r.train.optimizer.kind); }},
        {"train", "lr", Kind::kNumber, true, positive,
         [](R& r, const V& v) { r.train.optimizer.lr = v.number(); },
         [](const R& r) { return cell(r.train.optimizer.lr); }},
        {"train", "momentum", Kind::kNumber, true, fraction,
         [](R& r, const V& v) { r.train.optimizer.momentum = v.number(); },
         [](const R& r) { return cell(r.train.optimizer.momentum); }},
        {"train", "beta1", Kind::kNumber, true, fraction,
         [](R& r, const V& v) { r.train.optimizer.beta1 = v.number(); },
         [](const R& r) { return cell(r.train.optimizer.beta1); }},
        {"train", "beta2", Kind::kNumber, true, fraction,
         [](R& r, const V& v) { r.train.optimizer.beta2 = v.number(); },
         [](const R& r) { return cell(r.train.optimizer.beta2); }},
        {"train", "eps", Kind::kNumber, true, positive,
         [](R& r, const V& v) { r.train.optimizer.eps = v.number(); },
         [](const R& r) { return cell(r.train.optimizer.eps); }},
        {"train", "weight_decay", Kind::kNumber, true, non_negative,
         [](R& r, const V& v) { r.train.optimizer.weight_decay = v.number(); },
         [](const R& r) { return cell(r.train.optimizer.weight_decay); }},
        {"train", "batch", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
         [](R& r, const V& v) { r.train.batch = v.integer(); },
         [](const R& r) { return cell(r.train.batch); }},
        {"train", "steps", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
         [](R& r, const V& v) { r.train.steps = v.integer(); },
         [](const R& r) { return unset_below_one(r.train.steps); }},
        {"train", "epochs", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
         [](R& r, const V& v) { r.train.epochs = v.integer(); },
         [](const R& r) { return unset_below_one(r.train.epochs); }},
        {"train", "eval_every", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
         [](R& r, const V& v) { r.train.eval_every = v.integer(); },
         [](const R& r) { return cell(r.train.eval_every); }},
        {"train", "target_loss", Kind::kNumber, true, non_negative,
         [](R& r, const V& v) { r.train.target_loss = v.number(); },
         [](const R& r) { return cell(r.train.target_loss); }},
        {"train", "target_accuracy", Kind::kNumber, true,
         [](const V& v) {
           if (!(v.number() >= 0 && v.number() <= 1)) fail("must be in [0, 1]");
         },
         [](R& r, const V& v) { r.train.target_accuracy = v.number(); },
         [](const R& r) { return cell(r.train.target_accuracy); }},
        {"train", "stop_at_target", Kind::kBool, true, none,
         [](R& r, const V& v) { r.train.stop_at_target = v.boolean(); },
         [](const R& r) { return cell(r.train.stop_at_target); }},
        {"train", "stall_window", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
         [](R& r, const V& v) { r.train.stall_window = v.integer(); },
         [](const R& r) { return cell(r.train.stall_window); }},
        {"train", "stall_tolerance", Kind::kNumber, true, non_negative,
         [](R& r, const V& v) { r.train.stall_tolerance = v.number(); },
         [](const R& r) { return cell(r.train.stall_tolerance); }},
        {"train", "stop_on_stall", Kind::kBool, true, none,
         [](R& r, const V& v) { r.train.stop_on_stall = v.boolean(); },
         [](const R& r) { return cell(r.train.stop_on_stall); }},

        {"probes", "every", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
         [](R& r, const V& v) { r.probes.every = v.integer(); },
         [](const R& r) { return cell(r.probes.every); }},
        {"probes", "schedule", Kind::kString, true,
         [](const V& v) {
           one_of(v, {"every", "log"}, "schedule");
         },
         [](R& r, const V& v) { r.probes.log_schedule = v.string() == "log"; },
         [](const R& r) { return std::string(r.probes.log_schedule ? "log" : "every"); }},
        {"probes", "batch", Kind::kInteger, true, [](const V& v) { at_least(v, 0); },
         [](R& r, const V& v) { r.probes.batch = v.integer(); },
         [](const R& r) { return cell(r.probes.batch); }},
        {"probes", "dump_weights", Kind::kIntegers, true, dump_steps,
         [](R& r, const V& v) {
           r.probes.dump_weights.assign(v.integers().begin(), v.integers().end());
         },
         [](const R& r) { return cell(r.probes.dump_weights); }},
    };
    const auto shared_end = fixed.end() - 1;  // dump_weights comes after the probes' own keys
    std::vector<Key> own;
    for (const Probe& probe : probe_registry()) {
      for (const ProbeKey& key : probe.keys) own.push_back(probe_key(key));
    }
    fixed.insert(shared_end, own.begin(), own.end());
    return fixed;
  }();
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

const std::vector<Alternative>& alternatives() {
  static const std::vector<Alternative> pairs{
      {"model.layers", "model.depth", "give layers = [n_0, ..., n_L], or depth and width"},
      {"model.layers", "model.width", "give layers = [n_0, ..., n_L], or depth and width"},
      {"train.steps", "train.epochs", "give one of them"},
  };
  return pairs;
}

}  // namespace initbench::spec_internal
