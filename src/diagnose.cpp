#include "initbench/diagnose.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <stdexcept>

#include "initbench/report.hpp"
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

// ---------------------------------------------------------------------------------------------
// An experiment folder read back
// ---------------------------------------------------------------------------------------------

namespace {

namespace fs = std::filesystem;

// A table's cells as numbers, with the file, line and column in any error.
class Cells {
 public:
  Cells(const CsvTable& table, std::size_t row) : table_(table), row_(row) {}
  const std::string& text(std::string_view column) const {
    return table_.rows[row_][table_.column(column)];
  }
  double number(std::string_view column) const {
    const std::string& cell = text(column);
    const std::optional<double> value = parse_double(cell);
    if (!value) {
      throw std::runtime_error(fmt::format("{}:{}: column {}: '{}' is not a number", table_.source,
                                           row_ + 2, column, cell));
    }
    return *value;
  }
  long integer(std::string_view column) const { return std::lround(number(column)); }

 private:
  const CsvTable& table_;
  std::size_t row_;
};

template <typename Row, typename Fill>
std::map<long, std::vector<Row>> rows_by_run(const CsvTable& table, Fill fill) {
  std::map<long, std::vector<Row>> out;
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    const Cells c(table, i);
    Row row;
    row.run_id = c.integer("run_id");
    fill(c, row);
    out[row.run_id].push_back(row);
  }
  return out;
}

const std::vector<std::string>& verdict_columns() {
  static const std::vector<std::string> columns = {"symmetric", "vanishing", "exploding",
                                                   "saturated", "dead",      "phase",
                                                   "stalled",   "diverged",  "verdict"};
  return columns;
}

}  // namespace

FolderDiagnosis diagnose_folder(const std::string& folder) {
  const fs::path dir(folder);
  const std::string runs_path = (dir / kRunsCsv).string();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw std::runtime_error(fmt::format("{}: not a folder", folder));
  if (!fs::is_regular_file(runs_path, ec)) {
    throw std::runtime_error(fmt::format(
        "{}: not found (an experiment folder, as initbench run writes it, has one)", runs_path));
  }
  const CsvTable runs = read_csv(runs_path);
  FolderDiagnosis out;
  const auto has = [&](const std::string& name) {
    return std::find(runs.columns.begin(), runs.columns.end(), name) != runs.columns.end();
  };
  out.from_columns = has("verdict");
  // The grid axes follow the last fixed column: verdict, or gain in a folder written before the
  // verdict columns existed.
  const std::size_t last_fixed = runs.column(out.from_columns ? "verdict" : "gain");
  out.axes.assign(runs.columns.begin() + static_cast<long>(last_fixed) + 1, runs.columns.end());

  std::map<long, std::vector<CurveRow>> curves;
  std::map<long, std::vector<LayerRow>> layers;
  std::map<long, std::vector<SymmetryRow>> symmetry;
  bool have_curves = false, have_layers = false, have_symmetry = false;
  if (!out.from_columns) {
    const auto present = [&](const char* name, const char* verdicts) {
      if (fs::is_regular_file(dir / name, ec)) return true;
      out.absent.push_back(fmt::format("{} ({} unknown)", name, verdicts));
      return false;
    };
    if ((have_curves = present(kCurvesCsv, "stalled and diverged"))) {
      curves = rows_by_run<CurveRow>(read_csv((dir / kCurvesCsv).string()),
                                     [](const Cells& c, CurveRow& r) {
                                       r.step = c.integer("step");
                                       r.train_loss = c.number("train_loss");
                                     });
    }
    if ((have_layers = present("layers.csv", "vanishing, exploding, saturated and dead"))) {
      layers = rows_by_run<LayerRow>(read_csv((dir / "layers.csv").string()),
                                     [](const Cells& c, LayerRow& r) {
                                       r.step = c.integer("step");
                                       r.layer = c.integer("layer");
                                       r.fan_out = c.integer("fan_out");
                                       r.saturated_frac = c.number("saturated_frac");
                                       r.dead_frac = c.number("dead_frac");
                                       r.delta_norm = c.number("delta_norm");
                                       r.grad_w_norm = c.number("grad_w_norm");
                                     });
    }
    if ((have_symmetry = present("symmetry.csv", "symmetric"))) {
      symmetry = rows_by_run<SymmetryRow>(read_csv((dir / "symmetry.csv").string()),
                                          [](const Cells& c, SymmetryRow& r) {
                                            r.step = c.integer("step");
                                            r.layer = c.integer("layer");
                                            r.width = c.integer("width");
                                            r.distinct_neurons = c.integer("distinct_neurons");
                                          });
    }
  }

  for (std::size_t i = 0; i < runs.rows.size(); ++i) {
    const Cells c(runs, i);
    FolderDiagnosis::Run run;
    run.run_id = c.integer("run_id");
    run.scheme = c.text("scheme");
    run.seed = c.integer("seed");
    for (const std::string& axis : out.axes) run.axis_values.push_back(c.text(axis));
    RunRow row;
    if (out.from_columns) {
      row.symmetric = c.text("symmetric");
      row.vanishing = c.text("vanishing");
      row.exploding = c.text("exploding");
      row.saturated = c.text("saturated");
      row.dead = c.text("dead");
      row.phase = c.text("phase");
      row.stalled = c.text("stalled");
      row.diverged = c.text("diverged");
      row.verdict = c.text("verdict");
    } else {
      row.run_id = run.run_id;
      row.depth = c.integer("depth");
      row.status = c.text("status");
      row.init_grad_ratio = c.number("init_grad_ratio");
      row.chi_1 = c.number("chi_1");
      static const std::vector<CurveRow> no_curves;
      static const std::vector<LayerRow> no_layers;
      static const std::vector<SymmetryRow> no_symmetry;
      auto rows_of = [&](const auto& by_run, const auto& none) {
        const auto it = by_run.find(run.run_id);
        return it == by_run.end() ? &none : &it->second;
      };
      const Diagnosis d =
          diagnose(DiagnosisInput{&row, have_curves ? rows_of(curves, no_curves) : nullptr,
                                  have_layers ? rows_of(layers, no_layers) : nullptr,
                                  have_symmetry ? rows_of(symmetry, no_symmetry) : nullptr});
      set_verdicts(d, row);
    }
    run.symmetric = row.symmetric;
    run.vanishing = row.vanishing;
    run.exploding = row.exploding;
    run.saturated = row.saturated;
    run.dead = row.dead;
    run.phase = row.phase;
    run.stalled = row.stalled;
    run.diverged = row.diverged;
    run.verdict = row.verdict;
    out.runs.push_back(std::move(run));
  }
  return out;
}

std::string diagnosis_table(const FolderDiagnosis& d) {
  std::vector<std::string> header{"run"};
  header.insert(header.end(), d.axes.begin(), d.axes.end());
  if (d.axes.empty()) header.emplace_back("scheme");
  header.emplace_back("seed");
  header.insert(header.end(), verdict_columns().begin(), verdict_columns().end());
  std::vector<std::vector<std::string>> rows;
  for (const FolderDiagnosis::Run& r : d.runs) {
    std::vector<std::string> row{std::to_string(r.run_id)};
    row.insert(row.end(), r.axis_values.begin(), r.axis_values.end());
    if (d.axes.empty()) row.push_back(r.scheme);
    row.push_back(std::to_string(r.seed));
    row.insert(row.end(), {r.symmetric, r.vanishing, r.exploding, r.saturated, r.dead, r.phase,
                           r.stalled, r.diverged, r.verdict});
    rows.push_back(std::move(row));
  }
  std::vector<std::size_t> widths(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    widths[c] = header[c].size();
    for (const auto& row : rows) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  auto add_row = [&](const std::vector<std::string>& row) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (c == 0) {
        out += fmt::format("{:>{}}  ", row[c], widths[c]);  // the run id, right-aligned
      } else if (c + 1 < row.size()) {
        out += fmt::format("{:<{}}  ", row[c], widths[c]);
      } else {
        out += row[c];
      }
    }
    out += '\n';
  };
  add_row(header);
  for (const auto& row : rows) add_row(row);
  return out;
}

}  // namespace initbench
