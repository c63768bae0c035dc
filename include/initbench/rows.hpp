// rows.hpp: the observations a run produces, one struct per CSV file.
//
// Each struct's visit() names its columns and their values in one place: the CSV header, the
// writer and the reader all come from it, so a column is declared exactly once. Column meanings,
// units and formulas are documented in docs/csv.md.
#pragma once

#include <any>
#include <array>
#include <string>
#include <utility>
#include <vector>

namespace initbench {

// runs.csv: one row per run.
// How a run ended (runs.csv's status column, by name): converged (reached its target),
// not_converged (ran every step without), diverged (a non-finite loss or parameter), stalled
// (stopped by stop_on_stall).
enum class Status { kConverged, kNotConverged, kDiverged, kStalled };
inline constexpr std::array<const char*, 4> kStatusNames = {"converged", "not_converged",
                                                            "diverged", "stalled"};
inline const char* status_name(Status s) { return kStatusNames[static_cast<std::size_t>(s)]; }

struct RunRow {
  long run_id = 0;
  std::string experiment;
  long depth = 0;      // hidden layers
  long width = 0;      // the widest hidden layer
  std::string layers;  // all sizes, "2-10-5-1"
  long seed = 0;
  std::string status;  // status_name(Status): converged | not_converged | diverged | stalled
  long steps_run = 0;
  long steps_to_target = -1;  // -1: the target was not reached (or none was set)
  long stall_step = -1;       // first step the stall criterion held; -1: never
  double final_train_loss = 0;
  double final_train_acc = 0;
  double final_test_loss = 0;
  double final_test_acc = 0;
  double init_grad_ratio = 0;  // ||dL/dW_1|| / ||dL/dW_L|| at step 0
  // The mean-field theory of the run's initialization (docs/csv.md): sigma_w^2 = fan_in Var(W)
  // and sigma_b^2 = Var(b) of a hidden layer as the schemes define them, the fixed point q* of
  // the variance map, chi_1, the correlation depth scale xi_c, and calculate_gain(activation).
  double sigma_w2 = 0;
  double sigma_b2 = 0;
  double q_star = 0;
  double chi_1 = 0;
  double xi_c = 0;
  double gain = 0;
  // The diagnosis (diagnose.hpp, docs/diagnosis.md): one verdict per failure mode, yes | no |
  // unknown | n/a; the phase ordered | critical | chaotic | n/a; and the failures in one string.
  std::string symmetric;
  std::string vanishing;
  std::string exploding;
  std::string saturated;
  std::string dead;
  std::string phase;
  std::string stalled;
  std::string diverged;
  std::string verdict;
  // With a validation split (data.validation > 0) only: the loss and accuracy on the held-out
  // training samples at the last evaluation, as two more columns after the fixed ones.
  bool validation = false;
  double final_val_loss = 0;
  double final_val_acc = 0;
  // One column per key of the spec's key table after the fixed ones, named by the dotted key
  // ("init.scheme" -> "he_normal"; spec.hpp: run_settings, which the runner fills).
  std::vector<std::pair<std::string, std::string>> settings;
  // Not columns (runs.csv has them as init.scheme, model.activation and train.lr among the
  // settings): the trainer fills them for code that reads a record in memory.
  std::string scheme;
  std::string activation;
  double lr = 0;

  template <typename F>
  void visit(F&& f) const {
    f("run_id", run_id);
    f("experiment", experiment);
    f("depth", depth);
    f("width", width);
    f("layers", layers);
    f("seed", seed);
    f("status", status);
    f("steps_run", steps_run);
    f("steps_to_target", steps_to_target);
    f("stall_step", stall_step);
    f("final_train_loss", final_train_loss);
    f("final_train_acc", final_train_acc);
    f("final_test_loss", final_test_loss);
    f("final_test_acc", final_test_acc);
    f("init_grad_ratio", init_grad_ratio);
    f("sigma_w2", sigma_w2);
    f("sigma_b2", sigma_b2);
    f("q_star", q_star);
    f("chi_1", chi_1);
    f("xi_c", xi_c);
    f("gain", gain);
    f("symmetric", symmetric);
    f("vanishing", vanishing);
    f("exploding", exploding);
    f("saturated", saturated);
    f("dead", dead);
    f("phase", phase);
    f("stalled", stalled);
    f("diverged", diverged);
    f("verdict", verdict);
    if (validation) {
      f("final_val_loss", final_val_loss);
      f("final_val_acc", final_val_acc);
    }
  }
};

// curves.csv: train and test loss and accuracy at each evaluation; with a validation split
// (data.validation > 0) also the validation set's, as two more columns.
struct CurveRow {
  long run_id = 0;
  long step = 0;
  double train_loss = 0;
  double train_acc = 0;
  double test_loss = 0;
  double test_acc = 0;
  bool validation = false;
  double val_loss = 0;
  double val_acc = 0;

  template <typename F>
  void visit(F&& f) const {
    f("run_id", run_id);
    f("step", step);
    f("train_loss", train_loss);
    f("train_acc", train_acc);
    f("test_loss", test_loss);
    f("test_acc", test_acc);
    if (validation) {
      f("val_loss", val_loss);
      f("val_acc", val_acc);
    }
  }
};

// layers.csv: per-layer statistics on the probe batch, l = 1..L.
struct LayerRow {
  long run_id = 0;
  long step = 0;
  long layer = 0;
  long fan_in = 0;
  long fan_out = 0;
  double preact_mean = 0;
  double preact_std = 0;
  double act_mean = 0;
  double act_std = 0;
  double saturated_frac = 0;
  double dead_frac = 0;
  double delta_norm = 0;
  double grad_w_norm = 0;
  double weight_norm = 0;
  double update_ratio = 0;
  double meanfield_preact_var = 0;

  template <typename F>
  void visit(F&& f) const {
    f("run_id", run_id);
    f("step", step);
    f("layer", layer);
    f("fan_in", fan_in);
    f("fan_out", fan_out);
    f("preact_mean", preact_mean);
    f("preact_std", preact_std);
    f("act_mean", act_mean);
    f("act_std", act_std);
    f("saturated_frac", saturated_frac);
    f("dead_frac", dead_frac);
    f("delta_norm", delta_norm);
    f("grad_w_norm", grad_w_norm);
    f("weight_norm", weight_norm);
    f("update_ratio", update_ratio);
    f("meanfield_preact_var", meanfield_preact_var);
  }
};

// norm.csv: a normed network's statistics before and after each norm (mlp.hpp: u_l and
// h_l = gamma_l xhat_l + beta_l, over every unit and sample of the probe batch), l = 1..L-1.
struct NormRow {
  long run_id = 0;
  long step = 0;
  long layer = 0;
  long width = 0;
  double prenorm_mean = 0;
  double prenorm_std = 0;
  double postnorm_mean = 0;
  double postnorm_std = 0;

  template <typename F>
  void visit(F&& f) const {
    f("run_id", run_id);
    f("step", step);
    f("layer", layer);
    f("width", width);
    f("prenorm_mean", prenorm_mean);
    f("prenorm_std", prenorm_std);
    f("postnorm_mean", postnorm_mean);
    f("postnorm_std", postnorm_std);
  }
};

// symmetry.csv: neuron identity per hidden layer.
struct SymmetryRow {
  long run_id = 0;
  long step = 0;
  long layer = 0;
  long width = 0;
  long distinct_neurons = 0;
  double max_abs_cosine = 0;
  double mean_abs_cosine = 0;
  double act_effective_rank = 0;

  template <typename F>
  void visit(F&& f) const {
    f("run_id", run_id);
    f("step", step);
    f("layer", layer);
    f("width", width);
    f("distinct_neurons", distinct_neurons);
    f("max_abs_cosine", max_abs_cosine);
    f("mean_abs_cosine", mean_abs_cosine);
    f("act_effective_rank", act_effective_rank);
  }
};

// correlation.csv: how a layer sees two inputs: for the sample pair (2 pair, 2 pair + 1) of the
// probe batch, the mean squares q_a, q_b of their pre-activations over the layer's units and
// their correlation q_ab / sqrt(q_a q_b) (Poole et al. 2016's c_l); layer 0 is the inputs.
struct CorrelationRow {
  long run_id = 0;
  long step = 0;
  long layer = 0;
  long pair = 0;
  double q_a = 0;
  double q_b = 0;
  double correlation = 0;

  template <typename F>
  void visit(F&& f) const {
    f("run_id", run_id);
    f("step", step);
    f("layer", layer);
    f("pair", pair);
    f("q_a", q_a);
    f("q_b", q_b);
    f("correlation", correlation);
  }
};

// histograms.csv: one row per histogram (run, step, layer, quantity): its range and its counts.
struct HistogramRow {
  long run_id = 0;
  long step = 0;
  long layer = 0;
  std::string quantity;  // activation | delta
  double lo = 0;         // the regular bins: `counts.size() - 2` equal bins over [lo, hi]
  double hi = 0;
  // Entries per bin: counts[0] below lo, counts[1..B] the regular bins (the last holds hi too),
  // counts[B + 1] above hi or NaN.
  std::vector<long> counts;

  // The counts column: the integers separated by spaces, underflow first.
  std::string counts_text() const {
    std::string out;
    for (const long c : counts) {
      if (!out.empty()) out += ' ';
      out += std::to_string(c);
    }
    return out;
  }

  template <typename F>
  void visit(F&& f) const {
    f("run_id", run_id);
    f("step", step);
    f("layer", layer);
    f("quantity", quantity);
    f("lo", lo);
    f("hi", hi);
    f("counts", counts_text());
  }
};

// jacobian.csv: singular values of the input-output Jacobian d(logits)/d(input), per sample,
// in decreasing order (k = 1 is the largest).
struct JacobianRow {
  long run_id = 0;
  long step = 0;
  long sample = 0;
  long k = 0;
  double singular_value = 0;

  template <typename F>
  void visit(F&& f) const {
    f("run_id", run_id);
    f("step", step);
    f("sample", sample);
    f("k", k);
    f("singular_value", singular_value);
  }
};

// layer_jacobian.csv: the singular values of each hidden layer's Jacobian
// J_l = d h_l / d h_{l-1} = diag(phi'(z_l)) W_l at one sample of the probe batch (Glorot &
// Bengio 2010, section 4.2.2, compare the mean singular value across layers and schemes). Here,
// not beside its probe in probes.cpp, because the glorot2010 claim test reads it too.
struct LayerJacobianRow {
  long run_id = 0;
  long step = 0;
  long layer = 0;
  long sample = 0;
  double mean_singular_value = 0;
  double min_singular_value = 0;
  double max_singular_value = 0;

  template <typename F>
  void visit(F&& f) const {
    f("run_id", run_id);
    f("step", step);
    f("layer", layer);
    f("sample", sample);
    f("mean_singular_value", mean_singular_value);
    f("min_singular_value", min_singular_value);
    f("max_singular_value", max_singular_value);
  }
};

// coord_check.csv: per layer l = 1..L on the probe batch, the mean |.| over units x samples of
// the pre-activations z_l (l = L: the output logits), the activations a_l = phi(z_l) (nan at
// l = L), and of z_l - z_l(0), the change of the layer's output since step 0 on the same
// samples (microsoft/mup's coordinate check, with the update size). Sums in double, in
// column-major order.
struct CoordRow {
  long run_id = 0;
  long step = 0;
  long layer = 0;
  long width = 0;  // n_l, the layer's units
  double preact = 0;
  double act = 0;
  double delta = 0;

  template <typename F>
  void visit(F&& f) const {
    f("run_id", run_id);
    f("step", step);
    f("layer", layer);
    f("width", width);
    f("preact", preact);
    f("act", act);
    f("delta", delta);
  }
};

// stream.csv: a residual net's stream per block b = 0..B on the probe batch (RMS over units x
// samples); nan where a column has no block 0 value.
struct StreamRow {
  long run_id = 0;
  long step = 0;
  long block = 0;
  double stream_rms = 0;    // RMS of x_b
  double branch_rms = 0;    // RMS of alpha_b F_b(x_{b-1}); nan at b = 0
  double branch_ratio = 0;  // branch_rms / RMS of x_{b-1}; nan at b = 0
  double grad_rms = 0;      // RMS of dL/dx_b (of the mean loss)
  double alpha = 0;         // alpha_b; nan at b = 0

  template <typename F>
  void visit(F&& f) const {
    f("run_id", run_id);
    f("step", step);
    f("block", block);
    f("stream_rms", stream_rms);
    f("branch_rms", branch_rms);
    f("branch_ratio", branch_ratio);
    f("grad_rms", grad_rms);
    f("alpha", alpha);
  }
};

// modes.csv: how far a linear network has learned each singular mode of a linear teacher
// (Saxe, McClelland & Ganguli 2014). The teacher's map M = sum_i s_i u_i v_i^T (its singular
// value decomposition, modes in decreasing order of s_i, those above 1e-9 s_1); the network's
// end-to-end map W_tot = W_L ... W_1 (its linear part: the biases are left out); the learned
// strength a_i = u_i^T W_tot v_i, which goes from about 0 to s_i as the mode is learned. Here,
// not beside its probe in probes.cpp, because the saxe_modes claim test reads it too.
struct ModeRow {
  long run_id = 0;
  long step = 0;
  long mode = 0;              // i = 1 for the strongest
  double singular_value = 0;  // s_i
  double strength = 0;        // a_i = u_i^T W_tot v_i

  template <typename F>
  void visit(F&& f) const {
    f("run_id", run_id);
    f("step", step);
    f("mode", mode);
    f("singular_value", singular_value);
    f("strength", strength);
  }
};

// timings.csv: the only file with clock readings.
struct TimingRow {
  long run_id = 0;
  double wall_seconds = 0;
  double steps_per_second = 0;

  template <typename F>
  void visit(F&& f) const {
    f("run_id", run_id);
    f("wall_seconds", wall_seconds);
    f("steps_per_second", steps_per_second);
  }
};

// Everything one run produced. Each probe's rows (probes.hpp: probe_registry) are kept by their
// row type, so that a probe declares its rows where it declares everything else:
// record.rows<LayerRow>() are layers.csv's rows of the run.
struct RunRecord {
  RunRow run;
  std::vector<CurveRow> curves;
  TimingRow timing;
  std::vector<std::any> probe_rows;  // one std::vector<Row> per probe row type seen

  template <typename Row>
  std::vector<Row>& rows() {
    for (std::any& table : probe_rows) {
      if (auto* found = std::any_cast<std::vector<Row>>(&table)) return *found;
    }
    return std::any_cast<std::vector<Row>&>(probe_rows.emplace_back(std::vector<Row>{}));
  }
  template <typename Row>
  const std::vector<Row>& rows() const {
    for (const std::any& table : probe_rows) {
      if (const auto* found = std::any_cast<std::vector<Row>>(&table)) return *found;
    }
    static const std::vector<Row> none;
    return none;
  }
};

}  // namespace initbench
