// optimizer.hpp: parameter updates from gradients. PyTorch's conventions (torch.optim):
//   sgd:       p -= lr * g
//   momentum:  v = mu v + g;            p -= lr * v
//   nesterov:  v = mu v + g;            p -= lr * (g + mu v)
//   adam:      m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2;
//              p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// with g = dL/dp + weight_decay * p for weights (L2 regularisation, added to the gradient as
// torch.optim does; biases are not decayed, as in the course and Keras' kernel regularisers).
// A norm's gamma_l and beta_l (mlp.hpp) are updated like biases, not decayed either (torch.optim
// decays every parameter it is given, gamma and beta included, unless they are put in a group
// of their own without decay, as is common practice).
// A residual net's branch scales alpha_b are updated like biases when MlpConfig::learn_alpha
// is set, and left as they are otherwise.
// All state is allocated at construction; step() allocates nothing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "initbench/mlp.hpp"

namespace initbench {

enum class OptimizerKind { kSgd, kMomentum, kNesterov, kAdam };

OptimizerKind parse_optimizer(std::string_view text);
std::string optimizer_name(OptimizerKind kind);
const std::vector<std::string>& optimizer_names();

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::kSgd;
  double lr = 0.01;
  double momentum = 0.9;  // momentum, nesterov
  double beta1 = 0.9;     // adam
  double beta2 = 0.999;   // adam
  double eps = 1e-8;      // adam
  double weight_decay = 0.0;
  // Learning-rate factors per layer, index l = 1..L (index 0 unused): W_l moves at lr *
  // lr_weights[l] with decay weight_decay / lr_weights[l], b_l at lr * lr_biases[l]; empty = 1
  // (parametrization.hpp fills them). A residual net's alpha_b use lr.
  std::vector<double> lr_weights{};
  std::vector<double> lr_biases{};
  void validate() const;  // throws std::invalid_argument on lr <= 0 etc.
};

template <typename T>
class Optimizer {
 public:
  Optimizer(const OptimizerConfig& config, const MlpConfig& net);
  void step(Params<T>& params, const Params<T>& grads);
  // The same update, also writing (*update_ratios)[l] = ||W_l after - W_l before|| /
  // ||W_l before|| for l = 1..L (the vector is resized to L + 1; index 0 unused). Measured in
  // the update's own pass, a block at a time, without a copy of the weights.
  void step(Params<T>& params, const Params<T>& grads, std::vector<double>* update_ratios);
  const OptimizerConfig& config() const { return config_; }
  long steps() const { return t_; }

 private:
  OptimizerConfig config_;
  Params<T> m_;  // momentum velocity, or Adam's first moment
  Params<T> v_;  // Adam's second moment
  long t_ = 0;
  bool learn_alpha_ = false;
};

// One training step on the network's own workspace (input(n), target(n) filled): forward,
// backward, a batch norm's running statistics, update. Returns the mean loss before the update.
// Allocates nothing.
template <typename T>
double train_step(Mlp<T>& net, Optimizer<T>& opt, Index n);

extern template class Optimizer<float>;
extern template class Optimizer<double>;

}  // namespace initbench
