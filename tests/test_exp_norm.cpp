// The normalization claims at the spec's [quick] size (experiments/normalization.toml): plain
// MLPs of 30 hidden layers of 64 units, ReLU (he_normal) and tanh (glorot_normal), norm none,
// batch or layer, init.scale 0.25, 1 and 4, 3 seeds, at step 0 on a probe batch of 256 images.
// results/normalization/README.md has the full-size numbers.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "experiment_support.hpp"

namespace {

using initbench::LayerRow;
using initbench::NormRow;
using initbench::RunRecord;
using initbench::testing::axis;
using initbench::testing::layers_at;
using initbench::testing::quick_experiment;
using initbench::testing::run_quick;

const std::vector<std::string> kScales = {"0.25", "1", "4"};

// The runs of one activation, norm and seed, by init.scale.
std::map<std::string, const RunRecord*> by_scale(const std::vector<RunRecord>& records,
                                                 const std::string& activation,
                                                 const std::string& norm, long seed) {
  std::map<std::string, const RunRecord*> out;
  for (const RunRecord& r : records) {
    if (axis(r, "model.activation") == activation && axis(r, "model.norm") == norm &&
        r.run.seed == seed)
      out[axis(r, "init.scale")] = &r;
  }
  REQUIRE(out.size() == kScales.size());
  return out;
}

// The growth per layer (towards the input) at step 0 of ||dL/dW_l||^2 (weights = true) or of
// ||dL/du_l||^2 (delta_norm, the gradient at the norm's input): exp(-slope) of the least-squares
// line of its log against l over the hidden layers 2..L-1.
double growth_rate(const RunRecord& r, bool weights) {
  const std::map<long, LayerRow> rows = layers_at(r, 0);
  const auto L = static_cast<long>(rows.size());
  double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (long l = 2; l <= L - 1; ++l) {
    const double g = weights ? rows.at(l).grad_w_norm : rows.at(l).delta_norm;
    REQUIRE(g > 0);
    const double x = static_cast<double>(l);
    const double y = std::log(g * g);
    n += 1;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  return std::exp(-slope);
}

}  // namespace

TEST_CASE(
    "normalization: forward statistics at step 0 independent of the weight scale with a "
    "norm and orders of magnitude apart without - batch norm gradients grow by about "
    "pi/(pi-1) per layer") {
  const auto experiment = quick_experiment("normalization.toml");
  const std::vector<RunRecord> records = run_quick(experiment);
  REQUIRE(records.size() == 3 * 2 * 3 * 3);
  std::vector<long> seeds;
  for (const RunRecord& r : records) {
    if (std::find(seeds.begin(), seeds.end(), r.run.seed) == seeds.end())
      seeds.push_back(r.run.seed);
  }
  REQUIRE(seeds.size() == 3);
  for (const long seed : seeds) {
    for (const std::string activation : {"relu", "tanh"}) {
      CAPTURE(seed);
      CAPTURE(activation);
      // (a) every hidden layer's post-phi std at step 0: the same across a 16-fold scale range
      // with a norm (within 1 %: only eps = 1e-5 against the variance tells them apart) ...
      for (const std::string norm : {"batch", "layer"}) {
        CAPTURE(norm);
        const auto runs = by_scale(records, activation, norm, seed);
        const std::map<long, LayerRow> ref = layers_at(*runs.at("1"), 0);
        for (const auto& [scale, run] : runs) {
          const std::map<long, LayerRow> rows = layers_at(*run, 0);
          for (long l = 1; l < static_cast<long>(rows.size()); ++l) {
            CAPTURE(scale);
            CAPTURE(l);
            CHECK(std::abs(rows.at(l).act_std / ref.at(l).act_std - 1) < 0.01);
          }
          // the norm's own output: mean 0, std 1 up to eps (gamma 1, beta 0)
          for (const NormRow& row : run->rows<NormRow>()) {
            if (row.step != 0) continue;
            CHECK(std::abs(row.postnorm_mean) < 1e-3);
            CHECK(std::abs(row.postnorm_std - 1) < 1e-3);
          }
          CHECK(run->rows<NormRow>().size() == 2 * 30);  // 30 hidden layers at steps 0 and 1
        }
      }
      // ... and a factor above 10^6 apart at the last hidden layer without one
      const auto none = by_scale(records, activation, "none", seed);
      const double small = layers_at(*none.at("0.25"), 0).at(30).act_std;
      const double large = layers_at(*none.at("4"), 0).at(30).act_std;
      CAPTURE(small);
      CAPTURE(large);
      CHECK(large > 1e6 * small);
      CHECK(none.at("1")->rows<NormRow>().empty());
    }
    // (b) batch norm, ReLU: ||dL/dW_l||^2 and ||dL/du_l||^2 grow towards the input by about
    // pi / (pi - 1) = 1.467 per layer at every scale (the large-batch mean field); a layer norm's
    // ||dL/du_l||^2 grows by about 1 (the mean field's E[phi'^2] / E[phi^2] = 1; its weight
    // gradients' rate moves with the seed between about 0.8 and 1.05)
    const auto batch = by_scale(records, "relu", "batch", seed);
    const auto layer = by_scale(records, "relu", "layer", seed);
    for (const std::string& scale : kScales) {
      CAPTURE(seed);
      CAPTURE(scale);
      const double rate_batch = growth_rate(*batch.at(scale), true);
      const double delta_batch = growth_rate(*batch.at(scale), false);
      const double rate_layer = growth_rate(*layer.at(scale), true);
      const double delta_layer = growth_rate(*layer.at(scale), false);
      CAPTURE(rate_batch);
      CAPTURE(delta_batch);
      CAPTURE(rate_layer);
      CAPTURE(delta_layer);
      CHECK(rate_batch > 1.3);
      CHECK(rate_batch < 1.6);
      CHECK(delta_batch > 1.3);
      CHECK(delta_batch < 1.6);
      CHECK(std::abs(delta_layer - 1) < 0.15);
      CHECK(rate_batch > rate_layer + 0.25);
    }
  }
}
