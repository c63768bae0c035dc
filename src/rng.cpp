#include "initbench/rng.hpp"

#include <fmt/format.h>

#include <cassert>
#include <cmath>
#include <stdexcept>

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

// MT19937 (Matsumoto & Nishimura 1998) as NumPy's legacy generator holds it: init_genrand
// seeding (NumPy's mt19937_seed), the state regenerated 624 words at a time.
struct Rng::Mt19937 {
  static constexpr int kN = 624;
  static constexpr int kM = 397;
  std::array<std::uint32_t, kN> key{};
  int pos = kN;

  explicit Mt19937(std::uint32_t seed) {
    for (int i = 0; i < kN; ++i) {
      key[static_cast<std::size_t>(i)] = seed;
      seed = 1812433253U * (seed ^ (seed >> 30)) + static_cast<std::uint32_t>(i) + 1U;
    }
  }

  void generate() {
    constexpr std::uint32_t kUpper = 0x80000000U;
    constexpr std::uint32_t kLower = 0x7fffffffU;
    constexpr std::uint32_t kMatrix = 0x9908b0dfU;
    auto twist = [](std::uint32_t y) { return (y >> 1) ^ ((y & 1U) != 0 ? kMatrix : 0U); };
    auto at = [](int i) { return static_cast<std::size_t>(i); };
    int i = 0;
    for (; i < kN - kM; ++i)
      key[at(i)] = key[at(i + kM)] ^ twist((key[at(i)] & kUpper) | (key[at(i + 1)] & kLower));
    for (; i < kN - 1; ++i) {
      key[at(i)] = key[at(i + kM - kN)] ^ twist((key[at(i)] & kUpper) | (key[at(i + 1)] & kLower));
    }
    key[at(kN - 1)] = key[at(kM - 1)] ^ twist((key[at(kN - 1)] & kUpper) | (key[0] & kLower));
    pos = 0;
  }

  std::uint32_t next() {
    if (pos == kN) generate();
    std::uint32_t y = key[static_cast<std::size_t>(pos++)];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= y >> 18;
    return y;
  }
};

const std::vector<std::string>& generator_names() {
  static const std::vector<std::string> names{"initbench", "numpy"};
  return names;
}

bool uses_numpy(std::string_view generator) {
  if (generator == "numpy") return true;
  if (generator == "initbench") return false;
  throw std::invalid_argument(
      fmt::format("unknown generator '{}'; allowed: initbench, numpy", generator));
}

std::uint32_t numpy_seed(std::int64_t seed, std::string_view key) {
  if (seed < 0 || seed > 0xffffffffLL) {
    throw std::invalid_argument(fmt::format(
        "generator 'numpy' needs {} in [0, 2^32 - 1] (np.random.seed's range); got {}", key, seed));
  }
  return static_cast<std::uint32_t>(seed);
}

Rng Rng::numpy_legacy(std::uint32_t seed) {
  Rng rng(std::uint64_t{0});
  rng.mt_ = std::make_unique<Mt19937>(seed);
  return rng;
}

Rng::Rng(const Rng& other)
    : s_(other.s_),
      spare_(other.spare_),
      has_spare_(other.has_spare_),
      mt_(other.mt_ ? std::make_unique<Mt19937>(*other.mt_) : nullptr) {}

Rng& Rng::operator=(const Rng& other) {
  if (this != &other) {
    s_ = other.s_;
    spare_ = other.spare_;
    has_spare_ = other.has_spare_;
    mt_ = other.mt_ ? std::make_unique<Mt19937>(*other.mt_) : nullptr;
  }
  return *this;
}

Rng::Rng(Rng&& other) noexcept = default;
Rng& Rng::operator=(Rng&& other) noexcept = default;
Rng::~Rng() = default;

std::uint32_t Rng::next32() {
  if (mt_) return mt_->next();
  return static_cast<std::uint32_t>(next() >> 32);
}

std::uint64_t Rng::next() {
  if (mt_) {  // NumPy's next_uint64 for MT19937: two words, the first one high
    const std::uint64_t high = mt_->next();
    return (high << 32) | mt_->next();
  }
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

double Rng::uniform() {
  if (mt_) {  // NumPy's legacy_double (random_sample)
    const std::uint32_t a = mt_->next() >> 5;
    const std::uint32_t b = mt_->next() >> 6;
    return (static_cast<double>(a) * 67108864.0 + static_cast<double>(b)) / 9007199254740992.0;
  }
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

double Rng::uniform(double low, double high) { return low + (high - low) * uniform(); }

// NumPy's legacy_gauss: the same polar method, but the second value of the pair is returned
// first, and the logarithm is the C library's (NumPy calls log).
double Rng::numpy_normal() {
  double x1 = 0.0;
  double x2 = 0.0;
  double r2 = 0.0;
  do {
    x1 = 2.0 * uniform() - 1.0;
    x2 = 2.0 * uniform() - 1.0;
    r2 = x1 * x1 + x2 * x2;
  } while (r2 >= 1.0 || r2 == 0.0);
  const double f = std::sqrt(-2.0 * std::log(r2) / r2);
  spare_ = f * x1;
  has_spare_ = true;
  return f * x2;
}

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  if (mt_) return numpy_normal();
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
  if (mt_) {
    // NumPy's random_interval(n - 1): the smallest all-ones mask covering n - 1, then rejection
    // of masked draws above it; 32-bit draws while n - 1 fits in 32 bits.
    const std::uint64_t max = n - 1;
    if (max == 0) return 0;
    std::uint64_t mask = max;
    for (int shift = 1; shift <= 32; shift *= 2) mask |= mask >> shift;
    std::uint64_t value = 0;
    if (max <= 0xffffffffULL) {
      while ((value = (next32() & mask)) > max) {
      }
    } else {
      while ((value = (next() & mask)) > max) {
      }
    }
    return value;
  }
  // Lemire 2019, "Fast random integer generation in an interval".
  // NOLINTNEXTLINE(modernize-use-using,readability-identifier-naming): __extension__ needs typedef
  __extension__ typedef unsigned __int128 u128;
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
