// trainer.hpp: one run: data, network, initialization, the training loop, probes, status.
//
// The loop, for t = 0, 1, ..., T (t = number of updates done so far):
//   forward and backward on the next batch (at t = T too, but without the update);
//   probes and evaluation at t read that state (params after t updates);
//   unless t = T: the update.
// Full-batch runs see the exact training loss at every step, so loss and accuracy targets are
// checked every step; mini-batch runs check them at evaluations (every train.eval_every steps).
// If the loss or any parameter becomes NaN or Inf, the run stops with status `diverged` at that
// step, keeping what it recorded. Randomness: data from Rng(seed, 0, kData), initialization
// from Rng(seed, 0, kWeights/kBias + l), batch order from Rng(seed, 0, kShuffle): runs that differ
// only in a setting share their seed's draws (common random numbers).
#pragma once

#include <array>
#include <atomic>
#include <set>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "initbench/config.hpp"
#include "initbench/data.hpp"
#include "initbench/rows.hpp"

namespace initbench {

// Thrown when the cancel flag is raised mid-run; the run's partial record is discarded.
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("cancelled") {}
};

// What a progress display reads while runs train (from another thread): the work of the updates
// done (step_work units), summed over runs, and the last mini-batch loss any run measured. The
// runner sets the total before the first run and tops a run's work up to its full length when it
// stops early (target, stall, divergence), so that the work done reaches the total.
struct LiveProgress {
  std::atomic<double> work{0.0};
  std::atomic<double> work_total{0.0};
  std::atomic<double> loss{0.0};
  std::atomic<bool> has_loss{false};

  void add(double done) { add_to(work, done); }
  void add_total(double planned) { add_to(work_total, planned); }

 private:
  static void add_to(std::atomic<double>& x, double v) {
    double now = x.load(std::memory_order_relaxed);
    while (!x.compare_exchange_weak(now, now + v, std::memory_order_relaxed)) {
    }
  }
};

// The work of one update of `config` on `data`, in multiply-adds of its three products per layer
// (parameters x batch): what progress and time estimates weigh steps by.
double step_work(const RunConfig& config, const Dataset& data);

// Runs one configuration on a dataset. Throws std::invalid_argument if the model does not fit
// the data, Cancelled if *cancel becomes true. With `live`, counts each update into it.
RunRecord train(const RunConfig& config, const Dataset& data,
                const std::atomic<bool>* cancel = nullptr, LiveProgress* live = nullptr);

// The steps (within [0, total]) of every probe in probe_registry() (probes.hpp), in its order,
// from the spec's [probes] keys. The trainer runs a probe pass at a step when any schedule holds
// it, so the probe workspace exists exactly when some schedule is non-empty.
struct ProbeSchedules {
  std::vector<std::set<long>> steps;                       // one per registry entry
  const std::set<long>& of(std::string_view probe) const;  // by the probe's name
  bool at(std::size_t probe, long t) const { return steps[probe].count(t) != 0; }
  bool any() const;
  bool any_at(long t) const;
};
ProbeSchedules probe_schedules(const ProbeConfig& probes, long total);

}  // namespace initbench
