// init/internal.hpp (internal): what the scheme registry (schemes.cpp) shares with the scheme
// parser and the network initialization (init.cpp).
#pragma once

#include <cmath>
#include <limits>

#include "initbench/init.hpp"
#include "initbench/rng.hpp"

namespace initbench::init_internal {

inline constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// The standard normal's cumulative distribution function.
inline double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// The schemes. Each sampler gets the parsed scheme, the fans, and the layer's generator.
using Sampler = Matrix<double> (*)(const Scheme&, Index rows, Index cols, Index fan_in,
                                   Index fan_out, Rng&);

// Var(w) of one entry of a (fan_out, fan_in) matrix the scheme samples, before init.scale:
// E[w^2] - E[w]^2 over the distribution (nan where it depends on the data).
using Variance = double (*)(const Scheme&, Index fan_in, Index fan_out);

// What a residual scheme does to a residual net besides sampling every layer with its sampler.
struct ResidualStart {
  double alpha = 1.0;             // every alpha_b's start
  double branch_scale = 1.0;      // multiplies every branch layer but the last one
  bool zero_branch_last = false;  // the last layer of every branch: weights 0
  bool zero_output = false;       // the output layer: weights and bias 0
};
using ResidualRule = ResidualStart (*)(const Scheme&, const MlpConfig&);

struct Entry {
  SchemeInfo info;
  Sampler sample;
  Variance variance;
  ResidualRule residual = nullptr;  // set exactly when info.residual
};

// Every scheme's entry, in listing order; the entry of a registered SchemeInfo.
const std::vector<Entry>& registry();
const Entry& find_entry(const SchemeInfo* info);

// npy(path): the folder's weights (load_weights_folder), checked against the network: one W<l>.npy
// of shape (fan_out, fan_in) per layer, and no init.bias beside b<l>.npy files. Throws
// std::invalid_argument (npy.cpp).
std::vector<LayerWeights> network_weights(const InitConfig& init, const MlpConfig& net);

// A (rows, cols) matrix of N(mean, stddev^2) draws, row by row.
Matrix<double> normal(Index rows, Index cols, double mean, double stddev, Rng& rng);

}  // namespace initbench::init_internal
