#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <set>

#include "initbench/data.hpp"
#include "initbench/probes.hpp"
#include "initbench/report.hpp"
#include "initbench/rng.hpp"
#include "initbench/trainer.hpp"

using namespace initbench;

namespace {

RunConfig circles_run(const std::string& scheme, const std::string& activation, long steps) {
  RunConfig c;
  c.experiment = "test";
  c.seed = 1;
  c.model.layers = {2, 8, 8, 1};
  c.model.activation = Activation::parse(activation);
  c.model.output = Output::kSigmoid;
  c.model.precision = Precision::kDouble;
  c.scheme = scheme;
  c.init.weights = Scheme::parse(scheme);
  c.train.optimizer.lr = 0.1;
  c.train.steps = steps;
  c.train.eval_every = 10;
  c.probes.every = 10;
  c.probes.set("symmetry", true);
  return c;
}

// Random N(0, 1) inputs with one-hot labels: for statistics at initialization.
Dataset gaussian_data(Index features, Index samples, Index classes) {
  Rng rng(11);
  Dataset d;
  d.name = "gaussian";
  d.num_classes = classes;
  d.X_train.resize(features, samples);
  for (Index k = 0; k < d.X_train.size(); ++k) d.X_train(k) = rng.normal();
  d.Y_train = Matrix<double>::Zero(classes, samples);
  for (Index j = 0; j < samples; ++j)
    d.Y_train(static_cast<Index>(rng.below(static_cast<std::uint64_t>(classes))), j) = 1;
  d.X_test = d.X_train.leftCols(10);
  d.Y_test = d.Y_train.leftCols(10);
  return d;
}

// delta_norm of each layer at step 0, index l = 1..L
std::vector<double> deltas_at_init(const RunRecord& r) {
  std::vector<double> d(1, 0.0);
  for (const LayerRow& row : r.rows<LayerRow>()) {
    if (row.step == 0) d.push_back(row.delta_norm);
  }
  return d;
}

}  // namespace

TEST_CASE(
    "glorot 2010: at step 0, tanh deltas shrink toward the lower layers under glorot_standard, "
    "but stay about flat under glorot_uniform") {
  const Dataset data = gaussian_data(256, 200, 10);
  std::map<std::string, std::vector<double>> deltas;
  for (const std::string scheme : {"glorot_standard", "glorot_uniform"}) {
    RunConfig c;
    c.seed = 3;
    c.model.depth = 5;
    c.model.width = 1000;
    c.model.activation = Activation::parse("tanh");
    c.model.output = Output::kSoftmax;
    c.scheme = scheme;
    c.init.weights = Scheme::parse(scheme);
    c.train.steps = 0;
    c.probes.every = 1;
    deltas[scheme] = deltas_at_init(train(c, data));
    REQUIRE(deltas[scheme].size() == 7);
  }
  const auto& standard = deltas["glorot_standard"];
  const auto& normalized = deltas["glorot_uniform"];
  // Layer l's delta against the layer above it, over the hidden layers 1..5. (Measured here:
  // standard about 0.47-0.58 per layer, 12x from layer 5 down to layer 1; normalized 0.79-0.92.)
  for (std::size_t l = 1; l < 5; ++l) {
    CAPTURE(l);
    CHECK(standard[l] / standard[l + 1] < 0.65);
    CHECK(normalized[l] / normalized[l + 1] > 0.75);
    CHECK(normalized[l] / normalized[l + 1] < 1.33);
  }
  CHECK(standard[1] / standard[5] < 0.15);
  CHECK(normalized[1] / normalized[5] > 0.4);
}

TEST_CASE(
    "symmetry: zeros and constant init keep every hidden layer at one distinct neuron, "
    "for tanh and sigmoid, at every probed step, random schemes give width distinct neurons") {
  const Dataset data = make_circles(200, 50, 0.05, 1);
  for (const std::string act : {"tanh", "sigmoid"}) {
    for (const std::string scheme : {"zeros", "constant(value=0.5)", "glorot_uniform"}) {
      CAPTURE(act);
      CAPTURE(scheme);
      const RunRecord r = train(circles_run(scheme, act, 300), data);
      REQUIRE(r.rows<SymmetryRow>().size() == 31 * 2);  // steps 0, 10, ..., 300; two hidden layers
      const bool symmetric = scheme != "glorot_uniform";
      long moved = 0;
      for (const SymmetryRow& row : r.rows<SymmetryRow>()) {
        CAPTURE(row.step);
        CAPTURE(row.layer);
        CHECK(row.width == 8);
        CHECK(row.distinct_neurons == (symmetric ? 1 : 8));
        if (symmetric) CHECK(row.max_abs_cosine == doctest::Approx(1.0));
        moved += row.step > 0 && row.layer == 2 ? 1 : 0;
      }
      CHECK(moved > 0);
      if (symmetric) {
        // a network of identical neurons is no better than one neuron per layer: circles are not
        // separable by it, so accuracy stays near chance
        CHECK(r.run.final_train_acc < 0.7);
      }
    }
  }
}

TEST_CASE("relu with zeros: nothing but the output bias moves") {
  const Dataset data = make_circles(200, 50, 0.05, 1);
  const RunRecord r = train(circles_run("zeros", "relu", 200), data);
  for (const LayerRow& row : r.rows<LayerRow>()) {
    CAPTURE(row.step);
    CHECK(row.weight_norm == 0.0);
    CHECK(row.grad_w_norm == 0.0);
  }
  // the output bias learns the class prior: the loss is ln 2 on balanced circles, and stays there
  CHECK(r.run.final_train_loss == doctest::Approx(std::log(2.0)).epsilon(1e-6));
  CHECK(r.run.final_train_acc == doctest::Approx(0.5));
  CHECK(r.run.status == std::string("not_converged"));
}

TEST_CASE("divergence is caught at its step and what was recorded is kept") {
  const Dataset data = make_circles(200, 50, 0.05, 1);
  // MSE on the 0/1 labels with a step far too large: the error grows geometrically until it
  // overflows (float) to inf, then nan.
  RunConfig c = circles_run("he_normal", "tanh", 1000);
  c.train.optimizer.lr = 50;
  c.model.output = Output::kLinear;
  c.model.precision = Precision::kFloat;
  const RunRecord r = train(c, data);
  CHECK(r.run.status == std::string("diverged"));
  CHECK(r.run.steps_run < 1000);
  REQUIRE(!r.curves.empty());
  CHECK(r.curves.front().step == 0);
  CHECK(std::isfinite(r.curves.front().train_loss));
  CHECK(r.curves.back().step == r.run.steps_run);
  CHECK_FALSE(std::isfinite(r.run.final_train_loss));
  // the CSV says so in words pandas reads
  const std::string csv = runs_csv({r});
  CHECK(csv.find(",diverged,") != std::string::npos);
  CHECK((csv.find("nan") != std::string::npos || csv.find("inf") != std::string::npos));
}

TEST_CASE("update_ratio after the first SGD step is lr * ||dW|| / ||W|| of step 0") {
  const Dataset data = make_circles(200, 50, 0.05, 1);
  RunConfig c = circles_run("he_normal", "relu", 5);
  c.probes.every = 1;
  const RunRecord r = train(c, data);
  std::map<std::pair<long, long>, LayerRow> rows;
  for (const LayerRow& row : r.rows<LayerRow>()) rows[{row.step, row.layer}] = row;
  for (long l = 1; l <= 3; ++l) {
    CAPTURE(l);
    CHECK(std::isnan(rows[{0, l}].update_ratio));
    const double expected = 0.1 * rows[{0, l}].grad_w_norm / rows[{0, l}].weight_norm;
    CHECK(rows[{1, l}].update_ratio == doctest::Approx(expected).epsilon(1e-9));
  }
}

TEST_CASE(
    "steps_to_target is the first full-batch step whose loss reaches the target, stop_at_target") {
  const Dataset data = make_circles(200, 50, 0.05, 1);
  RunConfig c = circles_run("he_normal", "relu", 2000);
  c.train.eval_every = 1;
  c.train.target_loss = 0.3;
  RunRecord r = train(c, data);
  REQUIRE(r.run.steps_to_target > 0);
  CHECK(r.run.status == std::string("converged"));
  for (const CurveRow& row : r.curves) {
    if (row.step < r.run.steps_to_target) CHECK(row.train_loss > 0.3);
    if (row.step == r.run.steps_to_target) CHECK(row.train_loss <= 0.3);
  }
  c.train.stop_at_target = true;
  const RunRecord stopped = train(c, data);
  CHECK(stopped.run.steps_to_target == r.run.steps_to_target);
  CHECK(stopped.run.steps_run == r.run.steps_to_target);
}

TEST_CASE("a run whose loss does not move is reported as stalled, and stops only if asked") {
  const Dataset data = make_circles(200, 50, 0.05, 1);
  RunConfig c = circles_run("zeros", "tanh", 500);
  c.train.stall_window = 100;
  RunRecord r = train(c, data);
  CHECK(r.run.stall_step >= 100);
  CHECK(r.run.steps_run == 500);
  CHECK(r.run.status == std::string("not_converged"));
  c.train.stop_on_stall = true;
  r = train(c, data);
  CHECK(r.run.status == std::string("stalled"));
  CHECK(r.run.steps_run == r.run.stall_step);
  CHECK(r.run.steps_run < 500);
}

TEST_CASE("mini-batch training: same seed, same bytes, the probe batch is fixed") {
  const Dataset data = make_circles(300, 100, 0.05, 2);
  RunConfig c = circles_run("he_normal", "relu", 120);
  c.train.batch = 32;
  c.probes.batch = 100;
  c.probes.set("histograms", true);
  c.probes.set("jacobian", true);
  c.model.precision = Precision::kFloat;
  const RunRecord a = train(c, data);
  const RunRecord b = train(c, data);
  CHECK(curves_csv({a}) == curves_csv({b}));
  for (const Probe& probe : probe_registry()) {
    CAPTURE(probe.name);
    CHECK(probe.csv({a}) == probe.csv({b}));
  }
  CHECK(runs_csv({a}) == runs_csv({b}));
  // a different seed shuffles differently
  c.seed = 3;
  CHECK(curves_csv({train(c, data)}) != curves_csv({a}));
  // jacobian: 3 samples at step 0 and the last step, min(2, 1) = 1 singular value each
  CHECK(a.rows<JacobianRow>().size() == 2 * 3 * 1);
  CHECK(a.run.init_grad_ratio > 0);
}

TEST_CASE("a model that does not fit the data is rejected before training") {
  const Dataset data = make_circles(50, 10, 0.05, 1);
  RunConfig c = circles_run("he_normal", "relu", 1);
  c.model.layers = {3, 8, 1};
  CHECK_THROWS_WITH_AS(train(c, data), doctest::Contains("2 input features"),
                       std::invalid_argument);
}

TEST_CASE("cancellation stops a run") {
  const Dataset data = make_circles(50, 10, 0.05, 1);
  std::atomic<bool> cancel{true};
  CHECK_THROWS_AS(train(circles_run("he_normal", "relu", 100), data, &cancel), Cancelled);
}

TEST_CASE("probe schedules: each probe on its own steps, none on when nothing is asked") {
  ProbeConfig p;
  CHECK(!probe_schedules(p, 20).any());
  p.set("symmetry", true);
  p.set("symmetry_every", 5);  // without per-layer statistics
  const ProbeSchedules s = probe_schedules(p, 20);
  CHECK(s.any());
  CHECK(s.of("layers").empty());
  CHECK(s.of("symmetry") == std::set<long>{0, 5, 10, 15, 20});
  CHECK(s.any_at(15));
  CHECK(!s.any_at(16));
  p.every = 7;
  p.set("histograms", true);  // first and last step, as the figures draw them
  p.set("jacobian", true);    // first and last step
  const ProbeSchedules t = probe_schedules(p, 20);
  CHECK(t.of("layers") == std::set<long>{0, 7, 14, 20});
  CHECK(t.of("histograms") == std::set<long>{0, 20});
  CHECK(t.of("jacobian") == std::set<long>{0, 20});
  p.set("histogram_every", 7);  // or on a cadence of their own
  CHECK(probe_schedules(p, 20).of("histograms") == std::set<long>{0, 7, 14, 20});
}

TEST_CASE("a probe scheduled without per-layer statistics runs on its own probe batch") {
  // symmetry (or histograms, or the Jacobian) on a schedule of its own, with `every` off, and
  // a probe batch other than the training batch: once a segmentation fault (no probe workspace).
  const Dataset data = make_circles(100, 20, 0.05, 1);
  for (const Index train_batch : {Index{10}, Index{0}}) {
    for (const Index probe_batch : {Index{1024}, Index{50}}) {
      CAPTURE(train_batch);
      CAPTURE(probe_batch);
      RunConfig c = circles_run("he_normal", "relu", 20);
      c.model.layers = {2, 8, 1};
      c.train.batch = train_batch;
      c.probes = ProbeConfig{};
      c.probes.batch = probe_batch;
      c.probes.set("symmetry", true);
      c.probes.set("symmetry_every", 5);
      c.probes.set("histograms", true);
      c.probes.set("histogram_every", 10);
      c.probes.set("jacobian", true);
      const RunRecord r = train(c, data);
      CHECK(r.rows<LayerRow>().empty());
      std::set<long> sym, hist, jac;
      for (const SymmetryRow& row : r.rows<SymmetryRow>()) sym.insert(row.step);
      for (const HistogramRow& row : r.rows<HistogramRow>()) hist.insert(row.step);
      for (const JacobianRow& row : r.rows<JacobianRow>()) jac.insert(row.step);
      CHECK(sym == std::set<long>{0, 5, 10, 15, 20});
      CHECK(hist == std::set<long>{0, 10, 20});
      CHECK(jac == std::set<long>{0, 20});
      CHECK(std::isfinite(r.run.init_grad_ratio));
    }
  }
}

TEST_CASE("a full-batch run that stops at its target between evaluations is evaluated there") {
  const Dataset data = make_circles(100, 20, 0.05, 1);
  RunConfig c = circles_run("he_normal", "relu", 2000);
  c.train.eval_every = 1000;
  c.train.target_accuracy = 0.7;
  c.train.stop_at_target = true;
  const RunRecord r = train(c, data);
  REQUIRE(r.run.status == std::string("converged"));
  REQUIRE(r.run.steps_to_target > 0);
  CHECK(r.run.steps_to_target % 1000 != 0);  // between evaluations
  CHECK(r.curves.back().step == r.run.steps_to_target);
  CHECK(r.run.steps_run == r.run.steps_to_target);
  CHECK(r.run.final_train_acc >= 0.7);
}

TEST_CASE("residual nets train end to end: alpha_b learnable under rezero, fixed under he_normal") {
  // 4 blocks of 2 layers of width 16 on the circles; the stream probe at steps 0, 10, 20, 30.
  const Dataset data = make_circles(200, 50, 0.05, 2);
  auto run = [&](const std::string& scheme) {
    RunConfig c = circles_run(scheme, "relu", 30);
    c.model.layers.clear();
    c.model.residual = true;
    c.model.depth = 4;
    c.model.width = 16;
    c.train.batch = 32;
    c.probes.set("symmetry", false).set("stream", true);
    return train(c, data);
  };
  for (const char* scheme : {"he_normal", "rezero", "fixup"}) {
    CAPTURE(scheme);
    const RunRecord r = run(scheme);
    CHECK(r.run.status != "diverged");
    const auto& rows = r.rows<StreamRow>();
    REQUIRE(rows.size() == 4 * 5);  // 4 probe steps x blocks 0..4
    const RunRecord again = run(scheme);
    for (const Probe& probe : probe_registry()) CHECK(probe.csv({r}) == probe.csv({again}));
    for (const StreamRow& row : rows) {
      if (row.block == 0) continue;
      if (std::string(scheme) == "he_normal") {
        CHECK(row.alpha == 1.0);
      } else if (row.step == 0) {
        CHECK(row.alpha == (std::string(scheme) == "rezero" ? 0.0 : 1.0));
        CHECK(row.branch_rms == 0.0);  // rezero: alpha_b = 0; fixup: the branch's last layer 0
      }
    }
    if (std::string(scheme) != "he_normal") {
      // alpha_b moved by the last probe step
      CHECK(rows.back().step == 30);
      CHECK(rows.back().alpha != (std::string(scheme) == "rezero" ? 0.0 : 1.0));
    }
  }
}
