// workloads.hpp: the networks the benchmarks and bench/compare.py train, built the same way.
//
// A workload is a layer list, a hidden activation, an output and a batch; the network is
// Mlp<float> (the trainer's default precision) with He normal (relu) or Glorot normal (tanh)
// weights and zero biases, plain SGD (lr 0.01), and one fixed batch of N(0, 1) inputs with
// random targets (one-hot for softmax, 0/1 for sigmoid), as compare.py's NumPy and PyTorch sides.
// A residual workload (blocks > 0) is the residual MLP of mlp.hpp: an input layer, `blocks`
// branches of `block_depth` relu layers in pre-activation order, each scaled by a learnable
// alpha_b, started as ReZero (He weights, alpha_b = 0), and the output layer. A workload with a
// norm puts a batch or layer norm in front of every hidden nonlinearity (MlpConfig::norm).
#pragma once

#include <string>
#include <vector>

#include "initbench/data.hpp"
#include "initbench/init.hpp"
#include "initbench/mlp.hpp"
#include "initbench/optimizer.hpp"
#include "initbench/rng.hpp"

namespace initbench::bench {

struct Workload {
  std::string name;
  std::vector<Index> sizes;  // n_0, ..., n_L
  const char* activation;
  Output output;
  Index batch;
  Index blocks = 0;       // residual blocks; 0 = a plain MLP
  Index block_depth = 1;  // dense layers per branch
  Norm norm = Norm::kNone;
};

// The workloads of compare.py (its WORKLOADS).
inline std::vector<Workload> workloads() {
  std::vector<Index> deep{64};
  for (int l = 0; l < 30; ++l) deep.push_back(64);
  deep.push_back(10);
  // 1000 blocks of 2 layers of width 64 (residual_depth's deepest net): 2 + 2000 layers
  std::vector<Index> residual(2003, 64);
  residual.back() = 10;
  return {
      {"course", {2, 10, 5, 1}, "relu", Output::kSigmoid, 300},
      {"deep", deep, "relu", Output::kSoftmax, 64},
      {"glorot", {784, 1000, 1000, 1000, 1000, 1000, 10}, "tanh", Output::kSoftmax, 128},
      {"wide", {784, 2048, 2048, 10}, "relu", Output::kSoftmax, 256},
      {"residual", residual, "relu", Output::kSoftmax, 64, 1000, 2},
      {"deep_batchnorm", deep, "relu", Output::kSoftmax, 64, 0, 1, Norm::kBatch},
      {"deep_layernorm", deep, "relu", Output::kSoftmax, 64, 0, 1, Norm::kLayer},
  };
}

// Floating-point operations of one training step: forward W a, dW = dz a^T and da = W^T dz for
// every layer but the first (whose input gradient is not computed), 2 per multiply-add.
inline double step_flops(const std::vector<Index>& sizes, Index batch) {
  double total = 0;
  for (std::size_t l = 1; l < sizes.size(); ++l) {
    const double products = l > 1 ? 3 : 2;
    total += products * 2.0 * static_cast<double>(sizes[l] * sizes[l - 1] * batch);
  }
  return total;
}

// A network ready to train: parameters initialised, the batch loaded into its workspace.
template <typename T>
struct Trainee {
  Mlp<T> net;
  Optimizer<T> opt;
  Index batch;

  Trainee(const MlpConfig& config, Index batch_, const char* scheme = nullptr,
          OptimizerConfig oc = {OptimizerKind::kSgd, 0.01})
      : net(config, batch_), opt(oc, config), batch(batch_) {
    const char* chosen = scheme != nullptr                             ? scheme
                         : config.residual()                           ? "rezero"
                         : config.hidden.kind == ActivationKind::kRelu ? "he_normal"
                                                                       : "glorot_normal";
    initialize(net, InitConfig{Scheme::parse(chosen), "", 1.0}, 1, 0);
    Rng rng(2);
    auto& ws = net.workspace();
    for (Index k = 0; k < ws.A[0].size(); ++k) ws.A[0](k) = static_cast<T>(rng.normal());
    ws.Y.setZero();
    const Index classes = ws.Y.rows();
    for (Index j = 0; j < batch; ++j) {
      if (config.output == Output::kSoftmax) {
        ws.Y(static_cast<Index>(rng.below(static_cast<std::uint64_t>(classes))), j) = T(1);
      } else {
        for (Index i = 0; i < classes; ++i) ws.Y(i, j) = static_cast<T>(rng.below(2));
      }
    }
  }
  double step() { return train_step(net, opt, batch); }
};

inline MlpConfig mlp_config(const Workload& w) {
  MlpConfig config{w.sizes, Activation::parse(w.activation), w.output};
  config.blocks = w.blocks;
  config.block_depth = w.block_depth;
  config.learn_alpha = w.blocks > 0;
  config.norm = w.norm;
  return config;
}

// A training set of `samples` N(0, 1) inputs with random targets, for initbench::train: one-hot
// rows for softmax, 0/1 for a single sigmoid output. No test set.
inline Dataset random_dataset(const Workload& w, Index samples) {
  Dataset d;
  d.name = w.name;
  const Index inputs = w.sizes.front();
  const Index outputs = w.sizes.back();
  Rng rng(5);
  d.X_train.resize(inputs, samples);
  for (Index k = 0; k < d.X_train.size(); ++k) d.X_train(k) = rng.normal();
  d.Y_train = Matrix<double>::Zero(outputs, samples);
  for (Index j = 0; j < samples; ++j) {
    if (w.output == Output::kSoftmax) {
      d.Y_train(static_cast<Index>(rng.below(static_cast<std::uint64_t>(outputs))), j) = 1.0;
    } else {
      for (Index i = 0; i < outputs; ++i) d.Y_train(i, j) = static_cast<double>(rng.below(2));
    }
  }
  d.X_test.resize(inputs, 0);
  d.Y_test.resize(outputs, 0);
  d.num_classes = w.output == Output::kSoftmax ? outputs : 2;
  return d;
}

// A shape of compare.py's --sweep: `depth` hidden relu layers of `width` units on `width`
// inputs, softmax over 10 classes, batch `batch`; named sweep/width:W/depth:D/batch:B (so that
// bench_compare registers it as compare/sweep/width:W/depth:D/batch:B).
inline Workload sweep_workload(Index width, Index depth, Index batch) {
  std::vector<Index> sizes(static_cast<std::size_t>(depth) + 1, width);
  sizes.push_back(10);
  return {"sweep/width:" + std::to_string(width) + "/depth:" + std::to_string(depth) +
              "/batch:" + std::to_string(batch),
          sizes, "relu", Output::kSoftmax, batch};
}

}  // namespace initbench::bench
