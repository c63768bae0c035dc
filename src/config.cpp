#include "initbench/config.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace initbench {

MlpConfig ModelConfig::resolve(Index inputs, Index outputs) const {
  MlpConfig config;
  config.hidden = activation;
  config.output = output;
  if (!layers.empty()) {
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

long TrainConfig::total_steps(Index train_samples) const {
  if (steps > 0 || epochs <= 0) return steps;
  const Index b = batch_size(train_samples);
  return epochs * static_cast<long>((train_samples + b - 1) / b);
}

}  // namespace initbench
