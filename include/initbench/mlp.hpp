// mlp.hpp: the multilayer perceptron: parameters, buffers, forward and backward.
//
// Layers are numbered as in the papers, l = 1..L; index 0 of every per-layer vector is the
// input (A[0]) or unused. For a batch of n samples (columns):
//   z_l = W_l a_{l-1} + b_l        Z[l]: (n_l, n)
//   a_l = phi(z_l), l < L          A[l]: (n_l, n)
//   output: the logits Z[L]; the loss (loss.hpp) reads them.
// Backward, with D[l] = dL/dZ[l] of the mean loss over the n samples:
//   D[L]      = loss_backward(Z[L], Y)
//   dW_l      = D[l] A[l-1]^T,   db_l = row sums of D[l]
//   D[l-1]    = (W_l^T D[l]) * phi'(Z[l-1])
// All buffers are allocated when a Workspace is built for a batch capacity; forward/backward on
// n <= capacity samples use the leading n columns and allocate nothing.
//
// Residual nets (MlpConfig::blocks > 0): B blocks of m = block_depth dense layers, all of width
// w, between an input layer and the output layer, so L = 2 + B m. With the stream x_b (w, n):
//   x_0 = z_1 = W_1 a_0 + b_1                         (the input layer, no nonlinearity)
//   x_b = x_{b-1} + alpha_b F_b(x_{b-1}),   b = 1..B  (alpha_b a scalar per block)
//   F_b(x) = W_{l+m} phi(... W_{l+1} phi(x) + b_{l+1} ...) + b_{l+m},  l = 1 + (b-1) m
//            (pre-activation order: each branch layer is preceded by phi; no phi after it)
//   logits z_L = W_L phi(x_B) + b_L
// In the buffers: A[l] is always the input of layer l + 1, so A[l] = phi(x_b) when l = 1 + b m
// (the stream after block b, or x_0 for l = 1) and phi(Z[l]) inside a branch; Z[1 + b m] holds
// F_b (b >= 1). Backward, with G_b = dL/dx_b:
//   G_B = (W_L^T D[L]) * phi'(x_B)
//   D[1 + b m] = alpha_b G_b,  dalpha_b = sum over entries of G_b F_b (column by column, in order)
//   the branch's layers backward as above, down to g = dL/dphi(x_{b-1}) from its first layer
//   G_{b-1} = G_b + g * phi'(x_{b-1});  D[1] = G_0.
// The stream update and the sums use std::fma in a fixed order (the same bits everywhere).
#pragma once

#include <vector>

#include "initbench/activation.hpp"
#include "initbench/kernels.hpp"
#include "initbench/loss.hpp"
#include "initbench/types.hpp"

namespace initbench {

struct MlpConfig {
  std::vector<Index> sizes;  // n_0 (inputs), n_1, ..., n_L (outputs); at least two entries
  Activation hidden;         // phi for layers 1..L-1
  Output output = Output::kSigmoid;
  Index blocks = 0;          // residual blocks B; 0 = a plain MLP
  Index block_depth = 1;     // m, dense layers per residual branch (1 or 2)
  bool learn_alpha = false;  // the optimizer updates alpha_b (else it stays at its initial value)

  Index num_layers() const { return static_cast<Index>(sizes.size()) - 1; }  // L
  bool residual() const { return blocks > 0; }
  // Residual nets: block b's branch is layers branch_first(b)..branch_last(b), b = 1..B.
  Index branch_first(Index b) const { return 2 + (b - 1) * block_depth; }
  Index branch_last(Index b) const { return 1 + b * block_depth; }
  Index fan_in(Index l) const { return sizes[static_cast<std::size_t>(l - 1)]; }
  Index fan_out(Index l) const { return sizes[static_cast<std::size_t>(l)]; }
  Index num_parameters() const;
  // throws std::invalid_argument on empty or non-positive sizes, and for residual nets on a
  // block_depth other than 1 or 2, sizes not 2 + B m layers, or hidden layers of unequal width
  void validate() const;
};

// Per-layer parameters, or gradients of the same shapes.
template <typename T>
struct Params {
  std::vector<Matrix<T>> W;  // W[l]: (n_l, n_{l-1}), l = 1..L; W[0] empty
  std::vector<Vector<T>> b;  // b[l]: (n_l), l = 1..L; b[0] empty
  Vector<T> alpha;           // (B) alpha_b at index b - 1; empty in a plain MLP

  Params() = default;
  explicit Params(const MlpConfig& config);  // zero-filled
  Index num_layers() const { return static_cast<Index>(W.size()) - 1; }
  void set_zero();
  bool all_finite() const;
};

// Everything forward and backward write, for up to `capacity` samples.
template <typename T>
struct Workspace {
  Index capacity = 0;
  std::vector<Matrix<T>> Z;  // Z[l]: (n_l, capacity) pre-activations, l = 1..L (Z[L]: logits)
  std::vector<Matrix<T>> A;  // A[l]: (n_l, capacity) activations, l = 0..L-1 (A[0]: the input)
  std::vector<Matrix<T>> D;  // D[l]: (n_l, capacity) dL/dZ[l], l = 1..L
  Matrix<T> Y;               // (n_L, capacity) targets
  std::vector<Matrix<T>> X;  // X[b]: (w, capacity) the stream x_b, b = 0..B (residual nets only)
  std::vector<Matrix<T>> G;  // G[b]: (w, capacity) dL/dx_b, b = 0..B (residual nets only)
  kernels::GemmScratch<T> scratch;  // packing buffers of the products (allocated here, once)

  Workspace() = default;
  Workspace(const MlpConfig& config, Index capacity);
  Index num_layers() const { return static_cast<Index>(Z.size()) - 1; }
  // The leading n columns of the input and target buffers, to be filled before forward().
  auto input(Index n) { return A[0].leftCols(n); }
  auto target(Index n) { return Y.leftCols(n); }
  // Layer l's output after its nonlinearity: A[l] for hidden layers, the logits Z[L] for l = L.
  const Matrix<T>& activation(Index l) const {
    return l == num_layers() ? Z[static_cast<std::size_t>(l)] : A[static_cast<std::size_t>(l)];
  }
};

template <typename T>
class Mlp {
 public:
  // Builds the network with zero parameters, gradients, and a workspace for batch_capacity
  // samples. Initialize with init.hpp.
  Mlp(MlpConfig config, Index batch_capacity);

  const MlpConfig& config() const { return config_; }
  Index num_layers() const { return config_.num_layers(); }
  Params<T>& params() { return params_; }
  const Params<T>& params() const { return params_; }
  Params<T>& grads() { return grads_; }
  const Params<T>& grads() const { return grads_; }
  Workspace<T>& workspace() { return workspace_; }
  const Workspace<T>& workspace() const { return workspace_; }
  Matrix<T>& W(Index l) { return params_.W[static_cast<std::size_t>(l)]; }
  const Matrix<T>& W(Index l) const { return params_.W[static_cast<std::size_t>(l)]; }
  Vector<T>& b(Index l) { return params_.b[static_cast<std::size_t>(l)]; }
  const Vector<T>& b(Index l) const { return params_.b[static_cast<std::size_t>(l)]; }
  T& alpha(Index block) { return params_.alpha(block - 1); }  // residual nets, block = 1..B
  T alpha(Index block) const { return params_.alpha(block - 1); }

  // On the network's own workspace (input(n) and target(n) filled by the caller).
  void forward(Index n) { forward(workspace_, n); }
  double loss(Index n) const { return loss(workspace_, n); }
  void backward(Index n) { backward(workspace_, n, grads_); }

  // On any workspace built for this configuration (probes use their own).
  void forward(Workspace<T>& ws, Index n) const;
  double loss(const Workspace<T>& ws, Index n) const;                // after forward
  void backward(Workspace<T>& ws, Index n, Params<T>& grads) const;  // after forward
  Correct count_correct(const Workspace<T>& ws, Index n) const;      // after forward

 private:
  void forward_residual(Workspace<T>& ws, Index n) const;
  void backward_residual(Workspace<T>& ws, Index n, Params<T>& grads) const;

  MlpConfig config_;
  Params<T> params_;
  Params<T> grads_;
  Workspace<T> workspace_;
};

// The two halves of a dense layer, as free functions so one grep finds both.
// z = W a + b (z: (n_out, n), a: (n_in, n)). scratch: the products' packing buffers (a
// Workspace's own; any GemmScratch works, grown on first use if too small).
template <typename T>
void dense_forward(const Matrix<T>& W, const Vector<T>& b, const ConstMatrixRef<T>& a,
                   MatrixRef<T> z, kernels::GemmScratch<T>& scratch);
// dW = dz a^T, db = row sums of dz; if da is non-empty, da = W^T dz.
template <typename T>
void dense_backward(const Matrix<T>& W, const ConstMatrixRef<T>& a, const ConstMatrixRef<T>& dz,
                    Matrix<T>& dW, Vector<T>& db, MatrixRef<T> da,
                    kernels::GemmScratch<T>& scratch);

extern template class Mlp<float>;
extern template class Mlp<double>;
extern template struct Params<float>;
extern template struct Params<double>;
extern template struct Workspace<float>;
extern template struct Workspace<double>;

}  // namespace initbench
