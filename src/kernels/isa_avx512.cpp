// isa_avx512.cpp: the kernels for AVX-512 (F, BW, DQ, VL), compiled with -march=x86-64-v4.
// Called only when the CPU has it (dispatch.cpp).
#include <immintrin.h>
#include <sleef.h>

#include "table.hpp"

namespace initbench::kernels::avx512 {
namespace {

constexpr Isa kIsa = Isa::kAvx512;

template <typename T>
struct Simd;

template <>
struct Simd<float> {
  using V = __m512;
  using Mask = __mmask16;
  using Cmp = __mmask16;
  static constexpr Index kWidth = 16;
  // Packed micro-tile: 3 vectors (48 rows) x 8 columns = 24 accumulators of 32 registers.
  static constexpr Index kMRV = 3;
  static constexpr Index kNR = 8;
  // Direct path (small products): tiles of kDirectMRV vectors x kDirectCols columns.
  static constexpr Index kDirectMRV = 3;
  static constexpr Index kDirectCols = 8;
  // Taller direct groups for products with few columns (impl.hpp, direct_group_vectors), within
  // the 32 vector registers.
  static constexpr Index kDirectMRVMax = 8;
  static constexpr Index kRegisters = 32;
  static Mask mask(Index count) {
    return count >= kWidth ? Mask(0xFFFF)
           : count <= 0    ? Mask(0)
                           : static_cast<Mask>((1u << count) - 1u);
  }
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V load(const float* p) { return _mm512_load_ps(p); }
  static V loadu(const float* p) { return _mm512_loadu_ps(p); }
  static V load_mask(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, V v) { _mm512_store_ps(p, v); }
  static void storeu(float* p, V v) { _mm512_storeu_ps(p, v); }
  static void store_mask(float* p, V v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V min(V a, V b) { return _mm512_min_ps(a, b); }
  static V abs(V a) { return _mm512_abs_ps(a); }
  static Cmp gt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static V select(Cmp c, V a, V b) { return _mm512_mask_blend_ps(c, b, a); }
  static V exp(V x) { return Sleef_finz_expf16_u10avx512f(x); }
  static V expm1(V x) { return Sleef_finz_expm1f16_u10avx512f(x); }
  static V log1p(V x) { return Sleef_finz_log1pf16_u10avx512f(x); }
  static V tanh(V x) { return Sleef_finz_tanhf16_u10avx512f(x); }
  static V erfc(V x) { return Sleef_finz_erfcf16_u15avx512f(x); }
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
  using V = __m512d;
  using Mask = __mmask8;
  using Cmp = __mmask8;
  static constexpr Index kWidth = 8;
  static constexpr Index kMRV = 3;
  static constexpr Index kNR = 8;
  // Direct path (small products): tiles of kDirectMRV vectors x kDirectCols columns.
  static constexpr Index kDirectMRV = 3;
  static constexpr Index kDirectCols = 8;
  // Taller direct groups for products with few columns (impl.hpp, direct_group_vectors), within
  // the 32 vector registers.
  static constexpr Index kDirectMRVMax = 8;
  static constexpr Index kRegisters = 32;
  static Mask mask(Index count) {
    return count >= kWidth ? Mask(0xFF)
           : count <= 0    ? Mask(0)
                           : static_cast<Mask>((1u << count) - 1u);
  }
  static V zero() { return _mm512_setzero_pd(); }
  static V set1(double x) { return _mm512_set1_pd(x); }
  static V load(const double* p) { return _mm512_load_pd(p); }
  static V loadu(const double* p) { return _mm512_loadu_pd(p); }
  static V load_mask(const double* p, Mask m) { return _mm512_maskz_loadu_pd(m, p); }
  static void store(double* p, V v) { _mm512_store_pd(p, v); }
  static void storeu(double* p, V v) { _mm512_storeu_pd(p, v); }
  static void store_mask(double* p, V v, Mask m) { _mm512_mask_storeu_pd(p, m, v); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V sub(V a, V b) { return _mm512_sub_pd(a, b); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V div(V a, V b) { return _mm512_div_pd(a, b); }
  static V max(V a, V b) { return _mm512_max_pd(a, b); }
  static V min(V a, V b) { return _mm512_min_pd(a, b); }
  static V abs(V a) { return _mm512_abs_pd(a); }
  static Cmp gt(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
  static V select(Cmp c, V a, V b) { return _mm512_mask_blend_pd(c, b, a); }
  static V exp(V x) { return Sleef_finz_expd8_u10avx512f(x); }
  static V expm1(V x) { return Sleef_finz_expm1d8_u10avx512f(x); }
  static V log1p(V x) { return Sleef_finz_log1pd8_u10avx512f(x); }
  static V tanh(V x) { return Sleef_finz_tanhd8_u10avx512f(x); }
  static V erfc(V x) { return Sleef_finz_erfcd8_u15avx512f(x); }
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

}  // namespace initbench::kernels::avx512

namespace initbench::kernels::detail {
const Table<float>& avx512_float() { return avx512::table<float>(); }
const Table<double>& avx512_double() { return avx512::table<double>(); }
}  // namespace initbench::kernels::detail
