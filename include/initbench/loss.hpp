// loss.hpp: output layers and their losses, computed from the logits z = Z_L.
//
// Each output pairs the last layer's activation with its loss, and every quantity is computed
// from the logits directly so that no log(0) occurs: where the course computes
// -log(sigmoid(z)) = -log(0) = inf for a saturated unit, we compute softplus(-z), which is large
// but finite, and the gradient sigmoid(z) - y stays exact. Reductions are means, as PyTorch's
// defaults compute them:
//   linear  + MSE:  L = mean over entries of (z - y)^2            dL/dz = 2 (z - y) / (k m)
//   sigmoid + BCE:  L = mean over entries of softplus(z) - y z     dL/dz = (sigmoid(z) - y) / (k m)
//                   (softplus(z) = max(z, 0) + log1p(e^-|z|))
//   softmax + CE:   L = mean over samples of logsumexp(z) - y.z    dL/dz = (softmax(z) - y) / m
// with k outputs and m samples; y holds targets (0/1 for sigmoid, one-hot for softmax).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "initbench/types.hpp"

namespace initbench {

enum class Output { kLinear, kSigmoid, kSoftmax };

Output parse_output(std::string_view text);  // "linear" | "sigmoid" | "softmax"
std::string output_name(Output output);
const std::vector<std::string>& output_names();

// Mean loss of logits z (k, m) against targets y (k, m): a compensated (Neumaier) sum in double,
// in a fixed order (column by column, row by row).
template <typename T>
double loss_forward(Output output, const ConstMatrixRef<T>& z, const ConstMatrixRef<T>& y);

// dz = dL/dz of the mean loss. dz has z's shape and may not alias it.
template <typename T>
void loss_backward(Output output, const ConstMatrixRef<T>& z, const ConstMatrixRef<T>& y,
                   MatrixRef<T> dz);

// Number of correct predictions, and of predictions made: sigmoid outputs count each entry
// (z > 0 means class 1), softmax outputs count each sample (argmax). A nan logit (a diverged
// network) predicts nothing and counts as wrong. Linear outputs make no class predictions
// (total 0: accuracy is nan).
struct Correct {
  Index correct = 0;
  Index total = 0;
};
template <typename T>
Correct count_correct(Output output, const ConstMatrixRef<T>& z, const ConstMatrixRef<T>& y);

}  // namespace initbench
