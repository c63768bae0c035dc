// diagnose.hpp: verdicts on a run, read from what it recorded.
//
// After training, each failure mode of an initialization gets a verdict from the run's own rows:
// symmetric (symmetry.csv), vanishing and exploding (layers.csv's back-propagated signal and
// weight gradients, runs.csv's init_grad_ratio), saturated and dead units (layers.csv), the
// mean-field phase (runs.csv's chi_1), stalled and diverged training (curves.csv, status). A
// verdict needs the rows it reads: with its probe off it is "unknown", never a guess. Every rule
// and threshold is here, in one place; docs/diagnosis.md states each with its source.
//
// The same rules serve a run in memory (the trainer fills runs.csv's verdict columns) and an
// experiment folder read back from its CSV files (report.hpp: diagnose_folder, for
// `initbench diagnose`).
#pragma once

#include <string>
#include <vector>

#include "initbench/rows.hpp"

namespace initbench {

// ---------------------------------------------------------------------------------------------
// Thresholds (docs/diagnosis.md gives the reasoning for each)
// ---------------------------------------------------------------------------------------------

namespace diagnosis {
// Vanishing / exploding: the back-propagated signal (RMS of dL/dz) from the last hidden layer to
// the first, or the weight gradient ||dL/dW_1|| / ||dL/dW_L||, changes by more than this factor
// (two decades) at some probed step.
inline constexpr double kGradientFactor = 100.0;
// Saturated: more than this share of a hidden layer's activation entries lie beyond the layers
// probe's saturation threshold (tanh |a| > 0.99, sigmoid a < 0.01 or a > 0.99, softsign
// |a| > 0.9) at the first probed step (step 0: the initialization's saturation).
inline constexpr double kSaturatedShare = 0.1;
// Dead: more than this share of a ReLU hidden layer's units output 0 on every probe sample at
// some probed step (half-dead layers are normal in deep ReLU nets: see docs/diagnosis.md).
inline constexpr double kDeadShare = 0.75;
// Phase: ordered or chaotic when the network is deeper than this many gradient depth scales
// xi = 1 / |ln chi_1| (Schoenholz et al. 2017: trainable up to about 6 depth scales); critical
// otherwise.
inline constexpr double kDepthScales = 6.0;
// Stalled: the training loss never fell below (1 - this) times its step-0 value. Diverged: it
// ended above (1 + this) times its step-0 value (or the status is diverged).
inline constexpr double kLossTolerance = 0.01;
}  // namespace diagnosis

// ---------------------------------------------------------------------------------------------
// Verdicts
// ---------------------------------------------------------------------------------------------

// yes: the failure is seen; no: the rows that would show it were recorded and do not; unknown:
// they were not recorded (the probe was off, or the file is absent); n/a: the mode does not
// apply to this network (saturation without a saturating activation, dead units without ReLU).
enum class Verdict { kNo, kYes, kUnknown, kNotApplicable };
const char* verdict_name(Verdict v);  // "no", "yes", "unknown", "n/a"

// The mean-field phase at the run's initialization (runs.csv's chi_1 and depth).
enum class Phase { kOrdered, kCritical, kChaotic, kNotApplicable };
const char* phase_name(Phase p);  // "ordered", "critical", "chaotic", "n/a"

struct Diagnosis {
  Verdict symmetric = Verdict::kUnknown;
  Verdict vanishing = Verdict::kUnknown;
  Verdict exploding = Verdict::kUnknown;
  Verdict saturated = Verdict::kUnknown;
  Verdict dead = Verdict::kUnknown;
  Phase phase = Phase::kNotApplicable;
  Verdict stalled = Verdict::kUnknown;
  Verdict diverged = Verdict::kUnknown;

  // The evidence (nan or -1 where not measured): the fewest distinct neurons of a hidden layer
  // and its width; the smallest and largest signal ratio rms(dL/dz_1) / rms(dL/dz_{L-1}) and
  // weight-gradient ratio ||dL/dW_1|| / ||dL/dW_L|| over the probed steps; the largest saturated
  // share of a hidden layer at step 0 and the largest dead share at any step; the loss at step 0,
  // its lowest later value, its last.
  long fewest_distinct = -1;
  long fewest_distinct_width = -1;
  double signal_ratio_min, signal_ratio_max;
  double grad_ratio_min, grad_ratio_max;
  double saturated_max, dead_max;
  double loss_start, loss_best, loss_end;

  Diagnosis();
  // The failures seen, joined by '+' ("symmetric+dead+stalled"), the phase when ordered or
  // chaotic; "ok" when none, "ok (N unknown)" when none but N verdicts are unknown.
  std::string summary() const;
};

// The rows a diagnosis reads: the run's row (depth, status, init_grad_ratio, chi_1) and its
// curves, layers and symmetry rows. No rows (a probe that was off) or nullptr (its file absent
// from a folder read back) makes the verdicts that read them unknown.
struct DiagnosisInput {
  const RunRow* run = nullptr;
  const std::vector<CurveRow>* curves = nullptr;
  const std::vector<LayerRow>* layers = nullptr;
  const std::vector<SymmetryRow>* symmetry = nullptr;
};

Diagnosis diagnose(const DiagnosisInput& in);
Diagnosis diagnose(const RunRecord& record);

// Writes the verdicts into runs.csv's columns (RunRow's symmetric ... verdict).
void set_verdicts(const Diagnosis& d, RunRow& row);

}  // namespace initbench
