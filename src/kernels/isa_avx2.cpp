// isa_avx2.cpp: the kernels for AVX2 + FMA, compiled with -march=x86-64-v3.
#include <immintrin.h>
#include <sleef.h>

#include "table.hpp"

namespace initbench::kernels::avx2 {
namespace {

constexpr Isa kIsa = Isa::kAvx2;

template <typename T>
struct Simd;

template <>
struct Simd<float> {
  using V = __m256;
  using Mask = __m256i;
  using Cmp = __m256;
  static constexpr Index kWidth = 8;
  // Packed micro-tile: 3 vectors (24 rows) x 4 columns = 12 accumulators of 16 registers.
  static constexpr Index kMRV = 3;
  static constexpr Index kNR = 4;
  // Direct path (small products): tiles of kDirectMRV vectors x kDirectCols columns.
  static constexpr Index kDirectMRV = 3;
  static constexpr Index kDirectCols = 4;
  // Taller direct groups for products with few columns (impl.hpp, direct_group_vectors), within
  // the 16 vector registers.
  static constexpr Index kDirectMRVMax = 6;
  static constexpr Index kRegisters = 16;
  static Mask mask(Index count) {
    const int c = count >= kWidth ? 8 : count <= 0 ? 0 : static_cast<int>(count);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V load(const float* p) { return _mm256_load_ps(p); }
  static V loadu(const float* p) { return _mm256_loadu_ps(p); }
  static V load_mask(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
  static void store(float* p, V v) { _mm256_store_ps(p, v); }
  static void storeu(float* p, V v) { _mm256_storeu_ps(p, v); }
  static void store_mask(float* p, V v, Mask m) { _mm256_maskstore_ps(p, m, v); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V min(V a, V b) { return _mm256_min_ps(a, b); }
  static V abs(V a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static Cmp gt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static V select(Cmp c, V a, V b) { return _mm256_blendv_ps(b, a, c); }
  static V exp(V x) { return Sleef_finz_expf8_u10avx2(x); }
  static V expm1(V x) { return Sleef_finz_expm1f8_u10avx2(x); }
  static V log1p(V x) { return Sleef_finz_log1pf8_u10avx2(x); }
  static V tanh(V x) { return Sleef_finz_tanhf8_u10avx2(x); }
  static V erfc(V x) { return Sleef_finz_erfcf8_u15avx2(x); }
  // dst[q ldd + r] = src[r ld + q] for r, q < kTile: a register transpose of 8 x 8 floats
  static constexpr Index kTile = 8;
  static void transpose_tile(const float* src, Index ld, float* dst, Index ldd) {
    __m256 r[8];  // registers
    __m256 t[8];
    for (Index i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * ld);
    for (Index i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (Index i = 0; i < 8; i += 4) {
      r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
      r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
      r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
      r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (Index i = 0; i < 4; ++i) {
      _mm256_storeu_ps(dst + i * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
      _mm256_storeu_ps(dst + (i + 4) * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
    }
  }
};

template <>
struct Simd<double> {
  using V = __m256d;
  using Mask = __m256i;
  using Cmp = __m256d;
  static constexpr Index kWidth = 4;
  static constexpr Index kMRV = 3;
  static constexpr Index kNR = 4;
  // Direct path (small products): tiles of kDirectMRV vectors x kDirectCols columns.
  static constexpr Index kDirectMRV = 3;
  static constexpr Index kDirectCols = 4;
  // Taller direct groups for products with few columns (impl.hpp, direct_group_vectors), within
  // the 16 vector registers.
  static constexpr Index kDirectMRVMax = 6;
  static constexpr Index kRegisters = 16;
  static Mask mask(Index count) {
    const long long c = count >= kWidth ? 4 : count <= 0 ? 0 : count;
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(c), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static V zero() { return _mm256_setzero_pd(); }
  static V set1(double x) { return _mm256_set1_pd(x); }
  static V load(const double* p) { return _mm256_load_pd(p); }
  static V loadu(const double* p) { return _mm256_loadu_pd(p); }
  static V load_mask(const double* p, Mask m) { return _mm256_maskload_pd(p, m); }
  static void store(double* p, V v) { _mm256_store_pd(p, v); }
  static void storeu(double* p, V v) { _mm256_storeu_pd(p, v); }
  static void store_mask(double* p, V v, Mask m) { _mm256_maskstore_pd(p, m, v); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static V div(V a, V b) { return _mm256_div_pd(a, b); }
  static V max(V a, V b) { return _mm256_max_pd(a, b); }
  static V min(V a, V b) { return _mm256_min_pd(a, b); }
  static V abs(V a) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), a); }
  static Cmp gt(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_GT_OQ); }
  static V select(Cmp c, V a, V b) { return _mm256_blendv_pd(b, a, c); }
  static V exp(V x) { return Sleef_finz_expd4_u10avx2(x); }
  static V expm1(V x) { return Sleef_finz_expm1d4_u10avx2(x); }
  static V log1p(V x) { return Sleef_finz_log1pd4_u10avx2(x); }
  static V tanh(V x) { return Sleef_finz_tanhd4_u10avx2(x); }
  static V erfc(V x) { return Sleef_finz_erfcd4_u15avx2(x); }
  // dst[q ldd + r] = src[r ld + q] for r, q < kTile: a register transpose of 4 x 4 doubles
  static constexpr Index kTile = 4;
  static void transpose_tile(const double* src, Index ld, double* dst, Index ldd) {
    const __m256d r0 = _mm256_loadu_pd(src);
    const __m256d r1 = _mm256_loadu_pd(src + ld);
    const __m256d r2 = _mm256_loadu_pd(src + 2 * ld);
    const __m256d r3 = _mm256_loadu_pd(src + 3 * ld);
    const __m256d t0 = _mm256_unpacklo_pd(r0, r1);
    const __m256d t1 = _mm256_unpackhi_pd(r0, r1);
    const __m256d t2 = _mm256_unpacklo_pd(r2, r3);
    const __m256d t3 = _mm256_unpackhi_pd(r2, r3);
    _mm256_storeu_pd(dst, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm256_storeu_pd(dst + ldd, _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm256_storeu_pd(dst + 2 * ldd, _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm256_storeu_pd(dst + 3 * ldd, _mm256_permute2f128_pd(t1, t3, 0x31));
  }
};

}  // namespace

#include "impl.hpp"

}  // namespace initbench::kernels::avx2

namespace initbench::kernels::detail {
const Table<float>& avx2_float() { return avx2::table<float>(); }
const Table<double>& avx2_double() { return avx2::table<double>(); }
}  // namespace initbench::kernels::detail
