#include "initbench/meanfield.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <numbers>
#include <tuple>

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
  if (const auto k = act.traits().homogeneous_k) return k(act.param) * q;
  return expect(q, [&](double z) {
    const double a = activation_value(act, z);
    return a * a;
  });
}

double gaussian_mean_dphi2(const Activation& act, double q) {
  if (const auto k = act.traits().homogeneous_k) return k(act.param);
  return expect(q, [&](double z) {
    const double d = activation_derivative(act, z);
    return d * d;
  });
}

double meanfield_next_q(const Activation& act, double q_prev, double sw2, double sb2) {
  return sw2 * gaussian_mean_phi2(act, q_prev) + sb2;
}

namespace {

// Positively homogeneous activations (identity, relu, leaky_relu: ActivationTraits'
// homogeneous_k): E[phi(z)^2] = k q and E[phi'(z)^2] = k, so the variance map is linear.
bool homogeneous(const Activation& act, double* k) {
  const auto k_of = act.traits().homogeneous_k;
  if (k_of == nullptr) return false;
  *k = k_of(act.param);
  return true;
}

double critical(double lambda) { return std::abs(lambda - 1.0) <= 1e-12 ? 1.0 : lambda; }

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kChaoticLimit = 1e12;
constexpr double kUnbounded = 1e30;  // q / (1 + sw2 + sb2) past this: no fixed point

}  // namespace

double meanfield_fixed_point(const Activation& act, double sw2, double sb2) {
  if (!(sw2 >= 0) || !(sb2 >= 0) || std::isinf(sw2) || std::isinf(sb2)) return kNan;
  double k = 0.0;
  if (homogeneous(act, &k)) {
    // q -> lambda q + sb2; a lambda within 1e-12 of 1 is critical (orthogonal(gain=relu) gives
    // sw2 = 2 only to rounding)
    const double lambda = critical(sw2 * k);
    if (lambda < 1.0) return sb2 / (1.0 - lambda);
    if (lambda == 1.0 && sb2 == 0.0) return kNan;  // every q is fixed
    return kInf;
  }
  double q = 1.0;
  for (int i = 0; i < 10000; ++i) {
    const double next = meanfield_next_q(act, q, sw2, sb2);
    if (std::isnan(next)) return next;
    if (!(next <= kUnbounded * (1.0 + sw2 + sb2))) return kInf;
    if (std::abs(next - q) <= 1e-13 * std::max(1.0, q)) return next;
    const bool growing = next > q;
    q = next;
    if (i == 9999 && growing) return kInf;  // still growing: linearly, without a fixed point
  }
  // Still falling, as at criticality with sb2 = 0 (q ~ 1 / step). Without a bias and with
  // phi(0) = 0 (tanh, softsign) the limit is q* = 0; otherwise the last iterate, an upper bound
  // within about 1e-4 of q*.
  if (sb2 == 0.0 && activation_value(act, 0.0) == 0.0) return 0.0;
  return q;
}

double meanfield_chi1(const Activation& act, double sw2, double sb2) {
  double k = 0.0;
  if (homogeneous(act, &k)) return sw2 * k;  // whatever q is
  const double q = meanfield_fixed_point(act, sw2, sb2);
  if (!std::isfinite(q)) return kNan;
  return sw2 * gaussian_mean_dphi2(act, q);
}

double meanfield_c_star(const Activation& act, double sw2, double sb2) {
  double k = 0.0;
  if (homogeneous(act, &k)) return 1.0;  // never chaotic: correlations always approach 1
  const double q = meanfield_fixed_point(act, sw2, sb2);
  const double chi1 = meanfield_chi1(act, sw2, sb2);
  if (!std::isfinite(q) || std::isnan(chi1)) return kNan;
  if (chi1 <= 1.0) return 1.0;
  // The two-dimensional quadrature's cost grows as log(q)^2: seconds past q* = 1e12, where every
  // unit is saturated (pre-activations of standard deviation 1e6) and no run asks for xi_c.
  if (q > kChaoticLimit) return kNan;
  // Chaotic phase (q* > 0 there): c = 1 is unstable; iterate the correlation map from c = 0.5
  // (plainly: accelerated steps can jump into the basin of -c* when the map is odd, sb2 = 0).
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
  double k = 0.0;
  if (homogeneous(act, &k)) {
    // The correlation map at q*: c -> lambda f(c) + (1 - lambda) with f the normalised
    // arc-cosine kernel (slope 1 at c = 1), so chi_c = lambda where q* is finite and positive
    // (sb2 > 0, lambda < 1). Otherwise the bias becomes negligible against q (or is 0), the map
    // is f itself and correlations approach 1 polynomially: no finite depth scale.
    const double lambda = critical(sw2 * k);
    if (!(sw2 >= 0) || !(sb2 >= 0) || std::isinf(sw2) || std::isinf(sb2)) return kNan;
    if (sb2 > 0 && lambda < 1.0) return -1.0 / std::log(lambda);
    return kInf;
  }
  const double q = meanfield_fixed_point(act, sw2, sb2);
  const double c = meanfield_c_star(act, sw2, sb2);
  if (!std::isfinite(q) || std::isnan(c)) return kNan;
  const double chi_c =
      c >= 1.0 ? meanfield_chi1(act, sw2, sb2)
               : sw2 * expect2(q, c, [&](double u1, double u2) {
                   return activation_derivative(act, u1) * activation_derivative(act, u2);
                 });
  if (chi_c >= 1.0) return kInf;
  return -1.0 / std::log(chi_c);
}

MeanField meanfield(const Activation& act, double sw2, double sb2) {
  // The chaotic phase iterates a two-dimensional integral (up to a few tenths of a second), and
  // an experiment asks for the same few points in every run: remembered per process.
  using Key = std::tuple<ActivationKind, double, double, double>;
  static std::mutex mutex;
  static std::map<Key, MeanField> cache;
  const Key key{act.kind, act.param, sw2, sb2};
  {
    const std::scoped_lock lock(mutex);
    if (const auto it = cache.find(key); it != cache.end()) return it->second;
  }
  const MeanField m{.q_star = meanfield_fixed_point(act, sw2, sb2),
                    .chi_1 = meanfield_chi1(act, sw2, sb2),
                    .xi_c = meanfield_xi_c(act, sw2, sb2)};
  const std::scoped_lock lock(mutex);
  cache.emplace(key, m);
  return m;
}

}  // namespace initbench
