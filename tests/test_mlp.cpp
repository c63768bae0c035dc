#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "initbench/mlp.hpp"
#include "initbench/parametrization.hpp"
#include "initbench/rng.hpp"
#include "residual_support.hpp"

using namespace initbench;

namespace {

// Fills every parameter with N(0, stddev^2) from the project's generator.
void randomize(Mlp<double>& net, std::uint64_t seed, double stddev) {
  Rng rng(seed);
  for (Index l = 1; l <= net.num_layers(); ++l) {
    for (Index k = 0; k < net.W(l).size(); ++k) net.W(l)(k) = rng.normal(0.0, stddev);
    for (Index k = 0; k < net.b(l).size(); ++k) net.b(l)(k) = rng.normal(0.0, stddev);
  }
}

void fill_batch(Mlp<double>& net, Index n, std::uint64_t seed) {
  Rng rng(seed);
  auto& ws = net.workspace();
  for (Index k = 0; k < n * ws.A[0].rows(); ++k) ws.input(n)(k) = rng.normal();
  const Index classes = ws.Y.rows();
  ws.target(n).setZero();
  for (Index j = 0; j < n; ++j) {
    switch (net.config().output) {
      case Output::kLinear:
        for (Index i = 0; i < classes; ++i) ws.Y(i, j) = rng.normal();
        break;
      case Output::kSigmoid:
        for (Index i = 0; i < classes; ++i) ws.Y(i, j) = static_cast<double>(rng.below(2));
        break;
      case Output::kSoftmax:
        ws.Y(static_cast<Index>(rng.below(static_cast<std::uint64_t>(classes))), j) = 1.0;
        break;
    }
  }
}

// Fills a normed net's gamma_l with N(1, stddev^2) and beta_l with N(0, stddev^2) draws.
void randomize_norm(Mlp<double>& net, std::uint64_t seed, double stddev) {
  Rng rng(seed);
  for (Index l = 1; l < net.num_layers(); ++l) {
    if (!net.config().normed(l)) continue;
    for (Index k = 0; k < net.gamma(l).size(); ++k) net.gamma(l)(k) = rng.normal(1.0, stddev);
    for (Index k = 0; k < net.beta(l).size(); ++k) net.beta(l)(k) = rng.normal(0.0, stddev);
  }
}

// Fills a residual net's alpha_b with N(0.5, stddev^2) draws (scales around 1/2, either sign).
void randomize_alpha(Mlp<double>& net, std::uint64_t seed, double stddev) {
  Rng rng(seed);
  for (Index blk = 1; blk <= net.config().blocks; ++blk) net.alpha(blk) = rng.normal(0.5, stddev);
}

// The float twin of a double net: its parameters (W, b and a residual net's alpha) and the
// first n columns of its input and target buffers, rounded to float.
void copy_to_float(const Mlp<double>& d, Mlp<float>& f, Index n) {
  for (Index l = 1; l <= d.num_layers(); ++l) {
    f.W(l) = d.W(l).cast<float>();
    f.b(l) = d.b(l).cast<float>();
  }
  f.params().alpha = d.params().alpha.cast<float>();
  for (std::size_t l = 0; l < d.params().gamma.size(); ++l) {
    f.params().gamma[l] = d.params().gamma[l].cast<float>();
    f.params().beta[l] = d.params().beta[l].cast<float>();
  }
  f.workspace().input(n) = d.workspace().A[0].leftCols(n).cast<float>();
  f.workspace().target(n) = d.workspace().Y.leftCols(n).cast<float>();
}

// Smallest |z| over hidden pre-activations (and a residual net's stream, which phi reads too):
// finite differences across a kink are meaningless.
double closest_to_kink(const Mlp<double>& net, Index n) {
  double closest = HUGE_VAL;
  const auto& ws = net.workspace();
  for (Index l = 1; l < net.num_layers(); ++l)
    closest =
        std::min(closest, ws.Z[static_cast<std::size_t>(l)].leftCols(n).cwiseAbs().minCoeff());
  for (const auto& x : ws.X) closest = std::min(closest, x.leftCols(n).cwiseAbs().minCoeff());
  // a normed layer's phi reads h = gamma (u - mean) rstd + beta, which moves gamma rstd times as
  // far as u: its distance to the kink in units of u
  for (Index l = 1; l < net.num_layers(); ++l) {
    if (!net.config().normed(l)) continue;
    const auto ul = static_cast<std::size_t>(l);
    const double gain = net.gamma(l).cwiseAbs().maxCoeff() * ws.rstd[ul].cwiseAbs().maxCoeff();
    closest = std::min(closest, ws.H[ul].leftCols(n).cwiseAbs().minCoeff() / gain);
  }
  return closest;
}

struct GradientError {
  double relative = 0.0;  // ||analytic - numeric|| / ||max(|analytic|, |numeric|)||
  double worst = 0.0;     // the largest per-entry relative error (absolute below 1e-4)
  double norm2 = 0.0;
};

// Central differences of the mean loss over every weight, bias, alpha_b and a norm's gamma_l and
// beta_l against backward() (training passes: a batch norm's batch statistics).
GradientError gradient_error(Mlp<double>& net, Index n, double h) {
  net.forward(n);
  net.backward(n);
  const Params<double> analytic = net.grads();
  GradientError e;
  double diff2 = 0.0;
  auto check = [&](double& param, double grad) {
    const double saved = param;
    param = saved + h;
    net.forward(n);
    const double up = net.loss(n);
    param = saved - h;
    net.forward(n);
    const double down = net.loss(n);
    param = saved;
    const double numeric = (up - down) / (2 * h);
    diff2 += (grad - numeric) * (grad - numeric);
    e.norm2 += std::max(grad * grad, numeric * numeric);
    // The central difference resolves no better than a few ulps of the loss over 2h: an entry
    // whose gradient is 0 (a dense bias in front of a batch norm) reads as that rounding. Its
    // error counts beyond 4 ulps of the loss / 2h (4.4e-11 times the loss at h = 1e-5, against
    // the 1e-10 of a 1e-6 relative error at the 1e-4 floor).
    const double resolution = 4 * std::numeric_limits<double>::epsilon() *
                              std::max(std::abs(up), std::abs(down)) / (2 * h);
    e.worst = std::max(e.worst, std::max(std::abs(grad - numeric) - resolution, 0.0) /
                                    std::max(std::max(std::abs(grad), std::abs(numeric)), 1e-4));
  };
  for (Index l = 1; l <= net.num_layers(); ++l) {
    for (Index k = 0; k < net.W(l).size(); ++k)
      check(net.W(l)(k), analytic.W[static_cast<std::size_t>(l)](k));
    for (Index k = 0; k < net.b(l).size(); ++k)
      check(net.b(l)(k), analytic.b[static_cast<std::size_t>(l)](k));
  }
  for (Index blk = 1; blk <= net.config().blocks; ++blk)
    check(net.alpha(blk), analytic.alpha(blk - 1));
  for (Index l = 1; l < net.num_layers(); ++l) {
    if (!net.config().normed(l)) continue;
    for (Index k = 0; k < net.gamma(l).size(); ++k)
      check(net.gamma(l)(k), analytic.gamma[static_cast<std::size_t>(l)](k));
    for (Index k = 0; k < net.beta(l).size(); ++k)
      check(net.beta(l)(k), analytic.beta[static_cast<std::size_t>(l)](k));
  }
  e.relative = std::sqrt(diff2 / e.norm2);
  return e;
}

// Draws parameters (N(0, 0.8^2), times the parametrization's init factors if given) and a
// batch until no hidden pre-activation sits within 100 h of a kink (relu, leaky_relu), then
// checks backward() against central differences: relative error <= 1e-6.
void check_gradient(Mlp<double>& net, Index n, double h, const LayerScales* scales) {
  std::uint64_t seed = 1;
  do {
    randomize(net, seed, 0.8);
    if (scales != nullptr) apply_init_factors(net, *scales);
    fill_batch(net, n, seed + 1000);
    net.forward(n);
    ++seed;
  } while (closest_to_kink(net, n) < 100 * h);
  const GradientError e = gradient_error(net, n, h);
  CAPTURE(e.relative);
  CAPTURE(e.worst);
  CHECK(e.norm2 > 0);
  CHECK(e.relative <= 1e-6);
  CHECK(e.worst <= 1e-6);
}

// A residual net: input n_0, width w, blocks x block_depth layers, outputs.
MlpConfig residual_config(Index inputs, Index width, Index blocks, Index block_depth, Index outputs,
                          const std::string& act, Output out) {
  MlpConfig config{{}, Activation::parse(act), out};
  config.blocks = blocks;
  config.block_depth = block_depth;
  config.sizes.assign(static_cast<std::size_t>(3 + blocks * block_depth), width);
  config.sizes.front() = inputs;
  config.sizes.back() = outputs;
  return config;
}

// Every weight 0.1, every bias 0.05, N(0, 1) inputs and random one-hot targets of 3 classes on
// n samples (the seed from width and n), then forward and backward: identical neurons.
void constant_start(Mlp<float>& net, Index width, Index n) {
  for (Index l = 1; l <= net.num_layers(); ++l) {
    net.W(l).setConstant(0.1f);
    net.b(l).setConstant(0.05f);
  }
  Rng rng(static_cast<std::uint64_t>(width * 1000 + n));
  for (Index k = 0; k < 2 * n; ++k) net.workspace().A[0](k) = static_cast<float>(rng.normal());
  net.workspace().target(n).setZero();
  for (Index j = 0; j < n; ++j) net.workspace().Y(static_cast<Index>(rng.below(3)), j) = 1.0f;
  net.forward(n);
  net.backward(n);
}

template <typename M>
bool rows_identical(const M& m) {
  for (Index i = 1; i < m.rows(); ++i) {
    if (m.row(i) != m.row(0)) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("gradient check: every activation and every loss, relative error <= 1e-6") {
  // every registered activation, and leaky_relu with a slope whose kink is visible at h
  std::vector<std::string> activations = activation_names();
  activations.emplace_back("leaky_relu(slope=0.1)");
  const Output outputs[] = {Output::kLinear, Output::kSigmoid, Output::kSoftmax};
  const Index n = 5;
  const double h = 1e-5;
  for (const std::string& act : activations) {
    for (Output out : outputs) {
      const std::string name = act;
      const std::string loss_name = output_name(out);
      CAPTURE(name);
      CAPTURE(loss_name);
      MlpConfig config{{4, 6, 5, 3}, Activation::parse(act), out};
      Mlp<double> net(config, n);
      check_gradient(net, n, h, nullptr);
    }
  }
}

TEST_CASE("gradient check, residual nets: every activation, loss and block depth, alpha_b too") {
  std::vector<std::string> activations = activation_names();
  activations.emplace_back("leaky_relu(slope=0.1)");
  const Index n = 4;
  const double h = 1e-5;
  for (const Index block_depth : {1, 2}) {
    for (const std::string& act : activations) {
      for (Output out : {Output::kLinear, Output::kSigmoid, Output::kSoftmax}) {
        const std::string name = act;
        const std::string loss_name = output_name(out);
        CAPTURE(block_depth);
        CAPTURE(name);
        CAPTURE(loss_name);
        Mlp<double> net(residual_config(3, 5, 3, block_depth, 2, act, out), n);
        std::uint64_t seed = 1;
        do {
          randomize(net, seed, 0.6);
          randomize_alpha(net, seed + 500, 0.5);
          fill_batch(net, n, seed + 1000);
          net.forward(n);
          ++seed;
        } while (closest_to_kink(net, n) < 100 * h);
        const GradientError e = gradient_error(net, n, h);
        CAPTURE(e.relative);
        CAPTURE(e.worst);
        CHECK(e.norm2 > 0);
        CHECK(net.grads().alpha.norm() > 0);
        CHECK(e.relative <= 1e-6);
        CHECK(e.worst <= 1e-6);
      }
    }
  }
}

TEST_CASE("golden: a hand-computed residual net of one block, relu and MSE") {
  // the values of residual_support.hpp's comment
  Mlp<double> net = hand_residual_network();
  CHECK(net.workspace().X[0](0, 0) == 2);
  CHECK(net.workspace().Z[2](0, 0) == 5);
  CHECK(net.workspace().X[1](0, 0) == 4.5);
  CHECK(net.loss(1) == 64);
  net.backward(1);
  CHECK(net.grads().W[3](0, 0) == 72);
  CHECK(net.grads().b[3](0) == 16);
  CHECK(net.workspace().G[1](0, 0) == 32);
  CHECK(net.grads().alpha(0) == 160);
  CHECK(net.grads().W[2](0, 0) == 32);
  CHECK(net.grads().b[2](0) == 16);
  CHECK(net.workspace().G[0](0, 0) == 80);
  CHECK(net.grads().W[1](0, 0) == 160);
  CHECK(net.grads().b[1](0) == 80);
}

TEST_CASE("a residual net with every alpha_b = 0 is its input and output layers alone") {
  // ReZero's start: the branches are computed but add nothing, so the logits are those of the
  // two-layer net W_L phi(W_1 x + b_1) + b_L, no branch weight gets a gradient, and alpha_b does.
  const Index n = 6;
  Mlp<double> res(residual_config(3, 8, 4, 2, 2, "tanh", Output::kSoftmax), n);
  randomize(res, 5, 0.7);
  res.params().alpha.setZero();
  fill_batch(res, n, 6);
  Mlp<double> shallow(MlpConfig{{3, 8, 2}, Activation::parse("tanh"), Output::kSoftmax}, n);
  shallow.W(1) = res.W(1);
  shallow.b(1) = res.b(1);
  shallow.W(2) = res.W(res.num_layers());
  shallow.b(2) = res.b(res.num_layers());
  shallow.workspace().input(n) = res.workspace().input(n);
  shallow.workspace().target(n) = res.workspace().target(n);
  res.forward(n);
  shallow.forward(n);
  CHECK(res.workspace().Z[static_cast<std::size_t>(res.num_layers())].leftCols(n) ==
        shallow.workspace().Z[2].leftCols(n));
  res.backward(n);
  shallow.backward(n);
  CHECK(res.grads().W[1] == shallow.grads().W[1]);
  for (Index l = 2; l < res.num_layers(); ++l)
    CHECK(res.grads().W[static_cast<std::size_t>(l)].isZero());
  CHECK((res.grads().alpha.array() != 0).all());
}

TEST_CASE("golden: a hand-computed 2-3-1 relu network with MSE") {
  // x = (1, 2), y = 1.
  // W1 = [[1, -1], [0.5, 0.5], [-1, 2]], b1 = (0, 1, -1)
  //   z1 = (1 - 2 + 0, 0.5 + 1 + 1, -1 + 4 - 1) = (-1, 2.5, 2);  a1 = relu(z1) = (0, 2.5, 2)
  // W2 = [[1, 2, -1]], b2 = 0.5
  //   z2 = 0 + 5 - 2 + 0.5 = 3.5;  L = (3.5 - 1)^2 = 6.25
  // Backward: dz2 = 2 (3.5 - 1) = 5;  dW2 = dz2 a1^T = (0, 12.5, 10);  db2 = 5
  //   da1 = W2^T dz2 = (5, 10, -5);  dz1 = da1 * relu'(z1) = (0, 10, -5)
  //   dW1 = dz1 x^T = [[0, 0], [10, 20], [-5, -10]];  db1 = (0, 10, -5)
  MlpConfig config{{2, 3, 1}, Activation::parse("relu"), Output::kLinear};
  Mlp<double> net(config, 2);
  net.W(1) << 1, -1, 0.5, 0.5, -1, 2;
  net.b(1) << 0, 1, -1;
  net.W(2) << 1, 2, -1;
  net.b(2) << 0.5;
  SUBCASE("one sample") {
    net.workspace().input(1) << 1, 2;
    net.workspace().target(1) << 1;
    net.forward(1);
    CHECK(net.workspace().Z[1].col(0) == Vector<double>{{-1, 2.5, 2}});
    CHECK(net.workspace().A[1].col(0) == Vector<double>{{0, 2.5, 2}});
    CHECK(net.workspace().Z[2](0, 0) == 3.5);
    CHECK(net.loss(1) == 6.25);
    net.backward(1);
  }
  SUBCASE("the same sample twice: the mean loss has the same gradient") {
    net.workspace().input(2) << 1, 1, 2, 2;
    net.workspace().target(2) << 1, 1;
    net.forward(2);
    CHECK(net.loss(2) == 6.25);
    net.backward(2);
  }
  Matrix<double> dW1(3, 2);
  dW1 << 0, 0, 10, 20, -5, -10;
  CHECK(net.grads().W[1] == dW1);
  CHECK(net.grads().b[1] == Vector<double>{{0, 10, -5}});
  CHECK(net.grads().W[2] == Matrix<double>{{0, 12.5, 10}});
  CHECK(net.grads().b[2](0) == 5);
}

TEST_CASE("golden: a 2-2-1 tanh network with a sigmoid output and BCE") {
  // Zero weights in layer 1 make a1 = tanh(b1) exactly; with b1 = (0, 0): a1 = 0, z2 = b2 = 0,
  // the prediction 0.5 and the loss ln 2 for either label, dz2 = 0.5 - y. This is the course's
  // zeros experiment in miniature: every hidden gradient is zero (W2 = 0), only b2 moves.
  MlpConfig config{{2, 2, 1}, Activation::parse("tanh"), Output::kSigmoid};
  Mlp<double> net(config, 1);
  net.workspace().input(1) << 0.3, -0.7;
  net.workspace().target(1) << 1;
  net.forward(1);
  CHECK(net.loss(1) == doctest::Approx(std::log(2.0)));
  net.backward(1);
  CHECK(net.grads().b[2](0) == doctest::Approx(-0.5));
  CHECK(net.grads().W[2].isZero());
  CHECK(net.grads().W[1].isZero());
  CHECK(net.grads().b[1].isZero());
}

TEST_CASE("gradient check with forward multipliers: standard, ntk and mup, float and double") {
  // 4-6-5-3 nets whose multipliers are the parametrization's at base width 2 (mup's readout
  // c_L = 2/5; ntk's c_l = sqrt(2 / fan_in)), every loss, a smooth and a kinked activation.
  const Index n = 5;
  const double h = 1e-5;
  for (Parametrization p :
       {Parametrization::kStandard, Parametrization::kNtk, Parametrization::kMup}) {
    for (const char* act : {"tanh", "relu"}) {
      for (Output out : {Output::kLinear, Output::kSigmoid, Output::kSoftmax}) {
        const std::string param_name = parametrization_name(p);
        const std::string act_name = act;
        const std::string loss_name = output_name(out);
        CAPTURE(param_name);
        CAPTURE(act_name);
        CAPTURE(loss_name);
        MlpConfig config{{4, 6, 5, 3}, Activation::parse(act), out};
        const LayerScales scales =
            parametrize(p, config, Scheme::parse("he_normal"), OptimizerKind::kSgd, 2);
        config.multipliers = scales.multiplier;
        if (p != Parametrization::kStandard) {
          CHECK(config.multiplier(3) != 1.0);  // the check exercises a multiplier
        }
        Mlp<double> net(config, n);
        check_gradient(net, n, h, &scales);
        // the float network's backward against the double one's (checked above)
        Mlp<float> f(config, n);
        copy_to_float(net, f, n);
        net.forward(n);
        net.backward(n);
        f.forward(n);
        f.backward(n);
        CHECK(f.loss(n) == doctest::Approx(net.loss(n)).epsilon(1e-5));
        for (Index l = 1; l <= 3; ++l) {
          const auto i = static_cast<std::size_t>(l);
          CAPTURE(l);
          CHECK((f.grads().W[i].cast<double>() - net.grads().W[i]).norm() <=
                1e-4 * net.grads().W[i].norm());
          CHECK((f.grads().b[i].cast<double>() - net.grads().b[i]).norm() <=
                1e-4 * net.grads().b[i].norm());
        }
      }
    }
  }
}

TEST_CASE("a forward multiplier c_l is the net with weights c_l W_l") {
  MlpConfig config{{3, 7, 4, 2}, Activation::parse("tanh"), Output::kSoftmax};
  MlpConfig scaled = config;
  scaled.multipliers = {1.0, 0.5, 3.0, 0.25};
  Mlp<double> a(config, 6);
  Mlp<double> b(scaled, 6);
  randomize(b, 5, 0.7);
  fill_batch(b, 6, 6);
  for (Index l = 1; l <= 3; ++l) {
    a.W(l) = scaled.multiplier(l) * b.W(l);
    a.b(l) = b.b(l);
  }
  a.workspace().input(6) = b.workspace().input(6);
  a.workspace().target(6) = b.workspace().target(6);
  a.forward(6);
  b.forward(6);
  CHECK(b.loss(6) == doctest::Approx(a.loss(6)).epsilon(1e-13));
  CHECK((b.workspace().Z[3] - a.workspace().Z[3]).norm() <= 1e-13 * a.workspace().Z[3].norm());
  a.backward(6);
  b.backward(6);
  // dL/dW_l of b is c_l times dL/d(c_l W_l) of a
  for (Index l = 1; l <= 3; ++l) {
    const auto i = static_cast<std::size_t>(l);
    CAPTURE(l);
    const Matrix<double> expected = scaled.multiplier(l) * a.grads().W[i];
    CHECK((b.grads().W[i] - expected).norm() <= 1e-13 * expected.norm());
    CHECK((b.grads().b[i] - a.grads().b[i]).norm() <= 1e-13 * a.grads().b[i].norm());
  }
  // a wrong count of multipliers, or multipliers on a residual net, is refused
  MlpConfig wrong = config;
  wrong.multipliers = {1.0, 2.0};
  CHECK_THROWS_AS(wrong.validate(), std::invalid_argument);
}

TEST_CASE("float and double networks agree, and batches use only their leading columns") {
  MlpConfig config{{3, 8, 8, 2}, Activation::parse("tanh"), Output::kSoftmax};
  Mlp<double> d(config, 16);
  randomize(d, 3, 0.5);
  Mlp<float> f(config, 16);
  fill_batch(d, 16, 4);
  copy_to_float(d, f, 16);
  d.forward(10);
  f.forward(10);
  CHECK(f.loss(10) == doctest::Approx(d.loss(10)).epsilon(1e-5));
  d.backward(10);
  f.backward(10);
  CHECK((f.grads().W[1].cast<double>() - d.grads().W[1]).norm() < 1e-5 * d.grads().W[1].norm());
  // the columns past n do not matter
  d.workspace().input(16).rightCols(6).setConstant(1e30);
  const double before = d.loss(10);
  d.forward(10);
  CHECK(d.loss(10) == before);
}

TEST_CASE("configuration errors") {
  CHECK_THROWS_AS(Mlp<double>(MlpConfig{{3}, {}, Output::kLinear}, 1), std::invalid_argument);
  CHECK_THROWS_AS(Mlp<double>(MlpConfig{{3, 0, 1}, {}, Output::kLinear}, 1), std::invalid_argument);
  CHECK_THROWS_AS(Mlp<double>(MlpConfig{{3, 1}, {}, Output::kLinear}, 0), std::invalid_argument);
  MlpConfig config{{784, 1000, 10}, {}, Output::kSoftmax};
  CHECK(config.num_parameters() == 784 * 1000 + 1000 + 1000 * 10 + 10);
}

TEST_CASE("dense_forward/dense_backward: every product path against a double reference") {
  // Shapes that take each path of src/mlp.cpp's dispatch: the small kernel (<= 16 output rows or
  // inner dimension; masked last chunk; fewer than 8 columns; one sample), the transposed-copy
  // path for small A^T B (<= 96), and the large GEMM (BLAS or Eigen).
  const int shapes[][3] = {{64, 64, 64}, {70, 50, 33},    {96, 96, 17},  {20, 90, 100},
                           {10, 64, 64}, {1000, 10, 128}, {5, 10, 300},  {1, 5, 300},
                           {17, 3, 9},   {40, 40, 1},     {130, 120, 70}};
  Rng rng(9);
  auto fill = [&](auto& x) {
    for (Index k = 0; k < x.size(); ++k) x(k) = static_cast<float>(rng.normal());
  };
  for (const auto& s : shapes) {
    const Index fan_out = s[0], fan_in = s[1], n = s[2];
    CAPTURE(fan_out);
    CAPTURE(fan_in);
    CAPTURE(n);
    Matrix<float> W(fan_out, fan_in), a(fan_in, n), dz(fan_out, n);
    Vector<float> b(fan_out);
    fill(W);
    fill(a);
    fill(dz);
    fill(b);
    Matrix<float> z(fan_out, n), dW(fan_out, fan_in), da(fan_in, n);
    Vector<float> db(fan_out);
    kernels::GemmScratch<float> scratch;
    dense_forward<float>(W, b, a, z, scratch);
    dense_backward<float>(W, a, dz, dW, db, da, scratch);
    const Matrix<double> Wd = W.cast<double>(), ad = a.cast<double>(), dzd = dz.cast<double>();
    auto error = [](const auto& x, const auto& reference) {
      return (x.template cast<double>() - reference).norm() / reference.norm();
    };
    const Matrix<double> z_ref = (Wd * ad).colwise() + b.cast<double>();
    const Matrix<double> dW_ref = dzd * ad.transpose();
    const Matrix<double> da_ref = Wd.transpose() * dzd;
    const Vector<double> db_ref = dzd.rowwise().sum();
    CHECK(error(z, z_ref) < 1e-6);
    CHECK(error(dW, dW_ref) < 1e-6);
    CHECK(error(da, da_ref) < 1e-6);
    CHECK(error(db, db_ref) < 1e-6);
  }
}

TEST_CASE(
    "identical neurons get bit-identical values and gradients, at every width and batch size") {
  // The symmetry experiments rest on this: under zeros or constant init the neurons of a layer
  // must stay exactly equal, so every entry of every product and elementwise pass must be
  // computed by the same sequence of operations whatever its position (a SIMD lane, a masked
  // tail, a remainder block). A one-bit difference is enough for Adam to split the neurons.
  for (const Index width :
       {1, 2, 3, 5, 7, 8, 9, 10, 11, 15, 16, 17, 20, 24, 31, 33, 40, 64, 70, 100, 128}) {
    for (const Index n : {1, 3, 8, 17, 64, 301}) {
      CAPTURE(width);
      CAPTURE(n);
      MlpConfig config{{2, width, width, 3}, Activation::parse("tanh"), Output::kSoftmax};
      Mlp<float> net(config, n);
      constant_start(net, width, n);
      auto cols_identical = [](const auto& m) {
        for (Index j = 1; j < m.cols(); ++j) {
          if (m.col(j) != m.col(0)) return false;
        }
        return true;
      };
      const auto& ws = net.workspace();
      CHECK(rows_identical(ws.Z[1].leftCols(n)));
      CHECK(rows_identical(ws.A[2].leftCols(n)));
      CHECK(rows_identical(ws.D[1].leftCols(n)));
      CHECK(rows_identical(ws.D[2].leftCols(n)));
      CHECK(rows_identical(net.grads().W[1]));
      CHECK(rows_identical(net.grads().W[2]));
      CHECK(cols_identical(net.grads().W[2]));
      CHECK(cols_identical(net.grads().W[3]));
      CHECK(rows_identical(net.grads().b[2]));
    }
  }
}

TEST_CASE("residual nets: float and double agree, and identical neurons stay bit-identical") {
  for (const Index block_depth : {1, 2}) {
    CAPTURE(block_depth);
    const MlpConfig config = residual_config(3, 8, 5, block_depth, 2, "tanh", Output::kSoftmax);
    Mlp<double> d(config, 16);
    randomize(d, 3, 0.4);
    randomize_alpha(d, 4, 0.3);
    Mlp<float> f(config, 16);
    fill_batch(d, 16, 4);
    copy_to_float(d, f, 16);
    d.forward(10);
    f.forward(10);
    CHECK(f.loss(10) == doctest::Approx(d.loss(10)).epsilon(1e-5));
    d.backward(10);
    f.backward(10);
    CHECK((f.grads().W[1].cast<double>() - d.grads().W[1]).norm() < 1e-4 * d.grads().W[1].norm());
    CHECK((f.grads().alpha.cast<double>() - d.grads().alpha).norm() <
          1e-4 * d.grads().alpha.norm());
  }
  // constant weights: every unit of the stream and of the branches equal, bit for bit
  for (const Index width : {1, 3, 8, 17, 33, 64}) {
    for (const Index n : {1, 8, 17, 301}) {
      CAPTURE(width);
      CAPTURE(n);
      Mlp<float> net(residual_config(2, width, 3, 2, 3, "tanh", Output::kSoftmax), n);
      net.params().alpha.setConstant(0.7f);
      constant_start(net, width, n);
      const auto& ws = net.workspace();
      for (std::size_t b = 0; b < ws.X.size(); ++b) {
        CHECK(rows_identical(ws.X[b].leftCols(n)));
        CHECK(rows_identical(ws.G[b].leftCols(n)));
      }
      for (Index l = 1; l < net.num_layers(); ++l)
        CHECK(rows_identical(net.grads().W[static_cast<std::size_t>(l)]));
    }
  }
}

TEST_CASE("residual configuration errors") {
  auto build = [](MlpConfig config) { return Mlp<double>(std::move(config), 1); };
  MlpConfig ok = residual_config(3, 4, 2, 2, 1, "relu", Output::kLinear);
  CHECK_NOTHROW(build(ok));
  CHECK(ok.num_parameters() == 3 * 4 + 4 + 4 * (4 * 4 + 4) + 4 + 1 + 2);  // 2 alpha_b
  MlpConfig deep = ok;
  deep.block_depth = 3;
  CHECK_THROWS_WITH_AS(build(deep), doctest::Contains("1 or 2 dense layers"),
                       std::invalid_argument);
  MlpConfig short_net = ok;
  short_net.sizes.pop_back();
  CHECK_THROWS_WITH_AS(build(short_net), doctest::Contains("has 6 layers"), std::invalid_argument);
  MlpConfig uneven = ok;
  uneven.sizes[3] = 5;
  CHECK_THROWS_WITH_AS(build(uneven), doctest::Contains("one width"), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Normalization layers (mlp.hpp: MlpConfig::norm)
// ---------------------------------------------------------------------------------------------

namespace {

// The double net of a plain or residual configuration with random weights, gamma and beta,
// drawn until no phi input sits within 100 h of a kink; forward done.
void random_normed(Mlp<double>& net, Index n, double h) {
  std::uint64_t seed = 1;
  do {
    // the residual stream at the existing residual check's spread
    randomize(net, seed, net.config().residual() ? 0.6 : 0.7);
    randomize_norm(net, seed + 300, 0.3);
    if (net.config().residual()) randomize_alpha(net, seed + 500, 0.5);
    fill_batch(net, n, seed + 1000);
    net.forward(n);
    ++seed;
  } while (closest_to_kink(net, n) < 100 * h);
}

// A double net of `sizes` with `norm`, random weights (stddev `spread`), gamma and beta from
// seeds `seed`, `seed + 1`, a batch of n samples from `seed + 2`; one training pass done.
Mlp<double> normed_net(std::vector<Index> sizes, const char* act, Output out, Norm norm, Index n,
                       std::uint64_t seed, double spread) {
  MlpConfig config{std::move(sizes), Activation::parse(act), out};
  config.norm = norm;
  Mlp<double> net(config, n);
  randomize(net, seed, spread);
  randomize_norm(net, seed + 1, 0.3);
  fill_batch(net, n, seed + 2);
  net.forward(n);
  return net;
}

}  // namespace

TEST_CASE(
    "gradient check of normed nets: batch and layer norm in plain and residual nets with gamma and "
    "beta") {
  std::vector<std::string> activations = activation_names();
  activations.emplace_back("leaky_relu(slope=0.1)");
  const Index n = 5;
  const double h = 1e-5;
  for (const Norm norm : {Norm::kBatch, Norm::kLayer}) {
    for (const Index block_depth : {0, 1, 2}) {  // 0: a plain MLP
      for (const std::string& act : activations) {
        for (Output out : {Output::kLinear, Output::kSigmoid, Output::kSoftmax}) {
          const std::string norm_text = norm_name(norm);
          const std::string name = act;
          const std::string loss_name = output_name(out);
          CAPTURE(norm_text);
          CAPTURE(block_depth);
          CAPTURE(name);
          CAPTURE(loss_name);
          MlpConfig config = block_depth == 0 ? MlpConfig{{4, 6, 5, 3}, Activation::parse(act), out}
                                              : residual_config(3, 5, 2, block_depth, 2, act, out);
          config.norm = norm;
          Mlp<double> net(config, n);
          random_normed(net, n, h);
          const GradientError e = gradient_error(net, n, h);
          CAPTURE(e.relative);
          CAPTURE(e.worst);
          CHECK(e.norm2 > 0);
          for (Index l = 1; l < net.num_layers(); ++l) {
            CHECK(net.grads().gamma[static_cast<std::size_t>(l)].norm() > 0);
            CHECK(net.grads().beta[static_cast<std::size_t>(l)].norm() > 0);
          }
          CHECK(e.relative <= 1e-6);
          CHECK(e.worst <= 1e-6);
        }
      }
    }
  }
}

TEST_CASE("normed nets: float and double agree on the loss and on every gradient") {
  for (const Norm norm : {Norm::kBatch, Norm::kLayer}) {
    for (const Index block_depth : {0, 2}) {
      const std::string norm_text = norm_name(norm);
      CAPTURE(norm_text);
      CAPTURE(block_depth);
      MlpConfig config = block_depth == 0
                             ? MlpConfig{{3, 8, 8, 2}, Activation::parse("tanh"), Output::kSoftmax}
                             : residual_config(3, 8, 3, block_depth, 2, "tanh", Output::kSoftmax);
      config.norm = norm;
      Mlp<double> d(config, 16);
      randomize(d, 3, 0.5);
      randomize_norm(d, 5, 0.3);
      if (block_depth > 0) randomize_alpha(d, 4, 0.3);
      Mlp<float> f(config, 16);
      fill_batch(d, 16, 4);
      copy_to_float(d, f, 16);
      d.forward(10);
      f.forward(10);
      CHECK(f.loss(10) == doctest::Approx(d.loss(10)).epsilon(1e-5));
      d.backward(10);
      f.backward(10);
      for (Index l = 1; l <= d.num_layers(); ++l) {
        const auto ul = static_cast<std::size_t>(l);
        CAPTURE(l);
        CHECK((f.grads().W[ul].cast<double>() - d.grads().W[ul]).norm() <=
              1e-4 * d.grads().W[ul].norm());
        if (l == d.num_layers()) continue;
        CHECK((f.grads().gamma[ul].cast<double>() - d.grads().gamma[ul]).norm() <=
              1e-4 * d.grads().gamma[ul].norm());
        CHECK((f.grads().beta[ul].cast<double>() - d.grads().beta[ul]).norm() <=
              1e-4 * d.grads().beta[ul].norm());
      }
      // the columns past n do not matter, in either pass
      d.workspace().input(16).rightCols(6).setConstant(1e30);
      const double before = d.loss(10);
      d.forward(10);
      CHECK(d.loss(10) == before);
      CHECK(d.workspace().H[1].leftCols(10).allFinite());
    }
  }
}

TEST_CASE(
    "batch norm: batch statistics in a training pass and running statistics in an evaluation") {
  const Index n = 9;
  Mlp<double> net = normed_net({3, 6, 4, 2}, "relu", Output::kSoftmax, Norm::kBatch, n, 7, 0.8);
  const auto& ws = net.workspace();
  for (Index l = 1; l < net.num_layers(); ++l) {
    const auto ul = static_cast<std::size_t>(l);
    CAPTURE(l);
    const Matrix<double> z = ws.Z[ul].leftCols(n);
    for (Index j = 0; j < z.rows(); ++j) {
      const double mean = z.row(j).mean();
      const double var = (z.row(j).array() - mean).square().mean();  // biased
      // xhat has mean 0 and biased variance var / (var + eps) per unit; h = gamma xhat + beta
      CHECK(ws.X_hat[ul].row(j).head(n).mean() == doctest::Approx(0.0).epsilon(1e-12));
      CHECK(ws.X_hat[ul].row(j).head(n).squaredNorm() / n ==
            doctest::Approx(var / (var + kNormEps)).epsilon(1e-12));
      CHECK(ws.H[ul](j, 3) ==
            doctest::Approx(net.gamma(l)(j) * (z(j, 3) - mean) / std::sqrt(var + kNormEps) +
                            net.beta(l)(j))
                .epsilon(1e-12));
    }
  }
  // running statistics: 0 and 1 at the start, then one step of momentum 0.1 with the unbiased
  // variance
  for (Index l = 1; l < net.num_layers(); ++l) {
    CHECK(net.running().mean[static_cast<std::size_t>(l)].isZero());
    CHECK(net.running().var[static_cast<std::size_t>(l)].isOnes());
  }
  std::vector<Matrix<double>> z_train(1);  // index 0 unused, as Z[0]
  for (Index l = 1; l < net.num_layers(); ++l)
    z_train.push_back(ws.Z[static_cast<std::size_t>(l)].leftCols(n));
  net.update_running_stats(n);
  for (Index l = 1; l < net.num_layers(); ++l) {
    const auto ul = static_cast<std::size_t>(l);
    for (Index j = 0; j < z_train[ul].rows(); ++j) {
      const double mean = z_train[ul].row(j).mean();
      const double unbiased = (z_train[ul].row(j).array() - mean).square().sum() / (n - 1);
      CHECK(net.running().mean[ul](j) == doctest::Approx(0.1 * mean).epsilon(1e-12));
      CHECK(net.running().var[ul](j) == doctest::Approx(0.9 + 0.1 * unbiased).epsilon(1e-12));
    }
  }
  // an evaluation pass normalizes each sample alone by the running statistics: a sample's
  // logits do not depend on the rest of the batch
  net.forward(n, Pass::kEval);
  const Matrix<double> logits = ws.Z[3].leftCols(n);
  const auto ul = std::size_t{1};
  const double expect = net.gamma(1)(0) * (ws.Z[1](0, 2) - net.running().mean[ul](0)) /
                            std::sqrt(net.running().var[ul](0) + kNormEps) +
                        net.beta(1)(0);
  CHECK(ws.H[1](0, 2) == doctest::Approx(expect).epsilon(1e-12));
  net.workspace().input(n).col(0).setConstant(5.0);
  net.forward(n, Pass::kEval);
  CHECK(ws.Z[3].col(2) == logits.col(2));
  CHECK(ws.Z[3].col(0) != logits.col(0));
  // ... while a training pass couples them
  net.forward(n);
  const Matrix<double> coupled = ws.Z[3].leftCols(n);
  net.workspace().input(n).col(0).setConstant(-5.0);
  net.forward(n);
  CHECK(ws.Z[3].col(2) != coupled.col(2));
}

TEST_CASE("layer norm: each sample normalized over the units and the same in both passes") {
  const Index n = 6;
  Mlp<double> net = normed_net({3, 7, 5, 2}, "tanh", Output::kLinear, Norm::kLayer, n, 2, 0.9);
  const auto& ws = net.workspace();
  for (Index l = 1; l < net.num_layers(); ++l) {
    const auto ul = static_cast<std::size_t>(l);
    for (Index i = 0; i < n; ++i) {
      const Vector<double> z = ws.Z[ul].col(i);
      const double mean = z.mean();
      const double var = (z.array() - mean).square().mean();
      CHECK(ws.X_hat[ul].col(i).mean() == doctest::Approx(0.0).epsilon(1e-12));
      CHECK(ws.X_hat[ul].col(i).squaredNorm() / static_cast<double>(z.size()) ==
            doctest::Approx(var / (var + kNormEps)).epsilon(1e-12));
    }
  }
  const Matrix<double> train = ws.Z[3].leftCols(n);
  net.forward(n, Pass::kEval);
  CHECK(ws.Z[3].leftCols(n) == train);
  // one sample's output does not depend on the others
  net.workspace().input(n).col(0).setConstant(3.0);
  net.forward(n);
  CHECK(ws.Z[3].col(1) == train.col(1));
}

TEST_CASE("normed nets: the output does not depend on a hidden layer's weight scale") {
  // batch norm (over the samples) and layer norm (over the units) both divide out a scale c of
  // W_l and b_l, up to eps: layers 1 and 2 of a 3-8-8-8-2 net scaled
  for (const Norm norm : {Norm::kBatch, Norm::kLayer}) {
    const std::string norm_text = norm_name(norm);
    CAPTURE(norm_text);
    MlpConfig config{{3, 8, 8, 8, 2}, Activation::parse("relu"), Output::kSoftmax};
    config.norm = norm;
    Mlp<double> net(config, 12);
    randomize(net, 11, 0.6);
    fill_batch(net, 12, 12);
    // scales that make eps negligible against the variances (1e-5 / var below 1e-10)
    auto scale = [&](double c1, double c2) {
      net.W(1) *= c1;
      net.b(1) *= c1;
      net.W(2) *= c2;
      net.b(2) *= c2;
      net.forward(12);
      return net.loss(12);
    };
    const double loss = scale(1000.0, 300.0);
    CHECK(scale(100.0, 10.0) == doctest::Approx(loss).epsilon(1e-9));  // now 1e5 and 3000
    CHECK(scale(1e-4, 1e-4) != doctest::Approx(loss).epsilon(1e-9));   // 10 and 0.3: eps shows
  }
}

TEST_CASE("normed nets: identical neurons stay bit-identical in plain and residual nets") {
  for (const Norm norm : {Norm::kBatch, Norm::kLayer}) {
    for (const Index width : {1, 3, 8, 17, 33}) {
      for (const Index n : {2, 8, 17, 301}) {
        const std::string norm_text = norm_name(norm);
        CAPTURE(norm_text);
        CAPTURE(width);
        CAPTURE(n);
        MlpConfig config = residual_config(2, width, 3, 2, 3, "tanh", Output::kSoftmax);
        config.norm = norm;
        Mlp<float> net(config, n);
        net.params().alpha.setConstant(0.7f);
        constant_start(net, width, n);
        const auto& ws = net.workspace();
        for (std::size_t b = 0; b < ws.X.size(); ++b) {
          CHECK(rows_identical(ws.X[b].leftCols(n)));
          CHECK(rows_identical(ws.G[b].leftCols(n)));
        }
        for (Index l = 1; l < net.num_layers(); ++l) {
          const auto ul = static_cast<std::size_t>(l);
          CHECK(rows_identical(net.grads().W[ul]));
          CHECK(rows_identical(ws.H[ul].leftCols(n)));
          CHECK(net.grads().gamma[ul].isConstant(net.grads().gamma[ul](0)));
        }
      }
    }
  }
}

TEST_CASE("normed nets: parameters and names and configuration") {
  MlpConfig config{{4, 10, 6, 3}, {}, Output::kSoftmax};
  const Index plain = config.num_parameters();
  config.norm = Norm::kLayer;
  CHECK(config.num_parameters() == plain + 2 * (10 + 6));  // no norm on the output layer
  CHECK(config.normed(1));
  CHECK(config.normed(2));
  CHECK_FALSE(config.normed(3));
  Mlp<float> net(config, 4);
  CHECK(net.gamma(1).isOnes());
  CHECK(net.beta(2).isZero());
  CHECK(net.params().gamma[3].size() == 0);
  CHECK(parse_norm("batch") == Norm::kBatch);
  CHECK(norm_name(Norm::kLayer) == "layer");
  CHECK_THROWS_WITH_AS(parse_norm("group"),
                       doctest::Contains("unknown norm 'group'; allowed: none, batch, layer"),
                       std::invalid_argument);
}
