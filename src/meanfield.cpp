#include "initbench/meanfield.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numbers>

namespace initbench {

namespace {

constexpr int kNodes = 16;
constexpr double kTail = 12.0;  // standard deviations: the Gaussian mass beyond is below 1e-32

// Gauss-Legendre nodes and weights on [-1, 1] by Golub-Welsch: the eigenvalues of the symmetric
// tridiagonal Jacobi matrix with off-diagonal k / sqrt(4k^2 - 1); weights 2 v_0^2.
struct Legendre {
  std::array<double, kNodes> x{};
  std::array<double, kNodes> w{};
  Legendre() {
    Eigen::MatrixXd J = Eigen::MatrixXd::Zero(kNodes, kNodes);
    for (int k = 1; k < kNodes; ++k) {
      const auto dk = static_cast<double>(k);
      J(k - 1, k) = J(k, k - 1) = dk / std::sqrt(4.0 * dk * dk - 1.0);
    }
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(J);
    for (int i = 0; i < kNodes; ++i) {
      x[static_cast<std::size_t>(i)] = solver.eigenvalues()(i);
      const double v0 = solver.eigenvectors()(0, i);
      w[static_cast<std::size_t>(i)] = 2.0 * v0 * v0;
    }
  }
};

const Legendre& legendre() {
  static const Legendre rule;
  return rule;
}

double gauss_density(double u) {
  return std::exp(-0.5 * u * u) / std::sqrt(2.0 * std::numbers::pi);
}

// E[f(mean + stddev U)] for U ~ N(0, 1). Activations have their kinks and their fastest changes
// at the origin, on a scale of 1: in U that is the point u0 = -mean / stddev and the scale
// 1 / stddev. The integral is split at u0 and covered outwards by intervals of geometrically
// growing length starting at min(1, 1 / stddev), each with 16-point Gauss-Legendre, so that
// piecewise-analytic integrands converge fast whatever the variance (Gauss-Hermite does not:
// it is off by 4% for E[tanh(z)^2] at q = 100).
template <typename F>
double expect_normal(double mean, double stddev, F f) {
  if (std::isnan(mean) || std::isnan(stddev)) return std::numeric_limits<double>::quiet_NaN();
  if (!(stddev > 0)) return f(mean);
  if (std::isinf(stddev)) {
    // A diverged network's variance: all the mass is at +-infinity, half on each side. (The
    // intervals below would start at length 1 / stddev = 0 and never advance.)
    constexpr double kInf = std::numeric_limits<double>::infinity();
    return 0.5 * (f(kInf) + f(-kInf));
  }
  const Legendre& rule = legendre();
  const double u0 = std::clamp(-mean / stddev, -kTail, kTail);
  const double first = std::min(1.0, 1.0 / stddev);
  double sum = 0.0;
  for (const double direction : {1.0, -1.0}) {
    const double end = direction > 0 ? kTail : -kTail;
    double a = u0;
    double length = first;
    while (direction * (end - a) > 0) {
      const double b = direction > 0 ? std::min(a + length, end) : std::max(a - length, end);
      const double mid = 0.5 * (a + b);
      const double half = 0.5 * (b - a);
      for (std::size_t i = 0; i < kNodes; ++i) {
        const double u = mid + half * rule.x[i];
        sum += direction * half * rule.w[i] * f(mean + stddev * u) * gauss_density(u);
      }
      a = b;
      length *= 2.0;
    }
  }
  return sum;
}

// E[f(z)], z ~ N(0, q)
template <typename F>
double expect(double q, F f) {
  return expect_normal(0.0, std::sqrt(std::max(q, 0.0)), f);
}

// E[f(u1, u2)] for (u1, u2) ~ N(0, q [[1, c], [c, 1]]): u1 = sqrt(q) z1,
// u2 = sqrt(q) (c z1 + sqrt(1 - c^2) z2), the inner expectation over z2 for each z1.
template <typename F>
double expect2(double q, double c, F f) {
  const double s = std::sqrt(q);
  const double r = std::sqrt(std::max(0.0, 1.0 - c * c));
  return expect(q, [&](double u1) {
    return expect_normal(c * u1, s * r, [&](double u2) { return f(u1, u2); });
  });
}

}  // namespace

double gaussian_mean_phi2(const Activation& act, double q) {
  switch (act.kind) {
    case ActivationKind::kIdentity: return q;
    case ActivationKind::kRelu: return q / 2.0;
    case ActivationKind::kLeakyRelu: return (1.0 + act.param * act.param) * q / 2.0;
    default:
      return expect(q, [&](double z) {
        const double a = activation_value(act, z);
        return a * a;
      });
  }
}

double gaussian_mean_dphi2(const Activation& act, double q) {
  switch (act.kind) {
    case ActivationKind::kIdentity: return 1.0;
    case ActivationKind::kRelu: return 0.5;
    case ActivationKind::kLeakyRelu: return (1.0 + act.param * act.param) / 2.0;
    default:
      return expect(q, [&](double z) {
        const double d = activation_derivative(act, z);
        return d * d;
      });
  }
}

double meanfield_next_q(const Activation& act, double q_prev, double sw2, double sb2) {
  return sw2 * gaussian_mean_phi2(act, q_prev) + sb2;
}

double meanfield_fixed_point(const Activation& act, double sw2, double sb2) {
  double q = 1.0;
  for (int i = 0; i < 10000; ++i) {
    const double next = meanfield_next_q(act, q, sw2, sb2);
    if (!std::isfinite(next)) return next;
    if (std::abs(next - q) <= 1e-13 * std::max(1.0, q)) return next;
    q = next;
  }
  return q;
}

double meanfield_chi1(const Activation& act, double sw2, double sb2) {
  return sw2 * gaussian_mean_dphi2(act, meanfield_fixed_point(act, sw2, sb2));
}

double meanfield_c_star(const Activation& act, double sw2, double sb2) {
  const double q = meanfield_fixed_point(act, sw2, sb2);
  if (!(q > 0) || !std::isfinite(q)) return 1.0;
  if (meanfield_chi1(act, sw2, sb2) <= 1.0) return 1.0;
  // Chaotic phase: c = 1 is unstable; iterate the correlation map from c = 0.5.
  double c = 0.5;
  for (int i = 0; i < 2000; ++i) {
    const double next =
        (sw2 * expect2(q, c,
                       [&](double u1, double u2) {
                         return activation_value(act, u1) * activation_value(act, u2);
                       }) +
         sb2) /
        q;
    if (std::abs(next - c) < 1e-12) return next;
    c = std::min(next, 1.0);
  }
  return c;
}

double meanfield_xi_c(const Activation& act, double sw2, double sb2) {
  const double q = meanfield_fixed_point(act, sw2, sb2);
  const double c = meanfield_c_star(act, sw2, sb2);
  const double chi_c =
      c >= 1.0 ? meanfield_chi1(act, sw2, sb2)
               : sw2 * expect2(q, c, [&](double u1, double u2) {
                   return activation_derivative(act, u1) * activation_derivative(act, u2);
                 });
  if (chi_c == 1.0) return std::numeric_limits<double>::infinity();
  return -1.0 / std::log(chi_c);
}

}  // namespace initbench
