// dispatch.cpp: which instruction set's kernels run, and the public entry points of kernels.hpp.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>
#include <stdexcept>

#include "initbench/kernels.hpp"
#include "table.hpp"

namespace initbench {

namespace kernels {
void reset_tables();
}

namespace {

constexpr Isa kAllIsas[] = {Isa::kAvx512, Isa::kAvx2, Isa::kScalar};

// The active ISA, or -1 before the first use.
std::atomic<int> g_active{-1};
std::mutex g_choose;

void activate(Isa isa) { g_active.store(static_cast<int>(isa), std::memory_order_release); }

Isa from_environment() {
  const char* value = std::getenv("INITBENCH_ISA");
  if (value == nullptr || *value == '\0') return best_isa();
  Isa isa{};
  try {
    isa = parse_isa(value);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("INITBENCH_ISA: {}", e.what()));
  }
  if (!isa_supported(isa)) {
    std::string names;
    for (Isa s : supported_isas())
      names += fmt::format("{}{}", names.empty() ? "" : ", ", isa_name(s));
    throw std::invalid_argument(fmt::format(
        "INITBENCH_ISA={}: this CPU does not support it; supported here: {}", value, names));
  }
  return isa;
}

}  // namespace

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "?";
}

Isa parse_isa(std::string_view text) {
  for (Isa isa : kAllIsas) {
    if (text == isa_name(isa)) return isa;
  }
  throw std::invalid_argument(
      fmt::format("unknown instruction set '{}'; allowed: avx512, avx2, scalar", text));
}

bool isa_supported(Isa isa) {
  // __builtin_cpu_supports also checks that the operating system saves the vector registers.
  switch (isa) {
    case Isa::kScalar: return true;
    case Isa::kAvx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::kAvx512:
      return isa_supported(Isa::kAvx2) && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vl");
  }
  return false;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : kAllIsas) {
    if (isa_supported(isa)) out.push_back(isa);
  }
  return out;
}

Isa best_isa() {
  for (Isa isa : kAllIsas) {
    if (isa_supported(isa)) return isa;
  }
  return Isa::kScalar;
}

Isa active_isa() {
  const int current = g_active.load(std::memory_order_acquire);
  if (current >= 0) return static_cast<Isa>(current);
  const std::lock_guard<std::mutex> lock(g_choose);
  if (g_active.load(std::memory_order_acquire) < 0) activate(from_environment());
  return static_cast<Isa>(g_active.load(std::memory_order_acquire));
}

void set_active_isa(Isa isa) {
  if (!isa_supported(isa)) {
    throw std::invalid_argument(
        fmt::format("instruction set {} is not supported by this CPU", isa_name(isa)));
  }
  const std::lock_guard<std::mutex> lock(g_choose);
  activate(isa);
  kernels::reset_tables();
}

namespace kernels {

namespace {

template <typename T>
const detail::Table<T>& table_for(Isa isa) {
  if constexpr (sizeof(T) == sizeof(float)) {
    switch (isa) {
      case Isa::kAvx512: return detail::avx512_float();
      case Isa::kAvx2: return detail::avx2_float();
      case Isa::kScalar: return detail::scalar_float();
    }
    return detail::scalar_float();
  } else {
    switch (isa) {
      case Isa::kAvx512: return detail::avx512_double();
      case Isa::kAvx2: return detail::avx2_double();
      case Isa::kScalar: return detail::scalar_double();
    }
    return detail::scalar_double();
  }
}

// The active ISA's table, resolved once (set_active_isa re-resolves).
template <typename T>
std::atomic<const detail::Table<T>*> g_table{nullptr};

template <typename T>
const detail::Table<T>& table() {
  if (const auto* t = g_table<T>.load(std::memory_order_acquire)) return *t;
  const detail::Table<T>* t = &table_for<T>(active_isa());
  g_table<T>.store(t, std::memory_order_release);
  return *t;
}

constexpr std::size_t kAlign = 64;

// The largest micro-tile of any ISA: block sizes are multiples of it, so one blocking (and one
// set of buffer sizes) serves every ISA.
template <typename T>
constexpr detail::MicroTile max_tile() {
  Index mr = 1, nr = 1;
  for (Isa isa : kAllIsas) {
    mr = std::max(mr, detail::micro_tile(isa, sizeof(T)).mr);
    nr = std::max(nr, detail::micro_tile(isa, sizeof(T)).nr);
  }
  return {mr, nr};
}

Index cache_size(int name, Index fallback) {
  const long bytes = sysconf(name);
  return bytes > 0 ? static_cast<Index>(bytes) : fallback;
}

Index round_to(Index x, Index multiple) { return std::max(multiple, x / multiple * multiple); }

// The default blocking for T, from the caches of the CPU it runs on: a (kc x NR) micro-panel of
// op(B) takes a third of L1, a (mc x kc) block of op(A) half of L2, and products whose operands
// fit in L2 skip packing (impl.hpp, use_packed). INITBENCH_GEMM_BLOCKING="kc,mc,nc[,direct_bytes]"
// replaces it.
template <typename T>
detail::Blocking rounded(detail::Blocking b) {
  constexpr detail::MicroTile kTile = max_tile<T>();
  b.kc = std::max<Index>(1, b.kc);
  b.mc = std::max<Index>(1, (b.mc + kTile.mr - 1) / kTile.mr) * kTile.mr;
  b.nc = std::max<Index>(1, (b.nc + kTile.nr - 1) / kTile.nr) * kTile.nr;
  b.direct_bytes = std::max<Index>(0, b.direct_bytes);
  return b;
}

template <typename T>
detail::Blocking choose_blocking() {
  constexpr detail::MicroTile kTile = max_tile<T>();
  const auto size = static_cast<Index>(sizeof(T));
  const Index l1 = cache_size(_SC_LEVEL1_DCACHE_SIZE, Index{32} * 1024);
  const Index l2 = cache_size(_SC_LEVEL2_CACHE_SIZE, Index{1024} * 1024);
  detail::Blocking b{};
  b.kc = std::clamp<Index>(l1 / 3 / (kTile.nr * size) / 16 * 16, 64, 1024);
  b.mc = std::clamp<Index>(round_to(l2 / 2 / (b.kc * size), kTile.mr), kTile.mr, 4096);
  b.nc = 4096;
  b.direct_bytes = l2;
  if (const char* text = std::getenv("INITBENCH_GEMM_BLOCKING"); text != nullptr && *text != '\0') {
    long kc = 0, mc = 0, nc = 0;
    long direct = b.direct_bytes;
    const int fields = std::sscanf(text, "%ld,%ld,%ld,%ld", &kc, &mc, &nc, &direct);
    if (fields < 3 || kc < 1 || mc < 1 || nc < 1 || direct < 0) {
      throw std::invalid_argument(fmt::format(
          "INITBENCH_GEMM_BLOCKING='{}': expected positive integers kc,mc,nc[,direct_bytes]",
          text));
    }
    b = {kc, mc, nc, direct};
  }
  return rounded<T>(b);
}

template <typename T>
detail::Blocking& blocking_slot() {
  static detail::Blocking b = choose_blocking<T>();
  return b;
}

template <typename T>
const detail::Blocking& blocking() {
  return blocking_slot<T>();
}

// The packing buffers gemm needs for products up to (m, n, k), under any ISA's micro-tile.
template <typename T>
std::size_t pack_a_size(Index m, Index k) {
  const detail::Blocking& b = blocking<T>();
  const Index mr = max_tile<T>().mr;
  const Index rows = std::min(m, b.mc);
  return static_cast<std::size_t>((rows + mr - 1) / mr * mr * std::min(k, b.kc));
}
template <typename T>
std::size_t pack_b_size(Index n, Index k) {
  const detail::Blocking& b = blocking<T>();
  const Index nr = max_tile<T>().nr;
  const Index cols = std::min(n, b.nc);
  return static_cast<std::size_t>((cols + nr - 1) / nr * nr * std::min(k, b.kc));
}

}  // namespace

void reset_tables() {
  g_table<float>.store(nullptr, std::memory_order_release);
  g_table<double>.store(nullptr, std::memory_order_release);
}

template <typename T>
Buffer<T>::Buffer(std::size_t size) : size_(size) {
  if (size == 0) return;
  const std::size_t bytes = (size * sizeof(T) + kAlign - 1) / kAlign * kAlign;
  data_.reset(static_cast<T*>(::operator new(bytes, std::align_val_t(kAlign))));
}

template <typename T>
void Buffer<T>::Free::operator()(T* p) const {
  ::operator delete(p, std::align_val_t(kAlign));
}

template <typename T>
GemmScratch<T>::GemmScratch(Index max_m, Index max_n, Index max_k) {
  reserve(max_m, max_n, max_k);
}

template <typename T>
void GemmScratch<T>::reserve(Index max_m, Index max_n, Index max_k) {
  const std::size_t need_a = pack_a_size<T>(max_m, max_k);
  const std::size_t need_b = pack_b_size<T>(max_n, max_k);
  if (need_a > a.size()) a = Buffer<T>(need_a);
  if (need_b > b.size()) b = Buffer<T>(need_b);
}

template <typename T>
void gemm(Op op_a, Op op_b, Index m, Index n, Index k, const T* A, Index lda, const T* B, Index ldb,
          T* C, Index ldc, const T* bias, GemmScratch<T>& scratch) {
  scratch.reserve(m, n, k);  // a no-op when the owner sized it (a network's Workspace does)
  const detail::GemmCall<T> call{op_a,
                                 op_b,
                                 m,
                                 n,
                                 k,
                                 A,
                                 lda,
                                 B,
                                 ldb,
                                 C,
                                 ldc,
                                 bias,
                                 scratch.a.data(),
                                 scratch.a.size(),
                                 scratch.b.data(),
                                 scratch.b.size(),
                                 blocking<T>()};
  table<T>().gemm(call);
}

template <typename T>
GemmBlocking gemm_blocking() {
  return blocking<T>();
}

template <typename T>
void set_gemm_blocking(GemmBlocking b) {
  blocking_slot<T>() = rounded<T>(b);
}

template <typename T>
void row_sums(Index m, Index n, const T* X, Index ldx, T* out) {
  table<T>().row_sums(m, n, X, ldx, out);
}

template <typename T>
void activation_forward(const Activation& act, Index size, const T* z, T* a) {
  table<T>().activation_forward(act.kind, static_cast<T>(act.param), size, z, a);
}

template <typename T>
void activation_backward(const Activation& act, Index size, const T* z, const T* a, T* d) {
  table<T>().activation_backward(act.kind, static_cast<T>(act.param), size, z, a, d);
}

template <typename T>
void logistic(Index size, const T* x, T* out) {
  table<T>().logistic(size, x, out);
}

template <typename T>
void exp(Index size, const T* x, T* out) {
  table<T>().exp(size, x, out);
}

template <typename T>
void softplus(Index size, const T* x, T* out) {
  table<T>().softplus(size, x, out);
}

// NOLINTBEGIN(bugprone-macro-parentheses): T is a type in template arguments
#define INITBENCH_KERNELS_INSTANTIATE(T)                                                          \
  template class Buffer<T>;                                                                       \
  template struct GemmScratch<T>;                                                                 \
  template void gemm<T>(Op, Op, Index, Index, Index, const T*, Index, const T*, Index, T*, Index, \
                        const T*, GemmScratch<T>&);                                               \
  template GemmBlocking gemm_blocking<T>();                                                       \
  template void set_gemm_blocking<T>(GemmBlocking);                                               \
  template void row_sums<T>(Index, Index, const T*, Index, T*);                                   \
  template void activation_forward<T>(const Activation&, Index, const T*, T*);                    \
  template void activation_backward<T>(const Activation&, Index, const T*, const T*, T*);         \
  template void logistic<T>(Index, const T*, T*);                                                 \
  template void exp<T>(Index, const T*, T*);                                                      \
  template void softplus<T>(Index, const T*, T*);
INITBENCH_KERNELS_INSTANTIATE(float)
INITBENCH_KERNELS_INSTANTIATE(double)
// NOLINTEND(bugprone-macro-parentheses)
#undef INITBENCH_KERNELS_INSTANTIATE

}  // namespace kernels
}  // namespace initbench
