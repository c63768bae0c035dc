// residual_support.hpp: the hand-computed residual net that test_mlp.cpp and test_probes.cpp
// share.
#pragma once

#include "initbench/mlp.hpp"

namespace initbench {

// Sizes 1-1-1-1, relu, linear output (MSE), one block of one layer, after forward on its one
// sample x = 2, y = 1:
//   x_0 = W1 x + b1 = 1 * 2 + 0 = 2;  branch F = W2 relu(x_0) + b2 = 3 * 2 - 1 = 5
//   x_1 = x_0 + alpha F = 2 + 0.5 * 5 = 4.5;  z_3 = W3 relu(x_1) + b3 = 2 * 4.5 + 0 = 9
//   L = (9 - 1)^2 = 64
// Backward: dz3 = 16;  dW3 = 16 * 4.5 = 72;  db3 = 16;  G_1 = W3 dz3 relu'(x_1) = 32
//   dalpha = G_1 F = 160;  D2 = alpha G_1 = 16;  dW2 = 16 * relu(x_0) = 32;  db2 = 16
//   G_0 = G_1 + W2 D2 relu'(x_0) = 32 + 48 = 80;  dW1 = 80 * 2 = 160;  db1 = 80
inline Mlp<double> hand_residual_network() {
  MlpConfig config{{1, 1, 1, 1}, Activation::parse("relu"), Output::kLinear};
  config.blocks = 1;
  config.block_depth = 1;
  Mlp<double> net(config, 1);
  net.W(1) << 1;
  net.W(2) << 3;
  net.b(2) << -1;
  net.W(3) << 2;
  net.alpha(1) = 0.5;
  net.workspace().input(1) << 2;
  net.workspace().target(1) << 1;
  net.forward(1);
  return net;
}

}  // namespace initbench
