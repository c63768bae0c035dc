#include "initbench/mlp.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <stdexcept>
#include <type_traits>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif
#if defined(INITBENCH_HAVE_BLAS)
#include <cblas.h>
// OpenBLAS's own entry point (declared by its cblas.h, but not by netlib's, which Debian's
// alternatives may put in its place).
extern "C" void openblas_set_num_threads(int num_threads);
#endif

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
Workspace<T>::Workspace(const MlpConfig& config, Index capacity_) : capacity(capacity_) {
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
}

// ---------------------------------------------------------------------------------------------
// Products
//
// Every product of forward and backward is one call C = op(A) op(B) (+ bias) on column-major
// blocks. Two rules:
//   - Symmetry: identical neurons must get bit-identical values and gradients, or the symmetry
//     experiments measure rounding instead of symmetry (one differing bit is enough for Adam to
//     split two neurons). So every entry of C whose row, or column, indexes neurons must be
//     computed by the same sequence of operations wherever it sits: a SIMD lane, a masked tail,
//     a remainder block. Our own kernel (column_kernel) is built that way: one SIMD lane per row
//     of C, the same FMA chain for every column of one call. BLAS libraries are not (OpenBLAS
//     computes edge rows and columns with other micro-kernels; here widths 33, 40 and 70 broke
//     the symmetry of constant init); nor is Eigen's GEMM.
//   - Speed: OpenBLAS's sgemm/dgemm (INITBENCH_BLAS; ~95% of this machine's peak on 64x64x64
//     and larger) when the neuron dimensions are multiples of kBlasMultiple (no edge blocks) and
//     the shape is not small; our kernel otherwise. For small shapes (at most kSmall output rows
//     or inner dimension: the course's 2-10-5-1 network, every network's output layer) our
//     kernel is also the faster one: BLAS pays a fixed cost (packing, blocking) that dominates
//     such shapes; this kernel streams the batch once and needs no packing of B.
// Determinism: each kernel sums in a fixed order, so the same inputs give the same bits on every
// call and in every thread; BLAS runs single-threaded (set once below), and its kernel is chosen
// by the CPU, so bits can differ between machines (as they already do with -march=native).
// ---------------------------------------------------------------------------------------------

namespace {

enum class Op { kN, kT };  // op(X) = X or X^T

// A column-major operand: element (i, j) at data[i + j * ld].
template <typename T>
struct View {
  const T* data;
  Index ld;
};

constexpr Index kSmall = 16;
constexpr Index kBlasMultiple = 64;

// The few SIMD operations the kernel needs, with masked loads and stores for a partial last
// chunk of rows (so that 10 rows cost one vector, not 8 + 2 scalars): AVX-512, AVX2 + FMA, or
// one row at a time (the build's -ffp-contract=off keeps a * b + c two roundings in every lane).
template <typename T>
struct Simd {
  using V = T;
  using Mask = bool;
  static constexpr Index kWidth = 1;
  static Mask mask(Index rows) { return rows > 0; }
  static V load(const T* p, Mask m) { return m ? *p : T(0); }
  static void store(T* p, V v, Mask m) {
    if (m) *p = v;
  }
  static void storeu(T* p, V v) { *p = v; }
  static V set1(T x) { return x; }
  static V zero() { return T(0); }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V add(V a, V b) { return a + b; }
};
#if defined(__AVX512F__)
template <>
struct Simd<float> {
  using V = __m512;
  using Mask = __mmask16;
  static constexpr Index kWidth = 16;
  static Mask mask(Index rows) {
    return static_cast<Mask>(rows >= kWidth ? 0xFFFFu : (1u << rows) - 1u);
  }
  static V load(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, V v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
  static void storeu(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V zero() { return _mm512_setzero_ps(); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
};
template <>
struct Simd<double> {
  using V = __m512d;
  using Mask = __mmask8;
  static constexpr Index kWidth = 8;
  static Mask mask(Index rows) {
    return static_cast<Mask>(rows >= kWidth ? 0xFFu : (1u << rows) - 1u);
  }
  static V load(const double* p, Mask m) { return _mm512_maskz_loadu_pd(m, p); }
  static void store(double* p, V v, Mask m) { _mm512_mask_storeu_pd(p, m, v); }
  static void storeu(double* p, V v) { _mm512_storeu_pd(p, v); }
  static V set1(double x) { return _mm512_set1_pd(x); }
  static V zero() { return _mm512_setzero_pd(); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
};
#elif defined(__AVX2__) && defined(__FMA__)
template <>
struct Simd<float> {
  using V = __m256;
  using Mask = __m256i;
  static constexpr Index kWidth = 8;
  static Mask mask(Index rows) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(std::min(rows, kWidth))),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V load(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
  static void store(float* p, V v, Mask m) { _mm256_maskstore_ps(p, m, v); }
  static void storeu(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V zero() { return _mm256_setzero_ps(); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
};
template <>
struct Simd<double> {
  using V = __m256d;
  using Mask = __m256i;
  static constexpr Index kWidth = 4;
  static Mask mask(Index rows) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(std::min(rows, kWidth)),
                              _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static V load(const double* p, Mask m) { return _mm256_maskload_pd(p, m); }
  static void store(double* p, V v, Mask m) { _mm256_maskstore_pd(p, m, v); }
  static void storeu(double* p, V v) { _mm256_storeu_pd(p, v); }
  static V set1(double x) { return _mm256_set1_pd(x); }
  static V zero() { return _mm256_setzero_pd(); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
};
#endif

// C(i, j) = [C(i, j) if accumulate] + [bias(i)] + sum_{p < k} P(i, p) S(p, j)
// for i < rows <= kWidth and j < kCols, where P(i, p) = P[i + p * ldp] and S(p, j) =
// S[p * sp + j * sj] (any strides: S is B, or B^T, or a constant with sp = sj = 0). Each column
// has its own accumulator, so kCols independent FMA chains hide the FMA latency, and the chunk
// of P loaded once serves every column; when the whole product has fewer than 4 columns the sum
// over p is split into kSplit interleaved partial sums for the same reason (added in a fixed
// order at the end). kSplit is chosen per product, never per group, so that every column of C
// is summed the same way (the symmetry rule above).
template <typename T, Index kCols, Index kSplit>
void column_group(Index rows, Index k, const T* P, Index ldp, const T* S, Index sp, Index sj, T* C,
                  Index ldc, const T* bias, bool accumulate, bool spill) {
  using V = typename Simd<T>::V;
  const auto mask = Simd<T>::mask(rows);
  V acc[static_cast<std::size_t>(kSplit)][static_cast<std::size_t>(kCols)];  // registers
  // The unroll pragmas keep acc in registers (without them GCC 12 spills it to the stack).
#pragma GCC unroll 8
  for (Index c = 0; c < kCols; ++c) {
#pragma GCC unroll 4
    for (Index h = 0; h < kSplit; ++h) acc[h][c] = Simd<T>::zero();
  }
  Index p = 0;
  for (; p + kSplit <= k; p += kSplit) {
#pragma GCC unroll 4
    for (Index h = 0; h < kSplit; ++h) {
      const V a = Simd<T>::load(P + (p + h) * ldp, mask);
      const T* s = S + (p + h) * sp;
#pragma GCC unroll 8
      for (Index c = 0; c < kCols; ++c)
        acc[h][c] = Simd<T>::fma(a, Simd<T>::set1(s[c * sj]), acc[h][c]);
    }
  }
  for (; p < k; ++p) {
    const V a = Simd<T>::load(P + p * ldp, mask);
    const T* s = S + p * sp;
#pragma GCC unroll 8
    for (Index c = 0; c < kCols; ++c)
      acc[0][c] = Simd<T>::fma(a, Simd<T>::set1(s[c * sj]), acc[0][c]);
  }
  const V start = bias != nullptr ? Simd<T>::load(bias, mask) : Simd<T>::zero();
#pragma GCC unroll 8
  for (Index c = 0; c < kCols; ++c) {
    V sum = acc[0][c];
#pragma GCC unroll 4
    for (Index h = 1; h < kSplit; ++h) sum = Simd<T>::add(sum, acc[h][c]);
    acc[0][c] = Simd<T>::add(start, sum);
  }
  if (spill || (rows == Simd<T>::kWidth && !accumulate)) {
    // Full-width stores (masked stores are slow on some CPUs, AMD's among them). With spill, a
    // column's store runs into the next columns, which are written after it (column_kernel).
#pragma GCC unroll 8
    for (Index c = 0; c < kCols; ++c) Simd<T>::storeu(C + c * ldc, acc[0][c]);
    return;
  }
#pragma GCC unroll 8
  for (Index c = 0; c < kCols; ++c) {
    T* out = C + c * ldc;
    Simd<T>::store(out, accumulate ? Simd<T>::add(acc[0][c], Simd<T>::load(out, mask)) : acc[0][c],
                   mask);
  }
}

// Columns [j, j + count) of C, count < 8, as one group.
template <typename T, Index kSplit>
void column_tail(Index count, Index rows, Index k, const T* P, Index ldp, const T* S, Index sp,
                 Index sj, T* C, Index ldc, const T* bias, bool accumulate, bool spill) {
  auto group = [&]<Index kCols>() {
    column_group<T, kCols, kSplit>(rows, k, P, ldp, S, sp, sj, C, ldc, bias, accumulate, spill);
  };
  switch (count) {
    case 1: group.template operator()<1>(); return;
    case 2: group.template operator()<2>(); return;
    case 3: group.template operator()<3>(); return;
    case 4: group.template operator()<4>(); return;
    case 5: group.template operator()<5>(); return;
    case 6: group.template operator()<6>(); return;
    case 7: group.template operator()<7>(); return;
    default: return;
  }
}

template <typename T, Index kSplit>
void column_kernel_split(Index m, Index n, Index k, const T* P, Index ldp, const T* S, Index sp,
                         Index sj, T* C, Index ldc, const T* bias, bool accumulate) {
  constexpr Index kCols = 8;
  constexpr Index kWidth = Simd<T>::kWidth;
  // A single chunk of rows (m < kWidth) stored densely (ldc == m) is written with full-width
  // stores that spill into the following columns, in column order, as long as the spill stays
  // inside C: columns j < n_spill.
  const bool dense = m < kWidth && ldc == m && !accumulate;
  const Index n_spill = dense ? std::max<Index>(0, n - (kWidth + m - 1) / m) : 0;
  for (Index i = 0; i < m; i += kWidth) {
    const Index rows = std::min(kWidth, m - i);
    const T* b = bias != nullptr ? bias + i : nullptr;
    Index j = 0;
    for (; j + kCols <= n; j += kCols) {
      column_group<T, kCols, kSplit>(rows, k, P + i, ldp, S + j * sj, sp, sj, C + i + j * ldc, ldc,
                                     b, accumulate, j + kCols <= n_spill);
    }
    if (j < n) {
      column_tail<T, kSplit>(n - j, rows, k, P + i, ldp, S + j * sj, sp, sj, C + i + j * ldc, ldc,
                             b, accumulate, n <= n_spill);
    }
  }
}

template <typename T>
void column_kernel(Index m, Index n, Index k, const T* P, Index ldp, const T* S, Index sp, Index sj,
                   T* C, Index ldc, const T* bias, bool accumulate) {
  if (n < 4) {
    column_kernel_split<T, 4>(m, n, k, P, ldp, S, sp, sj, C, ldc, bias, accumulate);
  } else {
    column_kernel_split<T, 1>(m, n, k, P, ldp, S, sp, sj, C, ldc, bias, accumulate);
  }
}

// C (m x n) = op(A) op(B) (+ bias) on our kernel. op(A) = A^T is packed, a block of rows at a
// time, into a buffer on the stack (at most kPack elements), so that its columns are contiguous.
template <typename T>
void own_product(Op op_a, Op op_b, Index m, Index n, Index k, View<T> A, View<T> B, T* C, Index ldc,
                 const T* bias) {
  // S(p, j) = op(B)(p, j)
  const Index sp = op_b == Op::kN ? 1 : B.ld;
  const Index sj = op_b == Op::kN ? B.ld : 1;
  if (op_a == Op::kN) {
    column_kernel<T>(m, n, k, A.data, A.ld, B.data, sp, sj, C, ldc, bias, false);
    return;
  }
  constexpr Index kPack = 4096;
  alignas(64) T packed[kPack];
  const Index kc = std::min<Index>(k, 256);
  const Index mc =
      std::max<Index>(Simd<T>::kWidth, (kPack / kc) / Simd<T>::kWidth * Simd<T>::kWidth);
  for (Index i = 0; i < m; i += mc) {
    const Index rows = std::min(mc, m - i);
    for (Index p = 0; p < k; p += kc) {
      const Index depth = std::min(kc, k - p);
      // packed(r, q) = op(A)(i + r, p + q) = A(p + q, i + r)
      for (Index q = 0; q < depth; ++q) {
        for (Index r = 0; r < rows; ++r) packed[r + q * rows] = A.data[(p + q) + (i + r) * A.ld];
      }
      column_kernel<T>(rows, n, depth, packed, rows, B.data + p * sp, sp, sj, C + i, ldc,
                       p == 0 ? (bias != nullptr ? bias + i : nullptr) : nullptr, p > 0);
    }
  }
}

#if defined(INITBENCH_HAVE_BLAS)
// Single-threaded OpenBLAS: the runner parallelises over runs, not inside products.
void blas_single_thread() {
  static const bool once = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)once;
}
CBLAS_TRANSPOSE blas_op(Op op) { return op == Op::kN ? CblasNoTrans : CblasTrans; }
void blas_gemm(Op op_a, Op op_b, Index m, Index n, Index k, View<float> A, View<float> B, float* C,
               Index ldc, float beta) {
  blas_single_thread();
  cblas_sgemm(CblasColMajor, blas_op(op_a), blas_op(op_b), static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), 1.0f, A.data, static_cast<int>(A.ld), B.data,
              static_cast<int>(B.ld), beta, C, static_cast<int>(ldc));
}
void blas_gemm(Op op_a, Op op_b, Index m, Index n, Index k, View<double> A, View<double> B,
               double* C, Index ldc, double beta) {
  blas_single_thread();
  cblas_dgemm(CblasColMajor, blas_op(op_a), blas_op(op_b), static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), 1.0, A.data, static_cast<int>(A.ld), B.data,
              static_cast<int>(B.ld), beta, C, static_cast<int>(ldc));
}
#endif

#if defined(INITBENCH_HAVE_BLAS) && defined(__AVX512F__)
// out(j, c) = in(c, j) for a 16x16 block of floats (column-major, any leading dimensions).
// GCC 12 warns that its own intrinsics use an uninitialised __Y (_mm512_undefined_ps(), by
// design) once they are inlined here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
void transpose16(const float* in, Index ld_in, float* out, Index ld_out) {
  __m512 r[16];  // registers
  __m512 t[16];
  for (Index c = 0; c < 16; ++c) r[c] = _mm512_loadu_ps(in + c * ld_in);
  for (Index c = 0; c < 16; c += 2) {
    t[c] = _mm512_unpacklo_ps(r[c], r[c + 1]);
    t[c + 1] = _mm512_unpackhi_ps(r[c], r[c + 1]);
  }
  for (Index c = 0; c < 16; c += 4) {
    r[c] = _mm512_shuffle_ps(t[c], t[c + 2], 0x44);
    r[c + 1] = _mm512_shuffle_ps(t[c], t[c + 2], 0xEE);
    r[c + 2] = _mm512_shuffle_ps(t[c + 1], t[c + 3], 0x44);
    r[c + 3] = _mm512_shuffle_ps(t[c + 1], t[c + 3], 0xEE);
  }
  for (Index c = 0; c < 4; ++c) {
    t[c] = _mm512_shuffle_f32x4(r[c], r[c + 4], 0x88);
    t[c + 4] = _mm512_shuffle_f32x4(r[c], r[c + 4], 0xDD);
    t[c + 8] = _mm512_shuffle_f32x4(r[c + 8], r[c + 12], 0x88);
    t[c + 12] = _mm512_shuffle_f32x4(r[c + 8], r[c + 12], 0xDD);
  }
  for (Index c = 0; c < 8; ++c) {
    r[c] = _mm512_shuffle_f32x4(t[c], t[c + 8], 0x88);
    r[c + 8] = _mm512_shuffle_f32x4(t[c], t[c + 8], 0xDD);
  }
  for (Index c = 0; c < 16; ++c) _mm512_storeu_ps(out + c * ld_out, r[c]);
}
#pragma GCC diagnostic pop

// buffer(i, p) = A(p, i) for i < m, p < k (buffer column-major, leading dimension m).
void transpose_into(const float* A, Index lda, Index m, Index k, float* buffer) {
  for (Index i = 0; i < m; i += 16) {
    for (Index p = 0; p < k; p += 16) {
      if (i + 16 <= m && p + 16 <= k) {
        transpose16(A + p + i * lda, lda, buffer + i + p * m, m);
        continue;
      }
      for (Index ii = i; ii < std::min(i + 16, m); ++ii) {
        for (Index pp = p; pp < std::min(p + 16, k); ++pp) buffer[ii + pp * m] = A[pp + ii * lda];
      }
    }
  }
}
#endif

// C (m x n, leading dimension ldc) = op(A) op(B) (+ bias broadcast over columns). The rows of C
// always index neurons; its columns do when neuron_columns (dW of a hidden layer's inputs).
template <typename T>
void product(Op op_a, Op op_b, Index m, Index n, Index k, View<T> A, View<T> B, T* C, Index ldc,
             const T* bias, bool neuron_columns) {
  if (m == 0 || n == 0) return;
#if defined(INITBENCH_HAVE_BLAS)
  const bool blas = m > kSmall && k > kSmall && m % kBlasMultiple == 0 &&
                    (!neuron_columns || n % kBlasMultiple == 0);
  if (blas) {
    // z = W a + b as BLAS does it (PyTorch's addmm): b broadcast into C, then C = W a + 1 C.
    if (bias != nullptr) {
      using Map = Eigen::Map<Matrix<T>, 0, Eigen::OuterStride<>>;
      Map(C, m, n, Eigen::OuterStride<>(ldc)).colwise() = Eigen::Map<const Vector<T>>(bias, m);
    }
#if defined(__AVX512F__)
    // OpenBLAS's A^T B is ~25% slower than its A B on small shapes (64x64x64: 6.3 vs 4.6 us
    // here); a register transpose of A costs 0.3 us.
    constexpr Index kTransposeMax = 96;
    if constexpr (std::is_same_v<T, float>) {
      if (op_a == Op::kT && m <= kTransposeMax && k <= kTransposeMax) {
        alignas(64) float transposed[kTransposeMax * kTransposeMax];
        transpose_into(A.data, A.ld, m, k, transposed);
        blas_gemm(Op::kN, op_b, m, n, k, View<float>{transposed, m}, B, C, ldc,
                  bias != nullptr ? T(1) : T(0));
        return;
      }
    }
#endif
    blas_gemm(op_a, op_b, m, n, k, A, B, C, ldc, bias != nullptr ? T(1) : T(0));
    return;
  }
#endif
  (void)neuron_columns;
  own_product<T>(op_a, op_b, m, n, k, A, B, C, ldc, bias);
}

template <typename T>
View<T> view(const ConstMatrixRef<T>& x) {
  return {x.data(), x.outerStride()};
}
template <typename T>
View<T> view(const Matrix<T>& x) {
  return {x.data(), x.rows()};
}

}  // namespace

template <typename T>
void dense_forward(const Matrix<T>& W, const Vector<T>& b, const ConstMatrixRef<T>& a,
                   MatrixRef<T> z) {
  assert(z.rows() == W.rows() && z.cols() == a.cols() && a.rows() == W.cols());
  product<T>(Op::kN, Op::kN, W.rows(), a.cols(), W.cols(), view(W), view(a), z.data(),
             z.outerStride(), b.data(), false);
}

template <typename T>
void dense_backward(const Matrix<T>& W, const ConstMatrixRef<T>& a, const ConstMatrixRef<T>& dz,
                    Matrix<T>& dW, Vector<T>& db, MatrixRef<T> da) {
  const Index n = dz.cols();
  // dW = dz a^T: (n_out, n) (n, n_in). Its columns index the neurons of the layer below when
  // there is one (da wanted), the input features otherwise.
  const bool hidden_below = da.size() > 0;
  product<T>(Op::kN, Op::kT, W.rows(), W.cols(), n, view(dz), view(a), dW.data(), dW.rows(),
             nullptr, hidden_below);
  // db = dz 1: the row sums, as a product with a column of ones (a stride-0 operand)
  const T one(1);
  column_kernel<T>(W.rows(), 1, n, dz.data(), dz.outerStride(), &one, 0, 0, db.data(), db.size(),
                   nullptr, false);
  // da = W^T dz: (n_in, n_out) (n_out, n)
  if (hidden_below) {
    product<T>(Op::kT, Op::kN, W.cols(), n, W.rows(), view(W), view(dz), da.data(),
               da.outerStride(), nullptr, false);
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
    dense_forward<T>(W(l), b(l), ws.A[at(l - 1)].leftCols(n), z);
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
      dense_backward<T>(W(l), ws.A[at(l - 1)].leftCols(n), dz, grads.W[at(l)], grads.b[at(l)], da);
      activation_backward<T>(config_.hidden, ws.Z[at(l - 1)].leftCols(n),
                             ws.A[at(l - 1)].leftCols(n), da);
    } else {
      // dL/dA[0] (the input gradient) is not needed: pass an empty block
      dense_backward<T>(W(l), ws.A[0].leftCols(n), dz, grads.W[at(l)], grads.b[at(l)],
                        ws.D[0].leftCols(0));
    }
  }
}

template void dense_forward<float>(const Matrix<float>&, const Vector<float>&,
                                   const ConstMatrixRef<float>&, MatrixRef<float>);
template void dense_forward<double>(const Matrix<double>&, const Vector<double>&,
                                    const ConstMatrixRef<double>&, MatrixRef<double>);
template void dense_backward<float>(const Matrix<float>&, const ConstMatrixRef<float>&,
                                    const ConstMatrixRef<float>&, Matrix<float>&, Vector<float>&,
                                    MatrixRef<float>);
template void dense_backward<double>(const Matrix<double>&, const ConstMatrixRef<double>&,
                                     const ConstMatrixRef<double>&, Matrix<double>&,
                                     Vector<double>&, MatrixRef<double>);

template class Mlp<float>;
template class Mlp<double>;
template struct Params<float>;
template struct Params<double>;
template struct Workspace<float>;
template struct Workspace<double>;

}  // namespace initbench
