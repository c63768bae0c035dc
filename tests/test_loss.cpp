#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "initbench/loss.hpp"

using namespace initbench;

TEST_CASE("MSE, BCE and CE against hand-computed values") {
  Matrix<double> z(1, 2);
  Matrix<double> y(1, 2);
  z << 2.0, -1.0;
  y << 1.0, 0.0;
  // MSE: ((2-1)^2 + (-1-0)^2) / 2 = 1
  CHECK(loss_forward<double>(Output::kLinear, z, y) == doctest::Approx(1.0));
  // BCE: (log(1+e^-2) + log(1+e^-1)) / 2
  CHECK(loss_forward<double>(Output::kSigmoid, z, y) ==
        doctest::Approx((std::log1p(std::exp(-2.0)) + std::log1p(std::exp(-1.0))) / 2));
  Matrix<double> zs(3, 1);
  Matrix<double> ys(3, 1);
  zs << 1.0, 2.0, 3.0;
  ys << 0.0, 1.0, 0.0;
  // CE: logsumexp(1,2,3) - 2
  CHECK(loss_forward<double>(Output::kSoftmax, zs, ys) ==
        doctest::Approx(std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 2.0));
  Matrix<double> dz(3, 1);
  loss_backward<double>(Output::kSoftmax, zs, ys, dz);
  const double s = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  CHECK(dz(0) == doctest::Approx(std::exp(1.0) / s));
  CHECK(dz(1) == doctest::Approx(std::exp(2.0) / s - 1.0));
  CHECK(dz.sum() == doctest::Approx(0.0).epsilon(1e-15));
}

TEST_CASE_TEMPLATE("saturated logits: the course's 'inf' cost is finite, and gradients are exact",
                   T, float, double) {
  // sigmoid(1000) rounds to 1, and the course's -log(1 - a) is then inf. From the logits the
  // loss is 1000 and the gradient is exactly sigmoid(z) - y = 1 (over m = 2 samples).
  Matrix<T> z(1, 2);
  Matrix<T> y(1, 2);
  z << T(1000), T(-1000);
  y << T(0), T(0);
  const double loss = loss_forward<T>(Output::kSigmoid, z, y);
  CHECK(std::isfinite(loss));
  CHECK(loss == doctest::Approx(500.0));
  Matrix<T> dz(1, 2);
  loss_backward<T>(Output::kSigmoid, z, y, dz);
  CHECK(dz.allFinite());
  CHECK(static_cast<double>(dz(0)) == doctest::Approx(0.5));
  CHECK(static_cast<double>(dz(1)) == doctest::Approx(0.0));

  Matrix<T> zs(2, 1);
  Matrix<T> ys(2, 1);
  zs << T(-3000), T(3000);
  ys << T(1), T(0);
  CHECK(loss_forward<T>(Output::kSoftmax, zs, ys) == doctest::Approx(6000.0));
  Matrix<T> dzs(2, 1);
  loss_backward<T>(Output::kSoftmax, zs, ys, dzs);
  CHECK(dzs.allFinite());
  CHECK(static_cast<double>(dzs(0)) == doctest::Approx(-1.0));
  CHECK(static_cast<double>(dzs(1)) == doctest::Approx(1.0));
}

TEST_CASE("gradients of the mean loss match central differences") {
  for (Output out : {Output::kLinear, Output::kSigmoid, Output::kSoftmax}) {
    CAPTURE(output_name(out));
    Matrix<double> z(3, 4);
    z << 0.3, -1.2, 2.0, 0.1, 1.5, 0.2, -0.7, -2.2, -0.4, 0.9, 0.05, 1.1;
    Matrix<double> y = Matrix<double>::Zero(3, 4);
    for (Index j = 0; j < 4; ++j) y((j + 1) % 3, j) = 1.0;
    if (out == Output::kLinear) y(0, 0) = -0.5;
    Matrix<double> dz(3, 4);
    loss_backward<double>(out, z, y, dz);
    for (Index k = 0; k < z.size(); ++k) {
      Matrix<double> zp = z;
      Matrix<double> zm = z;
      zp(k) += 1e-6;
      zm(k) -= 1e-6;
      const double numeric =
          (loss_forward<double>(out, zp, y) - loss_forward<double>(out, zm, y)) / 2e-6;
      CHECK(dz(k) == doctest::Approx(numeric).epsilon(1e-7));
    }
  }
}

TEST_CASE("count_correct") {
  Matrix<double> z(1, 4);
  Matrix<double> y(1, 4);
  z << 0.5, -0.5, 2.0, -3.0;
  y << 1, 1, 0, 0;
  auto c = count_correct<double>(Output::kSigmoid, z, y);
  CHECK(c.correct == 2);
  CHECK(c.total == 4);
  Matrix<double> zs(3, 2);
  Matrix<double> ys = Matrix<double>::Zero(3, 2);
  zs << 1, 0, 2, 0, 3, 5;
  ys(2, 0) = 1;
  ys(0, 1) = 1;
  c = count_correct<double>(Output::kSoftmax, zs, ys);
  CHECK(c.correct == 1);
  CHECK(c.total == 2);
  CHECK(count_correct<double>(Output::kLinear, z, y).total == 0);
  // nan logits (a diverged network) are wrong whatever the label, not class 0
  const double nan = std::numeric_limits<double>::quiet_NaN();
  z << nan, nan, nan, 1.0;
  y << 0, 1, 0, 1;
  c = count_correct<double>(Output::kSigmoid, z, y);
  CHECK(c.correct == 1);
  CHECK(c.total == 4);
  zs << nan, 0, 2, 0, 3, 5;
  ys.setZero();
  ys(0, 0) = 1;  // argmax over nan would have said 0
  ys(2, 1) = 1;
  c = count_correct<double>(Output::kSoftmax, zs, ys);
  CHECK(c.correct == 1);
  CHECK(c.total == 2);
}

TEST_CASE("parse_output") {
  CHECK(parse_output("softmax") == Output::kSoftmax);
  CHECK_THROWS_WITH_AS(parse_output("sigmod"), doctest::Contains("did you mean 'sigmoid'"),
                       std::invalid_argument);
}
