// The kernels' arithmetic rule (include/initbench/kernels.hpp), checked against its definition:
// every product element is one std::fma chain in k order plus the bias, under every instruction
// set this CPU supports and every blocking; every elementwise function gives the same bits under
// every instruction set, in every lane and tail, and is as accurate as docs/kernels.md states.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "initbench/kernels.hpp"
#include "initbench/rng.hpp"

using namespace initbench;
using kernels::Op;

namespace {

// Restores the best instruction set and the default blocking when a test case ends.
struct IsaGuard {
  kernels::GemmBlocking f = kernels::gemm_blocking<float>();
  kernels::GemmBlocking d = kernels::gemm_blocking<double>();
  ~IsaGuard() {
    set_active_isa(best_isa());
    kernels::set_gemm_blocking<float>(f);
    kernels::set_gemm_blocking<double>(d);
  }
};

template <typename T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

// The definition: C(i, j) = bias(i) + fma chain over p = 0..k-1 starting at +0.
template <typename T>
std::vector<T> reference(Op op_a, Op op_b, Index m, Index n, Index k, const std::vector<T>& A,
                         Index lda, const std::vector<T>& B, Index ldb, const T* bias) {
  std::vector<T> C(static_cast<std::size_t>(m * n));
  for (Index j = 0; j < n; ++j) {
    for (Index i = 0; i < m; ++i) {
      T s(0);
      for (Index p = 0; p < k; ++p) {
        const T a = op_a == Op::kN ? A[static_cast<std::size_t>(i + p * lda)]
                                   : A[static_cast<std::size_t>(p + i * lda)];
        const T b = op_b == Op::kN ? B[static_cast<std::size_t>(p + j * ldb)]
                                   : B[static_cast<std::size_t>(j + p * ldb)];
        s = std::fma(a, b, s);
      }
      C[static_cast<std::size_t>(i + j * m)] = bias != nullptr ? bias[i] + s : s;
    }
  }
  return C;
}

template <typename T>
void check_gemm_shapes(const char* what) {
  struct Shape {
    Index m, n, k;
  };
  const Shape shapes[] = {{1, 1, 1},
                          {1, 7, 300},
                          {3, 2, 5},
                          {10, 300, 2},
                          {16, 16, 16},
                          {17, 9, 33},
                          {31, 8, 1},
                          {47, 13, 64},
                          {48, 16, 17},
                          {49, 65, 100},
                          {64, 64, 64},
                          {65, 3, 129},
                          {100, 33, 7},
                          {129, 70, 40},
                          {200, 24, 390},
                          {300, 130, 20},
                          // few columns: taller row groups, split into groups of equal height
                          {130, 1, 50},
                          {257, 2, 70},
                          {200, 4, 600},
                          {97, 5, 3}};
  Rng rng(5);
  for (const Shape& s : shapes) {
    for (const Op op_a : {Op::kN, Op::kT}) {
      for (const Op op_b : {Op::kN, Op::kT}) {
        const Index lda = (op_a == Op::kN ? s.m : s.k) + 3;  // leading dimensions with slack
        const Index ldb = (op_b == Op::kN ? s.k : s.n) + 1;
        std::vector<T> A(static_cast<std::size_t>(lda * (op_a == Op::kN ? s.k : s.m)));
        std::vector<T> B(static_cast<std::size_t>(ldb * (op_b == Op::kN ? s.n : s.k)));
        std::vector<T> bias(static_cast<std::size_t>(s.m));
        for (T& x : A) x = static_cast<T>(rng.normal());
        for (T& x : B) x = static_cast<T>(rng.normal());
        for (T& x : bias) x = static_cast<T>(rng.normal());
        for (const bool with_bias : {false, true}) {
          const T* b = with_bias ? bias.data() : nullptr;
          const std::vector<T> want = reference<T>(op_a, op_b, s.m, s.n, s.k, A, lda, B, ldb, b);
          std::vector<T> C(want.size(), T(-7));
          kernels::GemmScratch<T> scratch;
          kernels::gemm<T>(op_a, op_b, s.m, s.n, s.k, A.data(), lda, B.data(), ldb, C.data(), s.m,
                           b, scratch);
          Index wrong = 0;
          for (std::size_t e = 0; e < C.size(); ++e) wrong += same_bits(C[e], want[e]) ? 0 : 1;
          CAPTURE(what);
          CAPTURE(s.m);
          CAPTURE(s.n);
          CAPTURE(s.k);
          CAPTURE(static_cast<int>(op_a));
          CAPTURE(static_cast<int>(op_b));
          CAPTURE(with_bias);
          CHECK(wrong == 0);
        }
      }
    }
  }
}

}  // namespace

TEST_CASE_TEMPLATE("gemm is the fma chain in k order plus the bias, under every ISA and blocking",
                   T, float, double) {
  IsaGuard guard;
  const kernels::GemmBlocking defaults = kernels::gemm_blocking<T>();
  // The default blocking, one so small that every product is split into many blocks and packed
  // whenever it can be, and one that never packs.
  const kernels::GemmBlocking blockings[] = {defaults, {5, 1, 1, 0}, {1000, 4096, 4096, 1 << 30}};
  for (const Isa isa : supported_isas()) {
    set_active_isa(isa);
    for (const auto& b : blockings) {
      kernels::set_gemm_blocking<T>(b);
      CAPTURE(isa_name(isa));
      CAPTURE(b.kc);
      CAPTURE(b.direct_bytes);
      check_gemm_shapes<T>("gemm");
    }
  }
}

TEST_CASE_TEMPLATE("row_sums adds each row in column order, under every ISA", T, float, double) {
  IsaGuard guard;
  Rng rng(8);
  for (const Isa isa : supported_isas()) {
    set_active_isa(isa);
    for (const Index m : {1, 5, 16, 17, 64, 100}) {
      for (const Index n : {1, 3, 301}) {
        const Index ld = m + 2;
        std::vector<T> X(static_cast<std::size_t>(ld * n));
        for (T& x : X) x = static_cast<T>(rng.normal());
        std::vector<T> out(static_cast<std::size_t>(m));
        kernels::row_sums<T>(m, n, X.data(), ld, out.data());
        for (Index i = 0; i < m; ++i) {
          T s(0);
          for (Index j = 0; j < n; ++j) s += X[static_cast<std::size_t>(i + j * ld)];
          CAPTURE(isa_name(isa));
          CAPTURE(m);
          CAPTURE(n);
          CHECK(same_bits(out[static_cast<std::size_t>(i)], s));
        }
      }
    }
  }
}

namespace {

// Inputs that reach every branch and both tails of every function: a spread of normal values,
// large magnitudes, the special values and subnormals.
template <typename T>
std::vector<T> test_inputs() {
  std::vector<T> x;
  Rng rng(21);
  for (int i = 0; i < 3000; ++i) x.push_back(static_cast<T>(rng.normal() * 3));
  for (int i = 0; i < 1000; ++i) x.push_back(static_cast<T>((rng.uniform() * 2 - 1) * 100));
  const T inf = std::numeric_limits<T>::infinity();
  for (T v : {T(0), -T(0), T(1), T(-1), inf, -inf, std::numeric_limits<T>::quiet_NaN(),
              std::numeric_limits<T>::denorm_min(), -std::numeric_limits<T>::denorm_min(),
              std::numeric_limits<T>::min(), std::numeric_limits<T>::max(),
              -std::numeric_limits<T>::max(), T(88.7), T(-88.7), T(710), T(-710), T(1e-20)}) {
    x.push_back(v);
  }
  return x;
}

// Every registered activation, at its default parameter and, if it takes one, at 0.5 too.
std::vector<Activation> all_activations() {
  std::vector<Activation> out;
  for (const ActivationTraits& traits : activation_registry()) {
    out.push_back({traits.kind, traits.default_param});
    if (traits.param_name != nullptr) out.push_back({traits.kind, 0.5});
  }
  return out;
}

// Every elementwise kernel on `x`, under the active ISA, concatenated.
template <typename T>
std::vector<T> all_functions(const std::vector<T>& x, Index offset, Index size) {
  std::vector<T> out;
  const T* in = x.data() + offset;
  std::vector<T> a(static_cast<std::size_t>(size)), d(static_cast<std::size_t>(size));
  for (const Activation& act : all_activations()) {
    kernels::activation_forward<T>(act, size, in, a.data());
    out.insert(out.end(), a.begin(), a.end());
    for (Index i = 0; i < size; ++i) d[static_cast<std::size_t>(i)] = in[(i * 7) % size];
    kernels::activation_backward<T>(act, size, in, a.data(), d.data());
    out.insert(out.end(), d.begin(), d.end());
  }
  kernels::logistic<T>(size, in, a.data());
  out.insert(out.end(), a.begin(), a.end());
  kernels::exp<T>(size, in, a.data());
  out.insert(out.end(), a.begin(), a.end());
  kernels::softplus<T>(size, in, a.data());
  out.insert(out.end(), a.begin(), a.end());
  return out;
}

}  // namespace

TEST_CASE_TEMPLATE("elementwise kernels give the same bits under every ISA, in every lane and tail",
                   T, float, double) {
  IsaGuard guard;
  const std::vector<T> x = test_inputs<T>();
  const auto n = static_cast<Index>(x.size());
  set_active_isa(Isa::kScalar);
  // the whole span, and short spans at odd offsets (every tail length, every lane position)
  std::vector<std::vector<T>> want{all_functions<T>(x, 0, n)};
  for (Index size = 1; size <= 33; ++size)
    want.push_back(all_functions<T>(x, size * 37 % 500, size));
  for (const Isa isa : supported_isas()) {
    set_active_isa(isa);
    std::vector<std::vector<T>> got{all_functions<T>(x, 0, n)};
    for (Index size = 1; size <= 33; ++size)
      got.push_back(all_functions<T>(x, size * 37 % 500, size));
    for (std::size_t c = 0; c < want.size(); ++c) {
      Index wrong = 0;
      for (std::size_t e = 0; e < want[c].size(); ++e)
        wrong += same_bits(got[c][e], want[c][e]) ? 0 : 1;
      CAPTURE(isa_name(isa));
      CAPTURE(c);
      CHECK(wrong == 0);
    }
  }
}

namespace {

using Ld = long double;

// |got - want| in units of T's spacing at want (its last place); 0 when both are the same
// special value.
template <typename T>
double ulp_error(T got, Ld want) {
  if (std::isnan(want)) return std::isnan(got) ? 0.0 : 1e30;
  if (std::isinf(want)) return static_cast<Ld>(got) == want ? 0.0 : 1e30;
  const T w = static_cast<T>(want);
  if (std::isinf(w)) return std::isinf(got) && (got > 0) == (want > 0) ? 0.0 : 1e30;
  const T spacing = std::nextafter(std::fabs(w), std::numeric_limits<T>::infinity()) - std::fabs(w);
  return static_cast<double>(std::fabs(static_cast<Ld>(got) - want) / static_cast<Ld>(spacing));
}

// One elementwise function: the kernel under test (on a span), its long-double reference, the
// input range of the stated bound and the bound itself (docs/kernels.md), in ulp.
template <typename T>
struct Accuracy {
  std::string name;
  void (*kernel)(Index size, const T* z, T* out);
  Ld (*reference)(Ld);
  double lo, hi;
  double max_ulp;
  // Measured against T's spacing at 1 (machine epsilon) instead of at the value: for functions
  // with a root inside the range, where no formula keeps a relative error bound.
  bool absolute = false;
};

constexpr Ld kSeluLambdaL = 1.0507009873554804934193349852946L;
constexpr Ld kSeluAlphaL = 1.6732632423543772848170429916717L;
constexpr Ld kInvSqrt2L = 0.70710678118654752440084436210484903928L;
constexpr Ld kInvSqrt2PiL = 0.39894228040143267793994605993438186848L;

template <typename T, const char* kName>
void forward(Index size, const T* z, T* out) {
  kernels::activation_forward<T>(Activation::parse(kName), size, z, out);
}
// gelu'(z) alone: backward on d = 1
template <typename T>
void gelu_slope(Index size, const T* z, T* out) {
  for (Index i = 0; i < size; ++i) out[i] = T(1);
  kernels::activation_backward<T>(Activation::parse("gelu"), size, z, z, out);
}

constexpr char kSigmoid[] = "sigmoid";
constexpr char kTanh[] = "tanh";
constexpr char kElu[] = "elu";
constexpr char kSelu[] = "selu";
constexpr char kSoftsign[] = "softsign";
constexpr char kGelu[] = "gelu";

// Stated bounds, float then double.
template <typename T>
std::vector<Accuracy<T>> accuracy_table() {
  const bool f = sizeof(T) == sizeof(float);
  return {
      {"sigmoid", &forward<T, kSigmoid>, [](Ld z) { return 1 / (1 + std::exp(-z)); }, -80, 80, 2.5},
      {"logistic (loss)", &kernels::logistic<T>, [](Ld z) { return 1 / (1 + std::exp(-z)); }, -80,
       80, 2.5},
      {"tanh", &forward<T, kTanh>, [](Ld z) { return std::tanh(z); }, -20, 20, 1.0},
      {"elu", &forward<T, kElu>, [](Ld z) { return z > 0 ? z : std::expm1(z); }, -80, 80, 1.0},
      {"selu", &forward<T, kSelu>,
       [](Ld z) { return kSeluLambdaL * (z > 0 ? z : kSeluAlphaL * std::expm1(z)); }, -80, 80,
       f ? 2.0 : 3.0},
      {"softsign", &forward<T, kSoftsign>, [](Ld z) { return z / (1 + std::fabs(z)); }, -1e6, 1e6,
       1.5},
      {"gelu", &forward<T, kGelu>, [](Ld z) { return z * std::erfc(-z * kInvSqrt2L) / 2; }, -8, 80,
       f ? 0.5 : 2.5},
      {"gelu'", &gelu_slope<T>,
       [](Ld z) {
         return std::erfc(-z * kInvSqrt2L) / 2 + z * kInvSqrt2PiL * std::exp(-z * z / 2);
       },
       -8, 80, f ? 0.5 : 1.5, !f},
      {"exp", &kernels::exp<T>, [](Ld z) { return std::exp(z); }, -80, 80, 1.0},
      {"softplus", &kernels::softplus<T>,
       [](Ld z) { return std::max(z, Ld(0)) + std::log1p(std::exp(-std::fabs(z))); }, -80, 80, 2.0},
  };
}

template <typename T>
double max_ulp(const Accuracy<T>& acc, T& where) {
  Rng rng(4);
  std::vector<T> z;
  for (int i = 0; i < 200000; ++i)
    z.push_back(static_cast<T>(acc.lo + (acc.hi - acc.lo) * rng.uniform()));
  for (int i = 0; i < 20000; ++i) z.push_back(static_cast<T>((rng.uniform() * 2 - 1) * 4));
  std::vector<T> out(z.size());
  acc.kernel(static_cast<Index>(z.size()), z.data(), out.data());
  double worst = 0;
  for (std::size_t i = 0; i < z.size(); ++i) {
    const Ld want = acc.reference(static_cast<Ld>(z[i]));
    const double e = acc.absolute
                         ? static_cast<double>(std::fabs(static_cast<Ld>(out[i]) - want) /
                                               static_cast<Ld>(std::numeric_limits<T>::epsilon()))
                         : ulp_error<T>(out[i], want);
    if (e > worst) {
      worst = e;
      where = z[i];
    }
  }
  return worst;
}

}  // namespace

TEST_CASE_TEMPLATE("elementwise accuracy against long double, as docs/kernels.md states it", T,
                   float, double) {
  for (const Accuracy<T>& acc : accuracy_table<T>()) {
    T where = 0;
    const double worst = max_ulp<T>(acc, where);
    const std::string line = acc.name + (sizeof(T) == 4 ? " float" : " double") + ": max " +
                             std::to_string(worst) + (acc.absolute ? " eps (absolute)" : " ulp") +
                             " at z = " + std::to_string(static_cast<double>(where));
    MESSAGE(line);
    CAPTURE(line);
    CHECK(worst <= acc.max_ulp);
  }
}
