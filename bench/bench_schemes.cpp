// bench_schemes: the initialization comparison, as a benchmark per (scheme, depth, activation).
// Each trains the same small task with initbench::train: two moons (256 samples, noise 0.1), a
// 16-wide MLP with a sigmoid output, plain SGD (lr 0.1), 2000 full-batch steps, target accuracy
// 0.95, and reports as counters:
//   steps_to_target   first step with train accuracy >= 0.95 (-1: never)
//   final_loss        train loss after the last step
//   init_grad_ratio   ||dL/dW_1|| / ||dL/dW_L|| at step 0 (vanishing < 1 < exploding)
//   distinct_neurons  fewest distinct neurons in a hidden layer at the end (symmetry: 1 = all
//                     neurons of some layer identical, 16 = none)
// so that running the binary prints the comparison. One training run per benchmark.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "initbench/config.hpp"
#include "initbench/data.hpp"
#include "initbench/trainer.hpp"

namespace {

using namespace initbench;

constexpr long kSteps = 2000;

void BM_scheme(benchmark::State& state, const std::string& text, Index depth,
               const char* activation) {
  const Dataset data = make_moons(256, 0, 0.1, 1);
  RunConfig c;
  c.experiment = "bench_schemes";
  c.model.depth = depth;
  c.model.width = 16;
  c.model.activation = Activation::parse(activation);
  c.model.output = Output::kSigmoid;
  c.scheme = text;
  c.init = InitConfig{Scheme::parse(text), "", 1.0};
  c.train.optimizer = {OptimizerKind::kSgd, 0.1};
  c.train.steps = kSteps;
  c.train.target_accuracy = 0.95;
  c.probes.batch = 0;
  c.probes.set("symmetry", true);
  c.probes.set("symmetry_every", kSteps);
  RunRecord r;
  for (auto _ : state) r = train(c, data);
  long distinct = -1;
  for (const SymmetryRow& row : r.rows<SymmetryRow>()) {
    if (row.step == r.run.steps_run)
      distinct = distinct < 0 ? row.distinct_neurons : std::min(distinct, row.distinct_neurons);
  }
  // A non-finite value (init_grad_ratio of a symmetric network, the loss of a diverged run) goes
  // into the label: Google Benchmark would write it into the JSON as a bare NaN, which strict
  // JSON parsers reject.
  std::string label = r.run.status;
  auto counter = [&](const char* name, double value) {
    if (std::isfinite(value)) {
      state.counters[name] = value;
    } else {
      label += fmt::format(" {}={}", name, std::isnan(value) ? "nan" : value > 0 ? "inf" : "-inf");
    }
  };
  counter("steps_to_target", static_cast<double>(r.run.steps_to_target));
  counter("final_loss", r.run.final_train_loss);
  counter("init_grad_ratio", r.run.init_grad_ratio);
  counter("distinct_neurons", static_cast<double>(distinct));
  state.SetLabel(label);
}

const bool kRegistered = [] {
  // (name in the benchmark's name, scheme text): names avoid the regex characters of
  // --benchmark_filter.
  const std::pair<const char*, const char*> schemes[] = {
      {"zeros", "zeros"},
      {"small_normal", "normal(stddev=0.01)"},
      {"large_normal", "normal(stddev=1)"},
      {"glorot_normal", "glorot_normal"},
      {"lecun_normal", "lecun_normal"},
      {"he_normal", "he_normal"},
      {"orthogonal", "orthogonal"},
      {"lsuv", "lsuv"},
  };
  for (const auto& [name, text] : schemes) {
    for (const Index depth : {2, 8}) {
      for (const char* activation : {"relu", "tanh"}) {
        const std::string bench_name =
            std::string("schemes/") + name + "/depth:" + std::to_string(depth) + "/" + activation;
        benchmark::RegisterBenchmark(bench_name.c_str(), BM_scheme, std::string(text), depth,
                                     activation)
            ->Iterations(1)
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
  return true;
}();

}  // namespace
