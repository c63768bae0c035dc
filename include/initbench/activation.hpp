// activation.hpp: hidden-layer nonlinearities phi, forward and backward.
//
//   identity   phi(z) = z
//   sigmoid    phi(z) = 1 / (1 + e^-z)
//   tanh       phi(z) = tanh z
//   relu       phi(z) = max(z, 0)
//   leaky_relu phi(z) = z if z > 0 else slope * z                 (slope default 0.01)
//   elu        phi(z) = z if z > 0 else alpha (e^z - 1)            (alpha default 1)
//   selu       phi(z) = lambda * (z if z > 0 else alpha (e^z - 1)) (Klambauer et al. 2017)
//   softsign   phi(z) = z / (1 + |z|)
//   gelu       phi(z) = z Phi(z) = z erfc(-z / sqrt 2) / 2        (exact form, PyTorch default)
//   silu       phi(z) = z sigmoid(z)                              (swish with beta 1; nn.SiLU)
// At a kink (relu, leaky_relu at 0) the derivative taken is the right-hand one's complement:
// phi'(0) = 0 for relu and slope for leaky_relu, as PyTorch does. The matrix versions run the
// kernels (kernels.hpp; formulas and accuracy in docs/kernels.md).
//
// Everything else the project knows about an activation (its parameter, scalar value and
// derivative, PyTorch's gain, its mean-field closed form, its saturated regime, its histogram
// range, whether units can die) is one ActivationTraits entry in src/activation.cpp; the
// initialization, mean-field and probe code read it instead of switching on the kind.
#pragma once

#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "initbench/types.hpp"

namespace initbench {

enum class ActivationKind {
  kIdentity,
  kSigmoid,
  kTanh,
  kRelu,
  kLeakyRelu,
  kElu,
  kSelu,
  kSoftsign,
  kGelu,
  kSilu
};

// One activation, declared once. A function pointer left null means "has none".
struct ActivationTraits {
  ActivationKind kind = ActivationKind::kIdentity;
  const char* name = "";
  const char* param_name = nullptr;  // nullptr: takes no parameter
  double default_param = 0.0;
  bool param_positive = false;  // the parameter must be > 0 (elu's alpha)
  double (*value)(double param, double z) = nullptr;
  double (*derivative)(double param, double z) = nullptr;
  // PyTorch's torch.nn.init.calculate_gain; null where PyTorch defines none.
  double (*gain)(double param) = nullptr;
  // Positively homogeneous activations: E[phi(z)^2] = k q and E[phi'(z)^2] = k for z ~ N(0, q),
  // so the mean-field variance map is linear (meanfield.hpp). Null: computed by quadrature.
  double (*homogeneous_k)(double param) = nullptr;
  // The saturated regime (the per-layer probe's saturated_frac): a < saturated_below or
  // a > saturated_above. Both nan: the activation has none.
  double saturated_below = std::numeric_limits<double>::quiet_NaN();
  double saturated_above = std::numeric_limits<double>::quiet_NaN();
  // The histogram probe's range for this activation's outputs: a finite end is fixed, a nan
  // end follows the data (+-max |a|, as for an unbounded output).
  double histogram_lo = std::numeric_limits<double>::quiet_NaN();
  double histogram_hi = std::numeric_limits<double>::quiet_NaN();
  bool can_die = false;  // a unit can output exactly 0 on every sample (the dead-unit probe)
};

// The entry of an activation kind, and every entry in declaration order.
const ActivationTraits& activation_traits(ActivationKind kind);
const std::vector<ActivationTraits>& activation_registry();

struct Activation {
  ActivationKind kind = ActivationKind::kRelu;
  double param = 0.0;  // leaky_relu: negative slope; elu: alpha; unused otherwise

  // "relu", "leaky_relu", "leaky_relu(slope=0.2)", "elu(alpha=0.5)", ...
  static Activation parse(std::string_view text);
  std::string name() const;  // canonical name without parameters: "leaky_relu"
  std::string str() const;   // with a non-default parameter: "leaky_relu(slope=0.2)"
  const ActivationTraits& traits() const { return activation_traits(kind); }
  friend bool operator==(const Activation&, const Activation&) = default;
};

// Every activation's canonical name, for error messages and listings.
const std::vector<std::string>& activation_names();

inline constexpr double kSeluLambda = 1.0507009873554804934193349852946;
inline constexpr double kSeluAlpha = 1.6732632423543772848170429916717;

// a = phi(z), elementwise. z and a have the same shape; they may not alias.
template <typename T>
void activation_forward(const Activation& act, const ConstMatrixRef<T>& z, MatrixRef<T> a);

// d *= phi'(z), elementwise, where a = phi(z) is what activation_forward wrote (some derivatives
// are cheaper from a). Turns dL/da into dL/dz in place.
template <typename T>
void activation_backward(const Activation& act, const ConstMatrixRef<T>& z,
                         const ConstMatrixRef<T>& a, MatrixRef<T> d);

// Scalar reference versions (tests, mean-field integrals).
double activation_value(const Activation& act, double z);
double activation_derivative(const Activation& act, double z);

}  // namespace initbench
