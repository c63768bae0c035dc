// data/shared.hpp (internal): helpers the dataset sources share (src/data/*.cpp).
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

#include "initbench/data.hpp"
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

// Helpers of the dataset kinds' registry entries (DatasetKind: shape, check, seeded).
// 2 classes: one 0/1 target row; K > 2: K one-hot rows.
inline DataShape labels(const DataSpec& d, Index inputs, Index classes) {
  return DataShape{inputs, classes == 2 ? 1 : classes, classes, d.train, d.kind};
}

// data.train below `minimum`.
inline void need_train(const DataSpec& d, Index minimum, std::string_view why) {
  if (d.train < minimum) {
    throw RunCheckError({"data.train", "data.kind"},
                        fmt::format("data.train = {}: {} needs at least {} training samples{}",
                                    d.train, d.kind, minimum, why));
  }
}

inline void need_path(const DataSpec& d, std::string_view what) {
  if (d.path.empty()) {
    throw RunCheckError({"data.kind"},
                        fmt::format("data.kind = '{}' needs data.path ({})", d.kind, what));
  }
}

inline void one_per_class(const DataSpec& d, Index classes) {
  need_train(d, classes, fmt::format(" (one per class; it has {} classes)", classes));
}

// Two classes of points in the plane (circles, moons, spirals by default, xor, checkerboard).
inline DataShape plane_labels(const DataSpec& d, Index classes) { return labels(d, 2, classes); }

// The registry's entries, each declared beside its loader; datasets.cpp joins them in this
// order (dataset_registry()).
std::vector<DatasetKind> synthetic_kinds();  // synthetic.cpp: circles, moons, spirals, xor,
                                             // blobs, teacher
DatasetKind idx_kind();                      // idx.cpp
DatasetKind csv_kind();                      // csv.cpp

}  // namespace initbench::data_internal
