#include "initbench/probes.hpp"

#include <fmt/format.h>

#include <Eigen/Eigenvalues>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string_view>

#include "initbench/meanfield.hpp"
#include "initbench/report.hpp"

namespace initbench {

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInfinity = std::numeric_limits<double>::infinity();

std::size_t at(Index l) { return static_cast<std::size_t>(l); }

// Eigen's matrix products (the Gram matrices and the Jacobian here, and inside its SVD) split the
// depth of a product into blocks sized from the L1 cache it reads from the CPU at run time, and
// each block's partial sum is added to the result on its own: the last bits then depend on the
// CPU (32 KiB L1 on Zen 4, 48 KiB on Emerald Rapids and Zen 5). Fixed sizes (those of the
// latter), set before the first product, give every CPU the same blocks and so the same bits.
// The first call sets them once (thread-safe); later calls only read them, and set them again
// only if something else changed them since (a test does, to stand in for another CPU).
constexpr std::ptrdiff_t kEigenL1 = std::ptrdiff_t{48} * 1024;
constexpr std::ptrdiff_t kEigenL2 = std::ptrdiff_t{1024} * 1024;
constexpr std::ptrdiff_t kEigenL3 = std::ptrdiff_t{32} * 1024 * 1024;
void fix_eigen_blocking() {
  static const bool once = [] {
    Eigen::setCpuCacheSizes(kEigenL1, kEigenL2, kEigenL3);
    return true;
  }();
  (void)once;
  if (Eigen::l1CacheSize() != kEigenL1 || Eigen::l2CacheSize() != kEigenL2 ||
      Eigen::l3CacheSize() != kEigenL3)
    Eigen::setCpuCacheSizes(kEigenL1, kEigenL2, kEigenL3);
}

struct Moments {
  double mean;
  double stddev;  // population
};

// Calls f(pointer, size) on contiguous spans covering x: once when x is contiguous (every buffer
// and parameter here is), else once per column.
template <typename Derived, typename F>
void for_each_span(const Eigen::MatrixBase<Derived>& x, F f) {
  const Index rows = x.rows();
  if (x.outerStride() == rows || x.cols() <= 1) {
    f(x.derived().data(), x.size());
    return;
  }
  for (Index j = 0; j < x.cols(); ++j) f(x.derived().data() + j * x.outerStride(), rows);
}

// Sums in double over a span, a block at a time: the block is converted to double on the stack
// by a plain loop (which vectorises; Eigen 3.4's cast<double>() of floats does not), then
// reduced by Eigen. g maps the block (an Eigen array of doubles) to the array to sum.
template <typename T, typename G>
double sum_double(const T* x, Index size, G g) {
  constexpr Index kBlock = 512;
  alignas(64) double buffer[kBlock];
  double total = 0.0;
  for (Index i = 0; i < size; i += kBlock) {
    const Index n = std::min(kBlock, size - i);
    for (Index k = 0; k < n; ++k) buffer[k] = static_cast<double>(x[i + k]);
    total += g(Eigen::Map<const Eigen::ArrayXd>(buffer, n)).sum();
  }
  return total;
}

// Mean and population standard deviation in double, without cancellation and in one pass over
// memory: each block of up to 512 values is converted to double on the stack and reduced there in
// two passes (its mean, then its squared deviations about it); blocks are combined in order with
// Chan, Golub and LeVeque's update, M2 += M2_b + delta^2 n n_b / (n + n_b).
template <typename Derived>
Moments moments(const Eigen::MatrixBase<Derived>& x) {
  using T = typename Derived::Scalar;
  if (x.size() == 0) return {kNan, kNan};
  constexpr Index kBlock = 512;
  alignas(64) double buffer[kBlock];
  double count = 0.0;
  double mean = 0.0;
  double m2 = 0.0;
  for_each_span(x, [&](const T* p, Index size) {
    for (Index i = 0; i < size; i += kBlock) {
      const Index n = std::min(kBlock, size - i);
      for (Index k = 0; k < n; ++k) buffer[k] = static_cast<double>(p[i + k]);
      const Eigen::Map<const Eigen::ArrayXd> b(buffer, n);
      const auto nb = static_cast<double>(n);
      const double mean_b = b.sum() / nb;
      const double m2_b = (b - mean_b).square().sum();
      const double delta = mean_b - mean;
      const double total = count + nb;
      mean += delta * (nb / total);
      m2 += m2_b + delta * delta * (count * nb / total);
      count = total;
    }
  });
  return {mean, std::sqrt(m2 / count)};
}

template <typename Derived>
double variance(const Eigen::MatrixBase<Derived>& x) {
  const Moments m = moments(x);
  return m.stddev * m.stddev;
}

// Sum of squares in double.
template <typename Derived>
double squared_norm_double(const Eigen::MatrixBase<Derived>& x) {
  using T = typename Derived::Scalar;
  double total = 0.0;
  for_each_span(x, [&](const T* p, Index n) {
    total += sum_double(p, n, [](const auto& b) { return b.square(); });
  });
  return total;
}

// Fraction of entries in the saturated regime of the activation, or nan where it has none.
template <typename Derived>
double saturated_fraction(const Activation& act, const Eigen::MatrixBase<Derived>& a) {
  using T = typename Derived::Scalar;
  const ActivationTraits& traits = act.traits();
  if (std::isnan(traits.saturated_below)) return kNan;
  const T below = static_cast<T>(traits.saturated_below);
  const T above = static_cast<T>(traits.saturated_above);
  return static_cast<double>(((a.array() < below) || (a.array() > above)).count()) /
         static_cast<double>(a.size());
}

// Fraction of units whose output is exactly 0 on every sample (ReLU units that are dead here).
// Column by column in a plain loop (a column of a column-major block is contiguous), keeping a
// flag per unit: 1 once it has output anything but exactly 0 (nan included).
template <typename Derived>
double dead_fraction(const Activation& act, const Eigen::MatrixBase<Derived>& a) {
  using T = typename Derived::Scalar;
  if (!act.traits().can_die) return kNan;
  const Index rows = a.rows();
  // a block of units at a time, its flags on the stack
  constexpr Index kUnits = 1024;
  unsigned char flags[kUnits];
  Index dead = 0;
  for (Index i0 = 0; i0 < rows; i0 += kUnits) {
    const Index units = std::min(kUnits, rows - i0);
    std::fill(flags, flags + units, static_cast<unsigned char>(0));
    for (Index j = 0; j < a.cols(); ++j) {
      const T* column = a.derived().data() + j * a.outerStride() + i0;
      for (Index i = 0; i < units; ++i) flags[i] |= static_cast<unsigned char>(column[i] != T(0));
    }
    dead += std::count(flags, flags + units, 0);
  }
  return static_cast<double>(dead) / static_cast<double>(a.rows());
}

}  // namespace

template <typename T>
std::vector<double> meanfield_prediction(const Mlp<T>& net, const Workspace<T>& ws, Index n) {
  const MlpConfig& config = net.config();
  const Index L = config.num_layers();
  std::vector<double> q(at(L + 1), kNan);
  // the recursion is a plain chain's without norms; a residual net or a normed one: nan
  if (config.residual() || config.norm != Norm::kNone) return q;
  // q_1 = Var(W_1) * sum_i E[x_i^2] + Var(b_1): E over the n samples.
  const double input_sq = squared_norm_double(ws.A[0].leftCols(n)) / static_cast<double>(n);
  q.at(1) = variance(net.W(1)) * input_sq + variance(net.b(1));
  for (Index l = 2; l <= L; ++l) {
    const double sw2 = static_cast<double>(config.fan_in(l)) * variance(net.W(l));
    q[at(l)] = meanfield_next_q(config.hidden, q[at(l - 1)], sw2, variance(net.b(l)));
  }
  return q;
}

template <typename T>
std::vector<LayerRow> layer_statistics(const Mlp<T>& net, const Workspace<T>& ws, Index n,
                                       const Params<T>& grads,
                                       const std::vector<double>& update_ratios) {
  const MlpConfig& config = net.config();
  const Index L = config.num_layers();
  const std::vector<double> q = meanfield_prediction(net, ws, n);
  std::vector<LayerRow> rows(at(L));
  for (Index l = 1; l <= L; ++l) {
    LayerRow& row = rows[at(l - 1)];
    const auto z = ws.Z[at(l)].leftCols(n);
    const auto a = ws.activation(l).leftCols(n);
    const bool hidden = l < L;
    row.layer = l;
    row.fan_in = config.fan_in(l);
    row.fan_out = config.fan_out(l);
    const Moments zm = moments(z);
    const Moments am = hidden ? moments(a) : zm;
    row.preact_mean = zm.mean;
    row.preact_std = zm.stddev;
    row.act_mean = am.mean;
    row.act_std = am.stddev;
    row.saturated_frac = hidden ? saturated_fraction(config.hidden, a) : kNan;
    row.dead_frac = hidden ? dead_fraction(config.hidden, a) : kNan;
    row.delta_norm = static_cast<double>(ws.D[at(l)].leftCols(n).norm());
    row.grad_w_norm = static_cast<double>(grads.W[at(l)].norm());
    row.weight_norm = static_cast<double>(net.W(l).norm());
    row.update_ratio = at(l) < update_ratios.size() ? update_ratios[at(l)] : kNan;
    row.meanfield_preact_var = q[at(l)];
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Histograms
// ---------------------------------------------------------------------------------------------

namespace {

Bins symmetric_bins(double magnitude, Index count) {
  const double r = std::isfinite(magnitude) && magnitude > 0 ? magnitude : 1.0;
  return {-r, r, count};
}

template <typename Derived>
double max_abs(const Eigen::MatrixBase<Derived>& x) {
  return x.size() == 0 ? 0.0 : static_cast<double>(x.cwiseAbs().maxCoeff());
}

}  // namespace

template <typename T>
std::vector<Bins> activation_bins(const Mlp<T>& net, const Workspace<T>& ws, Index n, Index count) {
  const Index L = net.num_layers();
  std::vector<Bins> bins(at(L + 1));
  const ActivationTraits& hidden = net.config().hidden.traits();
  for (Index l = 1; l <= L; ++l) {
    // a hidden layer's fixed ends from the activation's traits; the rest (and the output layer)
    // +-max |a| over the probe batch
    const bool fixed_lo = l < L && !std::isnan(hidden.histogram_lo);
    const bool fixed_hi = l < L && !std::isnan(hidden.histogram_hi);
    if (fixed_lo && fixed_hi) {
      bins[at(l)] = {hidden.histogram_lo, hidden.histogram_hi, count};
      continue;
    }
    const Bins b = symmetric_bins(max_abs(ws.activation(l).leftCols(n)), count);
    bins[at(l)] = {fixed_lo ? hidden.histogram_lo : b.lo, fixed_hi ? hidden.histogram_hi : b.hi,
                   count};
  }
  return bins;
}

template <typename T>
std::vector<Bins> delta_bins(const Mlp<T>& net, const Workspace<T>& ws, Index n, Index count) {
  const Index L = net.num_layers();
  std::vector<Bins> bins(at(L + 1));
  for (Index l = 1; l <= L; ++l)
    bins[at(l)] = symmetric_bins(max_abs(ws.D[at(l)].leftCols(n)), count);
  return bins;
}

namespace {

template <typename Derived>
void histogram_rows(const Eigen::MatrixBase<Derived>& x, const Bins& bins, long layer,
                    const char* quantity, std::vector<HistogramRow>& out) {
  std::vector<long> counts(static_cast<std::size_t>(bins.count) + 2, 0);  // [under, bins..., over]
  const double width = (bins.hi - bins.lo) / static_cast<double>(bins.count);
  for (Index j = 0; j < x.cols(); ++j) {
    for (Index i = 0; i < x.rows(); ++i) {
      const auto v = static_cast<double>(x(i, j));
      std::size_t slot = 0;
      if (v < bins.lo) {
        slot = 0;
      } else if (!(v <= bins.hi)) {  // v > hi, or nan; the last bin includes hi
        slot = counts.size() - 1;
      } else {
        const auto b = std::min(static_cast<Index>((v - bins.lo) / width), bins.count - 1);
        slot = static_cast<std::size_t>(b) + 1;
      }
      ++counts[slot];
    }
  }
  HistogramRow row;
  row.layer = layer;
  row.quantity = quantity;
  row.lo = bins.lo;
  row.hi = bins.hi;
  row.counts = std::move(counts);
  out.push_back(std::move(row));
}

}  // namespace

template <typename T>
std::vector<HistogramRow> histograms(const Mlp<T>& net, const Workspace<T>& ws, Index n,
                                     const std::vector<Bins>& act_bins,
                                     const std::vector<Bins>& d_bins) {
  std::vector<HistogramRow> rows;
  for (Index l = 1; l <= net.num_layers(); ++l) {
    histogram_rows(ws.activation(l).leftCols(n), act_bins[at(l)], l, "activation", rows);
    histogram_rows(ws.D[at(l)].leftCols(n), d_bins[at(l)], l, "delta", rows);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Symmetry
// ---------------------------------------------------------------------------------------------

double effective_rank(const std::vector<double>& s) {
  const double total = std::accumulate(s.begin(), s.end(), 0.0);
  if (!(total > 0)) return 0.0;
  double entropy = 0.0;
  for (double v : s) {
    const double p = v / total;
    if (p > 0) entropy -= p * std::log(p);
  }
  return std::exp(entropy);
}

namespace {

// Union-find over neuron indices.
struct Groups {
  std::vector<Index> parent;
  explicit Groups(Index n) : parent(at(n)) { std::iota(parent.begin(), parent.end(), Index{0}); }
  Index find(Index i) {
    while (parent[at(i)] != i) {
      parent[at(i)] = parent[at(parent[at(i)])];
      i = parent[at(i)];
    }
    return i;
  }
  void unite(Index a, Index b) { parent[at(find(a))] = find(b); }
  Index count() {
    Index c = 0;
    for (Index i = 0; i < static_cast<Index>(parent.size()); ++i) c += find(i) == i ? 1 : 0;
    return c;
  }
};

}  // namespace

template <typename T>
std::vector<SymmetryRow> symmetry_statistics(const Mlp<T>& net, const Workspace<T>& ws, Index n,
                                             double tolerance) {
  fix_eigen_blocking();
  std::vector<SymmetryRow> rows;
  for (Index l = 1; l < net.num_layers(); ++l) {
    const Eigen::MatrixXd W = net.W(l).template cast<double>();
    const Eigen::VectorXd b = net.b(l).template cast<double>();
    const Index units = W.rows();
    // Gram matrices of incoming weight vectors, and of [W b] rows (distances between neurons).
    Eigen::MatrixXd gram_w(units, units);
    gram_w.noalias() = W * W.transpose();
    const Eigen::MatrixXd gram = gram_w + b * b.transpose();

    Groups groups(units);
    double max_cos = 0.0;
    double sum_cos = 0.0;
    for (Index j = 0; j < units; ++j) {
      for (Index i = 0; i < j; ++i) {
        const double scale = std::max(gram(i, i), gram(j, j));
        const double dist2 = std::max(0.0, gram(i, i) + gram(j, j) - 2.0 * gram(i, j));
        if (dist2 <= tolerance * tolerance * scale) groups.unite(i, j);
        double c = 0.0;
        if (gram_w(i, i) > 0 && gram_w(j, j) > 0) {
          c = std::min(1.0, std::abs(gram_w(i, j)) / std::sqrt(gram_w(i, i) * gram_w(j, j)));
        } else if (gram_w(i, i) == 0 && gram_w(j, j) == 0) {
          c = 1.0;
        }
        max_cos = std::max(max_cos, c);
        sum_cos += c;
      }
    }
    const double pairs = static_cast<double>(units) * static_cast<double>(units - 1) / 2.0;

    // Singular values of the activations (units, n) from the smaller Gram matrix's eigenvalues.
    const Eigen::MatrixXd A = ws.A[at(l)].leftCols(n).template cast<double>();
    Eigen::MatrixXd small = A.rows() <= A.cols() ? Eigen::MatrixXd(A * A.transpose())
                                                 : Eigen::MatrixXd(A.transpose() * A);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(small, Eigen::EigenvaluesOnly);
    std::vector<double> singular;
    for (Index k = 0; k < eig.eigenvalues().size(); ++k)
      singular.push_back(std::sqrt(std::max(0.0, eig.eigenvalues()(k))));

    SymmetryRow row;
    row.layer = l;
    row.width = units;
    row.distinct_neurons = groups.count();
    row.max_abs_cosine = units > 1 ? max_cos : kNan;
    row.mean_abs_cosine = units > 1 ? sum_cos / pairs : kNan;
    row.act_effective_rank = effective_rank(singular);
    rows.push_back(row);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Jacobian
// ---------------------------------------------------------------------------------------------

namespace {

// Four partial sums over i mod 4, added in a fixed order at the end: the same bits on every CPU
// and build (the loop is compiled once, for the fixed baseline, without FMA contraction), and
// four independent chains the compiler may keep in one vector register.
double dot(const double* a, const double* b, Index n) {
  double s[4] = {0.0, 0.0, 0.0, 0.0};
  Index i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int k = 0; k < 4; ++k) s[k] += a[i + k] * b[i + k];
  }
  for (; i < n; ++i) s[i % 4] += a[i] * b[i];
  return (s[0] + s[1]) + (s[2] + s[3]);
}

// A matrix whose column j is mantissa.col(j) * 2^exponent[j]: the factor M_l = U_l S_l of a
// Jacobian J_l = U_l S_l V_l^T carried layer by layer, whose singular values S_l can span far
// more than double's range (s_max / s_min = 1e64 and more at 128 Gaussian tanh layers) while
// each column's own entries stay within a few decades of each other.
struct ScaledColumns {
  Eigen::MatrixXd mantissa;
  std::vector<int> exponent;

  Index cols() const { return mantissa.cols(); }

  // Keeps column j's mantissa norm^2 within [2^-32, 2^32) by moving powers of 2 into its
  // exponent; a zero column stays as it is. Returns whether the mantissa changed: then its norm
  // is to be recomputed (not scaled by 2^-2e, which is inexact when entries become subnormal).
  bool rescale(Index j, double norm2) {
    if (!(norm2 > 0.0 && (norm2 < 0x1p-32 || norm2 >= 0x1p32))) return false;
    int e = 0;
    std::frexp(std::sqrt(norm2), &e);
    mantissa.col(j) *= std::ldexp(1.0, -e);
    exponent[at(j)] += e;
    return true;
  }

  // Column j's mantissa norm^2, after rescaling it into range.
  double settled_norm2(Index j) {
    const double* col = mantissa.col(j).data();
    const Index n = mantissa.rows();
    const double norm2 = dot(col, col, n);
    return rescale(j, norm2) ? dot(col, col, n) : norm2;
  }
};

// Two columns whose scales differ by more than 2^kFarApart: rotating them against each other
// changes the larger one by a relative (s_small / s_large)^2 < 2^-120, below double's
// resolution, so only the smaller one moves (it loses its component along the larger one).
constexpr int kFarApart = 60;

// One-sided Jacobi (Hestenes 1958; Demmel & Veselic 1992 for its relative accuracy on
// column-scaled matrices): rotates pairs of columns until all are orthogonal to `tolerance`
// relative to their norms. The columns are then U S (the left singular vectors times the
// singular values); the right factor is not needed. Cyclic order, pairs (p, q) with p < q.
void jacobi_columns(ScaledColumns& m) {
  const Index n = m.mantissa.rows(), r = m.cols();
  const double tolerance = std::numeric_limits<double>::epsilon() * static_cast<double>(n);
  std::vector<double> norm2(at(r));
  for (Index j = 0; j < r; ++j) norm2[at(j)] = m.settled_norm2(j);
  constexpr int kMaxSweeps = 80;
  for (int sweep = 0; sweep < kMaxSweeps; ++sweep) {
    bool rotated = false;
    for (Index p = 0; p + 1 < r; ++p) {
      for (Index q = p + 1; q < r; ++q) {
        double* a = m.mantissa.col(p).data();
        double* b = m.mantissa.col(q).data();
        const double gamma = dot(a, b, n);
        if (!(std::abs(gamma) > tolerance * std::sqrt(norm2[at(p)] * norm2[at(q)]))) continue;
        rotated = true;
        const int shift = m.exponent[at(q)] - m.exponent[at(p)];
        if (std::abs(shift) > kFarApart) {
          // Gram-Schmidt of the small column against the large one, in mantissa units.
          const Index big = shift < 0 ? p : q, small = shift < 0 ? q : p;
          double* u = m.mantissa.col(big).data();
          double* v = m.mantissa.col(small).data();
          const double c = gamma / norm2[at(big)];
          for (Index i = 0; i < n; ++i) v[i] -= c * u[i];
          norm2[at(small)] = m.settled_norm2(small);
          continue;
        }
        // Both columns in p's units: b' = b 2^shift.
        const double scale = std::ldexp(1.0, shift);
        const double alpha = norm2[at(p)], beta = norm2[at(q)] * scale * scale;
        const double g = gamma * scale;
        const double zeta = (beta - alpha) / (2.0 * g);
        const double t = std::abs(zeta) > 1e150
                             ? 0.5 / zeta
                             : std::copysign(1.0, zeta) / (std::abs(zeta) + std::hypot(1.0, zeta));
        const double c = 1.0 / std::hypot(1.0, t), s = c * t;
        for (Index i = 0; i < n; ++i) {
          const double x = a[i], y = b[i] * scale;
          a[i] = c * x - s * y;
          b[i] = s * x + c * y;
        }
        m.exponent[at(q)] = m.exponent[at(p)];
        for (const Index j : {p, q}) norm2[at(j)] = m.settled_norm2(j);
      }
    }
    if (!rotated) return;
  }
}

// The norm of column j as log2 (-inf for a zero column), for ordering the columns.
double log2_norm(const ScaledColumns& m, Index j) {
  const double n2 = dot(m.mantissa.col(j).data(), m.mantissa.col(j).data(), m.mantissa.rows());
  return n2 > 0.0 ? 0.5 * std::log2(n2) + m.exponent[at(j)] : -kInfinity;
}

// Keeps the `rank` largest columns (after jacobi_columns, the largest singular values), in
// decreasing order: the others are known to be exactly zero (a factor of rank `rank` came in).
void keep_largest(ScaledColumns& m, Index rank) {
  const Index r = m.cols();
  std::vector<Index> order(at(r));
  std::iota(order.begin(), order.end(), Index{0});
  std::vector<double> size(at(r));
  for (Index j = 0; j < r; ++j) size[at(j)] = log2_norm(m, j);
  std::stable_sort(order.begin(), order.end(),
                   [&](Index i, Index j) { return size[at(i)] > size[at(j)]; });
  const Index keep = std::min(rank, r);
  ScaledColumns kept{Eigen::MatrixXd(m.mantissa.rows(), keep), std::vector<int>(at(keep))};
  for (Index j = 0; j < keep; ++j) {
    kept.mantissa.col(j) = m.mantissa.col(order[at(j)]);
    kept.exponent[at(j)] = m.exponent[at(order[at(j)])];
  }
  m = std::move(kept);
}

// B = F diag(slope) M, column by column in M's own scales, sums in index order; a factor of
// rank `rank` came in with it (the rows of F, the units at a nonzero slope), so at most that
// many of B's singular values are nonzero: the rest are dropped as exact zeros.
void multiply_and_orthogonalise(const Eigen::MatrixXd& F, const Eigen::VectorXd& slope,
                                ScaledColumns& m) {
  Eigen::MatrixXd product = Eigen::MatrixXd::Zero(F.rows(), m.cols());
  for (Index j = 0; j < m.cols(); ++j) {
    double* out = product.col(j).data();
    for (Index k = 0; k < F.cols(); ++k) {
      const double f = slope(k) * m.mantissa(k, j);
      if (f == 0.0) continue;
      const double* column = F.col(k).data();
      for (Index i = 0; i < F.rows(); ++i) out[i] += column[i] * f;
    }
  }
  Index on = 0;
  for (Index k = 0; k < slope.size(); ++k) on += slope(k) != 0.0 ? 1 : 0;
  m.mantissa = std::move(product);
  jacobi_columns(m);
  keep_largest(m, std::min(on, F.rows()));
}

}  // namespace

template <typename T>
std::vector<double> jacobian_singular_values(const Mlp<T>& net, const Vector<T>& x) {
  // J = W_L D_{L-1} W_{L-1} ... D_1 W_1, with D_l = diag(phi'(z_l)) at this input. J is never
  // formed: its singular values below 1e-16 of the largest would drown in the rounding of the
  // product. Instead J_l = M_l V_l^T with M_l's columns orthogonal (M_l = U_l S_l), and
  // J_{l+1} = W_{l+1} D_l M_l V_l^T has the singular values of B = W_{l+1} D_l M_l, which
  // jacobi_columns orthogonalises into M_{l+1}. Each column keeps its own power-of-2 scale, so
  // no value underflows, and one-sided Jacobi finds each singular value of a column-scaled B to
  // a relative accuracy independent of the others' sizes. A factor of rank k (a weight matrix,
  // or a D_l with k units at a nonzero slope: ReLU's off units) leaves at most k nonzero values;
  // the others are returned as exact zeros. The chain starts from the narrower end: from W_1
  // when n_0 <= n_L, else from W_L^T along J^T = W_1^T D_1 ... D_{L-1} W_L^T (10 columns
  // instead of 784 for an image classifier).
  const MlpConfig& config = net.config();
  const Index L = config.num_layers();
  std::vector<Eigen::VectorXd> slopes(at(L));  // slopes[l] = phi'(z_l), l = 1..L-1
  Eigen::VectorXd a = x.template cast<double>();
  for (Index l = 1; l < L; ++l) {
    const auto& W = net.W(l);
    const auto& b = net.b(l);
    Eigen::VectorXd z(W.rows());
    for (Index i = 0; i < W.rows(); ++i) {
      double sum = static_cast<double>(b(i));
      for (Index k = 0; k < W.cols(); ++k) sum += static_cast<double>(W(i, k)) * a(k);
      z(i) = sum;
    }
    slopes[at(l)] = z.unaryExpr([&](double v) { return activation_derivative(config.hidden, v); });
    a = z.unaryExpr([&](double v) { return activation_value(config.hidden, v); });
  }
  const Index inputs = net.W(1).cols(), outputs = net.W(L).rows();
  const bool forward = inputs <= outputs;
  const Eigen::MatrixXd first = forward
                                    ? Eigen::MatrixXd(net.W(1).template cast<double>())
                                    : Eigen::MatrixXd(net.W(L).transpose().template cast<double>());
  ScaledColumns m{first, std::vector<int>(at(first.cols()), 0)};
  jacobi_columns(m);
  keep_largest(m, first.rows());
  for (Index k = 1; k < L; ++k) {
    if (forward) {
      multiply_and_orthogonalise(net.W(k + 1).template cast<double>(), slopes[at(k)], m);
    } else {
      const Index l = L - k;  // W_l^T D_l, l = L-1 .. 1
      multiply_and_orthogonalise(net.W(l).transpose().template cast<double>(), slopes[at(l)], m);
    }
  }
  std::vector<double> values(at(std::min(inputs, outputs)), 0.0);
  for (Index j = 0; j < m.cols() && at(j) < values.size(); ++j) {
    const double n2 = dot(m.mantissa.col(j).data(), m.mantissa.col(j).data(), m.mantissa.rows());
    values[at(j)] = std::ldexp(std::sqrt(n2), m.exponent[at(j)]);
  }
  std::sort(values.begin(), values.end(), std::greater<>());
  return values;
}

// ---------------------------------------------------------------------------------------------
// Singular modes of a linear teacher
// ---------------------------------------------------------------------------------------------

Modes singular_modes(const Matrix<double>& M) {
  fix_eigen_blocking();
  const Eigen::BDCSVD<Eigen::MatrixXd> svd(M, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const Eigen::VectorXd& values = svd.singularValues();
  Index r = 0;
  while (r < values.size() && values(r) > 1e-9 * values(0)) ++r;
  Modes modes;
  modes.s.assign(values.data(), values.data() + r);
  modes.U = svd.matrixU().leftCols(r);
  modes.V = svd.matrixV().leftCols(r);
  return modes;
}

template <typename T>
std::vector<double> mode_strengths(const Mlp<T>& net, const Modes& modes) {
  // X = W_l ... W_1 V, one layer at a time: (n_l, r), sums in index order.
  Eigen::MatrixXd X = modes.V;
  for (Index l = 1; l <= net.num_layers(); ++l) {
    const Matrix<T>& W = net.W(l);  // (n_l, n_{l-1})
    Eigen::MatrixXd next = Eigen::MatrixXd::Zero(W.rows(), X.cols());
    for (Index i = 0; i < X.cols(); ++i) {
      for (Index k = 0; k < W.cols(); ++k) {
        const double x = X(k, i);
        for (Index j = 0; j < W.rows(); ++j) next(j, i) += static_cast<double>(W(j, k)) * x;
      }
    }
    X = std::move(next);
  }
  std::vector<double> a(modes.s.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    double sum = 0.0;
    for (Index j = 0; j < X.rows(); ++j)
      sum += modes.U(j, static_cast<Index>(i)) * X(j, static_cast<Index>(i));
    a[i] = sum;
  }
  return a;
}

#define INITBENCH_PROBES(T)                                                                        \
  template std::vector<LayerRow> layer_statistics<T>(                                              \
      const Mlp<T>&, const Workspace<T>&, Index, const Params<T>&, const std::vector<double>&);    \
  template std::vector<double> meanfield_prediction<T>(const Mlp<T>&, const Workspace<T>&, Index); \
  template std::vector<Bins> activation_bins<T>(const Mlp<T>&, const Workspace<T>&, Index, Index); \
  template std::vector<Bins> delta_bins<T>(const Mlp<T>&, const Workspace<T>&, Index, Index);      \
  template std::vector<HistogramRow> histograms<T>(const Mlp<T>&, const Workspace<T>&, Index,      \
                                                   const std::vector<Bins>&,                       \
                                                   const std::vector<Bins>&);                      \
  template std::vector<SymmetryRow> symmetry_statistics<T>(const Mlp<T>&, const Workspace<T>&,     \
                                                           Index, double);                         \
  template std::vector<double> jacobian_singular_values<T>(const Mlp<T>&, const Vector<T>&);       \
  template std::vector<double> mode_strengths<T>(const Mlp<T>&, const Modes&);
INITBENCH_PROBES(float)
INITBENCH_PROBES(double)
#undef INITBENCH_PROBES

// ---------------------------------------------------------------------------------------------
// The registry
// ---------------------------------------------------------------------------------------------

std::set<long> step_schedule(long every, bool log_spaced, long total) {
  std::set<long> steps;
  if (log_spaced) {
    for (int k = 0;; ++k) {
      const auto s = static_cast<long>(std::floor(std::pow(10.0, k / 10.0)));
      if (s > total) break;
      steps.insert(s);
    }
    steps.insert(0);
    steps.insert(total);
  } else if (every > 0) {
    for (long s = 0; s <= total; s += every) steps.insert(s);
    steps.insert(total);
  }
  return steps;
}

namespace {

// Steps 0, `total` and floor(10^(k / per_decade)) for k = 0, 1, ... up to `total`: about
// per_decade distinct steps per decade (every step where they would be closer than 1).
std::set<long> log_steps(long per_decade, long total) {
  std::set<long> steps{0, total};
  for (long k = 0;; ++k) {
    const auto s = static_cast<long>(
        std::floor(std::pow(10.0, static_cast<double>(k) / static_cast<double>(per_decade))));
    if (s > total) break;
    steps.insert(s);
  }
  return steps;
}

// A probe switched on by `on` with its own `every`, else on the layers probe's steps.
std::set<long> own_or_layers(bool on, long every, long total, const std::set<long>& layers) {
  if (!on) return {};
  return every > 0 ? step_schedule(every, false, total) : layers;
}

// A probe switched on by `on` every `every` steps, else at the first and the last step only.
std::set<long> own_or_ends(bool on, long every, long total) {
  if (!on) return {};
  return step_schedule(every > 0 ? every : std::max<long>(total, 1), false, total);
}

// Rows of one step, stamped with the run and the step.
template <typename Row>
void append(std::vector<Row>& to, std::vector<Row> rows, long run_id, long step) {
  for (Row& r : rows) {
    r.run_id = run_id;
    r.step = step;
    to.push_back(std::move(r));
  }
}

template <typename T>
void run_layers(const ProbeInput<T>& in, ProbeState&, RunRecord& record) {
  append(record.rows<LayerRow>(), layer_statistics(in.net, in.ws, in.n, in.grads, in.update_ratios),
         in.run_id, in.step);
}

template <typename T>
void run_histograms(const ProbeInput<T>& in, ProbeState& state, RunRecord& record) {
  if (state.act_bins.empty()) {
    state.act_bins = activation_bins(in.net, in.ws, in.n, in.config.integer("histogram_bins"));
    state.delta_bins = delta_bins(in.net, in.ws, in.n, in.config.integer("histogram_bins"));
  }
  append(record.rows<HistogramRow>(),
         histograms(in.net, in.ws, in.n, state.act_bins, state.delta_bins), in.run_id, in.step);
}

template <typename T>
void run_symmetry(const ProbeInput<T>& in, ProbeState&, RunRecord& record) {
  append(record.rows<SymmetryRow>(),
         symmetry_statistics(in.net, in.ws, in.n, in.config.number("symmetry_tolerance")),
         in.run_id, in.step);
}

template <typename T>
void run_jacobian(const ProbeInput<T>& in, ProbeState&, RunRecord& record) {
  const Index samples = std::min<Index>(in.config.integer("jacobian_samples"), in.n);
  std::vector<JacobianRow>& rows = record.rows<JacobianRow>();
  for (Index s = 0; s < samples; ++s) {
    const Vector<T> x = in.ws.A[0].col(s);
    const std::vector<double> values = jacobian_singular_values(in.net, x);
    for (std::size_t k = 0; k < values.size(); ++k) {
      rows.push_back(
          {in.run_id, in.step, static_cast<long>(s), static_cast<long>(k + 1), values[k]});
    }
  }
}

// q_a, q_b and their correlation for the first `pairs` sample pairs (0, 1), (2, 3), ... of the
// probe batch at every layer l = 0..L (0: the inputs, else the pre-activations z_l); sums in
// double, unit by unit in index order.
template <typename T>
void run_correlation(const ProbeInput<T>& in, ProbeState&, RunRecord& record) {
  const Index pairs = std::min<Index>(in.config.integer("correlation_pairs"), in.n / 2);
  const Index L = in.net.num_layers();
  std::vector<CorrelationRow>& rows = record.rows<CorrelationRow>();
  for (Index l = 0; l <= L; ++l) {
    const auto& z = l == 0 ? in.ws.A[0] : in.ws.Z[at(l)];
    const auto units = static_cast<double>(z.rows());
    for (Index p = 0; p < pairs; ++p) {
      double aa = 0.0, bb = 0.0, ab = 0.0;
      for (Index i = 0; i < z.rows(); ++i) {
        const auto a = static_cast<double>(z(i, 2 * p));
        const auto b = static_cast<double>(z(i, 2 * p + 1));
        aa += a * a;
        bb += b * b;
        ab += a * b;
      }
      const double c = aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : kNan;
      rows.push_back({in.run_id, in.step, l, p, aa / units, bb / units, c});
    }
  }
}

// For the first `layer_jacobian_samples` samples of the probe batch and each hidden layer
// l = 1..L-1: the singular values of diag(phi'(z_l)) W_l, in double (BDCSVD, as the jacobian
// probe), summed in decreasing order for the mean.
template <typename T>
void run_layer_jacobian(const ProbeInput<T>& in, ProbeState&, RunRecord& record) {
  fix_eigen_blocking();
  const MlpConfig& config = in.net.config();
  const Index samples = std::min<Index>(in.config.integer("layer_jacobian_samples"), in.n);
  std::vector<LayerJacobianRow>& rows = record.rows<LayerJacobianRow>();
  for (Index s = 0; s < samples; ++s) {
    for (Index l = 1; l < config.num_layers(); ++l) {
      const Eigen::VectorXd slope = in.ws.Z[at(l)].col(s).template cast<double>().unaryExpr(
          [&](double z) { return activation_derivative(config.hidden, z); });
      const Eigen::MatrixXd J = slope.asDiagonal() * in.net.W(l).template cast<double>();
      const Eigen::BDCSVD<Eigen::MatrixXd> svd(J);
      const Eigen::VectorXd& values = svd.singularValues();
      double sum = 0.0;
      for (Index k = 0; k < values.size(); ++k) sum += values(k);
      rows.push_back({in.run_id, in.step, l, static_cast<long>(s),
                      sum / static_cast<double>(values.size()), values(values.size() - 1),
                      values(0)});
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Residual stream
// ---------------------------------------------------------------------------------------------

// RMS of the leading n columns of x (scaled by s), summed in double in column-major order.
template <typename T>
double rms(const Matrix<T>& x, Index n, double s = 1.0) {
  const Index size = x.rows() * n;
  const T* p = x.data();
  double sum = 0.0;
  for (Index k = 0; k < size; ++k) {
    const double v = s * static_cast<double>(p[k]);
    sum = std::fma(v, v, sum);
  }
  return std::sqrt(sum / static_cast<double>(size));
}

// Per block b = 0..B of a residual net: the stream x_b, the branch alpha_b F_b and its ratio to
// the stream it adds to, dL/dx_b, alpha_b (StreamRow). A plain MLP has no rows.
template <typename T>
void run_stream(const ProbeInput<T>& in, ProbeState&, RunRecord& record) {
  const MlpConfig& config = in.net.config();
  std::vector<StreamRow>& rows = record.rows<StreamRow>();
  for (Index blk = 0; blk <= config.blocks && config.residual(); ++blk) {
    StreamRow row{in.run_id, in.step, static_cast<long>(blk),      rms(in.ws.X[at(blk)], in.n),
                  kNan,      kNan,    rms(in.ws.G[at(blk)], in.n), kNan};
    if (blk > 0) {
      row.alpha = static_cast<double>(in.net.alpha(blk));
      row.branch_rms = rms(in.ws.Z[at(config.branch_last(blk))], in.n, row.alpha);
      row.branch_ratio = row.branch_rms / rms(in.ws.X[at(blk - 1)], in.n);
    }
    rows.push_back(row);
  }
}

// Per normed layer l = 1..L-1: the moments of the norm's input u_l (Z[l], or the stream x_b for
// a residual net's l = 1 + b m) and of its output H[l] (NormRow). A network without norms has
// no rows.
template <typename T>
void run_norm(const ProbeInput<T>& in, ProbeState&, RunRecord& record) {
  const MlpConfig& config = in.net.config();
  std::vector<NormRow> rows;
  for (Index l = 1; l < config.num_layers(); ++l) {
    if (!config.normed(l)) continue;
    const bool stream = config.residual() && (l - 1) % config.block_depth == 0;
    const Matrix<T>& u = stream ? in.ws.X[at((l - 1) / config.block_depth)] : in.ws.Z[at(l)];
    const Moments pre = moments(u.leftCols(in.n));
    const Moments post = moments(in.ws.H[at(l)].leftCols(in.n));
    rows.push_back({0, 0, static_cast<long>(l), static_cast<long>(config.fan_out(l)), pre.mean,
                    pre.stddev, post.mean, post.stddev});
  }
  append(record.rows<NormRow>(), std::move(rows), in.run_id, in.step);
}

// For a linear teacher (ProbeInput::teacher): every singular mode's s_i and the network's a_i
// (ModeRow). The teacher's modes are computed at the first step and kept.
template <typename T>
void run_modes(const ProbeInput<T>& in, ProbeState& state, RunRecord& record) {
  if (in.teacher == nullptr) return;  // the spec check allows the probe only with a teacher
  if (!state.teacher_modes) state.teacher_modes = singular_modes(*in.teacher);
  const Modes& modes = *state.teacher_modes;
  const std::vector<double> a = mode_strengths(in.net, modes);
  std::vector<ModeRow>& rows = record.rows<ModeRow>();
  for (std::size_t i = 0; i < a.size(); ++i)
    rows.push_back({in.run_id, in.step, static_cast<long>(i + 1), modes.s[i], a[i]});
}

// Mean |x| over the leading n columns (column-major order, in double); with `start`, of x - start.
template <typename T>
double mean_abs(const Matrix<T>& x, Index n, const Matrix<double>* start = nullptr) {
  double sum = 0.0;
  for (Index j = 0; j < n; ++j) {
    for (Index i = 0; i < x.rows(); ++i) {
      const double v = static_cast<double>(x(i, j)) - (start != nullptr ? (*start)(i, j) : 0.0);
      sum += std::abs(v);
    }
  }
  return sum / static_cast<double>(x.rows() * n);
}

// The coordinate check (CoordRow): its first step keeps the pre-activations for the deltas.
template <typename T>
void run_coord_check(const ProbeInput<T>& in, ProbeState& state, RunRecord& record) {
  const Index L = in.net.num_layers();
  if (state.coord_start.empty()) {
    state.coord_start.resize(at(L + 1));
    for (Index l = 1; l <= L; ++l)
      state.coord_start[at(l)] = in.ws.Z[at(l)].leftCols(in.n).template cast<double>();
  }
  std::vector<CoordRow>& rows = record.rows<CoordRow>();
  for (Index l = 1; l <= L; ++l) {
    const Matrix<T>& z = in.ws.Z[at(l)];
    rows.push_back({in.run_id, in.step, l, static_cast<long>(z.rows()), mean_abs(z, in.n),
                    l < L ? mean_abs(in.ws.A[at(l)], in.n) : kNan,
                    mean_abs(z, in.n, &state.coord_start[at(l)])});
  }
}

}  // namespace

const std::vector<Probe>& probe_registry() {
  using Type = ProbeKey::Type;
  constexpr auto kSamples = static_cast<double>(kMaxSamples);
  constexpr auto kWidth = static_cast<double>(kMaxWidth);
  static const std::vector<Probe> probes = {
      {.name = "layers",
       .keys = {},
       .steps = [](const ProbeConfig& p, long total,
                   const std::set<long>&) { return step_schedule(p.every, p.log_schedule, total); },
       .run_float = run_layers<float>,
       .run_double = run_layers<double>,
       .csv = probe_csv<LayerRow>},
      {.name = "symmetry",
       .keys = {{.name = "symmetry"},
                {.name = "symmetry_every", .type = Type::kInteger},
                {.name = "symmetry_tolerance", .type = Type::kNumber, .fallback = 1e-6}},
       .steps =
           [](const ProbeConfig& p, long total, const std::set<long>& layers) {
             return own_or_layers(p.on("symmetry"), p.integer("symmetry_every"), total, layers);
           },
       .run_float = run_symmetry<float>,
       .run_double = run_symmetry<double>,
       .csv = probe_csv<SymmetryRow>},
      {.name = "histograms",
       .keys = {{.name = "histograms"},
                {.name = "histogram_bins",
                 .type = Type::kInteger,
                 .fallback = 40,
                 .min = 1,
                 .max = kWidth},
                {.name = "histogram_every", .type = Type::kInteger}},
       .steps =
           [](const ProbeConfig& p, long total, const std::set<long>&) {
             return own_or_ends(p.on("histograms"), p.integer("histogram_every"), total);
           },
       .run_float = run_histograms<float>,
       .run_double = run_histograms<double>,
       .csv = probe_csv<HistogramRow>},
      {.name = "jacobian",
       .keys = {{.name = "jacobian"},
                {.name = "jacobian_every", .type = Type::kInteger},
                {.name = "jacobian_samples",
                 .type = Type::kInteger,
                 .fallback = 3,
                 .min = 1,
                 .max = kWidth}},
       .steps =
           [](const ProbeConfig& p, long total, const std::set<long>&) {
             return own_or_ends(p.on("jacobian"), p.integer("jacobian_every"), total);
           },
       .run_float = run_jacobian<float>,
       .run_double = run_jacobian<double>,
       .csv = probe_csv<JacobianRow>},
      {.name = "correlation",
       .keys = {{.name = "correlation"},
                {.name = "correlation_every", .type = Type::kInteger},
                {.name = "correlation_pairs",
                 .type = Type::kInteger,
                 .fallback = 8,
                 .min = 1,
                 .max = kSamples}},
       .steps =
           [](const ProbeConfig& p, long total, const std::set<long>& layers) {
             return own_or_layers(p.on("correlation"), p.integer("correlation_every"), total,
                                  layers);
           },
       .run_float = run_correlation<float>,
       .run_double = run_correlation<double>,
       .csv = probe_csv<CorrelationRow>},
      {.name = "layer_jacobian",
       .keys = {{.name = "layer_jacobian"},
                {.name = "layer_jacobian_every", .type = Type::kInteger},
                {.name = "layer_jacobian_samples",
                 .type = Type::kInteger,
                 .fallback = 1,
                 .min = 1,
                 .max = kWidth}},
       .steps =
           [](const ProbeConfig& p, long total, const std::set<long>&) {
             return own_or_ends(p.on("layer_jacobian"), p.integer("layer_jacobian_every"), total);
           },
       .run_float = run_layer_jacobian<float>,
       .run_double = run_layer_jacobian<double>,
       .csv = probe_csv<LayerJacobianRow>},
      {.name = "stream",
       .keys = {{.name = "stream"}, {.name = "stream_every", .type = Type::kInteger}},
       .steps =
           [](const ProbeConfig& p, long total, const std::set<long>& layers) {
             // its own every, else the layers probe's steps, else the first and the last
             if (p.integer("stream_every") > 0 || layers.empty())
               return own_or_ends(p.on("stream"), p.integer("stream_every"), total);
             return own_or_layers(p.on("stream"), 0, total, layers);
           },
       .run_float = run_stream<float>,
       .run_double = run_stream<double>,
       .csv = probe_csv<StreamRow>},
      {.name = "norm",
       .keys = {{.name = "norm"}, {.name = "norm_every", .type = Type::kInteger}},
       .steps =
           [](const ProbeConfig& p, long total, const std::set<long>& layers) {
             // its own every, else the layers probe's steps, else the first and the last
             if (p.integer("norm_every") > 0 || layers.empty())
               return own_or_ends(p.on("norm"), p.integer("norm_every"), total);
             return own_or_layers(p.on("norm"), 0, total, layers);
           },
       .run_float = run_norm<float>,
       .run_double = run_norm<double>,
       .csv = probe_csv<NormRow>},
      {.name = "modes",
       .keys = {{.name = "modes"},
                {.name = "modes_every", .type = Type::kInteger},
                {.name = "modes_per_decade", .type = Type::kInteger, .max = 1000}},
       .steps =
           [](const ProbeConfig& p, long total, const std::set<long>& layers) {
             // log-spaced steps, else its own every, else the layers probe's steps, else the
             // first and the last
             if (p.on("modes") && p.integer("modes_per_decade") > 0)
               return log_steps(p.integer("modes_per_decade"), total);
             if (p.integer("modes_every") > 0 || layers.empty())
               return own_or_ends(p.on("modes"), p.integer("modes_every"), total);
             return own_or_layers(p.on("modes"), 0, total, layers);
           },
       .run_float = run_modes<float>,
       .run_double = run_modes<double>,
       .csv = probe_csv<ModeRow>},
      {.name = "coord_check",
       .keys = {{.name = "coord_check"},
                {.name = "coord_check_steps",
                 .type = Type::kInteger,
                 .fallback = 5,
                 .min = 1,
                 .max = 1000}},
       .steps =
           [](const ProbeConfig& p, long total, const std::set<long>&) {
             // every step 0..k (k = coord_check_steps, at most the run's last)
             std::set<long> steps;
             if (!p.on("coord_check")) return steps;
             for (long t = 0; t <= std::min(p.integer("coord_check_steps"), total); ++t)
               steps.insert(t);
             return steps;
           },
       .run_float = run_coord_check<float>,
       .run_double = run_coord_check<double>,
       .csv = probe_csv<CoordRow>},
  };
  return probes;
}

const ProbeKey* find_probe_key(std::string_view name) {
  for (const Probe& probe : probe_registry()) {
    for (const ProbeKey& key : probe.keys) {
      if (name == key.name) return &key;
    }
  }
  return nullptr;
}

namespace {

const ProbeKey& declared(std::string_view name) {
  const ProbeKey* key = find_probe_key(name);
  if (key == nullptr) throw std::logic_error(fmt::format("no probe declares the key '{}'", name));
  return *key;
}

}  // namespace

double ProbeConfig::number(std::string_view key) const {
  const ProbeKey& declared_key = declared(key);
  const auto found = settings.find(key);
  return found == settings.end() ? declared_key.fallback : found->second;
}

ProbeConfig& ProbeConfig::set(std::string_view key, double value) {
  settings.insert_or_assign(std::string(declared(key).name), value);
  return *this;
}

}  // namespace initbench
