#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <numbers>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "initbench/activation.hpp"
#include "initbench/init.hpp"
#include "initbench/io.hpp"
#include "initbench/loss.hpp"
#include "initbench/mlp.hpp"
#include "initbench/rng.hpp"

using namespace initbench;

// Every expectation below is written from the formulas in the README / REFERENCE.md scheme table,
// not by calling the library's own helpers: a wrong constant or fan in src/init/schemes.cpp has to
// show up as a disagreement between two independent transcriptions.

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double std_pdf(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2.0 * std::numbers::pi); }
double std_cdf(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

// The distribution one entry of a sampled matrix should follow.
struct Dist {
  double mean = 0.0;
  double var = 0.0;
  double mu4 = 0.0;   // central fourth moment: Var(sample variance) ~ (mu4 - var^2) / n
  double lo = -kInf;  // support
  double hi = kInf;
  bool hi_open = false;     // support [lo, hi) (uniform) rather than [lo, hi]
  double density_lo = 0.0;  // density at the ends: the sample must come this close to them
  double density_hi = 0.0;  // (0: do not check)
  bool constant = false;    // every entry equals mean exactly
};

Dist uniform_dist(double lo, double hi) {
  const double w = hi - lo;
  Dist d;
  d.mean = 0.5 * (lo + hi);
  d.var = w * w / 12.0;
  d.mu4 = w * w * w * w / 80.0;
  d.lo = lo;
  d.hi = hi;
  d.hi_open = true;
  d.density_lo = d.density_hi = 1.0 / w;
  return d;
}

Dist normal_dist(double mean, double sd) {
  Dist d;
  d.mean = mean;
  d.var = sd * sd;
  d.mu4 = 3.0 * sd * sd * sd * sd;
  return d;
}

// N(mean, sd^2) conditioned on [lo, hi]. Raw moments of the standardised variable on [a, b] by
// integration by parts: m_k = (k-1) m_{k-2} - (b^{k-1} phi(b) - a^{k-1} phi(a)) / Z.
Dist truncated_dist(double mean, double sd, double lo, double hi) {
  const double a = (lo - mean) / sd;
  const double b = (hi - mean) / sd;
  const double z = std_cdf(b) - std_cdf(a);
  const double pa = std_pdf(a);
  const double pb = std_pdf(b);
  const double m1 = -(pb - pa) / z;
  const double m2 = 1.0 - (b * pb - a * pa) / z;
  const double m3 = 2.0 * m1 - (b * b * pb - a * a * pa) / z;
  const double m4 = 3.0 * m2 - (b * b * b * pb - a * a * a * pa) / z;
  Dist d;
  d.mean = mean + sd * m1;
  d.var = sd * sd * (m2 - m1 * m1);
  d.mu4 = sd * sd * sd * sd * (m4 - 4.0 * m1 * m3 + 6.0 * m1 * m1 * m2 - 3.0 * m1 * m1 * m1 * m1);
  d.lo = lo;
  d.hi = hi;
  d.density_lo = pa / (sd * z);
  d.density_hi = pb / (sd * z);
  return d;
}

// 0 with probability 1 - p, N(0, sd^2) with probability p.
Dist sparse_dist(double p, double sd) {
  Dist d;
  d.var = p * sd * sd;
  d.mu4 = 3.0 * p * sd * sd * sd * sd;
  return d;
}

// An entry of gain * (Haar-distributed matrix with orthonormal columns or rows) of shape
// (fan_out, fan_in): gain times a coordinate of a uniform unit vector in R^M, M = max(fans):
// E q^2 = 1/M, E q^4 = 3 / (M (M + 2)).
Dist haar_dist(double gain, double fan_in, double fan_out) {
  const double m = std::max(fan_in, fan_out);
  Dist d;
  d.var = gain * gain / m;
  d.mu4 = gain * gain * gain * gain * 3.0 / (m * (m + 2.0));
  d.lo = -gain;
  d.hi = gain;
  return d;
}

Dist constant_dist(double value) {
  Dist d;
  d.mean = value;
  d.lo = d.hi = value;
  d.constant = true;
  return d;
}

// Keras' truncation constant: the standard deviation of N(0, 1) truncated to [-2, 2].
constexpr double kKerasTruncStd = 0.87962566103423978;

// The variance of N(0, 1) truncated to [-2, 2], from its closed form.
double truncated_unit_variance() {
  return 1.0 - 2.0 * std_pdf(2.0) * 2.0 / (std_cdf(2.0) - std_cdf(-2.0));
}

// Checks a sample against a distribution: mean and variance within 5 standard errors, the
// support, and (for bounded densities) that both ends are reached.
void check_sample(const double* x, Index count, const Dist& d) {
  const double n = static_cast<double>(count);
  double sum = 0.0;
  double min = kInf;
  double max = -kInf;
  for (Index k = 0; k < count; ++k) {
    sum += x[k];
    min = std::min(min, x[k]);
    max = std::max(max, x[k]);
  }
  const double mean = sum / n;
  double ss = 0.0;
  for (Index k = 0; k < count; ++k) ss += (x[k] - mean) * (x[k] - mean);
  const double var = ss / n;
  CAPTURE(count);
  CAPTURE(mean);
  CAPTURE(d.mean);
  CAPTURE(var);
  CAPTURE(d.var);
  CAPTURE(min);
  CAPTURE(max);
  if (d.constant) {
    CHECK(min == d.mean);
    CHECK(max == d.mean);
    return;
  }
  const double se_mean = std::sqrt(d.var / n);
  const double se_var = std::sqrt((d.mu4 - d.var * d.var) / n);
  CAPTURE(se_mean);
  CAPTURE(se_var);
  CHECK(std::abs(mean - d.mean) <= 5.0 * se_mean);
  CHECK(std::abs(var - d.var) <= 5.0 * se_var);
  CHECK(min >= d.lo);
  if (d.hi_open) {
    CHECK(max < d.hi);
  } else {
    CHECK(max <= d.hi);
  }
  // P(no draw within delta of an end) = (1 - delta * density)^n ~ exp(-25).
  if (d.density_lo > 0) CHECK(min - d.lo <= 25.0 / (n * d.density_lo));
  if (d.density_hi > 0) CHECK(d.hi - max <= 25.0 / (n * d.density_hi));
}

void check_sample(const Matrix<double>& w, const Dist& d) { check_sample(w.data(), w.size(), d); }

struct Shape {
  Index fan_in;
  Index fan_out;
};

// Large enough for tight standard errors, small enough to keep the file fast. Haar schemes
// (an O(m n^2) Gram-Schmidt) use smaller ones.
const std::vector<Shape> kShapes = {{1000, 1000}, {300, 700}, {700, 300}};
const std::vector<Shape> kHaarShapes = {{400, 400}, {150, 350}, {350, 150}};
// Which fan a scheme uses only shows on non-square layers: the 12 variance_scaling variants
// skip the square one.
const std::vector<Shape> kRectShapes = {{300, 700}, {700, 300}};
// torch_sparse: fan_out values where sparsity * fan_out is not a whole number (ceil, not floor).
const std::vector<Shape> kSparseShapes = {{1000, 1000}, {300, 701}, {700, 303}};

using Expect = std::function<Dist(double fan_in, double fan_out)>;
using Extra = std::function<void(const Matrix<double>& w, Index fan_in, Index fan_out)>;

struct Case {
  std::string text;
  Expect expect;
  Extra extra = nullptr;
  const std::vector<Shape>* shapes = &kShapes;
};

Dist var_scaling(double scale, const std::string& mode, const std::string& dist, double fi,
                 double fo) {
  const double n = mode == "fan_in" ? fi : mode == "fan_out" ? fo : 0.5 * (fi + fo);
  if (dist == "uniform") {
    const double a = std::sqrt(3.0 * scale / n);
    return uniform_dist(-a, a);
  }
  if (dist == "untruncated_normal") return normal_dist(0.0, std::sqrt(scale / n));
  const double s =
      std::sqrt(scale / n) / kKerasTruncStd;  // "truncated_normal" and its alias "normal"
  return truncated_dist(0.0, s, -2.0 * s, 2.0 * s);
}

// |w| <= 2 s for variance_scaling's truncated normals.
Extra truncation_bound(double scale, std::string mode) {
  return [scale, mode](const Matrix<double>& w, Index fan_in, Index fan_out) {
    const double fi = static_cast<double>(fan_in);
    const double fo = static_cast<double>(fan_out);
    const double n = mode == "fan_in" ? fi : mode == "fan_out" ? fo : 0.5 * (fi + fo);
    const double s = std::sqrt(scale / n) / kKerasTruncStd;
    CHECK(w.cwiseAbs().maxCoeff() <= 2.0 * s);
  };
}

// Martens' sparse init: exactly k = min(nonzero, fan_in) nonzero N(0, sd^2) weights per unit (row),
// at random inputs.
Extra sparse_rows(Index nonzero, double sd) {
  return [nonzero, sd](const Matrix<double>& w, Index fan_in, Index fan_out) {
    const Index k = std::min(nonzero, fan_in);
    bool rows_ok = true;
    std::vector<double> values;
    for (Index i = 0; i < fan_out; ++i) {
      Index count = 0;
      for (Index j = 0; j < fan_in; ++j) {
        if (w(i, j) != 0.0) {
          ++count;
          values.push_back(w(i, j));
        }
      }
      if (count != k) {
        CAPTURE(i);
        CAPTURE(count);
        CAPTURE(k);
        rows_ok = false;
      }
    }
    CHECK(rows_ok);
    check_sample(values.data(), static_cast<Index>(values.size()), normal_dist(0.0, sd));
    // The inputs are random: each column's count is Binomial-like with mean fan_out k / fan_in.
    const double col_mean = static_cast<double>(fan_out * k) / static_cast<double>(fan_in);
    const double col_sd = std::sqrt(col_mean);
    for (Index j = 0; j < fan_in; ++j) {
      const auto count = static_cast<double>((w.col(j).array() != 0.0).count());
      if (std::abs(count - col_mean) > 6.0 * col_sd + 1.0) {
        CAPTURE(j);
        CAPTURE(count);
        CAPTURE(col_mean);
        FAIL_CHECK("column nonzero count far from its mean: inputs not chosen at random");
        break;
      }
    }
  };
}

// PyTorch's sparse_: exactly ceil(sparsity * fan_out) zeros per column (input). Sparsity is
// given in tenths so that the ceiling is exact integer arithmetic here.
Extra torch_sparse_columns(Index tenths, double sd) {
  return [tenths, sd](const Matrix<double>& w, Index fan_in, Index fan_out) {
    const Index zeros = (tenths * fan_out + 9) / 10;
    bool cols_ok = true;
    std::vector<double> values;
    for (Index j = 0; j < fan_in; ++j) {
      Index count = 0;
      for (Index i = 0; i < fan_out; ++i) {
        if (w(i, j) == 0.0) {
          ++count;
        } else {
          values.push_back(w(i, j));
        }
      }
      if (count != zeros) {
        CAPTURE(j);
        CAPTURE(count);
        CAPTURE(zeros);
        cols_ok = false;
      }
    }
    CHECK(cols_ok);
    check_sample(values.data(), static_cast<Index>(values.size()), normal_dist(0.0, sd));
    // Which units are zeroed is random: each row's zero count has mean fan_in * zeros / fan_out.
    const double row_mean = static_cast<double>(fan_in * zeros) / static_cast<double>(fan_out);
    const double row_sd = std::sqrt(row_mean);
    for (Index i = 0; i < fan_out; ++i) {
      const auto count = static_cast<double>((w.row(i).array() == 0.0).count());
      if (std::abs(count - row_mean) > 6.0 * row_sd + 1.0) {
        CAPTURE(i);
        CAPTURE(count);
        CAPTURE(row_mean);
        FAIL_CHECK("row zero count far from its mean: units not chosen at random");
        break;
      }
    }
  };
}

// W^T W = gain^2 I (fan_out >= fan_in) or W W^T = gain^2 I (fan_out < fan_in), to 1e-12.
void check_orthogonal(const Matrix<double>& w, double gain) {
  const Matrix<double> gram =
      w.rows() >= w.cols() ? Matrix<double>(w.transpose() * w) : Matrix<double>(w * w.transpose());
  const Matrix<double> target = gain * gain * Matrix<double>::Identity(gram.rows(), gram.cols());
  const double err = (gram - target).cwiseAbs().maxCoeff();
  CAPTURE(w.rows());
  CAPTURE(w.cols());
  CAPTURE(err);
  CHECK(err <= 1e-12);
}

std::vector<Case> cases() {
  const double sqrt2 = std::sqrt(2.0);
  const double leaky02 = std::sqrt(2.0 / (1.0 + 0.2 * 0.2));  // sqrt(2 / 1.04)
  const double tanh_gain = 5.0 / 3.0;
  std::vector<Case> c;
  // Constants.
  c.push_back({"zeros", [](double, double) { return constant_dist(0.0); }});
  c.push_back({"ones", [](double, double) { return constant_dist(1.0); }});
  c.push_back({"constant(value=0.5)", [](double, double) { return constant_dist(0.5); }});
  c.push_back({"constant(-2.25)", [](double, double) { return constant_dist(-2.25); }});
  // Plain distributions.
  c.push_back({"uniform(low=-1, high=3)", [](double, double) { return uniform_dist(-1.0, 3.0); }});
  c.push_back({"normal(mean=1, stddev=2)", [](double, double) { return normal_dist(1.0, 2.0); }});
  c.push_back({"normal(stddev=0.01)", [](double, double) { return normal_dist(0.0, 0.01); }});
  c.push_back({"truncated_normal(stddev=1)",
               [](double, double) { return truncated_dist(0.0, 1.0, -2.0, 2.0); }});
  c.push_back({"truncated_normal(mean=1, stddev=2)",
               [](double, double) { return truncated_dist(1.0, 2.0, -3.0, 5.0); }});
  c.push_back({"truncated_normal(mean=0.5, stddev=1, low=-1, high=3)",
               [](double, double) { return truncated_dist(0.5, 1.0, -1.0, 3.0); }});
  // Fan-based schemes.
  c.push_back({"glorot_uniform", [](double fi, double fo) {
                 const double a = std::sqrt(6.0 / (fi + fo));
                 return uniform_dist(-a, a);
               }});
  c.push_back({"glorot_uniform(gain=tanh)", [=](double fi, double fo) {
                 const double a = tanh_gain * std::sqrt(6.0 / (fi + fo));
                 return uniform_dist(-a, a);
               }});
  c.push_back({"glorot_normal",
               [](double fi, double fo) { return normal_dist(0.0, std::sqrt(2.0 / (fi + fo))); }});
  c.push_back({"glorot_normal(gain=2.5)", [](double fi, double fo) {
                 return normal_dist(0.0, 2.5 * std::sqrt(2.0 / (fi + fo)));
               }});
  c.push_back({"lecun_uniform", [](double fi, double) {
                 const double a = std::sqrt(3.0 / fi);
                 return uniform_dist(-a, a);
               }});
  c.push_back(
      {"lecun_normal", [](double fi, double) { return normal_dist(0.0, std::sqrt(1.0 / fi)); }});
  c.push_back({"he_uniform", [](double fi, double) {
                 const double a = std::sqrt(6.0 / fi);
                 return uniform_dist(-a, a);
               }});
  c.push_back({"he_uniform(mode=fan_out)", [](double, double fo) {
                 const double a = std::sqrt(6.0 / fo);
                 return uniform_dist(-a, a);
               }});
  c.push_back({"he_uniform(slope=0.2)", [=](double fi, double) {
                 const double a = leaky02 * std::sqrt(3.0 / fi);
                 return uniform_dist(-a, a);
               }});
  c.push_back(
      {"he_normal", [=](double fi, double) { return normal_dist(0.0, sqrt2 / std::sqrt(fi)); }});
  c.push_back({"he_normal(mode=fan_out)",
               [=](double, double fo) { return normal_dist(0.0, sqrt2 / std::sqrt(fo)); }});
  c.push_back({"he_normal(mode=fan_out, slope=0.2)",
               [=](double, double fo) { return normal_dist(0.0, leaky02 / std::sqrt(fo)); }});
  // The residual schemes sample every layer as he_normal (fan_in); what they do to the whole
  // net (alpha_b, fixup's scale and zeros) is checked in "residual schemes" below.
  for (const char* text : {"fixup", "rezero", "skipinit", "skipinit(alpha=0.1)"}) {
    c.push_back({text, [=](double fi, double) { return normal_dist(0.0, sqrt2 / std::sqrt(fi)); }});
  }
  c.push_back({"glorot_standard", [](double fi, double) {
                 const double a = 1.0 / std::sqrt(fi);
                 return uniform_dist(-a, a);
               }});
  c.push_back({"torch_default", [](double fi, double) {
                 const double a = 1.0 / std::sqrt(fi);
                 return uniform_dist(-a, a);
               }});
  c.push_back(
      {"variance_scaling",
       [](double fi, double fo) { return var_scaling(1.0, "fan_in", "truncated_normal", fi, fo); },
       truncation_bound(1.0, "fan_in")});
  for (const std::string dist : {"truncated_normal", "normal", "untruncated_normal", "uniform"}) {
    for (const std::string mode : {"fan_in", "fan_out", "fan_avg"}) {
      const double scale = mode == "fan_out" ? 0.5 : 2.0;
      const std::string text = "variance_scaling(scale=" + std::string(scale == 2.0 ? "2" : "0.5") +
                               ", mode=" + mode + ", distribution=" + dist + ")";
      Extra extra = nullptr;
      if (dist == "truncated_normal" || dist == "normal") extra = truncation_bound(scale, mode);
      c.push_back({text,
                   [=](double fi, double fo) { return var_scaling(scale, mode, dist, fi, fo); },
                   extra, &kRectShapes});
    }
  }
  // Orthogonal and its relatives. lsuv's sample_weights is its orthogonal pre-initialisation.
  auto orthonormal = [](double gain) {
    return [gain](const Matrix<double>& w, Index, Index) { check_orthogonal(w, gain); };
  };
  c.push_back({"orthogonal", [](double fi, double fo) { return haar_dist(1.0, fi, fo); },
               orthonormal(1.0), &kHaarShapes});
  c.push_back({"orthogonal(gain=2)", [](double fi, double fo) { return haar_dist(2.0, fi, fo); },
               orthonormal(2.0), &kHaarShapes});
  c.push_back({"lsuv", [](double fi, double fo) { return haar_dist(1.0, fi, fo); },
               orthonormal(1.0), &kHaarShapes});
  // Sparse schemes.
  c.push_back({"sparse",
               [](double fi, double) { return sparse_dist(std::min(15.0, fi) / fi, 1.0); },
               sparse_rows(15, 1.0)});
  c.push_back({"sparse(nonzero=40, stddev=2)",
               [](double fi, double) { return sparse_dist(std::min(40.0, fi) / fi, 2.0); },
               sparse_rows(40, 2.0)});
  c.push_back({"torch_sparse(sparsity=0.3)",
               [](double, double fo) {
                 const double zeros = std::ceil(3.0 * fo / 10.0);
                 return sparse_dist(1.0 - zeros / fo, 0.01);
               },
               torch_sparse_columns(3, 0.01), &kSparseShapes});
  c.push_back({"torch_sparse(sparsity=0.7, stddev=1)",
               [](double, double fo) {
                 const double zeros = std::ceil(7.0 * fo / 10.0);
                 return sparse_dist(1.0 - zeros / fo, 1.0);
               },
               torch_sparse_columns(7, 1.0), &kSparseShapes});
  return c;
}

template <typename T>
bool same(const Matrix<T>& a, const Matrix<T>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && (a.array() == b.array()).all();
}
template <typename T>
bool same(const Vector<T>& a, const Vector<T>& b) {
  return a.size() == b.size() && (a.array() == b.array()).all();
}

// Population variance over every entry, in double (LSUV's Var).
template <typename T>
double variance_of(const Eigen::Ref<const Matrix<T>>& z) {
  const Matrix<double> x = z.template cast<double>();
  const double mean = x.mean();
  return (x.array() - mean).square().mean();
}

}  // namespace

// -------------------------------------------------------------------------------------------------
// 1. Every random scheme's distribution
// -------------------------------------------------------------------------------------------------

TEST_CASE("every scheme in the registry has an expectation in this file") {
  const auto table = cases();
  std::set<std::string> covered;
  for (const auto& c : table) covered.insert(Scheme::parse(c.text).name());
  // identity needs square layers, zero_hadamard and partial_identity are fixed matrices: see
  // their own cases; npy reads files (test_initcheck.cpp)
  const std::set<std::string> tested_elsewhere = {"identity", "zero_hadamard", "partial_identity",
                                                  "npy"};
  for (const auto& info : schemes()) {
    CAPTURE(info.name);
    CAPTURE(info.random);
    if (info.random) {
      CHECK(covered.count(info.name) == 1);
    } else {
      CHECK((covered.count(info.name) == 1 || tested_elsewhere.count(info.name) == 1));
    }
  }
  CHECK(covered.count("lsuv") == 1);
}

TEST_CASE("sample_weights: mean, variance, support and structure of every scheme") {
  for (const auto& c : cases()) {
    const Scheme scheme = Scheme::parse(c.text);
    for (const Shape& shape : *c.shapes) {
      CAPTURE(c.text);
      CAPTURE(shape.fan_in);
      CAPTURE(shape.fan_out);
      Rng rng(20240611, static_cast<std::uint64_t>(shape.fan_in),
              static_cast<std::uint64_t>(shape.fan_out));
      const Matrix<double> w = scheme.sample_weights(shape.fan_in, shape.fan_out, rng);
      REQUIRE(w.rows() == shape.fan_out);
      REQUIRE(w.cols() == shape.fan_in);
      const Dist d =
          c.expect(static_cast<double>(shape.fan_in), static_cast<double>(shape.fan_out));
      check_sample(w, d);
      // The registry's variance formula (runs.csv's sigma_w2) agrees with this file's.
      if (scheme.info().data_dependent) {
        CHECK(std::isnan(scheme.variance(shape.fan_in, shape.fan_out)));
      } else {
        CHECK(scheme.variance(shape.fan_in, shape.fan_out) ==
              doctest::Approx(d.var).epsilon(1e-12));
      }
      if (c.extra) c.extra(w, shape.fan_in, shape.fan_out);
    }
  }
}

TEST_CASE("truncation constants: Keras' 0.8796... is the std of N(0,1) on [-2, 2]") {
  const double v = truncated_unit_variance();
  CHECK(v == doctest::Approx(0.7737413).epsilon(1e-6));
  CHECK(std::sqrt(v) == doctest::Approx(kKerasTruncStd).epsilon(1e-15));
  // Hence variance_scaling's truncated normal has variance exactly scale / n.
  for (const double n : {10.0, 300.0, 1000.0}) {
    CAPTURE(n);
    const Dist d = var_scaling(2.0, "fan_in", "truncated_normal", n, 1.0);
    CHECK(d.var == doctest::Approx(2.0 / n).epsilon(1e-14));
  }
  // The moment recursion used for every truncated expectation agrees with the closed form.
  CHECK(truncated_dist(0.0, 1.0, -2.0, 2.0).var == doctest::Approx(v).epsilon(1e-14));
  CHECK(truncated_dist(0.0, 1.0, -2.0, 2.0).mean == 0.0);
}

TEST_CASE("sparse: fewer inputs than nonzero gives a dense row") {
  const Scheme scheme = Scheme::parse("sparse");
  Rng rng(3);
  const Matrix<double> w = scheme.sample_weights(10, 2000, rng);
  CHECK((w.array() != 0.0).count() == 10 * 2000);
  check_sample(w, normal_dist(0.0, 1.0));
}

TEST_CASE("biases: torch_default's rule, zeros by default, other schemes when asked") {
  SUBCASE("torch_default with an empty bias_text: U(-1/sqrt(fan_in), 1/sqrt(fan_in))") {
    const InitConfig init{Scheme::parse("torch_default"), ""};
    const Scheme bias = init.bias();
    CHECK(bias.name() == "torch_default");
    Rng rng(11);
    const Index fan_in = 400;
    const Vector<double> b = bias.sample_bias(fan_in, 300000, rng);
    REQUIRE(b.size() == 300000);
    check_sample(b.data(), b.size(), uniform_dist(-1.0 / 20.0, 1.0 / 20.0));
  }
  SUBCASE("initialize() draws torch_default biases from the bias stream, within the bound") {
    MlpConfig config{{64, 500, 300}, Activation::parse("relu"), Output::kLinear};
    Mlp<double> net(config, 1);
    initialize(net, InitConfig{Scheme::parse("torch_default"), ""}, 5, 2);
    for (Index l = 1; l <= 2; ++l) {
      CAPTURE(l);
      const double a = 1.0 / std::sqrt(static_cast<double>(config.fan_in(l)));
      CHECK(net.b(l).minCoeff() >= -a);
      CHECK(net.b(l).maxCoeff() < a);
      CHECK(net.b(l).cwiseAbs().maxCoeff() > 0.9 * a);
      // the documented stream and order: b_l(i) = U(-a, a) from Rng(seed, run, kBias + l)
      Rng rng(5, 2, stream::kBias + static_cast<std::uint64_t>(l));
      bool order_ok = true;
      for (Index i = 0; i < net.b(l).size(); ++i)
        order_ok = order_ok && net.b(l)(i) == -a + 2.0 * a * rng.uniform();
      CHECK(order_ok);
    }
  }
  SUBCASE("default bias is zeros for every other scheme; explicit bias schemes are used") {
    MlpConfig config{{30, 40, 5}, Activation::parse("tanh"), Output::kSoftmax};
    for (const char* weights : {"he_normal", "glorot_uniform", "orthogonal", "sparse"}) {
      for (const char* bias_text : {"", "default"}) {
        CAPTURE(weights);
        CAPTURE(bias_text);
        Mlp<double> net(config, 1);
        net.b(1).setOnes();
        initialize(net, InitConfig{Scheme::parse(weights), bias_text}, 1, 0);
        CHECK(net.b(1).isZero(0.0));
        CHECK(net.b(2).isZero(0.0));
        CHECK(!net.W(1).isZero(0.0));
      }
    }
    Mlp<double> net(config, 1);
    initialize(net, InitConfig{Scheme::parse("torch_default"), "zeros"}, 1, 0);
    CHECK(net.b(1).isZero(0.0));
    initialize(net, InitConfig{Scheme::parse("he_normal"), "constant(0.1)"}, 1, 0);
    CHECK((net.b(1).array() == 0.1).all());
  }
  SUBCASE("schemes that cannot initialise a bias are rejected") {
    MlpConfig config{{30, 40, 5}, Activation::parse("tanh"), Output::kSoftmax};
    for (const char* bias_text :
         {"orthogonal", "identity", "sparse", "torch_sparse(sparsity=0.1)", "lsuv"}) {
      CAPTURE(bias_text);
      CHECK_THROWS_WITH_AS(InitConfig({Scheme::parse("he_normal"), bias_text}).check(config),
                           doctest::Contains("cannot initialise biases"), std::invalid_argument);
    }
  }
}

TEST_CASE("InitConfig::scale multiplies every weight, a non-positive scale is rejected") {
  MlpConfig config{{30, 40, 5}, Activation::parse("tanh"), Output::kSoftmax};
  Mlp<double> a(config, 1);
  Mlp<double> b(config, 1);
  InitConfig init{Scheme::parse("glorot_normal"), ""};
  initialize(a, init, 9, 1);
  init.scale = 0.5;
  initialize(b, init, 9, 1);
  for (Index l = 1; l <= 2; ++l) CHECK(same<double>(b.W(l), Matrix<double>(0.5 * a.W(l))));
  for (const double bad : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN()}) {
    init.scale = bad;
    CHECK_THROWS_WITH_AS(init.check(config), doctest::Contains("scale"), std::invalid_argument);
  }
}

// -------------------------------------------------------------------------------------------------
// 2. orthogonal and identity
// -------------------------------------------------------------------------------------------------

TEST_CASE("orthogonal: orthonormal columns (square, tall) or rows (wide), times gain") {
  const std::vector<std::pair<const char*, double>> gains = {
      {"orthogonal", 1.0}, {"orthogonal(gain=2)", 2.0}, {"orthogonal(gain=relu)", std::sqrt(2.0)}};
  for (const auto& entry : gains) {
    // (no structured binding: clang 14 cannot capture one, and CAPTURE does)
    const auto& text = entry.first;
    const auto& gain = entry.second;
    const Scheme scheme = Scheme::parse(text);
    for (const Shape shape :
         std::vector<Shape>{{200, 200}, {100, 300}, {300, 100}, {1, 50}, {50, 1}, {7, 8}}) {
      CAPTURE(text);
      CAPTURE(shape.fan_in);
      CAPTURE(shape.fan_out);
      Rng rng(77);
      const Matrix<double> w = scheme.sample_weights(shape.fan_in, shape.fan_out, rng);
      REQUIRE(w.rows() == shape.fan_out);
      REQUIRE(w.cols() == shape.fan_in);
      check_orthogonal(w, gain);
    }
  }
}

TEST_CASE("orthogonal: Haar distributed, so signs are random (not fixed by the QR)") {
  // For a Haar orthogonal Q (n x n): tr Q has mean 0 and variance 1, and the mean of all entries
  // has standard deviation n^-3/2. A QR without the sign correction biases both (and a Q
  // built from R with a fixed-sign diagonal would put a positive bias on the diagonal).
  const Index n = 300;
  Rng rng(2024);
  double trace_sum = 0.0;
  double trace_sq = 0.0;
  const int reps = 4;
  for (int r = 0; r < reps; ++r) {
    const Matrix<double> q = random_orthogonal(n, n, rng);
    const double tr = q.trace();
    CAPTURE(r);
    CAPTURE(tr);
    CHECK(std::abs(tr) < 5.0);
    CHECK(std::abs(q.mean()) < 5.0 * std::pow(static_cast<double>(n), -1.5));
    trace_sum += tr;
    trace_sq += tr * tr;
  }
  // mean of 4 traces: sd 1/sqrt(8); E tr^2 = 1
  CHECK(std::abs(trace_sum / reps) < 5.0 / std::sqrt(static_cast<double>(reps)));
  CHECK(trace_sq / reps < 5.0);
  // Small matrices: the first entry of a Haar 2x2 Q is cos(theta), theta uniform: mean 0, E x^2 =
  // 1/2.
  double s = 0.0;
  double s2 = 0.0;
  const int m = 20000;
  for (int k = 0; k < m; ++k) {
    const double x = random_orthogonal(2, 2, rng)(0, 0);
    s += x;
    s2 += x * x;
  }
  CHECK(std::abs(s / m) < 5.0 * std::sqrt(0.5 / m));
  // Var(cos^2) = E cos^4 - 1/4 = 3/8 - 1/4 = 1/8
  CHECK(std::abs(s2 / m - 0.5) < 5.0 * std::sqrt(0.125 / m));
}

TEST_CASE("zero_hadamard: the partial identity, or Sylvester's Hadamard matrix over sqrt(p)") {
  const Scheme scheme = Scheme::parse("zero_hadamard");
  Rng rng(1);
  // fan_out <= fan_in: w_ij = [i = j]
  for (const auto& [fan_in, fan_out] : {std::pair<Index, Index>{4, 4}, {5, 3}, {784, 10}}) {
    CAPTURE(fan_in);
    CAPTURE(fan_out);
    const Matrix<double> w = scheme.sample_weights(fan_in, fan_out, rng);
    CHECK(w == Matrix<double>::Identity(fan_out, fan_in));
    const auto n = static_cast<double>(fan_in * fan_out);
    const double mean = static_cast<double>(fan_out) / n;
    CHECK(scheme.variance(fan_in, fan_out) == doctest::Approx(mean - mean * mean));  // 0s and 1s
  }
  // fan_out > fan_in: the top-left block of H_p / sqrt(p), p = 2^ceil(log2 fan_out), H built
  // here by Sylvester's doubling [[H, H], [H, -H]]
  for (const auto& [fan_in, fan_out] :
       {std::pair<Index, Index>{3, 6}, {2, 10}, {5, 8}, {64, 100}}) {
    CAPTURE(fan_in);
    CAPTURE(fan_out);
    Matrix<double> h = Matrix<double>::Ones(1, 1);
    while (h.rows() < fan_out) {
      const Index k = h.rows();
      Matrix<double> next(2 * k, 2 * k);
      next << h, h, h, -h;
      h = next;
    }
    const Matrix<double> expected =
        h.topLeftCorner(fan_out, fan_in) / std::sqrt(static_cast<double>(h.rows()));
    const Matrix<double> w = scheme.sample_weights(fan_in, fan_out, rng);
    CHECK(w == expected);
    const auto n = static_cast<double>(fan_in * fan_out);
    const double mean = w.sum() / n;
    CHECK(scheme.variance(fan_in, fan_out) ==
          doctest::Approx(w.array().square().sum() / n - mean * mean).epsilon(1e-12));
    if (fan_out == h.rows()) {  // whole columns of an orthogonal matrix: W^T W = I
      CHECK((w.transpose() * w - Matrix<double>::Identity(fan_in, fan_in)).norm() < 1e-12);
    }
  }
  CHECK(!scheme.info().random);
  CHECK_THROWS_AS(scheme.check_layer(3, 3, true), std::invalid_argument);  // no bias rule
}

TEST_CASE("zero_hadamard on a growing layer: min(fan_out, 2^ceil(log2 fan_in)) distinct rows") {
  // On columns 0..fan_in-1 of H_p, H_ij = (-1)^popcount(i & j), rows i and j agree exactly when
  // i = j modulo 2^ceil(log2 fan_in): the rows repeat with that period (deterministic_init's
  // 2 -> 32 layer has 2 distinct units; 784 -> 1024 has all 1024).
  const Scheme scheme = Scheme::parse("zero_hadamard");
  Rng rng(1);
  for (const auto& [fan_in, fan_out, distinct] : {std::tuple<Index, Index, Index>{2, 32, 2},
                                                  {24, 32, 32},
                                                  {64, 128, 64},
                                                  {5, 100, 8},
                                                  {784, 1024, 1024}}) {
    CAPTURE(fan_in);
    CAPTURE(fan_out);
    const Matrix<double> w = scheme.sample_weights(fan_in, fan_out, rng);
    std::set<std::vector<double>> rows;
    for (Index i = 0; i < fan_out; ++i) {
      std::vector<double> row(static_cast<std::size_t>(fan_in));
      for (Index j = 0; j < fan_in; ++j) row[static_cast<std::size_t>(j)] = w(i, j);
      rows.insert(row);
    }
    CHECK(static_cast<Index>(rows.size()) == distinct);
  }
}

TEST_CASE("partial_identity: w_ij = gain [i = j] on every shape, zero rows past fan_in") {
  for (const auto& [fan_in, fan_out] :
       {std::pair<Index, Index>{4, 4}, {5, 3}, {784, 10}, {3, 6}, {64, 256}}) {
    CAPTURE(fan_in);
    CAPTURE(fan_out);
    for (const auto& [text, gain] : {std::pair<const char*, double>{"partial_identity", 1.0},
                                     {"partial_identity(gain=2.5)", 2.5}}) {
      CAPTURE(text);
      const Scheme scheme = Scheme::parse(text);
      Rng rng(1);
      const Matrix<double> w = scheme.sample_weights(fan_in, fan_out, rng);
      REQUIRE(w.rows() == fan_out);
      REQUIRE(w.cols() == fan_in);
      Index ones = 0;
      for (Index i = 0; i < fan_out; ++i) {
        for (Index j = 0; j < fan_in; ++j) {
          CHECK(w(i, j) == (i == j ? gain : 0.0));
          if (w(i, j) != 0.0) ++ones;
        }
      }
      CHECK(ones == std::min(fan_in, fan_out));
      // a growing layer: the units past fan_in have no incoming weight (ZerO's rank bottleneck)
      for (Index i = fan_in; i < fan_out; ++i) CHECK(w.row(i).norm() == 0.0);
      const auto n = static_cast<double>(fan_in * fan_out);
      const double mean = w.sum() / n;
      CHECK(scheme.variance(fan_in, fan_out) ==
            doctest::Approx(w.array().square().sum() / n - mean * mean).epsilon(1e-12));
      CHECK_NOTHROW(scheme.check_layer(fan_in, fan_out, false));
    }
  }
  // on a square layer it is identity, and zero_hadamard on a shrinking one
  Rng rng(1);
  CHECK(same<double>(Scheme::parse("partial_identity").sample_weights(6, 6, rng),
                     Scheme::parse("identity").sample_weights(6, 6, rng)));
  CHECK(same<double>(Scheme::parse("partial_identity").sample_weights(9, 4, rng),
                     Scheme::parse("zero_hadamard").sample_weights(9, 4, rng)));
  const Scheme scheme = Scheme::parse("partial_identity");
  CHECK(!scheme.info().random);
  CHECK_THROWS_AS(scheme.check_layer(3, 3, true), std::invalid_argument);  // no bias rule
  MlpConfig changing{{8, 4, 16, 2}, Activation::parse("relu"), Output::kLinear};
  const InitConfig init{scheme, ""};
  CHECK_NOTHROW(init.check(changing));
  const InitConfig square_only{Scheme::parse("identity"), ""};
  CHECK_THROWS_WITH_AS(square_only.check(changing),
                       doctest::Contains("partial_identity takes any shape"),
                       std::invalid_argument);
}

TEST_CASE("identity(gain=3) on a square layer, identity on a non-square layer is rejected") {
  const Scheme scheme = Scheme::parse("identity(gain=3)");
  Rng rng(1);
  CHECK(same<double>(scheme.sample_weights(6, 6, rng),
                     Matrix<double>(3.0 * Matrix<double>::Identity(6, 6))));

  MlpConfig square{{8, 8, 8}, Activation::parse("relu"), Output::kLinear};
  Mlp<double> net(square, 1);
  initialize(net, InitConfig{scheme, ""}, 1, 0);
  for (Index l = 1; l <= 2; ++l)
    CHECK(same<double>(net.W(l), Matrix<double>(3.0 * Matrix<double>::Identity(8, 8))));

  MlpConfig not_square{{8, 8, 4}, Activation::parse("relu"), Output::kLinear};
  const InitConfig init{Scheme::parse("identity"), ""};
  CHECK_THROWS_WITH_AS(init.check(not_square), doctest::Contains("square"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(init.check(not_square), doctest::Contains("layer 2"), std::invalid_argument);
  CHECK_NOTHROW(init.check(square));
  Mlp<double> bad(not_square, 1);
  CHECK_THROWS_AS(initialize(bad, init, 1, 0), std::invalid_argument);
  CHECK_THROWS_AS(scheme.sample_weights(8, 4, rng), std::invalid_argument);
}

// -------------------------------------------------------------------------------------------------
// 3. LSUV
// -------------------------------------------------------------------------------------------------

namespace {

template <typename T>
Matrix<T> normal_batch(Index rows, Index cols, std::uint64_t seed) {
  Rng rng(seed);
  Matrix<T> x(rows, cols);
  for (Index k = 0; k < x.size(); ++k) x(k) = static_cast<T>(rng.normal());
  return x;
}

// Each layer's pre-activation variance on the batch, recomputed with Mlp::forward.
template <typename T>
std::vector<double> layer_variances(const Mlp<T>& net, const Matrix<T>& x) {
  const Index m = x.cols();
  Workspace<T> ws(net.config(), m);
  ws.input(m) = x;
  net.forward(ws, m);
  std::vector<double> v(static_cast<std::size_t>(net.num_layers() + 1), 0.0);
  for (Index l = 1; l <= net.num_layers(); ++l)
    v[static_cast<std::size_t>(l)] = variance_of<T>(ws.Z[static_cast<std::size_t>(l)].leftCols(m));
  return v;
}

template <typename T>
void check_lsuv(const MlpConfig& config, const std::string& bias_text, double rel) {
  const Index m = 256;
  const Matrix<T> x = normal_batch<T>(config.sizes[0], m, 31);
  const ConstMatrixRef<T> batch(x);
  Mlp<T> net(config, m);
  initialize(net, InitConfig{Scheme::parse("lsuv"), bias_text}, 4, 1, &batch);

  const std::vector<double> mine = layer_variances(net, x);
  for (Index l = 1; l <= net.num_layers(); ++l) {
    CAPTURE(l);
    CAPTURE(mine[static_cast<std::size_t>(l)]);
    CHECK(std::abs(mine[static_cast<std::size_t>(l)] - 1.0) < 0.1);
  }

  // The pre-initialisation is orthogonal(gain=1) from the same streams, rescaled per layer.
  Mlp<T> orth(config, 1);
  initialize(orth, InitConfig{Scheme::parse("orthogonal"), bias_text}, 4, 1);
  const std::vector<double> before = layer_variances(orth, x);
  CHECK(std::abs(before[1] - 1.0) > 0.3);  // so LSUV had something to do
  for (Index l = 1; l <= net.num_layers(); ++l) {
    CAPTURE(l);
    const Matrix<double> wl = net.W(l).template cast<double>();
    const Matrix<double> wo = orth.W(l).template cast<double>();
    const double c = wl.norm() / wo.norm();
    CHECK((wl - c * wo).norm() <= rel * wl.norm());
    CHECK(same<T>(net.b(l), orth.b(l)));
  }

  // lsuv() on a badly scaled network: the variances it returns are those of its final weights.
  InitConfig scaled{Scheme::parse("he_normal"), bias_text};
  scaled.scale = 3.0;
  Mlp<T> other(config, 1);
  initialize(other, scaled, 8, 0);
  const std::vector<double> returned = lsuv(other, batch, 0.1, 10);
  const std::vector<double> recomputed = layer_variances(other, x);
  REQUIRE(returned.size() == static_cast<std::size_t>(config.num_layers() + 1));
  for (Index l = 1; l <= config.num_layers(); ++l) {
    CAPTURE(l);
    const auto ul = static_cast<std::size_t>(l);
    CHECK(returned[ul] == doctest::Approx(recomputed[ul]).epsilon(rel));
    CHECK(std::abs(recomputed[ul] - 1.0) < 0.1);
  }
}

}  // namespace

TEST_CASE("lsuv: every layer's pre-activation variance on the batch is 1 within tol") {
  SUBCASE("tanh, linear output, double") {
    check_lsuv<double>({{20, 64, 64, 64, 64, 10}, Activation::parse("tanh"), Output::kLinear}, "",
                       1e-12);
  }
  SUBCASE("relu, softmax output, float") {
    check_lsuv<float>({{20, 64, 64, 64, 64, 10}, Activation::parse("relu"), Output::kSoftmax}, "",
                      1e-5);
  }
  SUBCASE("relu with a random bias: the iteration (not one exact rescale) has to converge") {
    check_lsuv<double>({{20, 64, 64, 64, 64, 10}, Activation::parse("relu"), Output::kSoftmax},
                       "normal(stddev=0.3)", 1e-12);
  }
}

TEST_CASE("lsuv: needs a batch of the right shape") {
  MlpConfig config{{20, 64, 10}, Activation::parse("tanh"), Output::kLinear};
  Mlp<double> net(config, 1);
  const InitConfig init{Scheme::parse("lsuv"), ""};
  CHECK_THROWS_WITH_AS(initialize(net, init, 1, 0), doctest::Contains("batch"),
                       std::invalid_argument);
  const Matrix<double> wrong = normal_batch<double>(19, 32, 1);
  const ConstMatrixRef<double> wrong_ref(wrong);
  CHECK_THROWS_AS(initialize(net, init, 1, 0, &wrong_ref), std::invalid_argument);
  const Matrix<double> one = normal_batch<double>(20, 1, 1);
  const ConstMatrixRef<double> one_ref(one);
  CHECK_THROWS_AS(lsuv(net, one_ref, 0.1, 10), std::invalid_argument);
}

// -------------------------------------------------------------------------------------------------
// 4. Reproducibility
// -------------------------------------------------------------------------------------------------

TEST_CASE("initialize: same (seed, run) same weights, another seed, run or layer gives others") {
  MlpConfig config{{40, 40, 40, 40, 3}, Activation::parse("tanh"), Output::kSoftmax};
  for (const char* text :
       {"he_normal", "glorot_uniform", "orthogonal", "sparse", "torch_sparse(sparsity=0.5)",
        "variance_scaling(distribution=truncated_normal)"}) {
    CAPTURE(text);
    const InitConfig init{Scheme::parse(text), "normal(stddev=0.1)"};
    Mlp<double> a(config, 1);
    Mlp<double> b(config, 1);
    Mlp<double> other_run(config, 1);
    Mlp<double> other_seed(config, 1);
    initialize(a, init, 123, 4);
    initialize(b, init, 123, 4);
    initialize(other_run, init, 123, 5);
    initialize(other_seed, init, 124, 4);
    for (Index l = 1; l <= config.num_layers(); ++l) {
      CAPTURE(l);
      CHECK(same<double>(a.W(l), b.W(l)));
      CHECK(same<double>(a.b(l), b.b(l)));
      // Every nonzero entry differs (zeros of sparse schemes may coincide).
      const auto nz = (a.W(l).array() != 0.0);
      CHECK((nz && (a.W(l).array() == other_run.W(l).array())).count() == 0);
      CHECK((nz && (a.W(l).array() == other_seed.W(l).array())).count() == 0);
      CHECK((a.b(l).array() == other_run.b(l).array()).count() == 0);
      CHECK((a.b(l).array() == other_seed.b(l).array()).count() == 0);
    }
    // Square layers 2 and 3 have their own streams.
    CHECK(((a.W(2).array() != 0.0) && (a.W(2).array() == a.W(3).array())).count() == 0);
    CHECK((a.b(2).array() == a.b(3).array()).count() == 0);
  }
}

TEST_CASE("initialize: a float network gets the double network's weights rounded to float") {
  MlpConfig config{{30, 50, 20, 4}, Activation::parse("relu"), Output::kSoftmax};
  for (const char* text : {"he_normal", "glorot_uniform(gain=tanh)", "orthogonal(gain=2)",
                           "truncated_normal(stddev=0.3)", "torch_default"}) {
    for (const double scale : {1.0, 0.3}) {
      CAPTURE(text);
      CAPTURE(scale);
      InitConfig init{Scheme::parse(text), ""};
      init.scale = scale;
      Mlp<float> f(config, 1);
      Mlp<double> d(config, 1);
      initialize(f, init, 99, 3);
      initialize(d, init, 99, 3);
      for (Index l = 1; l <= config.num_layers(); ++l) {
        CAPTURE(l);
        CHECK(same<float>(f.W(l), Matrix<float>(d.W(l).cast<float>())));
        CHECK(same<float>(f.b(l), Vector<float>(d.b(l).cast<float>())));
      }
    }
  }
}

namespace {

// A residual net of `blocks` blocks of block_depth layers, width 32, 10 inputs, 3 outputs.
MlpConfig residual_net(Index blocks, Index block_depth) {
  MlpConfig config{{}, Activation::parse("relu"), Output::kSoftmax};
  config.blocks = blocks;
  config.block_depth = block_depth;
  config.sizes.assign(static_cast<std::size_t>(3 + blocks * block_depth), 32);
  config.sizes.front() = 10;
  config.sizes.back() = 3;
  return config;
}

}  // namespace

TEST_CASE("residual schemes: alpha_b, fixup's branch scale B^(-1/(2m-2)) and its zero layers") {
  for (const Index block_depth : {1, 2}) {
    CAPTURE(block_depth);
    const Index blocks = 9;
    const MlpConfig config = residual_net(blocks, block_depth);
    const Index L = config.num_layers();
    Mlp<double> he(config, 1);
    initialize(he, InitConfig{Scheme::parse("he_normal"), ""}, 7, 2);
    SUBCASE("he_normal: every layer as in a plain net, alpha_b = 1") {
      CHECK((he.params().alpha.array() == 1.0).all());
      Mlp<double> plain(MlpConfig{config.sizes, config.hidden, config.output}, 1);
      initialize(plain, InitConfig{Scheme::parse("he_normal"), ""}, 7, 2);
      for (Index l = 1; l <= L; ++l) CHECK(same<double>(he.W(l), plain.W(l)));
    }
    SUBCASE("rezero and skipinit: he_normal's layers, alpha_b = 0 or the given constant") {
      for (const auto& [text, alpha] : std::vector<std::pair<std::string, double>>{
               {"rezero", 0.0}, {"skipinit", 0.0}, {"skipinit(alpha=0.25)", 0.25}}) {
        CAPTURE(text);
        Mlp<double> net(config, 1);
        initialize(net, InitConfig{Scheme::parse(text), ""}, 7, 2);
        CHECK((net.params().alpha.array() == alpha).all());
        for (Index l = 1; l <= L; ++l) CHECK(same<double>(net.W(l), he.W(l)));
      }
    }
    SUBCASE("fixup") {
      Mlp<double> net(config, 1);
      initialize(net, InitConfig{Scheme::parse("fixup"), ""}, 7, 2);
      CHECK((net.params().alpha.array() == 1.0).all());
      CHECK(same<double>(net.W(1), he.W(1)));
      CHECK(net.W(L).isZero());
      CHECK(net.b(L).isZero());
      // 9 blocks, m = 2: the first layer of every branch times 9^(-1/2) = 1/3
      for (Index blk = 1; blk <= blocks; ++blk) {
        CAPTURE(blk);
        CHECK(net.W(config.branch_last(blk)).isZero());
        if (block_depth == 2) {
          const Index l = config.branch_first(blk);
          CHECK((net.W(l) - he.W(l) / 3.0).cwiseAbs().maxCoeff() <= 1e-15);
          CHECK(he.W(l).norm() > 0);
        }
      }
    }
    SUBCASE("a float net gets the double net's values rounded") {
      for (const char* text : {"fixup", "rezero", "skipinit(alpha=0.1)"}) {
        CAPTURE(text);
        Mlp<float> f(config, 1);
        Mlp<double> d(config, 1);
        initialize(f, InitConfig{Scheme::parse(text), ""}, 7, 2);
        initialize(d, InitConfig{Scheme::parse(text), ""}, 7, 2);
        for (Index l = 1; l <= L; ++l)
          CHECK(same<float>(f.W(l), Matrix<float>(d.W(l).cast<float>())));
        CHECK(same<float>(f.params().alpha, Vector<float>(d.params().alpha.cast<float>())));
      }
    }
  }
}

TEST_CASE("residual schemes: errors for plain nets, lsuv and as a bias scheme") {
  const MlpConfig plain{{10, 32, 32, 3}, Activation::parse("relu"), Output::kSoftmax};
  for (const char* text : {"fixup", "rezero", "skipinit"}) {
    CAPTURE(text);
    const InitConfig as_weights{Scheme::parse(text), "", 1.0};
    const InitConfig as_bias{Scheme::parse("he_normal"), text, 1.0};
    CHECK_THROWS_WITH_AS(as_weights.check(plain),
                         doctest::Contains("is for residual nets (model.residual = true)"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(as_bias.check(residual_net(2, 2)),
                         doctest::Contains("cannot initialise biases"), std::invalid_argument);
  }
  const InitConfig lsuv_init{Scheme::parse("lsuv"), "", 1.0};
  CHECK_THROWS_WITH_AS(lsuv_init.check(residual_net(2, 2)),
                       doctest::Contains("a residual net's stream"), std::invalid_argument);
  const InitConfig orthogonal{Scheme::parse("orthogonal"), "", 1.0};
  CHECK_NOTHROW(orthogonal.check(residual_net(2, 1)));
}

TEST_CASE("pinned bits: he_normal, torch_default and orthogonal on a 3x4 layer, seed 1 run 0") {
  // Printed once with %a from this implementation. They pin the generator, the normal and
  // uniform transforms, the stream keying, the row-major order and the Gram-Schmidt: any
  // platform or refactoring that changes one bit of an initial weight fails here.
  MlpConfig config{{4, 3}, Activation::parse("relu"), Output::kLinear};
  Mlp<double> net(config, 1);

  initialize(net, InitConfig{Scheme::parse("he_normal"), ""}, 1, 0);
  const double he[3][4] = {
      {0x1.0cda96f38b3dbp+0, -0x1.67e21a016b28fp-5, -0x1.7c0a6e1c05d7dp-3, -0x1.1e34e568d7f5ep+0},
      {0x1.b6abc33a12cb4p-1, -0x1.5885d5be379ebp-8, 0x1.0a0216ed9a2bep-2, -0x1.1c539d181796cp-1},
      {-0x1.862ff15a7cfb5p-5, -0x1.ab597e8a672a9p-2, -0x1.dedd33d8961aep-2, -0x1.34ad8b382a978p-2}};
  // The documented recipe: W(i, j) = sqrt(2 / fan_in) * z, z the next N(0, 1) of
  // Rng(seed, run, kWeights + l), row by row.
  Rng rng(1, 0, stream::kWeights + 1);
  for (Index i = 0; i < 3; ++i) {
    for (Index j = 0; j < 4; ++j) {
      CAPTURE(i);
      CAPTURE(j);
      CHECK(net.W(1)(i, j) == std::sqrt(0.5) * rng.normal());
      CHECK(net.W(1)(i, j) == he[i][j]);
    }
  }
  CHECK(net.b(1).isZero(0.0));

  initialize(net, InitConfig{Scheme::parse("torch_default"), ""}, 1, 0);
  const double td_w[3][4] = {
      {0x1.d44cf2d7d7d2p-2, 0x1.1bafb99f62984p-2, 0x1.266c10d4c45a4p-2, -0x1.8a1bc3b578f8p-7},
      {-0x1.60e12d5cf028p-5, -0x1.09c07062e989p-2, 0x1.62b1c6e2f5c76p-2, -0x1.1691c6b0fd7p-9},
      {-0x1.c6432602f3d22p-2, -0x1.1cfc9b7964e42p-2, 0x1.678c8ab0747e4p-3, -0x1.804f1ed1d299cp-2}};
  const double td_b[3] = {0x1.15a265858b2c4p-3, 0x1.daaf4a50b5becp-3, 0x1.48a61da18a78cp-3};
  for (Index i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(net.b(1)(i) == td_b[i]);
    for (Index j = 0; j < 4; ++j) {
      CAPTURE(j);
      CHECK(net.W(1)(i, j) == td_w[i][j]);
    }
  }

  initialize(net, InitConfig{Scheme::parse("orthogonal"), ""}, 1, 0);
  const double orth[3][4] = {
      {0x1.5bdefe729ba28p-1, -0x1.d1a77fd216a24p-6, -0x1.ebbc77f607a4ep-4, -0x1.7252e964548a5p-1},
      {0x1.dcebbc157dac1p-2, 0x1.8d81b3062b077p-5, 0x1.a9fbb9493ac2cp-1, 0x1.30a4407559b28p-2},
      {0x1.e1579ab3a5126p-5, -0x1.fcbc8a6e0badep-1, -0x1.2cf31a17c165cp-7, 0x1.883f63a80d42ep-4}};
  for (Index i = 0; i < 3; ++i) {
    for (Index j = 0; j < 4; ++j) {
      CAPTURE(i);
      CAPTURE(j);
      CHECK(net.W(1)(i, j) == orth[i][j]);
    }
  }
}

// -------------------------------------------------------------------------------------------------
// 5. calculate_gain
// -------------------------------------------------------------------------------------------------

TEST_CASE("calculate_gain: PyTorch's table") {
  CHECK(calculate_gain(Activation::parse("identity")) == 1.0);
  CHECK(calculate_gain(Activation::parse("sigmoid")) == 1.0);
  CHECK(calculate_gain(Activation::parse("tanh")) == doctest::Approx(5.0 / 3.0).epsilon(1e-15));
  CHECK(calculate_gain(Activation::parse("relu")) ==
        doctest::Approx(1.4142135623730951).epsilon(1e-15));
  CHECK(calculate_gain(Activation::parse("leaky_relu(slope=0.2)")) ==
        doctest::Approx(std::sqrt(2.0 / 1.04)).epsilon(1e-15));
  // PyTorch's default negative slope is 0.01, as is ours.
  CHECK(calculate_gain(Activation::parse("leaky_relu")) ==
        doctest::Approx(std::sqrt(2.0 / 1.0001)).epsilon(1e-15));
  CHECK(calculate_gain(Activation::parse("selu")) == 0.75);
  for (const char* name : {"gelu", "elu", "softsign"}) {
    CAPTURE(name);
    CHECK_THROWS_WITH_AS(calculate_gain(Activation::parse(name)), doctest::Contains(name),
                         std::invalid_argument);
  }
  // A gain given by name resolves to the same number.
  CHECK(Scheme::parse("orthogonal(gain=tanh)").number("gain") ==
        doctest::Approx(5.0 / 3.0).epsilon(1e-15));
  CHECK(Scheme::parse("glorot_uniform(gain=leaky_relu(slope=0.2))").number("gain") ==
        doctest::Approx(std::sqrt(2.0 / 1.04)).epsilon(1e-15));
}

// -------------------------------------------------------------------------------------------------
// 6. Parsing
// -------------------------------------------------------------------------------------------------

TEST_CASE("Scheme::parse: defaults, positional arguments, and the text as written") {
  const Scheme he = Scheme::parse("he_normal");
  CHECK(he.name() == "he_normal");
  CHECK(he.choice("mode") == "fan_in");
  CHECK(he.number("slope") == 0.0);
  const Scheme vs = Scheme::parse("variance_scaling");
  CHECK(vs.number("scale") == 1.0);
  CHECK(vs.choice("mode") == "fan_in");
  CHECK(vs.choice("distribution") == "truncated_normal");
  CHECK(Scheme::parse("sparse").number("nonzero") == 15.0);
  CHECK(Scheme::parse("torch_sparse(sparsity=0.3)").number("stddev") == 0.01);
  const Scheme lsuv_scheme = Scheme::parse("lsuv");
  CHECK(lsuv_scheme.number("tol") == 0.1);
  CHECK(lsuv_scheme.number("max_iter") == 10.0);
  CHECK(lsuv_scheme.info().data_dependent);
  const Scheme tn = Scheme::parse("truncated_normal(mean=1, stddev=2)");
  CHECK(tn.number("low") == -3.0);
  CHECK(tn.number("high") == 5.0);
  CHECK(Scheme().name() == "zeros");

  SUBCASE("constant(0.5) is constant(value=0.5)") {
    const Scheme positional = Scheme::parse("constant(0.5)");
    const Scheme named = Scheme::parse("constant(value=0.5)");
    CHECK(positional.name() == "constant");
    CHECK(positional.number("value") == 0.5);
    CHECK(named.number("value") == 0.5);
    CHECK(positional.text() == "constant(0.5)");
    Rng r1(1);
    Rng r2(1);
    CHECK(same<double>(positional.sample_weights(3, 5, r1), named.sample_weights(3, 5, r2)));
    CHECK(same<double>(positional.sample_weights(3, 5, r1), Matrix<double>::Constant(5, 3, 0.5)));
  }
  SUBCASE("positional arguments follow the declared order") {
    const Scheme u = Scheme::parse("uniform(-1, 3)");
    CHECK(u.number("low") == -1.0);
    CHECK(u.number("high") == 3.0);
    const Scheme n = Scheme::parse("normal(1, stddev=2)");
    CHECK(n.number("mean") == 1.0);
    CHECK(n.number("stddev") == 2.0);
  }
}

TEST_CASE("Scheme::parse: errors say what is wrong") {
  auto throws_with = [](const char* text, const char* needle) {
    CAPTURE(text);
    CAPTURE(needle);
    CHECK_THROWS_WITH_AS(Scheme::parse(text), doctest::Contains(needle), std::invalid_argument);
  };
  // unknown name, with a suggestion and the allowed names
  throws_with("he_norml", "did you mean 'he_normal'");
  throws_with("he_norml", "unknown scheme 'he_norml'");
  throws_with("glorot_unifrom", "did you mean 'glorot_uniform'");
  throws_with("xyzzy", "allowed: ");
  // unknown parameter
  throws_with("he_normal(mdoe=fan_out)", "unknown parameter 'mdoe'");
  throws_with("he_normal(mdoe=fan_out)", "did you mean 'mode'");
  throws_with("zeros(value=1)", "unknown parameter 'value'");
  // missing required parameter
  throws_with("normal", "missing parameter 'stddev'");
  throws_with("normal(mean=1)", "missing parameter 'stddev'");
  throws_with("constant", "missing parameter 'value'");
  throws_with("uniform(low=0)", "missing parameter 'high'");
  throws_with("torch_sparse", "missing parameter 'sparsity'");
  // out of range
  throws_with("normal(stddev=-1)", "stddev must be >= 0");
  throws_with("sparse(stddev=-0.5)", "stddev must be >= 0");
  throws_with("glorot_uniform(gain=0)", "gain must be > 0");
  throws_with("orthogonal(gain=-2)", "gain must be > 0");
  throws_with("variance_scaling(scale=0)", "scale must be > 0");
  throws_with("uniform(low=1, high=1)", "low must be < high");
  throws_with("truncated_normal(stddev=1, low=2, high=-2)", "low must be < high");
  throws_with("truncated_normal(stddev=0)", "stddev must be > 0");
  throws_with("normal(stddev=nan)", "must be finite");
  throws_with("normal(stddev=abc)", "not a number");
  throws_with("sparse(nonzero=2.5)", "positive integer");
  throws_with("sparse(nonzero=0)", "positive integer");
  throws_with("lsuv(tol=0)", "tol must be > 0");
  // bad choice
  throws_with("he_normal(mode=fan_avg)", "mode = 'fan_avg' is not allowed");
  throws_with("variance_scaling(distribution=unifrom)", "did you mean 'uniform'");
  // gain neither a number nor an activation with a gain
  throws_with("orthogonal(gain=gelu)", "gain 'gelu'");
  // bounds far in the tail: redrawing would never end
  throws_with("truncated_normal(stddev=1, low=5, high=6)", "redrawing");
  throws_with("truncated_normal(mean=0, stddev=0.1, low=-10, high=-0.4)", "redrawing");
  // torch_sparse's sparsity must be in [0, 1)
  throws_with("torch_sparse(sparsity=1)", "sparsity must be in [0, 1)");
  throws_with("torch_sparse(sparsity=-0.1)", "sparsity must be in [0, 1)");
  // a parameter given twice, by name or by position and name
  throws_with("normal(stddev=1, stddev=2)", "parameter 'stddev' given twice");
  throws_with("constant(0.5, value=1)", "parameter 'value' given twice");
  // too many positional arguments
  throws_with("constant(1, 2)", "too many arguments");
  throws_with("zeros(1)", "too many arguments");
  // Bounds inside the mass are fine, even if narrow.
  CHECK_NOTHROW(Scheme::parse("truncated_normal(stddev=1, low=-0.05, high=0.05)"));
  CHECK_NOTHROW(Scheme::parse("torch_sparse(sparsity=0)"));
}

TEST_CASE("lsuv: a layer with zero or non-finite output variance is left as it is") {
  MlpConfig config{{3, 8, 8, 1}, Activation::parse("tanh"), Output::kLinear};
  const InitConfig init{Scheme::parse("lsuv"), ""};
  Mlp<double> orth(config, 1);
  initialize(orth, InitConfig{Scheme::parse("orthogonal"), ""}, 5, 0);
  SUBCASE("constant features: variance 0 in every layer") {
    const Matrix<double> zeros = Matrix<double>::Zero(3, 16);
    const ConstMatrixRef<double> batch(zeros);
    Mlp<double> net(config, 1);
    initialize(net, init, 5, 0, &batch);
    for (Index l = 1; l <= net.num_layers(); ++l) CHECK(net.W(l) == orth.W(l));
  }
  SUBCASE("infinite features: the first layer's variance is not finite") {
    Matrix<double> huge = normal_batch<double>(3, 16, 2);
    huge(0, 0) = std::numeric_limits<double>::infinity();
    const ConstMatrixRef<double> batch(huge);
    Mlp<double> net(config, 1);
    initialize(net, init, 5, 0, &batch);
    CHECK(net.W(1) == orth.W(1));
  }
}

TEST_CASE("Scheme::parse: other libraries' names resolve where the definitions agree") {
  CHECK(Scheme::parse("xavier_uniform").name() == "glorot_uniform");
  CHECK(Scheme::parse("xavier_normal(gain=2)").number("gain") == 2.0);
  CHECK(Scheme::parse("kaiming_normal(mode=fan_out)").name() == "he_normal");
  CHECK(Scheme::parse("kaiming_normal(mode=fan_out)").choice("mode") == "fan_out");
  CHECK(Scheme::parse("kaiming_uniform").name() == "he_uniform");
  CHECK(Scheme::parse("eye").name() == "identity");
  CHECK(Scheme::parse("GlorotUniform").name() == "glorot_uniform");
  CHECK(Scheme::parse("HeUniform").name() == "he_uniform");
  CHECK(Scheme::parse("Orthogonal(gain=2)").name() == "orthogonal");
  CHECK(Scheme::parse("xavier_uniform").text() == "xavier_uniform");  // as written
  // where they do not agree, the error says what to write, and that parses
  for (const auto& [alias, suggestion] : std::vector<std::pair<std::string, std::string>>{
           {"GlorotNormal",
            "variance_scaling(scale=1, mode=fan_avg, distribution=truncated_normal)"},
           {"HeNormal", "variance_scaling(scale=2, mode=fan_in, distribution=truncated_normal)"},
           {"LecunNormal", "variance_scaling(scale=1, mode=fan_in, distribution=truncated_normal)"},
           {"trunc_normal", "truncated_normal(stddev=s, low=lo, high=hi)"}}) {
    CAPTURE(alias);
    CHECK_THROWS_WITH_AS(Scheme::parse(alias), doctest::Contains(suggestion.c_str()),
                         std::invalid_argument);
    if (suggestion.starts_with("variance")) CHECK_NOTHROW(Scheme::parse(suggestion));
  }
  // a Keras GlorotNormal has the variance of Glorot's normal: the truncation is corrected
  CHECK(Scheme::parse("variance_scaling(scale=1, mode=fan_avg, distribution=truncated_normal)")
            .variance(300, 700) ==
        doctest::Approx(Scheme::parse("glorot_normal").variance(300, 700)));
}

// -------------------------------------------------------------------------------------------------
// npy(path): a network from files
// -------------------------------------------------------------------------------------------------

namespace {
std::filesystem::path fresh_dir(const std::string& name) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("initbench_test_init_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}
}  // namespace

TEST_CASE(
    "npy(path): the folder's weights times init.scale and biases from the files or init.bias") {
  const std::filesystem::path dir = fresh_dir("npy");
  Rng rng(4);
  const Scheme unit = Scheme::parse("normal(stddev=1)");
  const Matrix<double> w1 = unit.sample_weights(2, 3, rng);               // (3, 2)
  const Matrix<float> w2 = unit.sample_weights(3, 1, rng).cast<float>();  // (1, 3)
  write_npy((dir / "W1.npy").string(), w1);
  write_npy((dir / "W2.npy").string(), w2);
  MlpConfig config;
  config.sizes = {2, 3, 1};
  InitConfig init{Scheme::parse("npy(" + dir.filename().string() + ")"), "", 2.0};
  init.base_dir = dir.parent_path().string();
  CHECK(init.weights_folder() == dir.string());
  CHECK(std::isnan(init.weights.variance(2, 3)));
  Mlp<double> net(config, 1);
  initialize(net, init, 1, 0);
  CHECK(net.W(1) == 2.0 * w1);
  CHECK(net.W(2) == 2.0 * w2.cast<double>());
  CHECK(net.b(1).isZero());
  init.bias_text = "constant(value=0.5)";
  initialize(net, init, 1, 0);
  CHECK((net.b(2).array() == 0.5).all());
  // b<l>.npy beside init.bias: refused; without init.bias: loaded.
  const Vector<double> b1 = Vector<double>::Constant(3, -1.5);
  const Vector<double> b2 = Vector<double>::Constant(1, 0.25);
  write_npy((dir / "b1.npy").string(), b1);
  CHECK_THROWS_WITH_AS(init.check(config), doctest::Contains("b2.npy: missing"),
                       std::invalid_argument);
  write_npy((dir / "b2.npy").string(), b2);
  CHECK_THROWS_WITH_AS(init.check(config), doctest::Contains("init.bias = 'constant(value=0.5)'"),
                       std::invalid_argument);
  init.bias_text = "";
  initialize(net, init, 1, 0);
  CHECK(net.b(1) == b1);
  CHECK(net.b(2) == b2);
  // the wrong network
  config.sizes = {2, 3, 3, 1};
  CHECK_THROWS_WITH_AS(init.check(config), doctest::Contains("2 layers"), std::invalid_argument);
  config.sizes = {2, 4, 1};
  CHECK_THROWS_WITH_AS(init.check(config), doctest::Contains("expected (4, 2)"),
                       std::invalid_argument);
  // the scheme cannot sample one layer on its own, nor initialise a bias
  CHECK_THROWS_AS(init.weights.sample_weights(2, 3, rng), std::invalid_argument);
  CHECK_THROWS_AS(Scheme::parse("npy").number("path"), std::invalid_argument);
  std::filesystem::remove_all(dir);
}
