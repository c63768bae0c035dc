// data.hpp: datasets as matrices with samples as columns.
//
// Every dataset is held in double; a run converts it once to its network's precision.
// Targets: a (k, m) matrix: 0/1 for a sigmoid output (k = 1 for binary labels), one-hot for a
// softmax output, real values for a linear output.
#pragma once

#include <cstdint>
#include <string>

#include "initbench/types.hpp"

namespace initbench {

struct Dataset {
  std::string name;
  Matrix<double> X_train;  // (n_features, m_train)
  Matrix<double> Y_train;  // (n_targets, m_train)
  Matrix<double> X_test;   // (n_features, m_test)
  Matrix<double> Y_test;   // (n_targets, m_test)
  Index num_classes = 0;   // 0 for regression; 2 for binary (one sigmoid target row)

  Index num_features() const { return X_train.rows(); }
  Index num_targets() const { return Y_train.rows(); }
};

// sklearn.datasets.make_circles: half the points (rounded down) on the unit circle (label 0),
// the rest on a circle of radius `factor` (label 1), at evenly spaced angles, shuffled, plus
// N(0, noise^2) on each coordinate. Train and test sets are drawn one after the other from
// Rng(seed, 0, stream::kData). The course uses 300 train and 100 test points, noise 0.05.
Dataset make_circles(Index train, Index test, double noise, std::uint64_t seed, double factor = 0.8);

}  // namespace initbench
