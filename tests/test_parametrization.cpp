// parametrization.hpp: the factor table of each parametrization, its refusals, and what the
// optimizer and the initializer do with the factors.
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>

#include "initbench/config.hpp"
#include "initbench/init.hpp"
#include "initbench/optimizer.hpp"
#include "initbench/parametrization.hpp"
#include "initbench/rng.hpp"

using namespace initbench;

namespace {

MlpConfig mlp(std::vector<Index> sizes) {
  MlpConfig config{std::move(sizes), Activation::parse("relu"), Output::kSoftmax};
  return config;
}

}  // namespace

TEST_CASE("standard parametrization: every factor is 1") {
  const LayerScales s = parametrize(Parametrization::kStandard, mlp({10, 64, 64, 3}),
                                    Scheme::parse("glorot_uniform"), OptimizerKind::kAdam, 0);
  for (const auto* v : {&s.multiplier, &s.init_w, &s.init_b, &s.lr_w, &s.lr_b}) {
    REQUIRE(v->size() == 4);
    for (double x : *v) CHECK(x == 1.0);
  }
}

TEST_CASE("mup at width = base_width is the standard parametrization") {
  for (OptimizerKind kind : {OptimizerKind::kSgd, OptimizerKind::kMomentum, OptimizerKind::kAdam}) {
    const LayerScales s = parametrize(Parametrization::kMup, mlp({10, 64, 64, 3}),
                                      Scheme::parse("he_normal"), kind, 64);
    for (const auto* v : {&s.multiplier, &s.init_w, &s.init_b, &s.lr_w, &s.lr_b}) {
      for (double x : *v) CHECK(x == 1.0);
    }
  }
}

TEST_CASE("mup at 4 x base_width: microsoft/mup's factors per layer type") {
  // 10-256-256-3 at base width 64: m = 4 on both hidden dimensions
  const MlpConfig net = mlp({10, 256, 256, 3});
  const LayerScales sgd =
      parametrize(Parametrization::kMup, net, Scheme::parse("he_normal"), OptimizerKind::kSgd, 64);
  // input weights and hidden biases: SGD lr * m; hidden weights: SGD lr * m_out / m_in
  CHECK(sgd.lr_w[1] == 4.0);
  CHECK(sgd.lr_w[2] == 1.0);
  CHECK(sgd.lr_w[3] == 4.0);  // readout: lr * m_in on W, whose multiplier is 1 / m_in
  CHECK(sgd.lr_b[1] == 4.0);
  CHECK(sgd.lr_b[2] == 4.0);
  CHECK(sgd.lr_b[3] == 1.0);  // the output bias is finite
  CHECK(sgd.multiplier[1] == 1.0);
  CHECK(sgd.multiplier[2] == 1.0);
  CHECK(sgd.multiplier[3] == 0.25);
  CHECK(sgd.init_w[3] == 2.0);  // sqrt(m): readout variance m sigma^2 / fan_in, times c^2
  CHECK(sgd.init_b[3] == 2.0);
  CHECK(sgd.init_w[1] == 1.0);
  CHECK(sgd.init_w[2] == 1.0);
  const LayerScales adam =
      parametrize(Parametrization::kMup, net, Scheme::parse("he_normal"), OptimizerKind::kAdam, 64);
  CHECK(adam.lr_w[1] == 1.0);
  CHECK(adam.lr_w[2] == 0.25);  // hidden: Adam lr / m_in
  CHECK(adam.lr_w[3] == 1.0);
  for (double x : adam.lr_b) CHECK(x == 1.0);
  CHECK(adam.multiplier[3] == 0.25);
  // momentum and nesterov are SGD-like (mup's MuSGD)
  const LayerScales momentum = parametrize(Parametrization::kMup, net, Scheme::parse("he_normal"),
                                           OptimizerKind::kNesterov, 64);
  CHECK(momentum.lr_w == sgd.lr_w);
  CHECK(momentum.lr_b == sgd.lr_b);
}

TEST_CASE("mup's effective readout variance and update sizes follow Table 3 of Tensor Programs V") {
  // Effective readout weight c_L W_L: variance sigma^2 base / fan_in^2; its SGD step (lr factor
  // k on W, so k c^2 on c W) is lr base / fan_in; its Adam step (each entry about lr k on W)
  // is lr c = lr base / fan_in.
  for (Index width : {128, 512, 2048}) {
    CAPTURE(width);
    const double base = 32;
    const MlpConfig net = mlp({10, width, width, 3});
    const LayerScales sgd = parametrize(Parametrization::kMup, net, Scheme::parse("lecun_normal"),
                                        OptimizerKind::kSgd, 32);
    const LayerScales adam = parametrize(Parametrization::kMup, net, Scheme::parse("lecun_normal"),
                                         OptimizerKind::kAdam, 32);
    const double c = sgd.multiplier[3];
    const double w = static_cast<double>(width);
    CHECK(c * c * sgd.init_w[3] * sgd.init_w[3] / w ==
          doctest::Approx(base / (w * w)).epsilon(1e-12));
    CHECK(sgd.lr_w[3] * c * c == doctest::Approx(base / w).epsilon(1e-12));
    CHECK(adam.lr_w[3] * c == doctest::Approx(base / w).epsilon(1e-12));
    // hidden: SGD rate lr (width-free), Adam rate lr base / fan_in
    CHECK(sgd.lr_w[2] == 1.0);
    CHECK(adam.lr_w[2] == doctest::Approx(base / w).epsilon(1e-12));
    // input weights: SGD rate lr fan_out / base, Adam lr
    CHECK(sgd.lr_w[1] == doctest::Approx(w / base).epsilon(1e-12));
    CHECK(adam.lr_w[1] == 1.0);
  }
}

TEST_CASE("ntk: unit-variance weights behind sigma / sqrt(fan_in) multipliers, one rate") {
  const MlpConfig net = mlp({10, 200, 50, 3});
  const LayerScales s =
      parametrize(Parametrization::kNtk, net, Scheme::parse("he_normal"), OptimizerKind::kSgd, 0);
  for (Index l = 1; l <= 3; ++l) {
    const auto i = static_cast<std::size_t>(l);
    CAPTURE(l);
    CHECK(s.multiplier[i] == doctest::Approx(std::sqrt(2.0 / double(net.fan_in(l)))));
    CHECK(s.init_w[i] * s.multiplier[i] == doctest::Approx(1.0));
    CHECK(s.init_b[i] == 1.0);
    CHECK(s.lr_w[i] == 1.0);
    CHECK(s.lr_b[i] == 1.0);
  }
}

TEST_CASE("parametrizations refuse what does not fit") {
  const MlpConfig net = mlp({10, 64, 64, 3});
  auto refuses = [&](Parametrization p, const char* scheme, const MlpConfig& n, Index base) {
    CAPTURE(scheme);
    CHECK_THROWS_AS(parametrize(p, n, Scheme::parse(scheme), OptimizerKind::kSgd, base),
                    std::invalid_argument);
  };
  for (Parametrization p : {Parametrization::kNtk, Parametrization::kMup}) {
    // a variance that depends on fan_out, is data-dependent or is zero
    refuses(p, "glorot_normal", net, 32);
    refuses(p, "he_normal(mode=fan_out)", net, 32);
    refuses(p, "lsuv", net, 32);
    refuses(p, "zeros", net, 32);
    refuses(p, "normal(stddev=0.1)", net, 32);
    MlpConfig residual = mlp({10, 16, 16, 16, 3});
    residual.blocks = 2;
    residual.block_depth = 1;
    refuses(p, "he_normal", residual, 32);
    // these fit
    CHECK_NOTHROW(parametrize(p, net, Scheme::parse("lecun_uniform"), OptimizerKind::kAdam, 32));
    CHECK_NOTHROW(parametrize(p, net, Scheme::parse("variance_scaling(scale=2, mode=fan_in)"),
                              OptimizerKind::kAdam, 32));
  }
  refuses(Parametrization::kMup, "he_normal", net, 0);  // mup needs base_width
  CHECK_NOTHROW(
      parametrize(Parametrization::kNtk, net, Scheme::parse("he_normal"), OptimizerKind::kSgd, 0));
  CHECK_THROWS_AS(parse_parametrization("mu_p"), std::invalid_argument);
  CHECK(parse_parametrization("mup") == Parametrization::kMup);
}

TEST_CASE("per-layer lr factors: SGD and Adam move each layer by its factor") {
  const MlpConfig net = mlp({3, 4, 2});
  Params<double> p(net);
  Params<double> g(net);
  Rng rng(7);
  for (std::size_t l = 1; l <= 2; ++l) {
    for (Index k = 0; k < g.W[l].size(); ++k) g.W[l](k) = rng.normal();
    for (Index k = 0; k < g.b[l].size(); ++k) g.b[l](k) = rng.normal();
  }
  for (OptimizerKind kind : {OptimizerKind::kSgd, OptimizerKind::kAdam}) {
    const std::string name = optimizer_name(kind);
    CAPTURE(name);
    OptimizerConfig plain{kind, 0.01};
    OptimizerConfig scaled = plain;
    scaled.lr_weights = {1.0, 4.0, 0.5};
    scaled.lr_biases = {1.0, 0.25, 2.0};
    Params<double> a = p;
    Params<double> b = p;
    Optimizer<double> oa(plain, net);
    Optimizer<double> ob(scaled, net);
    oa.step(a, g);
    ob.step(b, g);
    for (std::size_t l = 1; l <= 2; ++l) {
      CAPTURE(l);
      CHECK((b.W[l] - scaled.lr_weights[l] * a.W[l]).norm() <= 1e-15);
      CHECK((b.b[l] - scaled.lr_biases[l] * a.b[l]).norm() <= 1e-15);
      CHECK(a.W[l].norm() > 0);
    }
  }
  // factors of the wrong count or not positive are refused
  OptimizerConfig bad{OptimizerKind::kSgd, 0.01};
  bad.lr_weights = {1.0, 2.0};
  CHECK_THROWS_AS(Optimizer<double>(bad, net), std::invalid_argument);
  bad.lr_weights = {1.0, 2.0, 0.0};
  CHECK_THROWS_AS(Optimizer<double>(bad, net), std::invalid_argument);
}

TEST_CASE("a run under mup and ntk: the network's multipliers and the optimizer's factors") {
  RunConfig run;
  run.model.width = 256;
  run.model.depth = 2;
  run.model.base_width = 64;
  run.scheme = "he_normal";
  run.init.weights = Scheme::parse("he_normal");
  run.train.optimizer.kind = OptimizerKind::kAdam;
  const MlpConfig standard = run.network(10, 3);
  CHECK(standard.multipliers.empty());
  CHECK(run.optimizer(standard).lr_weights.empty());
  run.model.parametrization = Parametrization::kMup;
  const MlpConfig mup = run.network(10, 3);
  REQUIRE(mup.multipliers.size() == 4);
  CHECK(mup.multiplier(3) == 0.25);
  const OptimizerConfig oc = run.optimizer(mup);
  REQUIRE(oc.lr_weights.size() == 4);
  CHECK(oc.lr_weights[2] == 0.25);
  // the drawn readout is sqrt(m) = 2 times the scheme's draw (same seed, same stream)
  Mlp<double> a(standard, 1);
  Mlp<double> b(mup, 1);
  initialize(a, run.init, 3, 0);
  initialize(b, run.init, 3, 0);
  apply_init_factors(b, run.layer_scales(mup));
  CHECK(b.W(1) == a.W(1));
  CHECK(b.W(2) == a.W(2));
  CHECK((b.W(3) - 2.0 * a.W(3)).norm() == 0.0);
}
