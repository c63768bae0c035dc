// The theory experiments' claims, each run at its [quick] size:
// saxe_linear, saxe_modes, edge_of_chaos, dynamical_isometry, scale_sweep, lsuv, finite_width. Each
// test asserts the part of its claim that holds at that size; results/<name>/README.md has the
// full-size numbers.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numbers>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "experiment_support.hpp"
#include "initbench/activation.hpp"
#include "initbench/diagnose.hpp"
#include "initbench/meanfield.hpp"

namespace {

using initbench::Diagnosis;
using initbench::Phase;
using initbench::RunRecord;
using initbench::Verdict;
using initbench::verdict_name;
using initbench::testing::axis;
using initbench::testing::layers_at;
using initbench::testing::median;
using initbench::testing::quick_experiment;
using initbench::testing::run_quick;

constexpr double kInf = std::numeric_limits<double>::infinity();

// The spectrum of J J^T (the squares of jacobian.csv's singular values) at step 0, per probed
// sample: its mean m1, its variance (1/n sum s^4 - m1^2) and the spread of s, averaged over the
// samples, and the smallest singular value seen.
struct JacobianMoments {
  double m1 = 0.0;
  double variance = 0.0;
  double log_spread = 0.0;  // ln(s at the 10th / s at the 90th percentile), mean over samples
  double smallest = kInf;
  long zeros = 0;
};

JacobianMoments jacobian_moments(const RunRecord& r) {
  std::map<long, std::vector<double>> by_sample;
  for (const auto& row : r.rows<initbench::JacobianRow>()) {
    if (row.step == 0) by_sample[row.sample].push_back(row.singular_value);
  }
  REQUIRE(!by_sample.empty());
  JacobianMoments moments;
  for (const auto& [sample, values] : by_sample) {
    double s2 = 0.0, s4 = 0.0;
    for (const double s : values) {
      s2 += s * s;
      s4 += s * s * s * s;
      moments.smallest = std::min(moments.smallest, s);
      moments.zeros += s == 0.0 ? 1 : 0;
    }
    const auto n = static_cast<double>(values.size());
    std::vector<double> sorted = values;
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    const double p10 = sorted[static_cast<std::size_t>(std::ceil(0.1 * n)) - 1];
    const double p90 = sorted[static_cast<std::size_t>(std::ceil(0.9 * n)) - 1];
    moments.log_spread += p90 > 0.0 ? std::log(p10 / p90) : kInf;
    moments.m1 += s2 / n;
    moments.variance += s4 / n - (s2 / n) * (s2 / n);
  }
  const auto samples = static_cast<double>(by_sample.size());
  moments.m1 /= samples;
  moments.variance /= samples;
  moments.log_spread /= samples;
  return moments;
}

}  // namespace

// Saxe et al. 2014: learning time of deep linear networks vs depth. Learning time of a (scheme,
// depth) = the fewest steps to the target loss over the learning-rate grid (the paper chooses
// the learning rate per depth); -1 when no learning rate reached it.
TEST_CASE(
    "saxe_linear: orthogonal learning time levels off in depth, scaled Gaussian keeps growing") {
  const auto experiment = quick_experiment("saxe_linear.toml");
  const auto records = run_quick(experiment);
  struct Best {
    long steps = -1;  // fewest steps to target, -1 if never reached
    double lr = 0.0;  // the learning rate that reached it in the fewest steps
  };
  std::map<std::pair<std::string, long>, Best> best;  // (scheme, depth) -> best over the lr grid
  std::set<long> depth_set;
  std::set<double> lr_set;
  for (const RunRecord& r : records) {
    CHECK(r.run.activation == "identity");
    const auto key = std::make_pair(r.run.scheme, r.run.depth);
    depth_set.insert(r.run.depth);
    lr_set.insert(r.run.lr);
    Best& b = best.try_emplace(key).first->second;
    const long s = r.run.steps_to_target;
    if (s >= 0 && (b.steps < 0 || s < b.steps)) b = {s, r.run.lr};
  }
  const std::vector<long> depths(depth_set.begin(), depth_set.end());
  REQUIRE(depths.size() >= 3);
  REQUIRE(depths.back() >= 16 * depths.front());
  REQUIRE(lr_set.size() >= 3);

  // Every learning time is a best inside the grid, not at its edge (where it would only be an
  // upper bound): at depth 1 the best is 6.4 and 12.8 diverges.
  for (const auto& [key, b] : best) {
    if (b.steps < 0) continue;
    INFO(key.first << ", depth " << key.second << ": best lr " << b.lr << ", grid "
                   << *lr_set.begin() << " to " << *lr_set.rbegin());
    CHECK(b.lr > *lr_set.begin());
    CHECK(b.lr < *lr_set.rbegin());
  }

  // Orthogonal: every depth learns, and the learning time levels off (Saxe et al.: a finite,
  // depth-independent delay relative to shallow nets). It is not the same at every depth: over
  // seeds 9-12 steps at depth 1, 40-56 at 8 and 48-65 at 32. Asserted: from a quarter of the
  // deepest depth to the deepest (8 to 32) it grows by less than 2x (0.9-1.5x over seeds), where
  // the scaled Gaussian's more than doubles at every deeper depth (below).
  for (long d : depths) {
    const long b = best.at({"orthogonal", d}).steps;
    INFO("orthogonal, depth " << d << ": best steps to target " << b);
    REQUIRE(b > 0);
  }
  const long deepest = depths.back();
  REQUIRE(depth_set.count(deepest / 4) == 1);
  const long ortho_mid = best.at({"orthogonal", deepest / 4}).steps;
  const long ortho_deep = best.at({"orthogonal", deepest}).steps;
  INFO("orthogonal: depth " << deepest / 4 << " " << ortho_mid << " steps, depth " << deepest << " "
                            << ortho_deep << " steps");
  CHECK(ortho_deep < 2 * ortho_mid);

  // Scaled Gaussian (lecun_normal): the learning time grows with depth, more than doubling at
  // every deeper depth of the grid (or the target is never reached), and at the deepest it is at
  // least 10 times the orthogonal one.
  long previous = best.at({"lecun_normal", depths[0]}).steps;
  REQUIRE(previous > 0);
  for (std::size_t i = 1; i < depths.size(); ++i) {
    const long b = best.at({"lecun_normal", depths[i]}).steps;
    INFO("lecun_normal, depth " << depths[i] << ": best steps " << b << ", previous depth "
                                << previous);
    CHECK((b < 0 || b > 2 * previous));
    if (b < 0) break;  // deeper still: not asserted once the target is out of reach
    previous = b;
  }
  const long deep_gauss = best.at({"lecun_normal", depths.back()}).steps;
  INFO("deepest: lecun_normal " << deep_gauss << ", orthogonal " << ortho_deep);
  CHECK((deep_gauss < 0 || deep_gauss >= 10 * ortho_deep));
}

// Schoenholz et al. 2017: tanh networks with W ~ N(0, sw2 / fan_in), b ~ N(0, sb2) train when
// depth <~ 6 xi_c. "Trainable" here: the training accuracy reaches 0.5 (10 classes, chance 0.1)
// within the 300 steps (the runs stop there: train.stop_at_target). Runs well inside (depth <=
// 3 xi_c) and within the budget's reach (at most 40 layers: 300 SGD steps at width 64 train no
// deeper, whatever xi_c; see the spec's [quick] note) must train; runs well outside (depth >=
// 9 xi_c, 1.5 times the boundary) must not; at the deepest depth (80, beyond the budget) the best
// run of each seed is the one nearest criticality, and it learns something (at least 1.5 times
// chance: 0.49 to 0.58 over the spec's seeds at this size) while the others stay near chance.
namespace {

// One teacher mode's learning curve in a run: the probed steps and a_i / s_i at each.
struct ModeCurve {
  double s = 0.0;
  std::vector<long> steps;
  std::vector<double> ratio;

  // The step at which a_i / s_i first reaches `level`, interpolated linearly between the two
  // probed steps around it; -1 if it never does.
  double crossing(double level) const {
    for (std::size_t k = 0; k < ratio.size(); ++k) {
      if (ratio[k] < level) continue;
      if (k == 0) return static_cast<double>(steps[0]);
      const double f = (level - ratio[k - 1]) / (ratio[k] - ratio[k - 1]);
      return static_cast<double>(steps[k - 1]) + f * static_cast<double>(steps[k] - steps[k - 1]);
    }
    return -1.0;
  }
};

// The modes of a run (modes.csv), strongest first.
std::vector<ModeCurve> mode_curves(const RunRecord& r) {
  std::map<long, ModeCurve> by_mode;
  for (const auto& row : r.rows<initbench::ModeRow>()) {
    ModeCurve& c = by_mode[row.mode];
    c.s = row.singular_value;
    c.steps.push_back(row.step);
    c.ratio.push_back(row.strength / row.singular_value);
  }
  std::vector<ModeCurve> out;
  for (auto& [mode, curve] : by_mode) out.push_back(std::move(curve));
  return out;
}

// Least-squares slope of log t against log(1 / s).
double log_slope(const std::vector<double>& s, const std::vector<double>& t) {
  const auto n = static_cast<double>(s.size());
  double mx = 0.0, my = 0.0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    mx += -std::log(s[i]) / n;
    my += std::log(t[i]) / n;
  }
  double sxy = 0.0, sxx = 0.0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    sxy += (-std::log(s[i]) - mx) * (std::log(t[i]) - my);
    sxx += (-std::log(s[i]) - mx) * (-std::log(s[i]) - mx);
  }
  return sxy / sxx;
}

}  // namespace

// Saxe et al. 2014: from small random weights, each singular mode of a linear teacher is learned
// after a plateau, strongest first, at a time proportional to 1/s. Learning time t_i of mode i
// = the step at which a_i / s_i first reaches 1/2 (modes.csv, interpolated between probes).
TEST_CASE("saxe_modes: each teacher mode is learned in order of strength at a time about 1/s") {
  const auto experiment = quick_experiment("saxe_modes.toml");
  const auto records = run_quick(experiment);
  struct PerDepth {
    std::vector<double> slopes, spreads, widths;
    long pairs = 0, ordered = 0;
  };
  std::map<long, PerDepth> depths;
  std::set<long> seeds;
  for (const RunRecord& r : records) {
    seeds.insert(r.run.seed);
    const std::vector<ModeCurve> modes = mode_curves(r);
    REQUIRE(modes.size() >= 4);
    REQUIRE(modes.front().s >= 6 * modes.back().s);  // a spread of s to measure 1/s over
    std::vector<double> s, t;
    PerDepth& d = depths[r.run.depth];
    for (const ModeCurve& m : modes) {
      INFO("depth " << r.run.depth << ", seed " << r.run.seed << ", s = " << m.s);
      // small init: every mode starts near 0, and every mode is learned within the budget
      CHECK(std::abs(m.ratio.front()) < 0.1);
      const double t_half = m.crossing(0.5);
      REQUIRE(t_half > 0);
      s.push_back(m.s);
      t.push_back(t_half);
      d.widths.push_back((m.crossing(0.9) - m.crossing(0.1)) / t_half);
    }
    for (std::size_t i = 0; i < t.size(); ++i) {
      for (std::size_t j = i + 1; j < t.size(); ++j) {
        ++d.pairs;
        d.ordered += t[i] < t[j] ? 1 : 0;
      }
    }
    double lo = kInf, hi = 0.0;
    for (std::size_t i = 0; i < t.size(); ++i) {
      lo = std::min(lo, t[i] * s[i]);
      hi = std::max(hi, t[i] * s[i]);
    }
    d.slopes.push_back(log_slope(s, t));
    d.spreads.push_back(hi / lo);
  }
  REQUIRE(seeds.size() >= 3);
  REQUIRE(depths.size() >= 3);
  REQUIRE(depths.begin()->first == 1);
  for (const auto& [depth, d] : depths) {
    const double slope = median(d.slopes);
    const double spread = median(d.spreads);
    INFO("depth " << depth << ": slopes of log t vs log 1/s " << d.slopes[0] << ", " << d.slopes[1]
                  << ", " << d.slopes[2] << "; max/min of t s: median " << spread
                  << "; pairs in order " << d.ordered << " of " << d.pairs);
    // In order of strength: over the seeds, at least 90% of the mode pairs (i < j) have
    // t_i < t_j (120 of 120 pairs at full size).
    CHECK(static_cast<double>(d.ordered) >= 0.9 * static_cast<double>(d.pairs));
    // t ~ 1/s: the median slope of log t against log(1/s) lies in [0.6, 1.45] (measured: 0.7-0.8
    // at depth 1, where the exact solution's log factor lowers it; 1.0-1.3 deeper). Not 0 (no
    // dependence on s) nor 2; and t_i s_i varies by a median factor below 3 over modes whose 1/s
    // spans a factor 8.
    CHECK(slope > 0.6);
    CHECK(slope < 1.45);
    for (const double v : d.slopes) {
      CHECK(v > 0.45);
      CHECK(v < 1.8);
    }
    CHECK(spread < 3.0);
  }
  // Sudden: the deepest net's rise from a_i / s_i = 0.1 to 0.9 takes under a third of the
  // plateau before it (median 0.05-0.1); the shallow net's logistic rise takes about as long as
  // its (short) plateau (median about 1.2).
  CHECK(median(depths.rbegin()->second.widths) < 0.3);
  CHECK(median(depths.begin()->second.widths) > 2 * median(depths.rbegin()->second.widths));
}

TEST_CASE("edge_of_chaos: the trainable region follows the mean-field depth scale 6 xi_c") {
  const auto experiment = quick_experiment("edge_of_chaos.toml");
  const auto records = run_quick(experiment);
  const auto tanh = initbench::Activation::parse("tanh");
  constexpr long kBudgetDepth = 40;
  int inside = 0, outside = 0;
  long deepest = 0;
  for (const RunRecord& r : records) deepest = std::max(deepest, r.run.depth);
  std::map<long, std::pair<double, double>> best_at_deepest;  // seed -> (accuracy, 6 xi_c)
  std::map<long, double> max_xi_at_deepest;
  for (const RunRecord& r : records) {
    const auto& config = experiment.runs.at(static_cast<std::size_t>(r.run.run_id));
    REQUIRE(config.init.weights.name() == "variance_scaling");
    REQUIRE(config.model.activation.str() == "tanh");
    const double sw2 = config.init.weights.number("scale");
    const double sb2 = std::pow(config.init.bias().number("stddev"), 2);
    CHECK(sb2 == doctest::Approx(0.05).epsilon(1e-3));
    const double xi6 = 6.0 * initbench::meanfield_xi_c(tanh, sw2, sb2);
    const double acc = r.run.final_train_acc;
    const bool trained = r.run.steps_to_target >= 0;
    const auto depth = static_cast<double>(r.run.depth);
    const long seed = static_cast<long>(config.seed);
    INFO("seed " << seed << ", sw2 " << sw2 << ", depth " << r.run.depth << ", 6 xi_c " << xi6
                 << ": steps to 0.5 " << r.run.steps_to_target << ", train accuracy " << acc);
    // The target is reached exactly when the accuracy recorded at the end reaches it.
    CHECK(trained == (acc >= 0.5));
    if (depth <= xi6 / 2 && r.run.depth <= kBudgetDepth) {
      ++inside;
      CHECK(trained);
    } else if (depth >= 1.5 * xi6) {
      ++outside;
      CHECK(!trained);
    }
    if (r.run.depth == deepest) {
      max_xi_at_deepest[seed] = std::max(max_xi_at_deepest[seed], xi6);
      auto& best = best_at_deepest[seed];
      if (acc > best.first) best = {acc, xi6};
    }
  }
  // The quick grid has runs on both sides of the boundary.
  CHECK(inside >= 6);
  CHECK(outside >= 6);
  // Deepest near criticality: at the deepest depth, each seed's best run has the largest xi_c,
  // and it trains partly.
  CHECK(best_at_deepest.size() == 3);
  for (const auto& [seed, best] : best_at_deepest) {
    INFO("seed " << seed << ": best accuracy at depth " << deepest << " " << best.first);
    CHECK(best.second == max_xi_at_deepest.at(seed));
    CHECK(best.first >= 0.15);
  }
}

namespace {

// The mean over a run's probe pairs of c_l at step 0, per hidden layer l = 1..depth (the output
// layer left out).
std::vector<double> mean_correlation(const RunRecord& r) {
  std::vector<double> sum(static_cast<std::size_t>(r.run.depth), 0.0);
  std::vector<int> count(sum.size(), 0);
  for (const auto& row : r.rows<initbench::CorrelationRow>()) {
    if (row.step != 0 || row.layer < 1 || row.layer > r.run.depth) continue;
    const auto i = static_cast<std::size_t>(row.layer - 1);
    sum[i] += row.correlation;
    ++count[i];
  }
  for (std::size_t i = 0; i < sum.size(); ++i) {
    REQUIRE(count[i] > 0);
    sum[i] /= count[i];
  }
  return sum;
}

// The mean of v over its last third (the deep layers).
double deep_mean(const std::vector<double>& v) {
  const std::size_t from = v.size() - v.size() / 3;
  double s = 0.0;
  for (std::size_t i = from; i < v.size(); ++i) s += v[i];
  return s / static_cast<double>(v.size() - from);
}

}  // namespace

// Poole et al. 2016 / Schoenholz et al. 2017 at initialization (correlation.csv at step 0): the
// correlation c_l of two inputs' pre-activations goes to the fixed point c* of the mean-field
// correlation map, 1 in the ordered phase and below 1 in the chaotic phase, as
// |c_l - c*| ~ exp(-l / xi_c). Width 64 and 16 pairs per run make one pair's c_l scatter by
// about 0.25 around c* in the chaotic phase, so the means over the 3 seeds' 48 pairs are
// compared (their standard error is about 0.02 there). Asserted at the 80-layer runs:
//  * ordered sw2 = 1 (xi_c = 3.6): the deep layers' c is within 1e-3 of 1, and 1 - c decays
//    over a length within 0.7 to 1.4 times xi_c (measured 1.11 xi_c at the spec's seeds);
//  * chaotic sw2 = 4: the deep layers' c is within 0.08 of the theory's c* = 0.165;
//  * near criticality, sw2 = 1.75 (xi_c = 427 >> 80 layers): c has not converged, 1 - c is
//    still above 0.03 in the deep layers (the map from the measured layer 1 predicts 0.09).
// The inputs' own correlations (about 0.2 for these pairs) are close to c* in the chaotic
// phase, so the chaotic decay length is not measurable with them and is not asserted.
TEST_CASE("edge_of_chaos: correlations at initialization follow the mean-field map") {
  const auto experiment = quick_experiment("edge_of_chaos.toml");
  const auto records = run_quick(experiment);
  const auto tanh = initbench::Activation::parse("tanh");
  long deepest = 0;
  for (const RunRecord& r : records) deepest = std::max(deepest, r.run.depth);
  std::map<double, std::vector<std::vector<double>>> by_sw2;  // the deepest runs' mean c_l
  for (const RunRecord& r : records) {
    if (r.run.depth != deepest) continue;
    const auto& config = experiment.runs.at(static_cast<std::size_t>(r.run.run_id));
    by_sw2[config.init.weights.number("scale")].push_back(mean_correlation(r));
  }
  REQUIRE(by_sw2.size() == 3);
  std::map<double, std::vector<double>> pooled;  // mean over seeds of the mean c_l
  for (const auto& [sw2, runs] : by_sw2) {
    CHECK(runs.size() == 3);
    std::vector<double> m(runs.front().size(), 0.0);
    for (const auto& c : runs) {
      for (std::size_t i = 0; i < m.size(); ++i) m[i] += c[i] / static_cast<double>(runs.size());
    }
    pooled[sw2] = m;
  }
  const double sb2 = 0.2236 * 0.2236;
  // Ordered: c -> 1, and 1 - c_l ~ exp(-l / xi_c): the slope of ln(1 - c_l) from layer 1 to the
  // last layer where 1 - c is above 1e-5 (float pre-activations resolve 1 - c to about 1e-7).
  {
    const auto& c = pooled.at(1.0);
    const double xi = initbench::meanfield_xi_c(tanh, 1.0, sb2);
    INFO("sw2 1: deep c " << deep_mean(c) << ", xi_c " << xi);
    CHECK(initbench::meanfield_c_star(tanh, 1.0, sb2) == 1.0);
    CHECK(1.0 - deep_mean(c) < 1e-3);
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int n = 0;
    for (std::size_t i = 0; i < c.size() && 1.0 - c[i] > 1e-5; ++i, ++n) {
      const double x = static_cast<double>(i + 1), y = std::log(1.0 - c[i]);
      sx += x, sy += y, sxx += x * x, sxy += x * y;
    }
    REQUIRE(n >= 10);
    const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    const double length = -1.0 / slope;
    INFO("decay length " << length << " over " << n << " layers");
    CHECK(length >= 0.7 * xi);
    CHECK(length <= 1.4 * xi);
  }
  // Chaotic: c -> c* < 1, the theory's value.
  {
    const double c_star = initbench::meanfield_c_star(tanh, 4.0, sb2);
    const double deep = deep_mean(pooled.at(4.0));
    INFO("sw2 4: deep c " << deep << ", theory c* " << c_star);
    CHECK(c_star < 0.5);
    CHECK(std::abs(deep - c_star) < 0.08);
  }
  // Near criticality: no convergence within 80 layers.
  {
    const double deep = deep_mean(pooled.at(1.75));
    INFO("sw2 1.75: deep c " << deep << ", xi_c " << initbench::meanfield_xi_c(tanh, 1.75, sb2));
    CHECK(initbench::meanfield_xi_c(tanh, 1.75, sb2) > 5.0 * static_cast<double>(deepest));
    CHECK(1.0 - deep > 0.03);
  }
}

// Pennington et al. 2017 on the critical line chi_1 = 1, inputs at q*: the mean of J J^T's
// spectrum is m1 = sw2 (sw2 mu1)^depth = sw2 (tanh; 2 for ReLU) at every depth, and its variance
// is predicted by free probability (infinite width) as m1^2 depth (mu2 / mu1^2 - 1) for orthogonal
// weights (tiny at small q*) and m1^2 ((depth + 1) + depth (mu2 / mu1^2 - 1)) for Gaussian ones,
// mu_k = E[phi'(h)^(2k)], h ~ N(0, q*); ReLU has mu2 / mu1^2 - 1 = 1. At width 128 and depth 32
// only the orthogonal tanh net at small q* keeps to it; the others exceed it (finite width).
TEST_CASE("dynamical_isometry: orthogonal tanh at small q* keeps J J^T's spectrum narrow") {
  const auto experiment = quick_experiment("dynamical_isometry.toml");
  const auto records = run_quick(experiment);
  const auto tanh = initbench::Activation::parse("tanh");
  // (activation, q* of the setting, orthogonal) -> depth -> moments
  std::map<std::tuple<std::string, double, bool>, std::map<long, JacobianMoments>> by_setting;
  for (const RunRecord& r : records) {
    // Square Jacobian: input and output sizes equal the width.
    std::set<long> ks;
    for (const auto& row : r.rows<initbench::JacobianRow>()) ks.insert(row.k);
    CHECK(static_cast<long>(ks.size()) == r.run.width);
    // Every run sits on the critical line: chi_1 = 1 (the ReLU runs: sw2 = 2, chi_1 = 1 at any q).
    INFO(r.run.scheme << " " << r.run.activation << ": chi_1 " << r.run.chi_1);
    CHECK(r.run.chi_1 == doctest::Approx(1.0).epsilon(1e-3));
    const double q = r.run.activation == "tanh" ? (r.run.q_star < 0.1 ? 1.0 / 64 : 1.0) : 0.0;
    if (q > 0.0) CHECK(r.run.q_star == doctest::Approx(q).epsilon(2e-3));
    by_setting[{r.run.activation, q, r.run.scheme.starts_with("orthogonal")}][r.run.depth] =
        jacobian_moments(r);
  }
  REQUIRE(by_setting.size() == 6);
  // mu_k = E[phi'(h)^(2k)] = E[sech(h)^(4k)], h ~ N(0, q), by the midpoint rule over +-10 sd.
  auto mu = [](double q, int k) {
    constexpr int kPoints = 20000;
    double sum = 0.0;
    for (int i = 0; i < kPoints; ++i) {
      const double z = -10.0 + 20.0 * (i + 0.5) / kPoints;
      sum += std::exp(-0.5 * z * z) * std::pow(std::cosh(std::sqrt(q) * z), -4 * k);
    }
    return sum * (20.0 / kPoints) / std::sqrt(2.0 * std::numbers::pi);
  };
  CHECK(mu(1.0 / 64, 1) == doctest::Approx(initbench::gaussian_mean_dphi2(tanh, 1.0 / 64)));
  for (const auto& [key, by_depth] : by_setting) {
    const auto& [activation, q, orthogonal] = key;
    REQUIRE(by_depth.size() >= 2);
    const long shallow = by_depth.begin()->first, deep = by_depth.rbegin()->first;
    const JacobianMoments &a = by_depth.at(shallow), &b = by_depth.at(deep);
    const bool isometric = activation == "tanh" && q < 0.1 && orthogonal;
    const double sw2 = activation == "tanh" ? 1.0 / mu(q, 1) : 2.0;
    const double vd = activation == "tanh" ? mu(q, 2) / (mu(q, 1) * mu(q, 1)) - 1.0 : 1.0;
    auto theory = [&](long depth) {
      const auto d = static_cast<double>(depth);
      return sw2 * sw2 * (orthogonal ? d * vd : (d + 1.0) + d * vd);
    };
    INFO(activation << " q* " << q << (orthogonal ? " orthogonal" : " Gaussian") << ": m1 " << a.m1
                    << " -> " << b.m1 << ", variance " << a.variance << " -> " << b.variance
                    << " (theory " << theory(shallow) << " -> " << theory(deep) << "), ln spread "
                    << a.log_spread << " -> " << b.log_spread << ", smallest s " << b.smallest
                    << ", zeros " << b.zeros);
    // At the shallowest depth every setting has the predicted mean (sw2 x 1^depth) and
    // variance, within 20 % and a factor 2 (three samples of one network).
    CHECK(a.m1 == doctest::Approx(sw2).epsilon(0.2));
    CHECK(a.variance >= 0.5 * theory(shallow));
    CHECK(a.variance <= 2.0 * theory(shallow));
    if (isometric) {
      // Orthogonal tanh at small q* follows the prediction at every depth, and its spread
      // stays below a factor 2 (s_10% / s_90%).
      CHECK(b.m1 == doctest::Approx(sw2).epsilon(0.1));
      CHECK(b.variance >= 0.5 * theory(deep));
      CHECK(b.variance <= 2.0 * theory(deep));
      CHECK(b.log_spread < std::log(2.0));
    } else if (activation == "tanh") {
      // Every other tanh setting spreads with depth: the 10 % / 90 % ratio grows tenfold or more.
      CHECK(b.log_spread >= a.log_spread + std::log(10.0));
    } else {
      // ReLU: at least 10 % of the values are exact zeros from 2 layers on (the ratio is
      // infinite), so the spread is read from the variance: fourfold or more.
      CHECK(b.variance >= 4.0 * a.variance);
    }
    // tanh never has a zero slope: every singular value is positive, however small (carried
    // without underflow); ReLU's off units give exact zeros.
    if (activation == "tanh") CHECK(b.smallest > 0.0);
    if (activation == "relu") CHECK(b.zeros > 0);
  }
  // Dynamical isometry: orthogonal tanh at q* = 1/64 has a spectrum at least 10 times narrower
  // (variance of J J^T's spectrum) at the deepest depth than every other setting.
  const auto& isometric = by_setting.at({"tanh", 1.0 / 64, true});
  const long deep = isometric.rbegin()->first;
  for (const auto& [key, by_depth] : by_setting) {
    if (key == std::make_tuple(std::string("tanh"), 1.0 / 64, true)) continue;
    CHECK(by_depth.at(deep).variance >= 10.0 * isometric.at(deep).variance);
  }
}

// Pennington et al. 2017, the training side: on the critical line at q* = 1/64, orthogonal tanh
// nets reach the target accuracy before the same nets with Gaussian weights and before He ReLU
// nets, seed by seed (quick size: 32 layers of 64 units, lr 0.03, 150 steps, 3 seeds).
TEST_CASE("isometry_training: orthogonal tanh at small q* trains first, seed by seed") {
  const auto records = run_quick(quick_experiment("isometry_training.toml"));
  // seed -> setting -> steps to the target (never reached: kNever)
  constexpr long kNever = std::numeric_limits<long>::max();
  std::map<long, std::map<std::string, long>> steps;
  for (const RunRecord& r : records) {
    const std::string setting =
        r.run.activation + (r.run.scheme.starts_with("orthogonal") ? " orthogonal" : " Gaussian");
    steps[r.run.seed][setting] = r.run.steps_to_target >= 0 ? r.run.steps_to_target : kNever;
  }
  REQUIRE(steps.size() == 3);
  for (const auto& [seed, by_setting] : steps) {
    REQUIRE(by_setting.size() == 3);
    const long orthogonal = by_setting.at("tanh orthogonal");
    INFO("seed " << seed << ": orthogonal tanh " << orthogonal << ", Gaussian tanh "
                 << by_setting.at("tanh Gaussian") << ", He ReLU "
                 << by_setting.at("relu Gaussian"));
    CHECK(orthogonal != kNever);
    CHECK(by_setting.at("tanh Gaussian") > orthogonal);
    CHECK(by_setting.at("relu Gaussian") > orthogonal);
  }
}

namespace {

// scale_sweep at its quick size (3 seeds, every activation), run once for both of its test cases.
const std::vector<RunRecord>& scale_sweep_records() {
  static const std::vector<RunRecord> records = run_quick(quick_experiment("scale_sweep.toml"));
  return records;
}

// One point of a sweep: a run's scale and its step-0 measurements.
struct ScalePoint {
  double scale = 0.0;
  double delta_ratio = 0.0;    // ||dL/dz_1|| / ||dL/dz_L|| (layers.csv delta_norm)
  double grad_ratio = 0.0;     // init_grad_ratio = ||dL/dW_1|| / ||dL/dW_L|| (runs.csv)
  double saturated = 0.0;      // mean over the hidden layers of saturated_frac
  double max_saturated = 0.0;  // the most saturated hidden layer's saturated_frac
  const RunRecord* run = nullptr;
};

// The runs of one activation, by (scheme, seed), each sweep sorted by scale.
std::map<std::pair<std::string, long>, std::vector<ScalePoint>> scale_sweeps(
    const std::vector<RunRecord>& records, const std::string& activation) {
  std::map<std::pair<std::string, long>, std::vector<ScalePoint>> sweeps;
  for (const RunRecord& r : records) {
    if (r.run.activation != activation) continue;
    const auto layers = layers_at(r, 0);
    REQUIRE(layers.size() == static_cast<std::size_t>(r.run.depth + 1));
    ScalePoint p;
    p.scale = std::stod(axis(r, "init.scale"));
    p.delta_ratio = layers.begin()->second.delta_norm / layers.rbegin()->second.delta_norm;
    p.grad_ratio = r.run.init_grad_ratio;
    for (const auto& [l, row] : layers) {
      if (l == static_cast<long>(layers.size())) continue;  // the output layer has none
      p.saturated += row.saturated_frac / static_cast<double>(layers.size() - 1);
      p.max_saturated = std::max(p.max_saturated, row.saturated_frac);
    }
    p.run = &r;
    sweeps[{r.run.scheme, r.run.seed}].push_back(p);
  }
  for (auto& [key, points] : sweeps) {
    std::sort(points.begin(), points.end(),
              [](const ScalePoint& a, const ScalePoint& b) { return a.scale < b.scale; });
  }
  return sweeps;
}

const ScalePoint& at_scale(const std::vector<ScalePoint>& points, double scale) {
  const auto it = std::find_if(points.begin(), points.end(),
                               [&](const ScalePoint& p) { return p.scale == scale; });
  REQUIRE(it != points.end());
  return *it;
}

}  // namespace

// He et al. 2015: a wrong weight scale shrinks or grows the back-propagated signal
// exponentially with depth. Measured at step 0: the delta ratio ||dL/dz_1|| / ||dL/dz_L||
// (layers.csv) and init_grad_ratio = ||dL/dW_1|| / ||dL/dW_L|| (runs.csv). ReLU and tanh, each
// seed's sweep on its own.
TEST_CASE(
    "scale_sweep: the diagnosis calls ReLU runs above the right scale exploding and below it "
    "vanishing") {
  // The right scale for ReLU is Var(w) = 2 / fan_in: he_normal x 1, glorot_normal x sqrt 2 on the
  // square hidden layers. Each factor sqrt 2 away multiplies the back-propagated signal over the
  // 19 hops between hidden layers by about 2^(19/2) = 724 (results/scale_sweep): every quick
  // scale but the right one is beyond the verdicts' factor 100 (docs/diagnosis.md).
  const auto& records = scale_sweep_records();
  int below = 0, above = 0, right = 0;
  for (const RunRecord& r : records) {
    if (axis(r, "model.activation") != "relu") continue;
    const std::string scheme = axis(r, "init.scheme");
    const double scale = std::stod(axis(r, "init.scale"));
    const double relative = scheme == "glorot_normal" ? scale / std::sqrt(2.0) : scale;
    CAPTURE(scheme);
    CAPTURE(scale);
    CAPTURE(r.run.seed);
    const Diagnosis d = diagnose(r);
    CAPTURE(d.signal_ratio_min);
    CAPTURE(d.signal_ratio_max);
    CAPTURE(d.grad_ratio_min);
    CAPTURE(d.grad_ratio_max);
    CHECK(r.run.exploding == verdict_name(d.exploding));  // the column is the diagnosis
    if (relative > 1.01) {
      CHECK(d.exploding == Verdict::kYes);
      CHECK(d.vanishing == Verdict::kNo);
      CHECK(d.phase == Phase::kChaotic);
      ++above;
    } else if (relative < 0.99) {
      CHECK(d.vanishing == Verdict::kYes);
      CHECK(d.exploding == Verdict::kNo);
      CHECK(d.phase == Phase::kOrdered);
      ++below;
    } else {
      CHECK(d.vanishing == Verdict::kNo);
      CHECK(d.exploding == Verdict::kNo);
      ++right;
    }
  }
  CHECK(above > 0);
  CHECK(below > 0);
  CHECK(right > 0);
}

TEST_CASE(
    "scale_sweep: gradient ratios across 20 layers move by orders of magnitude with init.scale") {
  const auto& records = scale_sweep_records();
  for (const std::string activation : {"relu", "tanh"}) {
    const auto sweeps = scale_sweeps(records, activation);
    REQUIRE(sweeps.size() >= 6);  // 2 schemes x at least 3 seeds
    for (const auto& [key, points] : sweeps) {
      REQUIRE(points.size() >= 3);
      REQUIRE(points.front().scale <= 0.25);
      REQUIRE(points.back().scale >= 4.0);
      INFO(activation << " " << key.first << " seed " << key.second);
      // The back-propagated signal: vanishing below the right scale, exploding above, monotone.
      for (std::size_t i = 1; i < points.size(); ++i) {
        INFO("scale " << points[i].scale << ": delta ratio " << points[i].delta_ratio);
        CHECK(points[i].delta_ratio > points[i - 1].delta_ratio);
      }
      CHECK(points.front().delta_ratio < 1e-3);
      CHECK(points.back().delta_ratio > 1e3);
      const ScalePoint& one = at_scale(points, 1.0);
      if (activation == "tanh") {
        // The weight-gradient ratio explodes above the right scale (tanh saturates, so the
        // activations stay bounded while the deltas grow)...
        INFO("tanh init_grad_ratio at scale 1: " << one.grad_ratio << ", at scale "
                                                 << points.back().scale << ": "
                                                 << points.back().grad_ratio);
        CHECK(points.back().grad_ratio > 100 * one.grad_ratio);
      } else {
        // ...but for ReLU with zero biases it does not move below the right scale: the network
        // is positively homogeneous, so scaling every weight by s multiplies every ||dL/dW_l||
        // by the same power of s and the ratio is unchanged (the deltas shrink, the activations
        // they are multiplied with grow in proportion). The claim's "vanishing" shows in the
        // deltas only.
        INFO("relu init_grad_ratio at scales " << points[0].scale << ", " << points[1].scale << ": "
                                               << points[0].grad_ratio << ", "
                                               << points[1].grad_ratio);
        CHECK(points[1].grad_ratio == doctest::Approx(points[0].grad_ratio).epsilon(0.01));
        // Too large a scale blows up ReLU training at this lr (NaN or Inf: status diverged);
        // scale 1 does not. The papers say nothing about divergence: it is SGD's step at lr 0.01
        // on exploding gradients.
        CHECK(points.back().run->run.status == "diverged");
        CHECK(one.run->run.status != "diverged");
      }
    }
  }
}

// The course's warning about sigmoid: large weights push its units into saturation, where the
// slope is near 0 and gradients vanish. At depth 20, step 0: the saturated fraction rises with the
// scale, the deltas shrink toward the input at every scale (sigmoid's slope is at most 1/4), and
// they shrink less, not more, as the scale and the saturation grow. No scale trains in the
// budget, while ReLU at He's scale and tanh at Glorot's do on the same seeds.
TEST_CASE(
    "scale_sweep: sigmoid saturates more with the scale, its deltas vanish at every scale and "
    "least at the largest, and no scale trains") {
  const auto& records = scale_sweep_records();
  const auto sweeps = scale_sweeps(records, "sigmoid");
  REQUIRE(sweeps.size() >= 6);  // 2 schemes x at least 3 seeds
  std::map<std::string, std::vector<double>> top_saturated, unit_saturated;
  for (const auto& [key, points] : sweeps) {
    REQUIRE(points.size() >= 3);
    REQUIRE(points.front().scale <= 0.25);
    REQUIRE(points.back().scale >= 4.0);
    INFO("sigmoid " << key.first << " seed " << key.second);
    const ScalePoint& one = at_scale(points, 1.0);
    const ScalePoint& top = points.back();
    top_saturated[key.first].push_back(top.saturated);
    unit_saturated[key.first].push_back(one.saturated);
    for (std::size_t i = 1; i < points.size(); ++i) {
      INFO("scale " << points[i].scale << ": delta ratio " << points[i].delta_ratio
                    << ", saturated " << points[i].saturated);
      // Saturation does not fall as the scale grows, and rises from scale 1 on.
      CHECK(points[i].saturated >= points[i - 1].saturated);
      if (points[i - 1].scale >= 1.0) CHECK(points[i].saturated > points[i - 1].saturated);
      // The delta ratio grows with the scale by orders of magnitude per doubling (at the smallest
      // scales the first layer's deltas are below float's range and read 0).
      if (points[i - 1].delta_ratio > 0.0) {
        CHECK(points[i].delta_ratio > 10.0 * points[i - 1].delta_ratio);
      } else {
        CHECK(points[i].delta_ratio >= 0.0);
      }
      // Vanishing at every scale: the first layer gets less than 1/30 of the last layer's delta.
      CHECK(points[i].delta_ratio < 1.0 / 30.0);
    }
    // At 4x the scale at least 1 unit entry in 4 of the most saturated layer is saturated, and
    // its deltas still reach the first layer a million times better than at scale 1.
    CHECK(top.max_saturated > 0.25);
    CHECK(top.delta_ratio > 1e6 * one.delta_ratio);
    CHECK(top.grad_ratio > 1e5 * one.grad_ratio);
    // No scale trains: every run ends near ln 10 at the majority class's accuracy or below.
    for (const ScalePoint& p : points) {
      INFO("scale " << p.scale << ": final train loss " << p.run->run.final_train_loss
                    << ", accuracy " << p.run->run.final_train_acc);
      CHECK(p.run->run.final_train_acc < 0.2);
      CHECK(p.run->run.final_train_loss > std::log(10.0) - 0.05);
    }
  }
  for (const auto& [scheme, values] : top_saturated) {
    INFO(scheme << ": median saturated fraction at the largest scale " << median(values)
                << ", at scale 1 " << median(unit_saturated.at(scheme)));
    CHECK(median(values) > 0.03);
    CHECK(median(unit_saturated.at(scheme)) < 0.005);
  }
  // The contrast on the same seeds: ReLU at He's scale and tanh at Glorot's learn in the budget.
  std::vector<double> relu_he, tanh_glorot;
  for (const RunRecord& r : records) {
    if (std::stod(axis(r, "init.scale")) != 1.0) continue;
    if (r.run.activation == "relu" && r.run.scheme == "he_normal")
      relu_he.push_back(r.run.final_train_acc);
    if (r.run.activation == "tanh" && r.run.scheme == "glorot_normal")
      tanh_glorot.push_back(r.run.final_train_acc);
  }
  REQUIRE(relu_he.size() >= 3);
  REQUIRE(tanh_glorot.size() >= 3);
  CHECK(median(relu_he) > 0.4);
  CHECK(median(tanh_glorot) > 0.4);
}

// Mishkin & Matas 2016: after LSUV every layer's output variance is 1, and deep thin nets then
// train at least as fast as from the baselines with the scale their activation needs.
//
// Variances on images LSUV did not see. LSUV fits on the first min(1024, m) training samples;
// the probe batch is the first min(probes.batch, m) (here all m = 2048), so it holds LSUV's 1024
// and 1024 others. A second pass of LSUV at step 0 with probes.batch = 1024 (the same weights: a
// run's draws depend on its seed, not on the other settings) gives the moments on LSUV's images
// alone, and the two give the variance over the other images exactly: with n_a = n_f + n_r,
// mean_r = (n_a mean_a - n_f mean_f) / n_r, and E_r[z^2] likewise from var + mean^2.
TEST_CASE(
    "lsuv: unit variance on the images LSUV fitted and near it on others, no slower than the "
    "matched baselines") {
  const auto experiment = quick_experiment("lsuv.toml");
  const auto records = run_quick(experiment);
  const auto fitted_experiment =
      quick_experiment("lsuv.toml", {"init.scheme=lsuv", "train.steps=0", "probes.batch=1024"});
  const auto fitted = run_quick(fitted_experiment);

  int lsuv_runs = 0;
  for (const RunRecord& r : records) {
    const auto& config = experiment.runs.at(static_cast<std::size_t>(r.run.run_id));
    const auto on_all = layers_at(r, 0);
    REQUIRE(on_all.size() == static_cast<std::size_t>(r.run.depth + 1));
    const double tol = r.run.scheme == "lsuv" ? config.init.weights.number("tol") : 0.1;
    if (r.run.scheme != "lsuv") {
      // The variance check discriminates: every other (scheme, activation) leaves some layer's
      // variance on the probe batch far from 1 (0.80 at least over seeds 1-10 and 1001-1010).
      double worst = 0.0;
      for (const auto& [l, all] : on_all)
        worst = std::max(worst, std::abs(all.preact_std * all.preact_std - 1.0));
      INFO(r.run.activation << " " << r.run.scheme << ": max |Var(z_l) - 1| " << worst);
      CHECK(worst >= 2 * tol);
      continue;
    }
    ++lsuv_runs;
    const RunRecord* fit_run = nullptr;
    for (const RunRecord& f : fitted) {
      if (f.run.activation == r.run.activation && f.run.seed == r.run.seed) fit_run = &f;
    }
    REQUIRE(fit_run != nullptr);
    REQUIRE(config.data.limit_train > 0);
    const auto m = static_cast<double>(config.data.limit_train);
    const double n_fit = std::min(m, 1024.0);  // LSUV's batch (src/trainer.cpp)
    const double n_all = std::min(m, static_cast<double>(config.probes.batch));
    REQUIRE(n_all > n_fit);
    const double n_rest = n_all - n_fit;
    const auto on_fit = layers_at(*fit_run, 0);
    REQUIRE(on_fit.size() == on_all.size());
    double worst_rest = 0.0;  // max over layers of |Var(z_l) - 1| on the images LSUV did not see
    for (const auto& [l, all] : on_all) {
      const auto& fit = on_fit.at(l);
      const double var_fit = fit.preact_std * fit.preact_std;
      const double var_all = all.preact_std * all.preact_std;
      const double mean_rest = (n_all * all.preact_mean - n_fit * fit.preact_mean) / n_rest;
      const double sq_rest = (n_all * (var_all + all.preact_mean * all.preact_mean) -
                              n_fit * (var_fit + fit.preact_mean * fit.preact_mean)) /
                             n_rest;
      const double var_rest = sq_rest - mean_rest * mean_rest;
      worst_rest = std::max(worst_rest, std::abs(var_rest - 1.0));
      // On its own images LSUV stops within tol (what it does by construction).
      INFO(r.run.activation << " lsuv, layer " << l << ": Var(z) on LSUV's images " << var_fit
                            << ", on the others " << var_rest);
      CHECK(std::abs(var_fit - 1.0) < tol);
    }
    // On the other images it stays near 1: within 2 tol. At full size (3072 other images, 30
    // layers of 100) it is within tol (0.053 at worst); at this size the first layer, which LSUV
    // leaves as it is when its variance on its own images is already within tol, drifts further:
    // up to 0.135 over seeds 1-10 and 1001-1010.
    INFO(r.run.activation << " lsuv: max |Var(z_l) - 1| on the images it did not see "
                          << worst_rest);
    CHECK(worst_rest < 2 * tol);
  }
  CHECK(lsuv_runs == static_cast<int>(fitted.size()));

  // Training speed against the baselines with the scale each activation needs (Mishkin & Matas
  // compared against orthogonal, orthogonal scaled for ReLU, Xavier and MSRA): tanh: orthogonal
  // with gain 1 and 5/3, glorot_normal; ReLU: orthogonal with gain sqrt 2, he_normal. With tanh
  // LSUV reaches the target no later than each (in each of seeds 1-10 and 1001-1010). With ReLU
  // the order at this size varies with the seed (no later than orthogonal's in 19 of those 20
  // seeds, than He's in 17): asserted within one evaluation (eval_every steps, the resolution
  // of steps_to_target), which holds in all 20. Mismatched pairs (orthogonal gain sqrt 2 or He
  // under tanh, ...) are contrasts, not asserted here.
  const std::map<std::string, std::vector<std::string>> matched = {
      {"tanh", {"orthogonal", "orthogonal(gain=tanh)", "glorot_normal"}},
      {"relu", {"orthogonal(gain=relu)", "he_normal"}}};
  std::map<std::pair<std::string, long>, std::map<std::string, long>> steps_of;  // per seed
  long eval_every = 0;
  for (const RunRecord& r : records) {
    steps_of[{r.run.activation, r.run.seed}][r.run.scheme] = r.run.steps_to_target;
    eval_every = experiment.runs.at(static_cast<std::size_t>(r.run.run_id)).train.eval_every;
  }
  for (const auto& [key, steps] : steps_of) {
    const std::string& activation = key.first;
    const long slack = activation == "relu" ? eval_every : 0;
    REQUIRE(matched.count(activation) == 1);
    INFO(activation << ", seed " << key.second << ": steps to target lsuv " << steps.at("lsuv"));
    REQUIRE(steps.at("lsuv") >= 0);
    for (const std::string& scheme : matched.at(activation)) {
      INFO(scheme << ": " << steps.at(scheme));
      // A baseline that never reaches the target is slower (glorot_normal under tanh reaches it
      // at the last step, 200, in 6 of those 20 seeds).
      if (steps.at(scheme) >= 0) CHECK(steps.at("lsuv") <= steps.at(scheme) + slack);
    }
  }
}

namespace {

// The finite-width prediction for He-initialised ReLU layers with Gaussian weights (derived in
// results/finite_width/README.md): given its input, a hidden layer of n units multiplies the
// mean square of the signal by R = (2 / n) chi^2_K with K ~ Binomial(n, 1/2) units on, the
// layers independently; Var ln chi^2_k = trigamma(k / 2) and E ln chi^2_k = digamma(k / 2) + ln 2,
// so Var ln R = E trigamma(K / 2) + Var digamma(K / 2) = 5 / n + O(1 / n^2) (K = 0, probability
// 2^-n, left out). digamma and trigamma at k / 2 by their recurrences from 1/2 and 1.
double digamma_half(long k) {  // digamma(k / 2), k >= 1
  constexpr double kEuler = 0.57721566490153286;
  double x = k % 2 == 1 ? 0.5 : 1.0;
  double value = k % 2 == 1 ? -kEuler - 2.0 * std::log(2.0) : -kEuler;
  for (; x < 0.5 * static_cast<double>(k) - 0.25; x += 1.0) value += 1.0 / x;
  return value;
}

double trigamma_half(long k) {  // trigamma(k / 2), k >= 1
  const double pi2 = std::numbers::pi * std::numbers::pi;
  double x = k % 2 == 1 ? 0.5 : 1.0;
  double value = k % 2 == 1 ? pi2 / 2.0 : pi2 / 6.0;
  for (; x < 0.5 * static_cast<double>(k) - 0.25; x += 1.0) value -= 1.0 / (x * x);
  return value;
}

double relu_layer_log_variance(long n) {
  double norm = 0.0, mean = 0.0, second = 0.0, trig = 0.0;
  for (long k = 1; k <= n; ++k) {
    const double p = std::exp(
        std::lgamma(static_cast<double>(n + 1)) - std::lgamma(static_cast<double>(k + 1)) -
        std::lgamma(static_cast<double>(n - k + 1)) - static_cast<double>(n) * std::log(2.0));
    const double d = digamma_half(k);
    norm += p, mean += p * d, second += p * d * d, trig += p * trigamma_half(k);
  }
  mean /= norm;
  return trig / norm + second / norm - mean * mean;
}

}  // namespace

// Hanin & Rolnick 2018: in a He-initialised ReLU net the variance over initialisations of the
// log squared length of the output grows linearly in beta = sum of 1 / n_l over the hidden
// layers (5 beta for Gaussian weights, to first order), whatever depth and width make up beta.
// Measured per (depth, width): the variance over seeds of ln(q_L / q_0) (correlation.csv at
// step 0: q = ||z||^2 / units of each probe sample at the output and at the input), per sample,
// averaged over the samples.
TEST_CASE("finite_width: Var ln ||z_L||^2 grows linearly in beta = sum 1/n_l, equal beta alike") {
  const auto experiment = quick_experiment("finite_width.toml");
  const auto records = run_quick(experiment);
  // (depth, width) -> sample -> ln(q_L / q_0) of each seed
  std::map<std::pair<long, long>, std::map<long, std::vector<double>>> logs;
  long outputs = 0;
  for (const RunRecord& r : records) {
    const long L = r.run.depth + 1;
    std::map<long, double> q0, qL;
    for (const auto& row : r.rows<initbench::CorrelationRow>()) {
      REQUIRE(row.step == 0);
      if (row.layer != 0 && row.layer != L) continue;
      auto& q = row.layer == 0 ? q0 : qL;
      q[2 * row.pair] = row.q_a;
      q[2 * row.pair + 1] = row.q_b;
    }
    REQUIRE(q0.size() == 8);
    REQUIRE(qL.size() == 8);
    for (const auto& [sample, q] : qL) {
      REQUIRE(q > 0.0);  // a layer with every unit off would give 0 (probability 2^-width)
      logs[{r.run.depth, r.run.width}][sample].push_back(std::log(q / q0.at(sample)));
    }
    outputs = std::stol(r.run.layers.substr(r.run.layers.rfind('-') + 1));  // "16-32-...-16"
  }
  REQUIRE(outputs == 16);
  const double output_variance = trigamma_half(outputs);  // the linear output layer's chi^2_16
  struct Setting {
    double beta, measured, first_order, exact;
  };
  std::map<std::pair<long, long>, Setting> settings;
  for (const auto& [key, by_sample] : logs) {
    const auto [depth, width] = key;
    double sum = 0.0;
    for (const auto& [sample, values] : by_sample) {
      const double m = initbench::testing::mean(values);
      double ss = 0.0;
      for (const double v : values) ss += (v - m) * (v - m);
      sum += ss / static_cast<double>(values.size() - 1);
    }
    const double beta = static_cast<double>(depth) / static_cast<double>(width);
    settings[key] = {beta, sum / static_cast<double>(by_sample.size()),
                     5.0 * beta + output_variance,
                     static_cast<double>(depth) * relu_layer_log_variance(width) + output_variance};
  }
  REQUIRE(settings.size() == 6);
  // The exact per-layer variance against 5 / n: 5.68 / 32 and 5.31 / 64.
  CHECK(32.0 * relu_layer_log_variance(32) == doctest::Approx(5.68).epsilon(0.01));
  CHECK(64.0 * relu_layer_log_variance(64) == doctest::Approx(5.31).epsilon(0.01));
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& [key, s] : settings) {
    INFO("depth " << key.first << ", width " << key.second << ", beta " << s.beta
                  << ": Var ln(q_L / q_0) " << s.measured << ", 5 beta + trigamma(8) "
                  << s.first_order << ", exact " << s.exact);
    // each setting near its exact prediction
    CHECK(s.measured > 0.7 * s.exact);
    CHECK(s.measured < 1.4 * s.exact);
    sx += s.beta, sy += s.measured, sxx += s.beta * s.beta, sxy += s.beta * s.measured;
  }
  const auto n = static_cast<double>(settings.size());
  const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  const double intercept = (sy - slope * sx) / n;
  INFO("fit: Var = " << intercept << " + " << slope << " beta");
  // 5 to first order; the exact values' own fit has slope 5.72 at these widths. Over 200 seeds
  // a bootstrap puts the measured slope's standard error near 0.5 (each variance's near 5-7 %),
  // so the bounds are about 3.5 of them either side (the intercept, 0.07 of error for a 0.1
  // prediction, is not asserted).
  CHECK(slope > 4.0);
  CHECK(slope < 7.5);
  // Equal beta, different depths: the same variance (within sampling error); equal depth, half
  // the width: about twice the variance.
  for (const auto& [a, b] :
       {std::pair<std::pair<long, long>, std::pair<long, long>>{{4, 32}, {8, 64}},
        {{8, 32}, {16, 64}}}) {
    const double ratio = settings.at(a).measured / settings.at(b).measured;
    INFO("beta " << settings.at(a).beta << ": depth " << a.first << " / depth " << b.first
                 << " variance ratio " << ratio);
    CHECK(ratio > 0.75);
    CHECK(ratio < 1.4);
  }
  for (const long depth : {4L, 8L, 16L}) {
    const double ratio = settings.at({depth, 32}).measured / settings.at({depth, 64}).measured;
    INFO("depth " << depth << ": width 32 / width 64 variance ratio " << ratio);
    CHECK(ratio > 1.4);
  }
}
