// bench_compare: initbench's side of bench/compare.py. One benchmark per workload
// (compare/NAME for each workload of workloads.hpp: course, deep, glorot, wide, residual,
// deep_batchnorm, deep_layernorm): a training step
// of Mlp<float> with plain SGD, no probes, on one thread. compare.py runs this binary with
// --benchmark_filter=^compare/NAME$ and reads the JSON; it can be run by hand as well.
//
// More shapes on request (compare.py --sweep): INITBENCH_COMPARE_SWEEP="W:D:B,W:D:B,..." also
// registers compare/sweep/width:W/depth:D/batch:B for each entry, the MLP of D hidden relu layers
// of W units on W inputs with softmax over 10 classes and batch B (sweep_workload in
// workloads.hpp), e.g.
//   INITBENCH_COMPARE_SWEEP=256:4:128 bench_compare --benchmark_filter=compare/sweep/
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

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

// A positive decimal integer of at most 7 digits (no sign, no spaces), or -1.
Index parse_positive(const std::string& text) {
  if (text.empty() || text.size() > 7) return -1;
  Index value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value > 0 ? value : -1;
}

// The shapes of INITBENCH_COMPARE_SWEEP ("W:D:B" entries separated by commas; unset or empty:
// none). A malformed entry ends the program with a message: a benchmark run that silently
// measured fewer shapes than asked for would be worse.
std::vector<Workload> sweep_workloads() {
  const char* spec = std::getenv("INITBENCH_COMPARE_SWEEP");
  std::vector<Workload> shapes;
  if (spec == nullptr) return shapes;
  const std::string all(spec);
  std::size_t begin = 0;
  while (begin <= all.size()) {
    std::size_t end = all.find(',', begin);
    if (end == std::string::npos) end = all.size();
    const std::string entry = all.substr(begin, end - begin);
    begin = end + 1;
    if (entry.empty()) continue;
    const std::size_t c1 = entry.find(':');
    const std::size_t c2 = c1 == std::string::npos ? c1 : entry.find(':', c1 + 1);
    Index width = -1;
    Index depth = -1;
    Index batch = -1;
    if (c2 != std::string::npos && entry.find(':', c2 + 1) == std::string::npos) {
      width = parse_positive(entry.substr(0, c1));
      depth = parse_positive(entry.substr(c1 + 1, c2 - c1 - 1));
      batch = parse_positive(entry.substr(c2 + 1));
    }
    if (width < 1 || depth < 1 || batch < 1) {
      std::fprintf(
          stderr,
          "bench_compare: INITBENCH_COMPARE_SWEEP: bad entry '%s' (want WIDTH:DEPTH:BATCH, "
          "positive integers, entries separated by commas)\n",
          entry.c_str());
      std::exit(2);  // in a static initializer: before main, before any thread
    }
    shapes.push_back(sweep_workload(width, depth, batch));
  }
  return shapes;
}

const bool kRegistered = [] {
  for (const Workload& w : workloads()) {
    benchmark::RegisterBenchmark(("compare/" + w.name).c_str(), BM_compare, w)
        ->Unit(benchmark::kMicrosecond);
  }
  for (const Workload& w : sweep_workloads()) {
    benchmark::RegisterBenchmark(("compare/" + w.name).c_str(), BM_compare, w)
        ->Unit(benchmark::kMicrosecond);
  }
  return true;
}();

}  // namespace
