// initcheck.cpp: a layer's weights against the schemes' variances, the shape of their
// distribution, their distance from a scaled orthogonal matrix (initbench check-init).
#include "initbench/initcheck.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "initbench/report.hpp"
#include "initbench/text.hpp"

namespace initbench {

// ---------------------------------------------------------------------------------------------
// The truncated normal N(0, 1) on [-c, c]
// ---------------------------------------------------------------------------------------------

namespace {

double unit_normal_density(double x) {
  return std::exp(-0.5 * x * x) / std::sqrt(2.0 * std::numbers::pi);
}

// max |x| / std of N(0, 1) on [-c, c]
double truncated_max_z(double c) { return c / std::sqrt(truncated_unit_variance(c)); }

// Below this cut the truncated normal is the uniform distribution to the precision that matters
// here (max_z within 2e-5 of sqrt 3), and 1 - 2 c phi(c) / Z starts to lose digits.
constexpr double kSmallestCut = 0.01;

}  // namespace

// E[x^2] = 1 - 2 c phi(c) / Z, Z = P(|X| <= c) = erf(c / sqrt 2).
double truncated_unit_variance(double c) {
  return 1.0 - 2.0 * c * unit_normal_density(c) / std::erf(c / std::numbers::sqrt2);
}

// E[x^4] = 3 - 2 (c^3 + 3 c) phi(c) / Z (integrate x^3 phi(x) by parts twice).
double truncated_excess_kurtosis(double c) {
  const double z = std::erf(c / std::numbers::sqrt2);
  const double m4 = 3.0 - 2.0 * (c * c * c + 3.0 * c) * unit_normal_density(c) / z;
  const double v = truncated_unit_variance(c);
  return m4 / (v * v) - 3.0;
}

double truncation_from_max_z(double max_z) {
  if (!(max_z > truncated_max_z(kSmallestCut))) return 0.0;
  double lo = kSmallestCut;
  double hi = 40.0;  // max_z of a cut at 40 sd is 40: beyond any sample's
  if (max_z >= truncated_max_z(hi)) return hi;
  for (int i = 0; i < 200 && hi - lo > 1e-12; ++i) {  // c / sqrt(v(c)) increases with c
    const double mid = 0.5 * (lo + hi);
    (truncated_max_z(mid) < max_z ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// ---------------------------------------------------------------------------------------------
// The shape of a layer's distribution
// ---------------------------------------------------------------------------------------------

ShapeFit fit_shape(const Eigen::Ref<const Matrix<double>>& w) {
  ShapeFit fit;
  // Nonzero entries only: a sparse scheme's zeros are its structure, the rest its distribution.
  std::vector<double> x;
  x.reserve(static_cast<std::size_t>(w.size()));
  for (Index j = 0; j < w.cols(); ++j) {
    for (Index i = 0; i < w.rows(); ++i) {
      if (w(i, j) != 0.0) x.push_back(w(i, j));
    }
  }
  const auto n = static_cast<double>(x.size());
  if (x.size() < static_cast<std::size_t>(kShapeMinEntries)) {
    fit.shape = "too_few";
    fit.excess_kurtosis = fit.kurtosis_se = fit.max_z = fit.normal_beyond = std::nan("");
    return fit;
  }
  double mean = 0.0;
  for (const double v : x) mean += v;
  mean /= n;
  double m2 = 0.0, m4 = 0.0, m6 = 0.0, m8 = 0.0, largest = 0.0;
  for (const double v : x) {
    const double d = v - mean;
    const double d2 = d * d;
    m2 += d2;
    m4 += d2 * d2;
    m6 += d2 * d2 * d2;
    m8 += d2 * d2 * d2 * d2;
    largest = std::max(largest, std::abs(d));
  }
  m2 /= n;
  m4 /= n;
  m6 /= n;
  m8 /= n;
  // Equal nonzero entries (identity, a constant) have no spread to speak of; rounding may leave
  // a relative spread near the double epsilon.
  if (!(m2 > 1e-24 * mean * mean)) {
    fit.shape = "constant";
    fit.excess_kurtosis = fit.kurtosis_se = fit.max_z = fit.normal_beyond = std::nan("");
    return fit;
  }
  fit.excess_kurtosis = m4 / (m2 * m2) - 3.0;
  // Delta method for b2 = m4 / m2^2 from the covariances of (d^4, d^2): 24 / n for a normal
  // sample, 1.317 / n for a uniform one.
  const double var_b2 =
      ((m8 - m4 * m4) / std::pow(m2, 4) - 4.0 * m4 * (m6 - m4 * m2) / std::pow(m2, 5) +
       4.0 * m4 * m4 * (m4 - m2 * m2) / std::pow(m2, 6)) /
      n;
  fit.kurtosis_se = std::sqrt(std::max(var_b2, 0.0));
  fit.max_z = largest / std::sqrt(m2);
  fit.normal_beyond = n * std::erfc(fit.max_z / std::numbers::sqrt2);
  const double band = kKurtosisSigmas * fit.kurtosis_se;
  if (fit.normal_beyond > kBoundedBeyond) {
    // Bounded: no normal sample of this size stays inside +-max_z.
    const double uniform = -1.2;
    const double cut = truncation_from_max_z(fit.max_z);
    if (std::abs(fit.excess_kurtosis - uniform) <= band) {
      fit.shape = "uniform";
    } else if (cut > kSmallestCut &&
               std::abs(fit.excess_kurtosis - truncated_excess_kurtosis(cut)) <= band) {
      fit.shape = "truncated_normal";
      fit.cut = cut;
    } else {
      fit.shape = "bounded_other";
    }
  } else if (std::abs(fit.excess_kurtosis) <= band) {
    fit.shape = "normal";
  } else {
    fit.shape = fit.excess_kurtosis > 0 ? "heavy_tailed" : "light_tailed";
  }
  return fit;
}

// ---------------------------------------------------------------------------------------------
// A layer against the registry
// ---------------------------------------------------------------------------------------------

std::vector<Scheme> comparison_schemes() {
  std::vector<Scheme> out;
  for (const SchemeInfo& info : schemes()) {
    // Residual-only schemes sample he_normal and then set whole layers: not a distribution of their
    // own.
    if (!info.random || info.data_dependent || info.from_files || info.residual ||
        !info.example.empty())
      continue;
    out.push_back(Scheme::parse(info.name));
    for (const ParamInfo& p : info.params) {
      if (p.name != "mode") continue;
      for (const std::string& choice : p.choices) {
        if (choice != p.default_value)
          out.push_back(Scheme::parse(fmt::format("{}(mode={})", info.name, choice)));
      }
    }
  }
  return out;
}

InitCheckRow check_layer_weights(long layer, const Eigen::Ref<const Matrix<double>>& W,
                                 const std::vector<Scheme>& candidates,
                                 const std::optional<Scheme>& scheme) {
  const double nan = std::nan("");
  InitCheckRow row;
  row.layer = layer;
  row.fan_in = static_cast<long>(W.cols());
  row.fan_out = static_cast<long>(W.rows());
  const auto n = static_cast<double>(W.size());
  double sum = 0.0;
  Index zeros = 0;
  for (Index j = 0; j < W.cols(); ++j) {
    for (Index i = 0; i < W.rows(); ++i) {
      sum += W(i, j);
      zeros += W(i, j) == 0.0 ? 1 : 0;
    }
  }
  row.mean = sum / n;
  double ss = 0.0;
  for (Index j = 0; j < W.cols(); ++j) {
    for (Index i = 0; i < W.rows(); ++i) ss += (W(i, j) - row.mean) * (W(i, j) - row.mean);
  }
  row.variance = ss / n;
  row.sparsity = static_cast<double>(zeros) / n;

  // The nearest variance, by |log ratio|; schemes with the same formula at these fans tie.
  row.best_variance = row.best_ratio = nan;
  double best_distance = std::numeric_limits<double>::infinity();
  for (const Scheme& s : candidates) {
    const double predicted = s.variance(W.cols(), W.rows());
    if (!(predicted > 0) || !(row.variance > 0)) continue;
    const double distance = std::abs(std::log(row.variance / predicted));
    if (distance < best_distance) {
      best_distance = distance;
      row.best_scheme = s.text();
      row.best_variance = predicted;
    }
  }
  std::vector<std::string> ties;
  for (const Scheme& s : candidates) {
    const double predicted = s.variance(W.cols(), W.rows());
    if (s.text() != row.best_scheme &&
        std::abs(predicted - row.best_variance) <= 1e-12 * row.best_variance)
      ties.push_back(s.text());
  }
  row.same_variance = join(ties, "+");
  row.best_ratio = row.variance / row.best_variance;
  row.scheme_variance = row.scheme_ratio = nan;
  if (scheme) {
    row.scheme = scheme->text();
    row.scheme_variance = scheme->variance(W.cols(), W.rows());
    row.scheme_ratio = row.variance / row.scheme_variance;
  }

  const ShapeFit fit = fit_shape(W);
  row.shape = fit.shape;
  row.excess_kurtosis = fit.excess_kurtosis;
  row.kurtosis_se = fit.kurtosis_se;
  row.max_z = fit.max_z;
  row.normal_beyond = fit.normal_beyond;
  row.cut = fit.cut;

  // Rows orthonormal (fan_out <= fan_in) or columns (fan_out > fan_in), up to one gain.
  const Matrix<double> gram =
      W.rows() <= W.cols() ? Matrix<double>(W * W.transpose()) : Matrix<double>(W.transpose() * W);
  const auto k = static_cast<double>(gram.rows());
  const double g2 = gram.trace() / k;
  row.gain = std::sqrt(g2);
  row.orthogonality_error =
      g2 > 0
          ? (gram / g2 - Matrix<double>::Identity(gram.rows(), gram.cols())).norm() / std::sqrt(k)
          : nan;
  return row;
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

std::string init_check_csv(const std::vector<InitCheckRow>& rows) {
  std::string out;
  csv_header(InitCheckRow{}, out);
  out += '\n';
  for (const InitCheckRow& row : rows) {
    csv_line(row, out);
    out += '\n';
  }
  return out;
}

std::string init_check_table(const std::string& folder, const std::vector<InitCheckRow>& rows) {
  const bool with_scheme = !rows.empty() && !rows.front().scheme.empty();
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> header = {"layer",    "fan_in",         "fan_out", "mean",
                                     "variance", "nearest scheme", "ratio"};
  if (with_scheme) {
    header.push_back(rows.front().scheme);
    header.emplace_back("ratio");
  }
  for (const char* h : {"shape", "kurtosis", "max|z|", "gain", "orth. error", "zeros"})
    header.emplace_back(h);
  cells.push_back(header);
  auto number = [](double x) {
    return std::isnan(x) ? std::string("-") : fmt::format("{:.4g}", x);
  };
  for (const InitCheckRow& r : rows) {
    std::string best = r.best_scheme.empty() ? "-" : r.best_scheme;
    if (!r.same_variance.empty()) {
      const auto others = std::count(r.same_variance.begin(), r.same_variance.end(), '+') + 1;
      best += others == 1 ? fmt::format(" (= {})", r.same_variance)
                          : fmt::format(" (+{} same)", others);
    }
    std::string shape = r.shape;
    std::replace(shape.begin(), shape.end(), '_', ' ');
    if (r.shape == "truncated_normal") shape = fmt::format("truncated normal at {:.2f} sd", r.cut);
    std::vector<std::string> line = {fmt::format("{}", r.layer),   fmt::format("{}", r.fan_in),
                                     fmt::format("{}", r.fan_out), number(r.mean),
                                     number(r.variance),           best,
                                     number(r.best_ratio)};
    if (with_scheme) {
      line.push_back(number(r.scheme_variance));
      line.push_back(number(r.scheme_ratio));
    }
    line.push_back(shape);
    line.push_back(std::isnan(r.excess_kurtosis)
                       ? "-"
                       : fmt::format("{:.2f} +- {:.1g}", r.excess_kurtosis, r.kurtosis_se));
    line.push_back(std::isnan(r.max_z) ? "-" : fmt::format("{:.2f}", r.max_z));
    line.push_back(number(r.gain));
    line.push_back(
        std::isnan(r.orthogonality_error) ? "-" : fmt::format("{:.2g}", r.orthogonality_error));
    line.push_back(fmt::format("{:.1f}%", 100.0 * r.sparsity));
    cells.push_back(std::move(line));
  }
  std::vector<std::size_t> width(header.size(), 0);
  for (const auto& line : cells) {
    for (std::size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], line[c].size());
  }
  std::string out =
      fmt::format("{}: {} layer{}\n", folder, rows.size(), rows.size() == 1 ? "" : "s");
  for (const auto& line : cells) {
    std::string text;
    for (std::size_t c = 0; c < line.size(); ++c) {
      // text columns (the scheme, the shape) to the left, numbers to the right
      const bool left = header[c] == "nearest scheme" || header[c] == "shape";
      text += c == 0 ? "" : "  ";
      text += left ? fmt::format("{:<{}}", line[c], width[c])
                   : fmt::format("{:>{}}", line[c], width[c]);
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text + '\n';
  }
  out +=
      "ratio: variance / the scheme's variance at the layer's fans ((+k same): k more schemes "
      "predict it)\n"
      "kurtosis: excess, +- its standard error (uniform -1.2, normal 0); orth. error: "
      "||G / gain^2 - I|| / sqrt(k),\n"
      "G = W W^T or W^T W (k x k, k the smaller fan). Rules: docs/check-init.md\n";
  return out;
}

}  // namespace initbench
