#include "initbench/loss.hpp"

#include <fmt/format.h>

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
// log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).
double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }
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
      for (Index j = 0; j < m; ++j) {
        for (Index i = 0; i < k; ++i) {
          const double zi = z(i, j);
          sum += softplus(zi) - static_cast<double>(y(i, j)) * zi;
        }
      }
      return sum / static_cast<double>(k * m);
    case Output::kSoftmax:
      for (Index j = 0; j < m; ++j) {
        const double zmax = z.col(j).maxCoeff();
        double exp_sum = 0.0;
        double yz = 0.0;
        double ysum = 0.0;
        for (Index i = 0; i < k; ++i) {
          const double zi = z(i, j);
          exp_sum += std::exp(zi - zmax);
          yz += static_cast<double>(y(i, j)) * zi;
          ysum += static_cast<double>(y(i, j));
        }
        // sum_i y_i (logsumexp(z) - z_i), with sum_i y_i = 1 for one-hot targets
        sum += ysum * (zmax + std::log(exp_sum)) - yz;
      }
      return sum / static_cast<double>(m);
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
      dz.noalias() = scale * (z - y);
      return;
    }
    case Output::kSigmoid: {
      const T scale = static_cast<T>(1.0 / static_cast<double>(k * m));
      dz.array() = scale * (z.array().logistic() - y.array());
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
