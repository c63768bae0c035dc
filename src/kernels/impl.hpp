// impl.hpp (internal): the kernels, written once over a SIMD traits type and compiled once per
// instruction set by src/kernels/isa_*.cpp, each with its own compiler flags.
//
// An including file defines, in namespace initbench::kernels::<isa>, a class template
// Simd<T> for T = float and double with:
//   V, Mask (lane mask for partial loads and stores), Cmp (result of a comparison);
//   kWidth (lanes); mask(count): the first min(count, kWidth) lanes;
//   zero, set1, load, loadu, load_mask (other lanes 0), store, store_mask;
//   fma(a, b, c) = a * b + c rounded once; add, sub, mul, div;
//   max(a, b) = a > b ? a : b and min(a, b) = a < b ? a : b (the x86 rule: the second operand
//   when either is NaN), abs, gt(a, b) = a > b, select(c, a, b) = c ? a : b;
//   exp, expm1, log1p, tanh, erfc: SLEEF's deterministic ("finz") functions;
// and the parameters kMRV (vectors per micro-tile column), kNR (micro-tile columns) for the
// packed path. Then it includes this file and instantiates table<T>().
//
// Everything here is in an anonymous namespace nested in the ISA's namespace: nothing compiled
// with one ISA's flags can be linked in place of another's (no shared inline or template
// symbols; only intrinsics and our own helpers are used, no standard-library templates).
//
// The arithmetic rule of kernels.hpp holds by construction: every product element is one chain
// acc = fma(a, b, acc) in increasing p, started at +0, continued across k-blocks from the value
// stored in C, and the bias is added after the last block; every elementwise formula below is
// written once and applied lane by lane (a tail is a masked vector, not a scalar loop).

namespace {

using initbench::Index;
using initbench::kernels::Op;
using initbench::kernels::detail::GemmCall;

constexpr Index min_of(Index a, Index b) { return a < b ? a : b; }
constexpr Index round_up(Index x, Index to) { return (x + to - 1) / to * to; }

// ---------------------------------------------------------------------------------------------
// Packed path (GotoBLAS/BLIS): op(B) is packed a (KC x NC) block at a time into NR-column
// micro-panels, op(A) a (MC x KC) block at a time into MR-row micro-panels (zero-padded), and a
// register-blocked micro-kernel computes one (MR x NR) tile of C per micro-panel pair.
// ---------------------------------------------------------------------------------------------

// C tile (rows x cols, rows <= kMRV W, cols <= NR) continued over kc steps: acc starts at +0 on
// the first k-block and at the stored C otherwise; bias (the rows' slice, or nullptr) is added on
// the last block. a: packed, a_step (the panel's MR) values per step, of which the tile reads
// kMRV W; b: packed, NR values per step.
template <typename T, Index kMRV, Index kNR>
void packed_tile(Index kc, const T* __restrict a, Index a_step, const T* __restrict b,
                 T* __restrict c, Index ldc, Index rows, Index cols, bool first, bool last,
                 const T* bias) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr Index W = S::kWidth;
  V acc[static_cast<std::size_t>(kMRV)][static_cast<std::size_t>(kNR)];  // registers
  const bool full = rows == kMRV * W && cols == kNR;
  if (first) {
#pragma GCC unroll 16
    for (Index j = 0; j < kNR; ++j) {
#pragma GCC unroll 4
      for (Index v = 0; v < kMRV; ++v) acc[v][j] = S::zero();
    }
  } else if (full) {
#pragma GCC unroll 16
    for (Index j = 0; j < kNR; ++j) {
#pragma GCC unroll 4
      for (Index v = 0; v < kMRV; ++v) acc[v][j] = S::loadu(c + v * W + j * ldc);
    }
  } else {
#pragma GCC unroll 16
    for (Index j = 0; j < kNR; ++j) {
#pragma GCC unroll 4
      for (Index v = 0; v < kMRV; ++v) {
        acc[v][j] = j < cols ? S::load_mask(c + v * W + j * ldc, S::mask(rows - v * W)) : S::zero();
      }
    }
  }
  for (Index p = 0; p < kc; ++p) {
    V av[static_cast<std::size_t>(kMRV)];
#pragma GCC unroll 4
    for (Index v = 0; v < kMRV; ++v) av[v] = S::load(a + v * W);
#pragma GCC unroll 16
    for (Index j = 0; j < kNR; ++j) {
      const V bj = S::set1(b[j]);
#pragma GCC unroll 4
      for (Index v = 0; v < kMRV; ++v) acc[v][j] = S::fma(av[v], bj, acc[v][j]);
    }
    a += a_step;
    b += kNR;
  }
  if (last && bias != nullptr) {
#pragma GCC unroll 4
    for (Index v = 0; v < kMRV; ++v) {
      const V bv =
          full ? S::loadu(bias + v * W) : S::load_mask(bias + v * W, S::mask(rows - v * W));
#pragma GCC unroll 16
      for (Index j = 0; j < kNR; ++j) acc[v][j] = S::add(bv, acc[v][j]);
    }
  }
  if (full) {
#pragma GCC unroll 16
    for (Index j = 0; j < kNR; ++j) {
#pragma GCC unroll 4
      for (Index v = 0; v < kMRV; ++v) S::storeu(c + v * W + j * ldc, acc[v][j]);
    }
    return;
  }
#pragma GCC unroll 16
  for (Index j = 0; j < kNR; ++j) {
    if (j >= cols) break;
#pragma GCC unroll 4
    for (Index v = 0; v < kMRV; ++v) {
      if (rows > v * W) S::store_mask(c + v * W + j * ldc, acc[v][j], S::mask(rows - v * W));
    }
  }
}

// out(r, p) = out[p kR + r] = src[p + r ld] for r < count (then 0 up to the next whole vector),
// p < kc: a
// transposing copy, by the ISA's register transpose of (kTile x kTile) tiles where whole tiles
// fit, element by element elsewhere; in blocks of kTile steps, so that the (kTile x kR) block
// written stays in L1.
template <typename T, Index kR>
void transpose_pack(const T* src, Index ld, Index count, Index kc, T* out) {
  constexpr Index kTile = Simd<T>::kTile;
  const Index full_rows = count / kTile * kTile;
  const Index padded = min_of(round_up(count, Simd<T>::kWidth), kR);
  for (Index p = 0; p < kc; p += kTile) {
    const Index steps = min_of(kTile, kc - p);
    Index r = 0;
    if (steps == kTile) {
      // unrolled on purpose: left to itself GCC compiled this loop differently as the file grew
      // (a double A^T product measured up to 20% slower with bench_gemm)
#pragma GCC unroll 8
      for (; r < full_rows; r += kTile)
        Simd<T>::transpose_tile(src + r * ld + p, ld, out + p * kR + r, kR);
    }
    for (; r < count; ++r) {
      const T* column = src + r * ld + p;
      for (Index q = 0; q < steps; ++q) out[(p + q) * kR + r] = column[q];
    }
    // zeros up to the vector holding the last row: the narrowest tile that reads the panel
    // reads no further
    for (Index q = 0; q < steps; ++q) {
      for (Index rr = count; rr < padded; ++rr) out[(p + q) * kR + rr] = T(0);
    }
  }
}

// dst(r, p) = op(A)(i0 + r, p0 + p) for r < MR (zero beyond m), p < kc: MR-row micro-panels,
// panel after panel, each kc x MR values (MR consecutive per step).
template <typename T, Index kMR>
void pack_a(Op op, const T* A, Index lda, Index i0, Index rows, Index p0, Index kc, T* dst) {
  using S = Simd<T>;
  constexpr Index W = S::kWidth;
  for (Index ir = 0; ir < rows; ir += kMR) {
    const Index mr = min_of(kMR, rows - ir);
    T* out = dst + ir * kc;
    if (op == Op::kN) {
      // op(A)(i, p) = A[i + p lda]: MR contiguous values per step
      const T* src = A + (i0 + ir) + p0 * lda;
      if (mr == kMR) {
        for (Index p = 0; p < kc; ++p) {
          for (Index v = 0; v < kMR; v += W)
            S::store(out + p * kMR + v, S::loadu(src + p * lda + v));
        }
      } else {
        // the last panel: its rows, then zeros up to the next whole vector (all a tile reads)
        for (Index p = 0; p < kc; ++p) {
          for (Index v = 0; v < mr; v += W) {
            S::store(out + p * kMR + v, S::load_mask(src + p * lda + v, S::mask(mr - v)));
          }
        }
      }
    } else {
      // op(A)(i, p) = A[p + i lda]: row r of the panel is contiguous in p
      transpose_pack<T, kMR>(A + p0 + (i0 + ir) * lda, lda, mr, kc, out);
    }
  }
}

// dst(p, j) = op(B)(p0 + p, j0 + j) for j < NR (zero beyond n), p < kc: NR-column
// micro-panels, each kc x NR values (NR consecutive per step).
template <typename T, Index kNR>
void pack_b(Op op, const T* B, Index ldb, Index p0, Index kc, Index j0, Index cols, T* dst) {
  for (Index jr = 0; jr < cols; jr += kNR) {
    const Index nr = min_of(kNR, cols - jr);
    T* out = dst + jr * kc;
    if (op == Op::kT) {
      // op(B)(p, j) = B[j + p ldb]: NR contiguous values per step
      const T* src = B + (j0 + jr) + p0 * ldb;
      if (nr == kNR) {
        for (Index p = 0; p < kc; ++p) {
          for (Index j = 0; j < kNR; ++j) out[p * kNR + j] = src[p * ldb + j];
        }
      } else {
        for (Index p = 0; p < kc; ++p) {
          for (Index j = 0; j < kNR; ++j) out[p * kNR + j] = j < nr ? src[p * ldb + j] : T(0);
        }
      }
    } else {
      // op(B)(p, j) = B[p + j ldb]: column j of the panel is contiguous in p
      transpose_pack<T, kNR>(B + p0 + (j0 + jr) * ldb, ldb, nr, kc, out);
    }
  }
}

template <typename T>
void gemm_packed(const GemmCall<T>& g) {
  using S = Simd<T>;
  constexpr Index kMR = S::kMRV * S::kWidth;
  constexpr Index kNR = S::kNR;
  static_assert(initbench::kernels::detail::micro_tile(kIsa, sizeof(T)).mr == kMR &&
                initbench::kernels::detail::micro_tile(kIsa, sizeof(T)).nr == kNR);
  const Index kKC = g.blocking.kc;
  const Index kMC = g.blocking.mc;
  const Index kNC = g.blocking.nc;
  for (Index jc = 0; jc < g.n; jc += kNC) {
    const Index nc = min_of(kNC, g.n - jc);
    for (Index pc = 0; pc < g.k; pc += kKC) {
      const Index kc = min_of(kKC, g.k - pc);
      const bool first = pc == 0;
      const bool last = pc + kc == g.k;
      pack_b<T, kNR>(g.op_b, g.B, g.ldb, pc, kc, jc, nc, g.pack_b);
      for (Index ic = 0; ic < g.m; ic += kMC) {
        const Index mc = min_of(kMC, g.m - ic);
        pack_a<T, kMR>(g.op_a, g.A, g.lda, ic, mc, pc, kc, g.pack_a);
        const T* bias = last && g.bias != nullptr ? g.bias + ic : nullptr;
        for (Index jr = 0; jr < nc; jr += kNR) {
          const Index cols = min_of(kNR, nc - jr);
          for (Index ir = 0; ir < mc; ir += kMR) {
            const Index rows = min_of(kMR, mc - ir);
            const T* a = g.pack_a + ir * kc;
            const T* b = g.pack_b + jr * kc;
            T* c = g.C + (ic + ir) + (jc + jr) * g.ldc;
            const T* bias_i = bias != nullptr ? bias + ir : nullptr;
            // the last rows of a block take the narrowest tile that holds them
            switch ((rows + S::kWidth - 1) / S::kWidth) {
              case 1:
                packed_tile<T, 1, kNR>(kc, a, kMR, b, c, g.ldc, rows, cols, first, last, bias_i);
                break;
              case 2:
                if constexpr (S::kMRV >= 2) {
                  packed_tile<T, 2, kNR>(kc, a, kMR, b, c, g.ldc, rows, cols, first, last, bias_i);
                }
                break;
              case 3:
                if constexpr (S::kMRV >= 3) {
                  packed_tile<T, 3, kNR>(kc, a, kMR, b, c, g.ldc, rows, cols, first, last, bias_i);
                }
                break;
              default:
                static_assert(S::kMRV <= 4);
                if constexpr (S::kMRV >= 4) {
                  packed_tile<T, 4, kNR>(kc, a, kMR, b, c, g.ldc, rows, cols, first, last, bias_i);
                }
                break;
            }
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Direct path, for small products (where packing costs more than it saves: the course network,
// output layers, small batches): op(B) is read in place with any strides, op(A) in place when it
// is A (masked loads for the last rows), packed one KC-deep panel at a time when it is A^T.
// ---------------------------------------------------------------------------------------------

// C tile (rows x kCols, rows <= kMRV W) continued over kc steps, as packed_tile. a: step a_step
// (rows masked); b(p, j) = b[p sp + j sj].
template <typename T, Index kMRV, Index kCols, bool kFull>
void direct_tile(Index kc, const T* __restrict a, Index a_step, const T* __restrict b, Index sp,
                 Index sj, T* __restrict c, Index ldc, Index rows, bool first, bool last,
                 const T* bias) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr Index W = S::kWidth;
  typename S::Mask m[static_cast<std::size_t>(kMRV)];
#pragma GCC unroll 8
  for (Index v = 0; v < kMRV; ++v) m[v] = S::mask(rows - v * W);
  V acc[static_cast<std::size_t>(kMRV)][static_cast<std::size_t>(kCols)];  // registers
#pragma GCC unroll 8
  for (Index j = 0; j < kCols; ++j) {
#pragma GCC unroll 8
    for (Index v = 0; v < kMRV; ++v) {
      acc[v][j] = first   ? S::zero()
                  : kFull ? S::loadu(c + v * W + j * ldc)
                          : S::load_mask(c + v * W + j * ldc, m[v]);
    }
  }
  for (Index p = 0; p < kc; ++p) {
    V av[static_cast<std::size_t>(kMRV)];
#pragma GCC unroll 8
    for (Index v = 0; v < kMRV; ++v)
      av[v] = kFull ? S::loadu(a + v * W) : S::load_mask(a + v * W, m[v]);
    const T* bp = b + p * sp;
#pragma GCC unroll 8
    for (Index j = 0; j < kCols; ++j) {
      const V bj = S::set1(bp[j * sj]);
#pragma GCC unroll 8
      for (Index v = 0; v < kMRV; ++v) acc[v][j] = S::fma(av[v], bj, acc[v][j]);
    }
    a += a_step;
  }
  if (last && bias != nullptr) {
#pragma GCC unroll 8
    for (Index v = 0; v < kMRV; ++v) {
      const V bv = kFull ? S::loadu(bias + v * W) : S::load_mask(bias + v * W, m[v]);
#pragma GCC unroll 8
      for (Index j = 0; j < kCols; ++j) acc[v][j] = S::add(bv, acc[v][j]);
    }
  }
#pragma GCC unroll 8
  for (Index j = 0; j < kCols; ++j) {
#pragma GCC unroll 8
    for (Index v = 0; v < kMRV; ++v) {
      if constexpr (kFull) {
        S::storeu(c + v * W + j * ldc, acc[v][j]);
      } else {
        S::store_mask(c + v * W + j * ldc, acc[v][j], m[v]);
      }
    }
  }
}

// Columns per direct tile for a group of kMRV vectors: kDirectCols up to kDirectMRV vectors;
// taller groups (only for products with few columns) take as many columns as the registers hold
// (kMRV x cols accumulators, kMRV values of op(A), one broadcast of op(B)).
template <typename T>
constexpr Index direct_cols(Index vectors) {
  using S = Simd<T>;
  if (vectors <= S::kDirectMRV) return S::kDirectCols;
  return min_of(S::kDirectCols, (S::kRegisters - 1 - vectors) / vectors);
}

// Vectors per row group for a product with n columns: the tallest group whose tile holds all n
// columns, so that a product with 1 to a few columns (a batch of 1 to 4) has enough independent
// chains in flight to hide the FMA latency; kDirectMRV when n fills kDirectCols.
template <typename T>
constexpr Index direct_group_vectors(Index n) {
  using S = Simd<T>;
  Index vectors = S::kDirectMRV;
  while (vectors < S::kDirectMRVMax && direct_cols<T>(vectors + 1) >= min_of(n, S::kDirectCols))
    ++vectors;
  return vectors;
}

// Columns [0, n) of one row group, direct_cols at a time, then the remaining columns as one tile.
template <typename T, Index kMRV, bool kFull>
void direct_columns(Index kc, const T* a, Index a_step, const T* b, Index sp, Index sj, T* c,
                    Index ldc, Index rows, Index n, bool first, bool last, const T* bias) {
  constexpr Index kCols = direct_cols<T>(kMRV);
  static_assert(kCols >= 1 && kCols <= 8);
  Index j = 0;
  for (; j + kCols <= n; j += kCols) {
    direct_tile<T, kMRV, kCols, kFull>(kc, a, a_step, b + j * sj, sp, sj, c + j * ldc, ldc, rows,
                                       first, last, bias);
  }
  const T* bj = b + j * sj;
  T* cj = c + j * ldc;
  auto tail = [&]<Index kTail>() {
    if constexpr (kTail < kCols) {
      direct_tile<T, kMRV, kTail, kFull>(kc, a, a_step, bj, sp, sj, cj, ldc, rows, first, last,
                                         bias);
    }
  };
  switch (n - j) {
    case 1: tail.template operator()<1>(); break;
    case 2: tail.template operator()<2>(); break;
    case 3: tail.template operator()<3>(); break;
    case 4: tail.template operator()<4>(); break;
    case 5: tail.template operator()<5>(); break;
    case 6: tail.template operator()<6>(); break;
    case 7: tail.template operator()<7>(); break;
    default: break;
  }
}

// One group of `rows` rows, kMRV vectors tall (the last vector maybe partial): rows [i, i + rows)
// of C over all n columns. op(A) = A is read in place, the whole chain in one pass; op(A) = A^T is
// packed one (kMRV W x kc) panel at a time and the chains continue block after block.
template <typename T, Index kMRV>
void direct_group(const GemmCall<T>& g, Index i, Index rows, Index sp, Index sj, const T* bias) {
  constexpr Index kRows = kMRV * Simd<T>::kWidth;
  const bool full = rows == kRows;
  auto run = [&](Index kc, const T* a, Index a_step, const T* b, bool first, bool last) {
    const T* bias_now = last ? bias : nullptr;
    if (full) {
      direct_columns<T, kMRV, true>(kc, a, a_step, b, sp, sj, g.C + i, g.ldc, rows, g.n, first,
                                    last, bias_now);
    } else {
      direct_columns<T, kMRV, false>(kc, a, a_step, b, sp, sj, g.C + i, g.ldc, rows, g.n, first,
                                     last, bias_now);
    }
  };
  if (g.op_a == Op::kN) {
    run(g.k, g.A + i, g.lda, g.B, true, true);
    return;
  }
  // A^T: groups of at most kDirectMRV vectors (gemm_direct), packed a (kc x kPanel) panel at a
  // time into the buffer sized for the packed path's MR
  constexpr Index kPanel = Simd<T>::kDirectMRV * Simd<T>::kWidth;
  static_assert(kPanel <= initbench::kernels::detail::micro_tile(kIsa, sizeof(T)).mr,
                "a packed A^T panel of the direct path must fit the buffer sized for MR");
  if constexpr (kMRV <= Simd<T>::kDirectMRV) {
    for (Index p0 = 0; p0 < g.k; p0 += g.blocking.kc) {
      const Index kc = min_of(g.blocking.kc, g.k - p0);
      transpose_pack<T, kPanel>(g.A + p0 + i * g.lda, g.lda, rows, kc, g.pack_a);
      run(kc, g.pack_a, kPanel, g.B + p0 * sp, p0 == 0, p0 + kc == g.k);
    }
  }
}

// direct_group with kMRV = vectors (1 to kDirectMRVMax), chosen at run time.
template <typename T, Index kMRV = 1>
void direct_group_of(Index vectors, const GemmCall<T>& g, Index i, Index rows, Index sp, Index sj,
                     const T* bias) {
  if constexpr (kMRV <= Simd<T>::kDirectMRVMax) {
    if (vectors == kMRV) {
      direct_group<T, kMRV>(g, i, rows, sp, sj, bias);
    } else {
      direct_group_of<T, kMRV + 1>(vectors, g, i, rows, sp, sj, bias);
    }
  }
}

template <typename T>
void gemm_direct(const GemmCall<T>& g) {
  using S = Simd<T>;
  constexpr Index W = S::kWidth;
  static_assert(S::kDirectMRV >= 1 && S::kDirectMRV <= S::kDirectMRVMax && S::kDirectCols <= 8 &&
                direct_cols<T>(S::kDirectMRVMax) >= 1);
  // op(B)(p, j) = b[p sp + j sj]
  const Index sp = g.op_b == Op::kN ? 1 : g.ldb;
  const Index sj = g.op_b == Op::kN ? g.ldb : 1;
  // Row groups of `most` vectors. op(A) = A with few columns: taller groups (direct_group_vectors),
  // of equal height so that no group is left with too few chains. A^T: kDirectMRV vectors
  // (taller panels gather from more columns of A at once than the caches serve well: measured
  // slower with bench_gemm).
  const Index vectors = (g.m + W - 1) / W;
  const Index most = g.op_a == Op::kN ? direct_group_vectors<T>(g.n) : S::kDirectMRV;
  if (vectors <= most) {
    direct_group_of<T>(vectors, g, 0, g.m, sp, sj, g.bias);
    return;
  }
  const Index groups = (vectors + most - 1) / most;
  // balanced only when taller than kDirectMRV (with many columns, its tile is the better shape)
  const Index per_group = most > S::kDirectMRV ? (vectors + groups - 1) / groups : most;
  for (Index i = 0; i < g.m; i += per_group * W) {
    const Index rows = min_of(per_group * W, g.m - i);
    direct_group_of<T>((rows + W - 1) / W, g, i, rows, sp, sj,
                       g.bias != nullptr ? g.bias + i : nullptr);
  }
}

// The packed path pays for packing op(B) (k x n values) once per mc rows of C and op(A) once per
// nc columns; the direct path reads A in place down its columns (a new page every step when A is
// large) and re-reads op(B) for every group of rows. So: direct when the operands together fit
// in direct_bytes (L2), or when there are too few rows, columns or steps for packing to pay; for
// A^T (packed a panel at a time on the direct path too) also whenever op(B) alone fits. Measured
// with bench_gemm (bench/README.md).
template <typename T>
bool use_packed(const GemmCall<T>& g) {
  constexpr Index W = Simd<T>::kWidth;
  if (g.m <= 4 * W || g.n < 16 || g.k < 16) return false;
  const auto size = static_cast<Index>(sizeof(T));
  // double: half the float limit (its direct tiles have half the columns' worth of lanes)
  const Index footprint = (g.m * g.k + g.k * g.n) * size * (size == 8 ? 2 : 1);
  if (footprint <= g.blocking.direct_bytes) return false;
  if (g.op_a == Op::kT && 2 * g.k * g.n * size <= g.blocking.direct_bytes) return false;
  return true;
}

template <typename T>
void gemm(const GemmCall<T>& g) {
  if (g.m <= 0 || g.n <= 0) return;
  if (g.k <= 0) {
    for (Index j = 0; j < g.n; ++j) {
      for (Index i = 0; i < g.m; ++i) g.C[i + j * g.ldc] = g.bias != nullptr ? g.bias[i] : T(0);
    }
    return;
  }
  if (use_packed(g)) {
    gemm_packed<T>(g);
  } else {
    gemm_direct<T>(g);
  }
}

// out(i) = ((0 + X(i, 0)) + X(i, 1)) + ...: the gemm chain with a column of ones (fma(x, 1, s)
// = s + x exactly), vectorised over rows.
template <typename T>
void row_sums(Index m, Index n, const T* X, Index ldx, T* out) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr Index W = S::kWidth;
  constexpr Index kVectors = 4;
  Index i = 0;
  for (; i + kVectors * W <= m; i += kVectors * W) {
    V acc[static_cast<std::size_t>(kVectors)];
#pragma GCC unroll 4
    for (Index v = 0; v < kVectors; ++v) acc[v] = S::zero();
    for (Index j = 0; j < n; ++j) {
#pragma GCC unroll 4
      for (Index v = 0; v < kVectors; ++v)
        acc[v] = S::add(acc[v], S::loadu(X + i + v * W + j * ldx));
    }
#pragma GCC unroll 4
    for (Index v = 0; v < kVectors; ++v) S::storeu(out + i + v * W, acc[v]);
  }
  for (; i < m; i += W) {
    const auto mask = S::mask(m - i);
    V acc = S::zero();
    for (Index j = 0; j < n; ++j) acc = S::add(acc, S::load_mask(X + i + j * ldx, mask));
    S::store_mask(out + i, acc, mask);
  }
}

// ---------------------------------------------------------------------------------------------
// Elementwise functions: one formula per function, applied to full vectors and to the masked
// last vector alike.
// ---------------------------------------------------------------------------------------------

// out[i] = f(x[i]) (and of a second input y[i], or updating out[i] in place, as the lambda says)
template <typename T, typename F>
void map1(Index size, const T* x, T* out, F f) {
  using S = Simd<T>;
  constexpr Index W = S::kWidth;
  Index i = 0;
  for (; i + W <= size; i += W) S::storeu(out + i, f(S::loadu(x + i)));
  if (i < size) {
    const auto mask = S::mask(size - i);
    S::store_mask(out + i, f(S::load_mask(x + i, mask)), mask);
  }
}

template <typename T, typename F>
void map3(Index size, const T* x, const T* y, T* inout, F f) {
  using S = Simd<T>;
  constexpr Index W = S::kWidth;
  Index i = 0;
  for (; i + W <= size; i += W) {
    S::storeu(inout + i, f(S::loadu(x + i), S::loadu(y + i), S::loadu(inout + i)));
  }
  if (i < size) {
    const auto mask = S::mask(size - i);
    S::store_mask(
        inout + i,
        f(S::load_mask(x + i, mask), S::load_mask(y + i, mask), S::load_mask(inout + i, mask)),
        mask);
  }
}

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kSeluLambdaD = 1.0507009873554804934193349852946;
constexpr double kSeluAlphaD = 1.6732632423543772848170429916717;

// GELU in double: gelu(z) = z Phi(z) with Phi(z) = erfc(-z / sqrt 2) / 2 (no cancellation for
// negative z, unlike 1 + erf), and gelu'(z) = Phi(z) + z e^(-z^2 / 2) / sqrt(2 pi). erfc and
// exp are ill-conditioned in the tail (a relative error e in their argument x becomes about
// 2 x^2 e in the result), so their arguments are carried as double-double values hi + lo (the
// rounding errors of -z / sqrt 2 and of z^2, recovered with fma) and the lo part enters through
// the first-order term: erfc(hi + lo) = erfc(hi) - lo (2 / sqrt pi) e^(-hi^2), e^(hi + lo) =
// e^hi (1 + lo).
constexpr double kInvSqrt2Hi = 0.7071067811865476;  // 1 / sqrt 2 = hi + lo
constexpr double kInvSqrt2Lo = -4.833646656726457e-17;
constexpr double kTwoOverSqrtPi = 1.1283791670955126;

template <typename V, typename S>
V gelu_phi(V z) {  // Phi(z)
  const V mz = S::sub(S::zero(), z);
  const V hi = S::mul(mz, S::set1(kInvSqrt2Hi));
  const V lo =
      S::fma(mz, S::set1(kInvSqrt2Lo), S::fma(mz, S::set1(kInvSqrt2Hi), S::sub(S::zero(), hi)));
  const V slope = S::mul(S::set1(kTwoOverSqrtPi), S::exp(S::sub(S::zero(), S::mul(hi, hi))));
  const V tail = S::sub(S::erfc(hi), S::mul(lo, slope));
  return S::mul(S::set1(0.5), tail);
}

template <typename V, typename S>
V gelu_value(V z) {
  return S::mul(z, gelu_phi<V, S>(z));
}

template <typename V, typename S>
V gelu_slope(V z) {
  // e^(-z^2 / 2) with z^2 = h + l
  const V h = S::mul(z, z);
  const V l = S::fma(z, z, S::sub(S::zero(), h));
  const V e = S::exp(S::mul(S::set1(-0.5), h));
  const V g = S::fma(S::mul(e, S::set1(-0.5)), l, e);
  const V density = S::mul(S::set1(kInvSqrt2Pi), g);
  return S::fma(z, density, gelu_phi<V, S>(z));
}

// Float GELU goes through double (exact conversions, one final rounding): a chunk at a time.
template <typename T, bool kSlope>
void gelu_span(Index size, const T* z, T* out) {
  using SD = Simd<double>;
  if constexpr (sizeof(T) == sizeof(double)) {
    if constexpr (kSlope) {
      map1<double>(size, z, out, [](auto v) { return gelu_slope<typename SD::V, SD>(v); });
    } else {
      map1<double>(size, z, out, [](auto v) { return gelu_value<typename SD::V, SD>(v); });
    }
  } else {
    constexpr Index kChunk = 256;
    alignas(64) double buffer[kChunk];
    for (Index i = 0; i < size; i += kChunk) {
      const Index c = min_of(kChunk, size - i);
      for (Index r = 0; r < c; ++r) buffer[r] = static_cast<double>(z[i + r]);
      if constexpr (kSlope) {
        map1<double>(c, buffer, buffer, [](auto v) { return gelu_slope<typename SD::V, SD>(v); });
      } else {
        map1<double>(c, buffer, buffer, [](auto v) { return gelu_value<typename SD::V, SD>(v); });
      }
      for (Index r = 0; r < c; ++r) out[i + r] = static_cast<T>(buffer[r]);
    }
  }
}

template <typename T>
void activation_forward(ActivationKind kind, T param, Index size, const T* z, T* a) {
  using S = Simd<T>;
  using V = typename S::V;
  const V zero = S::zero();
  const V one = S::set1(T(1));
  const V p = S::set1(param);
  switch (kind) {
    case ActivationKind::kIdentity: map1<T>(size, z, a, [](V x) { return x; }); return;
    case ActivationKind::kSigmoid:  // 1 / (1 + e^-z): 0 for very negative z (e^-z = inf)
      map1<T>(size, z, a, [&](V x) { return S::div(one, S::add(one, S::exp(S::sub(zero, x)))); });
      return;
    case ActivationKind::kTanh: map1<T>(size, z, a, [](V x) { return S::tanh(x); }); return;
    case ActivationKind::kRelu:  // max(0, z): NaN stays NaN
      map1<T>(size, z, a, [&](V x) { return S::max(zero, x); });
      return;
    case ActivationKind::kLeakyRelu:
      map1<T>(size, z, a, [&](V x) { return S::select(S::gt(x, zero), x, S::mul(p, x)); });
      return;
    case ActivationKind::kElu:  // z > 0 ? z : alpha expm1(z)
      map1<T>(size, z, a,
              [&](V x) { return S::select(S::gt(x, zero), x, S::mul(p, S::expm1(x))); });
      return;
    case ActivationKind::kSelu: {  // z > 0 ? lambda z : (lambda alpha) expm1(z)
      const V lambda = S::set1(static_cast<T>(kSeluLambdaD));
      const V lambda_alpha = S::set1(static_cast<T>(kSeluLambdaD * kSeluAlphaD));
      map1<T>(size, z, a, [&](V x) {
        return S::select(S::gt(x, zero), S::mul(lambda, x), S::mul(lambda_alpha, S::expm1(x)));
      });
      return;
    }
    case ActivationKind::kSoftsign:  // z / (1 + |z|)
      map1<T>(size, z, a, [&](V x) { return S::div(x, S::add(one, S::abs(x))); });
      return;
    case ActivationKind::kGelu: gelu_span<T, false>(size, z, a); return;
    case ActivationKind::kSilu:  // z sigmoid(z)
      map1<T>(size, z, a,
              [&](V x) { return S::mul(x, S::div(one, S::add(one, S::exp(S::sub(zero, x))))); });
      return;
  }
}

template <typename T>
void activation_backward(ActivationKind kind, T param, Index size, const T* z, const T* a, T* d) {
  using S = Simd<T>;
  using V = typename S::V;
  const V zero = S::zero();
  const V one = S::set1(T(1));
  const V p = S::set1(param);
  switch (kind) {
    case ActivationKind::kIdentity: return;
    case ActivationKind::kSigmoid:  // d (a (1 - a))
      map3<T>(size, z, a, d, [&](V, V y, V g) { return S::mul(g, S::mul(y, S::sub(one, y))); });
      return;
    case ActivationKind::kTanh:  // d (1 - a a)
      map3<T>(size, z, a, d, [&](V, V y, V g) { return S::mul(g, S::sub(one, S::mul(y, y))); });
      return;
    case ActivationKind::kRelu:  // z > 0 ? d : 0 (phi'(0) = 0)
      map3<T>(size, z, a, d, [&](V x, V, V g) { return S::select(S::gt(x, zero), g, zero); });
      return;
    case ActivationKind::kLeakyRelu:  // z > 0 ? d : slope d
      map3<T>(size, z, a, d,
              [&](V x, V, V g) { return S::select(S::gt(x, zero), g, S::mul(p, g)); });
      return;
    case ActivationKind::kElu:  // z > 0 ? d : (a + alpha) d, as a + alpha = alpha e^z
      map3<T>(size, z, a, d,
              [&](V x, V y, V g) { return S::select(S::gt(x, zero), g, S::mul(S::add(y, p), g)); });
      return;
    case ActivationKind::kSelu: {  // z > 0 ? lambda d : (a + lambda alpha) d
      const V lambda = S::set1(static_cast<T>(kSeluLambdaD));
      const V lambda_alpha = S::set1(static_cast<T>(kSeluLambdaD * kSeluAlphaD));
      map3<T>(size, z, a, d, [&](V x, V y, V g) {
        return S::select(S::gt(x, zero), S::mul(lambda, g), S::mul(S::add(y, lambda_alpha), g));
      });
      return;
    }
    case ActivationKind::kSoftsign:  // d / (1 + |z|)^2
      map3<T>(size, z, a, d, [&](V x, V, V g) {
        const V s = S::add(one, S::abs(x));
        return S::div(g, S::mul(s, s));
      });
      return;
    case ActivationKind::kGelu: {
      // d *= gelu'(z), the slope computed a chunk at a time into a stack buffer
      constexpr Index kChunk = 256;
      alignas(64) T slope[kChunk];
      for (Index i = 0; i < size; i += kChunk) {
        const Index c = min_of(kChunk, size - i);
        gelu_span<T, true>(c, z + i, slope);
        map3<T>(c, slope, slope, d + i, [](V s, V, V g) { return S::mul(g, s); });
      }
      return;
    }
    case ActivationKind::kSilu:  // d (s + a (1 - s)), s = sigmoid(z), as z s (1 - s) = a (1 - s)
      map3<T>(size, z, a, d, [&](V x, V y, V g) {
        const V s = S::div(one, S::add(one, S::exp(S::sub(zero, x))));
        return S::mul(g, S::add(s, S::mul(y, S::sub(one, s))));
      });
      return;
  }
}

template <typename T>
void logistic(Index size, const T* x, T* out) {
  using S = Simd<T>;
  using V = typename S::V;
  const V one = S::set1(T(1));
  map1<T>(size, x, out,
          [&](V v) { return S::div(one, S::add(one, S::exp(S::sub(S::zero(), v)))); });
}

template <typename T>
void exp(Index size, const T* x, T* out) {
  using S = Simd<T>;
  map1<T>(size, x, out, [](typename S::V v) { return S::exp(v); });
}

// max(x, 0) + log1p(e^-|x|): NaN stays NaN (through the log1p term)
template <typename T>
void softplus(Index size, const T* x, T* out) {
  using S = Simd<T>;
  using V = typename S::V;
  map1<T>(size, x, out, [](V v) {
    return S::add(S::max(v, S::zero()), S::log1p(S::exp(S::sub(S::zero(), S::abs(v)))));
  });
}

template <typename T>
const initbench::kernels::detail::Table<T>& table() {
  static constexpr initbench::kernels::detail::Table<T> kTable{
      &gemm<T>, &row_sums<T>, &activation_forward<T>, &activation_backward<T>, &logistic<T>,
      &exp<T>,  &softplus<T>};
  return kTable;
}

}  // namespace
