#include <doctest/doctest.h>

#include <cmath>
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
