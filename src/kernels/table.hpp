// table.hpp (internal): what each instruction set's kernels provide, as a table of plain
// function pointers, and the blocking every implementation shares. Only src/kernels/ includes it.
#pragma once

#include <cstddef>

#include "initbench/activation.hpp"
#include "initbench/kernels.hpp"

namespace initbench::kernels::detail {

// The cache blocking of the packed path (GotoBLAS/BLIS): a (kc x nc) block of op(B) stays in
// L3, a (mc x kc) block of op(A) in L2, a (kc x NR) micro-panel of op(B) in L1. Chosen at run time
// from the caches (dispatch.cpp); it changes speed, never bits (kernels.hpp). mc is a multiple of
// the ISA's MR, nc of its NR.
// Products whose operands take at most direct_bytes skip packing (the direct path; impl.hpp).
using Blocking = GemmBlocking;

// One gemm call with its blocking and packing buffers (see gemm in kernels.hpp). The buffers hold
// at least round_up(min(m, mc), MR) * min(k, kc) and round_up(min(n, nc), NR) * min(k, kc)
// elements.
template <typename T>
struct GemmCall {
  Op op_a, op_b;
  Index m, n, k;
  const T* A;
  Index lda;
  const T* B;
  Index ldb;
  T* C;
  Index ldc;
  const T* bias;  // (m) or nullptr
  T* pack_a;      // pack_a_size elements, 64-byte aligned
  std::size_t pack_a_size;
  T* pack_b;
  std::size_t pack_b_size;
  Blocking blocking;
};

template <typename T>
struct Table {
  void (*gemm)(const GemmCall<T>& call);
  void (*row_sums)(Index m, Index n, const T* X, Index ldx, T* out);
  void (*activation_forward)(ActivationKind kind, T param, Index size, const T* z, T* a);
  void (*activation_backward)(ActivationKind kind, T param, Index size, const T* z, const T* a,
                              T* d);
  void (*logistic)(Index size, const T* x, T* out);
  void (*exp)(Index size, const T* x, T* out);
  void (*softplus)(Index size, const T* x, T* out);
};

// Each ISA's micro-tile of the packed path: MR rows (a multiple of its vector width) x NR columns.
struct MicroTile {
  Index mr, nr;
};
constexpr MicroTile micro_tile(Isa isa, std::size_t type_size) {
  switch (isa) {
    case Isa::kAvx512: return type_size == 4 ? MicroTile{48, 8} : MicroTile{24, 8};
    case Isa::kAvx2: return type_size == 4 ? MicroTile{24, 4} : MicroTile{12, 4};
    case Isa::kScalar: return MicroTile{4, 4};
  }
  return MicroTile{4, 4};
}

// Each instruction set's tables (src/kernels/isa_*.cpp). Call only when the ISA is supported.
const Table<float>& avx512_float();
const Table<double>& avx512_double();
const Table<float>& avx2_float();
const Table<double>& avx2_double();
const Table<float>& scalar_float();
const Table<double>& scalar_double();

}  // namespace initbench::kernels::detail
