#include "initbench/config.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace initbench {

MlpConfig ModelConfig::resolve(Index inputs, Index outputs) const {
  MlpConfig config;
  config.hidden = activation;
  config.output = output;
  config.norm = norm;
  if (residual) {
    if (!layers.empty()) {
      throw std::invalid_argument(
          "model.residual = true builds the net from depth (blocks) and width, not from layers");
    }
    if (depth < 1 || width < 1) {
      throw std::invalid_argument(fmt::format(
          "model.residual: depth {} and width {}: need depth >= 1 blocks and width >= 1", depth,
          width));
    }
    if (block_depth < 1 || block_depth > 2) {
      throw std::invalid_argument(fmt::format(
          "model.block_depth = {}: a residual branch has 1 or 2 dense layers", block_depth));
    }
    config.blocks = depth;
    config.block_depth = block_depth;
    config.sizes.assign(static_cast<std::size_t>(3 + depth * block_depth), width);
    config.sizes.front() = inputs;
    config.sizes.back() = outputs;
  } else if (!layers.empty()) {
    config.sizes = layers;
    if (layers.front() != inputs || layers.back() != outputs) {
      throw std::invalid_argument(fmt::format(
          "model.layers {}..{} does not fit the data: it has {} input features and {} targets",
          layers.front(), layers.back(), inputs, outputs));
    }
  } else {
    if (depth < 0 || (depth > 0 && width <= 0)) {
      throw std::invalid_argument(fmt::format(
          "model: depth {} and width {}: need depth >= 0 and width >= 1", depth, width));
    }
    config.sizes.push_back(inputs);
    for (Index l = 0; l < depth; ++l) config.sizes.push_back(width);
    config.sizes.push_back(outputs);
  }
  config.validate();
  return config;
}

MlpConfig RunConfig::network(Index inputs, Index outputs) const {
  MlpConfig config = model.resolve(inputs, outputs);
  config.learn_alpha = init.weights.info().residual;
  if (model.parametrization != Parametrization::kStandard)
    config.multipliers = layer_scales(config).multiplier;
  return config;
}

LayerScales RunConfig::layer_scales(const MlpConfig& net) const {
  return parametrize(model.parametrization, net, init.weights, train.optimizer.kind,
                     model.base_width);
}

OptimizerConfig RunConfig::optimizer(const MlpConfig& net) const {
  OptimizerConfig config = train.optimizer;
  if (model.parametrization != Parametrization::kStandard) {
    LayerScales scales = layer_scales(net);
    config.lr_weights = std::move(scales.lr_w);
    config.lr_biases = std::move(scales.lr_b);
  }
  return config;
}

long TrainConfig::total_steps(Index train_samples) const {
  if (steps > 0 || epochs <= 0) return steps;
  const Index b = batch_size(train_samples);
  return epochs * static_cast<long>((train_samples + b - 1) / b);
}

}  // namespace initbench
