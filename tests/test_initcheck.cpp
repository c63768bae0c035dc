#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "initbench/init.hpp"
#include "initbench/initcheck.hpp"
#include "initbench/rng.hpp"

using namespace initbench;

namespace {

template <typename Draw>
Matrix<double> draw(Index rows, Index cols, Draw d) {
  Matrix<double> w(rows, cols);
  for (Index i = 0; i < rows; ++i) {
    for (Index j = 0; j < cols; ++j) w(i, j) = d();
  }
  return w;
}

// N(0, 1) redrawn outside [-c, c].
Matrix<double> truncated(Index rows, Index cols, double c, Rng& rng) {
  return draw(rows, cols, [&] {
    for (;;) {
      const double x = rng.normal();
      if (std::abs(x) <= c) return x;
    }
  });
}

}  // namespace

// Values written independently of the code: the moments of N(0, 1) on [-c, c] by numerical
// integration (Simpson, 20000 panels), and the two limits.
TEST_CASE("truncated normal: variance, excess kurtosis and max_z against integration") {
  for (const double c : {0.5, 1.0, 2.0, 3.0}) {
    CAPTURE(c);
    const int panels = 20000;
    const double h = 2 * c / panels;
    double z = 0, m2 = 0, m4 = 0;
    for (int i = 0; i <= panels; ++i) {
      const double x = -c + i * h;
      const double weight = (i == 0 || i == panels) ? 1 : (i % 2 == 1 ? 4 : 2);
      const double p = weight * std::exp(-0.5 * x * x);
      z += p;
      m2 += p * x * x;
      m4 += p * x * x * x * x;
    }
    CHECK(truncated_unit_variance(c) == doctest::Approx(m2 / z).epsilon(1e-9));
    CHECK(truncated_excess_kurtosis(c) ==
          doctest::Approx(m4 / z / (m2 / z * m2 / z) - 3).epsilon(1e-8));
    CHECK(truncation_from_max_z(c / std::sqrt(m2 / z)) == doctest::Approx(c).epsilon(1e-8));
  }
  CHECK(truncated_unit_variance(2.0) == doctest::Approx(0.7737413).epsilon(1e-6));
  CHECK(truncated_excess_kurtosis(0.02) == doctest::Approx(-1.2).epsilon(1e-3));  // uniform
  CHECK(std::abs(truncated_excess_kurtosis(8.0)) < 1e-9);                         // normal
  CHECK(truncation_from_max_z(std::sqrt(3.0)) == 0.0);
}

TEST_CASE("fit_shape: uniform, normal and truncated normal, each not taken for the others") {
  Rng rng(20261203);
  const Matrix<double> uniform = draw(200, 200, [&] { return rng.uniform(-0.1, 0.1); });
  const Matrix<double> normal = draw(200, 200, [&] { return 0.05 * rng.normal(); });
  const Matrix<double> cut2 = truncated(200, 200, 2.0, rng);
  const Matrix<double> cut1 = truncated(200, 200, 1.0, rng);
  ShapeFit f = fit_shape(uniform);
  CHECK(f.shape == "uniform");
  CHECK(f.excess_kurtosis == doctest::Approx(-1.2).epsilon(0.05));
  CHECK(f.kurtosis_se == doctest::Approx(std::sqrt(1.3166 / 40000.0)).epsilon(0.1));
  CHECK(f.max_z == doctest::Approx(std::sqrt(3.0)).epsilon(0.01));  // the sample's sd: +-0.2%
  f = fit_shape(normal);
  CHECK(f.shape == "normal");
  CHECK(std::isnan(f.cut));
  CHECK(f.kurtosis_se == doctest::Approx(std::sqrt(24 / 40000.0)).epsilon(0.1));
  CHECK(f.normal_beyond <= kBoundedBeyond);
  f = fit_shape(cut2);
  CHECK(f.shape == "truncated_normal");
  CHECK(f.cut == doctest::Approx(2.0).epsilon(0.02));
  f = fit_shape(cut1);
  CHECK(f.shape == "truncated_normal");
  CHECK(f.cut == doctest::Approx(1.0).epsilon(0.02));
}

// kBoundedBeyond from both sides: a cut at 3 sd is seen with 200000 entries (a normal sample
// that size would put about 470 beyond the largest), not with 2000 (about 5).
TEST_CASE("fit_shape: a cut at 3 sd is seen only when the sample is large enough") {
  Rng rng(5);
  ShapeFit f = fit_shape(truncated(500, 400, 3.0, rng));
  CHECK(f.normal_beyond > kBoundedBeyond);
  CHECK(f.shape == "truncated_normal");
  CHECK(f.cut == doctest::Approx(3.0).epsilon(0.03));
  f = fit_shape(truncated(50, 40, 3.0, rng));
  CHECK(f.normal_beyond < kBoundedBeyond);
  CHECK(f.shape == "normal");
}

TEST_CASE("fit_shape: heavy and light tails, bounded others, constants, too few, zeros ignored") {
  Rng rng(9);
  // Laplace (excess kurtosis 3) and a two-point +-1 (excess kurtosis -2, bounded at 1 sd).
  const Matrix<double> laplace = draw(100, 200, [&] {
    const double u = rng.uniform(-0.5, 0.5);
    return (u < 0 ? 1.0 : -1.0) * std::log(1 - 2 * std::abs(u));
  });
  CHECK(fit_shape(laplace).shape == "heavy_tailed");
  const Matrix<double> two_point = draw(100, 200, [&] { return rng.uniform() < 0.5 ? -1.0 : 1.0; });
  CHECK(fit_shape(two_point).shape == "bounded_other");
  // Two normals N(+-1, 1), half and half: excess kurtosis (1 + 6 + 3) / 2^2 - 3 = -0.5. Its tails
  // fall as exp(-(sqrt(2) z - 1)^2 / 2), faster than a normal's of the same variance: with 2000
  // entries that does not show (light_tailed), with 20000 it does (bounded, and not uniform or
  // a truncated normal).
  auto bimodal = [&] { return (rng.uniform() < 0.5 ? -1.0 : 1.0) + rng.normal(); };
  ShapeFit f = fit_shape(draw(40, 50, bimodal));
  CHECK(f.shape == "light_tailed");
  CHECK(f.normal_beyond < kBoundedBeyond);
  f = fit_shape(draw(100, 200, bimodal));
  CHECK(f.shape == "bounded_other");
  CHECK(f.normal_beyond > kBoundedBeyond);
  CHECK(fit_shape(Matrix<double>::Identity(100, 100)).shape == "constant");
  CHECK(fit_shape(Matrix<double>::Constant(10, 10, 0.5)).shape == "constant");
  CHECK(fit_shape(draw(7, 7, [&] { return rng.normal(); })).shape == "too_few");
  // Zeros are left out: a sparse normal is normal.
  Matrix<double> sparse = draw(200, 200, [&] { return rng.normal(); });
  for (Index k = 0; k < sparse.size(); ++k) {
    if (rng.uniform() < 0.8) sparse(k) = 0.0;
  }
  CHECK(fit_shape(sparse).shape == "normal");
}

TEST_CASE("check_layer_weights: the registry's variances, ties, --scheme, orthogonality") {
  Rng rng(17);
  const std::vector<Scheme> candidates = comparison_schemes();
  // every candidate is random and complete by its name; npy, lsuv and the fixed ones are not in
  for (const Scheme& s : candidates) {
    CAPTURE(s.text());
    CHECK(s.info().random);
    CHECK(!s.info().from_files);
    CHECK(!s.info().data_dependent);
    CHECK(s.variance(30, 20) > 0);
  }
  const Scheme he = Scheme::parse("he_normal");
  const Matrix<double> w = he.sample_weights(300, 200, rng);  // (200, 300)
  const InitCheckRow row =
      check_layer_weights(2, w, candidates, Scheme::parse("normal(stddev=0.1)"));
  CHECK(row.layer == 2);
  CHECK(row.fan_in == 300);
  CHECK(row.fan_out == 200);
  CHECK(row.best_scheme == "he_uniform");
  CHECK(row.same_variance == "he_normal");
  CHECK(row.best_variance == doctest::Approx(2.0 / 300).epsilon(1e-12));
  CHECK(row.best_ratio == doctest::Approx(1.0).epsilon(0.03));
  CHECK(row.scheme == "normal(stddev=0.1)");
  CHECK(row.scheme_ratio == doctest::Approx(2.0 / 300 / 0.01).epsilon(0.03));
  CHECK(row.sparsity == 0.0);
  // orthogonal(gain=3) at 200 x 300: rows orthonormal times 3
  const Matrix<double> q = Scheme::parse("orthogonal(gain=3)").sample_weights(300, 200, rng);
  const InitCheckRow orth = check_layer_weights(1, q, candidates, std::nullopt);
  CHECK(orth.gain == doctest::Approx(3.0).epsilon(1e-12));
  CHECK(orth.orthogonality_error < 1e-13);
  CHECK(std::isnan(orth.scheme_ratio));
  CHECK(row.orthogonality_error == doctest::Approx(std::sqrt(199.0 / 300)).epsilon(0.1));
  // all zeros: no scheme, no gain
  const InitCheckRow zeros = check_layer_weights(1, Matrix<double>::Zero(4, 5), candidates, {});
  CHECK(zeros.best_scheme.empty());
  CHECK(zeros.sparsity == 1.0);
  CHECK(std::isnan(zeros.orthogonality_error));
}
