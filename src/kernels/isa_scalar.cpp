// isa_scalar.cpp: the kernels one element at a time, with the fused multiply-add of std::fma
// and SLEEF's scalar FMA functions: the same bits as the vector versions (kernels.hpp).
#include <sleef.h>

#include <cmath>

#include "table.hpp"

namespace initbench::kernels::scalar {
namespace {

constexpr Isa kIsa = Isa::kScalar;

// One lane. max/min follow the x86 vector instructions: the second operand unless a > b (a < b).
template <typename T>
struct ScalarSimd {
  using V = T;
  using Mask = bool;
  using Cmp = bool;
  static constexpr Index kWidth = 1;
  // Packed micro-tile: 4 rows x 4 columns.
  static constexpr Index kMRV = 4;
  static constexpr Index kNR = 4;
  // Direct path (small products): tiles of 2 rows x 4 columns.
  static constexpr Index kDirectMRV = 2;
  static constexpr Index kDirectCols = 4;
  // No taller direct groups for few columns (impl.hpp, direct_group_vectors): the compiler
  // schedules scalar chains itself.
  static constexpr Index kDirectMRVMax = 2;
  static constexpr Index kRegisters = 16;
  static Mask mask(Index count) { return count > 0; }
  static V zero() { return T(0); }
  static V set1(T x) { return x; }
  static V load(const T* p) { return *p; }
  static V loadu(const T* p) { return *p; }
  static V load_mask(const T* p, Mask m) { return m ? *p : T(0); }
  static void store(T* p, V v) { *p = v; }
  static void storeu(T* p, V v) { *p = v; }
  static void store_mask(T* p, V v, Mask m) {
    if (m) *p = v;
  }
  static V fma(V a, V b, V c) { return std::fma(a, b, c); }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V mul(V a, V b) { return a * b; }
  static V div(V a, V b) { return a / b; }
  static V max(V a, V b) { return a > b ? a : b; }
  static V min(V a, V b) { return a < b ? a : b; }
  static V abs(V a) { return std::fabs(a); }
  static Cmp gt(V a, V b) { return a > b; }
  static V select(Cmp c, V a, V b) { return c ? a : b; }
  static constexpr Index kTile = 1;
  static void transpose_tile(const T* src, Index, T* dst, Index) { *dst = *src; }
};

template <typename T>
struct Simd;

template <>
struct Simd<float> : ScalarSimd<float> {
  static V exp(V x) { return Sleef_finz_expf1_u10purecfma(x); }
  static V expm1(V x) { return Sleef_finz_expm1f1_u10purecfma(x); }
  static V log1p(V x) { return Sleef_finz_log1pf1_u10purecfma(x); }
  static V tanh(V x) { return Sleef_finz_tanhf1_u10purecfma(x); }
  static V erfc(V x) { return Sleef_finz_erfcf1_u15purecfma(x); }
};

template <>
struct Simd<double> : ScalarSimd<double> {
  static V exp(V x) { return Sleef_finz_expd1_u10purecfma(x); }
  static V expm1(V x) { return Sleef_finz_expm1d1_u10purecfma(x); }
  static V log1p(V x) { return Sleef_finz_log1pd1_u10purecfma(x); }
  static V tanh(V x) { return Sleef_finz_tanhd1_u10purecfma(x); }
  static V erfc(V x) { return Sleef_finz_erfcd1_u15purecfma(x); }
};

}  // namespace

#include "impl.hpp"

}  // namespace initbench::kernels::scalar

namespace initbench::kernels::detail {
const Table<float>& scalar_float() { return scalar::table<float>(); }
const Table<double>& scalar_double() { return scalar::table<double>(); }
}  // namespace initbench::kernels::detail
