#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <set>
#include <stdexcept>
#include <string>

#include "initbench/activation.hpp"

using namespace initbench;

namespace {
constexpr const char* kAll[] = {
    "identity",       "sigmoid", "tanh",     "relu", "leaky_relu(slope=0.2)",
    "elu(alpha=0.7)", "selu",    "softsign", "gelu", "silu"};

template <typename T>
Matrix<T> grid() {
  // Points from -30 to 30, including both tails and 0.
  Matrix<T> z(7, 13);
  for (Index j = 0; j < z.cols(); ++j) {
    for (Index i = 0; i < z.rows(); ++i)
      z(i, j) = static_cast<T>(-30.0 + 60.0 * static_cast<double>(i * 13 + j) / 90.0);
  }
  z(0, 0) = T(0);
  return z;
}
}  // namespace

TEST_CASE_TEMPLATE("activation_forward and backward match the scalar formulas", T, float, double) {
  const double tol = std::is_same_v<T, float> ? 2e-6 : 1e-13;
  const Matrix<T> z = grid<T>();
  for (const std::string name : kAll) {
    CAPTURE(name);
    const Activation act = Activation::parse(name);
    Matrix<T> a(z.rows(), z.cols());
    activation_forward<T>(act, z, a);
    Matrix<T> d = Matrix<T>::Ones(z.rows(), z.cols());
    activation_backward<T>(act, z, a, d);
    for (Index k = 0; k < z.size(); ++k) {
      const double zk = static_cast<double>(z(k));
      const double expected = activation_value(act, zk);
      CAPTURE(zk);
      REQUIRE(std::isfinite(static_cast<double>(a(k))));
      CHECK(std::abs(static_cast<double>(a(k)) - expected) <=
            tol * std::max(1.0, std::abs(expected)));
      const double slope = activation_derivative(act, zk);
      CHECK(std::abs(static_cast<double>(d(k)) - slope) <= tol * std::max(1.0, std::abs(slope)));
    }
  }
}

TEST_CASE("scalar derivatives agree with central differences away from kinks") {
  for (const std::string name : kAll) {
    CAPTURE(name);
    const Activation act = Activation::parse(name);
    for (double z = -6.05; z < 6; z += 0.37) {
      const double h = 1e-6;
      const double numeric =
          (activation_value(act, z + h) - activation_value(act, z - h)) / (2 * h);
      CAPTURE(z);
      CHECK(activation_derivative(act, z) == doctest::Approx(numeric).epsilon(1e-7));
    }
  }
}

TEST_CASE("known values") {
  CHECK(activation_value(Activation::parse("sigmoid"), 0.0) == 0.5);
  CHECK(activation_value(Activation::parse("sigmoid"), -800.0) == 0.0);
  CHECK(activation_value(Activation::parse("relu"), -2.0) == 0.0);
  CHECK(activation_derivative(Activation::parse("relu"), 0.0) == 0.0);
  CHECK(activation_value(Activation::parse("leaky_relu"), -2.0) == doctest::Approx(-0.02));
  CHECK(activation_value(Activation::parse("softsign"), 3.0) == doctest::Approx(0.75));
  // selu's constants make N(0,1) inputs give mean 0 / variance 1 outputs; at z = 1 it is lambda
  CHECK(activation_value(Activation::parse("selu"), 1.0) == doctest::Approx(1.0507009873554805));
  // gelu(1) = Phi(1) = 0.8413447460685429
  CHECK(activation_value(Activation::parse("gelu"), 1.0) == doctest::Approx(0.8413447460685429));
  // silu(1) = 1 / (1 + e^-1); its minimum is -0.2784645427610738 at z = -1.2784645427610738
  CHECK(activation_value(Activation::parse("silu"), 1.0) == doctest::Approx(0.7310585786300049));
  CHECK(activation_value(Activation::parse("silu"), -1.2784645427610738) ==
        doctest::Approx(-0.2784645427610738).epsilon(1e-12));
  CHECK(activation_derivative(Activation::parse("silu"), -1.2784645427610738) ==
        doctest::Approx(0.0).scale(1.0).epsilon(1e-12));
}

TEST_CASE("parse: names, parameters, errors") {
  CHECK(Activation::parse("tanh").kind == ActivationKind::kTanh);
  CHECK(Activation::parse("leaky_relu").param == 0.01);
  CHECK(Activation::parse("leaky_relu(0.3)").param == 0.3);
  CHECK(Activation::parse("leaky_relu(slope=0.3)").str() == "leaky_relu(slope=0.3)");
  CHECK(Activation::parse("leaky_relu(slope=0.01)").str() == "leaky_relu");
  CHECK(Activation::parse("elu").param == 1.0);
  CHECK_THROWS_WITH_AS(Activation::parse("rellu"), doctest::Contains("did you mean 'relu'"),
                       std::invalid_argument);
  CHECK_THROWS_AS(Activation::parse("tanh(2)"), std::invalid_argument);
  CHECK_THROWS_AS(Activation::parse("elu(alpha=-1)"), std::invalid_argument);
  CHECK_THROWS_AS(Activation::parse("leaky_relu(gain=2)"), std::invalid_argument);
  // kAll above covers every registered activation (a new one needs its reference values here)
  std::set<std::string> covered;
  for (const char* text : kAll) covered.insert(Activation::parse(text).name());
  for (const std::string& name : activation_names()) CHECK(covered.count(name) == 1);
  CHECK(covered.size() == activation_names().size());
}

TEST_CASE("every activation's traits agree with its formula") {
  // The properties other files read from the registry are checked against the activation's own
  // value and derivative, so a new entry cannot carry a gain, closed form or range its formula
  // contradicts.
  for (const ActivationTraits& traits : activation_registry()) {
    CAPTURE(traits.name);
    const Activation act{traits.kind, traits.param_name != nullptr ? 0.3 : 0.0};
    REQUIRE((traits.value != nullptr && traits.derivative != nullptr));
    CHECK(Activation::parse(traits.name).kind == traits.kind);
    CHECK(&activation_traits(traits.kind) == &traits);
    // homogeneous: phi(s z) = s phi(z) for s > 0, so E[phi(z)^2] = k q; k by a Riemann sum of
    // phi(z)^2 against the standard normal density
    if (traits.homogeneous_k != nullptr) {
      for (double z : {-2.5, -0.3, 0.7, 4.0}) {
        CHECK(activation_value(act, 3.0 * z) == doctest::Approx(3.0 * activation_value(act, z)));
      }
      double k = 0.0;
      const double h = 1e-3;
      for (double z = -12.0; z <= 12.0; z += h) {
        const double a = activation_value(act, z);
        k += a * a * std::exp(-0.5 * z * z) * h / std::sqrt(2.0 * std::numbers::pi);
      }
      CHECK(traits.homogeneous_k(act.param) == doctest::Approx(k).epsilon(1e-6));
    }
    // a saturated regime lies inside the output range, near its ends
    if (!std::isnan(traits.saturated_below)) {
      CHECK(traits.saturated_below < traits.saturated_above);
      CHECK(activation_value(act, -40.0) < traits.saturated_below);
      CHECK(activation_value(act, 40.0) > traits.saturated_above);
      CHECK(activation_value(act, 0.0) > traits.saturated_below);
      CHECK(activation_value(act, 0.0) < traits.saturated_above);
    }
    // fixed histogram ends bound every output
    for (double z = -50.0; z <= 50.0; z += 0.25) {
      const double a = activation_value(act, z);
      if (!std::isnan(traits.histogram_lo)) CHECK(a >= traits.histogram_lo);
      if (!std::isnan(traits.histogram_hi)) CHECK(a <= traits.histogram_hi);
    }
    // units that can die output exactly 0 on a whole half-line
    if (traits.can_die) CHECK(activation_value(act, -1.0) == 0.0);
    if (traits.gain != nullptr) CHECK(traits.gain(act.param) > 0.0);
  }
}
