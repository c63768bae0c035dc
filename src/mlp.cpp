#include "initbench/mlp.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>
#include <type_traits>

namespace initbench {

namespace {
std::size_t at(Index l) { return static_cast<std::size_t>(l); }
}  // namespace

Index MlpConfig::num_parameters() const {
  Index total = 0;
  for (Index l = 1; l <= num_layers(); ++l) total += fan_out(l) * (fan_in(l) + 1);
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
}

template <typename T>
void Params<T>::set_zero() {
  for (std::size_t l = 1; l < W.size(); ++l) {
    W[l].setZero();
    b[l].setZero();
  }
  alpha.setZero();
}

template <typename T>
bool Params<T>::all_finite() const {
  for (std::size_t l = 1; l < W.size(); ++l) {
    if (!W[l].allFinite() || !b[l].allFinite()) return false;
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

template <typename T>
Mlp<T>::Mlp(MlpConfig config, Index batch_capacity)
    : config_(std::move(config)),
      params_(config_),
      grads_(config_),
      workspace_(config_, batch_capacity) {}

template <typename T>
void Mlp<T>::forward(Workspace<T>& ws, Index n) const {
  assert(n > 0 && n <= ws.capacity);
  if (config_.residual()) {
    forward_residual(ws, n);
    return;
  }
  const Index L = num_layers();
  for (Index l = 1; l <= L; ++l) {
    auto z = ws.Z[at(l)].leftCols(n);
    dense_forward<T>(W(l), b(l), ws.A[at(l - 1)].leftCols(n), z, ws.scratch);
    if (l < L) activation_forward<T>(config_.hidden, z, ws.A[at(l)].leftCols(n));
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
    if (l > 1) {
      auto da =
          ws.D[at(l - 1)].leftCols(n);  // holds dL/dA[l-1] until the activation turns it into dL/dZ
      dense_backward<T>(W(l), ws.A[at(l - 1)].leftCols(n), dz, grads.W[at(l)], grads.b[at(l)], da,
                        ws.scratch);
      activation_backward<T>(config_.hidden, ws.Z[at(l - 1)].leftCols(n),
                             ws.A[at(l - 1)].leftCols(n), da);
    } else {
      // dL/dA[0] (the input gradient) is not needed: pass an empty block
      dense_backward<T>(W(l), ws.A[0].leftCols(n), dz, grads.W[at(l)], grads.b[at(l)],
                        ws.D[0].leftCols(0), ws.scratch);
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
void Mlp<T>::forward_residual(Workspace<T>& ws, Index n) const {
  const Index L = num_layers();
  // x_0 = z_1 = W_1 a_0 + b_1; A[1] = phi(x_0)
  dense_forward<T>(W(1), b(1), ws.A[0].leftCols(n), ws.Z[1].leftCols(n), ws.scratch);
  ws.X[0].leftCols(n) = ws.Z[1].leftCols(n);
  activation_forward<T>(config_.hidden, ws.X[0].leftCols(n), ws.A[1].leftCols(n));
  for (Index blk = 1; blk <= config_.blocks; ++blk) {
    const Index last = config_.branch_last(blk);
    for (Index l = config_.branch_first(blk); l <= last; ++l) {
      auto z = ws.Z[at(l)].leftCols(n);
      dense_forward<T>(W(l), b(l), ws.A[at(l - 1)].leftCols(n), z, ws.scratch);
      if (l < last) activation_forward<T>(config_.hidden, z, ws.A[at(l)].leftCols(n));
    }
    // x_b = x_{b-1} + alpha_b F_b, F_b = Z[last]; A[last] = phi(x_b)
    Matrix<T>& x = ws.X[at(blk)];
    stream_add<T>(ws.X[at(blk - 1)], alpha(blk), ws.Z[at(last)], x, n);
    activation_forward<T>(config_.hidden, x.leftCols(n), ws.A[at(last)].leftCols(n));
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
  activation_backward<T>(config_.hidden, ws.X[at(B)].leftCols(n), ws.A[at(L - 1)].leftCols(n),
                         ws.G[at(B)].leftCols(n));
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
      activation_backward<T>(config_.hidden, z.leftCols(n), ws.A[at(l - 1)].leftCols(n), da);
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
