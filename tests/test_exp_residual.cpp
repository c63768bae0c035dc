// The residual_depth claims (Zhang, Dauphin & Ma 2019: Fixup; Bachlechner et al. 2020: ReZero;
// De & Smith 2020: SkipInit), run at the spec's [quick] size: 10 and 100 blocks of width 64,
// 3 seeds, 100 SGD steps, and the same nets at 300 blocks at step 0 only (the stream's scale
// needs no training). results/residual_depth/README.md has the full-size numbers.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "experiment_support.hpp"

namespace {

using initbench::RunRecord;
using initbench::StreamRow;
using initbench::testing::axis;
using initbench::testing::median;
using initbench::testing::quick_experiment;
using initbench::testing::run_quick;

const std::vector<std::string> kLearnable = {"fixup", "rezero", "skipinit(alpha=0.03)"};

// stream_rms of x_0 .. x_B at one probe step, by block.
std::vector<double> stream_at(const RunRecord& r, long step) {
  std::vector<double> rms;
  for (const StreamRow& row : r.rows<StreamRow>()) {
    if (row.step == step) {
      REQUIRE(row.block == static_cast<long>(rms.size()));
      rms.push_back(row.stream_rms);
    }
  }
  REQUIRE(!rms.empty());
  return rms;
}

// The runs of one scheme (plain He is "plain") at one depth, one per seed, in grid order.
std::vector<const RunRecord*> runs_of(const std::vector<RunRecord>& records,
                                      const std::string& scheme, const std::string& depth) {
  std::vector<const RunRecord*> out;
  for (const RunRecord& r : records) {
    const bool residual = axis(r, "model.residual") == "true";
    const std::string name = residual ? r.run.scheme : "plain";
    if (name == scheme && axis(r, "model.depth") == depth) out.push_back(&r);
  }
  REQUIRE(out.size() == 3);
  return out;
}

// Train loss at the evaluation of step t.
double loss_at(const RunRecord& r, long t) {
  for (const auto& c : r.curves) {
    if (c.step == t) return c.train_loss;
  }
  FAIL("no evaluation at step " << t);
  return 0.0;
}

}  // namespace

// At step 0 (300 blocks): residual He doubles the stream's variance per block until float
// overflows; Fixup and ReZero leave it exactly as the input layer made it (zero branches);
// SkipInit's alpha = 0.03 multiplies it by 1 + 0.03^2 per block, flat within a few percent.
TEST_CASE(
    "residual_depth: the stream at initialization, residual He against the residual schemes") {
  const auto records = run_quick(quick_experiment(
      "residual_depth.toml",
      {"model.depth=[300]", "train.steps=0", "data.limit_train=256", "data.limit_test=1"}));
  for (const RunRecord* r : runs_of(records, "he_normal", "300")) {
    const std::vector<double> rms = stream_at(*r, 0);
    REQUIRE(rms.size() == 301);
    // per-block growth of the variance over the first 100 blocks (all finite there)
    std::vector<double> growth;
    for (std::size_t b = 1; b <= 100; ++b) {
      REQUIRE(std::isfinite(rms[b]));
      growth.push_back(rms[b] * rms[b] / (rms[b - 1] * rms[b - 1]));
    }
    const double per_block = std::pow(rms[100] / rms[0], 2.0 / 100.0);
    INFO("run " << r->run.run_id << ": variance x" << per_block << " per block, median x"
                << median(growth));
    CHECK(per_block > 1.7);
    CHECK(per_block < 2.2);
    // float overflows (inf or nan) before block 300, but not before block 200 (2^200 fits)
    long first_bad = -1;
    for (std::size_t b = 0; b < rms.size() && first_bad < 0; ++b) {
      if (!std::isfinite(rms[b])) first_bad = static_cast<long>(b);
    }
    INFO("first non-finite block " << first_bad);
    CHECK(first_bad > 200);
    CHECK(first_bad < 300);
    CHECK(r->run.status == "diverged");
  }
  for (const std::string& scheme : kLearnable) {
    for (const RunRecord* r : runs_of(records, scheme, "300")) {
      const std::vector<double> rms = stream_at(*r, 0);
      const auto [lo, hi] = std::minmax_element(rms.begin(), rms.end());
      INFO(scheme << " run " << r->run.run_id << ": stream RMS " << *lo << " .. " << *hi);
      if (scheme == "skipinit(alpha=0.03)") {
        CHECK(*hi / *lo < 1.3);  // (1 + 0.0009)^150 = 1.14 expected
        CHECK(*hi / *lo > 1.01);
      } else {
        CHECK(*hi == *lo);  // every branch starts at zero: x_b = x_0
      }
    }
  }
}

// Training (10 and 100 blocks, 100 steps): the residual schemes train at 100 blocks on every
// seed, where the plain He net of 100 hidden layers stays near chance and residual He overflows;
// ReZero's loss falls faster than Fixup's (Fixup starts with the classifier at zero).
TEST_CASE(
    "residual_depth: residual schemes train at depth where the plain net does not and ReZero leads "
    "Fixup") {
  const auto records = run_quick(quick_experiment("residual_depth.toml"));
  REQUIRE(records.size() == 30);
  const auto plain_deep = runs_of(records, "plain", "100");
  const auto plain_shallow = runs_of(records, "plain", "10");
  for (std::size_t s = 0; s < 3; ++s) {
    INFO("seed index " << s);
    CHECK(plain_shallow[s]->run.final_train_acc > 0.6);  // the plain net trains when shallow
    CHECK(plain_deep[s]->run.final_train_acc < 0.4);
    for (const std::string& scheme : kLearnable) {
      const RunRecord& r = *runs_of(records, scheme, "100")[s];
      INFO(scheme << ": " << r.run.final_train_acc << " vs plain "
                  << plain_deep[s]->run.final_train_acc);
      CHECK(r.run.status != "diverged");
      CHECK(r.run.final_train_acc > 0.55);
      CHECK(r.run.final_train_acc > plain_deep[s]->run.final_train_acc + 0.3);
    }
    // residual He at 100 blocks: a stream of RMS about 2^50 gives non-finite losses
    CHECK(runs_of(records, "he_normal", "100")[s]->run.status == "diverged");
  }
  for (const std::string depth : {"10", "100"}) {
    const auto rezero = runs_of(records, "rezero", depth);
    const auto fixup = runs_of(records, "fixup", depth);
    for (std::size_t s = 0; s < 3; ++s) {
      INFO(depth << " blocks, seed index " << s << ": train loss at step 50 rezero "
                 << loss_at(*rezero[s], 50) << ", fixup " << loss_at(*fixup[s], 50));
      CHECK(loss_at(*rezero[s], 50) < loss_at(*fixup[s], 50));
      CHECK(rezero[s]->run.final_train_loss < fixup[s]->run.final_train_loss);
    }
  }
}
