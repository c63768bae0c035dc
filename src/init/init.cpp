// init.cpp: schemes parsed from text (with other libraries' names), orthogonal matrices, and
// whole networks initialized (weights, biases, LSUV).
#include "initbench/init.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <optional>
#include <stdexcept>

#include "initbench/rng.hpp"
#include "initbench/text.hpp"
#include "internal.hpp"

namespace initbench {

using namespace init_internal;

// ---------------------------------------------------------------------------------------------
// Scheme: parsing and range checks
// ---------------------------------------------------------------------------------------------

Scheme::Scheme() : info_(&registry().front().info), text_("zeros") {}

double Scheme::number(std::string_view param) const {
  for (const auto& [key, value] : values_) {
    if (key != param) continue;
    if (auto x = parse_double(value)) return *x;
    return calculate_gain(Activation::parse(value));  // a gain given as an activation name
  }
  throw std::logic_error(fmt::format("scheme {} has no parameter {}", name(), param));
}

double Scheme::variance(Index fan_in, Index fan_out) const {
  for (const auto& entry : registry()) {
    if (&entry.info == info_) return entry.variance(*this, fan_in, fan_out);
  }
  throw std::logic_error("scheme not in the registry");
}

const std::string& Scheme::choice(std::string_view param) const {
  for (const auto& [key, value] : values_) {
    if (key == param) return value;
  }
  throw std::logic_error(fmt::format("scheme {} has no parameter {}", name(), param));
}

namespace {

// Other libraries' names for the schemes: `target` where the definitions agree (parameters are
// then ours: he_normal's `slope`, not kaiming_normal_'s `a`), else a hint at what to write.
struct Alias {
  std::string_view name;
  std::string_view target;
  std::string_view hint;
};
constexpr Alias kAliases[] = {
    {"xavier_uniform", "glorot_uniform", ""},
    {"xavier_normal", "glorot_normal", ""},
    {"kaiming_uniform", "he_uniform", ""},
    {"kaiming_normal", "he_normal", ""},
    {"eye", "identity", ""},
    {"GlorotUniform", "glorot_uniform", ""},
    {"HeUniform", "he_uniform", ""},
    {"LecunUniform", "lecun_uniform", ""},
    {"Orthogonal", "orthogonal", ""},
    {"Identity", "identity", ""},
    {"Zeros", "zeros", ""},
    {"Ones", "ones", ""},
    {"Constant", "constant", ""},
    {"VarianceScaling", "variance_scaling", ""},
    {"RandomUniform", "uniform", ""},
    {"RandomNormal", "normal", ""},
    {"TruncatedNormal", "truncated_normal", ""},
    {"trunc_normal", "",
     "PyTorch's trunc_normal_(std=s, a=lo, b=hi) is truncated_normal(stddev=s, low=lo, high=hi) "
     "(PyTorch's bounds are absolute, -2 and 2 by default)"},
    {"GlorotNormal", "",
     "Keras' GlorotNormal draws from a truncated normal: variance_scaling(scale=1, mode=fan_avg, "
     "distribution=truncated_normal); glorot_normal is PyTorch's untruncated xavier_normal_"},
    {"HeNormal", "",
     "Keras' HeNormal draws from a truncated normal: variance_scaling(scale=2, mode=fan_in, "
     "distribution=truncated_normal); he_normal is PyTorch's untruncated kaiming_normal_"},
    {"LecunNormal", "",
     "Keras' LecunNormal draws from a truncated normal: variance_scaling(scale=1, mode=fan_in, "
     "distribution=truncated_normal); lecun_normal is untruncated"},
};

}  // namespace

// Long (about 140 lines) for a reason: one pass from text to a checked Scheme, in the order the
// errors are reported (name and aliases, arguments by position and name, each value by its type,
// then the ranges that involve several parameters), so that the first error is the one shown.
Scheme Scheme::parse(std::string_view text) {
  const Call call = parse_call(text);
  std::string_view name = call.name;
  for (const Alias& alias : kAliases) {
    if (alias.name != name) continue;
    if (alias.target.empty()) {
      throw std::invalid_argument(
          fmt::format("scheme '{}' is not one of ours as it stands: {}", alias.name, alias.hint));
    }
    name = alias.target;
  }
  const Entry* entry = nullptr;
  for (const auto& e : registry()) {
    if (e.info.name == name) entry = &e;
  }
  if (entry == nullptr) {
    throw std::invalid_argument(fmt::format("unknown scheme '{}'{}; allowed: {}", call.name,
                                            did_you_mean(call.name, scheme_names()),
                                            join(scheme_names())));
  }
  const SchemeInfo& info = entry->info;
  Scheme scheme;
  scheme.info_ = &info;
  scheme.text_ = trim(text);
  std::vector<std::string> param_names;
  for (const auto& p : info.params) param_names.push_back(p.name);
  const std::string where = fmt::format("scheme '{}'", scheme.text_);

  // Assign positional arguments in declared order, then named ones.
  std::vector<std::string> given(info.params.size());
  std::vector<bool> set(info.params.size(), false);
  for (std::size_t i = 0; i < call.args.size(); ++i) {
    const auto& [key, value] = call.args[i];
    std::size_t slot = info.params.size();
    if (key.empty()) {
      if (i >= info.params.size()) {
        throw std::invalid_argument(fmt::format("{}: too many arguments; {} takes {}", where,
                                                info.name,
                                                param_names.empty() ? "none" : join(param_names)));
      }
      slot = i;
    } else {
      auto it = std::find(param_names.begin(), param_names.end(), key);
      if (it == param_names.end()) {
        throw std::invalid_argument(fmt::format(
            "{}: unknown parameter '{}'{}; {} takes {}", where, key, did_you_mean(key, param_names),
            info.name, param_names.empty() ? "no parameters" : join(param_names)));
      }
      slot = static_cast<std::size_t>(it - param_names.begin());
    }
    if (set[slot])
      throw std::invalid_argument(
          fmt::format("{}: parameter '{}' given twice", where, param_names[slot]));
    given[slot] = value;
    set[slot] = true;
  }
  for (std::size_t i = 0; i < info.params.size(); ++i) {
    const ParamInfo& p = info.params[i];
    if (!set[i]) {
      if (p.default_value.empty()) {
        throw std::invalid_argument(
            fmt::format("{}: missing parameter '{}' ({}); write e.g. {}({}=...)", where, p.name,
                        p.description, info.name, p.name));
      }
      given[i] = p.default_value;
    }
    const std::string& value = given[i];
    if (p.type == ParamType::kText) {
      // taken as written (parse_call trimmed it and refused an empty one)
    } else if (p.type == ParamType::kChoice) {
      if (std::find(p.choices.begin(), p.choices.end(), value) == p.choices.end()) {
        throw std::invalid_argument(fmt::format("{}: {} = '{}' is not allowed{}; allowed: {}",
                                                where, p.name, value,
                                                did_you_mean(value, p.choices), join(p.choices)));
      }
    } else if (value != "auto") {
      auto x = parse_double(value);
      if (!x && p.type == ParamType::kGain) {
        try {
          x = calculate_gain(Activation::parse(value));
        } catch (const std::invalid_argument& e) {
          throw std::invalid_argument(
              fmt::format("{}: gain '{}' is neither a number nor an activation with a "
                          "standard gain: {}",
                          where, value, e.what()));
        }
      }
      if (!x)
        throw std::invalid_argument(
            fmt::format("{}: {} = '{}' is not a number", where, p.name, value));
      if (!std::isfinite(*x))
        throw std::invalid_argument(
            fmt::format("{}: {} must be finite, got {}", where, p.name, value));
      if (p.type == ParamType::kInteger && (*x != std::floor(*x) || *x < 1)) {
        throw std::invalid_argument(
            fmt::format("{}: {} must be a positive integer, got {}", where, p.name, value));
      }
    }
    scheme.values_.emplace_back(p.name, value);
  }

  // Resolve derived defaults and check ranges that involve several parameters.
  auto fail = [&](const std::string& what) {
    throw std::invalid_argument(fmt::format("{}: {}", where, what));
  };
  auto has = [&](const char* p) {
    return std::find(param_names.begin(), param_names.end(), p) != param_names.end();
  };
  if (has("stddev") && scheme.number("stddev") < 0)
    fail(fmt::format("stddev must be >= 0, got {}", scheme.number("stddev")));
  if (has("gain") && scheme.number("gain") <= 0)
    fail(fmt::format("gain must be > 0, got {}", scheme.number("gain")));
  if (has("scale") && scheme.number("scale") <= 0)
    fail(fmt::format("scale must be > 0, got {}", scheme.number("scale")));
  if (info.name == "uniform" && !(scheme.number("low") < scheme.number("high"))) {
    fail(fmt::format("low must be < high, got low = {} and high = {}", scheme.number("low"),
                     scheme.number("high")));
  }
  if (info.name == "truncated_normal") {
    const double mean = scheme.number("mean");
    const double sd = scheme.number("stddev");
    if (sd <= 0) fail("stddev must be > 0");
    for (auto& [key, value] : scheme.values_) {
      if (key == "low" && value == "auto") value = format_number(mean - 2 * sd);
      if (key == "high" && value == "auto") value = format_number(mean + 2 * sd);
    }
    const double low = scheme.number("low");
    const double high = scheme.number("high");
    if (!(low < high))
      fail(fmt::format("low must be < high, got low = {} and high = {}", low, high));
    // Redrawing must end: require at least 1% of the mass inside the bounds.
    const double mass = normal_cdf((high - mean) / sd) - normal_cdf((low - mean) / sd);
    if (mass < 0.01) {
      fail(fmt::format("[{}, {}] holds only {:.2g} of N({}, {}^2): redrawing would take too long",
                       low, high, mass, mean, sd));
    }
  }
  if (info.name == "torch_sparse") {
    const double sparsity = scheme.number("sparsity");
    if (sparsity < 0 || sparsity >= 1)
      fail(fmt::format("sparsity must be in [0, 1), got {}", sparsity));
  }
  if (info.name == "lsuv" && scheme.number("tol") <= 0) fail("tol must be > 0");
  return scheme;
}

void Scheme::check_layer(Index fan_in, Index fan_out, bool for_bias) const {
  if (for_bias && !info_->for_bias) {
    throw std::invalid_argument(
        fmt::format("scheme '{}' cannot initialise biases; use zeros, constant, uniform, "
                    "normal, truncated_normal or a fan-based scheme",
                    text_));
  }
  if (!for_bias && name() == "identity" && fan_in != fan_out) {
    throw std::invalid_argument(
        fmt::format("scheme '{}' needs square layers, but a layer is {} -> {} "
                    "(fan_in {}, fan_out {}); partial_identity takes any shape",
                    text_, fan_in, fan_out, fan_in, fan_out));
  }
}

Matrix<double> Scheme::sample_weights(Index fan_in, Index fan_out, Rng& rng) const {
  check_layer(fan_in, fan_out, false);
  return find_entry(info_).sample(*this, fan_out, fan_in, fan_in, fan_out, rng);
}

Vector<double> Scheme::sample_bias(Index fan_in, Index fan_out, Rng& rng) const {
  check_layer(fan_in, fan_out, true);
  return find_entry(info_).sample(*this, fan_out, 1, fan_in, fan_out, rng).col(0);
}

// ---------------------------------------------------------------------------------------------
// Orthogonal matrices
// ---------------------------------------------------------------------------------------------

namespace {
// Dot product with four accumulators in a fixed order: faster than one chain, and the same bits
// everywhere because the order is written here, not chosen by a compiler or a BLAS.
double dot4(const double* x, const double* y, Index n) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  Index i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += x[i] * y[i];
    s1 += x[i + 1] * y[i + 1];
    s2 += x[i + 2] * y[i + 2];
    s3 += x[i + 3] * y[i + 3];
  }
  for (; i < n; ++i) s0 += x[i] * y[i];
  return (s0 + s1) + (s2 + s3);
}
}  // namespace

Matrix<double> random_orthogonal(Index rows, Index cols, Rng& rng) {
  Matrix<double> g =
      normal(rows, cols, 0.0, 1.0, rng);  // drawn row-major, as PyTorch's orthogonal_
  const bool wide = rows < cols;
  Matrix<double> q = wide ? Matrix<double>(g.transpose()) : g;  // tall: (m, n), m >= n
  const Index m = q.rows();
  const Index n = q.cols();
  for (Index j = 0; j < n; ++j) {
    double* v = q.col(j).data();
    for (int pass = 0; pass < 2; ++pass) {  // "twice is enough" (Giraud et al. 2005)
      for (Index i = 0; i < j; ++i) {
        const double* u = q.col(i).data();
        const double r = dot4(u, v, m);
        for (Index k = 0; k < m; ++k) v[k] -= r * u[k];
      }
    }
    const double norm = std::sqrt(dot4(v, v, m));  // R's diagonal: positive, so no sign flip needed
    for (Index k = 0; k < m; ++k) v[k] /= norm;
  }
  if (wide) return q.transpose();
  return q;
}

// ---------------------------------------------------------------------------------------------
// Whole networks
// ---------------------------------------------------------------------------------------------

Scheme InitConfig::bias() const {
  if (!bias_text.empty() && bias_text != "default") return Scheme::parse(bias_text);
  if (weights.name() == "torch_default") return Scheme::parse("torch_default");
  return Scheme();
}

void InitConfig::check(const MlpConfig& net) const {
  if (!(std::isfinite(scale) && scale > 0))
    throw std::invalid_argument(fmt::format("init scale must be > 0, got {}", scale));
  if (weights.info().residual && !net.residual()) {
    throw std::invalid_argument(fmt::format(
        "scheme '{}' is for residual nets (model.residual = true): it sets their blocks' alpha_b",
        weights.text()));
  }
  if (weights.info().data_dependent && net.residual()) {
    throw std::invalid_argument(fmt::format(
        "scheme '{}' normalises layer after layer of a plain MLP; a residual net's stream is not "
        "one (use he_normal, fixup, rezero or skipinit)",
        weights.text()));
  }
  const Scheme b = bias();
  if (weights.info().from_files) network_weights(*this, net);
  for (Index l = 1; l <= net.num_layers(); ++l) {
    try {
      weights.check_layer(net.fan_in(l), net.fan_out(l), false);
      b.check_layer(net.fan_in(l), net.fan_out(l), true);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(fmt::format("layer {}: {}", l, e.what()));
    }
  }
}

namespace {

// What a residual scheme does to a residual net besides sampling it (the defaults for any other
// scheme, and for a plain MLP: nothing).
ResidualStart residual_start(const Scheme& scheme, const MlpConfig& config) {
  const ResidualRule rule = find_entry(&scheme.info()).residual;
  return config.residual() && rule != nullptr ? rule(scheme, config) : ResidualStart{};
}

// True for the layers of a residual branch but its last one.
bool inner_branch_layer(const MlpConfig& config, Index l) {
  if (!config.residual() || l < 2 || l >= config.num_layers()) return false;
  return (l - 1) % config.block_depth != 0;  // branch_last(b) = 1 + b m
}

}  // namespace

template <typename T>
void initialize(Mlp<T>& net, const InitConfig& init, std::uint64_t seed, std::uint64_t run,
                const ConstMatrixRef<T>* lsuv_batch) {
  const MlpConfig& config = net.config();
  init.check(config);
  const Scheme bias = init.bias();
  if (init.weights.info().data_dependent && lsuv_batch == nullptr) {
    throw std::invalid_argument(
        fmt::format("scheme '{}' needs a batch of data", init.weights.text()));
  }
  std::vector<LayerWeights> files;  // npy(path): every layer's W, and b if the folder has them
  if (init.weights.info().from_files) files = network_weights(init, config);
  const ResidualStart start = residual_start(init.weights, config);
  net.reset_norm();  // gamma = 1, beta = 0 and a batch norm's running statistics 0 and 1
  std::optional<Rng> numpy;
  if (uses_numpy(init.generator))
    numpy = Rng::numpy_legacy(numpy_seed(init.numpy_seed, "init.numpy_seed"));
  for (Index l = 1; l <= config.num_layers(); ++l) {
    const auto ul = static_cast<std::uint64_t>(l);
    Rng weight_stream(seed, run, stream::kWeights + ul);
    Rng bias_stream(seed, run, stream::kBias + ul);
    Rng& weight_rng = numpy ? *numpy : weight_stream;
    Rng& bias_rng = numpy ? *numpy : bias_stream;
    if (!files.empty()) {
      const LayerWeights& layer = files[static_cast<std::size_t>(l - 1)];
      net.W(l) = (init.scale * layer.W).cast<T>();
      net.b(l) = layer.b
                     ? layer.b->cast<T>()
                     : bias.sample_bias(config.fan_in(l), config.fan_out(l), bias_rng).cast<T>();
      continue;
    }
    // a residual scheme's branch scale multiplies in double, before the rounding
    const double scale =
        inner_branch_layer(config, l) ? init.scale * start.branch_scale : init.scale;
    net.W(l) =
        (scale * init.weights.sample_weights(config.fan_in(l), config.fan_out(l), weight_rng))
            .cast<T>();
    net.b(l) = bias.sample_bias(config.fan_in(l), config.fan_out(l), bias_rng).cast<T>();
  }
  // a residual net: the alpha_b, and the layers a residual scheme starts at zero
  for (Index blk = 1; blk <= config.blocks; ++blk) {
    net.alpha(blk) = static_cast<T>(start.alpha);
    if (start.zero_branch_last) net.W(config.branch_last(blk)).setZero();
  }
  if (start.zero_output) {
    net.W(config.num_layers()).setZero();
    net.b(config.num_layers()).setZero();
  }
  if (init.weights.info().data_dependent) {
    lsuv(net, *lsuv_batch, init.weights.number("tol"),
         static_cast<int>(init.weights.number("max_iter")));
  }
}

template <typename T>
std::vector<double> lsuv(Mlp<T>& net, const ConstMatrixRef<T>& batch, double tol, int max_iter) {
  const MlpConfig& config = net.config();
  const Index L = config.num_layers();
  const Index m = batch.cols();
  if (batch.rows() != config.sizes[0] || m < 2) {
    throw std::invalid_argument(fmt::format("lsuv: batch must be ({}, m >= 2), got ({}, {})",
                                            config.sizes[0], batch.rows(), m));
  }
  Workspace<T> ws(config, m);
  ws.A[0] = batch;
  std::vector<double> variances(static_cast<std::size_t>(L + 1), kNan);
  auto variance = [](const Matrix<T>& z) {
    const double mean = z.template cast<double>().mean();
    return (z.template cast<double>().array() - mean).square().mean();
  };
  for (Index l = 1; l <= L; ++l) {
    const auto ul = static_cast<std::size_t>(l);
    double var = kNan;
    for (int iter = 0;; ++iter) {
      dense_forward<T>(net.W(l), net.b(l), ws.A[ul - 1], ws.Z[ul], ws.scratch);
      var = variance(ws.Z[ul]);
      // Nothing to normalise: a layer whose output on the batch is constant (dead units, constant
      // features) or not finite (huge inputs) keeps its weights, and the run shows what follows
      // (dead units, or status diverged at step 0) instead of aborting the whole experiment.
      if (!(var > 0) || !std::isfinite(var)) break;
      if (std::abs(var - 1.0) < tol || iter >= max_iter) break;
      net.W(l) /= static_cast<T>(std::sqrt(var));
    }
    variances[ul] = var;
    if (l < L) activation_forward<T>(config.hidden, ws.Z[ul], ws.A[ul]);
  }
  return variances;
}

template void initialize<float>(Mlp<float>&, const InitConfig&, std::uint64_t, std::uint64_t,
                                const ConstMatrixRef<float>*);
template void initialize<double>(Mlp<double>&, const InitConfig&, std::uint64_t, std::uint64_t,
                                 const ConstMatrixRef<double>*);
template std::vector<double> lsuv<float>(Mlp<float>&, const ConstMatrixRef<float>&, double, int);
template std::vector<double> lsuv<double>(Mlp<double>&, const ConstMatrixRef<double>&, double, int);

}  // namespace initbench
