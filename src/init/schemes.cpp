// schemes.cpp: the scheme registry: every initialization scheme's parameters, sampler, variance
// formula and documentation, and PyTorch's gains.
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <numeric>
#include <optional>
#include <stdexcept>

#include "initbench/init.hpp"
#include "initbench/rng.hpp"
#include "initbench/text.hpp"
#include "internal.hpp"

namespace initbench {

using namespace init_internal;

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

}  // namespace

Matrix<double> init_internal::normal(Index rows, Index cols, double mean, double stddev, Rng& rng) {
  return fill(rows, cols, [&] { return rng.normal(mean, stddev); });
}

namespace {

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

double square(double x) { return x * x; }

// ZerO's dense layer (fan_out r, fan_in c): the partial identity when r <= c, else the first r
// rows and c columns of the Sylvester Hadamard matrix of order p = 2^ceil(log2 r), over sqrt(p),
// as the authors' code builds it (I_{r x p} H_p I_{p x c} / 2^(log2(p) / 2)).
Matrix<double> zero_hadamard(Index r, Index c) {
  if (r <= c) return Matrix<double>::Identity(r, c);
  const auto p = std::bit_ceil(static_cast<std::uint64_t>(r));
  const double scale = 1.0 / std::sqrt(static_cast<double>(p));
  Matrix<double> w(r, c);
  for (Index j = 0; j < c; ++j) {
    for (Index i = 0; i < r; ++i) {
      const auto bits =
          std::popcount(static_cast<std::uint64_t>(i) & static_cast<std::uint64_t>(j));
      w(i, j) = bits % 2 == 0 ? scale : -scale;
    }
  }
  return w;
}

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

}  // namespace

// A table (about 320 lines): one entry per scheme, with its documentation. Each entry names only
// the fields it sets; the rest keep SchemeInfo's defaults. GCC 12 warns about exactly that
// (-Wmissing-field-initializers), which is the point of designated initializers here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
const std::vector<Entry>& init_internal::registry() {
  static const std::vector<Entry> entries = [] {
    std::vector<Entry> e;
    auto add = [&](SchemeInfo info, Sampler sampler, Variance variance,
                   ResidualRule residual = nullptr) {
      e.push_back({std::move(info), sampler, variance, residual});
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
        {.name = "partial_identity",
         .params = {gain()},
         .formula = "gain * I, I the fan_out x fan_in partial identity (w_ij = [i = j]): a "
                    "shrinking layer keeps the first fan_out inputs, a growing one adds "
                    "fan_out - fan_in units of zero weights",
         .source = "Zhao, Zhang & Xie 2022 (ZerO's partial identity, the plain identity for "
                   "changing widths); Keras Identity and PyTorch eye_ on rectangular shapes",
         .random = false,
         .for_bias = false},
        [](const Scheme& s, Index r, Index c, Index, Index, Rng&) -> Matrix<double> {
          return s.number("gain") * Matrix<double>::Identity(r, c);
        },
        [](const Scheme& s, Index fi, Index fo) {
          // min(fi, fo) ones among fi fo entries
          const double ones = static_cast<double>(std::min(fi, fo));
          const double mean = ones / (static_cast<double>(fi) * static_cast<double>(fo));
          return square(s.number("gain")) * (mean - mean * mean);
        });
    add(
        {.name = "zero_hadamard",
         .params = {},
         .formula = "fan_out <= fan_in: the partial identity I (w_ij = [i = j]); else w_ij = "
                    "H_ij / sqrt(p), H the Sylvester Hadamard matrix of order p = 2^ceil(log2 "
                    "fan_out), H_ij = (-1)^popcount(i & j)",
         .source = "Zhao, Zhang & Xie 2022 (ZerO initialization, algorithm 1 for dense layers)",
         .random = false,
         .for_bias = false},
        [](const Scheme&, Index r, Index c, Index, Index, Rng&) -> Matrix<double> {
          return zero_hadamard(r, c);
        },
        [](const Scheme&, Index fi, Index fo) {
          const Matrix<double> w = zero_hadamard(fo, fi);  // the population of its entries
          const auto n = static_cast<double>(w.size());
          const double mean = w.sum() / n;
          return w.array().square().sum() / n - mean * mean;
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
    add(
        {.name = "npy",
         .params = {{"path",
                     ParamType::kText,
                     "",
                     {},
                     "folder of W1.npy, b1.npy, ...; relative to the spec file"}},
         .formula = "W_l from W1.npy, W2.npy, ... in the folder path, each (fan_out, fan_in); b_l "
                    "from b1.npy, ... if the folder has them, else init.bias",
         .source = "your own weights, e.g. dump_weights' output or a PyTorch or Keras model saved "
                   "as docs/check-init.md shows",
         .random = false,
         .for_bias = false,
         .from_files = true,
         .example = "npy(path=weights)"},
        [](const Scheme& s, Index, Index, Index, Index, Rng&) -> Matrix<double> {
          throw std::invalid_argument(fmt::format(
              "scheme '{}' reads a whole network from its folder (initialize), not one layer",
              s.text()));
        },
        [](const Scheme&, Index, Index) { return kNan; });  // the files decide

    // Residual nets (model.residual = true; mlp.hpp): every layer is sampled as he_normal, then
    // the scheme sets the blocks' alpha_b (learnable) and, for fixup, rescales and zeroes layers.
    // Their variance is he_normal's, the variance of what they sample.
    const Sampler he_fan_in = [](const Scheme&, Index r, Index c, Index fi, Index,
                                 Rng& rng) -> Matrix<double> {
      return normal(r, c, 0.0, std::sqrt(2.0 / static_cast<double>(fi)), rng);
    };
    const Variance he_variance = [](const Scheme&, Index fi, Index) {
      return 2.0 / static_cast<double>(fi);
    };
    add({.name = "fixup",
         .formula = "he_normal(mode=fan_in) with the output layer and the last layer of every "
                    "branch at 0, the branch's other layers times B^(-1/(2m-2)) (B blocks, m "
                    "layers per branch; m = 1: the branch is its zero layer), alpha_b = 1 "
                    "learnable (Fixup's multiplier); biases as init.bias (default 0)",
         .source = "Zhang, Dauphin & Ma 2019 (Fixup); its scalar biases are the layers' own bias "
                   "vectors",
         .for_bias = false,
         .residual = true},
        he_fan_in, he_variance, [](const Scheme&, const MlpConfig& net) {
          ResidualStart start;
          start.zero_branch_last = true;
          start.zero_output = true;
          if (net.block_depth >= 2) {
            start.branch_scale = std::pow(static_cast<double>(net.blocks),
                                          -1.0 / static_cast<double>(2 * net.block_depth - 2));
          }
          return start;
        });
    add({.name = "rezero",
         .formula = "he_normal(mode=fan_in) for every layer, alpha_b = 0 learnable",
         .source = "Bachlechner et al. 2020 (ReZero)",
         .for_bias = false,
         .residual = true},
        he_fan_in, he_variance,
        [](const Scheme&, const MlpConfig&) { return ResidualStart{.alpha = 0.0}; });
    add({.name = "skipinit",
         .params = {number("alpha", "0", "alpha_b's start (0 or a small constant)")},
         .formula = "he_normal(mode=fan_in) for every layer, alpha_b = alpha learnable",
         .source = "De & Smith 2020 (SkipInit)",
         .for_bias = false,
         .residual = true},
        he_fan_in, he_variance, [](const Scheme& s, const MlpConfig&) {
          return ResidualStart{.alpha = s.number("alpha")};
        });
    return e;
  }();
  return entries;
}
#pragma GCC diagnostic pop

const Entry& init_internal::find_entry(const SchemeInfo* info) {
  for (const auto& entry : registry()) {
    if (&entry.info == info) return entry;
  }
  throw std::logic_error("scheme not in the registry");
}

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

}  // namespace initbench
