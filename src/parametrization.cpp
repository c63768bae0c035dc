#include "initbench/parametrization.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "initbench/text.hpp"

namespace initbench {

const std::vector<std::string>& parametrization_names() {
  static const std::vector<std::string> names{"standard", "ntk", "mup"};
  return names;
}

Parametrization parse_parametrization(std::string_view text) {
  if (text == "standard") return Parametrization::kStandard;
  if (text == "ntk") return Parametrization::kNtk;
  if (text == "mup") return Parametrization::kMup;
  throw std::invalid_argument(fmt::format("unknown parametrization '{}'{}; allowed: {}", text,
                                          did_you_mean(text, parametrization_names()),
                                          join(parametrization_names())));
}

std::string parametrization_name(Parametrization p) {
  return parametrization_names()[static_cast<std::size_t>(p)];
}

namespace {

std::size_t at(Index l) { return static_cast<std::size_t>(l); }

// sigma^2 with Var(W) = sigma^2 / fan_in for every fan_out, or a reason it is not of that form.
double fan_in_gain(const Scheme& scheme, const MlpConfig& net, const std::string& what) {
  const SchemeInfo& info = scheme.info();
  if (info.data_dependent || info.from_files || info.residual || !info.random) {
    throw std::invalid_argument(
        fmt::format("{} needs a random scheme with variance sigma^2 / fan_in (lecun_*, he_*, "
                    "variance_scaling(mode=fan_in), ...), got '{}'",
                    what, scheme.text()));
  }
  const double g = scheme.variance(net.fan_in(1), net.fan_out(1)) * double(net.fan_in(1));
  for (Index l = 1; l <= net.num_layers(); ++l) {
    const Index fi = net.fan_in(l);
    const Index fo = net.fan_out(l);
    for (const auto& [a, b] : {std::pair{fi, fo}, std::pair{2 * fi, fo}, std::pair{fi, 3 * fo}}) {
      const double v = scheme.variance(a, b) * double(a);
      if (!(std::isfinite(v) && v > 0 && std::abs(v - g) <= 1e-12 * g)) {
        throw std::invalid_argument(fmt::format(
            "{} needs a scheme whose weight variance is sigma^2 / fan_in whatever the fans "
            "(lecun_*, he_*, variance_scaling(mode=fan_in), ...); '{}' gives {} at fan_in {}, "
            "fan_out {}",
            what, scheme.text(), scheme.variance(a, b), a, b));
      }
    }
  }
  return g;
}

}  // namespace

LayerScales parametrize(Parametrization p, const MlpConfig& net, const Scheme& scheme,
                        OptimizerKind optimizer, Index base_width) {
  const Index L = net.num_layers();
  LayerScales s;
  for (auto* v : {&s.multiplier, &s.init_w, &s.init_b, &s.lr_w, &s.lr_b}) v->assign(at(L + 1), 1.0);
  if (p == Parametrization::kStandard) return s;
  const std::string what = fmt::format("model.parametrization = {}", parametrization_name(p));
  if (net.residual()) {
    throw std::invalid_argument(fmt::format(
        "{} is for plain MLPs; a residual net (model.residual = true) needs \"standard\"", what));
  }
  const double gain = fan_in_gain(scheme, net, what);
  if (p == Parametrization::kNtk) {
    for (Index l = 1; l <= L; ++l) {
      const double c = std::sqrt(gain / double(net.fan_in(l)));
      s.multiplier[at(l)] = c;
      s.init_w[at(l)] = 1.0 / c;
    }
    return s;
  }
  if (base_width < 1) {
    throw std::invalid_argument(
        fmt::format("{} needs model.base_width >= 1 (the width at which muP is the standard "
                    "parametrization), got {}",
                    what, base_width));
  }
  const bool adam = optimizer == OptimizerKind::kAdam;
  // m of dimension i (a layer's size; 0 = the input, L = the output): hidden sizes only.
  auto mult = [&](Index i) {
    return i == 0 || i == L ? 1.0 : double(net.sizes[at(i)]) / double(base_width);
  };
  for (Index l = 1; l <= L; ++l) {
    const double m_in = mult(l - 1);
    const double m_out = mult(l);
    const bool in_inf = l > 1;
    const bool out_inf = l < L;
    if (in_inf && out_inf) {  // hidden: matrix-like
      s.lr_w[at(l)] = adam ? 1.0 / m_in : m_out / m_in;
    } else if (out_inf) {  // input weights: vector-like, width multiplier m_out
      s.lr_w[at(l)] = adam ? 1.0 : m_out;
    } else if (in_inf) {  // readout: vector-like, width multiplier m_in
      s.lr_w[at(l)] = adam ? 1.0 : m_in;
      s.multiplier[at(l)] = 1.0 / m_in;
      s.init_w[at(l)] = std::sqrt(m_in);
      s.init_b[at(l)] = std::sqrt(m_in);
    }
    // a hidden bias is vector-like (m_out); the output bias is finite
    s.lr_b[at(l)] = out_inf && !adam ? m_out : 1.0;
  }
  return s;
}

template <typename T>
void apply_init_factors(Mlp<T>& net, const LayerScales& scales) {
  for (Index l = 1; l <= net.num_layers(); ++l) {
    if (scales.init_w[at(l)] != 1.0) net.W(l) *= static_cast<T>(scales.init_w[at(l)]);
    if (scales.init_b[at(l)] != 1.0) net.b(l) *= static_cast<T>(scales.init_b[at(l)]);
  }
}

template void apply_init_factors<float>(Mlp<float>&, const LayerScales&);
template void apply_init_factors<double>(Mlp<double>&, const LayerScales&);

}  // namespace initbench
