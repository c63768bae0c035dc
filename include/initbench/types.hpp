// types.hpp: the Eigen shapes every other header speaks in.
//
// Samples are columns: a batch of B inputs of dimension n is a (n, B) matrix. Matrices are
// column-major (Eigen's default), so one sample is one contiguous column.
#pragma once

#include <Eigen/Core>

namespace initbench {

using Index = Eigen::Index;

template <typename T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
template <typename T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

// Read-only and writable views that accept a matrix or a contiguous block of one (leftCols(n))
// without a copy.
template <typename T>
using ConstMatrixRef = Eigen::Ref<const Matrix<T>>;
template <typename T>
using MatrixRef = Eigen::Ref<Matrix<T>>;

}  // namespace initbench
