// bench_compare: initbench's side of bench/compare.py. One benchmark per workload
// (compare/course, compare/deep, compare/glorot, compare/wide): a training step of Mlp<float>
// with plain SGD, no probes, on one thread. compare.py runs this binary with
// --benchmark_filter=^compare/NAME$ and reads the JSON; it can be run by hand as well.
#include <benchmark/benchmark.h>

#include "workloads.hpp"

namespace {

using namespace initbench;
using namespace initbench::bench;

void BM_compare(benchmark::State& state, const Workload& w) {
  Trainee<float> t(mlp_config(w), w.batch);
  for (int i = 0; i < 3; ++i) t.step();  // warm the caches
  for (auto _ : state) benchmark::DoNotOptimize(t.step());
  state.counters["flops"] = benchmark::Counter(step_flops(w.sizes, w.batch),
                                               benchmark::Counter::kIsIterationInvariantRate);
  state.counters["steps"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

const bool kRegistered = [] {
  for (const Workload& w : workloads()) {
    benchmark::RegisterBenchmark(("compare/" + w.name).c_str(), BM_compare, w)
        ->Unit(benchmark::kMicrosecond);
  }
  return true;
}();

}  // namespace
