// bench_kernels: the engine's hot paths, one thread.
//   kernels/train_step  a full training step (forward, loss, backward, SGD update) of a relu MLP
//                       with `depth` hidden layers of `width` units (input width, 10 softmax
//                       outputs) on `batch` samples; flops = the three products per layer
//                       (and widths 100 and 1000, which are not multiples of 64, at depth 4)
//   kernels/forward     forward alone, same grid
//   kernels/activation  each activation's forward + backward on a (1024, 256) float block
#include <benchmark/benchmark.h>

#include "workloads.hpp"

namespace {

using namespace initbench;
using namespace initbench::bench;

std::vector<Index> grid_sizes(Index width, Index depth) {
  std::vector<Index> sizes(static_cast<std::size_t>(depth + 1), width);
  sizes.push_back(10);
  return sizes;
}

void BM_train_step(benchmark::State& state) {
  const Index width = state.range(0);
  const Index depth = state.range(1);
  const Index batch = state.range(2);
  const std::vector<Index> sizes = grid_sizes(width, depth);
  Trainee<float> t(MlpConfig{sizes, Activation::parse("relu"), Output::kSoftmax}, batch);
  for (auto _ : state) benchmark::DoNotOptimize(t.step());
  state.counters["flops"] =
      benchmark::Counter(step_flops(sizes, batch), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_train_step)
    ->Name("kernels/train_step")
    ->ArgsProduct({{16, 64, 256, 1024}, {1, 4, 16}, {32, 256}})
    ->ArgNames({"width", "depth", "batch"})
    ->Unit(benchmark::kMicrosecond);
// Widths that are not multiples of 64 (the papers' 100 and 1000): their products run on the
// engine's own kernel rather than OpenBLAS (see product() in src/mlp.cpp).
BENCHMARK(BM_train_step)
    ->Name("kernels/train_step")
    ->ArgsProduct({{100, 1000}, {4}, {32, 256}})
    ->ArgNames({"width", "depth", "batch"})
    ->Unit(benchmark::kMicrosecond);

void BM_forward(benchmark::State& state) {
  const Index width = state.range(0);
  const Index depth = state.range(1);
  const Index batch = state.range(2);
  const std::vector<Index> sizes = grid_sizes(width, depth);
  Trainee<float> t(MlpConfig{sizes, Activation::parse("relu"), Output::kSoftmax}, batch);
  double flops = 0;
  for (std::size_t l = 1; l < sizes.size(); ++l)
    flops += 2.0 * static_cast<double>(sizes[l] * sizes[l - 1] * batch);
  for (auto _ : state) {
    t.net.forward(batch);
    benchmark::DoNotOptimize(t.net.workspace().Z.back().data());
    benchmark::ClobberMemory();
  }
  state.counters["flops"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_forward)
    ->Name("kernels/forward")
    ->ArgsProduct({{16, 64, 256, 1024}, {1, 4, 16}, {32, 256}})
    ->ArgNames({"width", "depth", "batch"})
    ->Unit(benchmark::kMicrosecond);

void BM_activation(benchmark::State& state, const char* name) {
  const Activation act = Activation::parse(name);
  Rng rng(3);
  Matrix<float> z(1024, 256);
  for (Index k = 0; k < z.size(); ++k) z(k) = static_cast<float>(rng.normal());
  Matrix<float> a(z.rows(), z.cols());
  Matrix<float> d = Matrix<float>::Ones(z.rows(), z.cols());
  for (auto _ : state) {
    activation_forward<float>(act, z, a);
    activation_backward<float>(act, z, a, d);
    benchmark::DoNotOptimize(d.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * z.size());
}
BENCHMARK_CAPTURE(BM_activation, identity, "identity")->Name("kernels/activation/identity");
BENCHMARK_CAPTURE(BM_activation, sigmoid, "sigmoid")->Name("kernels/activation/sigmoid");
BENCHMARK_CAPTURE(BM_activation, tanh, "tanh")->Name("kernels/activation/tanh");
BENCHMARK_CAPTURE(BM_activation, relu, "relu")->Name("kernels/activation/relu");
BENCHMARK_CAPTURE(BM_activation, leaky_relu, "leaky_relu")->Name("kernels/activation/leaky_relu");
BENCHMARK_CAPTURE(BM_activation, elu, "elu")->Name("kernels/activation/elu");
BENCHMARK_CAPTURE(BM_activation, selu, "selu")->Name("kernels/activation/selu");
BENCHMARK_CAPTURE(BM_activation, softsign, "softsign")->Name("kernels/activation/softsign");
BENCHMARK_CAPTURE(BM_activation, gelu, "gelu")->Name("kernels/activation/gelu");

}  // namespace
