// The muP experiments' claims at their [quick] size: mup_coord_check, mup_lr_transfer.
// results/<name>/README.md has the full-size numbers.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "experiment_support.hpp"

namespace {

using initbench::CoordRow;
using initbench::RunRecord;
using initbench::testing::axis;
using initbench::testing::quick_experiment;
using initbench::testing::run_quick;

// Least-squares slope of y against x.
double slope(const std::vector<double>& x, const std::vector<double>& y) {
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= static_cast<double>(x.size());
  my /= static_cast<double>(x.size());
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
  }
  return sxy / sxx;
}

// The log2 slope over widths of a layer's `column` at `step`, per (parametrization, optimizer).
std::map<std::string, double> slopes(const std::vector<RunRecord>& records, long layer, long step,
                                     double CoordRow::*column) {
  std::map<std::string, std::vector<double>> x, y;
  for (const RunRecord& r : records) {
    const std::string key = axis(r, "model.parametrization") + " " + axis(r, "train.optimizer");
    for (const CoordRow& row : r.rows<CoordRow>()) {
      if (row.layer != layer || row.step != step) continue;
      x[key].push_back(std::log2(std::stod(axis(r, "model.width"))));
      y[key].push_back(std::log2(row.*column));
    }
  }
  std::map<std::string, double> out;
  for (const auto& [key, xs] : x) out[key] = slope(xs, y[key]);
  return out;
}

}  // namespace

TEST_CASE(
    "mup_coord_check: the logits grow with width under SP and not under muP - SP's hidden "
    "updates shrink with width - muP's stay flat") {
  // widths 64 to 512, one seed, 3 steps, SGD and Adam; slopes of log2 mean |.| against log2
  // width. Full size (results/mup_coord_check): muP's logit slope after 5 steps is -0.08 (SGD)
  // and 0.02 (Adam), SP's 0.18 and 0.47.
  const auto records = run_quick(quick_experiment("mup_coord_check.toml"));
  REQUIRE(records.size() == 16);
  const long last = 3;
  const auto logit_change_1 = slopes(records, 3, 1, &CoordRow::delta);
  const auto logits_last = slopes(records, 3, last, &CoordRow::preact);
  for (const char* opt : {"sgd", "adam"}) {
    CAPTURE(opt);
    const std::string sp = std::string("standard ") + opt;
    const std::string mup = std::string("mup ") + opt;
    // SP: one step moves the logits the more the wider the net
    CHECK(logit_change_1.at(sp) >= 0.3);
    // after the last step SP's logits grow with width well beyond muP's, and muP's are about flat
    CAPTURE(logits_last.at(sp));
    CAPTURE(logits_last.at(mup));
    CHECK(logits_last.at(sp) - logits_last.at(mup) >= 0.25);
    CHECK(std::abs(logits_last.at(mup)) <= 0.3);
  }
  for (long layer : {1, 2}) {
    CAPTURE(layer);
    // muP: every hidden layer's size and its change since step 0 are flat in width
    for (double CoordRow::*column : {&CoordRow::preact, &CoordRow::delta}) {
      for (const auto& [key, s] : slopes(records, layer, last, column)) {
        CAPTURE(key);
        CAPTURE(s);
        if (key.rfind("mup", 0) == 0) CHECK(std::abs(s) <= 0.15);
      }
    }
    // SP with SGD: the hidden layers' change shrinks with width (no feature learning in the limit)
    const double sp_sgd = slopes(records, layer, last, &CoordRow::delta).at("standard sgd");
    CAPTURE(sp_sgd);
    CHECK(sp_sgd <= -0.25);
  }
}

TEST_CASE(
    "mup_lr_transfer: under muP the best SGD rate moves by at most one factor of 2 from "
    "width 64 to 512 - the wider net is better at its best rate") {
  // widths 64 and 512, one seed, 32 steps on 512 images, rates 2^-4 .. 2^0. Full size
  // (results/mup_lr_transfer): the best rate is 2^-2 at every width 64 to 1024 under both
  // parametrizations.
  const auto records = run_quick(quick_experiment("mup_lr_transfer.toml"));
  REQUIRE(records.size() == 20);
  // best log2 rate and its loss per (parametrization, width); a diverged run counts as worst
  std::map<std::string, std::pair<double, double>> best;
  std::map<std::string, double> largest;
  for (const RunRecord& r : records) {
    const std::string key = axis(r, "model.parametrization") + " " + axis(r, "model.width");
    const double log2_lr = std::log2(std::stod(axis(r, "train.lr")));
    const double loss = std::isfinite(r.run.final_train_loss) ? r.run.final_train_loss : HUGE_VAL;
    if (best.count(key) == 0 || loss < best[key].second) best[key] = {log2_lr, loss};
    largest[key] = std::max(largest.count(key) ? largest[key] : -HUGE_VAL, log2_lr);
  }
  REQUIRE(best.size() == 4);
  for (const auto& [key, b] : best) {
    CAPTURE(key);
    CAPTURE(b.first);
    CHECK(b.first < largest[key]);  // the grid brackets the best rate: a larger one is worse
  }
  const auto narrow = best.at("mup 64");
  const auto wide = best.at("mup 512");
  CHECK(std::abs(wide.first - narrow.first) <= 1.0);
  CHECK(wide.second < narrow.second);
}
