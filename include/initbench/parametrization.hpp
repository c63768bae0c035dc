// parametrization.hpp: how a plain MLP's weights, forward multipliers and per-layer learning
// rates scale with width: standard, NTK or muP (Yang et al. 2022, Tensor Programs V).
//
// A layer l computes z_l = c_l W_l a_{l-1} + b_l (MlpConfig::multipliers holds c_l; 1 under
// standard). The initialization scheme draws W_l as always; the parametrization then multiplies
// the drawn W_l and b_l by init factors and gives each layer's weights and bias a learning-rate
// factor (OptimizerConfig::lr_weights, lr_biases). With sigma^2 / fan_in the scheme's variance
// (the scheme must be of that form: lecun_*, he_*, variance_scaling(mode=fan_in), ...):
//
//   standard  c_l = 1, W_l as the scheme draws it, every rate lr.
//   ntk       c_l = sigma / sqrt(fan_in), W_l drawn and divided by c_l (unit variance, the
//             scheme's shape), every rate lr; biases unchanged. The function at step 0 is the
//             standard one; training moves c_l W_l at rate c_l^2 lr.
//   mup       microsoft/mup's form with base shapes: a hidden dimension of n units has width
//             multiplier m = n / base_width (input and output sizes are finite, m = 1), so at
//             width = base_width muP is the standard parametrization.
//               input weights W_1 and hidden biases: SGD lr * m_out, Adam lr
//               hidden weights:                      SGD lr * m_out / m_in, Adam lr / m_in
//               output weights W_L (readout):        c_L = 1 / m_in, W_L and b_L drawn times
//                                                    sqrt(m_in); SGD lr * m_in, Adam lr
//               output bias:                         lr
//             SGD-like optimizers (sgd, momentum, nesterov) take the SGD column, adam the Adam
//             one; weight decay is divided by the rate factor (mup scales it so that lr * decay
//             stays as it was).
// Residual nets, data-dependent schemes (lsuv), npy folders and schemes whose variance is not
// sigma^2 / fan_in are refused with the reason.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "initbench/init.hpp"
#include "initbench/mlp.hpp"
#include "initbench/optimizer.hpp"

namespace initbench {

enum class Parametrization { kStandard, kNtk, kMup };

Parametrization parse_parametrization(std::string_view text);  // throws std::invalid_argument
std::string parametrization_name(Parametrization p);
const std::vector<std::string>& parametrization_names();

// Per-layer factors, index l = 1..L (index 0 unused, 1).
struct LayerScales {
  std::vector<double> multiplier;  // c_l of the forward pass
  std::vector<double> init_w;      // factor on the drawn W_l
  std::vector<double> init_b;      // factor on the drawn b_l
  std::vector<double> lr_w;        // learning-rate factor of W_l
  std::vector<double> lr_b;        // learning-rate factor of b_l
};

// The factors for a network (its sizes), its weight scheme and optimizer. base_width is read
// under mup only and must then be >= 1. Throws std::invalid_argument on a combination that does
// not fit (what and what is allowed).
LayerScales parametrize(Parametrization p, const MlpConfig& net, const Scheme& scheme,
                        OptimizerKind optimizer, Index base_width);

// Multiplies the drawn weights and biases by the init factors (after initialize()).
template <typename T>
void apply_init_factors(Mlp<T>& net, const LayerScales& scales);

}  // namespace initbench
