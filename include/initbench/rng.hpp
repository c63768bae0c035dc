// rng.hpp: the project's own random generator, identical on every platform and compiler.
//
// Why our own: std::normal_distribution and even std::uniform_real_distribution are
// implementation-defined (libstdc++ and libc++ give different numbers from the same engine), and
// Eigen's Random() uses std::rand. Every random number in initbench comes from this file.
//
// Engine: xoshiro256** 1.0 (Blackman & Vigna 2018), seeded through SplitMix64.
// Keying: a generator is identified by (seed, run, stream); the three are mixed with the
//   SplitMix64 finaliser, so nearby keys give unrelated sequences and a stream can be
//   re-created anywhere without drawing the streams before it.
// Transforms (all in IEEE double, no FMA, no libm):
//   uniform()  = (next() >> 11) * 2^-53, in [0, 1), 53 random bits;
//   normal()   = Marsaglia's polar method, with a logarithm of our own (log_portable) so that
//                the result does not depend on the platform's libm. Pairs are cached: draw k of
//                a stream always means the same number.
//   below(n)   = Lemire's nearly-divisionless unbiased integer in [0, n).
//
// A second engine, for reproducing published NumPy code bit for bit: numpy_legacy(seed) is
// NumPy's legacy numpy.random.RandomState(seed), the state np.random.seed(seed) sets up
// (MT19937 seeded by init_genrand; doubles (a >> 5, b >> 6) / 2^53; normal() by the legacy polar
// method, which returns f x2 first and keeps f x1, with the C library's log as NumPy uses;
// below(n) by NumPy's masked rejection). np.random.rand, randn, normal, uniform and shuffle
// then give the same numbers here as in NumPy. Only specs that ask for it use it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace initbench {

// Well-known streams. Weight and bias streams are offset by the layer index l = 1..L.
namespace stream {
inline constexpr std::uint64_t kData = 1;     // synthetic data generation
inline constexpr std::uint64_t kShuffle = 2;  // mini-batch order
// 3 is retired (it was reserved for probe sample choices; probes take the first samples)
inline constexpr std::uint64_t kWeights = 1000;  // + l: layer l's weights
inline constexpr std::uint64_t kBias = 2000;     // + l: layer l's bias
}  // namespace stream

// SplitMix64's output function (Steele, Lea & Flood 2014): a bijective 64-bit mixer.
std::uint64_t mix64(std::uint64_t x);

// FNV-1a over bytes then mix64: a stable 64-bit key for a string (run keys).
std::uint64_t hash_string(const char* data, std::uint64_t size);

// Natural logarithm from IEEE arithmetic only (frexp, +, *, /), accurate to a few ulp for
// positive normal x. Same bits everywhere; used by the normal transform.
double log_portable(double x);

// The generators a spec may name for its data and its weights: "initbench" (this file's own,
// the default) and "numpy" (Rng::numpy_legacy).
const std::vector<std::string>& generator_names();
// Whether `generator` is "numpy" (false for "initbench"); std::invalid_argument for any other.
bool uses_numpy(std::string_view generator);
// A spec's seed for numpy_legacy; std::invalid_argument naming `key` outside np.random.seed's
// range [0, 2^32 - 1] (-1, "not set", included).
std::uint32_t numpy_seed(std::int64_t seed, std::string_view key);

class Rng {
 public:
  // The generator for (seed, run, stream).
  Rng(std::uint64_t seed, std::uint64_t run, std::uint64_t stream);
  // A generator for a raw 64-bit seed (tests, tools).
  explicit Rng(std::uint64_t seed);
  // NumPy's legacy RandomState(seed) (see the top of this file).
  static Rng numpy_legacy(std::uint32_t seed);

  Rng(const Rng& other);
  Rng& operator=(const Rng& other);
  Rng(Rng&& other) noexcept;
  Rng& operator=(Rng&& other) noexcept;
  ~Rng();

  std::uint64_t next();                     // 64 random bits
  double uniform();                         // [0, 1)
  double uniform(double low, double high);  // [low, high)
  double normal();                          // N(0, 1)
  double normal(double mean, double stddev);
  std::uint64_t below(std::uint64_t n);  // [0, n), n > 0

 private:
  struct Mt19937;  // NumPy's legacy engine, when numpy_legacy() made this generator
  std::uint32_t next32();
  double numpy_normal();

  std::array<std::uint64_t, 4> s_{};
  double spare_ = 0.0;
  bool has_spare_ = false;
  std::unique_ptr<Mt19937> mt_;
};

}  // namespace initbench
