// bench_init: the cost of every initialization scheme in the registry on a 1000x1000 layer
// (init/<scheme>: Scheme::sample_weights, including orthogonal's twice-iterated Gram-Schmidt QR),
// and LSUV's data-dependent passes (init/lsuv_passes: initialize() of a 1000-1000 layer on a
// batch of 256 N(0, 1) samples, orthogonal pre-init included).
#include <benchmark/benchmark.h>

#include <map>

#include "initbench/init.hpp"
#include "initbench/rng.hpp"

namespace {

using namespace initbench;

constexpr Index kFan = 1000;

// Values for the parameters a scheme requires (those without a default).
const std::map<std::string, std::string>& required_values() {
  static const std::map<std::string, std::string> values{{"value", "0.5"},
                                                         {"low", "-0.05"},
                                                         {"high", "0.05"},
                                                         {"stddev", "0.05"},
                                                         {"sparsity", "0.1"}};
  return values;
}

std::string scheme_text(const SchemeInfo& info) {
  std::string args;
  for (const ParamInfo& p : info.params) {
    if (!p.default_value.empty()) continue;
    const auto it = required_values().find(p.name);
    if (it == required_values().end()) return "";  // unknown required parameter
    args += (args.empty() ? "" : ", ") + p.name + "=" + it->second;
  }
  return args.empty() ? info.name : info.name + "(" + args + ")";
}

void BM_scheme(benchmark::State& state, const SchemeInfo& info) {
  const std::string text = scheme_text(info);
  if (text.empty()) {
    state.SkipWithError("a required parameter has no benchmark value (bench_init.cpp)");
    return;
  }
  const Scheme scheme = Scheme::parse(text);
  Rng rng(1, 0, stream::kWeights + 1);
  for (auto _ : state) {
    Matrix<double> W = scheme.sample_weights(kFan, kFan, rng);
    benchmark::DoNotOptimize(W.data());
  }
  state.SetItemsProcessed(state.iterations() * kFan * kFan);
  state.SetLabel(text);
}

void BM_lsuv_passes(benchmark::State& state) {
  const MlpConfig config{{kFan, kFan}, Activation::parse("tanh"), Output::kLinear};
  const Index batch = 256;
  Mlp<float> net(config, batch);
  Matrix<float> X(kFan, batch);
  Rng rng(2);
  for (Index k = 0; k < X.size(); ++k) X(k) = static_cast<float>(rng.normal());
  const ConstMatrixRef<float> data = X;
  const InitConfig init{Scheme::parse("lsuv"), "", 1.0};
  for (auto _ : state) {
    initialize(net, init, 1, 0, &data);
    benchmark::DoNotOptimize(net.W(1).data());
  }
  state.SetItemsProcessed(state.iterations() * kFan * kFan);
}
BENCHMARK(BM_lsuv_passes)->Name("init/lsuv_passes")->Unit(benchmark::kMillisecond);

const bool kRegistered = [] {
  for (const SchemeInfo& info : schemes()) {
    if (info.from_files) continue;  // npy reads a folder: nothing of its own to time
    benchmark::RegisterBenchmark(("init/" + info.name).c_str(), BM_scheme, info)
        ->Unit(benchmark::kMillisecond);
  }
  return true;
}();

}  // namespace
