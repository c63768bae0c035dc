// config.hpp: one fully resolved run: everything the trainer needs, nothing it must look up.
//
// The spec parser (spec.hpp) expands an experiment file into a grid of RunConfig; the trainer
// (trainer.hpp) runs one. Defaults here are the documented defaults of the spec keys.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "initbench/data.hpp"
#include "initbench/init.hpp"
#include "initbench/mlp.hpp"
#include "initbench/optimizer.hpp"
#include "initbench/parametrization.hpp"

namespace initbench {

inline constexpr double kUnset = std::numeric_limits<double>::quiet_NaN();

// The largest sizes a spec may ask for (its keys' checks say "absurd" beyond them).
inline constexpr Index kMaxWidth = 100000;  // units in a layer (also features, classes, outputs)
inline constexpr Index kMaxSamples = 10000000;  // synthetic train or test samples

enum class Precision { kFloat, kDouble };

struct ModelConfig {
  // Either explicit sizes (n_0..n_L; n_0 and n_L must match the data), or depth hidden layers
  // of `width` units between the data's input and output sizes.
  std::vector<Index> layers;
  Index depth = 0;  // hidden layers, or residual blocks when `residual`
  Index width = 0;
  bool residual = false;  // depth blocks x_{b+1} = x_b + alpha_b F_b(x_b) (mlp.hpp)
  Index block_depth = 2;  // dense layers per residual branch, 1 or 2
  Activation activation;
  Norm norm = Norm::kNone;  // a norm before every hidden phi (mlp.hpp)
  Output output = Output::kSigmoid;
  Precision precision = Precision::kFloat;
  // How weights, forward multipliers and per-layer rates scale with width (parametrization.hpp);
  // base_width: muP's base width (read under mup only).
  Parametrization parametrization = Parametrization::kStandard;
  Index base_width = 0;

  // The network for a dataset: sizes from `layers`, or input, depth x width, output; residual:
  // input, width, depth x block_depth x width, output (mlp.hpp).
  MlpConfig resolve(Index inputs, Index outputs) const;
};

struct TrainConfig {
  OptimizerConfig optimizer;
  Index batch = 0;      // samples per step; 0 = the whole training set (full batch)
  long steps = 0;       // updates to perform; if 0, epochs are used
  long epochs = 0;      // passes over the training set (steps = epochs * ceil(m / batch))
  long eval_every = 0;  // evaluate train and test sets every K steps; 0 = at the start and end only
  double target_loss = kUnset;      // first step whose train loss <= target_loss
  double target_accuracy = kUnset;  // first step whose train accuracy >= target_accuracy
  bool stop_at_target = false;      // end the run at the first crossing (status converged)
  long stall_window = 0;            // steps; 0 disables stall detection
  double stall_tolerance = 1e-4;    // relative change of the train loss over the window
  bool stop_on_stall = false;       // end a stalled run early (status stalled)

  long total_steps(Index train_samples) const;
  Index batch_size(Index train_samples) const {
    return batch <= 0 || batch > train_samples ? train_samples : batch;
  }
};

// The [probes] keys. every, schedule, batch and dump_weights are shared by every probe (the
// default schedule and the probe batch); each probe's own keys (its switch, its *_every, its
// parameters) are declared in its registry entry (probes.cpp: probe_registry) and kept here by
// name. A key the spec did not set reads as its declared default; reading or setting a name no
// probe declares throws std::logic_error.
struct ProbeConfig {
  long every = 0;             // per-layer statistics every K steps (and at step 0); 0 = off
  bool log_schedule = false;  // log-spaced steps instead (about 10 per decade), plus 0 and the last
  Index batch = 1024;  // the first min(batch, m) training samples; 0 = the current training batch
  std::vector<long> dump_weights;  // steps at which W and b are written as .npy
  std::map<std::string, double, std::less<>> settings;  // the probes' own keys the spec set

  double number(std::string_view key) const;  // probes.cpp
  long integer(std::string_view key) const { return static_cast<long>(number(key)); }
  bool on(std::string_view key) const { return number(key) != 0; }
  ProbeConfig& set(std::string_view key, double value);  // probes.cpp
};

struct RunConfig {
  std::string experiment;
  long run_index = 0;  // position in the grid; the run_id column
  std::uint64_t seed = 1;
  DataSpec data;
  ModelConfig model;
  std::string scheme = "he_normal";  // the scheme string, as written in the spec
  InitConfig init{Scheme::parse("he_normal"), "", 1.0};  // init.weights parsed from `scheme`
  TrainConfig train;
  ProbeConfig probes;
  // The grid axes and this run's value on each ("init.scheme" -> "he_normal"); runs.csv gets a
  // column per axis beyond its fixed ones.
  std::vector<std::pair<std::string, std::string>> axes;
  // Every key the spec set and this run's value of it, as its runs.csv setting column shows it
  // (spec.hpp: run_settings); empty for a run built in code.
  std::map<std::string, std::string, std::less<>> written;
  std::string
      weights_dir;  // where dump_weights writes (<experiment folder>/weights/<run_id>); "" = none

  // model.resolve, with alpha_b learnable under the residual schemes (init.hpp: SchemeInfo) and
  // the parametrization's forward multipliers (none under standard).
  MlpConfig network(Index inputs, Index outputs) const;
  // The parametrization's factors for this network (all 1 under standard).
  LayerScales layer_scales(const MlpConfig& net) const;
  // train.optimizer with the parametrization's per-layer rates (none under standard).
  OptimizerConfig optimizer(const MlpConfig& net) const;
};

}  // namespace initbench
