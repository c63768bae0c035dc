#include "initbench/loss.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "initbench/kernels.hpp"
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

// Calls f(column offset, size) over the elements of a (k, m) block in spans that are contiguous
// in every operand: once for the whole block when it is contiguous (as the network's buffers
// are), else once per column.
template <typename T, typename F>
void for_each_span(const ConstMatrixRef<T>& z, const ConstMatrixRef<T>& y, Index dz_stride, F f) {
  const Index k = z.rows();
  if (z.outerStride() == k && y.outerStride() == k && dz_stride == k) {
    f(Index{0}, z.size());
    return;
  }
  for (Index j = 0; j < z.cols(); ++j) f(j, k);
}

constexpr Index kChunk = 256;

// A sum in a fixed order with Neumaier's compensation: the rounding error of every addition is
// carried along and added back at the end, so a mean of m equal terms is that term (the cost of
// a symmetric network is exactly ln 2, not ln 2 plus the rounding of 300 additions), and the
// result does not drift with the number of samples.
class Sum {
 public:
  void add(double x) {
    const double t = sum_ + x;
    compensation_ += std::abs(sum_) >= std::abs(x) ? (sum_ - t) + x : (x - t) + sum_;
    sum_ = t;
  }
  double value() const { return sum_ + compensation_; }

 private:
  double sum_ = 0.0;
  double compensation_ = 0.0;
};

// sum += softplus(z_i) - y_i z_i over a span, in double and in index order; softplus by the
// kernels, a chunk at a time on the stack.
template <typename T>
void bce_sum(const T* z, const T* y, Index size, Sum& sum) {
  alignas(64) double zd[kChunk];
  alignas(64) double sp[kChunk];
  for (Index i = 0; i < size; i += kChunk) {
    const Index c = std::min(kChunk, size - i);
    for (Index r = 0; r < c; ++r) zd[r] = static_cast<double>(z[i + r]);
    kernels::softplus<double>(c, zd, sp);
    for (Index r = 0; r < c; ++r) sum.add(sp[r] - static_cast<double>(y[i + r]) * zd[r]);
  }
}

// Largest entry of a column (NaN if any entry is NaN, so that a diverged run stays NaN).
template <typename T>
T column_max(const T* z, Index k) {
  T best = z[0];
  for (Index i = 1; i < k; ++i) {
    if (z[i] > best || std::isnan(z[i])) best = z[i];
  }
  return best;
}

}  // namespace

template <typename T>
double loss_forward(Output output, const ConstMatrixRef<T>& z, const ConstMatrixRef<T>& y) {
  const Index k = z.rows();
  const Index m = z.cols();
  Sum sum;
  switch (output) {
    case Output::kLinear:
      for (Index j = 0; j < m; ++j) {
        for (Index i = 0; i < k; ++i) {
          const double r = static_cast<double>(z(i, j)) - static_cast<double>(y(i, j));
          sum.add(r * r);
        }
      }
      return sum.value() / static_cast<double>(k * m);
    case Output::kSigmoid:
      for_each_span<T>(z, y, k, [&](Index j, Index size) {
        bce_sum<T>(z.data() + j * z.outerStride(), y.data() + j * y.outerStride(), size, sum);
      });
      return sum.value() / static_cast<double>(k * m);
    case Output::kSoftmax: {
      // exp(z - max) for a group of whole columns at a time (one kernel call for many short
      // columns; a long column goes a chunk at a time), in double on the stack.
      alignas(64) double buffer[kChunk];
      const Index per_call = std::max<Index>(1, kChunk / k);
      for (Index j0 = 0; j0 < m; j0 += per_call) {
        const Index columns = std::min(per_call, m - j0);
        if (k <= kChunk) {
          double zmax[kChunk];
          for (Index c = 0; c < columns; ++c) {
            const T* zj = z.data() + (j0 + c) * z.outerStride();
            zmax[c] = static_cast<double>(column_max<T>(zj, k));
            for (Index i = 0; i < k; ++i) buffer[c * k + i] = static_cast<double>(zj[i]) - zmax[c];
          }
          kernels::exp<double>(columns * k, buffer, buffer);
          for (Index c = 0; c < columns; ++c) {
            const T* zj = z.data() + (j0 + c) * z.outerStride();
            const T* yj = y.data() + (j0 + c) * y.outerStride();
            Sum exp_sum, yz, ysum;
            for (Index i = 0; i < k; ++i) {
              exp_sum.add(buffer[c * k + i]);
              const auto yi = static_cast<double>(yj[i]);
              yz.add(yi * static_cast<double>(zj[i]));
              ysum.add(yi);
            }
            // sum_i y_i (logsumexp(z) - z_i), with sum_i y_i = 1 for one-hot targets
            sum.add(ysum.value() * (zmax[c] + std::log(exp_sum.value())) - yz.value());
          }
          continue;
        }
        const T* zj = z.data() + j0 * z.outerStride();
        const T* yj = y.data() + j0 * y.outerStride();
        const auto zmax = static_cast<double>(column_max<T>(zj, k));
        Sum exp_sum, yz, ysum;
        for (Index i0 = 0; i0 < k; i0 += kChunk) {
          const Index c = std::min(kChunk, k - i0);
          for (Index r = 0; r < c; ++r) buffer[r] = static_cast<double>(zj[i0 + r]) - zmax;
          kernels::exp<double>(c, buffer, buffer);
          for (Index r = 0; r < c; ++r) {
            exp_sum.add(buffer[r]);
            const auto yi = static_cast<double>(yj[i0 + r]);
            yz.add(yi * static_cast<double>(zj[i0 + r]));
            ysum.add(yi);
          }
        }
        sum.add(ysum.value() * (zmax + std::log(exp_sum.value())) - yz.value());
      }
      return sum.value() / static_cast<double>(m);
    }
  }
  return sum.value();
}

template <typename T>
void loss_backward(Output output, const ConstMatrixRef<T>& z, const ConstMatrixRef<T>& y,
                   MatrixRef<T> dz) {
  const Index k = z.rows();
  const Index m = z.cols();
  switch (output) {
    case Output::kLinear: {
      const T scale = static_cast<T>(2.0 / static_cast<double>(k * m));
      for_each_span<T>(z, y, dz.outerStride(), [&](Index j, Index size) {
        Span<T>(dz.data() + j * dz.outerStride(), size) =
            scale * (ConstSpan<T>(z.data() + j * z.outerStride(), size) -
                     ConstSpan<T>(y.data() + j * y.outerStride(), size));
      });
      return;
    }
    case Output::kSigmoid: {
      const T scale = static_cast<T>(1.0 / static_cast<double>(k * m));
      for_each_span<T>(z, y, dz.outerStride(), [&](Index j, Index size) {
        T* out = dz.data() + j * dz.outerStride();
        kernels::logistic<T>(size, z.data() + j * z.outerStride(), out);
        Span<T>(out, size) =
            scale * (Span<T>(out, size) - ConstSpan<T>(y.data() + j * y.outerStride(), size));
      });
      return;
    }
    case Output::kSoftmax: {
      const T scale = static_cast<T>(1.0 / static_cast<double>(m));
      // dz = z - max per column, then one exp over the whole block when it is contiguous
      for (Index j = 0; j < m; ++j) {
        const T* zj = z.data() + j * z.outerStride();
        T* dj = dz.data() + j * dz.outerStride();
        const T zmax = column_max<T>(zj, k);
        for (Index i = 0; i < k; ++i) dj[i] = zj[i] - zmax;
      }
      if (dz.outerStride() == k) {
        kernels::exp<T>(k * m, dz.data(), dz.data());
      } else {
        for (Index j = 0; j < m; ++j) {
          kernels::exp<T>(k, dz.data() + j * dz.outerStride(), dz.data() + j * dz.outerStride());
        }
      }
      for (Index j = 0; j < m; ++j) {
        const T* yj = y.data() + j * y.outerStride();
        T* dj = dz.data() + j * dz.outerStride();
        T total(0);
        T mass(0);
        for (Index i = 0; i < k; ++i) {
          total += dj[i];
          mass += yj[i];
        }
        // softmax times the sample's target mass (1 for one-hot), minus the target
        const T ratio = mass / total;
        for (Index i = 0; i < k; ++i) dj[i] = scale * (dj[i] * ratio - yj[i]);
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
          // a nan logit predicts nothing: it is wrong whatever the label (a diverged network's
          // accuracy is not that of always answering class 0)
          const bool predicted = z(i, j) > T(0);
          const bool actual = y(i, j) > T(0.5);
          c.correct += !std::isnan(z(i, j)) && predicted == actual ? 1 : 0;
        }
      }
      c.total = z.size();
      return c;
    case Output::kSoftmax:
      for (Index j = 0; j < z.cols(); ++j) {
        if (z.col(j).hasNaN()) continue;  // no prediction: wrong
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
