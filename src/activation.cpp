#include "initbench/activation.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "initbench/kernels.hpp"
#include "initbench/text.hpp"

namespace initbench {

namespace {

struct ActivationInfo {
  ActivationKind kind;
  const char* name;
  const char* param_name;  // nullptr: takes no parameter
  double default_param;
};

constexpr ActivationInfo kActivations[] = {
    {ActivationKind::kIdentity, "identity", nullptr, 0.0},
    {ActivationKind::kSigmoid, "sigmoid", nullptr, 0.0},
    {ActivationKind::kTanh, "tanh", nullptr, 0.0},
    {ActivationKind::kRelu, "relu", nullptr, 0.0},
    {ActivationKind::kLeakyRelu, "leaky_relu", "slope", 0.01},
    {ActivationKind::kElu, "elu", "alpha", 1.0},
    {ActivationKind::kSelu, "selu", nullptr, 0.0},
    {ActivationKind::kSoftsign, "softsign", nullptr, 0.0},
    {ActivationKind::kGelu, "gelu", nullptr, 0.0},
};

const ActivationInfo& info(ActivationKind kind) {
  for (const auto& entry : kActivations) {
    if (entry.kind == kind) return entry;
  }
  throw std::logic_error("unhandled activation kind");
}

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

}  // namespace

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& entry : kActivations) out.emplace_back(entry.name);
    return out;
  }();
  return names;
}

Activation Activation::parse(std::string_view text) {
  const Call call = parse_call(text);
  for (const auto& entry : kActivations) {
    if (call.name != entry.name) continue;
    Activation act{entry.kind, entry.default_param};
    if (call.args.empty()) return act;
    if (entry.param_name == nullptr) {
      throw std::invalid_argument(fmt::format("activation '{}' takes no parameters", entry.name));
    }
    if (call.args.size() > 1 ||
        (!call.args[0].first.empty() && call.args[0].first != entry.param_name)) {
      throw std::invalid_argument(
          fmt::format("activation '{}' takes one parameter, {}", entry.name, entry.param_name));
    }
    auto value = parse_double(call.args[0].second);
    if (!value || !std::isfinite(*value)) {
      throw std::invalid_argument(
          fmt::format("activation '{}': {} must be a finite number, got '{}'", entry.name,
                      entry.param_name, call.args[0].second));
    }
    if (entry.kind == ActivationKind::kElu && *value <= 0) {
      throw std::invalid_argument(
          fmt::format("activation 'elu': alpha must be > 0, got {}", *value));
    }
    act.param = *value;
    return act;
  }
  throw std::invalid_argument(fmt::format("unknown activation '{}'{}; allowed: {}", call.name,
                                          did_you_mean(call.name, activation_names()),
                                          join(activation_names())));
}

std::string Activation::name() const { return info(kind).name; }

std::string Activation::str() const {
  const auto& entry = info(kind);
  if (entry.param_name == nullptr || param == entry.default_param) return entry.name;
  return fmt::format("{}({}={})", entry.name, entry.param_name, format_number(param));
}

bool Activation::is_relu_like() const { return kind == ActivationKind::kRelu; }

double activation_value(const Activation& act, double z) {
  switch (act.kind) {
    case ActivationKind::kIdentity: return z;
    case ActivationKind::kSigmoid:
      return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
    case ActivationKind::kTanh: return std::tanh(z);
    case ActivationKind::kRelu: return z > 0 ? z : 0.0;
    case ActivationKind::kLeakyRelu: return z > 0 ? z : act.param * z;
    case ActivationKind::kElu: return z > 0 ? z : act.param * std::expm1(z);
    case ActivationKind::kSelu: return kSeluLambda * (z > 0 ? z : kSeluAlpha * std::expm1(z));
    case ActivationKind::kSoftsign: return z / (1.0 + std::abs(z));
    case ActivationKind::kGelu: return 0.5 * z * (1.0 + std::erf(z * kInvSqrt2));
  }
  return z;
}

double activation_derivative(const Activation& act, double z) {
  switch (act.kind) {
    case ActivationKind::kIdentity: return 1.0;
    case ActivationKind::kSigmoid: {
      const double s = activation_value(act, z);
      return s * (1.0 - s);
    }
    case ActivationKind::kTanh: {
      const double t = std::tanh(z);
      return 1.0 - t * t;
    }
    case ActivationKind::kRelu: return z > 0 ? 1.0 : 0.0;
    case ActivationKind::kLeakyRelu: return z > 0 ? 1.0 : act.param;
    case ActivationKind::kElu: return z > 0 ? 1.0 : act.param * std::exp(z);
    case ActivationKind::kSelu: return kSeluLambda * (z > 0 ? 1.0 : kSeluAlpha * std::exp(z));
    case ActivationKind::kSoftsign: {
      const double d = 1.0 + std::abs(z);
      return 1.0 / (d * d);
    }
    case ActivationKind::kGelu:
      return 0.5 * (1.0 + std::erf(z * kInvSqrt2)) + z * kInvSqrt2Pi * std::exp(-0.5 * z * z);
  }
  return 1.0;
}

// The matrix versions run the kernels (kernels.hpp: the same bits on every instruction set, in
// every lane) on flat spans: the whole block when it is contiguous (as the network's buffers
// always are), else one column at a time.
namespace {

template <typename T>
bool contiguous(const ConstMatrixRef<T>& x) {
  return x.outerStride() == x.rows() || x.cols() <= 1;
}

}  // namespace

template <typename T>
void activation_forward(const Activation& act, const ConstMatrixRef<T>& z, MatrixRef<T> a) {
  if (contiguous<T>(z) && contiguous<T>(a)) {
    kernels::activation_forward<T>(act, z.size(), z.data(), a.data());
    return;
  }
  for (Index j = 0; j < z.cols(); ++j) {
    kernels::activation_forward<T>(act, z.rows(), z.data() + j * z.outerStride(),
                                   a.data() + j * a.outerStride());
  }
}

template <typename T>
void activation_backward(const Activation& act, const ConstMatrixRef<T>& z,
                         const ConstMatrixRef<T>& a, MatrixRef<T> d) {
  if (contiguous<T>(z) && contiguous<T>(a) && contiguous<T>(d)) {
    kernels::activation_backward<T>(act, z.size(), z.data(), a.data(), d.data());
    return;
  }
  for (Index j = 0; j < z.cols(); ++j) {
    kernels::activation_backward<T>(act, z.rows(), z.data() + j * z.outerStride(),
                                    a.data() + j * a.outerStride(), d.data() + j * d.outerStride());
  }
}

template void activation_forward<float>(const Activation&, const ConstMatrixRef<float>&,
                                        MatrixRef<float>);
template void activation_forward<double>(const Activation&, const ConstMatrixRef<double>&,
                                         MatrixRef<double>);
template void activation_backward<float>(const Activation&, const ConstMatrixRef<float>&,
                                         const ConstMatrixRef<float>&, MatrixRef<float>);
template void activation_backward<double>(const Activation&, const ConstMatrixRef<double>&,
                                          const ConstMatrixRef<double>&, MatrixRef<double>);

}  // namespace initbench
