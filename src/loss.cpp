#include "initbench/loss.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "initbench/text.hpp"

namespace initbench {

const std::vector<std::string>& output_names() {
  static const std::vector<std::string> names{"linear", "sigmoid", "softmax"};
  return names;
}

Output parse_output(std::string_view text) {
  if (text == "linear") return Output::kLinear;
  if (text == "sigmoid") return Output::kSigmoid;
  if (text == "softmax") return Output::kSoftmax;
  throw std::invalid_argument(fmt::format("unknown output '{}'{}; allowed: {}", text,
                                          did_you_mean(text, output_names()),
                                          join(output_names())));
}

std::string output_name(Output output) {
  switch (output) {
    case Output::kLinear: return "linear";
    case Output::kSigmoid: return "sigmoid";
    case Output::kSoftmax: return "softmax";
  }
  return "?";
}

namespace {

template <typename T>
using Span = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using ConstSpan = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// Calls f(offset, size) over the elements of a (k, m) block in spans that are contiguous in
// every operand: once for the whole block when it is contiguous (as the network's buffers are),
// else once per column. Eigen traverses a Ref with a runtime outer stride column by column, which
// is scalar code for the 1 to 10 outputs of a network: flat spans vectorise.
template <typename T, typename F>
void for_each_span(const ConstMatrixRef<T>& z, const ConstMatrixRef<T>& y, Index dz_stride, F f) {
  const Index k = z.rows();
  if (z.outerStride() == k && y.outerStride() == k && dz_stride == k) {
    f(Index{0}, Index{0}, z.size());
    return;
  }
  for (Index j = 0; j < z.cols(); ++j) f(j, Index{0}, k);
}

// sum over a span of softplus(z) - y z, in double, a chunk at a time on the stack:
// softplus(z) = max(z, 0) + log1p(e), e = exp(-|z|) in (0, 1]. log1p(e) is computed as
// log(u) e / (u - 1) with u = 1 + e (Goldberg's correction: accurate to a few ulp, and
// vectorised, where std::log1p is a scalar call per element).
template <typename T>
double bce_sum(const T* z, const T* y, Index size) {
  constexpr Index kChunk = 256;
  using Chunk = Eigen::Array<double, Eigen::Dynamic, 1, 0, kChunk, 1>;
  double sum = 0.0;
  for (Index i = 0; i < size; i += kChunk) {
    const Index c = std::min(kChunk, size - i);
    const Chunk zd = ConstSpan<T>(z + i, c).template cast<double>();
    const Chunk e = (-zd.abs()).exp();
    const Chunk u = 1.0 + e;
    const Chunk log1p_e = (u == 1.0).select(e, u.log() * (e / (u - 1.0)));
    sum += (zd.max(0.0) + log1p_e - ConstSpan<T>(y + i, c).template cast<double>() * zd).sum();
  }
  return sum;
}

}  // namespace

template <typename T>
double loss_forward(Output output, const ConstMatrixRef<T>& z, const ConstMatrixRef<T>& y) {
  const Index k = z.rows();
  const Index m = z.cols();
  double sum = 0.0;
  switch (output) {
    case Output::kLinear:
      for (Index j = 0; j < m; ++j) {
        for (Index i = 0; i < k; ++i) {
          const double r = static_cast<double>(z(i, j)) - static_cast<double>(y(i, j));
          sum += r * r;
        }
      }
      return sum / static_cast<double>(k * m);
    case Output::kSigmoid:
      for_each_span<T>(z, y, k, [&](Index j, Index, Index size) {
        sum += bce_sum<T>(z.data() + j * z.outerStride(), y.data() + j * y.outerStride(), size);
      });
      return sum / static_cast<double>(k * m);
    case Output::kSoftmax: {
      constexpr Index kMaxRows = 64;
      using Column = Eigen::Array<double, Eigen::Dynamic, 1, 0, kMaxRows, 1>;
      for (Index j = 0; j < m; ++j) {
        const auto zmax = static_cast<double>(z.col(j).maxCoeff());
        double exp_sum = 0.0;
        double yz = 0.0;
        double ysum = 0.0;
        if (k <= kMaxRows) {
          // vectorised exp on a stack column
          const Column zd = ConstSpan<T>(z.data() + j * z.outerStride(), k).template cast<double>();
          const Column yd = ConstSpan<T>(y.data() + j * y.outerStride(), k).template cast<double>();
          exp_sum = (zd - zmax).exp().sum();
          yz = (yd * zd).sum();
          ysum = yd.sum();
        } else {
          for (Index i = 0; i < k; ++i) {
            const auto zi = static_cast<double>(z(i, j));
            exp_sum += std::exp(zi - zmax);
            yz += static_cast<double>(y(i, j)) * zi;
            ysum += static_cast<double>(y(i, j));
          }
        }
        // sum_i y_i (logsumexp(z) - z_i), with sum_i y_i = 1 for one-hot targets
        sum += ysum * (zmax + std::log(exp_sum)) - yz;
      }
      return sum / static_cast<double>(m);
    }
  }
  return sum;
}

template <typename T>
void loss_backward(Output output, const ConstMatrixRef<T>& z, const ConstMatrixRef<T>& y,
                   MatrixRef<T> dz) {
  const Index k = z.rows();
  const Index m = z.cols();
  switch (output) {
    case Output::kLinear: {
      const T scale = static_cast<T>(2.0 / static_cast<double>(k * m));
      for_each_span<T>(z, y, dz.outerStride(), [&](Index j, Index, Index size) {
        Span<T>(dz.data() + j * dz.outerStride(), size) =
            scale * (ConstSpan<T>(z.data() + j * z.outerStride(), size) -
                     ConstSpan<T>(y.data() + j * y.outerStride(), size));
      });
      return;
    }
    case Output::kSigmoid: {
      const T scale = static_cast<T>(1.0 / static_cast<double>(k * m));
      for_each_span<T>(z, y, dz.outerStride(), [&](Index j, Index, Index size) {
        Span<T>(dz.data() + j * dz.outerStride(), size) =
            scale * (ConstSpan<T>(z.data() + j * z.outerStride(), size).logistic() -
                     ConstSpan<T>(y.data() + j * y.outerStride(), size));
      });
      return;
    }
    case Output::kSoftmax: {
      const T scale = static_cast<T>(1.0 / static_cast<double>(m));
      for (Index j = 0; j < m; ++j) {
        const T zmax = z.col(j).maxCoeff();
        dz.col(j).array() = (z.col(j).array() - zmax).exp();
        const T total = dz.col(j).sum();
        // softmax times the sample's target mass (1 for one-hot), minus the target
        const T mass = y.col(j).sum();
        dz.col(j).array() = scale * (dz.col(j).array() * (mass / total) - y.col(j).array());
      }
      return;
    }
  }
}

template <typename T>
Correct count_correct(Output output, const ConstMatrixRef<T>& z, const ConstMatrixRef<T>& y) {
  Correct c;
  switch (output) {
    case Output::kLinear: return c;
    case Output::kSigmoid:
      for (Index j = 0; j < z.cols(); ++j) {
        for (Index i = 0; i < z.rows(); ++i) {
          const bool predicted = z(i, j) > T(0);
          const bool actual = y(i, j) > T(0.5);
          c.correct += predicted == actual ? 1 : 0;
        }
      }
      c.total = z.size();
      return c;
    case Output::kSoftmax:
      for (Index j = 0; j < z.cols(); ++j) {
        Index predicted = 0;
        Index actual = 0;
        z.col(j).maxCoeff(&predicted);
        y.col(j).maxCoeff(&actual);
        c.correct += predicted == actual ? 1 : 0;
      }
      c.total = z.cols();
      return c;
  }
  return c;
}

template double loss_forward<float>(Output, const ConstMatrixRef<float>&,
                                    const ConstMatrixRef<float>&);
template double loss_forward<double>(Output, const ConstMatrixRef<double>&,
                                     const ConstMatrixRef<double>&);
template void loss_backward<float>(Output, const ConstMatrixRef<float>&,
                                   const ConstMatrixRef<float>&, MatrixRef<float>);
template void loss_backward<double>(Output, const ConstMatrixRef<double>&,
                                    const ConstMatrixRef<double>&, MatrixRef<double>);
template Correct count_correct<float>(Output, const ConstMatrixRef<float>&,
                                      const ConstMatrixRef<float>&);
template Correct count_correct<double>(Output, const ConstMatrixRef<double>&,
                                       const ConstMatrixRef<double>&);

}  // namespace initbench
