#include "initbench/mlp.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <stdexcept>
#include <type_traits>

namespace initbench {

namespace {
std::size_t at(Index l) { return static_cast<std::size_t>(l); }
}  // namespace

Index MlpConfig::num_parameters() const {
  Index total = 0;
  for (Index l = 1; l <= num_layers(); ++l) total += fan_out(l) * (fan_in(l) + 1);
  return total;
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
}

template <typename T>
void Params<T>::set_zero() {
  for (std::size_t l = 1; l < W.size(); ++l) {
    W[l].setZero();
    b[l].setZero();
  }
}

template <typename T>
bool Params<T>::all_finite() const {
  for (std::size_t l = 1; l < W.size(); ++l) {
    if (!W[l].allFinite() || !b[l].allFinite()) return false;
  }
  return true;
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
