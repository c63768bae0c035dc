#include "initbench/diagnose.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>

#include "initbench/text.hpp"

namespace initbench {

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// The smallest and largest of the values added, nan ignored (0 and inf count: a ratio of 0 is
// a signal that vanished completely, inf one that came from nothing).
struct Range {
  double min = kNan;
  double max = kNan;
  void add(double x) {
    if (std::isnan(x)) return;
    min = std::isnan(min) ? x : std::min(min, x);
    max = std::isnan(max) ? x : std::max(max, x);
  }
  bool any() const { return !std::isnan(min); }
};

Verdict yes_no(bool yes) { return yes ? Verdict::kYes : Verdict::kNo; }

// A layers.csv step's rows by layer.
using StepLayers = std::map<long, const LayerRow*>;

std::map<long, StepLayers> layers_by_step(const std::vector<LayerRow>& rows) {
  std::map<long, StepLayers> out;
  for (const LayerRow& row : rows) out[row.step][row.layer] = &row;
  return out;
}

// RMS of dL/dz_l over units (the samples are the same at every layer, so they cancel in a ratio).
double delta_rms(const LayerRow& row) {
  return row.delta_norm / std::sqrt(static_cast<double>(std::max<long>(row.fan_out, 1)));
}

// ---------------------------------------------------------------------------------------------
// One rule per failure mode
// ---------------------------------------------------------------------------------------------

// Symmetric: some hidden layer has fewer distinct neurons than units at some probed step.
void rule_symmetric(const std::vector<SymmetryRow>* rows, Diagnosis& d) {
  if (rows == nullptr || rows->empty()) return;  // unknown
  bool seen = false;
  for (const SymmetryRow& row : *rows) {
    if (row.width <= 1) continue;
    const bool fewer = d.fewest_distinct < 0 || row.distinct_neurons * d.fewest_distinct_width <
                                                    d.fewest_distinct * row.width;
    if (fewer) {
      d.fewest_distinct = row.distinct_neurons;
      d.fewest_distinct_width = row.width;
    }
    seen = seen || row.distinct_neurons < row.width;
  }
  d.symmetric = yes_no(seen);
}

// Vanishing and exploding: at each probed step, the back-propagated signal's ratio between the
// first and the last hidden layer (RMS over units), and the weight-gradient ratio between the
// first and the output layer; at step 0 also runs.csv's init_grad_ratio (measured whether or not
// the layers probe ran). Beyond a factor kGradientFactor either way: vanishing or exploding.
void rule_gradients(const RunRow& run, const std::vector<LayerRow>* rows, Diagnosis& d) {
  if (run.depth < 1) {
    d.vanishing = d.exploding = Verdict::kNotApplicable;
    return;
  }
  Range signal, grad;
  grad.add(run.init_grad_ratio);
  const bool probed = rows != nullptr && !rows->empty();
  if (probed) {
    for (const auto& [step, layers] : layers_by_step(*rows)) {
      const long L = layers.rbegin()->first;  // the output layer
      const auto first = layers.find(1);
      const auto last_hidden = layers.find(L - 1);
      if (first == layers.end()) continue;
      if (L >= 3 && last_hidden != layers.end())
        signal.add(delta_rms(*first->second) / delta_rms(*last_hidden->second));
      grad.add(first->second->grad_w_norm / layers.at(L)->grad_w_norm);
    }
  }
  d.signal_ratio_min = signal.min;
  d.signal_ratio_max = signal.max;
  d.grad_ratio_min = grad.min;
  d.grad_ratio_max = grad.max;
  const double k = diagnosis::kGradientFactor;
  const bool vanishing = (signal.any() && signal.min < 1 / k) || (grad.any() && grad.min < 1 / k);
  const bool exploding = (signal.any() && signal.max > k) || (grad.any() && grad.max > k);
  // Without the layers probe only init_grad_ratio is known: it can show a failure, but in a
  // ReLU network it stays near 1 at any scale (docs/diagnosis.md), so its silence proves nothing.
  const bool measured = probed && (signal.any() || grad.any());
  d.vanishing = vanishing ? Verdict::kYes : measured ? Verdict::kNo : Verdict::kUnknown;
  d.exploding = exploding ? Verdict::kYes : measured ? Verdict::kNo : Verdict::kUnknown;
}

// Saturated and dead: the largest share of a hidden layer, saturated at the first probed step
// (step 0), dead at any probed step (a dead unit gets no gradient: it stays dead, whereas units
// a network drives into saturation while it learns are its confidence, not its start's fault);
// n/a when no hidden layer reports the share (the activation has no saturation, or is not ReLU).
void rule_units(const std::vector<LayerRow>* rows, Diagnosis& d) {
  if (rows == nullptr || rows->empty()) return;  // unknown
  Range saturated, dead;
  const auto steps = layers_by_step(*rows);
  for (const auto& [step, layers] : steps) {
    const long L = layers.rbegin()->first;
    for (const auto& [l, row] : layers) {
      if (l == L) continue;  // the output layer has neither
      if (step == steps.begin()->first && std::isfinite(row->saturated_frac))
        saturated.add(row->saturated_frac);
      if (std::isfinite(row->dead_frac)) dead.add(row->dead_frac);
    }
  }
  d.saturated_max = saturated.max;
  d.dead_max = dead.max;
  d.saturated = saturated.any() ? yes_no(saturated.max > diagnosis::kSaturatedShare)
                                : Verdict::kNotApplicable;
  d.dead = dead.any() ? yes_no(dead.max > diagnosis::kDeadShare) : Verdict::kNotApplicable;
}

// Phase: chi_1 of the initialization, and whether the network is deep enough to feel it.
void rule_phase(const RunRow& run, Diagnosis& d) {
  if (run.depth < 1 || std::isnan(run.chi_1)) return;  // n/a
  const double depth_scales =
      static_cast<double>(run.depth) * std::abs(std::log(std::max(run.chi_1, 0.0)));
  if (depth_scales <= diagnosis::kDepthScales) {
    d.phase = Phase::kCritical;
  } else {
    d.phase = run.chi_1 < 1 ? Phase::kOrdered : Phase::kChaotic;
  }
}

// Stalled and diverged: the training loss at step 0, its lowest later value and its last.
void rule_loss(const RunRow& run, const std::vector<CurveRow>* curves, Diagnosis& d) {
  const bool status_diverged = run.status == status_name(Status::kDiverged);
  if (curves == nullptr || curves->empty()) {
    if (status_diverged) d.diverged = Verdict::kYes;  // else unknown, and stalled unknown
    return;
  }
  const double tol = diagnosis::kLossTolerance;
  d.loss_start = curves->front().train_loss;
  d.loss_end = curves->back().train_loss;
  Range later;
  for (std::size_t i = 1; i < curves->size(); ++i) {
    if (std::isfinite((*curves)[i].train_loss)) later.add((*curves)[i].train_loss);
  }
  d.loss_best = later.min;
  const bool diverged =
      status_diverged || !std::isfinite(d.loss_end) || d.loss_end > (1 + tol) * d.loss_start;
  d.diverged = yes_no(diverged);
  if (diverged) {
    d.stalled = Verdict::kNo;  // a diverged run is not also called stalled
  } else if (curves->size() < 2) {
    d.stalled = Verdict::kUnknown;  // no step after 0
  } else {
    d.stalled = yes_no(!later.any() || later.min >= (1 - tol) * d.loss_start);
  }
}

}  // namespace

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kNo: return "no";
    case Verdict::kYes: return "yes";
    case Verdict::kUnknown: return "unknown";
    case Verdict::kNotApplicable: return "n/a";
  }
  return "unknown";
}

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::kOrdered: return "ordered";
    case Phase::kCritical: return "critical";
    case Phase::kChaotic: return "chaotic";
    case Phase::kNotApplicable: return "n/a";
  }
  return "n/a";
}

Diagnosis::Diagnosis()
    : signal_ratio_min(kNan),
      signal_ratio_max(kNan),
      grad_ratio_min(kNan),
      grad_ratio_max(kNan),
      saturated_max(kNan),
      dead_max(kNan),
      loss_start(kNan),
      loss_best(kNan),
      loss_end(kNan) {}

std::string Diagnosis::summary() const {
  std::vector<std::string> failures;
  int unknown = 0;
  auto add = [&](const char* name, Verdict v) {
    if (v == Verdict::kYes) failures.emplace_back(name);
    if (v == Verdict::kUnknown) ++unknown;
  };
  add("symmetric", symmetric);
  add("vanishing", vanishing);
  add("exploding", exploding);
  add("saturated", saturated);
  add("dead", dead);
  if (phase == Phase::kOrdered || phase == Phase::kChaotic)
    failures.emplace_back(phase_name(phase));
  add("stalled", stalled);
  add("diverged", diverged);
  if (!failures.empty()) return join(failures, "+");
  return unknown == 0 ? "ok" : fmt::format("ok ({} unknown)", unknown);
}

Diagnosis diagnose(const DiagnosisInput& in) {
  if (in.run == nullptr) throw std::invalid_argument("diagnose: no run row");
  Diagnosis d;
  rule_symmetric(in.symmetry, d);
  rule_gradients(*in.run, in.layers, d);
  rule_units(in.layers, d);
  rule_phase(*in.run, d);
  rule_loss(*in.run, in.curves, d);
  return d;
}

Diagnosis diagnose(const RunRecord& record) {
  return diagnose(DiagnosisInput{&record.run, &record.curves, &record.rows<LayerRow>(),
                                 &record.rows<SymmetryRow>()});
}

void set_verdicts(const Diagnosis& d, RunRow& row) {
  row.symmetric = verdict_name(d.symmetric);
  row.vanishing = verdict_name(d.vanishing);
  row.exploding = verdict_name(d.exploding);
  row.saturated = verdict_name(d.saturated);
  row.dead = verdict_name(d.dead);
  row.phase = phase_name(d.phase);
  row.stalled = verdict_name(d.stalled);
  row.diverged = verdict_name(d.diverged);
  row.verdict = d.summary();
}

}  // namespace initbench
