#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <string>

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

TEST_CASE("weight decay is L2 added to the weights' gradient under every optimizer") {
  // He et al. 2015's decay (and torch.optim's weight_decay): each step is the step without decay
  // on the gradient g + weight_decay * w. Adam too (L2, not AdamW's decoupled decay).
  for (const std::string& name : optimizer_names()) {
    CAPTURE(name);
    OptimizerConfig decayed{parse_optimizer(name), 0.1};
    decayed.weight_decay = 0.5;
    OptimizerConfig plain = decayed;
    plain.weight_decay = 0.0;
    Optimizer<double> with_decay(decayed, tiny());
    Optimizer<double> by_hand(plain, tiny());
    Optimizer<double> without(plain, tiny());
    Params<double> p = params(2.0, 2.0);
    Params<double> q = params(2.0, 2.0);
    Params<double> r = params(2.0, 2.0);
    // The gradient alone pushes w up, the decay (0.5 * 2 = 1 at first) down, harder: even Adam,
    // which takes steps of about lr whatever the gradient's size, moves the other way.
    const Params<double> g = params(-0.3, -1.0);
    for (int t = 1; t <= 3; ++t) {
      CAPTURE(t);
      with_decay.step(p, g);
      by_hand.step(q, params(-0.3 + 0.5 * q.W[1](0, 0), -1.0));
      without.step(r, g);
      CHECK(p.W[1](0, 0) == doctest::Approx(q.W[1](0, 0)).epsilon(1e-12));
      CHECK(p.b[1](0) == doctest::Approx(q.b[1](0)).epsilon(1e-12));
      CHECK(p.b[1](0) == doctest::Approx(r.b[1](0)).epsilon(1e-12));  // biases are not decayed
      CHECK(p.W[1](0, 0) < r.W[1](0, 0) - 1e-3);                      // the decay pulls w down
    }
  }
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

TEST_CASE("a residual net's alpha_b: updated like a bias when learnable, else left alone") {
  MlpConfig net{{1, 1, 1, 1}, {}, Output::kLinear};
  net.blocks = 1;
  net.block_depth = 1;
  for (const OptimizerKind kind : {OptimizerKind::kSgd, OptimizerKind::kMomentum,
                                   OptimizerKind::kNesterov, OptimizerKind::kAdam}) {
    for (const bool learn : {false, true}) {
      const std::string name = optimizer_name(kind);
      CAPTURE(name);
      CAPTURE(learn);
      net.learn_alpha = learn;
      OptimizerConfig c{kind, 0.1};
      c.weight_decay = 0.5;  // not applied to alpha_b
      Optimizer<double> opt(c, net);
      Params<double> p(net);
      Params<double> g(net);
      p.alpha(0) = 0.25;
      g.alpha(0) = 2.0;
      opt.step(p, g);
      if (!learn) {
        CHECK(p.alpha(0) == 0.25);
      } else if (kind == OptimizerKind::kAdam) {
        CHECK(p.alpha(0) == doctest::Approx(0.25 - 0.1));  // Adam's first step is lr sign(g)
      } else if (kind == OptimizerKind::kNesterov) {
        CHECK(p.alpha(0) == doctest::Approx(0.25 - 0.1 * (2.0 + 0.9 * 2.0)));
      } else {
        CHECK(p.alpha(0) == doctest::Approx(0.25 - 0.1 * 2.0));
      }
    }
  }
}
