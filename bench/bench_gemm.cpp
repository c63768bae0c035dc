// bench_gemm: initbench's matrix product (kernels::gemm) beside OpenBLAS's cblas_sgemm/dgemm on
// the same shapes, one thread.
//   gemm/square/TYPE/OPS/size:S/IMPL    C (S x S) = op(A) op(B), S = 16 ... 4096
//   gemm/layer/TYPE/OPS/width:W/batch:B the three products of a square dense layer of W units on
//                                       a batch of B: forward NN (W, B, W), weight gradient NT
//                                       (W, W, B), input gradient TN (W, B, W)
// TYPE float | double, OPS NN | NT | TN (op(A) op(B): N as stored, T transposed), IMPL initbench |
// openblas (present when the build found OpenBLAS: bench/CMakeLists.txt). Counter `flops`: 2 m n
// k per second. The OpenBLAS kernel in use (its "core", set by OPENBLAS_CORETYPE or detected) and
// initbench's instruction set (INITBENCH_ISA or the best available) are in the context block of
// the output. bench/gemm_table.py turns the JSON output into a ratio table.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "initbench/kernels.hpp"
#include "initbench/rng.hpp"

#if defined(INITBENCH_BENCH_CBLAS)
#include <cblas.h>
extern "C" void openblas_set_num_threads(int num_threads);
extern "C" char* openblas_get_corename(void);
#endif

namespace {

using namespace initbench;
using kernels::Op;

template <typename T>
struct Operands {
  std::vector<T> A, B, C;
  kernels::GemmScratch<T> scratch;
  Index lda, ldb;
  Operands(Op op_a, Op op_b, Index m, Index n, Index k)
      : A(static_cast<std::size_t>(m * k)),
        B(static_cast<std::size_t>(k * n)),
        C(static_cast<std::size_t>(m * n)),
        scratch(m, n, k),
        lda(op_a == Op::kN ? m : k),
        ldb(op_b == Op::kN ? k : n) {
    Rng rng(17);
    for (T& x : A) x = static_cast<T>(rng.normal());
    for (T& x : B) x = static_cast<T>(rng.normal());
  }
};

template <typename T>
void run_initbench(benchmark::State& state, Op op_a, Op op_b, Index m, Index n, Index k) {
  Operands<T> x(op_a, op_b, m, n, k);
  for (auto _ : state) {
    kernels::gemm<T>(op_a, op_b, m, n, k, x.A.data(), x.lda, x.B.data(), x.ldb, x.C.data(), m,
                     nullptr, x.scratch);
    benchmark::DoNotOptimize(x.C.data());
    benchmark::ClobberMemory();
  }
  state.counters["flops"] = benchmark::Counter(2.0 * static_cast<double>(m * n * k),
                                               benchmark::Counter::kIsIterationInvariantRate);
}

#if defined(INITBENCH_BENCH_CBLAS)
CBLAS_TRANSPOSE cblas_op(Op op) { return op == Op::kN ? CblasNoTrans : CblasTrans; }
void cblas(Op op_a, Op op_b, Index m, Index n, Index k, Operands<float>& x) {
  cblas_sgemm(CblasColMajor, cblas_op(op_a), cblas_op(op_b), static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), 1.0f, x.A.data(), static_cast<int>(x.lda),
              x.B.data(), static_cast<int>(x.ldb), 0.0f, x.C.data(), static_cast<int>(m));
}
void cblas(Op op_a, Op op_b, Index m, Index n, Index k, Operands<double>& x) {
  cblas_dgemm(CblasColMajor, cblas_op(op_a), cblas_op(op_b), static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), 1.0, x.A.data(), static_cast<int>(x.lda),
              x.B.data(), static_cast<int>(x.ldb), 0.0, x.C.data(), static_cast<int>(m));
}
template <typename T>
void run_openblas(benchmark::State& state, Op op_a, Op op_b, Index m, Index n, Index k) {
  Operands<T> x(op_a, op_b, m, n, k);
  for (auto _ : state) {
    cblas(op_a, op_b, m, n, k, x);
    benchmark::DoNotOptimize(x.C.data());
    benchmark::ClobberMemory();
  }
  state.counters["flops"] = benchmark::Counter(2.0 * static_cast<double>(m * n * k),
                                               benchmark::Counter::kIsIterationInvariantRate);
}
#endif

const char* ops_name(Op a, Op b) {
  if (a == Op::kN) return b == Op::kN ? "NN" : "NT";
  return b == Op::kN ? "TN" : "TT";
}

template <typename T>
void register_shape(const std::string& prefix, Op op_a, Op op_b, Index m, Index n, Index k) {
  const std::string name = prefix;
  benchmark::RegisterBenchmark((name + "/initbench").c_str(), [=](benchmark::State& s) {
    run_initbench<T>(s, op_a, op_b, m, n, k);
  })->Unit(benchmark::kMicrosecond);
#if defined(INITBENCH_BENCH_CBLAS)
  benchmark::RegisterBenchmark((name + "/openblas").c_str(), [=](benchmark::State& s) {
    run_openblas<T>(s, op_a, op_b, m, n, k);
  })->Unit(benchmark::kMicrosecond);
#endif
}

template <typename T>
void register_type(const char* type) {
  const std::pair<Op, Op> ops[] = {{Op::kN, Op::kN}, {Op::kN, Op::kT}, {Op::kT, Op::kN}};
  for (const Index size : {16, 32, 64, 128, 256, 512, 1024, 2048, 4096}) {
    for (const auto& [a, b] : ops) {
      register_shape<T>(std::string("gemm/square/") + type + "/" + ops_name(a, b) +
                            "/size:" + std::to_string(size),
                        a, b, size, size, size);
    }
  }
  for (const Index width : {16, 32, 64, 128, 256, 512, 1024, 2048, 4096}) {
    for (const Index batch : {1, 4, 16, 64, 256, 1024}) {
      const std::string shape =
          "/width:" + std::to_string(width) + "/batch:" + std::to_string(batch);
      const std::string base = std::string("gemm/layer/") + type;
      register_shape<T>(base + "/NN" + shape, Op::kN, Op::kN, width, batch, width);
      register_shape<T>(base + "/NT" + shape, Op::kN, Op::kT, width, width, batch);
      register_shape<T>(base + "/TN" + shape, Op::kT, Op::kN, width, batch, width);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
#if defined(INITBENCH_BENCH_CBLAS)
  openblas_set_num_threads(1);
  benchmark::AddCustomContext("openblas_core", openblas_get_corename());
#endif
  benchmark::AddCustomContext("initbench_isa", std::string(isa_name(active_isa())));
  register_type<float>("float");
  register_type<double>("double");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
