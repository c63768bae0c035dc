#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>

#include "initbench/optimizer.hpp"

using namespace initbench;

namespace {
// A one-layer network with one weight and one bias: parameters p = (w, b).
MlpConfig tiny() { return MlpConfig{{1, 1}, {}, Output::kLinear}; }

Params<double> params(double w, double b) {
  Params<double> p(tiny());
  p.W[1](0, 0) = w;
  p.b[1](0) = b;
  return p;
}
}  // namespace

TEST_CASE("sgd, momentum and nesterov follow torch.optim's update rules") {
  const Params<double> g = params(0.5, -1.0);
  SUBCASE("sgd") {
    Optimizer<double> opt({OptimizerKind::kSgd, 0.1}, tiny());
    Params<double> p = params(1.0, 2.0);
    opt.step(p, g);
    CHECK(p.W[1](0, 0) == doctest::Approx(1.0 - 0.1 * 0.5));
    CHECK(p.b[1](0) == doctest::Approx(2.0 + 0.1));
  }
  SUBCASE("momentum: v = mu v + g; p -= lr v") {
    OptimizerConfig c{OptimizerKind::kMomentum, 0.1};
    c.momentum = 0.9;
    Optimizer<double> opt(c, tiny());
    Params<double> p = params(1.0, 0.0);
    opt.step(p, g);  // v = 0.5,            p = 1 - 0.05
    opt.step(p, g);  // v = 0.45 + 0.5,     p -= 0.095
    CHECK(p.W[1](0, 0) == doctest::Approx(1.0 - 0.05 - 0.095));
  }
  SUBCASE("nesterov: v = mu v + g; p -= lr (g + mu v)") {
    OptimizerConfig c{OptimizerKind::kNesterov, 0.1};
    c.momentum = 0.9;
    Optimizer<double> opt(c, tiny());
    Params<double> p = params(1.0, 0.0);
    opt.step(p, g);  // v = 0.5;  p -= 0.1 (0.5 + 0.45) = 0.095
    opt.step(p, g);  // v = 0.95; p -= 0.1 (0.5 + 0.855) = 0.1355
    CHECK(p.W[1](0, 0) == doctest::Approx(1.0 - 0.095 - 0.1355));
  }
}

TEST_CASE("adam matches a step-by-step reference with bias correction") {
  OptimizerConfig c{OptimizerKind::kAdam, 0.01};
  Optimizer<double> opt(c, tiny());
  Params<double> p = params(1.0, 0.0);
  double w = 1.0, m = 0.0, v = 0.0;
  const double grads[] = {0.5, -0.2, 0.3, 1.0};
  for (int t = 1; t <= 4; ++t) {
    const double gt = grads[t - 1];
    opt.step(p, params(gt, 0.0));
    m = 0.9 * m + 0.1 * gt;
    v = 0.999 * v + 0.001 * gt * gt;
    w -= 0.01 * (m / (1 - std::pow(0.9, t))) / (std::sqrt(v / (1 - std::pow(0.999, t))) + 1e-8);
    CHECK(p.W[1](0, 0) == doctest::Approx(w).epsilon(1e-12));
  }
  // the first Adam step moves every parameter by about lr, whatever the gradient's scale
  Optimizer<double> fresh(c, tiny());
  Params<double> q = params(0.0, 0.0);
  fresh.step(q, params(1e-3, -50.0));
  CHECK(q.W[1](0, 0) == doctest::Approx(-0.01).epsilon(1e-4));
  CHECK(q.b[1](0) == doctest::Approx(0.01).epsilon(1e-4));
}

TEST_CASE("weight decay acts on weights, not biases") {
  OptimizerConfig c{OptimizerKind::kSgd, 0.1};
  c.weight_decay = 0.5;
  Optimizer<double> opt(c, tiny());
  Params<double> p = params(2.0, 2.0);
  opt.step(p, params(0.0, 0.0));
  CHECK(p.W[1](0, 0) == doctest::Approx(2.0 - 0.1 * 0.5 * 2.0));
  CHECK(p.b[1](0) == 2.0);
}

TEST_CASE("bad optimizer settings are rejected with the value and the allowed range") {
  OptimizerConfig c{OptimizerKind::kSgd, 0.0};
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("lr = 0"), std::invalid_argument);
  c.lr = 0.1;
  c.momentum = 1.0;
  CHECK_THROWS_AS(c.validate(), std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_optimizer("adma"), doctest::Contains("did you mean 'adam'"),
                       std::invalid_argument);
}
