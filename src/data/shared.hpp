// data/shared.hpp (internal): helpers the dataset sources share (src/data/*.cpp).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "initbench/rng.hpp"
#include "initbench/types.hpp"

namespace initbench::data_internal {

using Labels = std::vector<Index>;  // one class index per sample

inline std::size_t to_size(Index i) { return static_cast<std::size_t>(i); }
inline Index to_index(std::size_t i) { return static_cast<Index>(i); }

// Fisher-Yates with the project's generator.
inline std::vector<Index> permutation(Index n, Rng& rng) {
  std::vector<Index> order(to_size(n));
  for (Index i = 0; i < n; ++i) order[to_size(i)] = i;
  for (Index i = n - 1; i > 0; --i) {
    const auto j = static_cast<Index>(rng.below(static_cast<std::uint64_t>(i + 1)));
    std::swap(order[to_size(i)], order[to_size(j)]);
  }
  return order;
}

// Targets for labels in [0, classes): one 0/1 row for 2 classes, else one-hot rows.
inline Matrix<double> encode_labels(const Labels& labels, Index classes) {
  const Index m = to_index(labels.size());
  Matrix<double> Y = Matrix<double>::Zero(classes == 2 ? 1 : classes, m);  // (1 or K, m)
  for (Index j = 0; j < m; ++j) {
    const Index label = labels[to_size(j)];
    if (classes == 2) {
      Y(0, j) = static_cast<double>(label);
    } else {
      Y(label, j) = 1.0;
    }
  }
  return Y;
}

}  // namespace initbench::data_internal
