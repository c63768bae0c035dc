// probes.hpp: read-only statistics of a network and the buffers of its last forward/backward.
//
// Every function here takes const references: probes never change what training does. They read
// a workspace after Mlp::forward and Mlp::backward on n samples (either the training step's own
// buffers or a separate pass on the fixed probe batch, as the trainer decides) and the gradients
// that backward wrote. Formulas for every column are in docs/csv.md.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "initbench/config.hpp"
#include "initbench/mlp.hpp"
#include "initbench/rows.hpp"

namespace initbench {

// Per-layer statistics for l = 1..L (LayerRow without run_id and step).
// update_norms[l]: ||W_l after - W_l before|| / ||W_l before|| of the last update, or nan.
template <typename T>
std::vector<LayerRow> layer_statistics(const Mlp<T>& net, const Workspace<T>& ws, Index n,
                                       const Params<T>& grads,
                                       const std::vector<double>& update_ratios);

// The mean-field prediction of every layer's pre-activation variance (index l = 1..L), from the
// input's mean square on the n samples and each layer's measured weight and bias variances.
template <typename T>
std::vector<double> meanfield_prediction(const Mlp<T>& net, const Workspace<T>& ws, Index n);

// Fixed histogram bins for one (layer, quantity), chosen once per run.
struct Bins {
  double lo = -1;
  double hi = 1;
  Index count = 40;
};

// Bins for layer l's activations and deltas, from the first probe: bounded activations use
// their range (tanh, softsign [-1, 1]; sigmoid [0, 1]); relu [0, r], everything else [-r, r],
// with r the largest magnitude seen (1 if that is 0 or not finite).
template <typename T>
std::vector<Bins> activation_bins(const Mlp<T>& net, const Workspace<T>& ws, Index n, Index bins);
template <typename T>
std::vector<Bins> delta_bins(const Mlp<T>& net, const Workspace<T>& ws, Index n, Index bins);

// Counts of values in each bin ([lo + k w, lo + (k+1) w), the last one closed), plus underflow
// (x < lo) and overflow (x > hi, or nan) rows.
// quantity is "activation" or "delta". Rows for l = 1..L.
template <typename T>
std::vector<HistogramRow> histograms(const Mlp<T>& net, const Workspace<T>& ws, Index n,
                                     const std::vector<Bins>& act_bins,
                                     const std::vector<Bins>& delta_bins);

// Neuron identity for each hidden layer l = 1..L-1: groups of neurons whose incoming weights and
// bias (rows of [W_l b_l]) are within `tolerance` of each other relative to their norms; max
// and mean |cosine| between incoming weight vectors over pairs (two zero vectors count as
// parallel, a zero and a nonzero vector as orthogonal); effective rank (Roy & Vetterli 2007) of
// the layer's activations on the n samples.
template <typename T>
std::vector<SymmetryRow> symmetry_statistics(const Mlp<T>& net, const Workspace<T>& ws, Index n,
                                             double tolerance);

// Singular values (decreasing) of the input-output Jacobian d z_L / d x at one input x (n_0),
// computed in double.
template <typename T>
std::vector<double> jacobian_singular_values(const Mlp<T>& net, const Vector<T>& x);

// Effective rank exp(H(p)), p_i = s_i / sum(s), of a list of singular values; 0 if all are 0.
double effective_rank(const std::vector<double>& singular_values);

// ---------------------------------------------------------------------------------------------
// The probes that run on a step schedule, each declared once (probes.cpp: probe_registry). The
// trainer runs every entry at its steps; report_files() writes, bundles, assembles and merges
// its file; nothing else names a probe.
// ---------------------------------------------------------------------------------------------

// What a probe reads at step `step`: the network, a workspace after forward and backward on n
// samples, those gradients, the last update's per-layer ratios (nan where not measured), the
// run's [probes] keys, and a linear teacher's map (Dataset::teacher_map; null for other data).
template <typename T>
struct ProbeInput {
  const Mlp<T>& net;
  const Workspace<T>& ws;
  Index n;
  const Params<T>& grads;
  const std::vector<double>& update_ratios;
  const ProbeConfig& config;
  long run_id;
  long step;
  const Matrix<double>* teacher = nullptr;  // (d_out, d_in)
};

// A linear map's singular modes: M = sum_i s_i u_i v_i^T, s decreasing.
struct Modes {
  std::vector<double> s;
  Matrix<double> U;  // (d_out, r): u_i in column i
  Matrix<double> V;  // (d_in, r): v_i in column i
};

// The singular modes of M whose singular value exceeds 1e-9 times the largest (BDCSVD in
// double; a zero map has none).
Modes singular_modes(const Matrix<double>& M);

// a_i = u_i^T W_L ... W_1 v_i for every mode of `modes`: the strength with which the network's
// end-to-end linear map (its weights' product, biases left out) carries each mode; in double,
// v_i pushed through the layers one at a time with sums in index order.
template <typename T>
std::vector<double> mode_strengths(const Mlp<T>& net, const Modes& modes);

// What a probe keeps between the steps of one run: the histogram bins, fixed at its first step;
// the teacher's modes, computed at its first step; the pre-activations at the coordinate
// check's first step.
struct ProbeState {
  std::vector<Bins> act_bins, delta_bins;
  std::optional<Modes> teacher_modes;
  std::vector<Matrix<double>> coord_start;
};

// Steps 0, every, 2 every, ... and `total`; or with `log_spaced` about ten per decade, plus 0
// and `total`. Empty when every <= 0 and not log-spaced.
std::set<long> step_schedule(long every, bool log_spaced, long total);

// One of a probe's own [probes] keys: its name, its type, its value when the spec does not set
// it, and the range a spec may give (inclusive; `max` 0 = no upper limit). The spec's key table
// (src/spec/keys.cpp) adds every declared key, checked by its type and range.
struct ProbeKey {
  enum class Type { kSwitch, kInteger, kNumber };
  const char* name;
  Type type = Type::kSwitch;
  double fallback = 0;
  double min = 0;
  double max = 0;
};

struct Probe {
  const char* name;  // its CSV file's stem: "layers" -> layers.csv
  // Its own [probes] keys (the shared ones, every, schedule and batch, are in ProbeConfig).
  std::vector<ProbeKey> keys;
  // Its steps within [0, total] from the run's [probes] keys; `layers` is the layers probe's
  // schedule, which the others follow unless they have their own.
  std::set<long> (*steps)(const ProbeConfig& config, long total, const std::set<long>& layers);
  // Appends its rows for one step to the record (RunRecord::rows<its row type>).
  void (*run_float)(const ProbeInput<float>& in, ProbeState& state, RunRecord& record);
  void (*run_double)(const ProbeInput<double>& in, ProbeState& state, RunRecord& record);
  // Its file's text over the records: probe_csv<its row type> (report.hpp).
  std::string (*csv)(const std::vector<RunRecord>& records);

  std::string file() const { return std::string(name) + ".csv"; }
  template <typename T>
  void run(const ProbeInput<T>& in, ProbeState& state, RunRecord& record) const {
    if constexpr (sizeof(T) == sizeof(float)) {
      run_float(in, state, record);
    } else {
      run_double(in, state, record);
    }
  }
};

// Every probe, in the order their files are written. The layers probe comes first
// (kLayersProbe): the trainer measures the update ratios it reports in the step before it runs.
const std::vector<Probe>& probe_registry();
inline constexpr std::size_t kLayersProbe = 0;

// The declared key of that name (in any probe's `keys`), or nullptr.
const ProbeKey* find_probe_key(std::string_view name);

}  // namespace initbench
