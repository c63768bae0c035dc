#include "initbench/mlp.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>
#include <type_traits>

#include "initbench/text.hpp"

namespace initbench {

namespace {
std::size_t at(Index l) { return static_cast<std::size_t>(l); }
}  // namespace

const std::vector<std::string>& norm_names() {
  static const std::vector<std::string> names{"none", "batch", "layer"};
  return names;
}

Norm parse_norm(std::string_view text) {
  const std::vector<std::string>& names = norm_names();
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (text == names[i]) return static_cast<Norm>(i);
  }
  throw std::invalid_argument(fmt::format("unknown norm '{}'{}; allowed: {}", text,
                                          did_you_mean(text, names), join(names)));
}

std::string norm_name(Norm norm) { return norm_names()[static_cast<std::size_t>(norm)]; }

Index MlpConfig::num_parameters() const {
  Index total = 0;
  for (Index l = 1; l <= num_layers(); ++l) {
    total += fan_out(l) * (fan_in(l) + 1);
    if (normed(l)) total += 2 * fan_out(l);  // gamma_l, beta_l
  }
  return total + blocks;  // one alpha_b per residual block
}

void MlpConfig::validate() const {
  if (sizes.size() < 2) {
    throw std::invalid_argument(fmt::format(
        "a network needs at least an input and an output size, got {} sizes", sizes.size()));
  }
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] <= 0)
      throw std::invalid_argument(
          fmt::format("layer size {} is {}: sizes must be positive", i, sizes[i]));
  }
  if (blocks < 0) throw std::invalid_argument(fmt::format("{} residual blocks", blocks));
  if (!multipliers.empty()) {
    if (multipliers.size() != sizes.size())
      throw std::invalid_argument(fmt::format("{} forward multipliers for {} layers",
                                              multipliers.size() - 1, num_layers()));
    if (blocks > 0)
      throw std::invalid_argument("forward multipliers are for plain MLPs, not residual nets");
  }
  if (!residual()) return;
  if (block_depth < 1 || block_depth > 2) {
    throw std::invalid_argument(
        fmt::format("block_depth = {}: a residual branch has 1 or 2 dense layers", block_depth));
  }
  if (num_layers() != 2 + blocks * block_depth) {
    throw std::invalid_argument(
        fmt::format("a residual net of {} blocks of {} layers has {} layers, got {}", blocks,
                    block_depth, 2 + blocks * block_depth, num_layers()));
  }
  for (Index l = 2; l < num_layers(); ++l) {
    if (fan_out(l) != fan_out(1)) {
      throw std::invalid_argument(
          fmt::format("a residual net's hidden layers have one width: layer {} has {}, layer 1 {}",
                      l, fan_out(l), fan_out(1)));
    }
  }
}

template <typename T>
Params<T>::Params(const MlpConfig& config) {
  const Index L = config.num_layers();
  W.resize(at(L + 1));
  b.resize(at(L + 1));
  for (Index l = 1; l <= L; ++l) {
    W[at(l)] = Matrix<T>::Zero(config.fan_out(l), config.fan_in(l));
    b[at(l)] = Vector<T>::Zero(config.fan_out(l));
  }
  alpha = Vector<T>::Zero(config.blocks);
  gamma.resize(at(L + 1));
  beta.resize(at(L + 1));
  for (Index l = 1; l < L; ++l) {
    if (!config.normed(l)) continue;
    gamma[at(l)] = Vector<T>::Zero(config.fan_out(l));
    beta[at(l)] = Vector<T>::Zero(config.fan_out(l));
  }
}

template <typename T>
void Params<T>::set_zero() {
  for (std::size_t l = 1; l < W.size(); ++l) {
    W[l].setZero();
    b[l].setZero();
  }
  for (std::size_t l = 0; l < gamma.size(); ++l) {
    gamma[l].setZero();
    beta[l].setZero();
  }
  alpha.setZero();
}

template <typename T>
bool Params<T>::all_finite() const {
  for (std::size_t l = 1; l < W.size(); ++l) {
    if (!W[l].allFinite() || !b[l].allFinite()) return false;
  }
  for (std::size_t l = 0; l < gamma.size(); ++l) {
    if (!gamma[l].allFinite() || !beta[l].allFinite()) return false;
  }
  return alpha.allFinite();
}

template <typename T>
Workspace<T>::Workspace(const MlpConfig& config, Index samples) : capacity(samples) {
  config.validate();
  if (capacity <= 0)
    throw std::invalid_argument(fmt::format("batch capacity must be positive, got {}", capacity));
  const Index L = config.num_layers();
  Z.resize(at(L + 1));
  A.resize(at(L));
  D.resize(at(L + 1));
  A[0] = Matrix<T>::Zero(config.sizes[0], capacity);
  for (Index l = 1; l <= L; ++l) {
    Z[at(l)] = Matrix<T>::Zero(config.fan_out(l), capacity);
    D[at(l)] = Matrix<T>::Zero(config.fan_out(l), capacity);
    if (l < L) A[at(l)] = Matrix<T>::Zero(config.fan_out(l), capacity);
  }
  Y = Matrix<T>::Zero(config.sizes.back(), capacity);
  if (config.residual()) {
    X.assign(at(config.blocks + 1), Matrix<T>::Zero(config.fan_out(1), capacity));
    G.assign(at(config.blocks + 1), Matrix<T>::Zero(config.fan_out(1), capacity));
  }
  if (config.norm != Norm::kNone) {
    H.resize(at(L));
    X_hat.resize(at(L));
    mean.resize(at(L));
    rstd.resize(at(L));
    batch_mean.resize(at(L));
    batch_var.resize(at(L));
    Index widest = 0;
    for (Index l = 1; l < L; ++l) {
      const Index w = config.fan_out(l);
      widest = std::max(widest, w);
      H[at(l)] = Matrix<T>::Zero(w, capacity);
      X_hat[at(l)] = Matrix<T>::Zero(w, capacity);
      const Index stats = config.norm == Norm::kBatch ? w : capacity;
      mean[at(l)] = Vector<T>::Zero(stats);
      rstd[at(l)] = Vector<T>::Zero(stats);
      if (config.norm == Norm::kBatch) {
        batch_mean[at(l)] = Vector<T>::Zero(w);
        batch_var[at(l)] = Vector<T>::Zero(w);
      }
    }
    sum1 = Eigen::VectorXd::Zero(widest);
    sum2 = Eigen::VectorXd::Zero(widest);
  }
  // Packing buffers for the largest product of forward and backward: z = W a (n_l, n, n_{l-1}),
  // dW = dz a^T (n_l, n_{l-1}, n), da = W^T dz (n_{l-1}, n, n_l).
  const Index width = *std::max_element(config.sizes.begin(), config.sizes.end());
  scratch.reserve(width, std::max(width, capacity), std::max(width, capacity));
}

// Every product of forward and backward is one kernels::gemm call (kernels.hpp): each element is
// one fused multiply-add chain over k in index order, the bias added after it, whatever the
// instruction set, the blocking or the element's position. That single rule gives the symmetry
// guarantee (identical neurons get bit-identical values and gradients, so the symmetry
// experiments measure symmetry, not rounding) and the same bytes on every CPU.

namespace {

using kernels::Op;

template <typename T>
Index stride(const ConstMatrixRef<T>& x) {
  return x.outerStride();
}

}  // namespace

template <typename T>
void dense_forward(const Matrix<T>& W, const Vector<T>& b, const ConstMatrixRef<T>& a,
                   MatrixRef<T> z, kernels::GemmScratch<T>& scratch) {
  assert(z.rows() == W.rows() && z.cols() == a.cols() && a.rows() == W.cols());
  // z = W a + b: (n_out, n_in) (n_in, n)
  kernels::gemm<T>(Op::kN, Op::kN, W.rows(), a.cols(), W.cols(), W.data(), W.rows(), a.data(),
                   stride<T>(a), z.data(), z.outerStride(), b.data(), scratch);
}

template <typename T>
void dense_backward(const Matrix<T>& W, const ConstMatrixRef<T>& a, const ConstMatrixRef<T>& dz,
                    Matrix<T>& dW, Vector<T>& db, MatrixRef<T> da,
                    kernels::GemmScratch<T>& scratch) {
  const Index n = dz.cols();
  // dW = dz a^T: (n_out, n) (n, n_in)
  kernels::gemm<T>(Op::kN, Op::kT, W.rows(), W.cols(), n, dz.data(), stride<T>(dz), a.data(),
                   stride<T>(a), dW.data(), dW.rows(), nullptr, scratch);
  // db = row sums of dz, in sample order
  kernels::row_sums<T>(W.rows(), n, dz.data(), stride<T>(dz), db.data());
  // da = W^T dz: (n_in, n_out) (n_out, n)
  if (da.size() > 0) {
    kernels::gemm<T>(Op::kT, Op::kN, W.cols(), n, W.rows(), W.data(), W.rows(), dz.data(),
                     stride<T>(dz), da.data(), da.outerStride(), nullptr, scratch);
  }
}

// ---------------------------------------------------------------------------------------------
// Normalization (the header's third block)
// ---------------------------------------------------------------------------------------------

namespace {

// Where a normed layer's forward writes (Workspace's buffers of layer l).
template <typename T>
struct NormOut {
  Matrix<T>& xhat;
  Matrix<T>& h;
  Vector<T>& mean;
  Vector<T>& rstd;
  Vector<T>* batch_mean;  // a batch norm's training pass only
  Vector<T>* batch_var;
  Eigen::VectorXd& sum1;
  Eigen::VectorXd& sum2;
};

template <typename T>
T inverse_std(double var) {
  return static_cast<T>(1.0 / std::sqrt(var + kNormEps));
}

// xhat = (u - mean) * rstd, h = gamma xhat + beta on the leading n columns: the unit's
// statistics (batch norm: index j) or the sample's (layer norm: index i).
template <typename T>
void normalize(const T* u, Index w, Index n, bool per_unit, const Vector<T>& gamma,
               const Vector<T>& beta, const NormOut<T>& out) {
  T* xp = out.xhat.data();
  T* hp = out.h.data();
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < w; ++j) {
      const Index s = per_unit ? j : i;
      const Index k = i * w + j;
      const T xh = (u[k] - out.mean(s)) * out.rstd(s);
      xp[k] = xh;
      hp[k] = gamma(j) * xh + beta(j);
    }
  }
}

// The norm's forward on the leading n columns of u (w, n); every sum in double, in index order.
template <typename T>
void norm_forward(Norm kind, Pass pass, const Matrix<T>& u, Index n, const Vector<T>& gamma,
                  const Vector<T>& beta, const NormState<T>& running, Index l,
                  const NormOut<T>& out) {
  const Index w = u.rows();
  const T* up = u.data();
  const auto count = static_cast<double>(kind == Norm::kBatch ? n : w);
  if (kind == Norm::kLayer) {
    for (Index i = 0; i < n; ++i) {
      const T* c = up + i * w;
      double sum = 0.0;
      for (Index j = 0; j < w; ++j) sum += static_cast<double>(c[j]);
      const double mean = sum / count;
      double squares = 0.0;
      for (Index j = 0; j < w; ++j) {
        const double d = static_cast<double>(c[j]) - mean;
        squares = std::fma(d, d, squares);
      }
      out.mean(i) = static_cast<T>(mean);
      out.rstd(i) = inverse_std<T>(squares / count);
    }
    normalize<T>(up, w, n, false, gamma, beta, out);
    return;
  }
  if (pass == Pass::kEval) {
    const Vector<T>& mean = running.mean[at(l)];
    const Vector<T>& var = running.var[at(l)];
    for (Index j = 0; j < w; ++j) {
      out.mean(j) = mean(j);
      out.rstd(j) = inverse_std<T>(static_cast<double>(var(j)));
    }
    normalize<T>(up, w, n, true, gamma, beta, out);
    return;
  }
  // a training pass: each unit's sums over the samples, i = 0, 1, ..., n - 1
  auto sum = out.sum1.head(w);
  auto squares = out.sum2.head(w);
  sum.setZero();
  squares.setZero();
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < w; ++j) sum(j) += static_cast<double>(up[i * w + j]);
  }
  sum /= count;  // the means, in double
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < w; ++j) {
      const double d = static_cast<double>(up[i * w + j]) - sum(j);
      squares(j) = std::fma(d, d, squares(j));
    }
  }
  for (Index j = 0; j < w; ++j) {
    const double var = squares(j) / count;
    out.mean(j) = static_cast<T>(sum(j));
    out.rstd(j) = inverse_std<T>(var);
    (*out.batch_mean)(j) = out.mean(j);
    (*out.batch_var)(j) = static_cast<T>(var);
  }
  normalize<T>(up, w, n, true, gamma, beta, out);
}

// d (w, n; contiguous) holds dL/dh; writes dgamma, dbeta and turns d into dL/du in place
// (the header's formula). Every sum in double, in index order.
template <typename T>
void norm_backward(Norm kind, T* d, Index w, Index n, const Matrix<T>& xhat, const Vector<T>& gamma,
                   const Vector<T>& rstd, Vector<T>& dgamma, Vector<T>& dbeta,
                   Eigen::VectorXd& sum1, Eigen::VectorXd& sum2) {
  const T* xp = xhat.data();
  auto dh_sum = sum1.head(w);
  auto dh_xhat = sum2.head(w);
  dh_sum.setZero();
  dh_xhat.setZero();
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < w; ++j) {
      const Index k = i * w + j;
      dh_sum(j) += static_cast<double>(d[k]);
      dh_xhat(j) = std::fma(static_cast<double>(d[k]), static_cast<double>(xp[k]), dh_xhat(j));
    }
  }
  for (Index j = 0; j < w; ++j) {
    dbeta(j) = static_cast<T>(dh_sum(j));
    dgamma(j) = static_cast<T>(dh_xhat(j));
  }
  if (kind == Norm::kBatch) {
    // mean over the samples of g = gamma dh and of g xhat: gamma times the sums above
    const auto count = static_cast<double>(n);
    for (Index j = 0; j < w; ++j) {
      const auto g = static_cast<double>(gamma(j));
      dh_sum(j) = g * dh_sum(j) / count;
      dh_xhat(j) = g * dh_xhat(j) / count;
    }
    for (Index i = 0; i < n; ++i) {
      for (Index j = 0; j < w; ++j) {
        const Index k = i * w + j;
        const T g = gamma(j) * d[k];
        d[k] = rstd(j) * (g - static_cast<T>(dh_sum(j)) - xp[k] * static_cast<T>(dh_xhat(j)));
      }
    }
    return;
  }
  // layer norm: the means over the units of one sample
  const auto count = static_cast<double>(w);
  for (Index i = 0; i < n; ++i) {
    T* c = d + i * w;
    const T* x = xp + i * w;
    double g_sum = 0.0;
    double gx_sum = 0.0;
    for (Index j = 0; j < w; ++j) {
      const double g = static_cast<double>(gamma(j)) * static_cast<double>(c[j]);
      g_sum += g;
      gx_sum = std::fma(g, static_cast<double>(x[j]), gx_sum);
    }
    const auto g_mean = static_cast<T>(g_sum / count);
    const auto gx_mean = static_cast<T>(gx_sum / count);
    for (Index j = 0; j < w; ++j) {
      const T g = gamma(j) * c[j];
      c[j] = rstd(i) * (g - g_mean - x[j] * gx_mean);
    }
  }
}

// x = c x on the leading n columns of a (rows, capacity) buffer, or a whole matrix.
template <typename T>
void scale_columns(MatrixRef<T> x, T c) {
  for (Index j = 0; j < x.cols(); ++j) {
    T* p = x.data() + j * x.outerStride();
    for (Index i = 0; i < x.rows(); ++i) p[i] = c * p[i];
  }
}

// z = c (W a) + b, as fma(c, W a, b) entry by entry.
template <typename T>
void scaled_dense_forward(const Matrix<T>& W, const Vector<T>& b, T c, const ConstMatrixRef<T>& a,
                          MatrixRef<T> z, kernels::GemmScratch<T>& scratch) {
  kernels::gemm<T>(Op::kN, Op::kN, W.rows(), a.cols(), W.cols(), W.data(), W.rows(), a.data(),
                   stride<T>(a), z.data(), z.outerStride(), nullptr, scratch);
  for (Index j = 0; j < z.cols(); ++j) {
    T* p = z.data() + j * z.outerStride();
    for (Index i = 0; i < z.rows(); ++i) p[i] = std::fma(c, p[i], b(i));
  }
}

}  // namespace

template <typename T>
void Mlp<T>::hidden_forward(Workspace<T>& ws, Index l, const Matrix<T>& u, Index n,
                            Pass pass) const {
  if (!config_.normed(l)) {
    activation_forward<T>(config_.hidden, u.leftCols(n), ws.A[at(l)].leftCols(n));
    return;
  }
  const bool batch = config_.norm == Norm::kBatch;
  const NormOut<T> out{ws.X_hat[at(l)],
                       ws.H[at(l)],
                       ws.mean[at(l)],
                       ws.rstd[at(l)],
                       batch ? &ws.batch_mean[at(l)] : nullptr,
                       batch ? &ws.batch_var[at(l)] : nullptr,
                       ws.sum1,
                       ws.sum2};
  norm_forward<T>(config_.norm, pass, u, n, gamma(l), beta(l), running_, l, out);
  activation_forward<T>(config_.hidden, ws.H[at(l)].leftCols(n), ws.A[at(l)].leftCols(n));
}

template <typename T>
void Mlp<T>::hidden_backward(Workspace<T>& ws, Index l, const Matrix<T>& u, Index n,
                             Params<T>& grads, MatrixRef<T> d) const {
  const bool normed = config_.normed(l);
  const Matrix<T>& z = normed ? ws.H[at(l)] : u;
  activation_backward<T>(config_.hidden, z.leftCols(n), ws.A[at(l)].leftCols(n), d);
  if (!normed) return;
  assert(d.outerStride() == d.rows());
  norm_backward<T>(config_.norm, d.data(), d.rows(), n, ws.X_hat[at(l)], gamma(l), ws.rstd[at(l)],
                   grads.gamma[at(l)], grads.beta[at(l)], ws.sum1, ws.sum2);
}

template <typename T>
Mlp<T>::Mlp(MlpConfig config, Index batch_capacity)
    : config_(std::move(config)),
      params_(config_),
      grads_(config_),
      workspace_(config_, batch_capacity) {
  if (config_.norm == Norm::kBatch) {
    running_.mean.resize(at(num_layers()));
    running_.var.resize(at(num_layers()));
  }
  reset_norm();
}

template <typename T>
void Mlp<T>::reset_norm() {
  for (Index l = 1; l < num_layers(); ++l) {
    if (!config_.normed(l)) continue;
    gamma(l).setOnes();
    beta(l).setZero();
    if (config_.norm == Norm::kBatch) {
      running_.mean[at(l)] = Vector<T>::Zero(config_.fan_out(l));
      running_.var[at(l)] = Vector<T>::Ones(config_.fan_out(l));
    }
  }
}

template <typename T>
void Mlp<T>::update_running_stats(const Workspace<T>& ws, Index n) {
  if (config_.norm != Norm::kBatch) return;
  assert(n >= 2);
  const auto momentum = static_cast<T>(kNormMomentum);
  const T keep = T(1) - momentum;
  const T unbias = static_cast<T>(static_cast<double>(n) / static_cast<double>(n - 1));
  for (Index l = 1; l < num_layers(); ++l) {
    Vector<T>& mean = running_.mean[at(l)];
    Vector<T>& var = running_.var[at(l)];
    const Vector<T>& batch_mean = ws.batch_mean[at(l)];
    const Vector<T>& batch_var = ws.batch_var[at(l)];
    for (Index j = 0; j < mean.size(); ++j) {
      mean(j) = keep * mean(j) + momentum * batch_mean(j);
      var(j) = keep * var(j) + momentum * (unbias * batch_var(j));
    }
  }
}

template <typename T>
void Mlp<T>::forward(Workspace<T>& ws, Index n, Pass pass) const {
  assert(n > 0 && n <= ws.capacity);
  if (config_.residual()) {
    forward_residual(ws, n, pass);
    return;
  }
  const Index L = num_layers();
  for (Index l = 1; l <= L; ++l) {
    auto z = ws.Z[at(l)].leftCols(n);
    const double c = config_.multiplier(l);
    if (c == 1.0) {
      dense_forward<T>(W(l), b(l), ws.A[at(l - 1)].leftCols(n), z, ws.scratch);
    } else {
      scaled_dense_forward<T>(W(l), b(l), static_cast<T>(c), ws.A[at(l - 1)].leftCols(n), z,
                              ws.scratch);
    }
    if (l < L) hidden_forward(ws, l, ws.Z[at(l)], n, pass);
  }
}

template <typename T>
double Mlp<T>::loss(const Workspace<T>& ws, Index n) const {
  const Index L = num_layers();
  return loss_forward<T>(config_.output, ws.Z[at(L)].leftCols(n), ws.Y.leftCols(n));
}

template <typename T>
Correct Mlp<T>::count_correct(const Workspace<T>& ws, Index n) const {
  const Index L = num_layers();
  return initbench::count_correct<T>(config_.output, ws.Z[at(L)].leftCols(n), ws.Y.leftCols(n));
}

template <typename T>
void Mlp<T>::backward(Workspace<T>& ws, Index n, Params<T>& grads) const {
  assert(n > 0 && n <= ws.capacity);
  if (config_.residual()) {
    backward_residual(ws, n, grads);
    return;
  }
  const Index L = num_layers();
  loss_backward<T>(config_.output, ws.Z[at(L)].leftCols(n), ws.Y.leftCols(n),
                   ws.D[at(L)].leftCols(n));
  for (Index l = L; l >= 1; --l) {
    const auto dz = ws.D[at(l)].leftCols(n);
    const double c = config_.multiplier(l);
    if (l > 1) {
      auto da =
          ws.D[at(l - 1)].leftCols(n);  // holds dL/dA[l-1] until the activation turns it into dL/dZ
      dense_backward<T>(W(l), ws.A[at(l - 1)].leftCols(n), dz, grads.W[at(l)], grads.b[at(l)], da,
                        ws.scratch);
      if (c != 1.0) {
        scale_columns<T>(grads.W[at(l)], static_cast<T>(c));
        scale_columns<T>(da, static_cast<T>(c));
      }
      hidden_backward(ws, l - 1, ws.Z[at(l - 1)], n, grads, da);
    } else {
      // dL/dA[0] (the input gradient) is not needed: pass an empty block
      dense_backward<T>(W(l), ws.A[0].leftCols(n), dz, grads.W[at(l)], grads.b[at(l)],
                        ws.D[0].leftCols(0), ws.scratch);
      if (c != 1.0) scale_columns<T>(grads.W[at(l)], static_cast<T>(c));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Residual nets (the header's second formula block)
// ---------------------------------------------------------------------------------------------

namespace {

// out = x + alpha f on the leading n columns, entry by entry: fma(alpha, f, x), so every entry
// gets the same correctly rounded operation whatever the compiler vectorises.
template <typename T>
void stream_add(const Matrix<T>& x, T alpha, const Matrix<T>& f, Matrix<T>& out, Index n) {
  const Index size = x.rows() * n;  // column-major: the leading n columns are contiguous
  const T* xp = x.data();
  const T* fp = f.data();
  T* op = out.data();
  for (Index k = 0; k < size; ++k) op[k] = std::fma(alpha, fp[k], xp[k]);
}

// sum over the leading n columns of g * f, in double, entry by entry in column-major order.
template <typename T>
double stream_dot(const Matrix<T>& g, const Matrix<T>& f, Index n) {
  const Index size = g.rows() * n;
  const T* gp = g.data();
  const T* fp = f.data();
  double sum = 0.0;
  for (Index k = 0; k < size; ++k)
    sum = std::fma(static_cast<double>(gp[k]), static_cast<double>(fp[k]), sum);
  return sum;
}

}  // namespace

template <typename T>
void Mlp<T>::forward_residual(Workspace<T>& ws, Index n, Pass pass) const {
  const Index L = num_layers();
  // x_0 = z_1 = W_1 a_0 + b_1; A[1] = phi(x_0)
  dense_forward<T>(W(1), b(1), ws.A[0].leftCols(n), ws.Z[1].leftCols(n), ws.scratch);
  ws.X[0].leftCols(n) = ws.Z[1].leftCols(n);
  hidden_forward(ws, 1, ws.X[0], n, pass);
  for (Index blk = 1; blk <= config_.blocks; ++blk) {
    const Index last = config_.branch_last(blk);
    for (Index l = config_.branch_first(blk); l <= last; ++l) {
      auto z = ws.Z[at(l)].leftCols(n);
      dense_forward<T>(W(l), b(l), ws.A[at(l - 1)].leftCols(n), z, ws.scratch);
      if (l < last) hidden_forward(ws, l, ws.Z[at(l)], n, pass);
    }
    // x_b = x_{b-1} + alpha_b F_b, F_b = Z[last]; A[last] = phi(x_b)
    Matrix<T>& x = ws.X[at(blk)];
    stream_add<T>(ws.X[at(blk - 1)], alpha(blk), ws.Z[at(last)], x, n);
    hidden_forward(ws, last, x, n, pass);
  }
  dense_forward<T>(W(L), b(L), ws.A[at(L - 1)].leftCols(n), ws.Z[at(L)].leftCols(n), ws.scratch);
}

template <typename T>
void Mlp<T>::backward_residual(Workspace<T>& ws, Index n, Params<T>& grads) const {
  const Index L = num_layers();
  const Index B = config_.blocks;
  loss_backward<T>(config_.output, ws.Z[at(L)].leftCols(n), ws.Y.leftCols(n),
                   ws.D[at(L)].leftCols(n));
  // G_B = (W_L^T D[L]) * phi'(x_B)
  dense_backward<T>(W(L), ws.A[at(L - 1)].leftCols(n), ws.D[at(L)].leftCols(n), grads.W[at(L)],
                    grads.b[at(L)], ws.G[at(B)].leftCols(n), ws.scratch);
  hidden_backward(ws, L - 1, ws.X[at(B)], n, grads, ws.G[at(B)].leftCols(n));
  for (Index blk = B; blk >= 1; --blk) {
    const Index first = config_.branch_first(blk);
    const Index last = config_.branch_last(blk);
    const Matrix<T>& g = ws.G[at(blk)];
    grads.alpha(blk - 1) = static_cast<T>(stream_dot<T>(g, ws.Z[at(last)], n));
    ws.D[at(last)].leftCols(n) = alpha(blk) * g.leftCols(n);
    for (Index l = last; l >= first; --l) {
      // D[l - 1] holds dL/dA[l-1] until the activation turns it into dL/dZ[l-1] (inside the
      // branch) or into the branch's share of dL/dx_{b-1} (l = first: D[first - 1] is free until
      // the block before this one writes it)
      auto da = ws.D[at(l - 1)].leftCols(n);
      dense_backward<T>(W(l), ws.A[at(l - 1)].leftCols(n), ws.D[at(l)].leftCols(n), grads.W[at(l)],
                        grads.b[at(l)], da, ws.scratch);
      const Matrix<T>& z = l > first ? ws.Z[at(l - 1)] : ws.X[at(blk - 1)];
      hidden_backward(ws, l - 1, z, n, grads, da);
    }
    // G_{b-1} = G_b + the branch's share
    ws.G[at(blk - 1)].leftCols(n) = g.leftCols(n) + ws.D[at(first - 1)].leftCols(n);
  }
  ws.D[1].leftCols(n) = ws.G[0].leftCols(n);
  dense_backward<T>(W(1), ws.A[0].leftCols(n), ws.D[1].leftCols(n), grads.W[1], grads.b[1],
                    ws.D[0].leftCols(0), ws.scratch);
}

template void dense_forward<float>(const Matrix<float>&, const Vector<float>&,
                                   const ConstMatrixRef<float>&, MatrixRef<float>,
                                   kernels::GemmScratch<float>&);
template void dense_forward<double>(const Matrix<double>&, const Vector<double>&,
                                    const ConstMatrixRef<double>&, MatrixRef<double>,
                                    kernels::GemmScratch<double>&);
template void dense_backward<float>(const Matrix<float>&, const ConstMatrixRef<float>&,
                                    const ConstMatrixRef<float>&, Matrix<float>&, Vector<float>&,
                                    MatrixRef<float>, kernels::GemmScratch<float>&);
template void dense_backward<double>(const Matrix<double>&, const ConstMatrixRef<double>&,
                                     const ConstMatrixRef<double>&, Matrix<double>&,
                                     Vector<double>&, MatrixRef<double>,
                                     kernels::GemmScratch<double>&);

template class Mlp<float>;
template class Mlp<double>;
template struct Params<float>;
template struct Params<double>;
template struct Workspace<float>;
template struct Workspace<double>;

}  // namespace initbench
