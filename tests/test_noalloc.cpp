// A training step performs no heap allocation. Two independent witnesses:
//  - Eigen's own check: this binary links a core built with EIGEN_RUNTIME_NO_MALLOC and asserts
//    on, so any Eigen allocation while set_is_malloc_allowed(false) aborts;
//  - a replacement global operator new that counts every C++ allocation in the binary.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "initbench/init.hpp"
#include "initbench/mlp.hpp"
#include "initbench/optimizer.hpp"
#include "initbench/parametrization.hpp"
#include "initbench/rng.hpp"

namespace {
std::atomic<long> g_allocations{0};
}

[[gnu::noinline]] void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// noinline: GCC's -Wmismatched-new-delete misreads the replacements when it inlines them.
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace initbench;

namespace {

// residual: 0 for the plain MLP 12-32-16-16-k, else a residual net of 3 blocks of `residual`
// layers of width 16, under skipinit(alpha=0.1) (alpha_b learnable). A plain MLP can take a
// parametrization (forward multipliers and per-layer rates, lecun_normal, base width 8).
template <typename T>
void check_no_allocation(const char* activation, Output output, OptimizerKind kind,
                         Index residual = 0, Norm norm = Norm::kNone,
                         Parametrization parametrization = Parametrization::kStandard) {
  const std::string act = activation;
  const std::string out = output_name(output);
  const std::string opt_name = optimizer_name(kind);
  CAPTURE(act);
  CAPTURE(out);
  CAPTURE(opt_name);
  CAPTURE(residual);
  const std::string norm_text = norm_name(norm);
  CAPTURE(norm_text);
  const std::string param_name = parametrization_name(parametrization);
  CAPTURE(param_name);
  const Index outputs = output == Output::kSoftmax ? 4 : 1;
  MlpConfig config{{12, 32, 16, 16, outputs}, Activation::parse(activation), output};
  config.norm = norm;
  std::string scheme = "glorot_uniform";
  if (residual > 0) {
    config.blocks = 3;
    config.block_depth = residual;
    config.learn_alpha = true;
    config.sizes.assign(static_cast<std::size_t>(3 + 3 * residual), 16);
    config.sizes.front() = 12;
    config.sizes.back() = outputs;
    scheme = "skipinit(alpha=0.1)";
  }
  OptimizerConfig oc{kind, 0.01};
  oc.weight_decay = 1e-4;
  LayerScales scales;
  if (parametrization != Parametrization::kStandard) {
    scheme = "lecun_normal";
    scales = parametrize(parametrization, config, Scheme::parse(scheme), kind, 8);
    config.multipliers = scales.multiplier;
    oc.lr_weights = scales.lr_w;
    oc.lr_biases = scales.lr_b;
  }
  const Index capacity = 40;
  Mlp<T> net(config, capacity);
  initialize(net, InitConfig{Scheme::parse(scheme), "normal(stddev=0.1)", 1.0}, 1, 0);
  if (parametrization != Parametrization::kStandard) apply_init_factors(net, scales);
  Optimizer<T> opt(oc, config);
  Rng rng(2);
  for (Index k = 0; k < net.workspace().A[0].size(); ++k)
    net.workspace().A[0](k) = static_cast<T>(rng.normal());
  net.workspace().Y.setZero();
  net.workspace().Y.row(0).setOnes();
  Workspace<T> probe(config, 7);
  Params<T> probe_grads(config);

  const long before = g_allocations.load();
  Eigen::internal::set_is_malloc_allowed(false);
  double loss = 0.0;
  for (int step = 0; step < 5; ++step) {
    loss += train_step(net, opt, capacity);
    loss += train_step(net, opt, 17);  // a short last mini-batch
    net.forward(probe, 7);             // a probe pass on another workspace
    loss += net.loss(probe, 7);
    net.backward(probe, 7, probe_grads);
    loss += static_cast<double>(net.count_correct(probe, 7).correct);
    net.forward(probe, 7, Pass::kEval);  // an evaluation pass (a batch norm's running statistics)
    loss += net.loss(probe, 7);
  }
  Eigen::internal::set_is_malloc_allowed(true);
  const long after = g_allocations.load();
  CHECK(after == before);
  CHECK(std::isfinite(loss));
}

}  // namespace

TEST_CASE_TEMPLATE("a training step allocates nothing: every activation, output and optimizer", T,
                   float, double) {
  for (const std::string& act : activation_names()) {
    check_no_allocation<T>(act.c_str(), Output::kSoftmax, OptimizerKind::kSgd);
  }
  for (Output out : {Output::kLinear, Output::kSigmoid, Output::kSoftmax}) {
    for (OptimizerKind kind : {OptimizerKind::kSgd, OptimizerKind::kMomentum,
                               OptimizerKind::kNesterov, OptimizerKind::kAdam}) {
      check_no_allocation<T>("relu", out, kind);
    }
  }
}

TEST_CASE_TEMPLATE("a training step allocates nothing under ntk and mup: sgd and adam", T, float,
                   double) {
  for (Parametrization p : {Parametrization::kNtk, Parametrization::kMup}) {
    for (OptimizerKind kind : {OptimizerKind::kSgd, OptimizerKind::kAdam}) {
      check_no_allocation<T>("relu", Output::kSoftmax, kind, 0, Norm::kNone, p);
      check_no_allocation<T>("tanh", Output::kLinear, kind, 0, Norm::kNone, p);
    }
  }
}

TEST_CASE_TEMPLATE("a residual net's training step allocates nothing: both block depths", T, float,
                   double) {
  for (const Index block_depth : {1, 2}) {
    for (OptimizerKind kind : {OptimizerKind::kSgd, OptimizerKind::kAdam}) {
      check_no_allocation<T>("relu", Output::kSoftmax, kind, block_depth);
      check_no_allocation<T>("tanh", Output::kSigmoid, kind, block_depth);
    }
  }
}

TEST_CASE_TEMPLATE("a normed net's training step allocates nothing: batch and layer norm", T, float,
                   double) {
  for (const Norm norm : {Norm::kBatch, Norm::kLayer}) {
    for (OptimizerKind kind : {OptimizerKind::kSgd, OptimizerKind::kMomentum, OptimizerKind::kAdam})
      check_no_allocation<T>("relu", Output::kSoftmax, kind, 0, norm);
    for (const Index block_depth : {1, 2})
      check_no_allocation<T>("tanh", Output::kSigmoid, OptimizerKind::kAdam, block_depth, norm);
  }
}

TEST_CASE("the allocation witnesses work: an Eigen temporary is caught") {
  // Without noalias() a product allocates a temporary; the counter must see the C++ side of
  // this test's own vector, and Eigen's check is exercised in the case above.
  const long before = g_allocations.load();
  auto* v = new std::vector<int>(10);
  delete v;
  CHECK(g_allocations.load() > before);
}
