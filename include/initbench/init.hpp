// init.hpp: every initialization scheme, in one registry.
//
// A layer with weights W of shape (fan_out, fan_in) passes both fans to its scheme; fans are
// never inferred from a parameter count. A scheme is written as a name with optional named
// parameters, "he_normal", "he_normal(mode=fan_out)", "orthogonal(gain=tanh)", and the registry
// (schemes()) documents each one: parameters, formula, source. `initbench schemes` prints it.
//
// Randomness: layer l's weights come from Rng(seed, run, stream::kWeights + l) and its bias from
// Rng(seed, run, stream::kBias + l), entries drawn in row-major order (unit by unit). Sampling
// is done in double and rounded to the network's precision, so float and double networks start
// from the same values, and every scheme but lsuv (which depends on the data and the network's
// arithmetic) gives the same bits on any platform.
//
// Where libraries disagree, the name follows its origin (see the README's scheme table):
// glorot_normal, lecun_normal and he_normal are untruncated, as in the papers and PyTorch;
// Keras' truncated versions are variance_scaling(..., distribution=truncated_normal).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "initbench/activation.hpp"
#include "initbench/mlp.hpp"
#include "initbench/types.hpp"

namespace initbench {

// PyTorch's torch.nn.init.calculate_gain: linear/identity 1, sigmoid 1, tanh 5/3, relu sqrt 2,
// leaky_relu sqrt(2 / (1 + slope^2)), selu 3/4. Throws for activations it has no gain for.
double calculate_gain(const Activation& act);

// kText: taken as written (npy's folder).
enum class ParamType { kNumber, kInteger, kChoice, kGain, kText };

struct ParamInfo {
  std::string name;
  ParamType type = ParamType::kNumber;
  std::string default_value;         // "" means required; "auto" means derived (see formula)
  std::vector<std::string> choices;  // kChoice
  std::string description;
};

class Scheme;
class Rng;

struct SchemeInfo {
  std::string name;
  std::vector<ParamInfo> params;
  std::string formula;  // one line, in the README's notation
  std::string source;   // paper or library
  bool random = true;
  bool for_bias = true;         // can initialise a bias vector
  bool data_dependent = false;  // lsuv
  bool from_files = false;      // npy: every layer read from a folder (load_weights_folder)
  // For residual nets only (model.residual = true): besides sampling every layer, the scheme
  // sets the blocks' alpha_b (and may rescale or zero layers, fixup), and alpha_b is learnable.
  // Under every other scheme a residual net starts at alpha_b = 1, fixed.
  bool residual = false;
  // The scheme written with every required parameter, for listings and tests ("" when the name
  // alone is complete).
  std::string example;
};

// Every scheme, in the order `initbench schemes` lists them.
const std::vector<SchemeInfo>& schemes();
std::vector<std::string> scheme_names();

// A parsed and range-checked scheme string.
class Scheme {
 public:
  Scheme();  // zeros
  // Throws std::invalid_argument: unknown name (with did-you-mean and the allowed names),
  // unknown or missing parameter, bad value or choice, out-of-range value.
  static Scheme parse(std::string_view text);

  const SchemeInfo& info() const { return *info_; }
  const std::string& name() const { return info_->name; }
  const std::string& text() const { return text_; }  // as written
  double number(std::string_view param) const;       // numeric (or gain) parameter
  const std::string& choice(std::string_view param) const;
  // Var(w) of one entry of a (fan_out, fan_in) weight matrix, or of a bias of such a layer, as
  // the scheme's distribution defines it (before InitConfig::scale); nan for lsuv, which
  // depends on the data.
  double variance(Index fan_in, Index fan_out) const;

  // Throws std::invalid_argument if the scheme cannot initialise a (fan_out, fan_in) weight
  // matrix (identity on a non-square layer) or, for_bias, a bias.
  void check_layer(Index fan_in, Index fan_out, bool for_bias) const;

  // Sample a weight matrix (fan_out, fan_in), or a bias vector (fan_out) for a layer with these
  // fans. lsuv samples its orthogonal pre-initialisation (the data-dependent part is lsuv()).
  Matrix<double> sample_weights(Index fan_in, Index fan_out, Rng& rng) const;
  Vector<double> sample_bias(Index fan_in, Index fan_out, Rng& rng) const;

 private:
  const SchemeInfo* info_;
  std::string text_;
  std::vector<std::pair<std::string, std::string>> values_;  // every parameter, defaults filled in
};

// How a whole network is initialised.
struct InitConfig {
  Scheme weights;
  // Bias scheme; "default" (the empty text) means zeros, except for torch_default whose bias
  // rule is U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  std::string bias_text;
  double scale = 1.0;  // multiplies every sampled weight (scale sweeps)
  // "initbench": layer l's weights and bias each from their own stream of the run's generator;
  // "numpy": one NumPy legacy generator (Rng::numpy_legacy) seeded with numpy_seed, as
  // np.random.seed(numpy_seed) before a loop that draws each layer's weights (row-major, as
  // np.random.randn(fan_out, fan_in)), then its bias if random, layer after layer.
  std::string generator = "initbench";
  std::int64_t numpy_seed = -1;  // -1: not set (required with generator = "numpy")
  // The folder a relative npy(path) is relative to: the spec file's folder ("" for the working
  // directory).
  std::string base_dir{};

  Scheme bias() const;
  // npy(path)'s folder, resolved against base_dir.
  std::string weights_folder() const;
  // Every layer can be initialised; for npy, the folder's files fit the network (one W<l>.npy
  // of shape (fan_out, fan_in) per layer, b<l>.npy all or none, and then init.bias unset).
  void check(const MlpConfig& net) const;
};

// A network's weights as files: W<l>.npy (fan_out, fan_in) and b<l>.npy (fan_out,) for
// l = 1..L, float32 or float64, C or Fortran order (what the dump_weights probe writes).
struct LayerWeights {
  Matrix<double> W;                 // (fan_out, fan_in)
  std::optional<Vector<double>> b;  // (fan_out); absent when the folder has no b<l>.npy
};
// Reads W1.npy, W2.npy, ... up to the first missing one, and their b<l>.npy. Throws
// std::runtime_error naming the file: no such folder, no W1.npy, a W<l>.npy past a gap, a
// b<l>.npy without its W<l>.npy, some b<l>.npy but not all, an array that is not 2-D (W) or 1-D
// (b), a dtype other than float32/float64, a W whose fan_in is not the previous fan_out, a b
// whose length is not its fan_out, a NaN or an infinity.
std::vector<LayerWeights> load_weights_folder(const std::string& folder);

// Initialises every layer of the network from (seed, run). lsuv needs lsuv_batch: inputs
// (n_0, m) on which layer output variances are measured. A residual net's alpha_b start at 1,
// or where its residual scheme (SchemeInfo::residual) sets them.
template <typename T>
void initialize(Mlp<T>& net, const InitConfig& init, std::uint64_t seed, std::uint64_t run,
                const ConstMatrixRef<T>* lsuv_batch = nullptr);

// Layer-sequential unit-variance (Mishkin & Matas 2016): for l = 1..L in order, repeat
// W_l /= sqrt(Var(z_l)) on the batch until |Var(z_l) - 1| < tol or max_iter times.
// Returns each layer's final variance (index l = 1..L; index 0 unused).
template <typename T>
std::vector<double> lsuv(Mlp<T>& net, const ConstMatrixRef<T>& batch, double tol, int max_iter);

// An orthonormal-column (rows >= cols) or orthonormal-row (rows < cols) matrix, Haar distributed:
// Q of the QR decomposition of an N(0, 1) matrix with R's diagonal made positive. Computed with
// twice-iterated modified Gram-Schmidt in plain scalar loops, so the bits are the same everywhere.
Matrix<double> random_orthogonal(Index rows, Index cols, Rng& rng);

}  // namespace initbench
