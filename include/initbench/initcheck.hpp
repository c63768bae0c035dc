// initcheck.hpp: what a network's initial weights are, layer by layer (`initbench check-init`).
//
// For each W (fan_out, fan_in): its mean and variance against the variance every scheme of the
// registry predicts at those fans (Scheme::variance, no second table), the shape of its
// distribution (uniform, normal, truncated normal and where it is cut) from the excess kurtosis
// and the largest |w| in standard deviations, how far it is from a scaled orthogonal matrix, and
// its share of exact zeros. The rules and their thresholds are in docs/check-init.md.
#pragma once

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "initbench/init.hpp"
#include "initbench/types.hpp"

namespace initbench {

// The distribution's shape, judged on a layer's nonzero entries x (n of them, standardised by
// their mean and standard deviation).
struct ShapeFit {
  std::string shape;           // uniform | normal | truncated_normal | bounded_other |
                               // heavy_tailed | light_tailed | constant | too_few
  double excess_kurtosis = 0;  // m4 / m2^2 - 3: uniform -1.2, normal 0
  double kurtosis_se = 0;      // its standard error (delta method, from the sample's moments)
  double max_z = 0;            // max |x - mean| / std
  double normal_beyond = 0;    // n P(|Z| > max_z): normal draws expected beyond the largest
  // truncated_normal: the cut, in the untruncated normal's stddevs; nan for the other shapes
  double cut = std::numeric_limits<double>::quiet_NaN();
};

// Fewer nonzero entries than this are too few to judge a shape.
inline constexpr Index kShapeMinEntries = 50;
// A sample is bounded (not normal) when a normal sample of its size would put more than this
// many draws beyond its largest |z|: the chance that it puts none there is then below e^-20.
inline constexpr double kBoundedBeyond = 20.0;
// A kurtosis fits a shape's when it is within this many standard errors of it.
inline constexpr double kKurtosisSigmas = 4.0;

ShapeFit fit_shape(const Eigen::Ref<const Matrix<double>>& w);

// N(0, 1) truncated to [-c, c]: its variance, its excess kurtosis, and the largest |x| in its own
// standard deviations, c / sqrt(variance) (which grows from sqrt(3) at c = 0, the uniform limit).
double truncated_unit_variance(double c);
double truncated_excess_kurtosis(double c);
// The cut c whose c / sqrt(variance) is max_z (bisection); 0 for max_z <= sqrt(3).
double truncation_from_max_z(double max_z);

// One layer's check; tidy: one row per layer of init_check.csv (docs/check-init.md).
struct InitCheckRow {
  long layer = 0;
  long fan_in = 0;
  long fan_out = 0;
  double mean = 0;
  double variance = 0;         // population variance over every entry (zeros too)
  std::string best_scheme;     // the scheme whose variance is nearest (|log ratio|)
  double best_variance = 0;    // its variance at these fans
  double best_ratio = 0;       // variance / best_variance
  std::string same_variance;   // other schemes with exactly best_variance, joined with '+'
  std::string scheme;          // --scheme, or ""
  double scheme_variance = 0;  // its variance (nan without --scheme)
  double scheme_ratio = 0;     // variance / scheme_variance (nan without --scheme)
  std::string shape;
  double excess_kurtosis = 0;
  double kurtosis_se = 0;
  double max_z = 0;
  double normal_beyond = 0;
  double cut = 0;
  double gain = 0;                 // sqrt(trace(G) / k): the scale of a scaled orthogonal matrix
  double orthogonality_error = 0;  // ||G / gain^2 - I||_F / sqrt(k)
  double sparsity = 0;             // share of entries exactly 0

  template <typename F>
  void visit(F&& f) const {
    f("layer", layer);
    f("fan_in", fan_in);
    f("fan_out", fan_out);
    f("mean", mean);
    f("variance", variance);
    f("best_scheme", best_scheme);
    f("best_variance", best_variance);
    f("best_ratio", best_ratio);
    f("same_variance", same_variance);
    f("scheme", scheme);
    f("scheme_variance", scheme_variance);
    f("scheme_ratio", scheme_ratio);
    f("shape", shape);
    f("excess_kurtosis", excess_kurtosis);
    f("kurtosis_se", kurtosis_se);
    f("max_z", max_z);
    f("normal_beyond", normal_beyond);
    f("cut", cut);
    f("gain", gain);
    f("orthogonality_error", orthogonality_error);
    f("sparsity", sparsity);
  }
};

// The schemes a layer is compared with: every random scheme of the registry that its name alone
// defines, and each `mode` choice of those that have one (he_normal(mode=fan_out)); not lsuv
// (data) or npy (files).
std::vector<Scheme> comparison_schemes();

// One layer (l = 1..L); `scheme` adds its column (--scheme).
InitCheckRow check_layer_weights(long layer, const Eigen::Ref<const Matrix<double>>& W,
                                 const std::vector<Scheme>& candidates,
                                 const std::optional<Scheme>& scheme);

// The table `initbench check-init` prints, and its CSV file's text.
std::string init_check_table(const std::string& folder, const std::vector<InitCheckRow>& rows);
std::string init_check_csv(const std::vector<InitCheckRow>& rows);

}  // namespace initbench
