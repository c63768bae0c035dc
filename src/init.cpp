#include "initbench/init.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <optional>
#include <stdexcept>

#include "initbench/rng.hpp"
#include "initbench/text.hpp"

namespace initbench {

// ---------------------------------------------------------------------------------------------
// Gains
// ---------------------------------------------------------------------------------------------

double calculate_gain(const Activation& act) {
  const ActivationTraits& traits = act.traits();
  if (traits.gain != nullptr) return traits.gain(act.param);
  std::vector<std::string> with_gain;
  for (const auto& entry : activation_registry()) {
    if (entry.gain != nullptr) with_gain.emplace_back(entry.name);
  }
  throw std::invalid_argument(
      fmt::format("no standard gain for '{}' (PyTorch's calculate_gain has gains for {}); give "
                  "the gain as a number",
                  act.name(), join(with_gain)));
}

// ---------------------------------------------------------------------------------------------
// Sampling helpers. Entries are drawn row by row (unit by unit), in double.
// ---------------------------------------------------------------------------------------------

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

template <typename Draw>
Matrix<double> fill(Index rows, Index cols, Draw draw) {
  Matrix<double> out(rows, cols);
  for (Index i = 0; i < rows; ++i) {
    for (Index j = 0; j < cols; ++j) out(i, j) = draw();
  }
  return out;
}

Matrix<double> uniform(Index rows, Index cols, double low, double high, Rng& rng) {
  return fill(rows, cols, [&] { return rng.uniform(low, high); });
}

Matrix<double> normal(Index rows, Index cols, double mean, double stddev, Rng& rng) {
  return fill(rows, cols, [&] { return rng.normal(mean, stddev); });
}

// N(mean, stddev^2) conditioned on [low, high], by redrawing: the variance is that of the
// truncated distribution (no correction), as PyTorch's trunc_normal_ and Keras' TruncatedNormal.
Matrix<double> truncated_normal(Index rows, Index cols, double mean, double stddev, double low,
                                double high, Rng& rng) {
  return fill(rows, cols, [&] {
    for (;;) {
      const double x = rng.normal(mean, stddev);
      if (x >= low && x <= high) return x;
    }
  });
}

double fan_for_mode(const std::string& mode, Index fan_in, Index fan_out) {
  if (mode == "fan_in") return static_cast<double>(fan_in);
  if (mode == "fan_out") return static_cast<double>(fan_out);
  return 0.5 * static_cast<double>(fan_in + fan_out);  // fan_avg
}

// Keras' correction: the std of a standard normal truncated to [-2, 2] is 0.87962566103423978,
// so dividing by it before truncating restores the target variance.
constexpr double kTruncatedStd = 0.87962566103423978;

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

double square(double x) { return x * x; }

// Variance of N(mean, stddev^2) truncated to [low, high]: stddev^2 (1 + (a phi(a) - b phi(b)) / Z
// - ((phi(a) - phi(b)) / Z)^2), a and b the standardised bounds, Z = Phi(b) - Phi(a).
double truncated_variance(double mean, double stddev, double low, double high) {
  const double a = (low - mean) / stddev;
  const double b = (high - mean) / stddev;
  const auto phi = [](double x) {
    return std::exp(-0.5 * x * x) / std::sqrt(2.0 * std::numbers::pi);
  };
  const double z = normal_cdf(b) - normal_cdf(a);
  const double pa = std::isfinite(a) ? a * phi(a) : 0.0;
  const double pb = std::isfinite(b) ? b * phi(b) : 0.0;
  const double shift = (phi(a) - phi(b)) / z;
  return stddev * stddev * (1.0 + (pa - pb) / z - shift * shift);
}

// ---------------------------------------------------------------------------------------------
// The schemes. Each sampler gets the parsed scheme, the fans, and the layer's generator.
// ---------------------------------------------------------------------------------------------

using Sampler = Matrix<double> (*)(const Scheme&, Index rows, Index cols, Index fan_in,
                                   Index fan_out, Rng&);

// Var(w) of one entry of a (fan_out, fan_in) matrix the scheme samples, before init.scale:
// E[w^2] - E[w]^2 over the distribution (nan where it depends on the data).
using Variance = double (*)(const Scheme&, Index fan_in, Index fan_out);

struct Entry {
  SchemeInfo info;
  Sampler sample;
  Variance variance;
};

ParamInfo number(std::string name, std::string default_value, std::string description) {
  return {
      std::move(name), ParamType::kNumber, std::move(default_value), {}, std::move(description)};
}
ParamInfo integer(std::string name, std::string default_value, std::string description) {
  return {
      std::move(name), ParamType::kInteger, std::move(default_value), {}, std::move(description)};
}
ParamInfo gain(std::string default_value = "1") {
  return {"gain",
          ParamType::kGain,
          std::move(default_value),
          {},
          "multiplies the standard deviation; a number or an activation name (calculate_gain)"};
}
ParamInfo mode(std::vector<std::string> choices = {"fan_in", "fan_out"}) {
  return {"mode", ParamType::kChoice, "fan_in", std::move(choices), "which fan n is"};
}

// Each entry names only the fields it sets; the rest keep SchemeInfo's defaults. GCC 12 warns
// about exactly that (-Wmissing-field-initializers), which is the point of designated
// initializers here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
const std::vector<Entry>& registry() {
  static const std::vector<Entry> entries = [] {
    std::vector<Entry> e;
    auto add = [&](SchemeInfo info, Sampler sampler, Variance variance) {
      e.push_back({std::move(info), sampler, variance});
    };

    add(
        {.name = "zeros",
         .formula = "0",
         .source = "the course's symmetric baseline; Keras Zeros, PyTorch zeros_",
         .random = false},
        [](const Scheme&, Index r, Index c, Index, Index, Rng&) -> Matrix<double> {
          return Matrix<double>::Zero(r, c);
        },
        [](const Scheme&, Index, Index) { return 0.0; });
    add(
        {.name = "ones", .formula = "1", .source = "Keras Ones, PyTorch ones_", .random = false},
        [](const Scheme&, Index r, Index c, Index, Index, Rng&) -> Matrix<double> {
          return Matrix<double>::Ones(r, c);
        },
        [](const Scheme&, Index, Index) { return 0.0; });
    add(
        {.name = "constant",
         .params = {number("value", "", "every entry")},
         .formula = "value",
         .source = "Keras Constant, PyTorch constant_",
         .random = false,
         .example = "constant(value=0.1)"},
        [](const Scheme& s, Index r, Index c, Index, Index, Rng&) -> Matrix<double> {
          return Matrix<double>::Constant(r, c, s.number("value"));
        },
        [](const Scheme&, Index, Index) { return 0.0; });
    add(
        {.name = "uniform",
         .params = {number("low", "", "lower bound"), number("high", "", "upper bound")},
         .formula = "U(low, high)",
         .source = "Keras RandomUniform, PyTorch uniform_",
         .example = "uniform(low=-0.05, high=0.05)"},
        [](const Scheme& s, Index r, Index c, Index, Index, Rng& rng) {
          return uniform(r, c, s.number("low"), s.number("high"), rng);
        },
        [](const Scheme& s, Index, Index) {
          return square(s.number("high") - s.number("low")) / 12.0;
        });
    add(
        {.name = "normal",
         .params = {number("mean", "0", "mean"),
                    number("stddev", "", "standard deviation (not the variance)")},
         .formula =
             "N(mean, stddev^2); the course's small random is normal(stddev=0.01), large random "
             "normal(stddev=10)",
         .source = "Keras RandomNormal, PyTorch normal_, numpy randn * stddev",
         .example = "normal(stddev=0.01)"},
        [](const Scheme& s, Index r, Index c, Index, Index, Rng& rng) {
          return normal(r, c, s.number("mean"), s.number("stddev"), rng);
        },
        [](const Scheme& s, Index, Index) { return square(s.number("stddev")); });
    add(
        {.name = "truncated_normal",
         .params = {number("mean", "0", "mean before truncation"),
                    number("stddev", "", "standard deviation before truncation"),
                    number("low", "auto", "absolute lower bound; default mean - 2 stddev"),
                    number("high", "auto", "absolute upper bound; default mean + 2 stddev")},
         .formula = "N(mean, stddev^2) redrawn outside [low, high]; no variance correction",
         .source =
             "PyTorch trunc_normal_ (absolute bounds), Keras TruncatedNormal (bounds mean +- 2 "
             "stddev)",
         .example = "truncated_normal(stddev=0.1)"},
        [](const Scheme& s, Index r, Index c, Index, Index, Rng& rng) {
          return truncated_normal(r, c, s.number("mean"), s.number("stddev"), s.number("low"),
                                  s.number("high"), rng);
        },
        [](const Scheme& s, Index, Index) {
          return truncated_variance(s.number("mean"), s.number("stddev"), s.number("low"),
                                    s.number("high"));
        });
    add(
        {.name = "glorot_uniform",
         .params = {gain()},
         .formula = "U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))",
         .source = "Glorot & Bengio 2010 (\"normalized\" init); PyTorch xavier_uniform_, Keras "
                   "GlorotUniform"},
        [](const Scheme& s, Index r, Index c, Index fi, Index fo, Rng& rng) {
          const double a = s.number("gain") * std::sqrt(6.0 / static_cast<double>(fi + fo));
          return uniform(r, c, -a, a, rng);
        },
        [](const Scheme& s, Index fi, Index fo) {
          return square(s.number("gain")) * 2.0 / static_cast<double>(fi + fo);
        });
    add(
        {.name = "glorot_normal",
         .params = {gain()},
         .formula = "N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out)), untruncated",
         .source = "Glorot & Bengio 2010; PyTorch xavier_normal_ (Keras GlorotNormal truncates: "
                   "variance_scaling(scale=1, "
                   "mode=fan_avg, distribution=truncated_normal))"},
        [](const Scheme& s, Index r, Index c, Index fi, Index fo, Rng& rng) {
          return normal(r, c, 0.0, s.number("gain") * std::sqrt(2.0 / static_cast<double>(fi + fo)),
                        rng);
        },
        [](const Scheme& s, Index fi, Index fo) {
          return square(s.number("gain")) * 2.0 / static_cast<double>(fi + fo);
        });
    add(
        {.name = "lecun_uniform",
         .formula = "U(-a, a), a = sqrt(3 / fan_in)",
         .source = "LeCun et al. 1998; Keras LecunUniform"},
        [](const Scheme&, Index r, Index c, Index fi, Index, Rng& rng) {
          const double a = std::sqrt(3.0 / static_cast<double>(fi));
          return uniform(r, c, -a, a, rng);
        },
        [](const Scheme&, Index fi, Index) { return 1.0 / static_cast<double>(fi); });
    add(
        {.name = "lecun_normal",
         .formula = "N(0, s^2), s = sqrt(1 / fan_in), untruncated",
         .source =
             "LeCun et al. 1998; the course article's \"Xavier\" code randn * sqrt(1/n_in) (Keras "
             "LecunNormal "
             "truncates: variance_scaling(scale=1, mode=fan_in, distribution=truncated_normal))"},
        [](const Scheme&, Index r, Index c, Index fi, Index, Rng& rng) {
          return normal(r, c, 0.0, std::sqrt(1.0 / static_cast<double>(fi)), rng);
        },
        [](const Scheme&, Index fi, Index) { return 1.0 / static_cast<double>(fi); });
    auto he_gain = ParamInfo{"slope",
                             ParamType::kNumber,
                             "0",
                             {},
                             "negative slope of the leaky ReLU; gain = sqrt(2 / (1 + slope^2))"};
    add(
        {.name = "he_uniform",
         .params = {mode(), he_gain},
         .formula = "U(-a, a), a = gain * sqrt(3 / fan), gain = sqrt(2 / (1 + slope^2))",
         .source = "He et al. 2015; PyTorch kaiming_uniform_, Keras HeUniform"},
        [](const Scheme& s, Index r, Index c, Index fi, Index fo, Rng& rng) {
          const double slope = s.number("slope");
          const double g = std::sqrt(2.0 / (1.0 + slope * slope));
          const double a = g * std::sqrt(3.0 / fan_for_mode(s.choice("mode"), fi, fo));
          return uniform(r, c, -a, a, rng);
        },
        [](const Scheme& s, Index fi, Index fo) {
          return 2.0 / (1.0 + square(s.number("slope"))) / fan_for_mode(s.choice("mode"), fi, fo);
        });
    add(
        {.name = "he_normal",
         .params = {mode(), he_gain},
         .formula = "N(0, s^2), s = gain / sqrt(fan), gain = sqrt(2 / (1 + slope^2)), untruncated",
         .source = "He et al. 2015; PyTorch kaiming_normal_ (Keras HeNormal truncates: "
                   "variance_scaling(scale=2, "
                   "mode=fan_in, distribution=truncated_normal))"},
        [](const Scheme& s, Index r, Index c, Index fi, Index fo, Rng& rng) {
          const double slope = s.number("slope");
          const double g = std::sqrt(2.0 / (1.0 + slope * slope));
          return normal(r, c, 0.0, g / std::sqrt(fan_for_mode(s.choice("mode"), fi, fo)), rng);
        },
        [](const Scheme& s, Index fi, Index fo) {
          return 2.0 / (1.0 + square(s.number("slope"))) / fan_for_mode(s.choice("mode"), fi, fo);
        });
    add(
        {.name = "variance_scaling",
         .params = {number("scale", "1", "target variance times n"),
                    mode({"fan_in", "fan_out", "fan_avg"}),
                    ParamInfo{"distribution",
                              ParamType::kChoice,
                              "truncated_normal",
                              {"truncated_normal", "untruncated_normal", "uniform", "normal"},
                              "normal is Keras' alias of truncated_normal"}},
         .formula = "n = fan_in, fan_out or (fan_in + fan_out) / 2; uniform: U(-a, a), a = sqrt(3 "
                    "scale / n); "
                    "untruncated_normal: N(0, scale / n); truncated_normal: s = sqrt(scale / n) / "
                    "0.87962566103423978, "
                    "redrawn outside +-2s",
         .source = "Keras and JAX VarianceScaling"},
        [](const Scheme& s, Index r, Index c, Index fi, Index fo, Rng& rng) {
          const double n = fan_for_mode(s.choice("mode"), fi, fo);
          const double scale = s.number("scale");
          const std::string& dist = s.choice("distribution");
          if (dist == "uniform") {
            const double a = std::sqrt(3.0 * scale / n);
            return uniform(r, c, -a, a, rng);
          }
          if (dist == "untruncated_normal") return normal(r, c, 0.0, std::sqrt(scale / n), rng);
          const double sd = std::sqrt(scale / n) / kTruncatedStd;
          return truncated_normal(r, c, 0.0, sd, -2.0 * sd, 2.0 * sd, rng);
        },
        [](const Scheme& s, Index fi, Index fo) {
          return s.number("scale") / fan_for_mode(s.choice("mode"), fi, fo);
        });
    add(
        {.name = "glorot_standard",
         .formula = "U(-a, a), a = 1 / sqrt(fan_in); Var = 1 / (3 fan_in)",
         .source = "Glorot & Bengio 2010's \"standard\" baseline; PyTorch nn.Linear's default "
                   "weight init"},
        [](const Scheme&, Index r, Index c, Index fi, Index, Rng& rng) {
          const double a = 1.0 / std::sqrt(static_cast<double>(fi));
          return uniform(r, c, -a, a, rng);
        },
        [](const Scheme&, Index fi, Index) { return 1.0 / (3.0 * static_cast<double>(fi)); });
    add(
        {.name = "torch_default",
         .formula = "weights and bias U(-a, a), a = 1 / sqrt(fan_in)",
         .source =
             "PyTorch nn.Linear.reset_parameters (kaiming_uniform_(a=sqrt(5)) and its bias rule)"},
        [](const Scheme&, Index r, Index c, Index fi, Index, Rng& rng) {
          const double a = 1.0 / std::sqrt(static_cast<double>(fi));
          return uniform(r, c, -a, a, rng);
        },
        [](const Scheme&, Index fi, Index) { return 1.0 / (3.0 * static_cast<double>(fi)); });
    add(
        {.name = "orthogonal",
         .params = {gain()},
         .formula = "gain * Q, Q from the QR of an N(0, 1) matrix (transposed when fan_out < "
                    "fan_in), Q *= "
                    "sign(diag R)",
         .source = "Saxe et al. 2014; PyTorch orthogonal_, Keras Orthogonal",
         .random = true,
         .for_bias = false},
        [](const Scheme& s, Index r, Index c, Index, Index, Rng& rng) -> Matrix<double> {
          return s.number("gain") * random_orthogonal(r, c, rng);
        },
        [](const Scheme& s, Index fi, Index fo) {
          // each unit-norm row (fan_out <= fan_in) or column (fan_out >= fan_in) spreads 1 over
          // max(fan_in, fan_out) entries
          return square(s.number("gain")) / static_cast<double>(std::max(fi, fo));
        });
    add(
        {.name = "identity",
         .params = {gain()},
         .formula = "gain * I (square layers only)",
         .source = "Keras Identity, PyTorch eye_ (Le et al. 2015)",
         .random = false,
         .for_bias = false},
        [](const Scheme& s, Index r, Index c, Index, Index, Rng&) -> Matrix<double> {
          return s.number("gain") * Matrix<double>::Identity(r, c);
        },
        [](const Scheme& s, Index fi, Index) {
          const auto n = static_cast<double>(fi);  // square: n ones on the diagonal of n x n
          return square(s.number("gain")) * (1.0 / n - 1.0 / (n * n));
        });
    add(
        {.name = "sparse",
         .params = {integer("nonzero", "15",
                            "nonzero incoming weights per unit (all of them if fan_in is smaller)"),
                    number("stddev", "1", "standard deviation of the nonzero weights")},
         .formula = "each unit: min(nonzero, fan_in) incoming weights N(0, stddev^2) at random "
                    "inputs, the "
                    "rest 0",
         .source = "Martens 2010 (sparse initialization, k = 15)",
         .random = true,
         .for_bias = false},
        [](const Scheme& s, Index r, Index c, Index, Index, Rng& rng) -> Matrix<double> {
          const auto k = std::min<Index>(static_cast<Index>(s.number("nonzero")), c);
          const double sd = s.number("stddev");
          Matrix<double> out = Matrix<double>::Zero(r, c);
          std::vector<Index> inputs(static_cast<std::size_t>(c));
          for (Index i = 0; i < r; ++i) {
            std::iota(inputs.begin(), inputs.end(), Index{0});
            for (Index t = 0; t < k;
                 ++t) {  // partial Fisher-Yates: the first k of a random permutation
              const auto pick =
                  t + static_cast<Index>(rng.below(static_cast<std::uint64_t>(c - t)));
              std::swap(inputs[static_cast<std::size_t>(t)],
                        inputs[static_cast<std::size_t>(pick)]);
              out(i, inputs[static_cast<std::size_t>(t)]) = rng.normal(0.0, sd);
            }
          }
          return out;
        },
        [](const Scheme& s, Index fi, Index) {
          const auto k = std::min<double>(s.number("nonzero"), static_cast<double>(fi));
          return square(s.number("stddev")) * k / static_cast<double>(fi);
        });
    add(
        {.name = "torch_sparse",
         .params = {number("sparsity", "", "fraction of each column set to zero, in [0, 1)"),
                    number("stddev", "0.01", "standard deviation of the weights")},
         .formula = "N(0, stddev^2), then ceil(sparsity * fan_out) random entries of each column "
                    "(input) set "
                    "to 0",
         .source = "PyTorch sparse_",
         .random = true,
         .for_bias = false,
         .example = "torch_sparse(sparsity=0.9)"},
        [](const Scheme& s, Index r, Index c, Index, Index, Rng& rng) -> Matrix<double> {
          Matrix<double> out = normal(r, c, 0.0, s.number("stddev"), rng);
          const auto zeros =
              static_cast<Index>(std::ceil(s.number("sparsity") * static_cast<double>(r)));
          std::vector<Index> units(static_cast<std::size_t>(r));
          for (Index j = 0; j < c; ++j) {
            std::iota(units.begin(), units.end(), Index{0});
            for (Index t = 0; t < zeros; ++t) {
              const auto pick =
                  t + static_cast<Index>(rng.below(static_cast<std::uint64_t>(r - t)));
              std::swap(units[static_cast<std::size_t>(t)], units[static_cast<std::size_t>(pick)]);
              out(units[static_cast<std::size_t>(t)], j) = 0.0;
            }
          }
          return out;
        },
        [](const Scheme& s, Index, Index fo) {
          const auto n = static_cast<double>(fo);
          const double zeros = std::ceil(s.number("sparsity") * n);
          return square(s.number("stddev")) * (n - zeros) / n;
        });
    add(
        {.name = "lsuv",
         .params = {number("tol", "0.1", "stop when |Var(z_l) - 1| < tol"),
                    integer("max_iter", "10", "iterations per layer")},
         .formula = "orthogonal pre-init, then per layer in order W_l /= sqrt(Var(z_l on a batch)) "
                    "until |Var "
                    "- 1| < tol",
         .source = "Mishkin & Matas 2016 (layer-sequential unit-variance)",
         .random = true,
         .for_bias = false,
         .data_dependent = true},
        [](const Scheme&, Index r, Index c, Index, Index, Rng& rng) -> Matrix<double> {
          return random_orthogonal(r, c, rng);
        },
        [](const Scheme&, Index, Index) { return kNan; });  // depends on the data
    return e;
  }();
  return entries;
}
#pragma GCC diagnostic pop

const Entry& find_entry(const SchemeInfo* info) {
  for (const auto& entry : registry()) {
    if (&entry.info == info) return entry;
  }
  throw std::logic_error("scheme not in the registry");
}

}  // namespace

const std::vector<SchemeInfo>& schemes() {
  static const std::vector<SchemeInfo> infos = [] {
    std::vector<SchemeInfo> out;
    for (const auto& entry : registry()) out.push_back(entry.info);
    return out;
  }();
  return infos;
}

std::vector<std::string> scheme_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.info.name);
  return names;
}

// ---------------------------------------------------------------------------------------------
// Scheme: parsing and range checks
// ---------------------------------------------------------------------------------------------

Scheme::Scheme() : info_(&registry().front().info), text_("zeros") {}

double Scheme::number(std::string_view param) const {
  for (const auto& [key, value] : values_) {
    if (key != param) continue;
    if (auto x = parse_double(value)) return *x;
    return calculate_gain(Activation::parse(value));  // a gain given as an activation name
  }
  throw std::logic_error(fmt::format("scheme {} has no parameter {}", name(), param));
}

double Scheme::variance(Index fan_in, Index fan_out) const {
  for (const auto& entry : registry()) {
    if (&entry.info == info_) return entry.variance(*this, fan_in, fan_out);
  }
  throw std::logic_error("scheme not in the registry");
}

const std::string& Scheme::choice(std::string_view param) const {
  for (const auto& [key, value] : values_) {
    if (key == param) return value;
  }
  throw std::logic_error(fmt::format("scheme {} has no parameter {}", name(), param));
}

namespace {

// Other libraries' names for the schemes: `target` where the definitions agree (parameters are
// then ours: he_normal's `slope`, not kaiming_normal_'s `a`), else a hint at what to write.
struct Alias {
  std::string_view name;
  std::string_view target;
  std::string_view hint;
};
constexpr Alias kAliases[] = {
    {"xavier_uniform", "glorot_uniform", ""},
    {"xavier_normal", "glorot_normal", ""},
    {"kaiming_uniform", "he_uniform", ""},
    {"kaiming_normal", "he_normal", ""},
    {"eye", "identity", ""},
    {"GlorotUniform", "glorot_uniform", ""},
    {"HeUniform", "he_uniform", ""},
    {"LecunUniform", "lecun_uniform", ""},
    {"Orthogonal", "orthogonal", ""},
    {"Identity", "identity", ""},
    {"Zeros", "zeros", ""},
    {"Ones", "ones", ""},
    {"Constant", "constant", ""},
    {"VarianceScaling", "variance_scaling", ""},
    {"RandomUniform", "uniform", ""},
    {"RandomNormal", "normal", ""},
    {"TruncatedNormal", "truncated_normal", ""},
    {"trunc_normal", "",
     "PyTorch's trunc_normal_(std=s, a=lo, b=hi) is truncated_normal(stddev=s, low=lo, high=hi) "
     "(PyTorch's bounds are absolute, -2 and 2 by default)"},
    {"GlorotNormal", "",
     "Keras' GlorotNormal draws from a truncated normal: variance_scaling(scale=1, mode=fan_avg, "
     "distribution=truncated_normal); glorot_normal is PyTorch's untruncated xavier_normal_"},
    {"HeNormal", "",
     "Keras' HeNormal draws from a truncated normal: variance_scaling(scale=2, mode=fan_in, "
     "distribution=truncated_normal); he_normal is PyTorch's untruncated kaiming_normal_"},
    {"LecunNormal", "",
     "Keras' LecunNormal draws from a truncated normal: variance_scaling(scale=1, mode=fan_in, "
     "distribution=truncated_normal); lecun_normal is untruncated"},
};

}  // namespace

Scheme Scheme::parse(std::string_view text) {
  const Call call = parse_call(text);
  std::string_view name = call.name;
  for (const Alias& alias : kAliases) {
    if (alias.name != name) continue;
    if (alias.target.empty()) {
      throw std::invalid_argument(
          fmt::format("scheme '{}' is not one of ours as it stands: {}", alias.name, alias.hint));
    }
    name = alias.target;
  }
  const Entry* entry = nullptr;
  for (const auto& e : registry()) {
    if (e.info.name == name) entry = &e;
  }
  if (entry == nullptr) {
    throw std::invalid_argument(fmt::format("unknown scheme '{}'{}; allowed: {}", call.name,
                                            did_you_mean(call.name, scheme_names()),
                                            join(scheme_names())));
  }
  const SchemeInfo& info = entry->info;
  Scheme scheme;
  scheme.info_ = &info;
  scheme.text_ = trim(text);
  std::vector<std::string> param_names;
  for (const auto& p : info.params) param_names.push_back(p.name);
  const std::string where = fmt::format("scheme '{}'", scheme.text_);

  // Assign positional arguments in declared order, then named ones.
  std::vector<std::string> given(info.params.size());
  std::vector<bool> set(info.params.size(), false);
  for (std::size_t i = 0; i < call.args.size(); ++i) {
    const auto& [key, value] = call.args[i];
    std::size_t slot = info.params.size();
    if (key.empty()) {
      if (i >= info.params.size()) {
        throw std::invalid_argument(fmt::format("{}: too many arguments; {} takes {}", where,
                                                info.name,
                                                param_names.empty() ? "none" : join(param_names)));
      }
      slot = i;
    } else {
      auto it = std::find(param_names.begin(), param_names.end(), key);
      if (it == param_names.end()) {
        throw std::invalid_argument(fmt::format(
            "{}: unknown parameter '{}'{}; {} takes {}", where, key, did_you_mean(key, param_names),
            info.name, param_names.empty() ? "no parameters" : join(param_names)));
      }
      slot = static_cast<std::size_t>(it - param_names.begin());
    }
    if (set[slot])
      throw std::invalid_argument(
          fmt::format("{}: parameter '{}' given twice", where, param_names[slot]));
    given[slot] = value;
    set[slot] = true;
  }
  for (std::size_t i = 0; i < info.params.size(); ++i) {
    const ParamInfo& p = info.params[i];
    if (!set[i]) {
      if (p.default_value.empty()) {
        throw std::invalid_argument(
            fmt::format("{}: missing parameter '{}' ({}); write e.g. {}({}=...)", where, p.name,
                        p.description, info.name, p.name));
      }
      given[i] = p.default_value;
    }
    const std::string& value = given[i];
    if (p.type == ParamType::kChoice) {
      if (std::find(p.choices.begin(), p.choices.end(), value) == p.choices.end()) {
        throw std::invalid_argument(fmt::format("{}: {} = '{}' is not allowed{}; allowed: {}",
                                                where, p.name, value,
                                                did_you_mean(value, p.choices), join(p.choices)));
      }
    } else if (value != "auto") {
      auto x = parse_double(value);
      if (!x && p.type == ParamType::kGain) {
        try {
          x = calculate_gain(Activation::parse(value));
        } catch (const std::invalid_argument& e) {
          throw std::invalid_argument(
              fmt::format("{}: gain '{}' is neither a number nor an activation with a "
                          "standard gain: {}",
                          where, value, e.what()));
        }
      }
      if (!x)
        throw std::invalid_argument(
            fmt::format("{}: {} = '{}' is not a number", where, p.name, value));
      if (!std::isfinite(*x))
        throw std::invalid_argument(
            fmt::format("{}: {} must be finite, got {}", where, p.name, value));
      if (p.type == ParamType::kInteger && (*x != std::floor(*x) || *x < 1)) {
        throw std::invalid_argument(
            fmt::format("{}: {} must be a positive integer, got {}", where, p.name, value));
      }
    }
    scheme.values_.emplace_back(p.name, value);
  }

  // Resolve derived defaults and check ranges that involve several parameters.
  auto fail = [&](const std::string& what) {
    throw std::invalid_argument(fmt::format("{}: {}", where, what));
  };
  auto has = [&](const char* p) {
    return std::find(param_names.begin(), param_names.end(), p) != param_names.end();
  };
  if (has("stddev") && scheme.number("stddev") < 0)
    fail(fmt::format("stddev must be >= 0, got {}", scheme.number("stddev")));
  if (has("gain") && scheme.number("gain") <= 0)
    fail(fmt::format("gain must be > 0, got {}", scheme.number("gain")));
  if (has("scale") && scheme.number("scale") <= 0)
    fail(fmt::format("scale must be > 0, got {}", scheme.number("scale")));
  if (info.name == "uniform" && !(scheme.number("low") < scheme.number("high"))) {
    fail(fmt::format("low must be < high, got low = {} and high = {}", scheme.number("low"),
                     scheme.number("high")));
  }
  if (info.name == "truncated_normal") {
    const double mean = scheme.number("mean");
    const double sd = scheme.number("stddev");
    if (sd <= 0) fail("stddev must be > 0");
    for (auto& [key, value] : scheme.values_) {
      if (key == "low" && value == "auto") value = format_number(mean - 2 * sd);
      if (key == "high" && value == "auto") value = format_number(mean + 2 * sd);
    }
    const double low = scheme.number("low");
    const double high = scheme.number("high");
    if (!(low < high))
      fail(fmt::format("low must be < high, got low = {} and high = {}", low, high));
    // Redrawing must end: require at least 1% of the mass inside the bounds.
    const double mass = normal_cdf((high - mean) / sd) - normal_cdf((low - mean) / sd);
    if (mass < 0.01) {
      fail(fmt::format("[{}, {}] holds only {:.2g} of N({}, {}^2): redrawing would take too long",
                       low, high, mass, mean, sd));
    }
  }
  if (info.name == "torch_sparse") {
    const double sparsity = scheme.number("sparsity");
    if (sparsity < 0 || sparsity >= 1)
      fail(fmt::format("sparsity must be in [0, 1), got {}", sparsity));
  }
  if (info.name == "lsuv" && scheme.number("tol") <= 0) fail("tol must be > 0");
  return scheme;
}

void Scheme::check_layer(Index fan_in, Index fan_out, bool for_bias) const {
  if (for_bias && !info_->for_bias) {
    throw std::invalid_argument(
        fmt::format("scheme '{}' cannot initialise biases; use zeros, constant, uniform, "
                    "normal, truncated_normal or a fan-based scheme",
                    text_));
  }
  if (!for_bias && name() == "identity" && fan_in != fan_out) {
    throw std::invalid_argument(
        fmt::format("scheme '{}' needs square layers, but a layer is {} -> {} "
                    "(fan_in {}, fan_out {})",
                    text_, fan_in, fan_out, fan_in, fan_out));
  }
}

Matrix<double> Scheme::sample_weights(Index fan_in, Index fan_out, Rng& rng) const {
  check_layer(fan_in, fan_out, false);
  return find_entry(info_).sample(*this, fan_out, fan_in, fan_in, fan_out, rng);
}

Vector<double> Scheme::sample_bias(Index fan_in, Index fan_out, Rng& rng) const {
  check_layer(fan_in, fan_out, true);
  return find_entry(info_).sample(*this, fan_out, 1, fan_in, fan_out, rng).col(0);
}

// ---------------------------------------------------------------------------------------------
// Orthogonal matrices
// ---------------------------------------------------------------------------------------------

namespace {
// Dot product with four accumulators in a fixed order: faster than one chain, and the same bits
// everywhere because the order is written here, not chosen by a compiler or a BLAS.
double dot4(const double* x, const double* y, Index n) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  Index i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += x[i] * y[i];
    s1 += x[i + 1] * y[i + 1];
    s2 += x[i + 2] * y[i + 2];
    s3 += x[i + 3] * y[i + 3];
  }
  for (; i < n; ++i) s0 += x[i] * y[i];
  return (s0 + s1) + (s2 + s3);
}
}  // namespace

Matrix<double> random_orthogonal(Index rows, Index cols, Rng& rng) {
  Matrix<double> g =
      normal(rows, cols, 0.0, 1.0, rng);  // drawn row-major, as PyTorch's orthogonal_
  const bool wide = rows < cols;
  Matrix<double> q = wide ? Matrix<double>(g.transpose()) : g;  // tall: (m, n), m >= n
  const Index m = q.rows();
  const Index n = q.cols();
  for (Index j = 0; j < n; ++j) {
    double* v = q.col(j).data();
    for (int pass = 0; pass < 2; ++pass) {  // "twice is enough" (Giraud et al. 2005)
      for (Index i = 0; i < j; ++i) {
        const double* u = q.col(i).data();
        const double r = dot4(u, v, m);
        for (Index k = 0; k < m; ++k) v[k] -= r * u[k];
      }
    }
    const double norm = std::sqrt(dot4(v, v, m));  // R's diagonal: positive, so no sign flip needed
    for (Index k = 0; k < m; ++k) v[k] /= norm;
  }
  if (wide) return q.transpose();
  return q;
}

// ---------------------------------------------------------------------------------------------
// Whole networks
// ---------------------------------------------------------------------------------------------

Scheme InitConfig::bias() const {
  if (!bias_text.empty() && bias_text != "default") return Scheme::parse(bias_text);
  if (weights.name() == "torch_default") return Scheme::parse("torch_default");
  return Scheme();
}

void InitConfig::check(const MlpConfig& net) const {
  if (!(std::isfinite(scale) && scale > 0))
    throw std::invalid_argument(fmt::format("init scale must be > 0, got {}", scale));
  const Scheme b = bias();
  for (Index l = 1; l <= net.num_layers(); ++l) {
    try {
      weights.check_layer(net.fan_in(l), net.fan_out(l), false);
      b.check_layer(net.fan_in(l), net.fan_out(l), true);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(fmt::format("layer {}: {}", l, e.what()));
    }
  }
}

template <typename T>
void initialize(Mlp<T>& net, const InitConfig& init, std::uint64_t seed, std::uint64_t run,
                const ConstMatrixRef<T>* lsuv_batch) {
  const MlpConfig& config = net.config();
  init.check(config);
  const Scheme bias = init.bias();
  if (init.weights.info().data_dependent && lsuv_batch == nullptr) {
    throw std::invalid_argument(
        fmt::format("scheme '{}' needs a batch of data", init.weights.text()));
  }
  std::optional<Rng> numpy;
  if (uses_numpy(init.generator))
    numpy = Rng::numpy_legacy(numpy_seed(init.numpy_seed, "init.numpy_seed"));
  for (Index l = 1; l <= config.num_layers(); ++l) {
    const auto ul = static_cast<std::uint64_t>(l);
    Rng weight_stream(seed, run, stream::kWeights + ul);
    Rng bias_stream(seed, run, stream::kBias + ul);
    Rng& weight_rng = numpy ? *numpy : weight_stream;
    Rng& bias_rng = numpy ? *numpy : bias_stream;
    net.W(l) =
        (init.scale * init.weights.sample_weights(config.fan_in(l), config.fan_out(l), weight_rng))
            .cast<T>();
    net.b(l) = bias.sample_bias(config.fan_in(l), config.fan_out(l), bias_rng).cast<T>();
  }
  if (init.weights.info().data_dependent) {
    lsuv(net, *lsuv_batch, init.weights.number("tol"),
         static_cast<int>(init.weights.number("max_iter")));
  }
}

template <typename T>
std::vector<double> lsuv(Mlp<T>& net, const ConstMatrixRef<T>& batch, double tol, int max_iter) {
  const MlpConfig& config = net.config();
  const Index L = config.num_layers();
  const Index m = batch.cols();
  if (batch.rows() != config.sizes[0] || m < 2) {
    throw std::invalid_argument(fmt::format("lsuv: batch must be ({}, m >= 2), got ({}, {})",
                                            config.sizes[0], batch.rows(), m));
  }
  Workspace<T> ws(config, m);
  ws.A[0] = batch;
  std::vector<double> variances(static_cast<std::size_t>(L + 1), kNan);
  auto variance = [](const Matrix<T>& z) {
    const double mean = z.template cast<double>().mean();
    return (z.template cast<double>().array() - mean).square().mean();
  };
  for (Index l = 1; l <= L; ++l) {
    const auto ul = static_cast<std::size_t>(l);
    double var = kNan;
    for (int iter = 0;; ++iter) {
      dense_forward<T>(net.W(l), net.b(l), ws.A[ul - 1], ws.Z[ul], ws.scratch);
      var = variance(ws.Z[ul]);
      // Nothing to normalise: a layer whose output on the batch is constant (dead units, constant
      // features) or not finite (huge inputs) keeps its weights, and the run shows what follows
      // (dead units, or status diverged at step 0) instead of aborting the whole experiment.
      if (!(var > 0) || !std::isfinite(var)) break;
      if (std::abs(var - 1.0) < tol || iter >= max_iter) break;
      net.W(l) /= static_cast<T>(std::sqrt(var));
    }
    variances[ul] = var;
    if (l < L) activation_forward<T>(config.hidden, ws.Z[ul], ws.A[ul]);
  }
  return variances;
}

template void initialize<float>(Mlp<float>&, const InitConfig&, std::uint64_t, std::uint64_t,
                                const ConstMatrixRef<float>*);
template void initialize<double>(Mlp<double>&, const InitConfig&, std::uint64_t, std::uint64_t,
                                 const ConstMatrixRef<double>*);
template std::vector<double> lsuv<float>(Mlp<float>&, const ConstMatrixRef<float>&, double, int);
template std::vector<double> lsuv<double>(Mlp<double>&, const ConstMatrixRef<double>&, double, int);

}  // namespace initbench
