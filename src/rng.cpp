#include "initbench/rng.hpp"

#include <cassert>
#include <cmath>

namespace initbench {

namespace {

constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// SplitMix64 step: advances the state by the golden gamma and returns its mix.
std::uint64_t splitmix_next(std::uint64_t& state) {
  state += kGolden;
  return mix64(state);
}

}  // namespace

std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::uint64_t hash_string(const char* data, std::uint64_t size) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64 offset basis
  for (std::uint64_t i = 0; i < size; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 0x100000001b3ULL;  // FNV-1a 64 prime
  }
  return mix64(h);
}

double log_portable(double x) {
  assert(x > 0.0 && std::isfinite(x));
  // x = m * 2^e with m in [sqrt(1/2), sqrt(2)); log x = e ln2 + log m, and
  // log m = 2 atanh(f) = 2 (f + f^3/3 + f^5/5 + ...) with f = (m - 1) / (m + 1), |f| <= 0.1716.
  // Twelve odd terms bring the truncation error below 2^-60 relative. frexp and the scaling by 2
  // are exact; the rest is +, *, / in double, which IEEE 754 fixes bit for bit.
  int e = 0;
  double m = std::frexp(x, &e);  // m in [0.5, 1)
  if (m < 0.70710678118654752440) {
    m *= 2.0;
    e -= 1;
  }
  const double f = (m - 1.0) / (m + 1.0);
  const double f2 = f * f;
  double series = 1.0 / 23.0;
  for (int k = 21; k >= 1; k -= 2) series = series * f2 + 1.0 / static_cast<double>(k);
  const double log_m = 2.0 * f * series;
  // ln 2 split into a high part with trailing zero bits (so e * hi is exact) and the rest.
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  const double de = static_cast<double>(e);
  return de * kLn2Hi + (de * kLn2Lo + log_m);
}

Rng::Rng(std::uint64_t seed) {
  std::uint64_t state = seed;
  for (auto& word : s_) word = splitmix_next(state);
  // xoshiro's only invalid state is all zeros; SplitMix64 cannot produce four zero words in a
  // row, but make the invariant explicit.
  if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = kGolden;
}

Rng::Rng(std::uint64_t seed, std::uint64_t run, std::uint64_t stream)
    : Rng(mix64(mix64(mix64(seed + kGolden) ^ (run + 2 * kGolden)) ^ (stream + 3 * kGolden))) {}

std::uint64_t Rng::next() {
  // xoshiro256** 1.0, https://prng.di.unimi.it/xoshiro256starstar.c
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

double Rng::uniform(double low, double high) { return low + (high - low) * uniform(); }

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u = 0.0;
  double v = 0.0;
  double s = 0.0;
  do {
    u = 2.0 * uniform() - 1.0;  // exact: uniform() has 53 bits
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double factor = std::sqrt(-2.0 * log_portable(s) / s);  // sqrt is exactly rounded
  spare_ = v * factor;
  has_spare_ = true;
  return u * factor;
}

double Rng::normal(double mean, double stddev) { return mean + stddev * normal(); }

std::uint64_t Rng::below(std::uint64_t n) {
  assert(n > 0);
  // Lemire 2019, "Fast random integer generation in an interval".
  __extension__ typedef unsigned __int128
      u128;  // NOLINT(modernize-use-using,readability-identifier-naming)
  u128 m = static_cast<u128>(next()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<u128>(next()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

}  // namespace initbench
