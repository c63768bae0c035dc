// diagnose.hpp: each rule on hand-made rows, one case that triggers it and one that does not;
// and an experiment folder read back from its CSV files gives the verdicts the run computed.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "initbench/diagnose.hpp"
#include "initbench/io.hpp"
#include "initbench/report.hpp"
#include "initbench/runner.hpp"
#include "initbench/spec.hpp"

using namespace initbench;

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// A run of `depth` hidden layers of `width` units (output layer of 10), status not_converged,
// init_grad_ratio 1, chi_1 1, a loss curve that falls from 2.3 to 1.0; no probe rows.
RunRecord record(long depth = 5, long width = 32) {
  RunRecord r;
  r.run.depth = depth;
  r.run.width = width;
  r.run.status = "not_converged";
  r.run.init_grad_ratio = 1.0;
  r.run.chi_1 = 1.0;
  r.curves = {
      {0, 0, 2.3, 0.1, 2.3, 0.1}, {0, 100, 1.5, 0.5, 1.6, 0.5}, {0, 200, 1.0, 0.7, 1.1, 0.7}};
  return r;
}

// layers.csv rows at one step: every hidden layer's back-propagated signal has RMS
// first_rms * gain^(L-1-l)... given by `rms(l)`, weight gradients 1, saturated and dead shares
// as given (nan: the probe reports none for this activation).
template <typename Rms>
void add_layers(RunRecord& r, long step, Rms rms, double saturated = kNan, double dead = kNan,
                double grad_first = 1.0) {
  const long L = r.run.depth + 1;
  for (long l = 1; l <= L; ++l) {
    LayerRow row;
    row.step = step;
    row.layer = l;
    row.fan_out = l == L ? 10 : r.run.width;
    row.delta_norm = rms(l) * std::sqrt(static_cast<double>(row.fan_out));
    row.grad_w_norm = l == 1 ? grad_first : 1.0;
    row.saturated_frac = l == L ? kNan : saturated;
    row.dead_frac = l == L ? kNan : dead;
    r.rows<LayerRow>().push_back(row);
  }
}

// The same signal RMS (1) in every layer.
void add_flat_layers(RunRecord& r, long step, double saturated = kNan, double dead = kNan) {
  add_layers(
      r, step, [](long) { return 1.0; }, saturated, dead);
}

void add_symmetry(RunRecord& r, long step, long distinct) {
  for (long l = 1; l <= r.run.depth; ++l) {
    SymmetryRow row;
    row.step = step;
    row.layer = l;
    row.width = r.run.width;
    row.distinct_neurons = l == 1 ? distinct : r.run.width;
    r.rows<SymmetryRow>().push_back(row);
  }
}

}  // namespace

TEST_CASE("diagnose: symmetric when a hidden layer has fewer distinct neurons than units") {
  RunRecord r = record();
  CHECK(diagnose(r).symmetric == Verdict::kUnknown);  // no symmetry probe
  add_symmetry(r, 0, 32);
  add_symmetry(r, 100, 32);
  Diagnosis d = diagnose(r);
  CHECK(d.symmetric == Verdict::kNo);
  CHECK(d.fewest_distinct == 32);
  add_symmetry(r, 200, 31);  // one pair tied, at a later step
  d = diagnose(r);
  CHECK(d.symmetric == Verdict::kYes);
  CHECK(d.fewest_distinct == 31);
  CHECK(d.fewest_distinct_width == 32);
  // A layer of one unit is never symmetric.
  RunRecord one = record(2, 1);
  add_symmetry(one, 0, 1);
  CHECK(diagnose(one).symmetric == Verdict::kNo);
}

TEST_CASE("diagnose: vanishing below 1/100 of the signal or the weight gradient and no above") {
  RunRecord r = record();
  CHECK(diagnose(r).vanishing == Verdict::kUnknown);  // layers probe off, init_grad_ratio 1
  // The signal shrinks by 0.5 per layer toward the input: over the 4 hops between hidden
  // layers 4 and 1, 1/16: not vanishing.
  add_layers(r, 0, [](long l) { return std::pow(0.5, 5 - l); });
  Diagnosis d = diagnose(r);
  CHECK(d.signal_ratio_min == doctest::Approx(1.0 / 16));
  CHECK(d.vanishing == Verdict::kNo);
  CHECK(d.exploding == Verdict::kNo);
  // A later step where it shrinks by 0.25 per layer: 1/256 < 1/100.
  add_layers(r, 100, [](long l) { return std::pow(0.25, 5 - l); });
  d = diagnose(r);
  CHECK(d.signal_ratio_min == doctest::Approx(1.0 / 256));
  CHECK(d.vanishing == Verdict::kYes);
  CHECK(d.exploding == Verdict::kNo);
  // The weight-gradient ratio alone, without the layers probe, can show it.
  RunRecord g = record();
  g.run.init_grad_ratio = 1e-3;
  CHECK(diagnose(g).vanishing == Verdict::kYes);
  CHECK(diagnose(g).exploding == Verdict::kUnknown);
  // A signal of exactly 0 in the first layer (all its units dead) has vanished.
  RunRecord z = record();
  add_layers(z, 0, [](long l) { return l == 1 ? 0.0 : 1.0; });
  CHECK(diagnose(z).vanishing == Verdict::kYes);
  // No hidden layer: does not apply.
  RunRecord none = record(0);
  CHECK(diagnose(none).vanishing == Verdict::kNotApplicable);
  CHECK(diagnose(none).exploding == Verdict::kNotApplicable);
}

TEST_CASE("diagnose: exploding above 100 times the signal or the weight gradient and no below") {
  RunRecord r = record();
  add_layers(r, 0, [](long l) { return std::pow(2.0, 5 - l); });  // x16 over 4 hops
  Diagnosis d = diagnose(r);
  CHECK(d.signal_ratio_max == doctest::Approx(16.0));
  CHECK(d.exploding == Verdict::kNo);
  // The weight-gradient ratio ||dL/dW_1|| / ||dL/dW_L|| at a later step: 1000.
  add_layers(
      r, 100, [](long) { return 1.0; }, kNan, kNan, 1000.0);
  d = diagnose(r);
  CHECK(d.grad_ratio_max == doctest::Approx(1000.0));
  CHECK(d.exploding == Verdict::kYes);
  CHECK(d.vanishing == Verdict::kNo);
  // Exactly the factor is not beyond it.
  RunRecord edge = record();
  add_layers(
      edge, 0, [](long) { return 1.0; }, kNan, kNan, diagnosis::kGradientFactor);
  CHECK(diagnose(edge).exploding == Verdict::kNo);
}

TEST_CASE(
    "diagnose: saturated above a tenth of a hidden layer's entries at step 0 and n/a without the "
    "share") {
  RunRecord r = record();
  CHECK(diagnose(r).saturated == Verdict::kUnknown);
  add_flat_layers(r, 0, 0.05);
  CHECK(diagnose(r).saturated == Verdict::kNo);
  add_flat_layers(r, 100, 0.3);  // saturation training brings is not the start's
  CHECK(diagnose(r).saturated == Verdict::kNo);
  RunRecord start = record();
  add_flat_layers(start, 0, 0.3);
  CHECK(diagnose(start).saturated == Verdict::kYes);
  CHECK(diagnose(start).saturated_max == doctest::Approx(0.3));
  RunRecord relu = record();
  add_flat_layers(relu, 0, kNan, 0.0);
  CHECK(diagnose(relu).saturated == Verdict::kNotApplicable);
}

TEST_CASE(
    "diagnose: dead above three quarters of a ReLU layer's units and n/a for other activations") {
  RunRecord r = record();
  CHECK(diagnose(r).dead == Verdict::kUnknown);
  add_flat_layers(r, 0, kNan, 0.5);  // half dead: normal in a deep ReLU net
  CHECK(diagnose(r).dead == Verdict::kNo);
  add_flat_layers(r, 100, kNan, 0.8);  // 4 of 5, at a later step
  CHECK(diagnose(r).dead == Verdict::kYes);
  CHECK(diagnose(r).dead_max == doctest::Approx(0.8));
  RunRecord tanh = record();
  add_flat_layers(tanh, 0, 0.0, kNan);
  CHECK(diagnose(tanh).dead == Verdict::kNotApplicable);
}

TEST_CASE("diagnose: the phase is ordered or chaotic beyond 6 depth scales 1 / |ln chi_1|") {
  auto phase = [](double chi_1, long depth) {
    RunRecord r = record(depth);
    r.run.chi_1 = chi_1;
    return diagnose(r).phase;
  };
  CHECK(phase(1.0, 100) == Phase::kCritical);
  CHECK(phase(0.5, 20) == Phase::kOrdered);  // 20 ln 2 = 13.9 > 6
  CHECK(phase(0.5, 8) == Phase::kCritical);  // 8 ln 2 = 5.5
  CHECK(phase(2.0, 20) == Phase::kChaotic);
  CHECK(phase(2.0, 8) == Phase::kCritical);
  CHECK(phase(0.0, 2) == Phase::kOrdered);  // zero weights
  CHECK(phase(std::numeric_limits<double>::infinity(), 2) == Phase::kChaotic);
  CHECK(phase(kNan, 20) == Phase::kNotApplicable);  // lsuv, residual nets
  CHECK(phase(0.5, 0) == Phase::kNotApplicable);
}

TEST_CASE("diagnose: stalled when the training loss never falls 1% below its start") {
  RunRecord r = record();
  CHECK(diagnose(r).stalled == Verdict::kNo);
  r.curves = {{0, 0, 2.3026, 0.1, 2.3, 0.1},
              {0, 100, 2.3, 0.1, 2.3, 0.1},
              {0, 200, 2.29, 0.1, 2.3, 0.1}};  // 0.55% below at best
  CHECK(diagnose(r).stalled == Verdict::kYes);
  CHECK(diagnose(r).diverged == Verdict::kNo);
  CHECK(diagnose(r).loss_best == doctest::Approx(2.29));
  r.curves.resize(1);  // step 0 only
  CHECK(diagnose(r).stalled == Verdict::kUnknown);
  RunRecord none = record();
  none.curves.clear();
  CHECK(diagnose(none).stalled == Verdict::kUnknown);
  CHECK(diagnose(none).diverged == Verdict::kUnknown);
}

TEST_CASE("diagnose: diverged when the status says so or the loss ends 1% above its start") {
  RunRecord r = record();
  CHECK(diagnose(r).diverged == Verdict::kNo);
  RunRecord up = record();
  up.curves.back().train_loss = 2.5;
  CHECK(diagnose(up).diverged == Verdict::kYes);
  CHECK(diagnose(up).stalled == Verdict::kNo);  // not both
  RunRecord nan = record();
  nan.run.status = "diverged";
  nan.curves.back().train_loss = kNan;
  CHECK(diagnose(nan).diverged == Verdict::kYes);
  // Without curves, only the status can tell.
  nan.curves.clear();
  CHECK(diagnose(nan).diverged == Verdict::kYes);
}

TEST_CASE("diagnose: the summary names the failures or says ok with the unknown count") {
  RunRecord r = record();
  add_flat_layers(r, 0, kNan, 0.0);
  add_symmetry(r, 0, 32);
  CHECK(diagnose(r).summary() == "ok");
  RunRecord unknown = record();  // no probes: symmetric, vanishing, exploding, saturated, dead
  CHECK(diagnose(unknown).summary() == "ok (5 unknown)");
  RunRecord bad = record(20);
  bad.run.chi_1 = 0.0;
  bad.curves = {{0, 0, 0.6931, 0.5, 0.6931, 0.5}, {0, 100, 0.6931, 0.5, 0.6931, 0.5}};
  add_flat_layers(bad, 0, kNan, 1.0);
  add_symmetry(bad, 0, 1);
  CHECK(diagnose(bad).summary() == "symmetric+dead+ordered+stalled");
  set_verdicts(diagnose(bad), bad.run);
  CHECK(bad.run.symmetric == "yes");
  CHECK(bad.run.saturated == "n/a");
  CHECK(bad.run.phase == "ordered");
  CHECK(bad.run.verdict == "symmetric+dead+ordered+stalled");
}

TEST_CASE("diagnose: a folder read back from its CSV files gives the verdicts of the run") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "initbench_test_diagnose";
  fs::remove_all(dir);
  // Zeros (symmetric, stalled) against He on a small tanh and a small ReLU net.
  const Experiment e = parse_experiment(R"(name = "diag"
seed = 1
[data]
kind = "circles"
train = 64
test = 0
[model]
depth = 3
width = 8
activation = ["relu", "tanh"]
[init]
scheme = ["zeros", "he_normal"]
[train]
lr = 0.1
steps = 50
[probes]
every = 25
symmetry = true
)",
                                        "test");
  RunnerOptions memory;
  memory.out_dir = "";
  const RunnerResult result = run_experiment(e, memory);  // the records, in memory
  RunnerOptions options;
  options.out_dir = dir.string();
  const std::string folder = run_experiment(e, options).folder;
  const FolderDiagnosis from_columns = diagnose_folder(folder);
  CHECK(from_columns.from_columns);
  REQUIRE(from_columns.runs.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(from_columns.runs[i].verdict == result.records[i].run.verdict);
    CHECK(from_columns.runs[i].symmetric ==
          (result.records[i].run.scheme == "zeros" ? "yes" : "no"));
  }
  CHECK(from_columns.axes == std::vector<std::string>{"model.activation", "init.scheme"});

  // runs.csv as written before the verdict columns: recomputed from the files, the same.
  const CsvTable runs = read_csv(folder + "/runs.csv");
  const std::size_t first = runs.column("symmetric");
  const std::size_t last = runs.column("verdict");
  auto without = [&](const std::vector<std::string>& fields) {
    std::vector<std::string> kept(fields.begin(), fields.begin() + static_cast<long>(first));
    kept.insert(kept.end(), fields.begin() + static_cast<long>(last) + 1, fields.end());
    std::string line;
    for (const std::string& f : kept) {
      if (!line.empty()) line += ',';
      line += csv_escape(f);
    }
    return line + "\n";
  };
  std::string old = without(runs.columns);
  for (const auto& row : runs.rows) old += without(row);
  write_file_atomic(folder + "/runs.csv", old);
  const FolderDiagnosis recomputed = diagnose_folder(folder);
  CHECK_FALSE(recomputed.from_columns);
  CHECK(recomputed.absent.empty());
  REQUIRE(recomputed.runs.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    CAPTURE(i);
    CHECK(recomputed.runs[i].verdict == from_columns.runs[i].verdict);
    CHECK(recomputed.runs[i].vanishing == from_columns.runs[i].vanishing);
    CHECK(recomputed.runs[i].dead == from_columns.runs[i].dead);
    CHECK(recomputed.runs[i].phase == from_columns.runs[i].phase);
  }
  CHECK(recomputed.axes == from_columns.axes);
  const std::string table = diagnosis_table(recomputed);
  CHECK(table.find("symmetric+") != std::string::npos);

  // Without layers.csv its verdicts are unknown, and the folder says which file it missed.
  fs::remove(fs::path(folder) / "layers.csv");
  const FolderDiagnosis partial = diagnose_folder(folder);
  REQUIRE(partial.absent.size() == 1);
  CHECK(partial.absent[0].starts_with("layers.csv"));
  for (const auto& run : partial.runs) {
    CHECK(run.saturated == "unknown");
    CHECK(run.dead == "unknown");
  }
  // Without runs.csv: one error naming it.
  fs::remove(fs::path(folder) / "runs.csv");
  CHECK_THROWS_WITH(diagnose_folder(folder), doctest::Contains("runs.csv: not found"));
  CHECK_THROWS_WITH(diagnose_folder((dir / "nowhere").string()), doctest::Contains("not a folder"));
  fs::remove_all(dir);
}
