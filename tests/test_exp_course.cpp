// The course experiments' claims, each checked on its spec's [quick] profile: symmetry,
// course_init and seed_example (experiments/*.toml). The full-size numbers and the verdicts are
// in results/<name>/README.md.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include "experiment_support.hpp"
#include "initbench/data.hpp"
#include "initbench/diagnose.hpp"

using namespace initbench;
using namespace initbench::testing;

namespace {

// Each spec is run once per test binary, at its quick size; the test cases share the records.
const std::vector<RunRecord>& quick_records(const std::string& file) {
  static std::map<std::string, std::vector<RunRecord>> cache;
  auto it = cache.find(file);
  if (it == cache.end()) it = cache.emplace(file, run_quick(quick_experiment(file))).first;
  return it->second;
}

const CurveRow& first_curve(const RunRecord& r) {
  REQUIRE(!r.curves.empty());
  return r.curves.front();
}

// The run with these values on these axes (the test fails if there is none).
bool symmetric_scheme(const std::string& scheme) {
  return scheme == "zeros" || scheme.starts_with("constant");
}

// The best accuracy of any linear classifier [u.x > t] (or its complement) on a 2-feature binary
// set: over 3600 directions u (every 0.1 degree of the full circle, so both orientations) and,
// for each, every threshold between consecutive projections. X: (2, m), Y: (1, m) of 0/1.
double best_linear_accuracy(const Matrix<double>& X, const Matrix<double>& Y) {
  const Index m = X.cols();
  std::vector<std::pair<double, bool>> projected(static_cast<std::size_t>(m));  // (u.x, label)
  long positives = 0;
  for (Index j = 0; j < m; ++j) positives += Y(0, j) > 0.5 ? 1 : 0;
  long best = 0;
  constexpr int kDirections = 3600;
  for (int k = 0; k < kDirections; ++k) {
    const double angle = 2.0 * std::numbers::pi * k / kDirections;
    const double c = std::cos(angle);
    const double s = std::sin(angle);
    for (Index j = 0; j < m; ++j)
      projected[static_cast<std::size_t>(j)] = {c * X(0, j) + s * X(1, j), Y(0, j) > 0.5};
    std::sort(projected.begin(), projected.end());
    long correct = positives;  // threshold below every point: all predicted 1
    best = std::max(best, correct);
    for (const auto& point : projected) {  // move this point to the "predict 0" side
      correct += point.second ? -1 : 1;
      best = std::max(best, correct);
    }
  }
  return static_cast<double>(best) / static_cast<double>(m);
}

// ||W_l|| at step 0.
double weight_norm_at_start(const RunRecord& r, long layer) {
  const auto it =
      std::find_if(r.rows<LayerRow>().begin(), r.rows<LayerRow>().end(),
                   [&](const LayerRow& row) { return row.step == 0 && row.layer == layer; });
  REQUIRE(it != r.rows<LayerRow>().end());
  return it->weight_norm;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// symmetry
// ---------------------------------------------------------------------------------------------

TEST_CASE(
    "symmetry: under gradient descent and Adam, zeros and constant init keep one distinct "
    "neuron per hidden layer at every probed step") {
  const auto& records = quick_records("symmetry.toml");
  int checked = 0;
  for (const RunRecord& r : records) {
    // Adam too: it divides each gradient by its own running magnitude, so a one-bit difference
    // between two neurons' gradients (sigmoid + zeros starts at rounding level) would grow into a
    // split; the engine computes identical neurons identically (tests/test_mlp.cpp).
    if (!symmetric_scheme(axis(r, "init.scheme"))) continue;
    CAPTURE(r.run.run_id);
    CAPTURE(r.run.scheme);
    CAPTURE(r.run.activation);
    REQUIRE(!r.rows<SymmetryRow>().empty());
    CHECK(r.rows<SymmetryRow>().front().step == 0);
    CHECK(r.rows<SymmetryRow>().back().step == r.run.steps_run);
    for (const SymmetryRow& row : r.rows<SymmetryRow>()) {
      CAPTURE(row.step);
      CAPTURE(row.layer);
      CHECK(row.distinct_neurons == 1);
    }
    ++checked;
  }
  CHECK(checked > 0);
}

TEST_CASE(
    "symmetry: the diagnosis calls every zeros and constant run symmetric and no random one") {
  const auto& records = quick_records("symmetry.toml");
  int symmetric = 0, random = 0;
  for (const RunRecord& r : records) {
    CAPTURE(r.run.run_id);
    CAPTURE(r.run.scheme);
    CAPTURE(r.run.activation);
    const Diagnosis d = diagnose(r);
    CHECK(r.run.symmetric == verdict_name(d.symmetric));  // the column is the diagnosis
    if (symmetric_scheme(axis(r, "init.scheme"))) {
      CHECK(d.symmetric == Verdict::kYes);
      CHECK(d.fewest_distinct == 1);
      CHECK(r.run.verdict.starts_with("symmetric"));
      ++symmetric;
    } else {
      CHECK(d.symmetric == Verdict::kNo);
      ++random;
    }
  }
  CHECK(symmetric > 0);
  CHECK(random == symmetric);  // two symmetric and two random schemes
}

TEST_CASE("symmetry: random schemes have distinct_neurons = width from step 0") {
  const auto& records = quick_records("symmetry.toml");
  int checked = 0;
  for (const RunRecord& r : records) {
    if (symmetric_scheme(axis(r, "init.scheme"))) continue;
    CAPTURE(r.run.run_id);
    CAPTURE(r.run.scheme);
    CAPTURE(r.run.activation);
    REQUIRE(!r.rows<SymmetryRow>().empty());
    CHECK(r.rows<SymmetryRow>().front().step == 0);
    for (const SymmetryRow& row : r.rows<SymmetryRow>()) {
      CAPTURE(row.step);
      CAPTURE(row.layer);
      CHECK(row.distinct_neurons == row.width);
    }
    ++checked;
  }
  CHECK(checked > 0);
}

// tanh(0) = relu(0) = 0: every hidden activation is 0, so dL/dW_l = D_l A_{l-1}^T is 0 for the
// output layer, and D_l = W_{l+1}^T D_{l+1} phi'(z_l) is 0 below it. This holds exactly, for any
// optimizer (a zero gradient gives a zero step in SGD and in Adam).
TEST_CASE("symmetry: with zeros, tanh and ReLU networks never move a weight") {
  const auto& records = quick_records("symmetry.toml");
  int checked = 0;
  for (const RunRecord& r : records) {
    const std::string activation = axis(r, "model.activation");
    if (axis(r, "init.scheme") != "zeros" || (activation != "relu" && activation != "tanh"))
      continue;
    CAPTURE(r.run.run_id);
    CAPTURE(activation);
    CAPTURE(axis(r, "train.optimizer"));
    REQUIRE(!r.rows<LayerRow>().empty());
    for (const LayerRow& row : r.rows<LayerRow>()) {
      CAPTURE(row.step);
      CAPTURE(row.layer);
      CHECK(row.weight_norm == 0.0);
      CHECK(row.grad_w_norm == 0.0);
    }
    ++checked;
  }
  CHECK(checked > 0);
}

// A network whose hidden layers each repeat one unit computes g(w.x + b) with g monotone (each
// layer applies a monotone activation to a common multiple of the one below), so its
// predictions [g > 0] are those of a linear classifier. On circles none does much better than
// chance: it can only cut off the tail of the outer circle (about 0.60).
TEST_CASE("symmetry: a layer of identical units is a linear classifier, near chance on circles") {
  const Experiment e = quick_experiment("symmetry.toml");
  const auto& records = quick_records("symmetry.toml");
  REQUIRE(!e.runs.empty());
  for (const RunConfig& c : e.runs) REQUIRE(c.seed == e.runs.front().seed);  // one data set
  const Dataset data = load_dataset(e.runs.front().data, e.runs.front().seed);
  const double train_bound = best_linear_accuracy(data.X_train, data.Y_train);
  const double test_bound = best_linear_accuracy(data.X_test, data.Y_test);
  CAPTURE(train_bound);
  CAPTURE(test_bound);
  CHECK(train_bound < 0.65);  // what "near chance" means here
  // The direction grid may miss the best direction's narrow cone: allow two samples.
  const double slack_train = 2.0 / static_cast<double>(data.X_train.cols());
  const double slack_test = 2.0 / static_cast<double>(data.X_test.cols());
  std::vector<double> random_adam_test;
  for (const RunRecord& r : records) {
    CAPTURE(r.run.run_id);
    CAPTURE(r.run.scheme);
    CAPTURE(r.run.activation);
    if (symmetric_scheme(axis(r, "init.scheme")) && axis(r, "train.optimizer") == "sgd") {
      CHECK(r.run.final_train_acc <= train_bound + slack_train);
      CHECK(r.run.final_test_acc <= test_bound + slack_test);
    }
    if (!symmetric_scheme(axis(r, "init.scheme")) && axis(r, "train.optimizer") == "adam")
      random_adam_test.push_back(r.run.final_test_acc);
  }
  // The contrast: the same networks started at random get past the linear bound.
  CHECK(mean(random_adam_test) > test_bound + slack_test);
}

// ---------------------------------------------------------------------------------------------
// course_init
// ---------------------------------------------------------------------------------------------

TEST_CASE("course_init: zeros stays at cost ln 2 and accuracy 0.5, its hidden units identical") {
  const auto groups = group_by(quick_records("course_init.toml"), "init.scheme");
  REQUIRE(groups.count("zeros") == 1);
  for (const RunRecord* r : groups.at("zeros")) {
    CAPTURE(r->run.seed);
    REQUIRE(r->curves.size() >= 2);
    for (const CurveRow& c : r->curves) {
      CAPTURE(c.step);
      CHECK(c.train_loss == doctest::Approx(std::log(2.0)).epsilon(1e-12));
      CHECK(c.test_loss == doctest::Approx(std::log(2.0)).epsilon(1e-12));
      CHECK(c.train_acc == 0.5);
      CHECK(c.test_acc == 0.5);
    }
    REQUIRE(!r->rows<SymmetryRow>().empty());
    for (const SymmetryRow& row : r->rows<SymmetryRow>()) CHECK(row.distinct_neurons == 1);
  }
}

TEST_CASE("course_init: large random starts with a huge cost and ends well below He") {
  const auto& records = quick_records("course_init.toml");
  const auto groups = group_by(records, "init.scheme");
  REQUIRE(groups.count("normal(stddev=10)") == 1);
  REQUIRE(groups.count("he_normal") == 1);
  std::vector<double> large_acc, he_acc, large_loss, he_loss;
  for (const RunRecord* large : groups.at("normal(stddev=10)")) {
    const RunRecord& he =
        find_run(records, {{"seed", axis(*large, "seed")}, {"init.scheme", "he_normal"}});
    CAPTURE(large->run.seed);
    // The course prints inf (log 0 of a saturated sigmoid); our loss, from the logits, is
    // finite. "Huge": more than ten times He's starting cost on the same draws.
    CHECK(std::isfinite(first_curve(*large).train_loss));
    CHECK(first_curve(*large).train_loss > 10.0 * first_curve(he).train_loss);
    large_acc.push_back(large->run.final_train_acc);
    he_acc.push_back(he.run.final_train_acc);
    large_loss.push_back(large->run.final_train_loss);
    he_loss.push_back(he.run.final_train_loss);
  }
  // "Well below", over seeds: the course's gap is 0.83 vs 0.993; ask for at least 5 points
  // between the medians (a mean would hang on the seeds where He's units die).
  CHECK(median(large_loss) > median(he_loss));
  CHECK(median(large_acc) < median(he_acc) - 0.05);
}

// The course's other advice, small random values (randn * 0.01): the weights differ, so the units
// are no longer identical, but on this network the signal they pass is so small (output logits
// about 1e-6) that 15000 steps of gradient descent at lr 0.01 leave the cost at ln 2
// (results/course_init: within 1e-6 of it at every evaluation of all 10 seeds).
TEST_CASE(
    "course_init: small random values break the symmetry but stay at cost ln 2 for 15000 "
    "steps") {
  const auto& records = quick_records("course_init.toml");
  const auto groups = group_by(records, "init.scheme");
  REQUIRE(groups.count("normal(stddev=0.01)") == 1);
  REQUIRE(groups.at("normal(stddev=0.01)").size() >= 3);
  std::vector<double> small_acc, he_acc;
  for (const RunRecord* r : groups.at("normal(stddev=0.01)")) {
    CAPTURE(r->run.seed);
    CHECK(r->run.steps_run == 15000);
    REQUIRE(r->curves.size() >= 2);
    // Every evaluation, train and test: within 1e-5 of ln 2 (the full runs stay within 1e-6).
    for (const CurveRow& c : r->curves) {
      CAPTURE(c.step);
      CHECK(std::abs(c.train_loss - std::log(2.0)) < 1e-5);
      CHECK(std::abs(c.test_loss - std::log(2.0)) < 1e-5);
    }
    // Unlike zeros, every hidden unit is its own from step 0 on: symmetry is not the problem.
    REQUIRE(!r->rows<SymmetryRow>().empty());
    for (const SymmetryRow& row : r->rows<SymmetryRow>()) CHECK(row.distinct_neurons == row.width);
    small_acc.push_back(r->run.final_train_acc);
    he_acc.push_back(find_run(records, {{"seed", axis(*r, "seed")}, {"init.scheme", "he_normal"}})
                         .run.final_train_acc);
  }
  // Chance level (the sign of a logit of 1e-6 decides), far below He on the same seeds.
  INFO("median train accuracy: small random " << median(small_acc) << ", He " << median(he_acc));
  CHECK(median(small_acc) < 0.6);
  CHECK(median(he_acc) > median(small_acc) + 0.3);
}

// The course's He run (one seed) reaches 0.993 / 0.96. The quick profile's seeds 1 and 2 both
// train; at full size 2 of 10 seeds start with 2 of the 5 second-layer units dead and lose
// more during training (results/course_init/README.md).
TEST_CASE(
    "course_init: the diagnosis finds no failure in the He runs that train and dead units in "
    "those that do not and calls zeros symmetric and stalled") {
  // results/course_init: He trains on most seeds; on the others (2 of 10 at full size) 2 of the
  // 5 second-layer units start dead and 4 are dead by the end, and the run stays near chance.
  const auto& records = quick_records("course_init.toml");
  int he_trained = 0, he_dead = 0, zeros = 0;
  for (const RunRecord& r : records) {
    const std::string scheme = axis(r, "init.scheme");
    CAPTURE(scheme);
    CAPTURE(r.run.seed);
    const Diagnosis d = diagnose(r);
    CAPTURE(d.signal_ratio_min);
    CAPTURE(d.signal_ratio_max);
    CAPTURE(d.grad_ratio_min);
    CAPTURE(d.grad_ratio_max);
    CAPTURE(d.dead_max);
    CAPTURE(d.loss_start);
    CAPTURE(d.loss_best);
    CHECK(r.run.verdict == d.summary());  // the column is the diagnosis
    if (scheme == "he_normal") {
      CAPTURE(r.run.final_train_acc);
      if (r.run.status == "converged") {
        CHECK(d.summary() ==
              "ok");  // every verdict known (layers, symmetry probes on), none failed
        ++he_trained;
      } else {
        CHECK(d.summary() == "dead");
        ++he_dead;
      }
    } else if (scheme == "zeros") {
      CHECK(d.symmetric == Verdict::kYes);
      CHECK(d.stalled == Verdict::kYes);
      ++zeros;
    }
  }
  CHECK(he_trained > he_dead);  // most seeds train
  CHECK(zeros == he_trained + he_dead);
}

TEST_CASE("course_init: He reaches about 0.99 train / 0.96 test accuracy on most seeds") {
  // Not on every seed: one seed in five or so loses most of the 5-unit layer to dead ReLUs
  // (results/course_init). Over the quick profile's 6 seeds: the median within 4 points of the
  // published accuracies, and at least half the seeds at 95 % train accuracy.
  const auto groups = group_by(quick_records("course_init.toml"), "init.scheme");
  REQUIRE(groups.count("he_normal") == 1);
  REQUIRE(groups.at("he_normal").size() >= 6);
  std::vector<double> train, test;
  int trained = 0;
  for (const RunRecord* r : groups.at("he_normal")) {
    CAPTURE(r->run.seed);
    CHECK(r->run.steps_run == 15000);
    CHECK(r->run.final_train_loss < first_curve(*r).train_loss);
    train.push_back(r->run.final_train_acc);
    test.push_back(r->run.final_test_acc);
    trained += r->run.final_train_acc >= 0.95 ? 1 : 0;
  }
  constexpr double kAbout = 0.04;  // "about": within 4 points of the published accuracy
  CHECK(median(train) >= 0.993 - kAbout);
  CHECK(median(test) >= 0.96 - kAbout);
  CHECK(2 * trained >= static_cast<int>(train.size()));
}

// ---------------------------------------------------------------------------------------------
// seed_example
// ---------------------------------------------------------------------------------------------

TEST_CASE(
    "seed_example: the code's 'Xavier' (lecun_normal) and glorot_normal have their "
    "formulas' weight variances") {
  const auto& records = quick_records("seed_example.toml");
  const auto groups = group_by(records, "init.scheme");
  REQUIRE(groups.count("lecun_normal") == 1);
  REQUIRE(groups.count("glorot_normal") == 1);
  // Var(W_l) by its formula; layers 3 -> 4 -> 1.
  const std::map<std::string, std::vector<double>> formula{
      {"lecun_normal", {1.0 / 3.0, 1.0 / 4.0}},     // 1 / fan_in
      {"glorot_normal", {2.0 / 7.0, 2.0 / 5.0}}};   // 2 / (fan_in + fan_out)
  const std::vector<double> entries{3 * 4, 4 * 1};  // fan_in * fan_out

  SUBCASE("pooled over seeds, within 3 standard errors of the formula") {
    for (const auto& [scheme, runs] : groups) {
      for (long l = 1; l <= 2; ++l) {
        const auto i = static_cast<std::size_t>(l - 1);
        double sum_squares = 0.0;
        for (const RunRecord* r : runs) sum_squares += std::pow(weight_norm_at_start(*r, l), 2);
        const double n = entries[i] * static_cast<double>(runs.size());  // weights pooled
        const double variance = sum_squares / n;  // the mean is 0: E[w^2] = Var
        const double expected = formula.at(scheme)[i];
        const double standard_error = expected * std::sqrt(2.0 / n);  // Var(w^2) = 2 Var^2
        CAPTURE(scheme);
        CAPTURE(l);
        CAPTURE(variance);
        CAPTURE(expected);
        CHECK(std::abs(variance - expected) <= 3.0 * standard_error);
      }
    }
  }

  SUBCASE("per seed, the same draws scaled by sqrt(Var_lecun / Var_glorot)") {
    // Common random numbers: a seed's N(0, 1) draws are the same for both schemes.
    for (const RunRecord* lecun : groups.at("lecun_normal")) {
      const RunRecord& glorot =
          find_run(records, {{"seed", axis(*lecun, "seed")}, {"init.scheme", "glorot_normal"}});
      CAPTURE(lecun->run.seed);
      for (long l = 1; l <= 2; ++l) {
        const auto i = static_cast<std::size_t>(l - 1);
        CHECK(weight_norm_at_start(*lecun, l) / weight_norm_at_start(glorot, l) ==
              doctest::Approx(
                  std::sqrt(formula.at("lecun_normal")[i] / formula.at("glorot_normal")[i]))
                  .epsilon(1e-12));
      }
    }
  }
}

TEST_CASE("seed_example: both schemes train the 3-4-1 network") {
  for (const auto& [scheme, runs] : group_by(quick_records("seed_example.toml"), "init.scheme")) {
    CAPTURE(scheme);
    std::vector<double> accuracy;
    for (const RunRecord* r : runs) {
      CAPTURE(r->run.seed);
      CHECK(r->run.status != "diverged");
      CHECK(r->run.final_train_loss < first_curve(*r).train_loss);
      accuracy.push_back(r->run.final_train_acc);
    }
    CHECK(mean(accuracy) >= 0.95);  // the spec's target accuracy, on average
  }
}

TEST_CASE("course_notebook: the notebook's printed numbers, from its own seeds") {
  // Published by the notebook (docs/references.md); the full run takes a third of a second, so
  // it runs at full size (the spec has no [quick] table).
  const auto& records = quick_records("course_notebook.toml");
  auto cost = [](const RunRecord& r, long step) {
    for (const CurveRow& c : r.curves) {
      if (c.step == step) return c.train_loss;
    }
    FAIL("no curves row at step " << step);
    return 0.0;
  };
  auto correct = [](double accuracy, double samples) { return std::lround(accuracy * samples); };
  const RunRecord& zeros = find_run(records, {{"init.scheme", "zeros"}});
  const RunRecord& large = find_run(records, {{"init.scheme", "normal(stddev=10)"}});
  const RunRecord& he = find_run(records, {{"init.scheme", "he_normal"}});

  // zeros: 0.6931471805599453 at every printed iteration, every prediction 0
  for (const CurveRow& c : zeros.curves)
    CHECK(c.train_loss == doctest::Approx(0.6931471805599453).epsilon(1e-12));
  CHECK(correct(zeros.run.final_train_acc, 300) == 150);
  CHECK(correct(zeros.run.final_test_acc, 100) == 50);

  // He: 0.8830537463419761 at iteration 0, 0.07357895962677366 at 14000, accuracy 0.9933 / 0.96.
  // Not chaotic: 12 significant digits asked (15 seen).
  CHECK(cost(he, 0) == doctest::Approx(0.8830537463419761).epsilon(1e-12));
  CHECK(cost(he, 14000) == doctest::Approx(0.07357895962677366).epsilon(1e-12));
  CHECK(correct(he.run.final_train_acc, 300) == 298);
  CHECK(correct(he.run.final_test_acc, 100) == 96);

  // Large random: the notebook prints inf at iteration 0 (log 0 of a sigmoid that rounded to 1);
  // our loss from the logits is the finite value. The run is chaotic (saturated units flip with
  // the last bit of a product): the published "about 0.3828" at 14000 to 3 digits, and the
  // accuracies exactly.
  CHECK(std::isfinite(cost(large, 0)));
  CHECK(cost(large, 0) > 1000.0);
  CHECK(cost(large, 14000) == doctest::Approx(0.3828).epsilon(1e-3));
  CHECK(correct(large.run.final_train_acc, 300) == 249);
  CHECK(correct(large.run.final_test_acc, 100) == 86);
}
