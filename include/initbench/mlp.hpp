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
// With forward multipliers (MlpConfig::multipliers, parametrization.hpp) layer l computes
//   z_l = c_l W_l a_{l-1} + b_l,  dW_l = c_l D[l] A[l-1]^T,  D[l-1] = c_l (W_l^T D[l]) * phi'
// (each product as above, then one rounding multiplication by c_l; z_l = fma(c_l, W a, b)).
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
//
// Normalization (MlpConfig::norm = batch | layer; none by default). A norm N_l sits in front of
// every hidden nonlinearity, so that a_l = phi(N_l(u_l)) for l = 1..L-1, where u_l is what phi
// read without it: u_l = z_l in a plain MLP (after the dense layer's product and bias, before
// phi: Ioffe & Szegedy's order) and inside a residual branch; u_l = x_b, the stream, for
// l = 1 + b m (pre-activation order: each branch reads phi(N(x_{b-1})), the output layer reads
// phi(N(x_B)); the stream itself and the branch's last product are never normalized). The
// output layer has none. Each N_l has its own gamma_l, beta_l (n_l), and writes
//   h_l = gamma_l * xhat_l + beta_l,   xhat_l = (u_l - mu) / sqrt(var + eps),  eps = 1e-5
// into H[l] (phi reads H[l], so A[l] = phi(H[l])), xhat into X_hat[l]. The statistics:
//   batch: per unit over the n samples, var biased (divided by n), in a training pass
//          (Pass::kTrain); a Pass::kEval forward uses the running mean and running variance
//          instead (Mlp::running_mean / running_var, updated by update_running_stats after a
//          training pass: r <- (1 - 0.1) r + 0.1 s with the batch's unbiased variance, PyTorch's
//          momentum convention; they start at 0 and 1).
//   layer: per sample over the n_l units, var biased; the same in both passes.
// The dense layer keeps its bias b_l (redundant before a batch norm, which subtracts the mean:
// its gradient is then 0 up to rounding; kept so that every layer has the same parameters).
// Backward through N_l, with dh = dL/dH[l] and g = gamma dh, sums over the statistics' axis
// (k items: k = n samples for batch, n_l units for layer):
//   dgamma = sum over samples of dh * xhat,   dbeta = sum over samples of dh
//   du = rstd * (g - mean(g) - xhat * mean(g * xhat))     (the exact, batch-coupled gradient)
// In the buffers the backward turns dL/dA into dL/dH (activation) and then into dL/du in place.
// Every sum is in double, in index order (samples for a unit's batch statistics, units for a
// sample's layer statistics), so the bytes are the same on every CPU and instruction set.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "initbench/activation.hpp"
#include "initbench/kernels.hpp"
#include "initbench/loss.hpp"
#include "initbench/types.hpp"

namespace initbench {

// MlpConfig::norm: none | batch | layer (the header comment).
enum class Norm { kNone, kBatch, kLayer };
Norm parse_norm(std::string_view text);  // throws std::invalid_argument listing the names
std::string norm_name(Norm norm);
const std::vector<std::string>& norm_names();
inline constexpr double kNormEps = 1e-5;      // added to the variance
inline constexpr double kNormMomentum = 0.1;  // of the running statistics (batch norm)

// A forward pass's statistics: a training pass normalizes a batch norm by the batch's own
// statistics, an evaluation pass by the running ones (the same for a layer norm).
enum class Pass { kTrain, kEval };

struct MlpConfig {
  std::vector<Index> sizes;  // n_0 (inputs), n_1, ..., n_L (outputs); at least two entries
  Activation hidden;         // phi for layers 1..L-1
  Output output = Output::kSigmoid;
  Index blocks = 0;          // residual blocks B; 0 = a plain MLP
  Index block_depth = 1;     // m, dense layers per residual branch (1 or 2)
  bool learn_alpha = false;  // the optimizer updates alpha_b (else it stays at its initial value)
  Norm norm = Norm::kNone;   // a norm before every hidden phi (the header comment)
  // c_l of z_l = c_l W_l a_{l-1} + b_l at index l = 1..L (index 0 unused); empty = every c_l = 1.
  // Plain MLPs only (parametrization.hpp sets it).
  std::vector<double> multipliers{};

  Index num_layers() const { return static_cast<Index>(sizes.size()) - 1; }  // L
  bool residual() const { return blocks > 0; }
  // Residual nets: block b's branch is layers branch_first(b)..branch_last(b), b = 1..B.
  Index branch_first(Index b) const { return 2 + (b - 1) * block_depth; }
  Index branch_last(Index b) const { return 1 + b * block_depth; }
  Index fan_in(Index l) const { return sizes[static_cast<std::size_t>(l - 1)]; }
  Index fan_out(Index l) const { return sizes[static_cast<std::size_t>(l)]; }
  // Layer l = 1..L-1 has a norm in front of its phi (gamma_l, beta_l).
  bool normed(Index l) const { return norm != Norm::kNone && l >= 1 && l < num_layers(); }
  double multiplier(Index l) const {
    return multipliers.empty() ? 1.0 : multipliers[static_cast<std::size_t>(l)];
  }
  Index num_parameters() const;
  // throws std::invalid_argument on empty or non-positive sizes, and for residual nets on a
  // block_depth other than 1 or 2, sizes not 2 + B m layers, or hidden layers of unequal width
  void validate() const;
};

// Per-layer parameters, or gradients of the same shapes.
template <typename T>
struct Params {
  std::vector<Matrix<T>> W;      // W[l]: (n_l, n_{l-1}), l = 1..L; W[0] empty
  std::vector<Vector<T>> b;      // b[l]: (n_l), l = 1..L; b[0] empty
  Vector<T> alpha;               // (B) alpha_b at index b - 1; empty in a plain MLP
  std::vector<Vector<T>> gamma;  // gamma[l]: (n_l) for a normed layer (MlpConfig::normed), else
  std::vector<Vector<T>> beta;   // empty; beta[l] likewise

  Params() = default;
  explicit Params(const MlpConfig& config);  // zero-filled (gamma too: Mlp sets it to 1)
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
  // Normed layers only (MlpConfig::normed(l)); empty otherwise:
  std::vector<Matrix<T>> H;      // H[l]: (n_l, capacity) the norm's output, phi's input
  std::vector<Matrix<T>> X_hat;  // X_hat[l]: (n_l, capacity) the normalized values
  std::vector<Vector<T>> mean;   // mean[l], rstd[l] = 1 / sqrt(var + eps): (n_l) for a batch norm,
  std::vector<Vector<T>> rstd;   // (capacity) for a layer norm; what the last forward used
  std::vector<Vector<T>> batch_mean;  // batch norm: (n_l) the last training pass's mean and
  std::vector<Vector<T>> batch_var;   // biased variance (an evaluation pass leaves them)
  Eigen::VectorXd sum1, sum2;         // (max n_l) double accumulators of the norms' sums
  kernels::GemmScratch<T> scratch;    // packing buffers of the products (allocated here, once)

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

// Running statistics of a batch-normed network's layers (empty vectors elsewhere).
template <typename T>
struct NormState {
  std::vector<Vector<T>> mean;  // mean[l]: (n_l), starts at 0
  std::vector<Vector<T>> var;   // var[l]: (n_l) unbiased, starts at 1
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
  // A normed layer's gamma_l and beta_l (MlpConfig::normed(l)).
  Vector<T>& gamma(Index l) { return params_.gamma[static_cast<std::size_t>(l)]; }
  const Vector<T>& gamma(Index l) const { return params_.gamma[static_cast<std::size_t>(l)]; }
  Vector<T>& beta(Index l) { return params_.beta[static_cast<std::size_t>(l)]; }
  const Vector<T>& beta(Index l) const { return params_.beta[static_cast<std::size_t>(l)]; }
  // A batch norm's running statistics (used by Pass::kEval).
  const NormState<T>& running() const { return running_; }
  // gamma = 1, beta = 0, running mean 0 and variance 1: a norm's initial state (the constructor
  // and init.hpp's initialize call it).
  void reset_norm();
  // After a training pass on n samples of ws: every batch norm's running mean and variance move
  // towards that batch's (momentum kNormMomentum; the variance unbiased, n / (n - 1) times the
  // biased one; needs n >= 2). No-op without batch norm. Allocates nothing.
  void update_running_stats(const Workspace<T>& ws, Index n);
  void update_running_stats(Index n) { update_running_stats(workspace_, n); }

  // On the network's own workspace (input(n) and target(n) filled by the caller). A training
  // pass by default; backward() needs one before it.
  void forward(Index n, Pass pass = Pass::kTrain) { forward(workspace_, n, pass); }
  double loss(Index n) const { return loss(workspace_, n); }
  void backward(Index n) { backward(workspace_, n, grads_); }

  // On any workspace built for this configuration (probes use their own).
  void forward(Workspace<T>& ws, Index n, Pass pass = Pass::kTrain) const;
  double loss(const Workspace<T>& ws, Index n) const;                // after forward
  void backward(Workspace<T>& ws, Index n, Params<T>& grads) const;  // after forward
  Correct count_correct(const Workspace<T>& ws, Index n) const;      // after forward

 private:
  void forward_residual(Workspace<T>& ws, Index n, Pass pass) const;
  void backward_residual(Workspace<T>& ws, Index n, Params<T>& grads) const;
  // a_l = phi(N_l(u)) (or phi(u) without a norm), on the leading n columns
  void hidden_forward(Workspace<T>& ws, Index l, const Matrix<T>& u, Index n, Pass pass) const;
  // d holds dL/dA[l]; turns it into dL/du (through phi' and, if normed, the norm's backward)
  void hidden_backward(Workspace<T>& ws, Index l, const Matrix<T>& u, Index n, Params<T>& grads,
                       MatrixRef<T> d) const;

  MlpConfig config_;
  Params<T> params_;
  Params<T> grads_;
  Workspace<T> workspace_;
  NormState<T> running_;
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
