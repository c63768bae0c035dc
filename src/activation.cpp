#include "initbench/activation.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

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

// The matrix versions are Eigen array expressions on flat spans: one vectorised pass each, no
// temporaries. A contiguous block (what the network's buffers always are) is one span; otherwise
// each column is one. (Eigen traverses a Ref with a runtime outer stride column by column, and
// with 1 to 10 rows per column that is scalar code: many times slower.)
namespace {

template <typename T>
using Span = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using ConstSpan = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

template <typename T>
bool contiguous(const ConstMatrixRef<T>& x) {
  return x.outerStride() == x.rows() || x.cols() <= 1;
}

template <typename T>
void forward_span(const Activation& act, const ConstSpan<T>& Z, Span<T> A) {
  const T p = static_cast<T>(act.param);
  const T zero(0);
  const T one(1);
  switch (act.kind) {
    case ActivationKind::kIdentity: A = Z; break;
    // Eigen's logistic() is stable on both tails (no exp overflow to inf/inf).
    case ActivationKind::kSigmoid: A = Z.logistic(); break;
    case ActivationKind::kTanh: A = Z.tanh(); break;
    case ActivationKind::kRelu: A = Z.max(zero); break;
    case ActivationKind::kLeakyRelu: A = (Z > zero).select(Z, p * Z); break;
    // max(z, 0) + alpha (e^min(z, 0) - 1) is z for z > 0 and alpha (e^z - 1) otherwise, without
    // select(), which Eigen 3.4 evaluates one scalar (and one scalar exp) at a time.
    case ActivationKind::kElu: A = Z.max(zero) + p * (Z.min(zero).exp() - one); break;
    case ActivationKind::kSelu: {
      const T lambda = static_cast<T>(kSeluLambda);
      const T alpha = static_cast<T>(kSeluAlpha);
      A = lambda * (Z.max(zero) + alpha * (Z.min(zero).exp() - one));
      break;
    }
    case ActivationKind::kSoftsign: A = Z / (one + Z.abs()); break;
    case ActivationKind::kGelu: {
      const T half(0.5);
      const T inv_sqrt2 = static_cast<T>(kInvSqrt2);
      A = half * Z * (one + Z.unaryExpr([inv_sqrt2](T v) { return std::erf(v * inv_sqrt2); }));
      break;
    }
  }
}

template <typename T>
void backward_span(const Activation& act, const ConstSpan<T>& Z, const ConstSpan<T>& A, Span<T> D) {
  const T p = static_cast<T>(act.param);
  const T zero(0);
  const T one(1);
  switch (act.kind) {
    case ActivationKind::kIdentity: break;
    case ActivationKind::kSigmoid: D *= A * (one - A); break;
    case ActivationKind::kTanh: D *= one - A.square(); break;
    case ActivationKind::kRelu: D = (Z > zero).select(D, zero); break;
    case ActivationKind::kLeakyRelu: D = (Z > zero).select(D, p * D); break;
    case ActivationKind::kElu: D = (Z > zero).select(D, (A + p) * D); break;
    case ActivationKind::kSelu: {
      const T lambda = static_cast<T>(kSeluLambda);
      const T lambda_alpha = static_cast<T>(kSeluLambda * kSeluAlpha);
      // for z <= 0: a = lambda alpha (e^z - 1), so phi'(z) = lambda alpha e^z = a + lambda alpha
      D = (Z > zero).select(lambda * D, (A + lambda_alpha) * D);
      break;
    }
    case ActivationKind::kSoftsign: D /= (one + Z.abs()).square(); break;
    case ActivationKind::kGelu: {
      const T half(0.5);
      const T inv_sqrt2 = static_cast<T>(kInvSqrt2);
      const T inv_sqrt2pi = static_cast<T>(kInvSqrt2Pi);
      D *= Z.unaryExpr([=](T v) {
        return half * (one + std::erf(v * inv_sqrt2)) + v * inv_sqrt2pi * std::exp(-half * v * v);
      });
      break;
    }
  }
}

}  // namespace

template <typename T>
void activation_forward(const Activation& act, const ConstMatrixRef<T>& z, MatrixRef<T> a) {
  if (contiguous<T>(z) && contiguous<T>(a)) {
    forward_span<T>(act, ConstSpan<T>(z.data(), z.size()), Span<T>(a.data(), a.size()));
    return;
  }
  for (Index j = 0; j < z.cols(); ++j) {
    forward_span<T>(act, ConstSpan<T>(z.data() + j * z.outerStride(), z.rows()),
                    Span<T>(a.data() + j * a.outerStride(), a.rows()));
  }
}

template <typename T>
void activation_backward(const Activation& act, const ConstMatrixRef<T>& z,
                         const ConstMatrixRef<T>& a, MatrixRef<T> d) {
  if (contiguous<T>(z) && contiguous<T>(a) && contiguous<T>(d)) {
    backward_span<T>(act, ConstSpan<T>(z.data(), z.size()), ConstSpan<T>(a.data(), a.size()),
                     Span<T>(d.data(), d.size()));
    return;
  }
  for (Index j = 0; j < z.cols(); ++j) {
    backward_span<T>(act, ConstSpan<T>(z.data() + j * z.outerStride(), z.rows()),
                     ConstSpan<T>(a.data() + j * a.outerStride(), a.rows()),
                     Span<T>(d.data() + j * d.outerStride(), d.rows()));
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
