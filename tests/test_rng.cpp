#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "initbench/rng.hpp"

using namespace initbench;

// Reference values below come from an independent Python transcription of Vigna's
// splitmix64.c and xoshiro256starstar.c (arbitrary-precision integers masked to 64 bits) and of
// the keying and polar-method transforms documented in rng.hpp, using Python's math.log.

TEST_CASE("mix64 is SplitMix64's finaliser: the reference sequence for seed 0") {
  CHECK(mix64(0x9E3779B97F4A7C15ULL) == 0xE220A8397B1DCDAFULL);
  CHECK(mix64(2 * 0x9E3779B97F4A7C15ULL) == 0x6E789E6AA1B965F4ULL);
  CHECK(mix64(3 * 0x9E3779B97F4A7C15ULL) == 0x06C45D188009454FULL);
}

TEST_CASE("xoshiro256** seeded through SplitMix64 matches the reference implementation") {
  Rng rng(0);
  CHECK(rng.next() == 0x99EC5F36CB75F2B4ULL);
  CHECK(rng.next() == 0xBF6E1F784956452AULL);
  CHECK(rng.next() == 0x1A5F849D4933E6E0ULL);
}

TEST_CASE("keyed generator: (seed, run, stream) = (42, 7, kWeights + 1) is pinned") {
  Rng rng(42, 7, stream::kWeights + 1);
  CHECK(rng.next() == 0xB6D16E0B347C0F96ULL);
  CHECK(rng.next() == 0x1A22F049811D4CFDULL);
  CHECK(rng.next() == 0xAC1DE231C65AA3B6ULL);

  Rng uni(42, 7, stream::kWeights + 1);
  CHECK(uni.uniform() == 0x1.6da2dc1668f81p-1);
  CHECK(uni.uniform() == 0x1.a22f049811d48p-4);
  CHECK(uni.uniform() == 0x1.583bc4638cb54p-1);
}

TEST_CASE("normal(): pinned bits, and equal to the polar method computed with libm's log") {
  // Exact bits of this implementation (log_portable): must not change between platforms.
  const double pinned[] = {0x1.34c8c18c56f3ap-2, -0x1.1ee49966a3412p-1, 0x1.68b9d9946b2d5p+0,
                           0x1.21a48246ca75ap+0, 0x1.4e6e22e4af5acp+0,  0x1.83d52034dc8c4p-2};
  // The same draws computed in Python with math.log: agree to a few ulp.
  const double python[] = {0.30154707354607846, -0.5603378236570526, 1.409085844740891,
                           1.1314164564923517,  1.306368046599668,   0.37874269793168147};
  Rng rng(42, 7, stream::kWeights + 1);
  for (int i = 0; i < 6; ++i) {
    CAPTURE(i);
    const double x = rng.normal();
    CHECK(x == pinned[i]);
    CHECK(std::abs(x - python[i]) <= 4e-16 * std::abs(python[i]));
  }
}

TEST_CASE("log_portable agrees with libm to 2 ulp over many magnitudes") {
  Rng rng(1);
  for (int i = 0; i < 100000; ++i) {
    const double x = std::ldexp(0.5 + rng.uniform(), static_cast<int>(rng.below(2000)) - 1000);
    const double expected = std::log(x);
    const double ulp = std::nextafter(std::abs(expected), HUGE_VAL) - std::abs(expected);
    REQUIRE(std::abs(log_portable(x) - expected) <= 2 * ulp + 1e-300);
  }
  CHECK(log_portable(1.0) == 0.0);
  CHECK(log_portable(0.5) == std::log(0.5));
}

TEST_CASE("streams are independent and reproducible") {
  Rng a(1, 0, 5);
  Rng b(1, 0, 5);
  Rng c(1, 0, 6);
  Rng d(1, 1, 5);
  Rng e(2, 0, 5);
  for (int i = 0; i < 10; ++i) {
    const auto x = a.next();
    CHECK(x == b.next());
    CHECK(x != c.next());
    CHECK(x != d.next());
    CHECK(x != e.next());
  }
}

TEST_CASE("uniform and normal moments") {
  Rng rng(123);
  const int n = 400000;
  double su = 0, suu = 0, sn = 0, snn = 0, snnnn = 0;
  double umin = 1, umax = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    su += u;
    suu += u * u;
    umin = std::min(umin, u);
    umax = std::max(umax, u);
    const double z = rng.normal();
    sn += z;
    snn += z * z;
    snnnn += z * z * z * z;
  }
  CHECK(umin >= 0.0);
  CHECK(umax < 1.0);
  // standard errors: mean of U 0.29/sqrt(n) = 4.6e-4; mean of N 1/sqrt(n) = 1.6e-3
  CHECK(std::abs(su / n - 0.5) < 5 * 4.6e-4);
  CHECK(suu / n - (su / n) * (su / n) == doctest::Approx(1.0 / 12).epsilon(0.01));
  CHECK(std::abs(sn / n) < 5 * 1.6e-3);
  CHECK(snn / n == doctest::Approx(1.0).epsilon(0.01));
  CHECK(snnnn / n == doctest::Approx(3.0).epsilon(0.03));  // kurtosis of a normal
}

TEST_CASE("below(n) is unbiased and in range") {
  Rng rng(9);
  std::vector<int> counts(7, 0);
  const int n = 70000;
  for (int i = 0; i < n; ++i) {
    const auto k = rng.below(7);
    REQUIRE(k < 7);
    ++counts[k];
  }
  for (int c : counts) CHECK(std::abs(c - n / 7) < 5 * std::sqrt(n / 7.0));
  CHECK(rng.below(1) == 0);
}

TEST_CASE("hash_string is stable") {
  CHECK(hash_string("", 0) == mix64(0xcbf29ce484222325ULL));
  CHECK(hash_string("a", 1) != hash_string("b", 1));
  CHECK(hash_string("run", 3) == hash_string("run", 3));
}

TEST_CASE("numpy_legacy: NumPy's RandomState, bit for bit (values printed by NumPy 1.24)") {
  // np.random.seed(1); np.random.random_sample(3)
  Rng a = Rng::numpy_legacy(1);
  CHECK(a.uniform() == 0.417022004702574);
  CHECK(a.uniform() == 0.7203244934421581);
  CHECK(a.uniform() == 0.00011437481734488664);
  // np.random.seed(1); np.random.randn(5): the polar method's second value comes first
  Rng b = Rng::numpy_legacy(1);
  for (const double expected : {1.6243453636632417, -0.6117564136500754, -0.5281717522634557,
                                -1.0729686221561705, 0.8654076293246785})
    CHECK(b.normal() == expected);
  // np.random.seed(3); np.random.randn(2, 3) * 10, as the course notebook's large random init
  Rng c = Rng::numpy_legacy(3);
  for (const double expected : {17.886284734303185, 4.365098505119894, 0.9649746807200863,
                                -18.634927033644907, -2.7738820251439904, -3.5475897926898674})
    CHECK(c.normal(0.0, 10.0) == expected);
  // np.random.seed(7); a = np.arange(10); np.random.shuffle(a): Fisher-Yates from the end with
  // j = random_interval(i), which is below(i + 1)
  Rng d = Rng::numpy_legacy(7);
  std::vector<int> order{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  for (std::size_t i = order.size() - 1; i > 0; --i)
    std::swap(order[i], order[static_cast<std::size_t>(d.below(i + 1))]);
  CHECK(order == std::vector<int>{8, 5, 0, 2, 1, 9, 7, 3, 6, 4});
  // np.random.seed(2**32 - 1); np.random.randint(0, 2**40, size=2) (64-bit draws), then
  // np.random.uniform(-2, 3, 2)
  Rng e = Rng::numpy_legacy(0xffffffffU);
  constexpr std::uint64_t kMask40 = (std::uint64_t{1} << 40) - 1;
  CHECK((e.next() & kMask40) == 700559016226ULL);
  CHECK((e.next() & kMask40) == 53956357191ULL);
  CHECK(e.uniform(-2.0, 3.0) == 1.9451765092581996);
  CHECK(e.uniform(-2.0, 3.0) == 1.9000179905673389);
  // A copy carries the whole state, the cached normal included.
  Rng f = Rng::numpy_legacy(1);
  f.normal();
  Rng g = f;
  CHECK(g.normal() == f.normal());
  CHECK(g.uniform() == f.uniform());
}
