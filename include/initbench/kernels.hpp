// kernels.hpp: the engine's numerical kernels (matrix products and elementwise functions), one
// implementation per instruction set, chosen at run time.
//
// The bit-for-bit rule. Every kernel computes each output element by one fixed sequence of
// IEEE-754 operations that does not depend on the instruction set, the element's position (SIMD
// lane, masked tail, edge block), the blocking, the thread or the machine:
//   - gemm: C(i, j) = bias(i) + s_k, where s_0 = 0 and s_{p+1} = fma(op(A)(i, p), op(B)(p, j), s_p)
//     for p = 0, 1, ..., k - 1 in that order: one fused multiply-add chain over k, the bias added
//     after it (no bias: C(i, j) = s_k). Blocking splits k into blocks processed in order, each
//     continuing the chain from the value the previous block stored, so blocking never changes a
//     bit. row_sums is the same chain with op(B) = a column of ones.
//   - elementwise functions (activations, logistic, exp, softplus): the same formula in every
//     lane; exp, expm1, log1p, tanh, erfc are SLEEF's deterministic ("finz") versions, which give
//     the same bits in their AVX-512, AVX2 and scalar (FMA) forms. Accuracy: docs/kernels.md.
// So identical neurons get identical bits (the symmetry experiments measure symmetry, not
// rounding), and every run gives the same bytes on every x86-64 CPU with AVX2 and FMA, under
// every instruction set below.
//
// Instruction sets: avx512 (AVX-512F/BW/DQ/VL), avx2 (AVX2 + FMA), scalar (one element at a time
// with std::fma). The best one the CPU supports is used unless the environment variable
// INITBENCH_ISA names another (avx512 | avx2 | scalar).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "initbench/activation.hpp"
#include "initbench/types.hpp"

namespace initbench {

enum class Isa { kScalar, kAvx2, kAvx512 };

std::string_view isa_name(Isa isa);    // "scalar", "avx2", "avx512"
Isa parse_isa(std::string_view text);  // throws std::invalid_argument
bool isa_supported(Isa isa);           // by this CPU and operating system
std::vector<Isa> supported_isas();     // best first
Isa best_isa();                        // the best supported one
// The instruction set in use: the first call reads INITBENCH_ISA (throws std::invalid_argument
// naming the variable for an unknown or unsupported value), else takes best_isa().
Isa active_isa();
void set_active_isa(Isa isa);  // tests and benchmarks; throws if unsupported

namespace kernels {

enum class Op { kN, kT };  // op(X) = X or X^T

// 64-byte aligned storage that never shrinks: the packing buffers of gemm.
template <typename T>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::size_t size);
  T* data() { return data_.get(); }
  std::size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(T* p) const;
  };
  std::unique_ptr<T, Free> data_;
  std::size_t size_ = 0;
};

// Packing buffers for gemm, sized once for the largest product they will serve (a network's
// Workspace owns one; a training step allocates nothing). Products larger than the shape given
// still run: the blocking never needs more than one block of each operand.
template <typename T>
struct GemmScratch {
  Buffer<T> a;  // one packed block of op(A): (MC rows, KC)
  Buffer<T> b;  // one packed block of op(B): (KC, NC columns)

  GemmScratch() = default;
  // For products with at most max_m rows, max_n columns and inner dimension max_k.
  GemmScratch(Index max_m, Index max_n, Index max_k);
  void reserve(Index max_m, Index max_n, Index max_k);  // grows, never shrinks
};

// C (m, n; column-major, leading dimension ldc) = op(A) op(B) [+ bias (m) on every column], where
// A and B are column-major with leading dimensions lda and ldb: op(A) is (m, k), op(B) is (k, n).
// C must not overlap A, B or bias. k = 0 gives C = bias (or 0).
template <typename T>
void gemm(Op op_a, Op op_b, Index m, Index n, Index k, const T* A, Index lda, const T* B, Index ldb,
          T* C, Index ldc, const T* bias, GemmScratch<T>& scratch);

// The cache blocking of gemm's packed path, and the size of op(B) (bytes) up to which products
// skip packing. Chosen from the CPU's caches at the first product, or from the environment
// variable INITBENCH_GEMM_BLOCKING="kc,mc,nc[,direct_bytes]". It changes speed, never bits.
struct GemmBlocking {
  Index kc, mc, nc, direct_bytes;
};
template <typename T>
GemmBlocking gemm_blocking();
// Tests and tuning: replaces T's blocking (mc, nc rounded up to the micro-tile multiples). Call
// only while no product runs.
template <typename T>
void set_gemm_blocking(GemmBlocking blocking);

// out(i) = sum over j of X(i, j) for X (m, n), summed in order j = 0, 1, ... from 0.
template <typename T>
void row_sums(Index m, Index n, const T* X, Index ldx, T* out);

// Elementwise on contiguous spans of `size` elements (the outputs may not alias the inputs
// unless said). activation_forward: a = phi(z). activation_backward: d *= phi'(z), given
// a = phi(z) (in place on d).
template <typename T>
void activation_forward(const Activation& act, Index size, const T* z, T* a);
template <typename T>
void activation_backward(const Activation& act, Index size, const T* z, const T* a, T* d);
// out = 1 / (1 + e^-x); out = e^x; out = softplus(x) = max(x, 0) + log1p(e^-|x|). In place allowed.
template <typename T>
void logistic(Index size, const T* x, T* out);
template <typename T>
void exp(Index size, const T* x, T* out);
template <typename T>
void softplus(Index size, const T* x, T* out);

}  // namespace kernels
}  // namespace initbench
