#include "initbench/optimizer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

#include "initbench/text.hpp"

namespace initbench {

const std::vector<std::string>& optimizer_names() {
  static const std::vector<std::string> names{"sgd", "momentum", "nesterov", "adam"};
  return names;
}

OptimizerKind parse_optimizer(std::string_view text) {
  if (text == "sgd") return OptimizerKind::kSgd;
  if (text == "momentum") return OptimizerKind::kMomentum;
  if (text == "nesterov") return OptimizerKind::kNesterov;
  if (text == "adam") return OptimizerKind::kAdam;
  throw std::invalid_argument(fmt::format("unknown optimizer '{}'{}; allowed: {}", text,
                                          did_you_mean(text, optimizer_names()),
                                          join(optimizer_names())));
}

std::string optimizer_name(OptimizerKind kind) {
  return optimizer_names()[static_cast<std::size_t>(kind)];
}

void OptimizerConfig::validate() const {
  auto require = [](bool ok, const char* what, double value, const char* allowed) {
    if (!ok)
      throw std::invalid_argument(
          fmt::format("optimizer {} = {} is out of range: must be {}", what, value, allowed));
  };
  require(std::isfinite(lr) && lr > 0, "lr", lr, "> 0");
  require(momentum >= 0 && momentum < 1, "momentum", momentum, "in [0, 1)");
  require(beta1 >= 0 && beta1 < 1, "beta1", beta1, "in [0, 1)");
  require(beta2 >= 0 && beta2 < 1, "beta2", beta2, "in [0, 1)");
  require(eps > 0, "eps", eps, "> 0");
  require(std::isfinite(weight_decay) && weight_decay >= 0, "weight_decay", weight_decay, ">= 0");
  for (const auto* factors : {&lr_weights, &lr_biases}) {
    for (std::size_t l = 1; l < factors->size(); ++l)
      require(std::isfinite((*factors)[l]) && (*factors)[l] > 0, "per-layer lr factor",
              (*factors)[l], "> 0 and finite");
  }
}

template <typename T>
Optimizer<T>::Optimizer(const OptimizerConfig& config, const MlpConfig& net)
    : config_(config), learn_alpha_(net.residual() && net.learn_alpha) {
  config_.validate();
  const auto layers = static_cast<std::size_t>(net.num_layers() + 1);
  if ((!config_.lr_weights.empty() && config_.lr_weights.size() != layers) ||
      (!config_.lr_biases.empty() && config_.lr_biases.size() != layers)) {
    throw std::invalid_argument(fmt::format(
        "per-layer lr factors of sizes {} and {}: the network needs {} (index 0 unused)",
        config_.lr_weights.size(), config_.lr_biases.size(), layers));
  }
  if (config_.kind != OptimizerKind::kSgd) m_ = Params<T>(net);
  if (config_.kind == OptimizerKind::kAdam) v_ = Params<T>(net);
}

namespace {

constexpr double kNanRatio = std::numeric_limits<double>::quiet_NaN();

// One parameter block p with gradient g; decay is 0 for biases.
// lr_factor: the layer's learning-rate factor (1 but under a parametrization).
template <typename T, typename P, typename G, typename S>
void update(const OptimizerConfig& c, long t, P& p, const G& g, S* m, S* v, T decay,
            double lr_factor) {
  const T lr = static_cast<T>(c.lr * lr_factor);
  switch (c.kind) {
    case OptimizerKind::kSgd:
      if (decay != T(0)) {
        p.array() -= lr * (g.array() + decay * p.array());
      } else {
        p.noalias() -= lr * g;
      }
      return;
    case OptimizerKind::kMomentum:
    case OptimizerKind::kNesterov: {
      const T mu = static_cast<T>(c.momentum);
      m->array() = mu * m->array() + g.array() + decay * p.array();
      if (c.kind == OptimizerKind::kMomentum) {
        p.noalias() -= lr * *m;
      } else {
        p.array() -= lr * (g.array() + decay * p.array() + mu * m->array());
      }
      return;
    }
    case OptimizerKind::kAdam: {
      const T b1 = static_cast<T>(c.beta1);
      const T b2 = static_cast<T>(c.beta2);
      const T bias1 = static_cast<T>(1.0 - std::pow(c.beta1, static_cast<double>(t)));
      const T bias2 = static_cast<T>(1.0 - std::pow(c.beta2, static_cast<double>(t)));
      const T eps = static_cast<T>(c.eps);
      // A plain loop rather than Eigen's packet math: with fast math Eigen's vectorised sqrt is
      // an approximation while the loop's tail uses std::sqrt, so two parameters with the same
      // gradient history could get updates a bit apart, and Adam (which scales tiny gradients up
      // to full steps) would break the symmetry of identical neurons. Here every entry goes
      // through the same correctly rounded operations, vectorised or not.
      T* pp = p.data();
      const T* gp = g.data();
      T* mp = m->data();
      T* vp = v->data();
      const Index n = p.size();
      for (Index i = 0; i < n; ++i) {
        const T gi = gp[i] + decay * pp[i];
        mp[i] = b1 * mp[i] + (T(1) - b1) * gi;
        vp[i] = b2 * vp[i] + (T(1) - b2) * (gi * gi);
        pp[i] -= lr * (mp[i] / bias1) / (std::sqrt(vp[i] / bias2) + eps);
      }
      return;
    }
  }
}

}  // namespace

template <typename T>
void Optimizer<T>::step(Params<T>& params, const Params<T>& grads) {
  step(params, grads, nullptr);
}

namespace {

// update() on a weight matrix a block of kBlock entries at a time, measuring the change:
// returns {||p after - p before||^2, ||p before||^2}. The block before the update is kept on the
// stack (16 KiB in float), so the ratio costs no pass over memory of its own.
template <typename T, typename S>
std::pair<double, double> update_measured(const OptimizerConfig& c, long t, Matrix<T>& p,
                                          const Matrix<T>& g, S* m, S* v, T decay,
                                          double lr_factor) {
  constexpr Index kBlock = 4096;
  using Block = Eigen::Map<Vector<T>>;
  using ConstBlock = Eigen::Map<const Vector<T>>;
  Eigen::Matrix<T, Eigen::Dynamic, 1, 0, kBlock, 1> before;
  double change2 = 0.0;
  double before2 = 0.0;
  for (Index i = 0; i < p.size(); i += kBlock) {
    const Index n = std::min(kBlock, p.size() - i);
    Block pb(p.data() + i, n);
    before = pb;
    Block mb(m != nullptr ? m->data() + i : nullptr, m != nullptr ? n : 0);
    Block vb(v != nullptr ? v->data() + i : nullptr, v != nullptr ? n : 0);
    update<T>(c, t, pb, ConstBlock(g.data() + i, n), m != nullptr ? &mb : nullptr,
              v != nullptr ? &vb : nullptr, decay, lr_factor);
    change2 += static_cast<double>((pb - before).squaredNorm());
    before2 += static_cast<double>(before.squaredNorm());
  }
  return {change2, before2};
}

}  // namespace

template <typename T>
void Optimizer<T>::step(Params<T>& params, const Params<T>& grads,
                        std::vector<double>* update_ratios) {
  ++t_;
  const bool has_m = !m_.W.empty();
  const bool has_v = !v_.W.empty();
  if (update_ratios != nullptr) update_ratios->assign(params.W.size(), kNanRatio);
  for (std::size_t l = 1; l < params.W.size(); ++l) {
    Matrix<T>* m = has_m ? &m_.W[l] : nullptr;
    Matrix<T>* v = has_v ? &v_.W[l] : nullptr;
    const double lr_w = config_.lr_weights.empty() ? 1.0 : config_.lr_weights[l];
    const double lr_b = config_.lr_biases.empty() ? 1.0 : config_.lr_biases[l];
    const T decay = static_cast<T>(config_.weight_decay / lr_w);
    if (update_ratios != nullptr) {
      const auto [change2, before2] =
          update_measured<T>(config_, t_, params.W[l], grads.W[l], m, v, decay, lr_w);
      (*update_ratios)[l] = std::sqrt(change2) / std::sqrt(before2);
    } else {
      update<T>(config_, t_, params.W[l], grads.W[l], m, v, decay, lr_w);
    }
    update<T>(config_, t_, params.b[l], grads.b[l], has_m ? &m_.b[l] : nullptr,
              has_v ? &v_.b[l] : nullptr, T(0), lr_b);
  }
  // A norm's gamma_l and beta_l: updated like biases (not decayed; no parametrization's rate
  // factor, as a parametrization other than standard refuses norms); empty for other layers.
  for (std::size_t l = 1; l < params.gamma.size(); ++l) {
    if (params.gamma[l].size() == 0) continue;
    update<T>(config_, t_, params.gamma[l], grads.gamma[l], has_m ? &m_.gamma[l] : nullptr,
              has_v ? &v_.gamma[l] : nullptr, T(0), 1.0);
    update<T>(config_, t_, params.beta[l], grads.beta[l], has_m ? &m_.beta[l] : nullptr,
              has_v ? &v_.beta[l] : nullptr, T(0), 1.0);
  }
  // A residual net's branch scales, when learnable: updated like biases (not decayed).
  if (learn_alpha_) {
    update<T>(config_, t_, params.alpha, grads.alpha, has_m ? &m_.alpha : nullptr,
              has_v ? &v_.alpha : nullptr, T(0), 1.0);
  }
}

template <typename T>
double train_step(Mlp<T>& net, Optimizer<T>& opt, Index n) {
  net.forward(n);
  const double loss = net.loss(n);
  net.backward(n);
  net.update_running_stats(n);
  opt.step(net.params(), net.grads());
  return loss;
}

template double train_step<float>(Mlp<float>&, Optimizer<float>&, Index);
template double train_step<double>(Mlp<double>&, Optimizer<double>&, Index);
template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace initbench
