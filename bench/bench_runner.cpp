// bench_runner: the runner's parallel throughput. A grid of 16 course-sized runs (circles, 300
// training samples, 2-10-5-1 relu, sigmoid output, SGD lr 0.05, 2000 full-batch steps, seeds 1..16)
// through initbench::run_experiment in memory, with 1 and with 2 threads; wall-clock time
// (UseRealTime), runs per second as a counter. bench/README.md reports the ratio of the two.
#include <benchmark/benchmark.h>

#include "initbench/runner.hpp"

namespace {

using namespace initbench;

Experiment course_grid() {
  Experiment e;
  e.name = "bench_runner";
  e.axes = {"seed"};
  for (long i = 0; i < 16; ++i) {
    RunConfig c;
    c.experiment = e.name;
    c.run_index = i;
    c.seed = static_cast<std::uint64_t>(i + 1);
    c.data.kind = "circles";
    c.data.train = 300;
    c.data.test = 100;
    c.model.layers = {2, 10, 5, 1};
    c.model.activation = Activation::parse("relu");
    c.model.output = Output::kSigmoid;
    c.scheme = "he_normal";
    c.init = InitConfig{Scheme::parse(c.scheme), "", 1.0};
    c.train.optimizer = {OptimizerKind::kSgd, 0.05};
    c.train.steps = 2000;
    c.axes = {{"seed", std::to_string(i + 1)}};
    e.runs.push_back(c);
  }
  return e;
}

void BM_grid(benchmark::State& state) {
  const Experiment e = course_grid();
  RunnerOptions options;
  options.out_dir = "";  // in memory
  options.threads = static_cast<int>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(run_experiment(e, options));
  state.counters["runs"] = benchmark::Counter(static_cast<double>(e.runs.size()),
                                              benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_grid)
    ->Name("runner/grid16")
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
