#include <doctest/doctest.h>

#include <Eigen/QR>
#include <Eigen/SVD>
#include <cmath>
#include <limits>
#include <numbers>
#include <set>
#include <string_view>

#include "initbench/meanfield.hpp"
#include "initbench/probes.hpp"
#include "initbench/report.hpp"
#include "initbench/rng.hpp"
#include "residual_support.hpp"

using namespace initbench;

namespace {

// The hand-computed network of the probe tests: 2-3-1, relu, linear output (MSE), two samples.
//   W1 = [[1, -1], [0.5, 0.5], [-1, -2]], b1 = (0, 1, -3);  W2 = (1, 2, -1), b2 = 0.5
//   x1 = (1, 2), y1 = 1;  x2 = (0, -1), y2 = 0
// Forward:
//   z1(x1) = (-1, 2.5, -8), a1 = (0, 2.5, 0);  z1(x2) = (1, 0.5, -1), a1 = (1, 0.5, 0)
//   z2 = (5.5, 2.5);  L = ((5.5 - 1)^2 + (2.5 - 0)^2) / 2 = 13.25
// Backward (mean over 2 samples): dz2 = 2 (z2 - y) / 2 = (4.5, 2.5)
//   dW2 = 4.5 (0, 2.5, 0) + 2.5 (1, 0.5, 0) = (2.5, 12.5, 0)
//   da1 = W2^T dz2 = (4.5, 9, -4.5), (2.5, 5, -2.5);  dz1 = da1 * relu'(z1) = (0, 9, 0), (2.5, 5,
//   0) dW1 = dz1 X^T = [[0, -2.5], [9, 13], [0, 0]]
Mlp<double> hand_network() {
  MlpConfig config{{2, 3, 1}, Activation::parse("relu"), Output::kLinear};
  Mlp<double> net(config, 2);
  net.W(1) << 1, -1, 0.5, 0.5, -1, -2;
  net.b(1) << 0, 1, -3;
  net.W(2) << 1, 2, -1;
  net.b(2) << 0.5;
  net.workspace().input(2) << 1, 0, 2, -1;
  net.workspace().target(2) << 1, 0;
  net.forward(2);
  net.backward(2);
  return net;
}

// The registry's entry of that name, or nullptr.
const Probe* find_probe(std::string_view name) {
  for (const Probe& p : probe_registry()) {
    if (std::string_view(p.name) == name) return &p;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("layer_statistics: every column against hand-computed values") {
  Mlp<double> net = hand_network();
  REQUIRE(net.loss(2) == 13.25);
  const std::vector<double> ratios{std::nan(""), 0.25, 0.5};
  const auto rows = layer_statistics(net, net.workspace(), 2, net.grads(), ratios);
  REQUIRE(rows.size() == 2);
  const LayerRow& l1 = rows[0];
  CHECK(l1.layer == 1);
  CHECK(l1.fan_in == 2);
  CHECK(l1.fan_out == 3);
  // z1 entries -1, 2.5, -8, 1, 0.5, -1: mean -1, mean square 73.5 / 6 = 12.25, var 11.25
  CHECK(l1.preact_mean == doctest::Approx(-1.0));
  CHECK(l1.preact_std == doctest::Approx(std::sqrt(11.25)));
  // a1 entries 0, 2.5, 0, 1, 0.5, 0: mean 2/3, mean square 7.5 / 6 = 1.25
  CHECK(l1.act_mean == doctest::Approx(2.0 / 3.0));
  CHECK(l1.act_std == doctest::Approx(std::sqrt(1.25 - 4.0 / 9.0)));
  CHECK(std::isnan(l1.saturated_frac));               // relu does not saturate
  CHECK(l1.dead_frac == doctest::Approx(1.0 / 3.0));  // unit 3 outputs 0 on both samples
  CHECK(l1.delta_norm == doctest::Approx(std::sqrt(81 + 6.25 + 25)));
  CHECK(l1.grad_w_norm == doctest::Approx(std::sqrt(6.25 + 81 + 169)));
  CHECK(l1.weight_norm == doctest::Approx(std::sqrt(7.5)));
  CHECK(l1.update_ratio == 0.25);
  // q1 = Var(W1) * mean |x|^2 + Var(b1) = (1.25 - 1/9) * 3 + (10/3 - 4/9)
  const double q1 = (1.25 - 1.0 / 9.0) * 3.0 + (10.0 / 3.0 - 4.0 / 9.0);
  CHECK(l1.meanfield_preact_var == doctest::Approx(q1));

  const LayerRow& l2 = rows[1];
  CHECK(l2.preact_mean == doctest::Approx(4.0));  // logits 5.5, 2.5
  CHECK(l2.preact_std == doctest::Approx(1.5));
  CHECK(l2.act_mean == doctest::Approx(4.0));  // the output layer's activation is its logits
  CHECK(l2.act_std == doctest::Approx(1.5));
  CHECK(std::isnan(l2.saturated_frac));
  CHECK(std::isnan(l2.dead_frac));
  CHECK(l2.delta_norm == doctest::Approx(std::sqrt(4.5 * 4.5 + 2.5 * 2.5)));
  CHECK(l2.grad_w_norm == doctest::Approx(std::sqrt(2.5 * 2.5 + 12.5 * 12.5)));
  CHECK(l2.weight_norm == doctest::Approx(std::sqrt(6.0)));
  CHECK(l2.update_ratio == 0.5);
  // q2 = fan_in Var(W2) E[relu(z)^2] + Var(b2) = 3 (2 - 4/9) q1 / 2 + 0
  CHECK(l2.meanfield_preact_var == doctest::Approx(3.0 * (2.0 - 4.0 / 9.0) * q1 / 2.0));
}

TEST_CASE("saturation: tanh |a| > 0.99, sigmoid a < 0.01 or a > 0.99, softsign |a| > 0.9") {
  for (const char* name : {"tanh", "sigmoid", "softsign"}) {
    const std::string act = name;
    CAPTURE(act);
    MlpConfig config{{1, 4, 1}, Activation::parse(name), Output::kLinear};
    Mlp<double> net(config, 2);
    net.W(1) << 1, 1, 1, 1;
    net.b(1) << 0, 0, 0, 0;
    // z = 0.5 (not saturated), 3, 20 and -20 for the first sample; 0 for the second (x = 0)
    net.W(1) << 0.5, 3, 20, -20;
    net.workspace().input(2) << 1, 0;
    net.forward(2);
    net.backward(2);
    const auto rows = layer_statistics(net, net.workspace(), 2, net.grads(), {});
    // tanh: |tanh(3)| = 0.995 > 0.99, tanh(+-20): saturated -> 3 of 8 entries.
    // sigmoid(3) = 0.953 no; sigmoid(20) > 0.99 and sigmoid(-20) < 0.01 -> 2 of 8.
    // softsign(3) = 0.75 no; softsign(+-20) = 0.952 -> 2 of 8.
    const double expected = act == "tanh" ? 3.0 / 8 : 2.0 / 8;
    CHECK(rows[0].saturated_frac == doctest::Approx(expected));
    CHECK(std::isnan(rows[0].dead_frac));
  }
}

TEST_CASE("histograms: fixed bins, underflow and overflow, every value counted once") {
  Mlp<double> net = hand_network();
  std::vector<Bins> act(3), delta(3);
  act[1] = {-1.0, 2.0, 3};   // bins [-1,0) [0,1) [1,2]; a1 = 0, 2.5, 0, 1, 0.5, 0
  act[2] = {0.0, 10.0, 2};   // logits 5.5, 2.5
  delta[1] = {0.0, 5.0, 1};  // dz1 = 0, 9, 0, 2.5, 5, 0: 5 (= hi) is in the bin, 9 overflows
  delta[2] = {-1.0, 1.0, 4};
  const auto rows = histograms(net, net.workspace(), 2, act, delta);
  // slot 0: below lo, 1..B: the bins, B + 1: above hi
  auto count = [&](long layer, const std::string& q, std::size_t slot) {
    for (const auto& r : rows) {
      if (r.layer == layer && r.quantity == q) return r.counts.at(slot);
    }
    return -1L;
  };
  CHECK(count(1, "activation", 0) == 0);
  CHECK(count(1, "activation", 1) == 0);
  CHECK(count(1, "activation", 2) == 4);  // 0, 0, 0, 0.5
  CHECK(count(1, "activation", 3) == 1);  // 1 (2.5 overflows)
  CHECK(count(1, "activation", 4) == 1);  // the overflow slot
  CHECK(count(2, "activation", 2) == 1);  // 5.5 in [5, 10]
  CHECK(count(1, "delta", 1) == 5);
  CHECK(count(1, "delta", 2) == 1);
  CHECK(count(2, "delta", 5) == 2);
  for (const auto& r : rows) {
    CHECK(r.lo == (r.quantity == "activation" ? act : delta)[static_cast<std::size_t>(r.layer)].lo);
    CHECK(r.hi == (r.quantity == "activation" ? act : delta)[static_cast<std::size_t>(r.layer)].hi);
    CHECK(r.counts.size() ==
          static_cast<std::size_t>(
              (r.quantity == "activation" ? act : delta)[static_cast<std::size_t>(r.layer)].count) +
              2);
  }
  // the counts column: the integers separated by spaces
  CHECK(rows.front().counts_text() == "0 0 4 1 1");
  // chosen bins: relu activations start at 0, and the largest value lands in the last bin
  const auto relu_bins = activation_bins(net, net.workspace(), 2, 4);
  CHECK(relu_bins[1].lo == 0.0);
  CHECK(relu_bins[1].hi == 2.5);
  const auto d_bins = delta_bins(net, net.workspace(), 2, 4);
  const auto chosen = histograms(net, net.workspace(), 2, relu_bins, d_bins);
  for (const auto& r : chosen) {
    CHECK(r.counts.front() == 0);
    CHECK(r.counts.back() == 0);
  }
  long total = 0;
  for (const auto& r : rows) {
    if (r.layer == 1 && r.quantity == "activation") {
      for (const long c : r.counts) total += c;
    }
  }
  CHECK(total == 6);
}

TEST_CASE("symmetry: identical neurons are grouped, cosines and effective rank") {
  MlpConfig config{{2, 3, 1}, Activation::parse("identity"), Output::kLinear};
  Mlp<double> net(config, 2);
  net.W(1) << 1, 0, 1, 0, 0, 2;  // neurons 1 and 2 identical; neuron 3 orthogonal to them
  net.b(1) << 0.5, 0.5, 0;
  net.W(2) << 1, 1, 1;
  net.workspace().input(2) << 1, 0, 0, 1;
  net.forward(2);
  auto rows = symmetry_statistics(net, net.workspace(), 2, 1e-6);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].width == 3);
  CHECK(rows[0].distinct_neurons == 2);
  CHECK(rows[0].max_abs_cosine == doctest::Approx(1.0));
  CHECK(rows[0].mean_abs_cosine == doctest::Approx(1.0 / 3.0));
  // activations: sample 1 (x = e1) -> (1.5, 1.5, 0); sample 2 (x = e2) -> (0.5, 0.5, 2)
  Eigen::MatrixXd A(3, 2);
  A << 1.5, 0.5, 1.5, 0.5, 0, 2;
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(A);
  const auto s = svd.singularValues();
  CHECK(rows[0].act_effective_rank == doctest::Approx(effective_rank({s(0), s(1)})));
  // a bias difference alone separates neurons
  net.b(1) << 0.5, 0.6, 0;
  CHECK(symmetry_statistics(net, net.workspace(), 2, 1e-6)[0].distinct_neurons == 3);
  // all-zero rows are one group, and parallel
  net.params().set_zero();
  net.forward(2);
  rows = symmetry_statistics(net, net.workspace(), 2, 1e-6);
  CHECK(rows[0].distinct_neurons == 1);
  CHECK(rows[0].max_abs_cosine == 1.0);
  CHECK(rows[0].act_effective_rank == 0.0);
}

TEST_CASE("effective_rank") {
  CHECK(effective_rank({1.0, 1.0}) == doctest::Approx(2.0));
  CHECK(effective_rank({5.0, 0.0, 0.0}) == doctest::Approx(1.0));
  CHECK(effective_rank({3.0, 1.0}) ==
        doctest::Approx(std::exp(-(0.75 * std::log(0.75) + 0.25 * std::log(0.25)))));
  CHECK(effective_rank({0.0, 0.0}) == 0.0);
}

TEST_CASE(
    "jacobian: a linear network's singular values are those of W2 W1, tanh matches finite "
    "differences") {
  Rng rng(3);
  SUBCASE("linear") {
    MlpConfig config{{4, 6, 3}, Activation::parse("identity"), Output::kLinear};
    Mlp<double> net(config, 1);
    for (Index l = 1; l <= 2; ++l) {
      for (Index k = 0; k < net.W(l).size(); ++k) net.W(l)(k) = rng.normal();
    }
    const Vector<double> x = Vector<double>::Ones(4);
    const auto s = jacobian_singular_values(net, x);
    Eigen::JacobiSVD<Eigen::MatrixXd> svd(net.W(2) * net.W(1));
    REQUIRE(s.size() == 3);
    for (int k = 0; k < 3; ++k)
      CHECK(s[static_cast<std::size_t>(k)] == doctest::Approx(svd.singularValues()(k)));
  }
  SUBCASE("tanh") {
    MlpConfig config{{3, 5, 5, 2}, Activation::parse("tanh"), Output::kLinear};
    Mlp<double> net(config, 1);
    for (Index l = 1; l <= 3; ++l) {
      for (Index k = 0; k < net.W(l).size(); ++k) net.W(l)(k) = rng.normal();
      for (Index k = 0; k < net.b(l).size(); ++k) net.b(l)(k) = rng.normal(0, 0.3);
    }
    Vector<double> x(3);
    x << 0.2, -0.4, 0.7;
    Eigen::MatrixXd J(2, 3);
    for (Index i = 0; i < 3; ++i) {
      Vector<double> up = x, down = x;
      up(i) += 1e-6;
      down(i) -= 1e-6;
      net.workspace().input(1) = up;
      net.forward(1);
      const Eigen::VectorXd zu = net.workspace().Z[3].col(0);
      net.workspace().input(1) = down;
      net.forward(1);
      J.col(i) = (zu - net.workspace().Z[3].col(0)) / 2e-6;
    }
    Eigen::JacobiSVD<Eigen::MatrixXd> svd(J);
    const auto s = jacobian_singular_values(net, x);
    for (int k = 0; k < 2; ++k)
      CHECK(s[static_cast<std::size_t>(k)] ==
            doctest::Approx(svd.singularValues()(k)).epsilon(1e-6));
  }
}

TEST_CASE("jacobian: singular values over 200 decades keep a relative accuracy of 1e-10") {
  // A linear chain of 100 layers of width 24, W_l = Q_l diag(s) Q_{l-1}^T with random orthogonal
  // Q_l: the product is Q_100 diag(s^100) Q_0^T, so its k-th singular value is s_k^100 exactly,
  // here 10^(100 c (11.5 - k)) for k = 0..23: from 1e100 down to 1e-100. The SVD of the formed
  // product returns its values below 1e-16 of the largest as rounding noise.
  constexpr Index kWidth = 24, kLayers = 100;
  constexpr double kC = 200.0 / (100.0 * 23.0);  // log10 per layer and rank step
  Rng rng(11);
  auto orthogonal = [&] {
    Eigen::MatrixXd g(kWidth, kWidth);
    for (Index k = 0; k < g.size(); ++k) g(k) = rng.normal();
    Eigen::HouseholderQR<Eigen::MatrixXd> qr(g);
    return Eigen::MatrixXd(qr.householderQ());
  };
  Eigen::VectorXd s(kWidth);
  for (Index k = 0; k < kWidth; ++k) s(k) = std::pow(10.0, kC * (11.5 - static_cast<double>(k)));
  MlpConfig config{std::vector<Index>(kLayers + 1, kWidth), Activation::parse("identity"),
                   Output::kLinear};
  Mlp<double> net(config, 1);
  Eigen::MatrixXd previous = orthogonal();
  Eigen::MatrixXd formed = Eigen::MatrixXd::Identity(kWidth, kWidth);
  for (Index l = 1; l <= kLayers; ++l) {
    const Eigen::MatrixXd q = orthogonal();
    net.W(l) = q * s.asDiagonal() * previous.transpose();
    formed = net.W(l) * formed;
    previous = q;
  }
  const Vector<double> x = Vector<double>::Ones(kWidth);
  const auto values = jacobian_singular_values(net, x);
  REQUIRE(values.size() == static_cast<std::size_t>(kWidth));
  double worst = 0.0;
  for (Index k = 0; k < kWidth; ++k) {
    const double exact = std::pow(10.0, 100.0 * kC * (11.5 - static_cast<double>(k)));
    worst = std::max(worst, std::abs(values[static_cast<std::size_t>(k)] / exact - 1.0));
  }
  INFO("largest relative error " << worst);
  CHECK(worst < 1e-10);
  // The formed product loses the small values (the reason for the layer-by-layer algorithm).
  Eigen::BDCSVD<Eigen::MatrixXd> naive(formed);
  const double exact_min = std::pow(10.0, -100.0 * kC * 11.5);
  CHECK(std::abs(naive.singularValues()(kWidth - 1) / exact_min - 1.0) > 0.5);
}

TEST_CASE(
    "jacobian: a ReLU unit that is off gives exact zeros, the rest match the formed product") {
  // 6 -> 6 runs the chain from the input side, 7 -> 4 from the output side (J^T).
  for (const std::vector<Index>& sizes : {std::vector<Index>{6, 8, 5, 6}, {7, 8, 5, 4}}) {
    CAPTURE(sizes.front());
    Rng rng(13);
    MlpConfig config{sizes, Activation::parse("relu"), Output::kLinear};
    Mlp<double> net(config, 1);
    for (Index l = 1; l <= 3; ++l) {
      for (Index k = 0; k < net.W(l).size(); ++k) net.W(l)(k) = rng.normal();
      for (Index k = 0; k < net.b(l).size(); ++k) net.b(l)(k) = rng.normal(0, 0.1);
    }
    Vector<double> x(sizes.front());
    for (Index k = 0; k < x.size(); ++k) x(k) = rng.normal();
    // The formed product, and its rank: the fewest units on in a hidden layer.
    Eigen::VectorXd a = x;
    Eigen::MatrixXd J = net.W(1);
    Index rank = std::min(sizes.front(), sizes.back());
    for (Index l = 1; l < 3; ++l) {
      const Eigen::VectorXd z = net.W(l) * a + net.b(l);
      const Eigen::VectorXd on = (z.array() > 0.0).cast<double>();
      rank = std::min<Index>(rank, static_cast<Index>(on.sum()));
      a = z.cwiseMax(0.0);
      J = net.W(l + 1) * on.asDiagonal() * J;
    }
    const auto n = static_cast<std::size_t>(std::min(sizes.front(), sizes.back()));
    REQUIRE(rank < static_cast<Index>(n));  // the seed gives off units, so zeros are tested
    Eigen::JacobiSVD<Eigen::MatrixXd> svd(J);
    const auto values = jacobian_singular_values(net, x);
    REQUIRE(values.size() == n);
    for (Index k = 0; k < static_cast<Index>(n); ++k) {
      CAPTURE(k);
      const double got = values[static_cast<std::size_t>(k)];
      if (k < rank) {
        CHECK(got == doctest::Approx(svd.singularValues()(k)).epsilon(1e-12));
      } else {
        CHECK(got == 0.0);
        CHECK(svd.singularValues()(k) < 1e-13 * svd.singularValues()(0));
      }
    }
  }
}

TEST_CASE("probes: the bits do not depend on the cache sizes Eigen reads from the CPU") {
  // Eigen sizes the depth blocks of its products from the L1 size it reads from the CPU; the
  // probes fix the sizes, so a CPU with another L1 (set here by hand) gives the same bits. The
  // width (600 > the depth block of a 32 KiB L1) makes the symmetry probe's Gram products
  // blocked; the Jacobian's own sums run in index order, and must not change either.
  Rng rng(5);
  MlpConfig config{{600, 600, 600, 3}, Activation::parse("tanh"), Output::kLinear};
  Mlp<double> net(config, 8);
  for (Index l = 1; l <= 3; ++l) {
    for (Index k = 0; k < net.W(l).size(); ++k) net.W(l)(k) = rng.normal(0, 0.05);
  }
  for (Index k = 0; k < net.workspace().input(8).size(); ++k)
    net.workspace().input(8)(k) = rng.normal();
  net.forward(8);
  const Vector<double> x = net.workspace().input(1).col(0);
  const auto reference = jacobian_singular_values(net, x);
  const auto reference_symmetry = symmetry_statistics(net, net.workspace(), 8, 1e-6);
  for (const std::ptrdiff_t l1 : {16 * 1024, 32 * 1024, 64 * 1024}) {
    CAPTURE(l1);
    Eigen::setCpuCacheSizes(l1, 256 * 1024, 8 * 1024 * 1024);
    CHECK(jacobian_singular_values(net, x) == reference);
    Eigen::setCpuCacheSizes(l1, 256 * 1024, 8 * 1024 * 1024);
    const auto symmetry = symmetry_statistics(net, net.workspace(), 8, 1e-6);
    REQUIRE(symmetry.size() == reference_symmetry.size());
    for (std::size_t i = 0; i < symmetry.size(); ++i)
      CHECK(symmetry[i].act_effective_rank == reference_symmetry[i].act_effective_rank);
  }
}

TEST_CASE(
    "mean field: Gaussian expectations against 30-digit quadrature, for every activation and "
    "variance") {
  // Reference values: mpmath.quad at 30 digits, split at the kink, from
  // scripts/reference/meanfield_expectations.py: E[phi(z)^2] and E[phi'(z)^2] for z ~ N(0, q).
  struct Case {
    const char* activation;
    double q, phi2, dphi2;
  };
  const Case cases[] = {
      {"tanh", 0.0001, 0.000099980005664600920848, 0.99980006996868338968},
      {"tanh", 1.0, 0.39429449039784117442, 0.46440290244826824197},
      {"tanh", 100.0, 0.92053686343051667121, 0.053106787748115834101},
      {"tanh", 1.0e+4, 0.9920214824805130433, 0.0053191446440146221396},
      {"sigmoid", 0.0001, 0.2500062496875221334, 0.062496875273406905126},
      {"sigmoid", 1.0, 0.29337903585809296274, 0.044836241350194371793},
      {"sigmoid", 100.0, 0.46074043989063592308, 0.0066066455035341532991},
      {"sigmoid", 1.0e+4, 0.4960112332031644197, 0.00066486092372651972515},
      {"softsign", 0.0001, 0.000096895981299417429149, 0.9690537176559344869},
      {"softsign", 1.0, 0.18301402126654749909, 0.2276713404221824997},
      {"softsign", 100.0, 0.67741350285385789919, 0.026487841935953767541},
      {"softsign", 1.0e+4, 0.93327381870097515792, 0.0026594853818651507562},
      {"elu", 0.0001, 0.000099210786291819939264, 0.99212010046144442596},
      {"elu", 1.0, 0.64494541749292386306, 0.66810200122317060643},
      {"elu", 100.0, 50.440884227445555026, 0.51989761564832703159},
      {"elu", 1.0e+4, 5000.4940166135752481, 0.50199466153796172966},
      {"selu", 0.0001, 0.00020730490171481849143, 2.0730868423332659368},
      {"selu", 1.0, 1.0, 1.0715749924557992576},
      {"selu", 100.0, 56.561363160460662501, 0.61348808710714214456},
      {"selu", 1.0e+4, 5521.389786666418728, 0.55815160827619228727},
      {"gelu", 0.0001, 0.000025004773852647996455, 0.25006364924733424494},
      {"gelu", 1.0, 0.42522148257029867492, 0.45585086564928712211},
      {"gelu", 100.0, 49.981482730022822178, 0.50539986418341693201},
      {"gelu", 1.0e+4, 4999.9981245829413409, 0.50056246795620249712},
  };
  for (const Case& c : cases) {
    const std::string name = c.activation;
    CAPTURE(name);
    CAPTURE(c.q);
    const Activation act = Activation::parse(c.activation);
    CHECK(gaussian_mean_phi2(act, c.q) == doctest::Approx(c.phi2).epsilon(1e-10));
    CHECK(gaussian_mean_dphi2(act, c.q) == doctest::Approx(c.dphi2).epsilon(1e-10));
  }
}

TEST_CASE("mean field: closed forms and the critical lines of relu and tanh") {
  CHECK(gaussian_mean_phi2(Activation::parse("relu"), 3.0) == 1.5);
  // relu: chi_1 = sw2 / 2, critical at sw2 = 2 (He init)
  CHECK(meanfield_chi1(Activation::parse("relu"), 2.0, 0.0) == doctest::Approx(1.0));
  // tanh, sb2 = 0: q* = 0 for sw2 <= 1 and chi_1 = sw2; chaotic above
  CHECK(meanfield_chi1(Activation::parse("tanh"), 0.8, 0.0) == doctest::Approx(0.8));
  CHECK(meanfield_chi1(Activation::parse("tanh"), 2.0, 0.0) > 1.0);
  CHECK(meanfield_c_star(Activation::parse("tanh"), 2.0, 0.05) < 1.0);
  CHECK(meanfield_c_star(Activation::parse("tanh"), 1.0, 0.05) == 1.0);
  // the depth scale diverges at the edge of chaos (Schoenholz et al.: sw2 ~ 1.76 for sb2 = 0.05)
  const Activation tanh = Activation::parse("tanh");
  CHECK(meanfield_xi_c(tanh, 1.76, 0.05) > 10 * meanfield_xi_c(tanh, 1.2, 0.05));
  CHECK(meanfield_xi_c(tanh, 1.76, 0.05) > 10 * meanfield_xi_c(tanh, 3.5, 0.05));
}

TEST_CASE("mean field: where q* is not a finite fixed point, what depends on it is not invented") {
  const double inf = std::numeric_limits<double>::infinity();
  const Activation relu = Activation::parse("relu");
  // relu's map is q -> (sw2 / 2) q + sb2: q* = sb2 / (1 - sw2 / 2) below criticality
  CHECK(meanfield_fixed_point(relu, 1.0, 0.5) == doctest::Approx(1.0));
  CHECK(meanfield_fixed_point(relu, 3.0, 0.0) == inf);
  CHECK(meanfield_fixed_point(relu, 2.0, 0.1) == inf);
  CHECK(std::isnan(meanfield_fixed_point(relu, 2.0, 0.0)));  // He: every q is a fixed point
  CHECK(std::isnan(meanfield_fixed_point(relu, 2.0000000000000004, 0.0)));  // rounding of 2
  CHECK(meanfield_chi1(relu, 3.0, 0.0) == 1.5);  // chi_1 does not depend on q
  CHECK(meanfield_xi_c(relu, 1.0, 0.5) == doctest::Approx(-1.0 / std::log(0.5)));
  CHECK(meanfield_xi_c(relu, 1.0, 0.0) == inf);  // correlations approach 1 polynomially
  CHECK(meanfield_xi_c(relu, 2.0, 0.0) == inf);
  const Activation leaky = Activation::parse("leaky_relu(slope=0.5)");
  CHECK(meanfield_chi1(leaky, 1.0, 0.0) == doctest::Approx(0.625));
  // elu and selu grow without a fixed point above criticality: inf, and no chi_1 or xi_c
  for (const char* name : {"elu", "selu"}) {
    const Activation act = Activation::parse(name);
    CAPTURE(name);
    CHECK(meanfield_fixed_point(act, 4.0, 0.05) == inf);
    CHECK(std::isnan(meanfield_chi1(act, 4.0, 0.05)));
    CHECK(std::isnan(meanfield_xi_c(act, 4.0, 0.05)));
  }
  // a bounded activation has a fixed point however large sw2 is
  const Activation tanh = Activation::parse("tanh");
  CHECK(meanfield_fixed_point(tanh, 1e40, 0.0) == doctest::Approx(1e40).epsilon(0.01));
  CHECK(meanfield_chi1(tanh, 1e40, 0.0) > 1.0);
  CHECK(std::isnan(meanfield_xi_c(tanh, 1e40, 0.0)));  // chaotic past q* = 1e12: not computed
  CHECK(meanfield_xi_c(tanh, 1e6, 0.0) == doctest::Approx(2.218).epsilon(1e-3));
  // the cached bundle is the three functions' values
  const MeanField m = meanfield(tanh, 2.0, 0.05);
  CHECK(m.q_star == meanfield_fixed_point(tanh, 2.0, 0.05));
  CHECK(m.chi_1 == meanfield_chi1(tanh, 2.0, 0.05));
  CHECK(m.xi_c == meanfield_xi_c(tanh, 2.0, 0.05));
  CHECK(meanfield(tanh, 2.0, 0.05).xi_c == m.xi_c);
}

TEST_CASE("mean field: an infinite variance (a diverged network) ends, with the limit") {
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(gaussian_mean_phi2(Activation::parse("tanh"), inf) == 1.0);
  CHECK(gaussian_mean_dphi2(Activation::parse("tanh"), inf) == 0.0);
  CHECK(gaussian_mean_phi2(Activation::parse("elu"), inf) == inf);
  CHECK(meanfield_next_q(Activation::parse("sigmoid"), inf, 2.0, 0.0) == 1.0);
  CHECK(std::isnan(gaussian_mean_phi2(Activation::parse("tanh"), std::nan(""))));
}

TEST_CASE("correlation probe: q_a, q_b and the correlation of a sample pair at every layer") {
  // The hand network: x1 = (1, 2), x2 = (0, -1); z1 = (-1, 2.5, -8), (1, 0.5, -1); z2 = 5.5, 2.5.
  const Mlp<double> net = hand_network();
  const Probe* probe = find_probe("correlation");
  REQUIRE(probe != nullptr);
  ProbeConfig config;
  config.set("correlation", true);
  config.set("correlation_pairs", 5);  // only one pair fits in 2 samples
  const std::vector<double> ratios(3, std::nan(""));
  const ProbeInput<double> in{net, net.workspace(), 2, net.grads(), ratios, config, 7, 4};
  ProbeState state;
  RunRecord record;
  probe->run(in, state, record);
  REQUIRE(record.rows<CorrelationRow>().size() == 3);  // layers 0 (inputs), 1, 2
  const auto& rows = record.rows<CorrelationRow>();
  for (long l = 0; l < 3; ++l) {
    CHECK(rows[static_cast<std::size_t>(l)].layer == l);
    CHECK(rows[static_cast<std::size_t>(l)].run_id == 7);
    CHECK(rows[static_cast<std::size_t>(l)].step == 4);
    CHECK(rows[static_cast<std::size_t>(l)].pair == 0);
  }
  CHECK(rows[0].q_a == doctest::Approx(2.5));
  CHECK(rows[0].q_b == doctest::Approx(0.5));
  CHECK(rows[0].correlation == doctest::Approx(-2.0 / std::sqrt(5.0)));
  CHECK(rows[1].q_a == doctest::Approx(71.25 / 3));
  CHECK(rows[1].q_b == doctest::Approx(2.25 / 3));
  CHECK(rows[1].correlation == doctest::Approx(8.25 / std::sqrt(71.25 * 2.25)));
  CHECK(rows[2].q_a == doctest::Approx(30.25));
  CHECK(rows[2].correlation == doctest::Approx(1.0));
  // its schedule: with the layers probe unless it has its own
  config.every = 5;
  CHECK(probe->steps(config, 20, {0, 5, 10, 15, 20}) == std::set<long>{0, 5, 10, 15, 20});
  config.set("correlation_every", 8);
  CHECK(probe->steps(config, 20, {0, 5, 10, 15, 20}) == std::set<long>{0, 8, 16, 20});
  config.set("correlation", false);
  CHECK(probe->steps(config, 20, {0, 5}).empty());
}

TEST_CASE("layer_jacobian probe: the singular values of diag(phi'(z_l)) W_l per sample") {
  // The hand network's z1 = (-1, 2.5, -8) and (1, 0.5, -1): relu' = (0, 1, 0) and (1, 1, 0), so
  // J_1 keeps the row (0.5, 0.5) (singular values sqrt(0.5), 0), then the orthogonal rows
  // (1, -1), (0.5, 0.5) (sqrt(2), sqrt(0.5)). Only hidden layers: no row for the output layer.
  const Mlp<double> net = hand_network();
  const Probe* probe = find_probe("layer_jacobian");
  REQUIRE(probe != nullptr);
  ProbeConfig config;
  config.set("layer_jacobian", true).set("layer_jacobian_samples", 5);  // 2 fit
  const std::vector<double> ratios(3, std::nan(""));
  const ProbeInput<double> in{net, net.workspace(), 2, net.grads(), ratios, config, 7, 4};
  ProbeState state;
  std::vector<RunRecord> records(1);
  probe->run(in, state, records[0]);
  const CsvTable table = parse_csv(probe->csv(records), "layer_jacobian.csv");
  REQUIRE(table.rows.size() == 2);
  const auto cell = [&](std::size_t row, std::string_view column) {
    return std::stod(table.rows[row][table.column(column)]);
  };
  const double h = std::sqrt(0.5);
  const double expected[2][4] = {{0, h / 2, 0, h},
                                 {1, (std::sqrt(2.0) + h) / 2, h, std::sqrt(2.0)}};
  for (std::size_t s = 0; s < 2; ++s) {
    CHECK(cell(s, "run_id") == 7);
    CHECK(cell(s, "step") == 4);
    CHECK(cell(s, "layer") == 1);
    CHECK(cell(s, "sample") == expected[s][0]);
    CHECK(cell(s, "mean_singular_value") == doctest::Approx(expected[s][1]));
    CHECK(cell(s, "min_singular_value") == doctest::Approx(expected[s][2]).epsilon(1e-12));
    CHECK(cell(s, "max_singular_value") == doctest::Approx(expected[s][3]));
  }
  // its schedule: the first and the last step unless it has its own; off by default
  CHECK(probe->steps(config, 20, {}) == std::set<long>{0, 20});
  config.set("layer_jacobian_every", 8);
  CHECK(probe->steps(config, 20, {}) == std::set<long>{0, 8, 16, 20});
  CHECK(probe->steps(ProbeConfig{}, 20, {0, 5}).empty());
}

TEST_CASE("stream probe: a residual net's stream, branch, ratio, gradient and alpha per block") {
  // residual_support.hpp's block: x_0 = 2, F = 5, alpha = 0.5, x_1 = 4.5, dL/dx_1 = 32,
  // dL/dx_0 = 80.
  Mlp<double> net = hand_residual_network();
  net.backward(1);
  const Probe* probe = find_probe("stream");
  REQUIRE(probe != nullptr);
  ProbeConfig probes;
  probes.set("stream", true);
  const std::vector<double> ratios(4, std::nan(""));
  const ProbeInput<double> in{net, net.workspace(), 1, net.grads(), ratios, probes, 3, 9};
  ProbeState state;
  std::vector<RunRecord> records(1);
  probe->run(in, state, records[0]);
  const CsvTable table = parse_csv(probe->csv(records), "stream.csv");
  REQUIRE(table.rows.size() == 2);
  const auto cell = [&](std::size_t row, std::string_view column) {
    return std::stod(table.rows[row][table.column(column)]);
  };
  CHECK(cell(0, "run_id") == 3);
  CHECK(cell(0, "step") == 9);
  CHECK(cell(0, "block") == 0);
  CHECK(cell(0, "stream_rms") == 2);
  CHECK(std::isnan(cell(0, "branch_rms")));
  CHECK(std::isnan(cell(0, "alpha")));
  CHECK(cell(0, "grad_rms") == 80);
  CHECK(cell(1, "block") == 1);
  CHECK(cell(1, "stream_rms") == 4.5);
  CHECK(cell(1, "branch_rms") == 2.5);
  CHECK(cell(1, "branch_ratio") == 1.25);
  CHECK(cell(1, "grad_rms") == 32);
  CHECK(cell(1, "alpha") == 0.5);
  // a plain MLP has no stream: no rows
  const Mlp<double> plain = hand_network();
  std::vector<RunRecord> none(1);
  probe->run(ProbeInput<double>{plain, plain.workspace(), 2, plain.grads(), ratios, probes, 3, 9},
             state, none[0]);
  CHECK(none[0].rows<StreamRow>().empty());
  // its schedule: its own every, else the layers probe's steps, else the first and the last
  CHECK(probe->steps(probes, 20, {0, 5, 10, 15, 20}) == std::set<long>{0, 5, 10, 15, 20});
  CHECK(probe->steps(probes, 20, {}) == std::set<long>{0, 20});
  probes.set("stream_every", 8);
  CHECK(probe->steps(probes, 20, {0, 5}) == std::set<long>{0, 8, 16, 20});
  CHECK(probe->steps(ProbeConfig{}, 20, {0, 5}).empty());
}

TEST_CASE("modes probe: a linear net's strength on each singular mode of a linear teacher") {
  // The teacher M = 2 u_1 v_1^T + 1 u_2 v_2^T with u_1 = (1, 1) / sqrt 2, u_2 = (1, -1) / sqrt 2,
  // v_1 = (1, 0), v_2 = (0, 1): M = [[sqrt 2, 1 / sqrt 2], [sqrt 2, -1 / sqrt 2]].
  // The network 2-2-2, identity units: W_1 = diag(2, 1), W_2 = [[0.5, 0.5], [0.5, -0.5]], so
  // W_tot = W_2 W_1 = [[1, 0.5], [1, -0.5]]: a_1 = u_1^T W_tot v_1 = sqrt 2 (by hand: (1 + 1) /
  // sqrt 2), a_2 = u_2^T W_tot v_2 = (0.5 + 0.5) / sqrt 2 = 1 / sqrt 2. The biases (not 0 here)
  // are left out.
  const double r = std::sqrt(0.5);
  Matrix<double> M(2, 2);
  M << 2 * r * 1, r * 1, 2 * r * 1, -r * 1;
  MlpConfig config{{2, 2, 2}, Activation::parse("identity"), Output::kLinear};
  Mlp<double> net(config, 1);
  net.W(1) << 2, 0, 0, 1;
  net.W(2) << 0.5, 0.5, 0.5, -0.5;
  net.b(1) << 3, -4;
  net.b(2) << 1, 1;
  const Probe* probe = find_probe("modes");
  REQUIRE(probe != nullptr);
  ProbeConfig probes;
  probes.set("modes", true);
  const std::vector<double> ratios(3, std::nan(""));
  ProbeState state;
  std::vector<RunRecord> records(1);
  probe->run(ProbeInput<double>{net, net.workspace(), 1, net.grads(), ratios, probes, 3, 9, &M},
             state, records[0]);
  const CsvTable table = parse_csv(probe->csv(records), "modes.csv");
  REQUIRE(table.rows.size() == 2);
  const auto cell = [&](std::size_t row, std::string_view column) {
    return std::stod(table.rows[row][table.column(column)]);
  };
  const double expected[2][3] = {{1, 2, std::sqrt(2.0)}, {2, 1, r}};
  for (std::size_t i = 0; i < 2; ++i) {
    CAPTURE(i);
    CHECK(cell(i, "run_id") == 3);
    CHECK(cell(i, "step") == 9);
    CHECK(cell(i, "mode") == expected[i][0]);
    CHECK(cell(i, "singular_value") == doctest::Approx(expected[i][1]).epsilon(1e-14));
    CHECK(cell(i, "strength") == doctest::Approx(expected[i][2]).epsilon(1e-14));
  }
  // The network that is the teacher has a_i = s_i; the modes are kept from the first step, and a
  // rank-1 teacher has one mode.
  net.W(1) = M;
  net.W(2).setIdentity();
  const std::vector<double> a = mode_strengths(net, *state.teacher_modes);
  CHECK(a[0] == doctest::Approx(2.0).epsilon(1e-14));
  CHECK(a[1] == doctest::Approx(1.0).epsilon(1e-14));
  Matrix<double> rank_one(2, 2);
  rank_one << 1, 2, 2, 4;
  const Modes one = singular_modes(rank_one);
  REQUIRE(one.s.size() == 1);
  CHECK(one.s[0] == doctest::Approx(5.0).epsilon(1e-14));
  // no teacher (other data): no rows
  std::vector<RunRecord> none(1);
  ProbeState fresh;
  probe->run(ProbeInput<double>{net, net.workspace(), 1, net.grads(), ratios, probes, 3, 9}, fresh,
             none[0]);
  CHECK(none[0].rows<ModeRow>().empty());
  // its schedule: its own every, else the layers probe's steps, else the first and the last
  CHECK(probe->steps(probes, 20, {0, 5, 10, 15, 20}) == std::set<long>{0, 5, 10, 15, 20});
  CHECK(probe->steps(probes, 20, {}) == std::set<long>{0, 20});
  probes.set("modes_every", 8);
  CHECK(probe->steps(probes, 20, {0, 5}) == std::set<long>{0, 8, 16, 20});
  // log-spaced: floor(10^(k/4)) = 1, 1, 3, 5, 10, 17, 31, ... up to 20, plus 0 and 20
  probes.set("modes_per_decade", 4);
  CHECK(probe->steps(probes, 20, {0, 5}) == std::set<long>{0, 1, 3, 5, 10, 17, 20});
  CHECK(probe->steps(ProbeConfig{}, 20, {0, 5}).empty());
}

TEST_CASE("norm probe: the moments before and after each batch norm and its schedule") {
  // a 1-2-1 relu net with a batch norm: z_1 = (1, 2) x on x = 1, 3, so unit 1 reads (1, 3)
  // (mean 2, variance 1), unit 2 (2, 6) (mean 4, variance 4); h = xhat with gamma 1, beta 0
  MlpConfig config{{1, 2, 1}, Activation::parse("relu"), Output::kLinear};
  config.norm = Norm::kBatch;
  Mlp<double> net(config, 2);
  net.W(1) << 1.0, 2.0;
  net.W(2) << 1.0, 1.0;
  net.workspace().input(2) << 1.0, 3.0;
  net.workspace().target(2) << 0.0, 0.0;
  net.forward(2);
  net.backward(2);
  const Probe* probe = find_probe("norm");
  REQUIRE(probe != nullptr);
  ProbeConfig probes;
  probes.set("norm", true);
  const std::vector<double> ratios(3, std::nan(""));
  ProbeState state;
  std::vector<RunRecord> records(1);
  probe->run(ProbeInput<double>{net, net.workspace(), 2, net.grads(), ratios, probes, 3, 9}, state,
             records[0]);
  const CsvTable table = parse_csv(probe->csv(records), "norm.csv");
  REQUIRE(table.rows.size() == 1);
  const auto cell = [&](std::string_view column) {
    return std::stod(table.rows[0][table.column(column)]);
  };
  CHECK(cell("run_id") == 3);
  CHECK(cell("step") == 9);
  CHECK(cell("layer") == 1);
  CHECK(cell("width") == 2);
  CHECK(cell("prenorm_mean") == doctest::Approx(3.0).epsilon(1e-14));  // 1, 3, 2, 6
  CHECK(cell("prenorm_std") == doctest::Approx(std::sqrt(3.5)).epsilon(1e-14));
  CHECK(std::abs(cell("postnorm_mean")) < 1e-15);
  const double post = std::sqrt((1 / (1 + kNormEps) + 4 / (4 + kNormEps)) / 2);
  CHECK(cell("postnorm_std") == doctest::Approx(post).epsilon(1e-14));
  // a net without norms has no rows
  const Mlp<double> plain = hand_network();
  std::vector<RunRecord> none(1);
  probe->run(ProbeInput<double>{plain, plain.workspace(), 2, plain.grads(), ratios, probes, 3, 9},
             state, none[0]);
  CHECK(none[0].rows<NormRow>().empty());
  // its schedule: its own every, else the layers probe's steps, else the first and the last
  CHECK(probe->steps(probes, 20, {0, 5, 10, 15, 20}) == std::set<long>{0, 5, 10, 15, 20});
  CHECK(probe->steps(probes, 20, {}) == std::set<long>{0, 20});
  probes.set("norm_every", 8);
  CHECK(probe->steps(probes, 20, {0, 5}) == std::set<long>{0, 8, 16, 20});
}

TEST_CASE("coord_check probe: mean |z_l|, |a_l| and |z_l - z_l(0)| per layer, steps 0..k") {
  // the hand network: mean |z_1| = 14/6, mean |a_1| = 4/6, mean |z_2| = (5.5 + 2.5) / 2
  Mlp<double> net = hand_network();
  const Probe* probe = find_probe("coord_check");
  REQUIRE(probe != nullptr);
  ProbeConfig probes;
  probes.set("coord_check", true);
  const std::vector<double> ratios(3, std::nan(""));
  ProbeState state;
  std::vector<RunRecord> records(1);
  probe->run(ProbeInput<double>{net, net.workspace(), 2, net.grads(), ratios, probes, 3, 0}, state,
             records[0]);
  // an update of the readout: W2 = (2, 2, -1) gives z_2 = (5.5, 3.5), z_1 unchanged
  net.W(2) << 2, 2, -1;
  net.forward(2);
  probe->run(ProbeInput<double>{net, net.workspace(), 2, net.grads(), ratios, probes, 3, 1}, state,
             records[0]);
  const CsvTable table = parse_csv(probe->csv(records), "coord_check.csv");
  REQUIRE(table.rows.size() == 4);
  const auto cell = [&](std::size_t row, std::string_view column) {
    return std::stod(table.rows[row][table.column(column)]);
  };
  CHECK(cell(0, "step") == 0);
  CHECK(cell(0, "layer") == 1);
  CHECK(cell(0, "width") == 3);
  CHECK(cell(0, "preact") == doctest::Approx(14.0 / 6));
  CHECK(cell(0, "act") == doctest::Approx(4.0 / 6));
  CHECK(cell(0, "delta") == 0);
  CHECK(cell(1, "layer") == 2);
  CHECK(cell(1, "preact") == 4);
  CHECK(std::isnan(cell(1, "act")));
  CHECK(cell(2, "step") == 1);
  CHECK(cell(2, "delta") == 0);
  CHECK(cell(3, "preact") == 4.5);
  CHECK(cell(3, "delta") == 0.5);
  // its schedule: every step 0..coord_check_steps, within the run
  CHECK(probe->steps(probes, 20, {}) == std::set<long>{0, 1, 2, 3, 4, 5});
  probes.set("coord_check_steps", 2);
  CHECK(probe->steps(probes, 1, {}) == std::set<long>{0, 1});
  CHECK(probe->steps(ProbeConfig{}, 20, {0, 5}).empty());
}
