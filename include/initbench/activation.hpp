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
// At a kink (relu, leaky_relu at 0) the derivative taken is the right-hand one's complement:
// phi'(0) = 0 for relu and slope for leaky_relu, as PyTorch does. The matrix versions run the
// kernels (kernels.hpp; formulas and accuracy in docs/kernels.md).
#pragma once

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
  kGelu
};

struct Activation {
  ActivationKind kind = ActivationKind::kRelu;
  double param = 0.0;  // leaky_relu: negative slope; elu: alpha; unused otherwise

  // "relu", "leaky_relu", "leaky_relu(slope=0.2)", "elu(alpha=0.5)", ...
  static Activation parse(std::string_view text);
  std::string name() const;   // canonical name without parameters: "leaky_relu"
  std::string str() const;    // with a non-default parameter: "leaky_relu(slope=0.2)"
  bool is_relu_like() const;  // units that can be exactly 0 (dead): relu
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
