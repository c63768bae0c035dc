#include "initbench/activation.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "initbench/kernels.hpp"
#include "initbench/text.hpp"

namespace initbench {

namespace {

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

double sigmoid(double z) {
  return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
}

// Each entry names only the fields it sets; the rest keep ActivationTraits' defaults. GCC 12
// warns about exactly that (-Wmissing-field-initializers), which is the point of designated
// initializers here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
// A function-local static: other files may parse activations during their static initialization.
const std::vector<ActivationTraits>& registry() {
  static const std::vector<ActivationTraits> entries = {
      {.kind = ActivationKind::kIdentity,
       .name = "identity",
       .value = [](double, double z) { return z; },
       .derivative = [](double, double) { return 1.0; },
       .gain = [](double) { return 1.0; },
       .homogeneous_k = [](double) { return 1.0; }},
      {.kind = ActivationKind::kSigmoid,
       .name = "sigmoid",
       .value = [](double, double z) { return sigmoid(z); },
       .derivative =
           [](double, double z) {
             const double s = sigmoid(z);
             return s * (1.0 - s);
           },
       .gain = [](double) { return 1.0; },
       .saturated_below = 0.01,
       .saturated_above = 0.99,
       .histogram_lo = 0.0,
       .histogram_hi = 1.0},
      {.kind = ActivationKind::kTanh,
       .name = "tanh",
       .value = [](double, double z) { return std::tanh(z); },
       .derivative =
           [](double, double z) {
             const double t = std::tanh(z);
             return 1.0 - t * t;
           },
       .gain = [](double) { return 5.0 / 3.0; },
       .saturated_below = -0.99,
       .saturated_above = 0.99,
       .histogram_lo = -1.0,
       .histogram_hi = 1.0},
      {.kind = ActivationKind::kRelu,
       .name = "relu",
       .value = [](double, double z) { return z > 0 ? z : 0.0; },
       .derivative = [](double, double z) { return z > 0 ? 1.0 : 0.0; },
       .gain = [](double) { return std::sqrt(2.0); },
       .homogeneous_k = [](double) { return 0.5; },
       .histogram_lo = 0.0,
       .can_die = true},
      {.kind = ActivationKind::kLeakyRelu,
       .name = "leaky_relu",
       .param_name = "slope",
       .default_param = 0.01,
       .value = [](double slope, double z) { return z > 0 ? z : slope * z; },
       .derivative = [](double slope, double z) { return z > 0 ? 1.0 : slope; },
       .gain = [](double slope) { return std::sqrt(2.0 / (1.0 + slope * slope)); },
       .homogeneous_k = [](double slope) { return (1.0 + slope * slope) / 2.0; }},
      {.kind = ActivationKind::kElu,
       .name = "elu",
       .param_name = "alpha",
       .default_param = 1.0,
       .param_positive = true,
       .value = [](double alpha, double z) { return z > 0 ? z : alpha * std::expm1(z); },
       .derivative = [](double alpha, double z) { return z > 0 ? 1.0 : alpha * std::exp(z); }},
      {.kind = ActivationKind::kSelu,
       .name = "selu",
       .value = [](double,
                   double z) { return kSeluLambda * (z > 0 ? z : kSeluAlpha * std::expm1(z)); },
       .derivative =
           [](double, double z) { return kSeluLambda * (z > 0 ? 1.0 : kSeluAlpha * std::exp(z)); },
       .gain = [](double) { return 0.75; }},
      {.kind = ActivationKind::kSoftsign,
       .name = "softsign",
       .value = [](double, double z) { return z / (1.0 + std::abs(z)); },
       .derivative =
           [](double, double z) {
             const double d = 1.0 + std::abs(z);
             return 1.0 / (d * d);
           },
       .saturated_below = -0.9,
       .saturated_above = 0.9,
       .histogram_lo = -1.0,
       .histogram_hi = 1.0},
      {.kind = ActivationKind::kGelu,
       .name = "gelu",
       .value = [](double, double z) { return 0.5 * z * (1.0 + std::erf(z * kInvSqrt2)); },
       .derivative =
           [](double, double z) {
             return 0.5 * (1.0 + std::erf(z * kInvSqrt2)) +
                    z * kInvSqrt2Pi * std::exp(-0.5 * z * z);
           }},
      {.kind = ActivationKind::kSilu,
       .name = "silu",
       .value = [](double, double z) { return z * sigmoid(z); },
       .derivative =
           [](double, double z) {
             const double s = sigmoid(z);
             return s + z * s * (1.0 - s);
           }},
  };
  return entries;
}
#pragma GCC diagnostic pop

}  // namespace

const std::vector<ActivationTraits>& activation_registry() { return registry(); }

const ActivationTraits& activation_traits(ActivationKind kind) {
  for (const auto& entry : registry()) {
    if (entry.kind == kind) return entry;
  }
  throw std::logic_error("unhandled activation kind");
}

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& entry : registry()) out.emplace_back(entry.name);
    return out;
  }();
  return names;
}

Activation Activation::parse(std::string_view text) {
  const Call call = parse_call(text);
  for (const auto& entry : registry()) {
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
    if (entry.param_positive && *value <= 0) {
      throw std::invalid_argument(fmt::format("activation '{}': {} must be > 0, got {}", entry.name,
                                              entry.param_name, *value));
    }
    act.param = *value;
    return act;
  }
  throw std::invalid_argument(fmt::format("unknown activation '{}'{}; allowed: {}", call.name,
                                          did_you_mean(call.name, activation_names()),
                                          join(activation_names())));
}

std::string Activation::name() const { return traits().name; }

std::string Activation::str() const {
  const auto& entry = traits();
  if (entry.param_name == nullptr || param == entry.default_param) return entry.name;
  return fmt::format("{}({}={})", entry.name, entry.param_name, format_number(param));
}

double activation_value(const Activation& act, double z) {
  return act.traits().value(act.param, z);
}

double activation_derivative(const Activation& act, double z) {
  return act.traits().derivative(act.param, z);
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
