// bench_probes: what the probes cost, against the bare training step, on the deep and glorot
// workloads (bench/workloads.hpp), one thread, float.
//   probes/<workload>/bare         train_step: forward, loss, backward, SGD update
//   probes/<workload>/layers       + layer_statistics on the step's own buffers (probes.batch = 0)
//   probes/<workload>/histograms   + histograms of every layer's activations and deltas (40 bins)
//   probes/<workload>/symmetry     + symmetry_statistics (neuron groups, cosines, effective rank)
//   probes/<workload>/jacobian     + the input-output Jacobian's singular values at one sample
// and through the trainer (initbench::train on 8 batches of random data, mini-batches of the
// workload's batch, 20 steps per iteration; time per step):
//   probes/<workload>/train_bare    no probes
//   probes/<workload>/train_layers  per-layer statistics every step (probes.every = 1, batch = 0),
//                                   update ratios included: the "every step" figure of
//                                   bench/README.md
#include <benchmark/benchmark.h>

#include <limits>

#include "initbench/config.hpp"
#include "initbench/probes.hpp"
#include "initbench/trainer.hpp"
#include "workloads.hpp"

namespace {

using namespace initbench;
using namespace initbench::bench;

enum class Probe { kBare, kLayers, kHistograms, kSymmetry, kJacobian };

void BM_probe(benchmark::State& state, const Workload& w, Probe probe) {
  Trainee<float> t(mlp_config(w), w.batch);
  Mlp<float>& net = t.net;
  const Index n = w.batch;
  const std::vector<double> ratios(static_cast<std::size_t>(net.num_layers() + 1),
                                   std::numeric_limits<double>::quiet_NaN());
  net.forward(n);
  net.backward(n);
  const std::vector<Bins> act_bins = activation_bins(net, net.workspace(), n, 40);
  const std::vector<Bins> d_bins = delta_bins(net, net.workspace(), n, 40);
  const Vector<float> x = net.workspace().A[0].col(0);
  for (auto _ : state) {
    // A training step split where the trainer splits it: the probes read the state after
    // backward, before the update.
    net.forward(n);
    benchmark::DoNotOptimize(net.loss(n));
    net.backward(n);
    switch (probe) {
      case Probe::kBare: break;
      case Probe::kLayers:
        benchmark::DoNotOptimize(layer_statistics(net, net.workspace(), n, net.grads(), ratios));
        break;
      case Probe::kHistograms:
        benchmark::DoNotOptimize(histograms(net, net.workspace(), n, act_bins, d_bins));
        break;
      case Probe::kSymmetry:
        benchmark::DoNotOptimize(symmetry_statistics(net, net.workspace(), n, 1e-6));
        break;
      case Probe::kJacobian: benchmark::DoNotOptimize(jacobian_singular_values(net, x)); break;
    }
    t.opt.step(net.params(), net.grads());
  }
}

void BM_train(benchmark::State& state, const Workload& w, bool layers) {
  constexpr long kSteps = 20;
  const Dataset data = random_dataset(w, 8 * w.batch);  // mini-batches of w.batch
  RunConfig c;
  c.experiment = "bench_probes";
  c.model.layers = w.sizes;
  c.model.activation = Activation::parse(w.activation);
  c.model.output = w.output;
  c.scheme = w.activation == std::string("relu") ? "he_normal" : "glorot_normal";
  c.init = InitConfig{Scheme::parse(c.scheme), "", 1.0};
  c.train.optimizer = {OptimizerKind::kSgd, 0.01};
  c.train.batch = w.batch;
  c.train.steps = kSteps;
  if (layers) {
    c.probes.every = 1;
    c.probes.batch = 0;
  }
  for (auto _ : state) benchmark::DoNotOptimize(train(c, data));
  state.counters["step_ms"] = benchmark::Counter(
      1e3 / static_cast<double>(kSteps),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

const bool kRegistered = [] {
  const std::pair<const char*, Probe> probes[] = {{"bare", Probe::kBare},
                                                  {"layers", Probe::kLayers},
                                                  {"histograms", Probe::kHistograms},
                                                  {"symmetry", Probe::kSymmetry},
                                                  {"jacobian", Probe::kJacobian}};
  for (const Workload& w : workloads()) {
    if (w.name != "deep" && w.name != "glorot" && w.name != "course") continue;
    for (const auto& [name, probe] : probes) {
      benchmark::RegisterBenchmark(("probes/" + w.name + "/" + name).c_str(), BM_probe, w, probe)
          ->Unit(benchmark::kMicrosecond);
    }
    benchmark::RegisterBenchmark(("probes/" + w.name + "/train_bare").c_str(), BM_train, w, false)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("probes/" + w.name + "/train_layers").c_str(), BM_train, w, true)
        ->Unit(benchmark::kMillisecond);
  }
  return true;
}();

}  // namespace
