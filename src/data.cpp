#include "initbench/data.hpp"

#include <fmt/format.h>

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <vector>

#include "initbench/rng.hpp"

namespace initbench {

namespace {

// Fisher-Yates with the project's generator.
std::vector<Index> permutation(Index n, Rng& rng) {
  std::vector<Index> order(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  for (Index i = n - 1; i > 0; --i) {
    const auto j = static_cast<Index>(rng.below(static_cast<std::uint64_t>(i + 1)));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  return order;
}

void circles(Index n, double noise, double factor, Rng& rng, Matrix<double>& X, Matrix<double>& Y) {
  const Index n_out = n / 2;
  const Index n_in = n - n_out;
  Matrix<double> points(2, n);
  Matrix<double> labels(1, n);
  for (Index i = 0; i < n; ++i) {
    const bool inner = i >= n_out;
    const Index k = inner ? i - n_out : i;
    const double angle = 2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(inner ? n_in : n_out);
    const double radius = inner ? factor : 1.0;
    points(0, i) = radius * std::cos(angle);
    points(1, i) = radius * std::sin(angle);
    labels(0, i) = inner ? 1.0 : 0.0;
  }
  const auto order = permutation(n, rng);
  X.resize(2, n);
  Y.resize(1, n);
  for (Index i = 0; i < n; ++i) {
    X.col(i) = points.col(order[static_cast<std::size_t>(i)]);
    Y.col(i) = labels.col(order[static_cast<std::size_t>(i)]);
  }
  for (Index i = 0; i < n; ++i) {
    X(0, i) += rng.normal(0.0, noise);
    X(1, i) += rng.normal(0.0, noise);
  }
}

}  // namespace

Dataset make_circles(Index train, Index test, double noise, std::uint64_t seed, double factor) {
  if (train < 2 || test < 0 || noise < 0) {
    throw std::invalid_argument(fmt::format("circles: need train >= 2, test >= 0, noise >= 0; got {}, {}, {}", train,
                                            test, noise));
  }
  Rng rng(seed, 0, stream::kData);
  Dataset d;
  d.name = "circles";
  d.num_classes = 2;
  circles(train, noise, factor, rng, d.X_train, d.Y_train);
  circles(test, noise, factor, rng, d.X_test, d.Y_test);
  return d;
}

}  // namespace initbench
